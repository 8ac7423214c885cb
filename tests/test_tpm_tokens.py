"""coldvault on a second PKCS#11 implementation: tpm2-pkcs11 1.9.0 on swtpm, a software TPM.

Every other token test runs on SoftHSM2, which is lenient where real tokens are not.
Here the real CLI meets tpm2-pkcs11 (the `tpm` fixture: a swtpm of each test's own,
scripts/tpm_kit.py). Keys are made both by OpenSC's pkcs11-tool and by coldvault's own
`token keygen`. What tpm2-pkcs11 1.9.0 cannot do (AES keys, ECDH) is refused with the
missing function or mechanism named, never blamed on the envelope.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from tpm_kit import Tpm

pytestmark = pytest.mark.tpm

FAST = ("--iteration-exponent", "0")
SECRET_HEX = "5eed" * 8


def coldvault(tpm: Tpm, *args: str | Path, cwd: Path | None = None) -> tuple[int, str, str]:
    completed = tpm.run([sys.executable, "-m", "vault", *args], cwd=cwd or tpm.root, check=False)
    return completed.returncode, completed.stdout, completed.stderr


def ok(result: tuple[int, str, str]) -> str:
    code, stdout, stderr = result
    assert code == 0, stderr
    return stdout


def tpm_with_keys(tpm: Tpm) -> Tpm:
    """tpm-a: ocs-ec (id 01) and ocs-rsa (id 02), made by pkcs11-tool; tpm-b: no keys."""
    tpm.token("tpm-a")
    tpm.token("tpm-b")
    tpm.key_pair("tpm-a", "ocs-ec", "ec", "01")
    tpm.key_pair("tpm-a", "ocs-rsa", "rsa", "02")
    return tpm


def listed_keys(tpm: Tpm, token: str) -> set[tuple[str, str, str, str]]:
    listing = json.loads(ok(coldvault(tpm, "token", "list", "--module", tpm.module, *tpm.pin_args(), "--json")))
    (found,) = [t for t in listing["tokens"] if t["label"] == token]
    return {(k["object_class"], k["key_type"], k["label"], k["id"]) for k in found["keys"]}


def test_token_list_shows_the_tpm_tokens_and_the_keys_pkcs11_tool_made(tpm):
    tpm_with_keys(tpm)
    listing = json.loads(ok(coldvault(tpm, "token", "list", "--module", tpm.module, *tpm.pin_args(), "--json")))

    assert listing["module"] == str(tpm.module)
    tokens = {t["label"]: t for t in listing["tokens"]}
    assert set(tokens) == {"tpm-a", "tpm-b"}
    assert tokens["tpm-a"]["login_required"] is True
    keys = {(k["object_class"], k["key_type"], k["label"], k["id"]): k for k in tokens["tpm-a"]["keys"]}
    assert set(keys) == {(c, t, label, i) for c in ("private", "public")
                         for t, label, i in (("ec", "ocs-ec", "01"), ("rsa", "ocs-rsa", "02"))}
    for (object_class, *_), key in keys.items():
        if object_class == "private":  # a TPM key never leaves the TPM in the clear
            assert key["sensitive"] is True and key["extractable"] is False
    assert tokens["tpm-b"]["keys"] == []


@pytest.mark.parametrize("label", ["ocs-ec", "ocs-rsa"])
def test_token_pubkey_exports_the_public_key_pkcs11_tool_reads(tpm, label):
    tpm_with_keys(tpm)
    ok(coldvault(tpm, "token", "pubkey", "--token", "tpm-a", "--label", label, "--out", f"{label}.pem", *tpm.pin_args("tpm-a")))
    tpm.pkcs11_tool("--token-label", "tpm-a", "--read-object", "--type", "pubkey", "--label", label,
                    "-o", str(tpm.root / f"{label}.der"))

    exported = load_pem_public_key((tpm.root / f"{label}.pem").read_bytes())
    assert exported.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) == (tpm.root / f"{label}.der").read_bytes()


@pytest.mark.parametrize("oaep_hash", ["sha256", "sha1"])
def test_an_rsa_oaep_envelope_sealed_to_a_tpm_key_opens_on_the_tpm(tpm, oaep_hash):
    tpm_with_keys(tpm)
    (tpm.root / "secret.hex").write_text(SECRET_HEX + "\n")
    ok(coldvault(tpm, "split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "vault", *FAST))
    ok(coldvault(tpm, "token", "pubkey", "--token", "tpm-a", "--label", "ocs-rsa", "--out", "rsa.pem", *tpm.pin_args("tpm-a")))
    share = tpm.root / "vault" / "shares" / "group1-share1.txt"

    proven = ok(coldvault(tpm, "wrap", share, "--out", "proven.envelope.json", "--recipient-pubkey", "rsa.pem",
                          "--oaep-hash", oaep_hash, "--token", "tpm-a", *tpm.pin_args("tpm-a")))
    assert "proven: the envelope opens with its token" in proven
    # Sealed without the token (as for a custodian far away), then opened on it.
    ok(coldvault(tpm, "wrap", share, "--out", "sealed.envelope.json", "--recipient-pubkey", "rsa.pem", "--oaep-hash", oaep_hash))
    words = ok(coldvault(tpm, "unwrap", "sealed.envelope.json", "--token", "tpm-a", *tpm.pin_args("tpm-a")))
    share_words = [w for line in share.read_text().splitlines() if not line.lstrip().startswith("#") for w in line.split()]
    assert words.split() == share_words


def test_an_aes_key_is_refused_naming_what_the_tpm_lacks_and_nothing_is_made(tpm):
    tpm.token("tpm-a")
    code, _, stderr = coldvault(tpm, "token", "keygen", "--token", "tpm-a", "--label", "k-aes", "--type", "aes", *tpm.pin_args())

    assert code == 4, stderr
    assert ('error: token "tpm-a" cannot create AES keys (C_GenerateKey with CKM_AES_KEY_GEN: CKR_FUNCTION_NOT_SUPPORTED)'
            in stderr)
    assert "hint: make an EC or RSA key instead" in stderr
    assert "Traceback" not in stderr
    assert listed_keys(tpm, "tpm-a") == set()


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_keygen_makes_a_key_pair_on_the_tpm_that_never_leaves_it(tpm, key_type):
    tpm.token("tpm-a")
    made = json.loads(ok(coldvault(tpm, "token", "keygen", "--token", "tpm-a", "--label", "made", "--type", key_type,
                                   *tpm.pin_args(), "--json")))

    listing = json.loads(ok(coldvault(tpm, "token", "list", "--module", tpm.module, *tpm.pin_args(), "--json")))
    (token,) = [t for t in listing["tokens"] if t["label"] == "tpm-a"]
    assert {(k["object_class"], k["key_type"], k["label"], k["id"]) for k in token["keys"]} == {
        ("private", key_type, "made", made["id"]), ("public", key_type, "made", made["id"])}
    (private,) = [k for k in token["keys"] if k["object_class"] == "private"]
    assert private["sensitive"] is True and private["extractable"] is False


def test_an_rsa_key_made_by_keygen_on_the_tpm_opens_what_is_sealed_to_it(tpm):
    tpm.token("tpm-a")
    ok(coldvault(tpm, "token", "keygen", "--token", "tpm-a", "--label", "made-rsa", "--type", "rsa", *tpm.pin_args()))
    (tpm.root / "secret.hex").write_text(SECRET_HEX + "\n")
    ok(coldvault(tpm, "split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "vault", *FAST))
    ok(coldvault(tpm, "token", "pubkey", "--token", "tpm-a", "--label", "made-rsa", "--out", "rsa.pem", *tpm.pin_args("tpm-a")))
    share = tpm.root / "vault" / "shares" / "group1-share1.txt"

    ok(coldvault(tpm, "wrap", share, "--out", "sealed.envelope.json", "--recipient-pubkey", "rsa.pem"))
    words = ok(coldvault(tpm, "unwrap", "sealed.envelope.json", "--token", "tpm-a", *tpm.pin_args("tpm-a")))

    share_words = [w for line in share.read_text().splitlines() if not line.lstrip().startswith("#") for w in line.split()]
    assert words.split() == share_words


def test_the_public_key_of_an_ec_key_made_by_keygen_on_the_tpm_is_the_one_pkcs11_tool_reads(tpm):
    tpm.token("tpm-a")
    ok(coldvault(tpm, "token", "keygen", "--token", "tpm-a", "--label", "made-ec", "--type", "ec", *tpm.pin_args()))
    ok(coldvault(tpm, "token", "pubkey", "--token", "tpm-a", "--label", "made-ec", "--out", "ec.pem", *tpm.pin_args("tpm-a")))
    tpm.pkcs11_tool("--token-label", "tpm-a", "--read-object", "--type", "pubkey", "--label", "made-ec",
                    "-o", str(tpm.root / "ec.der"))

    exported = load_pem_public_key((tpm.root / "ec.pem").read_bytes())
    assert isinstance(exported, ec.EllipticCurvePublicKey) and isinstance(exported.curve, ec.SECP256R1)
    assert exported.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) == (tpm.root / "ec.der").read_bytes()


def test_an_ecdh_delivery_to_a_tpm_is_refused_naming_the_missing_mechanism(tpm):
    """tpm2-pkcs11 1.9.0 answers C_DeriveKey with CKR_FUNCTION_NOT_SUPPORTED: a token error, not a bad envelope."""
    tpm_with_keys(tpm)
    (tpm.root / "secret.hex").write_text(SECRET_HEX + "\n")
    ok(coldvault(tpm, "split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "vault", *FAST))
    ok(coldvault(tpm, "token", "pubkey", "--token", "tpm-a", "--label", "ocs-ec", "--out", "ec.pem", *tpm.pin_args("tpm-a")))
    code, _, stderr = coldvault(tpm, "wrap", tpm.root / "vault" / "shares" / "group1-share1.txt", "--out", "e.envelope.json",
                                "--recipient-pubkey", "ec.pem", "--token", "tpm-a", *tpm.pin_args("tpm-a"))

    assert code == 4, stderr
    assert 'error: token "tpm-a" has no CKM_ECDH1_DERIVE' in stderr  # read from its mechanism list, before anything is sealed
    assert "hint: seal with rsa-oaep instead" in stderr
    assert "does not open" not in stderr
    assert not (tpm.root / "e.envelope.json").exists()
