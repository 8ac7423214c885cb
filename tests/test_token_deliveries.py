"""Real tokens: every delivery proven before the secret exists, keys found by their public key, two PKCS#11 libraries at once.

Through the CLI, on SoftHSM2 2.6.1 and on tpm2-pkcs11 1.9.0 over swtpm (the `tpm` fixture):
what a token cannot do is refused before any secret exists, naming the mechanism, the
plan line and what to use instead, with nothing written; one ceremony signs on SoftHSM2
and seals to custodians on both libraries, and its envelopes are verified and
recovered with `--module` twice; envelopes that name no token open with only a PIN
file; an absent `--token` and a PIN with no terminal are token errors (exit 4).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import run_cli
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from softhsm_kit import Kit, softhsm_module, token_with_key
from test_hostile_strings import on_screen
from tpm_kit import Tpm

pytestmark = [pytest.mark.tpm, pytest.mark.softhsm]

SECRET_HEX = "c0ffee00" * 4
PLAN_HEAD = """format = "coldvault-plan/1"

[ceremony]
name = "Two libraries"
operator = "Olga"
witnesses = ["Wendy"]

[secret]
source = "master-secret"
bits = 128

[slip39]
iteration_exponent = 0
"""


class Room:
    """A SoftHSM2 store and a swtpm side by side, and coldvault run against both (flushing the TPM after each run)."""

    def __init__(self, tpm: Tpm, softhsm: dict[str, str]) -> None:
        self.tpm = tpm
        self.root = tpm.root
        self.softhsm_module = softhsm_module()
        assert self.softhsm_module is not None
        self.soft = Kit(dict(softhsm), {}, {})
        # No COLDVAULT_PKCS11_MODULE: each command says which libraries it uses.
        self.env = {k: v for k, v in {**softhsm, **tpm.env}.items() if k != "COLDVAULT_PKCS11_MODULE"}
        (self.root / "secret.hex").write_text(SECRET_HEX + "\n")

    def soft_token(self, label: str, key_type: str, key_label: str) -> None:
        token_with_key(self.soft, self.root, label, key_type, key_label)

    def pins(self, *labels: str) -> list[str]:
        files = {**self.soft.pins, **self.tpm.pins}
        return [arg for label in labels for arg in ("--pin-file", f"{label}={files[label]}")]

    def modules(self) -> list[str]:
        return ["--module", str(self.softhsm_module), "--module", str(self.tpm.module)]

    def cli(self, *args: str | Path) -> tuple[int, str, str]:
        completed = self.tpm.run([sys.executable, "-m", "vault", *args], cwd=self.root, check=False)
        return completed.returncode, completed.stdout, completed.stderr

    def ok(self, *args: str | Path) -> str:
        code, stdout, stderr = self.cli(*args)
        assert code == 0, stderr
        return stdout

    def pubkey(self, token: str, key: str, out: str, module: Path) -> None:
        self.ok("token", "pubkey", "--token", token, "--key-label", key, "--out", out, "--module", module, *self.pins(token))

    def plan(self, custodians: str, signing: str = "") -> Path:
        path = self.root / "plan.toml"
        path.write_text(PLAN_HEAD + signing + '\n[[group]]\nname = "Keepers"\nthreshold = 2\n' + custodians)
        return path


@pytest.fixture
def room(tpm, softhsm, monkeypatch) -> Room:
    for name, value in {**softhsm, **tpm.env}.items():  # the Tpm's subprocesses take os.environ as their base
        if name != "COLDVAULT_PKCS11_MODULE":
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("COLDVAULT_PKCS11_MODULE", raising=False)
    tpm.env.pop("COLDVAULT_PKCS11_MODULE", None)
    return Room(tpm, softhsm)


def custodian(name: str, delivery: str, **fields: str) -> str:
    lines = [f'\n[[group.custodian]]\nname = "{name}"\ndelivery = "{delivery}"']
    lines += [f'{key} = "{value}"' for key, value in fields.items()]
    return "\n".join(lines) + "\n"


def test_one_ceremony_signs_on_softhsm_seals_to_both_libraries_and_recovers_with_module_twice(room):
    room.soft_token("ceremony", "ec", "sign")
    room.soft_token("soft-a", "ec", "a-ec")
    room.tpm.token("tpm-c")
    room.ok("token", "keygen", "--token", "tpm-c", "--key-label", "c-rsa", "--type", "rsa", "--module", room.tpm.module,
            *room.pins("tpm-c"))
    room.pubkey("soft-a", "a-ec", "a.pem", room.softhsm_module)
    room.pubkey("tpm-c", "c-rsa", "c.pem", room.tpm.module)
    soft, tpm = str(room.softhsm_module), str(room.tpm.module)
    plan = room.plan(
        custodian("Alice", "ecdh-p256", public_key="a.pem", token="soft-a", module=soft)
        + custodian("Carol", "rsa-oaep", public_key="c.pem", token="tpm-c", module=tpm)  # SHA-256: the TPM decrypts it
        + custodian("Dave", "paper"),
        signing=f'\n[signing]\ntoken = "ceremony"\nkey = "sign"\nmodule = "{soft}"\n',
    )
    pins = room.pins("ceremony", "soft-a", "tpm-c")

    rehearsal = json.loads(room.ok("ceremony", "check", plan, *pins, "--json"))
    assert [(c["name"], c["proven"]) for c in rehearsal["custodians"]] == [("Alice", True), ("Carol", True), ("Dave", False)]
    assert rehearsal["unproven"] == [] and rehearsal["signing"]["token"] == "ceremony"
    assert not (room.root / "vault").exists()

    outcome = json.loads(room.ok("ceremony", "run", plan, "--yes", "--out", "vault", "--secret-file", "secret.hex", *pins, "--json"))
    assert outcome["unproven_envelopes"] == [] and outcome["signed"] is True
    envelopes = {name: room.root / "vault" / "custodians" / name / "share.envelope.json" for name in ("alice", "carol")}
    assert json.loads(envelopes["carol"].read_text())["recipient"]["oaep_hash"] == "sha256"

    verified = room.cli("verify", "--manifest", "vault/manifest.json", *envelopes.values(), *room.modules(),
                        *room.pins("soft-a", "tpm-c"))
    assert verified[0] == 0, verified[2]
    room.ok("recover", *envelopes.values(), "--format", "hex", "--out", "recovered.hex", *room.modules(), *room.pins("soft-a", "tpm-c"))
    assert (room.root / "recovered.hex").read_text().split() == [SECRET_HEX]


def test_a_token_without_ecdh_is_refused_before_the_secret_exists_naming_the_mechanism_and_the_plan_line(room):
    room.tpm.token("tpm-c")
    room.tpm.key_pair("tpm-c", "c-ec", "ec", "01")
    room.pubkey("tpm-c", "c-ec", "c.pem", room.tpm.module)
    plan = room.plan(custodian("Carol", "ecdh-p256", public_key="c.pem", token="tpm-c") + custodian("Dave", "paper")
                     + custodian("Erin", "paper"))
    line = plan.read_text().splitlines().index('name = "Carol"')  # the [[group.custodian]] line above it, counted from 1

    for command in (("ceremony", "check", plan), ("ceremony", "run", plan, "--yes", "--out", "vault", "--secret-file", "secret.hex")):
        code, stdout, stderr = room.cli(*command, "--module", room.tpm.module, *room.pins("tpm-c"))
        assert code == 4, stderr
        assert f'plan.toml line {line}: custodian "Carol": token "tpm-c" has no CKM_ECDH1_DERIVE' in stderr
        assert "hint: use rsa-oaep for this custodian" in stderr
        assert "Traceback" not in stderr and "fingerprint" not in stdout + stderr  # no secret was made
        assert not (room.root / "vault").exists()


def test_a_token_without_aes_gcm_is_refused_before_its_keys_are_looked_for(room):
    room.tpm.token("tpm-c")
    plan = room.plan(custodian("Carol", "pkcs11-aes-gcm", token="tpm-c", key="c-aes") + custodian("Dave", "paper")
                     + custodian("Erin", "paper"))
    code, _, stderr = room.cli("ceremony", "run", plan, "--yes", "--out", "vault", "--secret-file", "secret.hex",
                               "--module", room.tpm.module, *room.pins("tpm-c"))
    assert code == 4 and 'token "tpm-c" has no CKM_AES_GCM' in stderr, stderr
    assert "hint: use rsa-oaep for this custodian" in stderr
    assert not (room.root / "vault").exists()


def test_softhsm_rsa_oaep_sha256_is_refused_before_the_secret_with_the_plan_setting_that_works(room):
    room.soft_token("soft-r", "rsa", "r-rsa")
    room.pubkey("soft-r", "r-rsa", "r.pem", room.softhsm_module)
    plan = room.plan(custodian("Rita", "rsa-oaep", public_key="r.pem", token="soft-r") + custodian("Dave", "paper")
                     + custodian("Erin", "paper"))
    run = ("ceremony", "run", plan, "--yes", "--out", "vault", "--secret-file", "secret.hex", "--module", room.softhsm_module,
           *room.pins("soft-r"))

    code, _, stderr = room.cli(*run)
    assert code == 4, stderr
    assert 'custodian "Rita": token "soft-r" decrypts RSA-OAEP with SHA-1 only' in stderr
    assert 'hint: set oaep_hash = "sha1" for this custodian in the plan' in stderr
    assert not (room.root / "vault").exists()

    # Not named in the plan, but here: the rehearsal finds the token by its public key and refuses the same way.
    unnamed = plan.read_text().replace('token = "soft-r"\n', "")
    plan.write_text(unnamed)
    code, _, stderr = room.cli("ceremony", "check", plan, "--module", room.softhsm_module, *room.pins("soft-r"))
    assert code == 4 and '(token "soft-r", found by its key): token "soft-r" decrypts RSA-OAEP with SHA-1 only' in stderr, stderr

    plan.write_text(unnamed.replace('public_key = "r.pem"', 'public_key = "r.pem"\ntoken = "soft-r"\noaep_hash = "sha1"'))
    outcome = json.loads(room.ok(*run, "--json"))
    assert outcome["unproven_envelopes"] == []


def test_envelopes_that_name_no_token_are_found_by_their_public_key_with_only_a_pin_file(room):
    room.soft_token("soft-a", "ec", "a-ec")
    room.soft_token("soft-b", "rsa", "b-rsa")
    room.soft_token("decoy", "ec", "d-ec")
    room.pubkey("soft-a", "a-ec", "a.pem", room.softhsm_module)
    room.pubkey("soft-b", "b-rsa", "b.pem", room.softhsm_module)
    room.ok("split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "vault", "--iteration-exponent", "0")
    for name, pem, extra in (("a", "a.pem", ()), ("b", "b.pem", ("--oaep-hash", "sha1"))):
        room.ok("wrap", f"vault/shares/group1-share{1 if name == 'a' else 2}.txt", "--recipient-pubkey", pem, *extra,
                "--out", f"{name}.envelope.json", "--module", room.softhsm_module)
        assert json.loads((room.root / f"{name}.envelope.json").read_text())["recipient"]["token_label"] is None

    # Only the PIN files of the two tokens that hold the keys: the decoy is never logged in to.
    room.ok("recover", "a.envelope.json", "b.envelope.json", "--format", "hex", "--out", "recovered.hex",
            "--module", room.softhsm_module, *room.pins("soft-a", "soft-b"))
    assert (room.root / "recovered.hex").read_text().split() == [SECRET_HEX]

    # --token is honoured exactly: a token that is not present is exit 4, naming those that are
    code, _, stderr = room.cli("unwrap", "a.envelope.json", "--token", "nobody", "--module", room.softhsm_module, *room.pins("soft-a"))
    assert code == 4 and 'no token labelled "nobody"' in stderr and "tokens present: decoy, soft-a, soft-b" in stderr, stderr
    code, _, stderr = room.cli("unwrap", "a.envelope.json", "--token", "decoy", "--module", room.softhsm_module, *room.pins("decoy"))
    assert code == 4 and "no token here holds the key this envelope is sealed to" in stderr, stderr

    # a key no token present shows: no key (exit 4), in words that echo nothing of the header, the tokens present, no PIN asked
    stranger = ec.generate_private_key(ec.SECP256R1()).public_key()
    (room.root / "stranger.pem").write_bytes(stranger.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    room.ok("wrap", "vault/shares/group1-share3.txt", "--recipient-pubkey", "stranger.pem", "--out", "s.envelope.json",
            "--module", room.softhsm_module)
    code, _, stderr = room.cli("unwrap", "s.envelope.json", "--module", room.softhsm_module)
    assert code == 4 and "s.envelope.json: no token here holds the key this envelope is sealed to" in stderr, stderr
    assert "plug in the token that holds it (tokens present: decoy, soft-a, soft-b)" in stderr and "PIN" not in stderr

    # no PIN file and no terminal: exit 4 at once, naming the flag; never a prompt on a pipe
    code, stdout, stderr = room.cli("unwrap", "a.envelope.json", "--module", room.softhsm_module)
    assert code == 4, stderr
    assert 'token "soft-a" needs its PIN, and there is no terminal to ask for it on' in stderr
    assert "hint: give --pin-file soft-a=PATH" in stderr and "PIN for token" not in stderr and stdout == ""


def test_the_same_label_in_two_libraries_is_refused_and_the_module_settles_it(room):
    room.soft_token("twin", "ec", "soft-ec")
    room.tpm.token("twin")
    code, _, stderr = room.cli("token", "pubkey", "--token", "twin", "--key-label", "soft-ec", "--out", "t.pem", *room.modules(),
                               *room.pins("twin"))
    assert code == 4 and 'token "twin" is present in 2 PKCS#11 modules' in stderr, stderr
    assert "--module" in stderr and not (room.root / "t.pem").exists()
    room.pubkey("twin", "soft-ec", "t.pem", room.softhsm_module)
    listing = json.loads(room.ok("token", "list", *room.modules(), *room.pins("twin"), "--json"))  # both listed, neither guessed
    assert sorted((t["label"], t["module"], t["keys"]) for t in listing["tokens"]) == [
        ("twin", str(room.softhsm_module), None), ("twin", str(room.tpm.module), None)]

    plan = room.plan(custodian("Tess", "ecdh-p256", public_key="t.pem", token="twin") + custodian("Dave", "paper")
                     + custodian("Erin", "paper"))
    code, _, stderr = room.cli("ceremony", "check", plan, *room.modules(), "--pin-file", f"twin={room.soft.pins['twin']}")
    assert code == 4 and "module = PATH" in stderr, stderr
    plan.write_text(plan.read_text().replace('token = "twin"', f'token = "twin"\nmodule = "{room.softhsm_module}"'))
    room.ok("ceremony", "check", plan, *room.modules(), "--pin-file", f"twin={room.soft.pins['twin']}")


def test_token_list_across_two_libraries_shows_what_each_key_is_proven_to_open(room):
    room.soft_token("soft-r", "rsa", "r-rsa")
    room.soft_token("soft-r", "aes", "r-aes")
    room.tpm.token("tpm-c")
    room.tpm.key_pair("tpm-c", "c-rsa", "rsa", "02")
    room.tpm.key_pair("tpm-c", "c-ec", "ec", "01")
    listing = json.loads(room.ok("token", "list", *room.modules(), *room.pins("soft-r", "tpm-c"), "--json"))

    assert listing["modules"] == [str(room.softhsm_module), str(room.tpm.module)]
    tokens = {t["label"]: t for t in listing["tokens"]}
    assert tokens["soft-r"]["module"] == str(room.softhsm_module) and tokens["tpm-c"]["module"] == str(room.tpm.module)
    assert tokens["soft-r"]["deliveries"] == ["pkcs11-aes-gcm", "ecdh-p256", "rsa-oaep"]
    assert tokens["tpm-c"]["deliveries"] == ["rsa-oaep"]

    def opens(token: str) -> dict[str, list[tuple[str, str | None]]]:
        return {k["label"]: [(d["kind"], d["oaep_hash"]) for d in k["deliveries"]]
                for k in tokens[token]["keys"] if k["object_class"] != "public"}

    assert opens("soft-r") == {"r-rsa": [("rsa-oaep", "sha1")], "r-aes": [("pkcs11-aes-gcm", None)]}
    assert opens("tpm-c") == {"c-rsa": [("rsa-oaep", "sha256"), ("rsa-oaep", "sha1")], "c-ec": []}
    publics = {k["label"]: k["public_key_sha256"] for k in tokens["tpm-c"]["keys"] if k["object_class"] == "public"}
    room.pubkey("tpm-c", "c-rsa", "c.pem", room.tpm.module)
    shown = room.ok("token", "pubkey", "--token", "tpm-c", "--key-label", "c-rsa", "--out", "c2.pem", "--module", room.tpm.module,
                    *room.pins("tpm-c"), "--json")
    assert json.loads(shown)["public_key_sha256"] == publics["c-rsa"]



def test_each_custodian_readme_command_works_as_written_for_every_delivery(tmp_path, softhsm):
    """The README's `verify` line, run in the custodian's folder on a terminal: the PIN from the file it names, or typed."""
    kit = Kit(dict(softhsm), {}, {})
    for label, key_type, key in (("soft-a", "ec", "a-ec"), ("soft-b", "aes", "b-aes"), ("soft-c", "rsa", "c-rsa")):
        token_with_key(kit, tmp_path, label, key_type, key)
    for label, key, pem in (("soft-a", "a-ec", "a.pem"), ("soft-c", "c-rsa", "c.pem")):
        assert run_cli(tmp_path, "token", "pubkey", "--token", label, "--key-label", key, "--out", pem,
                       "--pin-file", f"{label}={kit.pins[label]}", env=softhsm).returncode == 0
    (tmp_path / "secret.hex").write_text(SECRET_HEX + "\n")
    (tmp_path / "plan.toml").write_text(
        PLAN_HEAD + '\n[[group]]\nname = "Keepers"\nthreshold = 2\n'
        + custodian("Alice", "ecdh-p256", public_key="a.pem")  # her token is not named: found by its key
        + custodian("Bob", "pkcs11-aes-gcm", token="soft-b", key="b-aes")
        + custodian("Carol", "rsa-oaep", public_key="c.pem", token="soft-c", oaep_hash="sha1")
        + custodian("Dave", "paper")
    )
    pins = [arg for label in ("soft-b", "soft-c") for arg in ("--pin-file", f"{label}={kit.pins[label]}")]
    # The rehearsal also proves Alice's envelope: her token is here, found by its public key, though the plan does not name it.
    rehearsal = run_cli(tmp_path, "ceremony", "check", "plan.toml", *pins, "--pin-file", f"soft-a={kit.pins['soft-a']}", "--json",
                        env=softhsm)
    assert rehearsal.returncode == 0, rehearsal.stderr
    alice = rehearsal.json()["custodians"][0]
    assert (alice["name"], alice["token"], alice["token_named_in_plan"], alice["proven"]) == ("Alice", "soft-a", False, True)
    made = run_cli(tmp_path, "ceremony", "run", "plan.toml", "--yes", "--out", "vault", "--secret-file", "secret.hex", *pins, "--json",
                   env=softhsm)
    assert made.returncode == 0, made.stderr
    assert made.json()["unproven_envelopes"] == ["Alice"]

    tokens = {"alice": "soft-a", "bob": "soft-b", "carol": "soft-c"}
    for folder in ("alice", "bob", "carol", "dave"):
        packet = tmp_path / "vault" / "custodians" / folder
        readme = (packet / "README.md").read_text()
        (command,) = [line.strip() for line in readme.splitlines() if line.strip().startswith("coldvault verify ")]
        args = command.replace("YOUR-PIN-FILE", str(kit.pins.get(tokens.get(folder, ""), ""))).split()[1:]
        typed = kit.pins[tokens[folder]].read_text() if folder == "alice" else ""
        code, screen = on_screen(packet, *args, env=softhsm, typed=typed, after=b"(not shown): ")
        name = folder.capitalize()
        assert code == 0, screen.decode(errors="replace")
        assert f"({name}) {args[3]}: ok: listed in the manifest".encode() in screen, screen
        assert (b'PIN for token "soft-a"' in screen) == (folder == "alice")
