"""What SoftHSM2 2.6.1 and tpm2-pkcs11 1.9.0 say they can do, and the ECDH point forms they take.

`vault.edges.tokens.mechanisms.read` runs in a subprocess of its own per token store (a
PKCS#11 library reads its configuration once per process), against the real libraries;
docs/tokens.md cites these tests for its conformance table. ECDH is tried with both point
encodings coldvault may send, and an altered ephemeral point is told apart from a token
that cannot derive.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
from tpm_kit import Tpm

PIN = "pin-mech-0000"
SO_PIN = "so-mech-0000"

READ_MECHANISMS = """
import json, os, sys
import pkcs11
from vault.edges.tokens import mechanisms
lib = pkcs11.lib(os.environ["COLDVAULT_PKCS11_MODULE"])
found = {}
for slot in lib.get_slots(token_present=True):
    label = slot.get_token().label
    read = mechanisms.read(slot, label)
    found[label] = {name: None if m.uses is None else sorted(m.uses) for name, m in read.by_name.items()}
json.dump(found, sys.stdout)
"""

ECDH_BOTH_FORMS = """
import json, os, sys
import pkcs11
from pkcs11 import Attribute, ObjectClass
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from vault.edges.tokens import keys
lib = pkcs11.lib(os.environ["COLDVAULT_PKCS11_MODULE"])
with lib.get_token(token_label=sys.argv[1]).open(user_pin=sys.argv[2], rw=True) as live:
    keys.generate_key(live, "ec", "ecdh")
    public = keys.public_key(live, "ecdh")
    private = live.get_key(object_class=ObjectClass.PRIVATE_KEY, label="ecdh")
    peer = ec.generate_private_key(ec.SECP256R1())
    point = peer.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    key = keys.TokenKey(sys.argv[1], private, public)
    json.dump({
        "host": peer.exchange(ec.ECDH(), public).hex(),
        "portable": key.ecdh_shared_x(point).hex(),
        "raw": key._derive_shared_x(point).hex(),
        "der": key._derive_shared_x(keys._der_octet_string(point)).hex(),
        "left_behind": len(list(live.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}))),
    }, sys.stdout)
"""


def python(env: dict[str, str], script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120)


def softhsm_token(softhsm: dict[str, str], label: str) -> None:
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN],
                   env={**os.environ, **softhsm}, capture_output=True, check=True)


def mechanisms_listed(result: subprocess.CompletedProcess[str], token: str) -> dict[str, list[str] | None]:
    assert result.returncode == 0, result.stderr
    listed: dict[str, dict[str, list[str] | None]] = json.loads(result.stdout)
    return listed[token]


# ---------------------------------------------------------------- SoftHSM2 2.6.1


@pytest.mark.softhsm
def test_softhsm2_lists_every_mechanism_coldvault_uses(softhsm):
    softhsm_token(softhsm, "soft")
    listed = mechanisms_listed(python(softhsm, READ_MECHANISMS), "soft")

    assert listed["CKM_ECDH1_DERIVE"] == ["derive"]
    assert set(listed["CKM_RSA_PKCS_OAEP"] or ()) == {"encrypt", "decrypt", "wrap", "unwrap"}
    assert set(listed["CKM_ECDSA"] or ()) == {"sign", "verify"}
    assert listed["CKM_EC_KEY_PAIR_GEN"] == ["generate_key_pair"]
    assert listed["CKM_RSA_PKCS_KEY_PAIR_GEN"] == ["generate_key_pair"]
    assert listed["CKM_AES_KEY_GEN"] == ["generate"]
    # SoftHSM2 ORs CKM_AES_GCM's flags into memory it did not clear: stray bits, or just the right ones.
    assert listed["CKM_AES_GCM"] is None or {"encrypt", "decrypt"} <= set(listed["CKM_AES_GCM"])


@pytest.mark.softhsm
def test_softhsm2_derives_the_same_ecdh_secret_from_a_raw_and_a_der_peer_point_and_keeps_no_copy(softhsm):
    softhsm_token(softhsm, "soft")
    result = python(softhsm, ECDH_BOTH_FORMS, "soft", PIN)

    assert result.returncode == 0, result.stderr
    derived = json.loads(result.stdout)
    assert derived["raw"] == derived["der"] == derived["portable"] == derived["host"]
    assert derived["left_behind"] == 0


def find_point(document: object) -> tuple[dict[str, object], str] | None:
    """The JSON object and key holding the envelope's ephemeral point."""
    if isinstance(document, dict):
        if "ephemeral_public_key" in document:
            return document, "ephemeral_public_key"
        document = list(document.values())
    if isinstance(document, list):
        for item in document:
            found = find_point(item)
            if found:
                return found
    return None


@pytest.mark.softhsm
def test_an_ephemeral_point_off_the_curve_does_not_open_on_a_token(softhsm, cli, tmp_path):
    softhsm_token(softhsm, "soft")
    (tmp_path / "soft.pin").write_text(PIN + "\n")
    (tmp_path / "soft.pin").chmod(0o600)
    pin = ("--pin-file", f"soft={tmp_path / 'soft.pin'}")
    (tmp_path / "secret.hex").write_text("5eed" * 8 + "\n")
    assert cli("token", "keygen", "--token", "soft", "--label", "ec", "--type", "ec", *pin, env=softhsm).returncode == 0
    assert cli("token", "pubkey", "--token", "soft", "--label", "ec", "--out", "ec.pem", *pin, env=softhsm).returncode == 0
    assert cli("split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "vault", "--iteration-exponent", "0").returncode == 0
    sealed = cli("wrap", tmp_path / "vault" / "shares" / "group1-share1.txt", "--out", "e.envelope.json",
                 "--recipient-pubkey", "ec.pem", env=softhsm)
    assert sealed.returncode == 0, sealed.stderr
    envelope = json.loads((tmp_path / "e.envelope.json").read_text())
    found = find_point(envelope)
    assert found is not None
    holder, key = found
    holder[key] = base64.b64encode(b"\x04" + b"\x01" * 64).decode()  # the right shape, not on P-256
    (tmp_path / "altered.envelope.json").write_text(json.dumps(envelope))

    opened = cli("unwrap", "altered.envelope.json", "--token", "soft", *pin, env=softhsm)

    assert opened.returncode == 3, opened.stderr
    assert "the envelope does not open: it was altered" in opened.stderr
    assert "Traceback" not in opened.stderr


# ---------------------------------------------------------------- tpm2-pkcs11 1.9.0 on swtpm


@pytest.mark.tpm
def test_tpm2_pkcs11_lists_rsa_oaep_and_ecdsa_but_no_ecdh_and_no_aes_gcm(tpm: Tpm):
    tpm.token("tpm-a")
    listed = mechanisms_listed(tpm.run([sys.executable, "-c", READ_MECHANISMS], check=False), "tpm-a")

    assert "CKM_ECDH1_DERIVE" not in listed
    assert "CKM_AES_GCM" not in listed
    assert listed["CKM_RSA_PKCS_OAEP"] == ["decrypt", "encrypt"]
    assert listed["CKM_ECDSA"] == ["sign", "verify"]
    assert listed["CKM_EC_KEY_PAIR_GEN"] == ["generate_key_pair"]
    assert listed["CKM_RSA_PKCS_KEY_PAIR_GEN"] == ["generate_key_pair"]
    # Listed for "generate", yet C_GenerateKey is CKR_FUNCTION_NOT_SUPPORTED (test_tpm_tokens.py): the list is a claim.
    assert listed["CKM_AES_KEY_GEN"] == ["generate"]


@pytest.mark.tpm
def test_a_tpm_ecdh_derive_is_a_missing_mechanism_not_a_bad_envelope(tpm: Tpm):
    tpm.token("tpm-a")
    pin = tpm.pins["tpm-a"].read_text().strip()
    result = tpm.run([sys.executable, "-c", ECDH_BOTH_FORMS, "tpm-a", pin], check=False)

    assert result.returncode == 1
    assert 'MechanismMissing: token "tpm-a" has no CKM_ECDH1_DERIVE' in result.stderr


def test_mechanisms_lack_what_is_unlisted_or_listed_without_the_use():
    from vault.edges.tokens.mechanisms import Mechanism, Mechanisms

    listed = Mechanisms({
        "CKM_RSA_PKCS_OAEP": Mechanism("CKM_RSA_PKCS_OAEP", frozenset({"encrypt"}), 1024, 3072),
        "CKM_AES_GCM": Mechanism("CKM_AES_GCM", None, 16, 32),
    })

    assert listed.why_not("CKM_ECDH1_DERIVE", "derive") == "has no CKM_ECDH1_DERIVE"
    assert listed.why_not("CKM_RSA_PKCS_OAEP", "encrypt", "decrypt") == "lists CKM_RSA_PKCS_OAEP, but not for decrypt"
    assert not listed.lacks("CKM_RSA_PKCS_OAEP", "encrypt")
    assert not listed.lacks("CKM_AES_GCM", "encrypt", "decrypt")  # flags unknown: only a proof can tell
    with pytest.raises(ValueError):
        listed.lacks("CKM_AES_GCM", "seal")
