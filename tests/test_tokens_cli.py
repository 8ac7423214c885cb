"""PKCS#11 end to end: real SoftHSM2 tokens, the real CLI in a subprocess, and OpenSC's pkcs11-tool.

python-pkcs11 loads its library once per process and SoftHSM2 reads SOFTHSM2_CONF only
then, so everything that touches a token runs in a subprocess: coldvault through the
`cli` fixture, or softhsm2-util and pkcs11-tool.

One token store is built per module (`store`): RSA-3072 key generation on SoftHSM2
takes a moment, so keys are made once. Tests that need a token of their own (key
generation, key-ID collisions, an impostor token) use the function-scoped `softhsm`
fixture. When CI=true a missing softhsm2-util or pkcs11-tool fails the run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import Run, run_cli, softhsm_module
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from vault.core.formats import envelope as ev
from vault.core.recipients import registry
from vault.core.recipients.base import SoftwareKey

pytestmark = pytest.mark.softhsm

FAST = ("--iteration-exponent", "0")
SECRET_HEX = "00112233445566778899aabbccddeeff"
# Not hex, so a PIN cannot turn up inside a key id or a hash by chance when tests look for leaks.
PINS = {"custodian-1": "pin-c1-1111", "custodian-2": "pin-c2-2222", "opensc-1": "pin-ocs-3333", "pin-test": "pin-test-4444"}
SO_PIN = "87654321"
SPY_PATHS = ("/usr/lib/x86_64-linux-gnu/pkcs11-spy.so", "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so",
             "/usr/lib/aarch64-linux-gnu/pkcs11-spy.so", "/usr/lib/pkcs11-spy.so", "/usr/local/lib/pkcs11-spy.so")
DOES_NOT_OPEN = "the envelope does not open: it was altered, or it is sealed to another key"


# --------------------------------------------------------------------------- helpers


def require_tools() -> Path:
    """SoftHSM2's module, softhsm2-util and pkcs11-tool; a failure when CI=true, else a skip."""
    module = softhsm_module()
    missing = [name for name in ("softhsm2-util", "pkcs11-tool") if shutil.which(name) is None]
    if module is None:
        missing.insert(0, "libsofthsm2.so")
    if missing:
        message = f"missing: {', '.join(missing)} (Debian packages softhsm2 and opensc; `make test` installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert module is not None
    return module


def tool(env: dict[str, str], *args: str | os.PathLike) -> str:
    done = subprocess.run(list(map(str, args)), env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{args[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def pkcs11_tool(env: dict[str, str], token: str, *args: str | os.PathLike, pin: str | None = None) -> str:
    return tool(env, "pkcs11-tool", "--module", env["COLDVAULT_PKCS11_MODULE"], "--token-label", token,
                "--login", "--pin", pin or PINS[token], *args)


def init_token(env: dict[str, str], label: str, pin: str | None = None) -> None:
    tool(env, "softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin or PINS[label], "--so-pin", SO_PIN)


def assert_ok(run: Run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert "Traceback" not in run.stdout + run.stderr


def assert_error(run: Run, code: int, *needles: str) -> str:
    """Exit `code`; stderr's first line starts "error:"; no traceback; nothing on stdout.
    Every needle appears in stderr (case-insensitive). Returns stderr in lower case."""
    detail = f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.returncode == code, detail
    assert "Traceback" not in run.stdout + run.stderr, detail
    lines = run.stderr.splitlines()
    assert lines and lines[0].startswith("error:"), detail
    assert all(line.startswith(("error:", "hint:")) for line in lines), detail
    assert run.stdout.strip() == "", detail
    lowered = run.stderr.lower()
    for needle in needles:
        assert needle.lower() in lowered, f"{needle!r} not in stderr\n{detail}"
    return lowered


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (with its content) and directory under `root`."""
    found: dict[str, bytes | None] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(directory, name), root)] = None
        for name in files:
            path = os.path.join(directory, name)
            found[os.path.relpath(path, root)] = Path(path).read_bytes()
    return found


def share_words(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return " ".join(line for line in lines if not line.lstrip().startswith("#")).split()


def flip_base64(text: str, index: int = 0, bit: int = 0x01) -> str:
    data = bytearray(base64.b64decode(text))
    data[index] ^= bit
    return base64.b64encode(bytes(data)).decode()


def pkcs11_tool_objects(listing: str) -> list[dict[str, str]]:
    """pkcs11-tool --list-objects output as blocks: {"object": "Private Key Object; EC", "label": ..., "Access": ...}."""
    blocks: list[dict[str, str]] = []
    for line in listing.splitlines():
        if line and not line[0].isspace() and "Object" in line:
            blocks.append({"object": line.strip()})
        elif blocks and ":" in line:
            name, _, value = line.strip().partition(":")
            blocks[-1][name.strip()] = value.strip()
    return blocks


# --------------------------------------------------------------------------- the module's token store


@dataclass
class Store:
    root: Path
    env: dict[str, str]
    key_ids: dict[str, str] = field(default_factory=dict)

    def pin(self, label: str) -> str:
        return f"{label}={self.root / f'{label}.pin'}"

    def pin_args(self, *labels: str) -> list[str]:
        return [arg for label in labels for arg in ("--pin-file", self.pin(label))]

    def share(self, number: int) -> Path:
        return self.root / "vault" / "shares" / f"group1-share{number}.txt"

    @property
    def manifest(self) -> Path:
        return self.root / "vault" / "manifest.json"

    def cli(self, *args: str | os.PathLike) -> Run:
        return run_cli(self.root, *args, env=self.env)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    """A SoftHSM2 token store (its own SOFTHSM2_CONF) with keys made by coldvault and by pkcs11-tool.

    custodian-1: share-aes, share-ec, share-rsa (coldvault keygen); public keys in ec.pem, rsa.pem
    custodian-2: other-ec (coldvault keygen)
    opensc-1:    ocs-ec (id 01), ocs-rsa (id 02), ocs-aes, ocs-generic (pkcs11-tool); ocs-ec.der, ocs-rsa.der
    pin-test:    no keys (for wrong-PIN tests)
    vault/:      a 2-of-3 split of SECRET_HEX
    """
    module = require_tools()
    root = tmp_path_factory.mktemp("token-store")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    found = Store(root, {"SOFTHSM2_CONF": str(conf), "COLDVAULT_PKCS11_MODULE": str(module)})
    for label, pin in PINS.items():
        init_token(found.env, label)
        (root / f"{label}.pin").write_text(pin + "\n")  # a trailing newline is not part of the PIN

    for label, kind, token in (("share-aes", "aes", "custodian-1"), ("share-ec", "ec", "custodian-1"),
                               ("share-rsa", "rsa", "custodian-1"), ("other-ec", "ec", "custodian-2")):
        made = found.cli("token", "keygen", "--token", token, "--label", label, "--type", kind, "--pin-file", found.pin(token), "--json")
        assert_ok(made)
        found.key_ids[label] = made.json()["id"]
    for label, out in (("share-ec", "ec.pem"), ("share-rsa", "rsa.pem")):
        assert_ok(found.cli("token", "pubkey", "--token", "custodian-1", "--label", label, "--out", out,
                            "--pin-file", found.pin("custodian-1")))

    pkcs11_tool(found.env, "opensc-1", "--keypairgen", "--key-type", "EC:prime256v1", "--label", "ocs-ec", "--id", "01")
    pkcs11_tool(found.env, "opensc-1", "--keypairgen", "--key-type", "rsa:3072", "--label", "ocs-rsa", "--id", "02")
    pkcs11_tool(found.env, "opensc-1", "--keygen", "--key-type", "AES:32", "--label", "ocs-aes")
    pkcs11_tool(found.env, "opensc-1", "--keygen", "--key-type", "GENERIC:32", "--label", "ocs-generic")
    for label in ("ocs-ec", "ocs-rsa"):  # reading a public key needs no login
        tool(found.env, "pkcs11-tool", "--module", str(module), "--token-label", "opensc-1",
             "--read-object", "--type", "pubkey", "--label", label, "-o", root / f"{label}.der")

    (root / "secret.hex").write_text(SECRET_HEX + "\n")
    assert_ok(found.cli("split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "vault", *FAST))
    return found


@dataclass(frozen=True)
class Envelopes:
    aes: Path       # share 1, custodian-1's share-aes
    ecdh: Path      # share 2, custodian-1's share-ec, proven (names the token)
    rsa: Path       # share 3, custodian-1's share-rsa, OAEP-SHA1, proven (names the token)
    ecdh_unnamed: Path  # share 2, sealed to ec.pem without the token: names no token
    rsa_unnamed: Path   # share 3, sealed to rsa.pem with SHA-1 without the token

    def of(self, kind: str) -> Path:
        return getattr(self, kind)


@pytest.fixture(scope="module")
def envelopes(store: Store) -> Envelopes:
    (store.root / "env").mkdir()
    pin = store.pin_args("custodian-1")
    wraps = {
        "aes": (store.share(1), "--token", "custodian-1", "--key", "share-aes", *pin),
        "ecdh": (store.share(2), "--recipient-pubkey", "ec.pem", "--token", "custodian-1", *pin),
        "rsa": (store.share(3), "--recipient-pubkey", "rsa.pem", "--oaep-hash", "sha1", "--token", "custodian-1", *pin),
        "ecdh_unnamed": (store.share(2), "--recipient-pubkey", "ec.pem"),
        "rsa_unnamed": (store.share(3), "--recipient-pubkey", "rsa.pem", "--oaep-hash", "sha1"),
    }
    paths = {}
    for name, (share, *args) in wraps.items():
        paths[name] = store.root / "env" / f"{name}.envelope.json"
        assert_ok(store.cli("wrap", share, "--out", paths[name], "--manifest", store.manifest, *args))
    return Envelopes(**paths)


# --------------------------------------------------------------------------- token keygen and list


def test_keygen_makes_sensitive_never_extractable_keys_that_token_list_shows(cli, softhsm, tmp_path):
    require_tools()
    init_token(softhsm, "keys", "pin-keys-5555")
    (tmp_path / "keys.pin").write_text("pin-keys-5555\n")
    pin = ("--pin-file", "keys=keys.pin")
    made = {}
    for label, kind in (("k-aes", "aes"), ("k-ec", "ec"), ("k-rsa", "rsa")):
        run = cli("token", "keygen", "--token", "keys", "--label", label, "--type", kind, *pin, "--json", env=softhsm)
        assert_ok(run)
        payload = run.json()
        assert payload["token"] == "keys" and payload["label"] == label and payload["type"] == kind
        assert re.fullmatch(r"[0-9a-f]{16}", payload["id"])
        made[label] = payload["id"]

    listing = cli("token", "list", *pin, "--json", env=softhsm)
    assert_ok(listing)
    tokens = {t["label"]: t for t in listing.json()["tokens"]}
    assert tokens["keys"]["login_required"] is True and tokens["keys"]["pin_locked"] is False
    keys = {(k["object_class"], k["key_type"], k["label"], k["id"]): k for k in tokens["keys"]["keys"]}
    assert set(keys) == {
        ("secret", "aes", "k-aes", made["k-aes"]),
        ("private", "ec", "k-ec", made["k-ec"]), ("public", "ec", "k-ec", made["k-ec"]),
        ("private", "rsa", "k-rsa", made["k-rsa"]), ("public", "rsa", "k-rsa", made["k-rsa"]),
    }
    for (object_class, _, _, _), key in keys.items():
        if object_class in ("secret", "private"):
            assert key["extractable"] is False and key["sensitive"] is True, key

    human = cli("token", "list", *pin, env=softhsm)
    assert_ok(human)
    assert re.search(r'secret aes key "k-aes" .*never leaves the token', human.stdout)
    assert "pin-keys" not in human.stdout + human.stderr

    # The AES key's value cannot be read out (pkcs11-tool gets CKR_ATTRIBUTE_SENSITIVE)
    read = subprocess.run(["pkcs11-tool", "--module", softhsm["COLDVAULT_PKCS11_MODULE"], "--token-label", "keys", "--login",
                           "--pin", "pin-keys-5555", "--read-object", "--type", "secrkey", "--label", "k-aes",
                           "-o", str(tmp_path / "aes.bin")], env={**os.environ, **softhsm}, capture_output=True, text=True)
    assert read.returncode != 0 and not (tmp_path / "aes.bin").exists(), read.stdout + read.stderr

    # Checked independently, by OpenSC: CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE
    objects = pkcs11_tool_objects(pkcs11_tool(softhsm, "keys", "--list-objects", pin="pin-keys-5555"))
    by = {(o["object"].split(";")[0], o.get("label")): o for o in objects}
    for kind, label in (("Secret Key Object", "k-aes"), ("Private Key Object", "k-ec"), ("Private Key Object", "k-rsa")):
        access = [a.strip() for a in by[(kind, label)]["Access"].split(",")]
        assert {"sensitive", "always sensitive", "never extractable"} <= set(access), (label, access)
        assert "extractable" not in access, (label, access)
    assert "AES length 32" in by[("Secret Key Object", "k-aes")]["object"]
    assert "RSA 3072 bits" in by[("Public Key Object", "k-rsa")]["object"]
    assert by[("Public Key Object", "k-ec")]["EC_PARAMS"] == "06082a8648ce3d030107"  # prime256v1
    assert "derive" in by[("Private Key Object", "k-ec")]["Usage"]
    assert "decrypt" in by[("Private Key Object", "k-rsa")]["Usage"]

    # Without the PIN: tokens are listed, their keys are not
    bare = cli("token", "list", "--json", env=softhsm)
    assert_ok(bare)
    assert [t["keys"] for t in bare.json()["tokens"] if t["label"] == "keys"] == [None]

    # A label already used: exit 5, whatever the type, and nothing is added
    for kind in ("aes", "rsa"):
        again = cli("token", "keygen", "--token", "keys", "--label", "k-aes", "--type", kind, *pin, env=softhsm)
        assert_error(again, 5, 'already has a key labelled "k-aes"')
    after = cli("token", "list", *pin, "--json", env=softhsm)
    assert [k for t in after.json()["tokens"] for k in t["keys"] or [] if k["label"] == "k-aes"] == \
        [k for t in listing.json()["tokens"] for k in t["keys"] or [] if k["label"] == "k-aes"]


def test_token_pubkey_exports_the_key_pkcs11_tool_reads(store, cli, tmp_path):
    run = cli("token", "pubkey", "--token", "custodian-1", "--label", "share-ec", "--out", "mine.pem",
              *store.pin_args("custodian-1"), "--json", env=store.env)
    assert_ok(run)
    pem, _ = registry.load_public_key((tmp_path / "mine.pem").read_bytes())
    tool(store.env, "pkcs11-tool", "--module", store.env["COLDVAULT_PKCS11_MODULE"], "--token-label", "custodian-1",
         "--read-object", "--type", "pubkey", "--label", "share-ec", "-o", tmp_path / "theirs.der")
    der = (tmp_path / "theirs.der").read_bytes()
    assert pem.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) == der
    assert run.json()["public_key_sha256"] == hashlib.sha256(der).hexdigest()

    again = cli("token", "pubkey", "--token", "custodian-1", "--label", "share-ec", "--out", "mine.pem",
                *store.pin_args("custodian-1"), env=store.env)
    assert_error(again, 5, "mine.pem")


# --------------------------------------------------------------------------- round trips


def unwrap_words(cli, store: Store, envelope: Path, *tokens: str) -> list[str]:
    labels = tokens or ("custodian-1",)
    run = cli("unwrap", envelope, *[a for t in labels for a in ("--token", t)], *store.pin_args(*labels), env=store.env)
    assert_ok(run)
    return run.stdout.split()


def test_aes_on_the_token_round_trip(store, cli, tmp_path):
    run = cli("wrap", store.share(1), "--out", "s1.envelope.json", "--token", "custodian-1", "--key", "share-aes",
              *store.pin_args("custodian-1"), env=store.env)
    assert_ok(run)
    assert "proven: the envelope opens with its token" in run.stdout
    doc = json.loads((tmp_path / "s1.envelope.json").read_text())
    assert doc["recipient"] == {"kind": "pkcs11-aes-gcm", "token_label": "custodian-1", "key_label": "share-aes",
                                "key_id": store.key_ids["share-aes"]}
    assert unwrap_words(cli, store, tmp_path / "s1.envelope.json") == share_words(store.share(1))

    # --json, and a fresh nonce for every envelope
    again = cli("wrap", store.share(1), "--out", "s1b.envelope.json", "--token", "custodian-1", "--key", "share-aes",
                *store.pin_args("custodian-1"), "--json", env=store.env)
    assert_ok(again)
    assert again.json()["opened_with_token"] is True
    second = json.loads((tmp_path / "s1b.envelope.json").read_text())
    assert second["nonce"] != doc["nonce"] and second["ciphertext"] != doc["ciphertext"]

    # unwrap --out writes a share file (0600) that parses to the same words
    out = cli("unwrap", "s1.envelope.json", "--out", "opened.txt", *store.pin_args("custodian-1"), env=store.env)
    assert_ok(out)
    assert stat.S_IMODE((tmp_path / "opened.txt").stat().st_mode) == 0o600
    assert share_words(tmp_path / "opened.txt") == share_words(store.share(1))
    assert " ".join(share_words(store.share(1))) not in out.stdout


def test_unwrap_out_writes_a_custodian_name_in_any_script(store, cli, tmp_path):
    """`unwrap --out` wrote share files as ASCII and ended in exit 70 for such a name; now UTF-8, as every share file."""
    name = "Zoë Ångström 山田 🗝"
    sealed = cli("wrap", store.share(3), "--out", "z.envelope.json", "--recipient-pubkey", store.root / "ec.pem",
                 "--custodian", name, env=store.env)
    assert_ok(sealed)
    out = cli("unwrap", "z.envelope.json", "--out", "opened.txt", "--token", "custodian-1", *store.pin_args("custodian-1"), env=store.env)
    assert_ok(out)
    text = (tmp_path / "opened.txt").read_text(encoding="utf-8")
    assert f"# custodian: {name}\n" in text
    # What any SLIP-39 tool reads once the comment lines are removed: the words alone, in ASCII.
    words = [line for line in text.splitlines() if not line.startswith("#")]
    assert words == [" ".join(share_words(store.share(3)))] and words[0].isascii()
    assert_ok(cli("inspect", "opened.txt"))


def test_ecdh_round_trip_not_proven_without_the_token_and_proven_with_it(store, cli, tmp_path):
    plain = cli("wrap", store.share(2), "--out", "e.envelope.json", "--recipient-pubkey", store.root / "ec.pem", env=store.env)
    assert_ok(plain)
    assert "NOT PROVEN" in plain.stdout
    doc = json.loads((tmp_path / "e.envelope.json").read_text())
    assert doc["recipient"]["kind"] == "ecdh-p256"
    assert doc["recipient"]["token_label"] is None and doc["recipient"]["key_label"] is None
    assert doc["recipient"]["public_key_sha256"] == hashlib.sha256(
        registry.load_public_key((store.root / "ec.pem").read_bytes())[0].public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).hexdigest()
    assert unwrap_words(cli, store, tmp_path / "e.envelope.json") == share_words(store.share(2))

    proven = cli("wrap", store.share(2), "--out", "e2.envelope.json", "--recipient-pubkey", store.root / "ec.pem",
                 "--token", "custodian-1", *store.pin_args("custodian-1"), "--json", env=store.env)
    assert_ok(proven)
    assert proven.json()["opened_with_token"] is True
    named = json.loads((tmp_path / "e2.envelope.json").read_text())["recipient"]
    assert named["token_label"] == "custodian-1" and named["key_label"] == "share-ec"
    assert unwrap_words(cli, store, tmp_path / "e2.envelope.json") == share_words(store.share(2))


def test_a_key_pair_without_a_label_is_named_by_its_public_key_and_opens(store, softhsm, cli, tmp_path):
    """pkcs11-tool makes key pairs with no label at all; the envelope then names no key label (null), never ""
    (which its own reader refuses), and opens by the public key's hash alone."""
    require_tools()
    init_token(softhsm, "bare", "pin-bare-6666")
    (tmp_path / "bare.pin").write_text("pin-bare-6666\n")
    pkcs11_tool(softhsm, "bare", "--keypairgen", "--key-type", "EC:prime256v1", "--id", "0a0b", pin="pin-bare-6666")
    tool(softhsm, "pkcs11-tool", "--module", softhsm["COLDVAULT_PKCS11_MODULE"], "--token-label", "bare",
         "--read-object", "--type", "pubkey", "--id", "0a0b", "-o", tmp_path / "bare.der")
    pin = ("--pin-file", "bare=bare.pin")
    sealed = cli("wrap", store.share(2), "--out", "bare.envelope.json", "--recipient-pubkey", "bare.der", "--token", "bare", *pin,
                 "--json", env=softhsm)
    assert_ok(sealed)
    assert sealed.json()["opened_with_token"] is True
    recipient = json.loads((tmp_path / "bare.envelope.json").read_text())["recipient"]
    assert recipient["token_label"] == "bare" and recipient["key_label"] is None
    opened = cli("unwrap", "bare.envelope.json", "--out", "bare.txt", *pin, env=softhsm)
    assert_ok(opened)
    assert share_words(tmp_path / "bare.txt") == share_words(store.share(2))


def test_rsa_oaep_sha1_round_trip(store, cli, tmp_path):
    plain = cli("wrap", store.share(3), "--out", "r.envelope.json", "--recipient-pubkey", store.root / "rsa.pem",
                "--oaep-hash", "sha1", env=store.env)
    assert_ok(plain)
    assert "NOT PROVEN" in plain.stdout
    doc = json.loads((tmp_path / "r.envelope.json").read_text())
    assert doc["recipient"]["kind"] == "rsa-oaep" and doc["recipient"]["oaep_hash"] == "sha1"
    assert unwrap_words(cli, store, tmp_path / "r.envelope.json") == share_words(store.share(3))

    proven = cli("wrap", store.share(3), "--out", "r2.envelope.json", "--recipient-pubkey", store.root / "rsa.pem",
                 "--oaep-hash", "sha1", "--token", "custodian-1", *store.pin_args("custodian-1"), env=store.env)
    assert_ok(proven)
    assert "proven: the envelope opens with its token" in proven.stdout
    assert unwrap_words(cli, store, tmp_path / "r2.envelope.json") == share_words(store.share(3))


def test_rsa_oaep_sha256_is_refused_by_softhsm_with_a_hint_and_nothing_written(store, cli, tmp_path):
    before = tree(tmp_path)
    run = cli("wrap", store.share(3), "--out", "r.envelope.json", "--recipient-pubkey", store.root / "rsa.pem",
              "--token", "custodian-1", *store.pin_args("custodian-1"), env=store.env)
    stderr = assert_error(run, 4, 'token "custodian-1" decrypts RSA-OAEP with SHA-1 only')
    assert "hint: give --oaep-hash sha1" in stderr
    assert tree(tmp_path) == before


def test_rsa_oaep_sha256_sealed_by_the_cli_opens_with_a_software_private_key(cli, tmp_path):
    """The SHA-256 variant SoftHSM2 2.6 cannot do, against `cryptography` (PEM and DER public keys)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    public = private.public_key()
    (tmp_path / "soft.pem").write_bytes(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    (tmp_path / "soft.der").write_bytes(public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    share = tmp_path / "share.txt"
    share.write_text("shadow pistol academic always adequate wildlife fancy gross oasis cylinder "
                     "mustang wrist rescue view short owner flip making coding armed\n")
    for key_file in ("soft.pem", "soft.der"):
        out = f"{key_file}.envelope.json"
        run = cli("wrap", share, "--out", out, "--recipient-pubkey", key_file, "--custodian", "Alice", "--json",
                  env={"COLDVAULT_PKCS11_MODULE": "/nonexistent.so"})  # no token is needed to seal
        assert_ok(run)
        assert run.json()["opened_with_token"] is False
        sealed = ev.from_json((tmp_path / out).read_text())
        assert sealed.kind == "rsa-oaep" and sealed.recipient.oaep_hash == "sha256"
        assert sealed.custodian == "Alice"
        opened = ev.unseal(sealed, SoftwareKey(private))
        assert opened.mnemonic.split() == share_words(share)


# --------------------------------------------------------------------------- recover, inspect, verify


def test_recover_inspect_and_verify_open_envelopes(store, envelopes, cli):
    manifest = json.loads(store.manifest.read_text())
    pins = store.pin_args("custodian-1")
    listed = {s["share_fingerprint"]: s for s in manifest["shares"]}

    for kind in ("aes", "ecdh", "rsa"):
        run = cli("inspect", envelopes.of(kind), *pins, "--json", env=store.env)
        assert_ok(run)
        assert run.json()["share_fingerprint"] in listed

    for pair in (("aes", "ecdh"), ("ecdh", "rsa"), ("aes", "rsa")):
        run = cli("recover", *[envelopes.of(k) for k in pair], "--manifest", store.manifest, *pins, "--json", env=store.env)
        assert_ok(run)
        result = run.json()
        assert result["matches_manifest"] is True
        assert result["secret_fingerprint"] == manifest["secret"]["secret_fingerprint"]
        assert "secret" not in result

    revealed = cli("recover", envelopes.aes, envelopes.rsa, "--manifest", store.manifest, *pins, "--reveal", "--json",
                   env=store.env)
    assert_ok(revealed)
    assert revealed.json()["secret"] == SECRET_HEX

    # an envelope and a plain share file together; an unnamed envelope found with --token
    mixed = cli("recover", store.share(1), envelopes.ecdh_unnamed, "--token", "custodian-1", "--manifest", store.manifest,
                *pins, "--json", env=store.env)
    assert_ok(mixed)
    assert mixed.json()["secret_fingerprint"] == manifest["secret"]["secret_fingerprint"]

    proof = cli("verify", "--manifest", store.manifest, envelopes.aes, envelopes.ecdh, envelopes.rsa, *pins, "--json",
                env=store.env)
    assert_ok(proof)
    result = proof.json()
    assert result["ok"] is True and result["secret_status"] == "matches"
    assert [s["status"] for s in result["shares"]] == ["ok", "ok", "ok"]
    assert result["summary"].startswith("PROVEN")


def test_envelopes_carry_the_manifest_ceremony_id(store, envelopes):
    manifest = json.loads(store.manifest.read_text())
    for kind in ("aes", "ecdh", "rsa", "ecdh_unnamed", "rsa_unnamed"):
        assert json.loads(envelopes.of(kind).read_text())["ceremony_id"] == manifest["ceremony"]["id"]


def test_verify_reports_a_tampered_envelope_as_a_failed_check(store, envelopes, cli, tmp_path):
    doc = json.loads(envelopes.ecdh.read_text())
    doc["ciphertext"] = flip_base64(doc["ciphertext"], 5)
    (tmp_path / "bad.envelope.json").write_text(json.dumps(doc))
    run = cli("verify", "--manifest", store.manifest, envelopes.aes, "bad.envelope.json", envelopes.rsa,
              *store.pin_args("custodian-1"), "--json", env=store.env)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    result = run.json()
    assert result["ok"] is False
    bad = [s for s in result["shares"] if s["source"] == "bad.envelope.json"]
    assert bad and bad[0]["status"] != "ok" and "does not open" in bad[0]["detail"]
    assert run.stderr.splitlines()[0].startswith("error:")


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("how", ["--module", "environment"])
def test_module_not_found(store, envelopes, cli, tmp_path, how):
    before = tree(tmp_path)
    env = dict(store.env)
    flag: list[str] = []
    if how == "--module":
        flag = ["--module", "/nonexistent.so"]
    else:
        env["COLDVAULT_PKCS11_MODULE"] = "/nonexistent.so"
    origin = "--module" if how == "--module" else "COLDVAULT_PKCS11_MODULE"
    runs = [
        cli("wrap", store.share(1), "--out", "x.envelope.json", "--token", "custodian-1", "--key", "share-aes",
            *store.pin_args("custodian-1"), *flag, env=env),
        cli("unwrap", envelopes.aes, "--out", "x.txt", *store.pin_args("custodian-1"), *flag, env=env),
        cli("token", "list", *flag, env=env),
    ]
    for run in runs:
        assert_error(run, 4, "/nonexistent.so: no such PKCS#11 module", origin)
    assert tree(tmp_path) == before


def test_a_module_that_is_not_a_pkcs11_library(store, cli, tmp_path):
    (tmp_path / "fake.so").write_text("not a library\n")
    assert_error(cli("token", "list", "--module", tmp_path / "fake.so", env=store.env), 4, "cannot load this PKCS#11 module")


@pytest.mark.parametrize("name", ["libsofthsm2.so", "opensc-pkcs11.so"])
def test_a_relative_module_path_loads_that_file(store, cli, tmp_path, name):
    shutil.copy(store.env["COLDVAULT_PKCS11_MODULE"], tmp_path / name)
    run = cli("token", "list", "--module", f"./{name}", "--json", env=store.env)
    assert_ok(run)
    assert "custodian-1" in [t["label"] for t in run.json()["tokens"]]


def test_no_token_with_that_label(store, envelopes, cli, tmp_path):
    before = tree(tmp_path)
    run = cli("wrap", store.share(1), "--out", "x.envelope.json", "--token", "custodian-9", "--key", "share-aes",
              "--pin-file", f"custodian-9={store.root / 'custodian-1.pin'}", env=store.env)
    assert_error(run, 4, 'no token labelled "custodian-9"', "custodian-1")  # the hint lists the tokens present
    run = cli("unwrap", envelopes.ecdh_unnamed, "--token", "custodian-9", env=store.env)
    assert_error(run, 4, 'no token labelled "custodian-9"')
    assert tree(tmp_path) == before


def find_spy() -> Path | None:
    return next((Path(p) for p in SPY_PATHS if Path(p).exists()), None)


def test_wrong_pin_is_tried_once_and_the_pin_still_works(store, envelopes, cli, tmp_path):
    (tmp_path / "wrong.pin").write_text("wrong-pin-9999\n")
    before = tree(tmp_path)
    spy = find_spy()
    env = dict(store.env)
    module_args: list[str] = []
    log = store.root / "spy.log"
    if spy is not None:  # OpenSC's PKCS#11 spy logs every call coldvault makes
        env.update(PKCS11SPY=store.env["COLDVAULT_PKCS11_MODULE"], PKCS11SPY_OUTPUT=str(log))
        module_args = ["--module", str(spy)]
    elif os.environ.get("CI") == "true":
        pytest.fail("OpenSC's pkcs11-spy.so is missing (Debian package opensc-pkcs11)")

    run = cli("wrap", store.share(1), "--out", "x.envelope.json", "--token", "pin-test", "--key", "share-aes",
              "--pin-file", f"pin-test={tmp_path / 'wrong.pin'}", *module_args, env=env)
    stderr = assert_error(run, 4, 'wrong PIN for token "pin-test"', "never retries a PIN")
    assert "wrong-pin" not in stderr and PINS["pin-test"] not in stderr
    # SoftHSM2 raises CKF_USER_PIN_COUNT_LOW after a failure: coldvault passes it on
    assert "few tries are left" in stderr
    assert tree(tmp_path) == before
    if spy is not None:
        calls = re.findall(r"^\d+: (C_\w+)", log.read_text(), flags=re.MULTILINE)
        assert calls.count("C_Login") == 1, calls
        assert calls[-1] == "C_Finalize"  # the module is finalized on the way out, also on error

    # the token still takes its PIN: coldvault did not use up its tries
    ok = cli("token", "list", *store.pin_args("pin-test"), "--json", env=store.env)
    assert_ok(ok)
    token = [t for t in ok.json()["tokens"] if t["label"] == "pin-test"][0]
    assert token["pin_locked"] is False and token["keys"] == []

    # unwrap and token list say the same
    bad_unwrap = cli("unwrap", envelopes.ecdh_unnamed, "--token", "pin-test", "--pin-file", f"pin-test={tmp_path / 'wrong.pin'}",
                     env=store.env)
    assert_error(bad_unwrap, 4, 'wrong PIN for token "pin-test"')
    assert_error(cli("token", "list", "--pin-file", f"pin-test={tmp_path / 'wrong.pin'}", env=store.env), 4, "wrong PIN")
    assert_ok(cli("token", "list", *store.pin_args("pin-test"), env=store.env))


def test_key_not_found(store, cli, tmp_path):
    before = tree(tmp_path)
    run = cli("wrap", store.share(1), "--out", "x.envelope.json", "--token", "custodian-1", "--key", "no-such-key",
              *store.pin_args("custodian-1"), env=store.env)
    assert_error(run, 4, '"no-such-key"')
    run = cli("token", "pubkey", "--token", "custodian-1", "--label", "no-such-key", "--out", "k.pem",
              *store.pin_args("custodian-1"), env=store.env)
    assert_error(run, 4, 'no public key labelled "no-such-key"')
    assert tree(tmp_path) == before


def test_an_aes_key_flag_naming_an_ec_key_is_refused_with_exit_4(store, cli, tmp_path):
    before = tree(tmp_path)
    run = cli("wrap", store.share(1), "--out", "x.envelope.json", "--token", "custodian-1", "--key", "share-ec",
              *store.pin_args("custodian-1"), env=store.env)
    assert_error(run, 4, "share-ec")
    assert tree(tmp_path) == before


def test_an_aes_key_flag_naming_an_ec_key_says_the_key_is_of_the_wrong_type(store, cli):
    run = cli("wrap", store.share(1), "--out", "x.envelope.json", "--token", "custodian-1", "--key", "share-ec",
              *store.pin_args("custodian-1"), env=store.env)
    stderr = assert_error(run, 4, "share-ec", "not an AES key")
    assert "--recipient-pubkey" in stderr


def test_a_non_aes_secret_key_is_the_wrong_type(store, cli, tmp_path):
    before = tree(tmp_path)
    run = cli("wrap", store.share(1), "--out", "x.envelope.json", "--token", "opensc-1", "--key", "ocs-generic",
              *store.pin_args("opensc-1"), env=store.env)
    assert_error(run, 4, 'the key "ocs-generic" is not an AES key', "--recipient-pubkey")
    assert tree(tmp_path) == before


@pytest.mark.parametrize("kind", ["ecdh_unnamed", "rsa_unnamed"])
def test_an_envelope_for_another_token(store, envelopes, cli, tmp_path, kind):
    """The token given does not hold the key the envelope names: the envelope's say, so the one opaque error."""
    run = cli("unwrap", envelopes.of(kind), "--token", "custodian-2", *store.pin_args("custodian-2"), "--out", "s.txt",
              env=store.env)
    assert_error(run, 3, DOES_NOT_OPEN, "plug in the token that holds it")
    assert not (tmp_path / "s.txt").exists()
    # given both tokens, coldvault finds the right one
    assert unwrap_words(cli, store, envelopes.of(kind), "custodian-2", "custodian-1") == \
        share_words(store.share(2 if kind.startswith("ecdh") else 3))


def test_a_public_key_the_given_token_does_not_hold_is_refused_before_sealing(store, cli, tmp_path):
    before = tree(tmp_path)
    run = cli("wrap", store.share(2), "--out", "x.envelope.json", "--recipient-pubkey", store.root / "ec.pem",
              "--token", "custodian-2", *store.pin_args("custodian-2"), env=store.env)
    assert_error(run, 3, "custodian-2", "holds the private key")
    assert tree(tmp_path) == before


def test_an_impostor_token_with_the_same_labels_opens_nothing(softhsm, store, envelopes, cli, tmp_path):
    """Another store with a token labelled custodian-1 and keys with the same labels (other key material)."""
    init_token(softhsm, "custodian-1")
    for label, kind in (("share-aes", "aes"), ("share-ec", "ec")):
        assert_ok(cli("token", "keygen", "--token", "custodian-1", "--label", label, "--type", kind,
                      *store.pin_args("custodian-1"), env=softhsm))
    run = cli("unwrap", envelopes.aes, *store.pin_args("custodian-1"), env=softhsm)
    assert_error(run, 3, DOES_NOT_OPEN)
    run = cli("unwrap", envelopes.ecdh, *store.pin_args("custodian-1"), env=softhsm)
    assert_error(run, 3, DOES_NOT_OPEN)


TAMPERS = [
    ("aes", "ciphertext"), ("aes", "nonce"), ("aes", "share.member_index"), ("aes", "custodian"), ("aes", "ceremony_id"),
    ("ecdh", "ciphertext"), ("ecdh", "nonce"), ("ecdh", "ephemeral_public_key"), ("ecdh", "share.identifier"),
    ("ecdh", "recipient.token_label"),
    ("rsa", "ciphertext"), ("rsa", "wrapped_key"), ("rsa", "share.share_fingerprint"), ("rsa", "recipient.key_label"),
]


@pytest.mark.parametrize(("kind", "field_path"), TAMPERS, ids=[f"{k}-{f}" for k, f in TAMPERS])
def test_a_tampered_envelope_does_not_open_with_its_real_token(store, envelopes, cli, tmp_path, kind, field_path):
    doc = json.loads(envelopes.of(kind).read_text())
    *parents, last = field_path.split(".")
    target = doc
    for name in parents:
        target = target[name]
    value = target[last]
    if field_path in ("ciphertext", "nonce", "wrapped_key"):
        target[last] = flip_base64(value, len(base64.b64decode(value)) // 2)
    elif field_path == "ephemeral_public_key":
        target[last] = flip_base64(value, 40)
    elif isinstance(value, int):
        target[last] = value ^ 1
    elif field_path == "share.share_fingerprint":
        target[last] = (bytes([bytes.fromhex(value)[0] ^ 1]) + bytes.fromhex(value)[1:]).hex()
    elif value is None:
        target[last] = "Mallory"
    else:
        target[last] = value[:-1] + chr(ord(value[-1]) ^ 1)
    (tmp_path / "t.envelope.json").write_text(json.dumps(doc, indent=2))
    before = tree(tmp_path)
    run = cli("unwrap", "t.envelope.json", "--token", "custodian-1", *store.pin_args("custodian-1"), "--out", "s.txt",
              env=store.env)
    assert_error(run, 3, "t.envelope.json: " + DOES_NOT_OPEN)
    assert tree(tmp_path) == before
    words = share_words(store.share(1 if kind == "aes" else 2 if kind == "ecdh" else 3))
    assert not any(" ".join(words[i:i + 3]) in run.stderr for i in range(len(words) - 2))


def _public_key_sha256(pem: Path) -> str:
    return hashlib.sha256(load_pem_public_key(pem.read_bytes()).public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def _another_point() -> str:
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.b64encode(point).decode()


def header_edits(store: Store, kind: str) -> dict[str, object]:
    """Every authenticated header field of an envelope of `kind`, each given another well-formed value: what an
    attacker with write access to the file can do. Some values name real things (another present token, a key
    of another kind on the same token), so the edit reaches the token, not only the reader."""
    common: dict[str, object] = {
        "ceremony_id": "11111111-1111-4111-8111-111111111111", "share.identifier": lambda v: v ^ 1,
        "share.group_index": lambda v: (v + 1) % 16, "share.member_index": lambda v: v ^ 1,
        "share.share_fingerprint": lambda v: ("0" if v[0] != "0" else "1") + v[1:], "custodian": "Mallory",
    }
    per_kind: dict[str, dict[str, object]] = {
        "aes": {"recipient.token_label": "custodian-2", "recipient.key_label": "share-ec", "recipient.key_id": None},
        "ecdh": {"recipient.public_key_sha256": _public_key_sha256(store.root / "rsa.pem"), "recipient.token_label": "custodian-2",
                 "recipient.key_label": "other-ec", "ephemeral_public_key": _another_point()},
        "rsa": {"recipient.public_key_sha256": _public_key_sha256(store.root / "ec.pem"), "recipient.oaep_hash": "sha256",
                "recipient.token_label": "custodian-2", "recipient.key_label": "share-ec",
                "wrapped_key": lambda v: flip_base64(v, 100)},
    }
    return {**common, **per_kind[kind]}


@pytest.mark.parametrize("kind", ["aes", "ecdh", "rsa"])
def test_every_header_field_edited_is_one_opaque_error(store, envelopes, cli, tmp_path, kind):
    """docs/envelope.md: an envelope whose header was edited does not open, in the same words and with the same
    exit code whichever field it was (an OAEP hash the token lacks, a key or token that is not here, or a failed
    authentication): the file is named, what differs is not. Every PIN is given, so no edit stops at a login."""
    pins = store.pin_args("custodian-1", "custodian-2", "opensc-1")
    assert_ok(cli("unwrap", envelopes.of(kind), *pins, env=store.env))  # unedited, it opens
    expected = (f"error: t.envelope.json: {DOES_NOT_OPEN}\n"
                "hint: it opens only with the key it was sealed to: plug in the token that holds it "
                "(tokens present: custodian-1, custodian-2, opensc-1, pin-test)\n"
                "hint: give --token LABEL for a token that keeps its public keys private; `coldvault token list` shows each token's keys\n")
    edits = header_edits(store, kind)
    header = set(json.loads(envelopes.of(kind).read_text())) - {"nonce", "ciphertext"}
    covered = {path.split(".")[0] for path in edits} | {"format"}  # format: refused by the reader, as documented
    assert covered == header, "a header field is not edited here"
    recipient = set(json.loads(envelopes.of(kind).read_text())["recipient"]) - {"kind"}
    assert {f"recipient.{name}" for name in recipient} <= set(edits)
    words = share_words(store.share(1 if kind == "aes" else 2 if kind == "ecdh" else 3))
    for path, edit in edits.items():
        doc = json.loads(envelopes.of(kind).read_text())
        *parents, last = path.split(".")
        target = doc
        for name in parents:
            target = target[name]
        target[last] = edit(target[last]) if callable(edit) else edit
        assert json.loads(envelopes.of(kind).read_text()) != doc
        (tmp_path / "t.envelope.json").write_text(json.dumps(doc, indent=2))
        run = cli("unwrap", "t.envelope.json", *pins, "--out", "s.txt", env=store.env)
        assert (run.returncode, run.stdout, run.stderr) == (3, "", expected), f"{kind} {path}: exit {run.returncode}\n{run.stderr}"
        assert not (tmp_path / "s.txt").exists()
        assert not any(" ".join(words[i:i + 3]) in run.stderr for i in range(len(words) - 2))


def test_a_swapped_header_is_refused_with_the_real_token(store, envelopes, cli, tmp_path):
    run = cli("wrap", store.share(1), "--out", "other.envelope.json", "--recipient-pubkey", store.root / "ec.pem", env=store.env)
    assert_ok(run)
    first = json.loads(envelopes.ecdh_unnamed.read_text())
    second = json.loads((tmp_path / "other.envelope.json").read_text())
    swapped = {**second, "share": first["share"]}
    (tmp_path / "swapped.envelope.json").write_text(json.dumps(swapped))
    run = cli("unwrap", "swapped.envelope.json", "--token", "custodian-1", *store.pin_args("custodian-1"), env=store.env)
    assert_error(run, 3, DOES_NOT_OPEN)


def bad_files(envelopes: Envelopes) -> dict[str, tuple[str, str]]:
    text = envelopes.aes.read_text()
    v2 = json.loads(text)
    v2["format"] = "coldvault-envelope/2"
    kind = json.loads(text)
    kind["recipient"]["kind"] = "pkcs11-chacha"
    return {
        "version": (json.dumps(v2), "unknown envelope format 'coldvault-envelope/2'"),
        "kind": (json.dumps(kind), "unknown recipient kind 'pkcs11-chacha'"),
        "truncated": (text[: len(text) // 2], "not an envelope: not JSON"),
        "non-json": ("{ this is not JSON\n", "not an envelope: not JSON"),
        "array": ("[" + text + "]", "not an envelope: not a JSON object"),
    }


@pytest.mark.parametrize("case", ["version", "kind", "truncated", "non-json", "array"])
def test_unreadable_envelopes_are_invalid_input(store, envelopes, cli, tmp_path, case):
    content, message = bad_files(envelopes)[case]
    (tmp_path / "bad.envelope.json").write_text(content)
    before = tree(tmp_path)
    run = cli("unwrap", "bad.envelope.json", *store.pin_args("custodian-1"), "--out", "s.txt", env=store.env)
    stderr = assert_error(run, 3, f"bad.envelope.json: {message}")
    if case == "version":
        assert "hint: this coldvault reads coldvault-envelope/1" in stderr
    assert tree(tmp_path) == before
    if case != "array":  # recover and inspect read envelopes the same way (an array is not taken for an envelope)
        assert_error(cli("recover", "bad.envelope.json", store.share(2), *store.pin_args("custodian-1"), env=store.env), 3, message)
        assert_error(cli("inspect", "bad.envelope.json", *store.pin_args("custodian-1"), env=store.env), 3, message)


def test_pin_file_without_equals_sign(store, envelopes, cli, tmp_path):
    before = tree(tmp_path)
    pin_path = store.root / "custodian-1.pin"
    for command in (("unwrap", envelopes.aes), ("token", "list"),
                    ("wrap", store.share(1), "--out", "x.envelope.json", "--token", "custodian-1", "--key", "share-aes")):
        run = cli(*command, "--pin-file", str(pin_path), env=store.env)
        assert_error(run, 3, f'--pin-file "{pin_path}" is not LABEL=PATH')
    assert tree(tmp_path) == before


def test_unwrap_out_refuses_an_existing_file(store, envelopes, cli, tmp_path):
    existing = tmp_path / "share.txt"
    existing.write_text("keep me\n")
    existing.chmod(0o644)
    run = cli("unwrap", envelopes.aes, "--out", "share.txt", *store.pin_args("custodian-1"), env=store.env)
    assert_error(run, 5, "share.txt")
    assert existing.read_text() == "keep me\n"
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644


def test_wrap_out_refuses_an_existing_file(store, cli, tmp_path):
    existing = tmp_path / "x.envelope.json"
    existing.write_text("{}\n")
    run = cli("wrap", store.share(1), "--out", "x.envelope.json", "--token", "custodian-1", "--key", "share-aes",
              *store.pin_args("custodian-1"), env=store.env)
    assert_error(run, 5, "x.envelope.json")
    assert existing.read_text() == "{}\n"


# --------------------------------------------------------------------------- OpenSC's pkcs11-tool on the same token


def test_coldvault_lists_keys_made_by_pkcs11_tool(store, cli):
    run = cli("token", "list", *store.pin_args("opensc-1"), "--json", env=store.env)
    assert_ok(run)
    keys = {(k["object_class"], k["key_type"], k["label"], k["id"]) for t in run.json()["tokens"] if t["label"] == "opensc-1"
            for k in t["keys"]}
    assert {("private", "ec", "ocs-ec", "01"), ("public", "ec", "ocs-ec", "01"), ("private", "rsa", "ocs-rsa", "02"),
            ("public", "rsa", "ocs-rsa", "02"), ("secret", "aes", "ocs-aes", "")} <= keys


def test_an_aes_key_made_by_pkcs11_tool_wraps_and_unwraps(store, cli, tmp_path):
    run = cli("wrap", store.share(1), "--out", "o.envelope.json", "--token", "opensc-1", "--key", "ocs-aes",
              *store.pin_args("opensc-1"), env=store.env)
    assert_ok(run)
    assert "proven" in run.stdout and "NOT PROVEN" not in run.stdout
    recipient = json.loads((tmp_path / "o.envelope.json").read_text())["recipient"]
    assert recipient == {"kind": "pkcs11-aes-gcm", "token_label": "opensc-1", "key_label": "ocs-aes", "key_id": None}
    assert unwrap_words(cli, store, tmp_path / "o.envelope.json", "opensc-1") == share_words(store.share(1))


@pytest.mark.parametrize(("label", "extra"), [("ocs-ec", ()), ("ocs-rsa", ("--oaep-hash", "sha1"))])
def test_public_keys_exported_by_pkcs11_tool_seal_envelopes_the_token_opens(store, cli, tmp_path, label, extra):
    der = store.root / f"{label}.der"
    assert der.read_bytes()[:1] == b"\x30"  # DER, as pkcs11-tool writes it
    plain = cli("wrap", store.share(2), "--out", "p.envelope.json", "--recipient-pubkey", der, *extra, env=store.env)
    assert_ok(plain)
    assert "NOT PROVEN" in plain.stdout
    sealed = json.loads((tmp_path / "p.envelope.json").read_text())
    assert sealed["recipient"]["public_key_sha256"] == hashlib.sha256(der.read_bytes()).hexdigest()
    assert unwrap_words(cli, store, tmp_path / "p.envelope.json", "opensc-1") == share_words(store.share(2))

    proven = cli("wrap", store.share(2), "--out", "q.envelope.json", "--recipient-pubkey", der, *extra,
                 "--token", "opensc-1", *store.pin_args("opensc-1"), "--json", env=store.env)
    assert_ok(proven)
    assert proven.json()["opened_with_token"] is True
    assert json.loads((tmp_path / "q.envelope.json").read_text())["recipient"]["key_label"] == label
    assert unwrap_words(cli, store, tmp_path / "q.envelope.json", "opensc-1") == share_words(store.share(2))

    # coldvault's own export of that key is the same key
    exported = cli("token", "pubkey", "--token", "opensc-1", "--label", label, "--out", "mine.pem",
                   *store.pin_args("opensc-1"), "--json", env=store.env)
    assert_ok(exported)
    assert exported.json()["public_key_sha256"] == hashlib.sha256(der.read_bytes()).hexdigest()


def test_key_pairs_of_different_types_sharing_a_cka_id_still_work(softhsm, store, cli, tmp_path):
    init_token(softhsm, "shared-id", "pin-shared-6666")
    (tmp_path / "p.pin").write_text("pin-shared-6666\n")
    pkcs11_tool(softhsm, "shared-id", "--keypairgen", "--key-type", "EC:prime256v1", "--label", "dup-ec", "--id", "07", pin="pin-shared-6666")
    pkcs11_tool(softhsm, "shared-id", "--keypairgen", "--key-type", "rsa:3072", "--label", "dup-rsa", "--id", "07", pin="pin-shared-6666")
    tool(softhsm, "pkcs11-tool", "--module", softhsm["COLDVAULT_PKCS11_MODULE"], "--token-label", "shared-id",
         "--read-object", "--type", "pubkey", "--label", "dup-ec", "-o", tmp_path / "dup-ec.der")
    assert_ok(cli("wrap", store.share(2), "--out", "d.envelope.json", "--recipient-pubkey", "dup-ec.der", env=softhsm))
    run = cli("unwrap", "d.envelope.json", "--token", "shared-id", "--pin-file", "shared-id=p.pin", env=softhsm)
    assert_ok(run)
    assert run.stdout.split() == share_words(store.share(2))
