"""One verifiable history (docs/history.md): the vault key as identity, sealed revisions, successors.

Every case goes through the real CLI on vaults made by `split` (iteration exponent 0,
so they are fast), as an attacker with write access to the public files would try them:
append a line, edit a manifest, forge a share, extend a revision twice.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from conftest import Run, run_cli

from vault.core.attestation import key_sha256, share_key
from vault.core.fingerprint import aloud
from vault.core.formats import transcript as tr
from vault.core.formats import transcript_reader
from vault.core.slip39.reference import reference_share
from vault.core.slip39.share import Share, parse_share

SECRET_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def split(work: Path, out: str = "v") -> Path:
    (work / "secret.hex").write_text(SECRET_HEX + "\n")
    made = run_cli(work, "split", "--secret-file", "secret.hex", "--group-threshold", "1", "--group", "2of3",
                   "--out", out, "--iteration-exponent", "0")
    assert made.returncode == 0, made.stderr
    return work / out


def extend(work: Path, manifest: str, out: str, name: str, *extra: str, shares: tuple[str, ...] = ("v/shares/group1-share1.txt",
           "v/shares/group1-share2.txt")) -> Run:
    return run_cli(work, "extend", "--manifest", manifest, "--group", "1", *shares, "--custodian", name, "--out", out, *extra)


def vault_key(vault: Path) -> str:
    return key_sha256(json.loads((vault / "manifest.json").read_text())["attestation"]["vault_public_key"])


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_refused(result: Run, code: int, *says: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for words in says:
        assert words in result.stderr, result.stderr


# ---------------------------------------------------------------- the vault key


def test_split_prints_the_vault_key_that_seals_its_history(tmp_path: Path) -> None:
    (tmp_path / "secret.hex").write_text(SECRET_HEX + "\n")
    made = run_cli(tmp_path, "split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "v", "--iteration-exponent", "0")
    assert made.returncode == 0, made.stderr
    key = vault_key(tmp_path / "v")
    assert f"  {aloud(key)}" in made.stdout.splitlines(), "in the groups of four people read aloud"
    checked = run_cli(tmp_path, "transcript", "verify", "v", "--vault-key", aloud(key).upper(), "--json")
    assert checked.returncode == 0, checked.stderr
    assert checked.json()["vault_key_sha256"] == key and checked.json()["vault_key_matches"] is True
    other = run_cli(tmp_path, "transcript", "verify", "v", "--vault-key", "ab" * 32)
    assert_refused(other, 1, f"sealed by vault key SHA-256 {key}, not by the one given with --vault-key")


def test_every_pin_holds_on_every_revision(tmp_path: Path) -> None:
    vault = split(tmp_path)
    key = vault_key(vault)
    assert extend(tmp_path, "v/manifest.json", "v2", "Dora", "--vault-key", key).returncode == 0
    second = extend(tmp_path, "v2/manifest.json", "v3", "Eve", "--vault-key", key)
    assert second.returncode == 0, second.stderr
    for command in (("drill", "status", "--manifest", "v3/manifest.json"), ("verify", "--manifest", "v3/manifest.json",
                                                                            "v3/custodians/eve/share.txt")):
        pinned = run_cli(tmp_path, *command, "--vault-key", key)
        assert pinned.returncode == 0, pinned.stderr
        assert "(the key given with --vault-key)" in pinned.stderr
    seals = [e["data"] for e in events(tmp_path / "v3/transcript.jsonl") if e["event"] == "sealed"]
    assert [(s["signer"], s["group_index"]) for s in seals] == [("vault", None), ("group", 0), ("group", 0)]


# ---------------------------------------------------------------- lines appended by someone without the keys


def _append_binding(vault: Path, edit: dict) -> str:
    """Edit the manifest and append one well-chained line that binds it, as anyone with write access can; the old head."""
    manifest_path = vault / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["policy"].update(edit)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    chain = tr.Chain(transcript_reader.parse((vault / "transcript.jsonl").read_text()))
    head = tr.head(chain)
    record = {"manifest_sha256": hashlib.sha256(manifest_path.read_bytes()).hexdigest()}
    chain = tr.append(chain, "extend", record, datetime.now(timezone.utc))
    (vault / "transcript.jsonl").write_text(tr.to_text(chain))
    return head


def test_an_unsealed_line_binding_an_edited_manifest_is_refused_everywhere(tmp_path: Path) -> None:
    vault = split(tmp_path)
    head = _append_binding(vault, {"drill_interval_days": 3650})
    for command in (("transcript", "verify", "v", "--head", head), ("drill", "status", "--manifest", "v/manifest.json"),
                    ("fleet", "status", "v")):
        result = run_cli(tmp_path, *command)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "v/transcript.jsonl line 6: this revision is not sealed by its group's key" in result.stderr + result.stdout
        assert "RECOVERABLE until" not in result.stdout


def _legacy(vault: Path) -> None:
    """The vault as coldvault wrote it before histories were sealed: no group keys, no declaration, no seal."""
    manifest_path = vault / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["attestation"]["group_public_keys"]
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    chain = tr.start()
    for event in transcript_reader.parse((vault / "transcript.jsonl").read_text()):
        if event.event == "sealed":
            continue
        data = {k: v for k, v in event.data.items() if k != "vault_key"}
        if "manifest_sha256" in data:
            data["manifest_sha256"] = hashlib.sha256(manifest_path.read_bytes()).hexdigest()
            data["public_files"] = {"manifest.json": data["manifest_sha256"]}
        chain = tr.append(chain, event.event, data, datetime.strptime(event.time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc))
    (vault / "transcript.jsonl").write_text(tr.to_text(chain))


def test_an_older_vault_keeps_working_and_a_pinned_head_refuses_a_binding_after_it(tmp_path: Path) -> None:
    vault = split(tmp_path)
    _legacy(vault)
    status = run_cli(tmp_path, "drill", "status", "--manifest", "v/manifest.json")
    assert status.returncode == 0, status.stderr
    assert "not signed; head" in status.stderr
    checked = run_cli(tmp_path, "transcript", "verify", "v")
    assert checked.returncode == 0 and "seals: none (the vault was made before coldvault sealed histories" in checked.stdout
    head = _append_binding(vault, {"drill_interval_days": 3650})
    pinned = run_cli(tmp_path, "transcript", "verify", "v", "--head", head)
    assert_refused(pinned, 1, "v/transcript.jsonl line 5, after the head written down (line 4): the head given does not vouch for it")
    by_key = run_cli(tmp_path, "drill", "status", "--manifest", "v/manifest.json", "--vault-key", vault_key(vault))
    assert_refused(by_key, 1, "is not sealed by any vault key, but --vault-key")


def test_a_manifest_listing_group_keys_refuses_a_transcript_stripped_of_its_seals(tmp_path: Path) -> None:
    vault = split(tmp_path)
    listed = json.loads((vault / "manifest.json").read_text())["attestation"]["group_public_keys"]
    _legacy(vault)
    manifest = json.loads((vault / "manifest.json").read_text())
    manifest["attestation"]["group_public_keys"] = listed
    (vault / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    chain = transcript_reader.parse((vault / "transcript.jsonl").read_text())
    rebound = tr.start()
    for event in chain:  # rebind the manifest, so that only the missing seals tell
        data = dict(event.data)
        if "manifest_sha256" in data:
            data["manifest_sha256"] = hashlib.sha256((vault / "manifest.json").read_bytes()).hexdigest()
        rebound = tr.append(rebound, event.event, data, datetime.now(timezone.utc))
    (vault / "transcript.jsonl").write_text(tr.to_text(rebound))
    result = run_cli(tmp_path, "drill", "status", "--manifest", "v/manifest.json")
    assert_refused(result, 1, "lists group keys", "declares no vault key: the transcript was rewritten without its seals")


# ---------------------------------------------------------------- extend: forged shares, replaced shares, one successor


def _forge(vault: Path, member: int) -> Share:
    """A share of the vault's group 1 at `member`, with made-up words: checksum and identifier right, value wrong."""
    text = (vault / f"shares/group1-share{member + 1}.txt").read_text()
    genuine = parse_share(" ".join(line for line in text.splitlines() if not line.startswith("#")))
    forged = reference_share(
        identifier=genuine.identifier, extendable=genuine.extendable, iteration_exponent=genuine.iteration_exponent,
        group_index=genuine.group_index, group_threshold=genuine.group_threshold, group_count=genuine.group_count,
        member_index=member, member_threshold=genuine.member_threshold, value=secrets.token_bytes(len(genuine.value)),
    )
    return Share.from_reference(forged)


def test_a_forged_share_listed_in_an_edited_manifest_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    vault = split(tmp_path)
    forged = _forge(vault, 0)
    (tmp_path / "forged.txt").write_text(forged.mnemonic + "\n")
    manifest = json.loads((vault / "manifest.json").read_text())
    ceremony = manifest["ceremony"]["id"]
    manifest["shares"][0].update(share_fingerprint=forged.fingerprint, attestation_public_key=share_key(forged, ceremony).public_key)
    (tmp_path / "edited").mkdir()
    (tmp_path / "edited/manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.copy(vault / "transcript.jsonl", tmp_path / "edited/transcript.jsonl")
    anchored = extend(tmp_path, "edited/manifest.json", "out", "Mallory", shares=("forged.txt", "v/shares/group1-share2.txt"))
    assert_refused(anchored, 1, "edited/manifest.json does not match edited/transcript.jsonl")
    (tmp_path / "edited/transcript.jsonl").unlink()
    trusted = extend(tmp_path, "edited/manifest.json", "out", "Mallory", "--trust-manifest",
                     shares=("forged.txt", "v/shares/group1-share2.txt"))
    assert_refused(trusted, 3, "do not agree (SLIP-39's digest does not hold): one of them is forged")
    assert not (tmp_path / "out").exists() and not (tmp_path / "edited/successor.json").exists()


def test_a_share_whose_attestation_key_is_not_the_listed_one_is_refused(tmp_path: Path) -> None:
    vault = split(tmp_path)
    manifest = json.loads((vault / "manifest.json").read_text())
    manifest["shares"][0]["attestation_public_key"] = manifest["shares"][1]["attestation_public_key"]
    (tmp_path / "edited").mkdir()
    (tmp_path / "edited/manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    result = extend(tmp_path, "edited/manifest.json", "out", "Mallory", "--trust-manifest")
    assert_refused(result, 3, "group1-share1.txt: its attestation key is not the one the manifest lists for this share")
    assert not (tmp_path / "out").exists()


def test_a_replaced_share_no_longer_counts_for_readiness(tmp_path: Path) -> None:
    split(tmp_path)
    assert extend(tmp_path, "v/manifest.json", "v2", "Kim").returncode == 0
    replaced = extend(tmp_path, "v2/manifest.json", "v3", "Lee", "--replaces", "kim")
    assert replaced.returncode == 0, replaced.stderr
    entry = next(s for s in json.loads((tmp_path / "v3/manifest.json").read_text())["shares"] if s["custodian"] == "Kim")
    assert entry["replaced"].startswith(datetime.now(timezone.utc).date().isoformat())
    status = run_cli(tmp_path, "drill", "status", "--manifest", "v3/manifest.json", "--json")
    assert status.returncode == 0, status.stderr
    shares = {s["custodian"]: s for s in status.json()["shares"]}
    assert shares["Kim"]["state"] == "replaced" and shares["Kim"]["current"] is False
    assert status.json()["groups"][0]["current"] == 4, "three split shares and Lee; Kim does not count"
    text = run_cli(tmp_path, "drill", "status", "--manifest", "v3/manifest.json").stdout
    assert "Kim: never verified: REPLACED on " in text
    again = extend(tmp_path, "v3/manifest.json", "v4", "Max", "--replaces", "Kim")
    assert_refused(again, 3, '--replaces "Kim": no custodian of this vault with a share in use has that name')


def test_a_revision_is_extended_once(tmp_path: Path) -> None:
    vault = split(tmp_path)
    assert extend(tmp_path, "v/manifest.json", "v2", "Dora").returncode == 0
    statement = json.loads((vault / "successor.json").read_text())
    assert statement["kind"] == "extend" and statement["place"] == "../v2" and statement["successor_revision"] == 2
    assert statement["successor_manifest_sha256"] == hashlib.sha256((tmp_path / "v2/manifest.json").read_bytes()).hexdigest()
    checked = run_cli(tmp_path, "transcript", "verify", "v")
    assert checked.returncode == 0, checked.stderr
    assert "  successor: this revision was extended on " in checked.stdout and "to revision 2, at ../v2" in checked.stdout
    second = extend(tmp_path, "v/manifest.json", "v2b", "Eve")
    assert_refused(second, 5, "this revision of the vault was already extended on", "at ../v2")
    assert not (tmp_path / "v2b").exists()
    statement["place"] = "../elsewhere"  # not signed: a copy may move; the rest is
    statement["successor_revision"] = 9
    (vault / "successor.json").write_text(json.dumps(statement))
    forged = extend(tmp_path, "v/manifest.json", "v2b", "Eve")
    assert_refused(forged, 1, "v/successor.json: the signature does not verify")
    assert_refused(run_cli(tmp_path, "transcript", "verify", "v"), 1, "v/successor.json: the signature does not verify")


def test_extends_of_one_revision_at_once_give_one_successor(tmp_path: Path) -> None:
    split(tmp_path)
    runs = [subprocess.Popen([sys.executable, "-m", "vault", "extend", "--manifest", "v/manifest.json", "--group", "1",
                              "v/shares/group1-share1.txt", "v/shares/group1-share2.txt", "--custodian", f"New{i}",
                              "--out", f"out{i}", "--wait", "60"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for i in range(4)]
    results = [(run.wait(timeout=120), run.stderr.read() if run.stderr else "") for run in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 5, 5, 5], results
    made = [path for path in tmp_path.glob("out*") if path.is_dir()]
    assert len(made) == 1, "one new custodian, one new share: never two people holding the same words"
    assert all("already extended" in err for code, err in results if code == 5)


def test_wrap_pins_the_vault_key_of_the_manifest_it_names(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    vault = split(tmp_path)
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    (tmp_path / "bob.pem").write_bytes(key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    common = ("wrap", "v/shares/group1-share1.txt", "--recipient-pubkey", "bob.pem", "--manifest", "v/manifest.json")
    wrong = run_cli(tmp_path, *common, "--out", "a.envelope.json", "--vault-key", "ab" * 32)
    assert_refused(wrong, 1, "not by the one given with --vault-key")
    assert not (tmp_path / "a.envelope.json").exists()
    right = run_cli(tmp_path, *common, "--out", "a.envelope.json", "--vault-key", vault_key(vault))
    assert right.returncode == 0 and "(the key given with --vault-key)" in right.stderr, right.stderr
