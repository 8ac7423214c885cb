"""Attested drills (docs/attestation.md): a check counts only with a signature derived from its share or the secret.

Each forgery here is one an attacker with write access to the vault's public files
can make with the format in hand: the chain is recomputed every time, so only the
attestations can catch it. Every one must be named (line, what is wrong), never
counted, and make `drill status` exit 1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault.core import attestation
from vault.core.formats import drills as dl
from vault.core.formats import transcript
from vault.core.formats import transcript_reader
from vault.core.slip39.share import parse_share

MANIFEST = "vault/manifest.json"
SHARES = {name: f"vault/custodians/{name.lower()}/share.txt" for name in ("Alice", "Bob", "Carol")}


def _ceremony(work: Path, passphrase: bool = False) -> None:
    assert run_cli(work, "ceremony", "init", "plan.toml").returncode == 0
    if passphrase:
        plan = work / "plan.toml"
        plan.write_text(plan.read_text().replace("passphrase = false", "passphrase = true"))
        (work / "pass.txt").write_text("correct horse\n")
    made = run_cli(work, "ceremony", "run", "plan.toml", "--out", "vault", "--yes",
                   *(["--passphrase-file", "pass.txt"] if passphrase else []))
    assert made.returncode == 0, made.stderr


@pytest.fixture(scope="module")
def drilled(tmp_path_factory) -> Path:
    """A ceremony's vault (2 of Alice, Bob, Carol) with one partial drill of Alice's share, attested."""
    work = tmp_path_factory.mktemp("attested")
    _ceremony(work)
    result = run_cli(work, "drill", "run", "--manifest", MANIFEST, "--partial", SHARES["Alice"])
    assert result.returncode == 0, result.stderr
    return work


@pytest.fixture
def vault(drilled: Path, tmp_path: Path) -> Path:
    """A private copy of the drilled vault, to forge in."""
    shutil.copytree(drilled / "vault", tmp_path / "vault", symlinks=True)
    return tmp_path


def lines(work: Path) -> list[dict]:
    return [json.loads(line) for line in (work / "vault" / "drills.jsonl").read_text().splitlines()]


def rewrite(work: Path, documents: list[dict]) -> None:
    """Write `documents` as a drill log with a valid chain: every seq, prev and hash recomputed."""
    chain_text, prev = [], transcript.GENESIS
    for seq, document in enumerate(documents):
        line = transcript.Event(seq, document["time"], document["event"], document["data"], prev, "")
        line = transcript.Event(**{**vars(line), "hash": transcript.line_hash(transcript.unhashed(line))})
        chain_text.append(transcript.to_line(line))
        prev = line.hash
    (work / "vault" / "drills.jsonl").write_text("".join(chain_text))


def status(work: Path, *args: str):
    return run_cli(work, "drill", "status", "--manifest", MANIFEST, "--json", *args)


def alice(payload: dict) -> dict:
    return next(s for s in payload["shares"] if s["custodian"] == "Alice")


def assert_tampered(work: Path, line: int, problem: str) -> dict:
    """`drill status` exits 1, names the line and the problem, and does not count it."""
    result = status(work)
    assert result.returncode == 1, result.stderr
    payload = result.json()
    assert payload["tampered"] is True
    assert any(f["line"] == line and problem in f["problem"] for f in payload["findings"]), payload["findings"]
    assert "tampered" in result.stderr and f"line {line}" in result.stderr and "Traceback" not in result.stderr
    text = run_cli(work, "drill", "status", "--manifest", MANIFEST)
    assert f"line {line}" in text.stdout and "TAMPERED" in text.stdout
    return payload


def test_a_drill_signs_each_passed_share_and_status_counts_it(drilled: Path) -> None:
    record = lines(drilled)[-1]["data"]
    manifest = json.loads((drilled / MANIFEST).read_text())
    entry = next(s for s in manifest["shares"] if s["custodian"] == "Alice")
    assert record["attestations"] == [{"signer": "share", "share_fingerprint": entry["share_fingerprint"],
                                       "signature": record["attestations"][0]["signature"]}]
    payload = status(drilled).json()
    assert payload["tampered"] is False and payload["attested"] is True and payload["findings"] == []
    assert alice(payload)["last_verified"] == lines(drilled)[-1]["time"][:10]


def test_a_re_dated_copy_of_a_passing_record_is_named_and_not_counted(vault: Path) -> None:
    documents = lines(vault)
    copy = json.loads(json.dumps(documents[-1]))
    copy["time"] = "2099-01-01T00:00:00Z"
    rewrite(vault, documents + [copy])
    payload = assert_tampered(vault, 2, "does not verify")
    assert alice(payload)["last_verified"] == documents[-1]["time"][:10]


def test_a_log_rewritten_from_scratch_with_one_forged_pass_is_refused(vault: Path) -> None:
    forged = lines(vault)[-1]
    forged["data"]["attestations"] = []
    rewrite(vault, [forged])
    assert_tampered(vault, 1, "recorded as passed without its share's signature")


def test_a_record_signed_by_another_key_does_not_count(vault: Path) -> None:
    documents = lines(vault)
    record = documents[-1]
    unsigned = transcript.Event(0, record["time"], "drill", record["data"], transcript.GENESIS, "")
    signature = Ed25519PrivateKey.generate().sign(dl.signed_message(unsigned))
    record["data"]["attestations"][0]["signature"] = base64.b64encode(signature).decode()
    rewrite(vault, [record])
    assert_tampered(vault, 1, "does not verify")


def test_a_record_moved_from_another_vault_is_named(vault: Path, tmp_path_factory) -> None:
    other = tmp_path_factory.mktemp("other")
    _ceremony(other)
    assert run_cli(other, "drill", "run", "--manifest", MANIFEST, "--partial", SHARES["Alice"]).returncode == 0
    rewrite(vault, lines(vault) + lines(other))
    assert_tampered(vault, 2, "a drill of another vault")
    # and with the ceremony id rewritten to this vault's, its signature no longer verifies
    moved = lines(other)[-1]
    moved["data"]["ceremony_id"] = lines(vault)[0]["data"]["ceremony_id"]
    rewrite(vault, lines(vault)[:1] + [moved])
    assert_tampered(vault, 2, "")


def test_one_result_flipped_in_a_two_share_record_breaks_its_signatures(vault: Path) -> None:
    assert run_cli(vault, "drill", "run", "--manifest", MANIFEST, SHARES["Alice"], SHARES["Bob"]).returncode == 0
    documents = lines(vault)
    documents[-1]["data"]["quorum"]["qualifying_subsets"] += 1
    rewrite(vault, documents)
    assert_tampered(vault, 2, "does not verify")


def test_an_old_record_changed_under_a_later_signature_is_found_and_named(vault: Path) -> None:
    """Status checks each key's latest signature; a change to an older line breaks those, and every
    signature is then checked, so the line named is the one that was changed."""
    for name in ("Bob", "Carol"):
        assert run_cli(vault, "drill", "run", "--manifest", MANIFEST, "--partial", SHARES[name]).returncode == 0
    documents = lines(vault)
    documents[0]["data"]["operator"] = "Mallory"
    rewrite(vault, documents)
    payload = assert_tampered(vault, 1, "does not verify")
    assert [f["line"] for f in payload["findings"]] == [1, 2, 3]


def test_a_tampered_log_is_never_appended_to(vault: Path) -> None:
    forged = lines(vault)[-1]
    forged["data"]["attestations"] = []
    rewrite(vault, [forged])
    before = (vault / "vault" / "drills.jsonl").read_bytes()
    result = run_cli(vault, "drill", "run", "--manifest", MANIFEST, "--partial", SHARES["Bob"])
    assert result.returncode == 1 and "tampered" in result.stderr and "nothing was recorded" in result.stderr
    assert (vault / "vault" / "drills.jsonl").read_bytes() == before


def test_the_report_names_the_tampered_record_and_exits_1(vault: Path) -> None:
    forged = lines(vault)[-1]
    forged["data"]["attestations"] = []
    rewrite(vault, [forged])
    result = run_cli(vault, "drill", "report", "--manifest", MANIFEST, "--out", "report.html")
    assert result.returncode == 1
    page = (vault / "report.html").read_text()
    assert "TAMPERED" in page and "line 1" in page


def test_a_quorum_drill_is_signed_by_the_vault_key_derived_from_the_secret(tmp_path: Path) -> None:
    _ceremony(tmp_path, passphrase=True)
    result = run_cli(tmp_path, "drill", "run", "--manifest", MANIFEST, SHARES["Alice"], SHARES["Carol"],
                     "--passphrase-file", "pass.txt")
    assert result.returncode == 0, result.stderr
    record = lines(tmp_path)[-1]["data"]
    assert [a["signer"] for a in record["attestations"]] == ["vault", "share", "share"]
    payload = status(tmp_path).json()
    assert payload["last_quorum_drill"] == lines(tmp_path)[-1]["time"][:10]
    assert not any("passphrase" in s for s in payload["weakest"])
    # the vault's signature dropped: the quorum pass no longer counts, and the log is tampered
    documents = lines(tmp_path)
    documents[-1]["data"]["attestations"] = documents[-1]["data"]["attestations"][1:]
    rewrite(tmp_path, documents)
    assert_tampered(tmp_path, 1, "without the vault's signature")


def test_a_manifest_without_attestation_keys_still_works_and_says_its_checks_are_unattested(vault: Path) -> None:
    """A vault made before attestation (format 1): its unsigned checks count, and a weak point says how to enrol."""
    path = vault / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["format"] = "coldvault-manifest/1"
    del manifest["attestation"]
    for share in manifest["shares"]:
        del share["attestation_public_key"], share["proven"]
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    for name in ("transcript.jsonl", "transcript.sig.json"):
        (vault / "vault" / name).unlink(missing_ok=True)
    documents = lines(vault)
    documents[-1]["data"]["attestations"] = []
    del documents[-1]["data"]["attestations"]
    rewrite(vault, documents)
    result = status(vault)
    assert result.returncode == 0, result.stderr
    payload = result.json()
    assert payload["attested"] is False and payload["tampered"] is False
    assert alice(payload)["last_verified"] == documents[-1]["time"][:10]
    assert any("unattested" in s and "coldvault rotate" in s for s in payload["weakest"])


def test_keys_derive_from_the_share_and_the_ceremony(drilled: Path) -> None:
    """The manifest's key for Alice is the one her share's words derive; another vault's id gives another key."""
    manifest = json.loads((drilled / MANIFEST).read_text())
    words = next(line for line in (drilled / SHARES["Alice"]).read_text().splitlines() if not line.startswith("#"))
    share = parse_share(words)
    listed = next(s for s in manifest["shares"] if s["custodian"] == "Alice")["attestation_public_key"]
    assert attestation.share_key(share, manifest["ceremony"]["id"]).public_key == listed
    assert attestation.share_key(share, "00000000-0000-4000-8000-000000000000").public_key != listed


def test_transcript_verify_checks_every_attestation_of_the_drill_log(vault: Path) -> None:
    good = run_cli(vault, "transcript", "verify", "vault")
    assert good.returncode == 0, good.stderr
    assert "every signature of 1 drill verifies against the manifest's keys" in good.stdout
    documents = lines(vault)
    copy = json.loads(json.dumps(documents[-1]))
    copy["time"] = "2099-01-01T00:00:00Z"
    rewrite(vault, documents + [copy])
    forged = run_cli(vault, "transcript", "verify", "vault")
    assert forged.returncode == 1
    assert "drills.jsonl line 2: the signature of share" in forged.stderr and "does not verify" in forged.stderr


def test_status_read_from_the_end_says_what_reading_every_line_says(vault: Path) -> None:
    """`drill status` reads only the lines its verdict needs (vault.core.drill.readiness_from_end); on a real log
    of partial, quorum and failed drills, at every as-of date, it says exactly what reading every line says."""
    from datetime import date, datetime, timedelta, timezone

    from vault.core import drill as dr
    from vault.core.formats import manifest as mf

    for args, code in ((["--partial", SHARES["Bob"]], 0), ([SHARES["Alice"], SHARES["Carol"]], 0), ([SHARES["Alice"]], 1),
                       (["--partial", SHARES["Carol"]], 0)):
        assert run_cli(vault, "drill", "run", "--manifest", MANIFEST, *args).returncode == code  # [Alice] alone: no quorum
    manifest = mf.from_json((vault / MANIFEST).read_text())
    data = (vault / "vault" / "drills.jsonl").read_bytes()
    lines = [line + b"\n" for line in data.split(b"\n")[:-1]]
    events = transcript_reader.parse_bytes(data)
    assert len(events) == 5
    today = date.fromisoformat(events[-1].time[:10])
    # Bob's last pass is line 2: line 1 (Alice's first check) is only chained, never read
    assert [e.seq for e in dr.recent_events(manifest, transcript_reader.chained(lines), today, "drills.jsonl")] == [1, 2, 3, 4]
    for as_of in (today - timedelta(days=1), today, today + timedelta(days=179), today + timedelta(days=181)):
        now = datetime.now(timezone.utc)
        fast, full = dr.readiness_from_end(manifest, lines, as_of, now=now), dr.readiness(manifest, events, as_of, now=now)
        assert (fast.shares, fast.groups, fast.recoverable, fast.weakest, fast.last_quorum_drill, fast.findings, fast.doubts, fast.logged) == \
               (full.shares, full.groups, full.recoverable, full.weakest, full.last_quorum_drill, full.findings, full.doubts, full.logged)


def test_a_line_rewritten_with_its_hash_recomputed_is_named_even_read_from_the_end(vault: Path) -> None:
    """A line before the last signature, re-spaced and re-hashed over its new bytes (so that its hash alone
    still chains): the signature after it no longer verifies, every line is then read, and the line is named."""
    for name in ("Bob", "Carol"):
        assert run_cli(vault, "drill", "run", "--manifest", MANIFEST, "--partial", SHARES[name]).returncode == 0
    path = vault / "vault" / "drills.jsonl"
    raw = path.read_bytes().split(b"\n")[:-1]
    previous = transcript.GENESIS
    rebuilt = []
    for number, line in enumerate(raw):
        text = line.decode()
        body = text[:text.index(',"hash":"')]
        body = body[:body.index(',"prev":"')] + f',"prev":"{previous}"'
        if number == 0:
            body = body.replace('"operator":', '"operator": ', 1)  # not canonical any more
        previous = hashlib.sha256(transcript.HASH_DOMAIN + (body + "}").encode()).hexdigest()
        rebuilt.append(f'{body},"hash":"{previous}"}}\n')
    path.write_text("".join(rebuilt))
    result = status(vault)
    assert result.returncode == 1
    assert "drills.jsonl line 1: is not in canonical form" in result.stderr


def test_the_report_says_what_anchored_its_manifest(vault: Path) -> None:
    assert run_cli(vault, "drill", "report", "--manifest", MANIFEST, "--out", "report.html").returncode == 0
    page = (vault / "report.html").read_text()
    assert "anchor: vault/manifest.json is the one recorded at vault/transcript.jsonl line" in page
