"""Anchored manifests: every command that trusts a manifest checks it against the transcript beside it.

Through the real CLI, both ways for each command (verify, drill run/status/report,
extend, rotate, recover --manifest, card, wrap): a manifest that matches its transcript
is used, and the command says which anchor it used; one edited after the fact
(drill_interval_days 180 -> 3000, as an attacker who wants `drill status` to stay
green would) is refused with exit 1 naming the file, and nothing is written; with no
transcript, the read-only commands warn and go on, `extend` and `rotate` refuse unless
told `--trust-manifest`. `--key` pins the signing key the witnesses wrote down: right
and wrong, on signed and unsigned transcripts, and on a custodian's packet copy. The
signed vault is a real scripted ceremony on SoftHSM2 tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import softhsm_kit  # scripts/, on the path through conftest
from conftest import Run, run_cli, softhsm_module
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from test_transcript import der, sign, software_key

from vault.core import anchor as anchors
from vault.core.attestation import key_sha256
from vault.core.fingerprint import aloud
from vault.core.formats import transcript as tr
from vault.core.formats import transcript_reader
from vault.core.formats import transcript_signature
from vault.errors import CheckFailed

SECRET_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
EDIT = ('"drill_interval_days": 180', '"drill_interval_days": 3000')
NO_TRANSCRIPT = "warning: no transcript.jsonl beside v/manifest.json: nothing anchors it; anyone could have edited it"
OTHER_KEY = "ab" * 32


# --------------------------------------------------------------------------- an unsigned vault, made by `split`


def split_vault(work: Path) -> Path:
    """work/v: a 2-of-3 split (no passphrase), and the rotation plan and public key the commands below need."""
    (work / "secret.hex").write_text(SECRET_HEX + "\n")
    made = run_cli(work, "split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "v", "--iteration-exponent", "0")
    assert made.returncode == 0, made.stderr
    assert run_cli(work, "ceremony", "init", "plan.toml").returncode == 0
    plan = (work / "plan.toml").read_text()
    plan = plan.replace('source = "generate"', 'source = "master-secret"').replace("bits = 256", "bits = 128")
    (work / "plan.toml").write_text(plan.replace("iteration_exponent = 1", "iteration_exponent = 0"))
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    (work / "custodian.pem").write_bytes(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return work / "v"


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    split_vault(tmp_path)
    return tmp_path


SHARE_1, SHARE_2 = "v/shares/group1-share1.txt", "v/shares/group1-share2.txt"


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    writes: str | None
    """What the command writes (relative to the work directory), if anything: never written on a refusal."""
    builds_on_manifest: bool = False
    """`extend` and `rotate`: without a transcript they refuse, unless --trust-manifest."""


COMMANDS = {
    "verify": Command(("verify", "--manifest", "v/manifest.json", SHARE_1), None),
    "drill status": Command(("drill", "status", "--manifest", "v/manifest.json"), None),
    "drill report": Command(("drill", "report", "--manifest", "v/manifest.json", "--out", "report.html"), "report.html"),
    "drill run": Command(("drill", "run", "--manifest", "v/manifest.json", "--partial", SHARE_1), "v/drills.jsonl"),
    "recover": Command(("recover", "--manifest", "v/manifest.json", SHARE_1, SHARE_2), None),
    "card": Command(("card", SHARE_1, "--manifest", "v/manifest.json", "--out", "card.pdf"), "card.pdf"),
    "wrap": Command(("wrap", SHARE_1, "--manifest", "v/manifest.json", "--recipient-pubkey", "custodian.pem", "--out", "s.envelope.json"),
                    "s.envelope.json"),
    "extend": Command(("extend", "--manifest", "v/manifest.json", "--group", "1", SHARE_1, SHARE_2, "--custodian", "Dora", "--out", "v2"),
                      "v2", builds_on_manifest=True),
    "rotate": Command(("rotate", "--manifest", "v/manifest.json", SHARE_1, SHARE_2, "--plan", "plan.toml", "--out", "new", "--yes"),
                      "new", builds_on_manifest=True),
}
READ_ONLY = [name for name, command in COMMANDS.items() if not command.builds_on_manifest]


def edit_manifest(path: Path) -> None:
    text = path.read_text()
    assert EDIT[0] in text
    path.write_text(text.replace(*EDIT))


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_manifest_that_matches_its_transcript_is_used_and_the_anchor_is_named(vault: Path, name: str) -> None:
    command = COMMANDS[name]
    result = run_cli(vault, *command.args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "anchor: v/manifest.json is the one recorded at v/transcript.jsonl line 4, sealed by the vault's keys; vault key SHA-256 " \
        in result.stderr
    assert "warning" not in result.stderr
    if command.writes:
        assert (vault / command.writes).exists()


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_manifest_edited_after_its_transcript_is_refused_naming_the_file(vault: Path, name: str) -> None:
    edit_manifest(vault / "v/manifest.json")
    command = COMMANDS[name]
    result = run_cli(vault, *command.args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith(
        "error: v/manifest.json does not match v/transcript.jsonl line 4 (ceremony-completed): its SHA-256 is "
    ), result.stderr
    assert "the manifest was changed, or it is another ceremony's" in result.stderr
    assert result.stdout == ""
    if command.writes:
        assert not (vault / command.writes).exists(), "nothing is written from a manifest that is not the vault's"


def test_drill_status_json_carries_the_anchor(vault: Path) -> None:
    result = run_cli(vault, "drill", "status", "--manifest", "v/manifest.json", "--json")
    assert result.returncode == 0, result.stderr
    anchor = result.json()["anchor"]
    head = tr.head(tr.Chain(transcript_reader.parse((vault / "v/transcript.jsonl").read_text())))
    vault_key = json.loads((vault / "v/manifest.json").read_text())["attestation"]["vault_public_key"]
    assert anchor == {
        "kind": "sealed-transcript", "transcript": "v/transcript.jsonl", "head": head, "head_seq": 4, "manifest_seq": 3,
        "signed_seq": None, "signer_public_key_sha256": None, "key_matches": None, "trusted": False,
        "vault_key_sha256": key_sha256(vault_key), "sealed_seq": 4, "vault_key_matches": None,
    }
    assert result.stderr == "", "with --json the payload says it"


@pytest.mark.parametrize("name", READ_ONLY)
def test_without_a_transcript_the_read_only_commands_warn_and_go_on(vault: Path, name: str) -> None:
    (vault / "v/transcript.jsonl").unlink()
    result = run_cli(vault, *COMMANDS[name].args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert NO_TRANSCRIPT in result.stderr


def test_without_a_transcript_the_warning_is_printed_with_json_too(vault: Path) -> None:
    (vault / "v/transcript.jsonl").unlink()
    result = run_cli(vault, *COMMANDS["drill status"].args, "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == NO_TRANSCRIPT + "\n"
    assert result.json()["anchor"]["kind"] == "none" and result.json()["anchor"]["trusted"] is False


@pytest.mark.parametrize("name", ["extend", "rotate"])
def test_without_a_transcript_extend_and_rotate_refuse_unless_told_to_trust_the_manifest(vault: Path, name: str) -> None:
    (vault / "v/transcript.jsonl").unlink()
    command = COMMANDS[name]
    refused = run_cli(vault, *command.args)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert refused.stderr.startswith(
        "error: no transcript.jsonl beside v/manifest.json: nothing anchors this manifest, and anyone could have edited it"
    ), refused.stderr
    assert "--trust-manifest" in refused.stderr
    assert not (vault / command.writes).exists()  # type: ignore[operator]
    trusted = run_cli(vault, *command.args, "--trust-manifest")
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert "warning: no transcript.jsonl beside v/manifest.json: trusted only because --trust-manifest says so" in trusted.stderr


def test_trust_manifest_does_not_excuse_a_manifest_that_its_transcript_contradicts(vault: Path) -> None:
    edit_manifest(vault / "v/manifest.json")
    result = run_cli(vault, *COMMANDS["extend"].args, "--trust-manifest")
    assert result.returncode == 1 and "v/manifest.json does not match v/transcript.jsonl" in result.stderr
    assert not (vault / "v2").exists()


def test_a_broken_chain_beside_the_manifest_is_refused_naming_the_line(vault: Path) -> None:
    lines = (vault / "v/transcript.jsonl").read_text().splitlines(keepends=True)
    (vault / "v/transcript.jsonl").write_text("".join([lines[0], *lines[2:]]))
    result = run_cli(vault, "drill", "status", "--manifest", "v/manifest.json")
    assert result.returncode == 1
    assert result.stderr.startswith("error: v/transcript.jsonl line 2: prev is not line 1's hash"), result.stderr


def test_an_extension_continues_the_splits_transcript_and_anchors_the_revision(vault: Path) -> None:
    assert run_cli(vault, *COMMANDS["extend"].args).returncode == 0
    result = run_cli(vault, "drill", "status", "--manifest", "v2/manifest.json")
    assert result.returncode == 0, result.stderr
    assert "anchor: v2/manifest.json is the one recorded at v2/transcript.jsonl line 6, sealed by the vault's keys" in result.stderr
    # The new custodian's packet holds the transcript too, so their manifest copy is anchored.
    packet = run_cli(vault, "verify", "--manifest", "v2/custodians/dora/manifest.json", "v2/custodians/dora/share.txt")
    assert packet.returncode == 0, packet.stderr
    assert "anchor: v2/custodians/dora/manifest.json is the one recorded at v2/custodians/dora/transcript.jsonl line 6" in packet.stderr


@pytest.mark.parametrize("typed", ["abc", "g" * 64, "a" * 63, "a" * 65])
def test_a_malformed_key_is_invalid_input(vault: Path, typed: str) -> None:
    for args in (("drill", "status", "--manifest", "v/manifest.json"), ("transcript", "verify", "v")):
        result = run_cli(vault, *args, "--key", typed)
        assert result.returncode == 3, result.stderr
        assert "error: --key (the signing key's SHA-256) should be 64 hex digits" in result.stderr


def test_a_key_with_an_unsigned_transcript_fails_the_check(vault: Path) -> None:
    for args in (COMMANDS["verify"].args, ("transcript", "verify", "v")):
        result = run_cli(vault, *args, "--key", OTHER_KEY)
        assert result.returncode == 1, result.stderr
        assert f"v/transcript.jsonl is not signed (its first line declares no signing key), but --key {OTHER_KEY} was given" in result.stderr
    result = run_cli(vault, *COMMANDS["extend"].args, "--transcript-key", OTHER_KEY)
    assert result.returncode == 1 and "is not signed" in result.stderr and not (vault / "v2").exists()


def test_a_key_without_a_transcript_fails_the_check(vault: Path) -> None:
    (vault / "v/transcript.jsonl").unlink()
    result = run_cli(vault, *COMMANDS["drill status"].args, "--key", OTHER_KEY)
    assert result.returncode == 1
    assert f"no transcript.jsonl beside v/manifest.json, but --key {OTHER_KEY} was given" in result.stderr


def test_split_writes_a_transcript_sealed_by_the_vault_key_that_binds_its_manifest(vault: Path) -> None:
    events = [json.loads(line) for line in (vault / "v/transcript.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["ceremony-started", "secret-ready", "shares-made", "ceremony-completed", "sealed"]
    assert events[0]["data"]["signing"] is None and events[0]["data"]["plan_sha256"] is None
    manifest = (vault / "v/manifest.json").read_bytes()
    assert events[3]["data"]["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    listed = json.loads(manifest)["attestation"]
    assert events[3]["data"]["vault_key"]["public_key"] == listed["vault_public_key"]
    assert events[3]["data"]["vault_key"]["group_public_keys"] == listed["group_public_keys"]
    assert events[4]["data"]["signer"] == "vault" and events[4]["data"]["signed_hash"] == events[3]["hash"]
    assert [s["share_fingerprint"] for s in events[2]["data"]["shares"]] == [
        s["share_fingerprint"] for s in json.loads(manifest)["shares"]
    ]
    text = (vault / "v/transcript.jsonl").read_text()
    assert SECRET_HEX not in text and "shares/" not in text, "no secret, and no secret file, in a public record"
    assert run_cli(vault, "transcript", "verify", "v").returncode == 0


# --------------------------------------------------------------------------- a signed vault: a ceremony on SoftHSM2


@dataclass
class Signed:
    work: Path
    kit: softhsm_kit.Kit
    run: Run
    key: str
    """The signing key's SHA-256, computed here from the public key in the signature file."""

    def cli(self, *args: str) -> Run:
        return run_cli(self.work, *args, env=self.kit.env)


def _need_softhsm() -> None:
    if softhsm_module() is None or shutil.which("softhsm2-util") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("SoftHSM2 is not installed")
        pytest.skip("SoftHSM2 is not installed")


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> Signed:
    """The template plan (Alice, Bob, Carol on paper) with [signing] on a ceremony token, run scripted."""
    _need_softhsm()
    work = tmp_path_factory.mktemp("signed")
    assert run_cli(work, "ceremony", "init", "plan.toml").returncode == 0
    plan = (work / "plan.toml").read_text()
    plan = plan.replace('# [signing]\n# token = "ceremony"\n# key = "transcript"', '[signing]\ntoken = "ceremony"\nkey = "transcript"')
    (work / "plan.toml").write_text(plan.replace("iteration_exponent = 1", "iteration_exponent = 0"))
    kit = softhsm_kit.provision(work / "plan.toml", work)
    done = run_cli(work, "ceremony", "run", "plan.toml", "--out", "vault", "--yes", *kit.pin_args(), env=kit.env)
    assert done.returncode == 0, done.stderr
    public_key = base64.b64decode(json.loads((work / "vault/transcript.sig.json").read_text())["public_key"])
    return Signed(work, kit, done, hashlib.sha256(public_key).hexdigest())


@pytest.fixture
def copy(signed: Signed, tmp_path: Path) -> Signed:
    """A copy of the signed ceremony's directory, to tamper with."""
    shutil.copytree(signed.work / "vault", tmp_path / "vault", symlinks=True)
    return Signed(tmp_path, signed.kit, signed.run, signed.key)


ALICE = "vault/custodians/alice"


def test_the_ceremony_prints_the_signing_key_and_every_record_of_it_agrees(signed: Signed) -> None:
    lines = signed.run.stdout.splitlines()
    assert lines[lines.index("SIGNING KEY SHA-256 (witnesses: write it on the runbook by hand; custodians pin it with --key):") + 1] \
        == f"  {signed.key}"
    runbook = (signed.work / "vault/runbook.md").read_text()
    assert f"    {signed.key}\n\nWritten by hand by each witness" in runbook
    for name in ("alice", "bob", "carol"):
        readme = (signed.work / f"vault/custodians/{name}/README.md").read_text()
        assert f"- The ceremony's signing key (SHA-256): `{signed.key}`" in readme
        vault_key = json.loads((signed.work / "vault/manifest.json").read_text())["attestation"]["vault_public_key"]
        assert f"coldvault verify --manifest manifest.json share.txt --vault-key {key_sha256(vault_key)} --key {signed.key}" in readme
        assert f"- The vault key (SHA-256), the vault's identity: `{aloud(key_sha256(vault_key))}`" in readme
        assert "compare the keys above with the ones on your card or the ceremony's runbook" in readme


def test_the_card_carries_the_signing_key(signed: Signed) -> None:
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext is not installed")
        pytest.skip("pdftotext is not installed")
    text = subprocess.run(["pdftotext", "-layout", str(signed.work / ALICE / "card.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert aloud(signed.key[:32]) in text and aloud(signed.key[32:]) in text
    vault_key = key_sha256(json.loads((signed.work / "vault/manifest.json").read_text())["attestation"]["vault_public_key"])
    assert aloud(vault_key[:32]) in text and aloud(vault_key[32:]) in text, "the vault key, in the groups read aloud"
    carded = signed.cli("card", f"{ALICE}/share.txt", "--manifest", "vault/manifest.json", "--out", "alice-card.pdf", "--key", signed.key)
    assert carded.returncode == 0, carded.stderr
    again = subprocess.run(["pdftotext", "-layout", str(signed.work / "alice-card.pdf"), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert aloud(signed.key[:32]) in again and aloud(signed.key[32:]) in again


def test_the_right_key_anchors_the_manifest_in_either_case(signed: Signed) -> None:
    for typed in (signed.key, signed.key.upper(), f"  {signed.key} "):
        result = signed.cli("verify", "--manifest", "vault/manifest.json", f"{ALICE}/share.txt", "--key", typed)
        assert result.returncode == 0, result.stderr
        assert result.stderr.startswith("anchor: vault/manifest.json is the one recorded at vault/transcript.jsonl line ")
        assert f"signed by key SHA-256 {signed.key} (the key given with --key)" in result.stderr
    status = signed.cli("drill", "status", "--manifest", "vault/manifest.json", "--key", signed.key, "--json")
    assert status.returncode == 0, status.stderr
    anchor = status.json()["anchor"]
    assert anchor["kind"] == "signed-transcript" and anchor["key_matches"] is True
    assert anchor["signer_public_key_sha256"] == signed.key and anchor["signed_seq"] == anchor["head_seq"] == anchor["sealed_seq"]
    assert anchor["manifest_seq"] == anchor["head_seq"] - 1, "the token signs the vault key's seal over the manifest's line"


def test_without_a_key_a_signed_anchor_is_named_with_its_key(signed: Signed) -> None:
    result = signed.cli("drill", "status", "--manifest", "vault/manifest.json")
    assert result.returncode == 0, result.stderr
    assert f"signed by key SHA-256 {signed.key}; vault key SHA-256 " in result.stderr


@pytest.mark.parametrize("args", [
    ("verify", "--manifest", "vault/manifest.json", f"{ALICE}/share.txt"),
    ("drill", "status", "--manifest", "vault/manifest.json"),
    ("recover", "--manifest", "vault/manifest.json", f"{ALICE}/share.txt", "vault/custodians/bob/share.txt"),
    ("transcript", "verify", "vault"),
], ids=["verify", "drill-status", "recover", "transcript-verify"])
def test_a_wrong_key_fails_naming_both_keys(signed: Signed, args: tuple[str, ...]) -> None:
    result = signed.cli(*args, "--key", OTHER_KEY)
    assert result.returncode == 1, result.stderr
    assert f"error: vault/transcript.sig.json is signed by key SHA-256 {signed.key}, not by the key given with --key ({OTHER_KEY})" \
        in result.stderr


def test_transcript_verify_with_the_right_key(signed: Signed) -> None:
    result = signed.cli("transcript", "verify", "vault", "--key", signed.key)
    assert result.returncode == 0, result.stderr
    assert f"--key: the signature is by the key given ({signed.key})" in result.stdout
    assert signed.cli("transcript", "verify", "vault", "--key", signed.key, "--json").json()["key_matches"] is True


def test_with_a_signed_transcript_beside_it_an_edited_manifest_is_refused(copy: Signed) -> None:
    """The issue's case: drill_interval_days raised so that `drill status` would stay RECOVERABLE for years."""
    edit_manifest(copy.work / "vault/manifest.json")
    result = copy.cli("drill", "status", "--manifest", "vault/manifest.json", "--as-of", "2030-01-01")
    assert result.returncode == 1
    assert result.stderr.startswith("error: vault/manifest.json does not match vault/transcript.jsonl line ")
    assert "RECOVERABLE" not in result.stdout


def test_a_custodians_packet_copy_is_anchored_by_the_packets_transcript(copy: Signed) -> None:
    verify = ("verify", "--manifest", f"{ALICE}/manifest.json", f"{ALICE}/share.txt")
    result = copy.cli(*verify, "--key", copy.key)
    assert result.returncode == 0, result.stderr
    assert f"anchor: {ALICE}/manifest.json is the one recorded at {ALICE}/transcript.jsonl line " in result.stderr
    assert f"signed by key SHA-256 {copy.key} (the key given with --key)" in result.stderr
    edit_manifest(copy.work / ALICE / "manifest.json")
    refused = copy.cli(*verify)
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"error: {ALICE}/manifest.json does not match {ALICE}/transcript.jsonl line ")
    # A custodian who forges their copy cannot make `extend` build on it.
    extend = copy.cli("extend", "--manifest", f"{ALICE}/manifest.json", "--group", "1", f"{ALICE}/share.txt",
                      "vault/custodians/bob/share.txt", "--custodian", "Mallory", "--out", "v2")
    assert extend.returncode == 1 and not (copy.work / "v2").exists()


def test_a_transcript_re_signed_by_another_key_is_caught_by_the_key_written_down(copy: Signed) -> None:
    """Whoever can rewrite the public files can rewrite the manifest, the transcript and a signature by a key of their
    own; the chain and the signature then hold, and only the key written down (or the head) tells."""
    intruder = software_key("intruder")
    intruder_sha256 = hashlib.sha256(der(intruder)).hexdigest()
    edit_manifest(copy.work / "vault/manifest.json")
    events = transcript_reader.parse((copy.work / "vault/transcript.jsonl").read_text())
    chain = tr.start()
    for event in events:
        data = dict(event.data)
        if event.seq == 0:
            data["signing"] = transcript_signature.signing_data(transcript_signature.Signer(intruder_sha256, "ceremony", "transcript"))
        if "manifest_sha256" in data:
            data["manifest_sha256"] = hashlib.sha256((copy.work / "vault/manifest.json").read_bytes()).hexdigest()
        chain = tr.append(chain, event.event, data, datetime.strptime(event.time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc))
    (copy.work / "vault/transcript.jsonl").write_text(tr.to_text(chain))
    (copy.work / "vault/transcript.sig.json").write_text(transcript_signature.signature_to_json(sign(intruder, chain.events[-1])))
    resealed = copy.cli("drill", "status", "--manifest", "vault/manifest.json")
    assert resealed.returncode == 1, "the vault key's seal no longer verifies: only the holders of the secret can seal"
    assert "the seal does not sign the line before it" in resealed.stderr, resealed.stderr
    caught = copy.cli("drill", "status", "--manifest", "vault/manifest.json", "--key", copy.key)
    assert caught.returncode == 1
    assert f"is signed by key SHA-256 {intruder_sha256}, not by the key given with --key ({copy.key})" in caught.stderr


def test_an_extension_is_sealed_by_its_group_and_every_pin_holds_on_it(copy: Signed) -> None:
    extended = copy.cli("extend", "--manifest", "vault/manifest.json", "--group", "1", f"{ALICE}/share.txt",
                        "vault/custodians/bob/share.txt", "--custodian", "Dora", "--out", "v2", "--transcript-key", copy.key)
    assert extended.returncode == 0, extended.stderr
    assert f"signed by key SHA-256 {copy.key} (the key given with --key)" in extended.stderr
    status = copy.cli("drill", "status", "--manifest", "v2/manifest.json")
    assert status.returncode == 0, status.stderr
    assert "v2/manifest.json is the one recorded at v2/transcript.jsonl line " in status.stderr
    assert f"sealed by the vault's keys, in a history signed by key SHA-256 {copy.key}" in status.stderr
    vault_key = json.loads(copy.cli("transcript", "verify", "vault", "--json").stdout)["vault_key_sha256"]
    pinned = copy.cli("drill", "status", "--manifest", "v2/manifest.json", "--key", copy.key, "--vault-key", vault_key.upper())
    assert pinned.returncode == 0, pinned.stderr
    assert "(the key given with --vault-key)" in pinned.stderr
    readme = (copy.work / "v2/custodians/dora/README.md").read_text()
    assert f"--vault-key {vault_key}" in readme


# --------------------------------------------------------------------------- transcript verify: recorded files, drill log signers


def test_transcript_verify_checks_the_public_files_it_records(copy: Signed) -> None:
    result = copy.cli("transcript", "verify", "vault", "--json")
    assert result.returncode == 0, result.stderr
    checked = {f["path"] for f in result.json()["files"]["checked"]}
    assert {f"custodians/{n}/README.md" for n in ("alice", "bob", "carol")} <= checked
    assert "custodians/alice/manifest.json" in checked and "runbook.md" not in checked
    (copy.work / "vault/custodians/bob/README.md").unlink()
    missing = copy.cli("transcript", "verify", "vault")
    assert missing.returncode == 0, missing.stderr
    assert "not here (not checked)" in missing.stdout and "    not here: custodians/bob/README.md" in missing.stdout
    readme = copy.work / "vault/custodians/alice/README.md"
    readme.write_text(readme.read_text().replace(copy.key, OTHER_KEY))
    changed = copy.cli("transcript", "verify", "vault")
    assert changed.returncode == 1
    assert changed.stderr.startswith("error: vault/custodians/alice/README.md: its SHA-256 is ")
    assert "but vault/transcript.jsonl line " in changed.stderr and "the file was changed after it was recorded" in changed.stderr


def forged_drill_log(directory: Path, key: ec.EllipticCurvePrivateKey, labels: tuple[str, str]) -> None:
    """A drill log that declares `key` and is signed by it, with the labels of the ceremony's token in its signature file."""
    signer = transcript_signature.Signer(hashlib.sha256(der(key)).hexdigest(), *labels)
    chain = tr.append(tr.start(), "drill-log-started", {"signing": transcript_signature.signing_data(signer)}, datetime(2027, 1, 1, tzinfo=timezone.utc))
    (directory / "drills.jsonl").write_text(tr.to_text(chain))
    signature = sign(key, chain.events[-1])
    document = json.loads(transcript_signature.signature_to_json(signature))
    document["token_label"], document["key_label"] = labels
    (directory / "drills.sig.json").write_text(json.dumps(document, indent=2))


def test_a_drill_log_signed_by_another_key_is_refused(copy: Signed) -> None:
    """A signature file beside the drill log needs a first line declaring its key, and a drill log holds `drill`
    records only (docs/drills.md): the declaring line is named, whoever signed it."""
    intruder = software_key("fresh key")
    forged_drill_log(copy.work / "vault", intruder, ("ceremony", "transcript"))
    result = copy.cli("transcript", "verify", "vault")
    assert result.returncode == 1
    assert ("error: the drill log was tampered with: vault/drills.jsonl line 1: a 'drill-log-started' event: "
            "a drill log holds 'drill' records only") in result.stderr
    assert copy.cli("transcript", "verify", "vault", "--json").json()["ok"] is False


def test_the_vaults_own_drill_log_signed_by_a_fresh_key_is_refused(copy: Signed) -> None:
    """Its first line (a drill record) declares no signing key, so a signature beside it proves nothing: refused, not warned."""
    drilled = copy.cli("drill", "run", "--manifest", "vault/manifest.json", "--partial", f"{ALICE}/share.txt")
    assert drilled.returncode == 0, drilled.stderr
    events = transcript_reader.parse((copy.work / "vault/drills.jsonl").read_text())
    (copy.work / "vault/drills.sig.json").write_text(transcript_signature.signature_to_json(sign(software_key("fresh key"), events[-1])))
    result = copy.cli("transcript", "verify", "vault")
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("error: vault/drills.sig.json is present, but vault/drills.jsonl does not declare a signing key "
                                    "(line 1 has no data.signing): a signature by an undeclared key proves nothing")
    assert "OK" not in result.stdout


def test_a_signed_drill_log_beside_an_unsigned_transcript_is_refused(vault: Path) -> None:
    forged_drill_log(vault / "v", software_key("fresh key"), ("ceremony", "transcript"))
    result = run_cli(vault, "transcript", "verify", "v")
    assert result.returncode == 1
    assert "v/drills.jsonl line 1: a 'drill-log-started' event" in result.stderr


# --------------------------------------------------------------------------- the core's reading of recorded files


def _chain(*records: tuple[str, dict]) -> tuple[tr.Event, ...]:
    chain = tr.start()
    for event, data in records:
        chain = tr.append(chain, event, data, datetime(2026, 1, 1, tzinfo=timezone.utc))
    return chain.events


def test_recorded_files_last_record_counts_and_the_manifest_is_left_to_its_binding() -> None:
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    events = _chain(
        ("packet-made", {"file": "custodians/x/share.envelope.json", "envelope_sha256": a}),
        ("ceremony-completed", {"manifest_sha256": c, "public_files": {"manifest.json": c, "custodians/x/README.md": b}}),
        ("extend", {"shares": [{"file": "custodians/y/share.envelope.json", "envelope_sha256": b}, {"file": "custodians/z/share.txt"}]}),
        ("packet-made", {"file": "custodians/x/share.envelope.json", "envelope_sha256": c}),
    )
    found = {r.path: (r.sha256, r.seq) for r in anchors.recorded_files(events)}
    assert found == {
        "custodians/x/README.md": (b, 1),
        "custodians/x/share.envelope.json": (c, 3),
        "custodians/y/share.envelope.json": (b, 2),
    }


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside", "a/../../b", "a//b", "./a", "", "a\\b", 7])
def test_a_recorded_path_outside_the_directory_is_refused(path: object) -> None:
    events = _chain(("ceremony-completed", {"public_files": {"ok.md": "a" * 64}}), ("packet-made", {"file": path, "envelope_sha256": "a" * 64}))
    with pytest.raises(CheckFailed, match="line 2 records a file .* not a relative path inside"):
        anchors.recorded_files(events)


def test_a_recorded_hash_that_is_not_hex_is_refused() -> None:
    with pytest.raises(CheckFailed, match="line 1: data.public_files records ok.md's SHA-256 as 'nope'"):
        anchors.recorded_files(_chain(("ceremony-completed", {"public_files": {"ok.md": "nope"}})))

