"""What the people in the room read: the proof summary, share fingerprints, warnings, the help.

One ceremony of the template plan (Family: 2 of Alice, Bob, Carol, on paper) made by
the real CLI; then `verify` and `drill run` on its shares. The sentences README and
the runbooks quote are checked against what the commands print, word for word.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("Alice", "Bob", "Carol")
SHARES = [f"vault/custodians/{name.lower()}/share.txt" for name in NAMES]
PROVEN_3 = "PROVEN: every one of the 3 minimal qualifying subsets of these shares recovers the manifest's secret"
PROVEN_QUOTED = "PROVEN: every one of the N minimal qualifying subsets of these shares recovers the manifest's secret"
"""As README, docs/verify.md and the runbooks quote it: N for the count."""


@pytest.fixture(scope="module")
def vault(tmp_path_factory) -> tuple[Path, str, dict]:
    """(the work directory, `ceremony run`'s stdout, its --json payload of a second run)."""
    work = tmp_path_factory.mktemp("room")
    assert run_cli(work, "ceremony", "init", "plan.toml").returncode == 0
    made = run_cli(work, "ceremony", "run", "plan.toml", "--out", "vault", "--yes")
    assert made.returncode == 0, made.stderr
    again = run_cli(work, "ceremony", "run", "plan.toml", "--out", "vault-json", "--yes", "--json")
    assert again.returncode == 0, again.stderr
    return work, made.stdout, again.json()


def fingerprints(work: Path) -> dict[str, str]:
    manifest = json.loads((work / "vault" / "manifest.json").read_text())
    return {entry["custodian"]: entry["share_fingerprint"] for entry in manifest["shares"]}


# --------------------------------------------------------------------------- the proof summary


def test_the_ceremony_shows_the_proof_summary_on_screen(vault) -> None:
    _, stdout, payload = vault
    assert PROVEN_3 in stdout.splitlines()
    assert payload["summary"] == PROVEN_3 and payload["qualifying_subsets"] == 3


def test_the_ceremony_summary_counts_what_the_transcript_recorded(vault) -> None:
    work, stdout, _ = vault
    events = [json.loads(line) for line in (work / "vault" / "transcript.jsonl").read_text().splitlines()]
    proven = next(event for event in events if event["event"] == "recovery-proven")
    assert f"every one of the {proven['data']['qualifying_subsets']} minimal" in stdout


def test_verify_shows_the_proof_summary_and_each_shares_fingerprint(vault) -> None:
    work, _, _ = vault
    result = run_cli(work, "verify", "--manifest", "vault/manifest.json", *SHARES)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == PROVEN_3
    for name, fingerprint in fingerprints(work).items():
        line = next(line for line in result.stdout.splitlines() if f"({name})" in line)
        assert line.endswith(f"ok: listed in the manifest (share fingerprint {fingerprint})")
    as_json = run_cli(work, "verify", "--manifest", "vault/manifest.json", *SHARES, "--json").json()
    assert as_json["summary"] == PROVEN_3
    assert {share["share_fingerprint"] for share in as_json["shares"]} == set(fingerprints(work).values())


def test_verify_of_one_share_shows_its_fingerprint_and_no_proof(vault) -> None:
    work, _, _ = vault
    result = run_cli(work, "verify", "--manifest", "vault/manifest.json", SHARES[1])
    assert result.returncode == 0, result.stderr
    assert f"(share fingerprint {fingerprints(work)['Bob']})" in result.stdout
    assert "PROVEN" not in result.stdout


def test_drill_run_shows_each_shares_fingerprint_and_the_proof_summary(vault, tmp_path: Path) -> None:
    work, _, _ = vault
    log = tmp_path / "drills.jsonl"
    result = run_cli(work, "drill", "run", "--manifest", "vault/manifest.json", "--log", log, "--operator", "Dana", *SHARES)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name, fingerprint in fingerprints(work).items():
        assert f"{name}: passed: listed in the manifest, checksum and group agree (share fingerprint {fingerprint})" in lines
    assert lines[lines.index(next(line for line in lines if line.startswith("quorum: passed"))) + 1] == PROVEN_3
    as_json = run_cli(work, "drill", "run", "--manifest", "vault/manifest.json", "--log", log, *SHARES, "--json").json()
    assert as_json["summary"] == PROVEN_3


def test_a_partial_drill_shows_the_fingerprint_and_claims_no_proof(vault, tmp_path: Path) -> None:
    work, _, _ = vault
    result = run_cli(work, "drill", "run", "--manifest", "vault/manifest.json", "--log", tmp_path / "d.jsonl", "--partial", SHARES[2], "--json")
    assert result.returncode == 0, result.stderr
    payload = result.json()
    assert payload["summary"] is None
    assert payload["shares"][0]["share_fingerprint"] == fingerprints(work)["Carol"]


# --------------------------------------------------------------------------- the docs say what is printed


def test_the_custodian_readme_quotes_what_verify_prints(vault) -> None:
    """Run the command the custodian's README gives, from their folder; its quoted line must be printed."""
    work, _, _ = vault
    folder = work / "vault" / "custodians" / "bob"
    readme = (folder / "README.md").read_text()
    command = next(line.strip() for line in readme.splitlines() if line.strip().startswith("coldvault verify"))
    quoted = re.search(r"must end `([^`]+)`", readme)
    assert quoted is not None, readme
    result = run_cli(folder, *command.split()[1:])
    assert result.returncode == 0, result.stderr
    bob = next(line for line in result.stdout.splitlines() if "(Bob)" in line)
    assert bob.endswith(quoted.group(1))
    assert fingerprints(work)["Bob"] in quoted.group(1)


@pytest.mark.parametrize("doc", ["README.md", "docs/verify.md", "ceremony/runbooks/drill.md", "ceremony/runbooks/recovery.md"])
def test_the_docs_quote_the_proof_summary_as_printed(vault, doc: str) -> None:
    _, stdout, _ = vault
    assert PROVEN_QUOTED in (ROOT / doc).read_text()
    printed = next(line for line in stdout.splitlines() if line.startswith("PROVEN"))
    assert re.sub(r"\b\d+\b", "N", printed) == PROVEN_QUOTED


def test_the_drill_runbook_quotes_the_share_lines_as_printed(vault, tmp_path: Path) -> None:
    work, _, _ = vault
    runbook = (ROOT / "ceremony/runbooks/drill.md").read_text()
    quoted = "passed: listed in the manifest, checksum and group agree (share fingerprint "
    assert quoted in runbook
    result = run_cli(work, "drill", "run", "--manifest", "vault/manifest.json", "--log", tmp_path / "d.jsonl", *SHARES[:2])
    assert result.returncode == 0, result.stderr
    assert sum(quoted in line for line in result.stdout.splitlines()) == 2


# --------------------------------------------------------------------------- Trezor share lengths


def plan_with_bits(work: Path, bits: int) -> None:
    assert run_cli(work, "ceremony", "init", "plan.toml").returncode == 0
    plan = work / "plan.toml"
    plan.write_text(re.sub(r"(?m)^bits = 256", f"bits = {bits}", plan.read_text()))


TREZOR = "Trezor devices accept only 20- and 33-word shares"


def test_ceremony_check_warns_that_a_trezor_takes_no_27_word_share(tmp_path: Path) -> None:
    plan_with_bits(tmp_path, 192)
    result = run_cli(tmp_path, "ceremony", "check", "plan.toml")
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if TREZOR in line)
    assert warning.startswith("warning: the plan's secret has 192 bits, so each share has 27 words")
    as_json = run_cli(tmp_path, "ceremony", "check", "plan.toml", "--json")
    assert as_json.json()["warnings"] == [warning]


@pytest.mark.parametrize("bits", [128, 256])
def test_ceremony_check_does_not_warn_for_a_trezor_length(tmp_path: Path, bits: int) -> None:
    plan_with_bits(tmp_path, bits)
    result = run_cli(tmp_path, "ceremony", "check", "plan.toml", "--json")
    assert result.returncode == 0, result.stderr
    assert result.json()["warnings"] == [] and TREZOR not in result.stderr


def test_ceremony_run_says_the_trezor_warning_before_anything_else(tmp_path: Path) -> None:
    plan_with_bits(tmp_path, 160)
    result = run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", "--yes")
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("== Checking the plan")
    assert lines[1].startswith("warning: the plan's secret has 160 bits, so each share has 23 words") and TREZOR in lines[1]


# --------------------------------------------------------------------------- the help


WORKFLOW = ["ceremony", "split", "inspect", "verify", "card", "wrap", "unwrap", "token", "drill", "fleet", "transcript", "extend", "rotate", "recover"]


def test_help_lists_the_commands_in_workflow_order_each_with_its_whole_summary(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--help")
    assert result.returncode == 0
    section = result.stdout.split("Commands:\n")[1]
    rows = re.findall(r"(?m)^  (\S+)\s+(.*(?:\n {4,}.*)*)", section)
    assert [name for name, _ in rows] == WORKFLOW
    summaries = {name: " ".join(text.split()) for name, text in rows}
    assert summaries["wrap"].endswith("add --token to prove that token opens it).")  # whole, not cut off with "..."
    assert "..." not in section
