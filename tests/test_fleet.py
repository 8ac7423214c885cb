"""`coldvault fleet status`: many real vaults at once, each judged as `drill status` judges it.

The tree is made by the real CLI: a ceremony (the template plan: Family, 2 of Alice,
Bob, Carol on paper, with a packet per custodian under custodians/), drilled; a vault
made by `split` and extended by `extend` into a second directory (the same vault at
revision 2). Drills are recorded today (the CLI's clock), so days are placed with
`--as-of` relative to the due day `drill status` itself reports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import Run, run_cli

CEREMONY = "desk-a/vault"
SPLIT = "desk-b/v"
EXTENDED = "desk-b/v2"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("fleet")
    (work / "desk-a").mkdir()
    assert run_cli(work / "desk-a", "ceremony", "init", "plan.toml").returncode == 0
    made = run_cli(work / "desk-a", "ceremony", "run", "plan.toml", "--out", "vault", "--yes")
    assert made.returncode == 0, made.stderr
    drilled = run_cli(work, "drill", "run", "--manifest", f"{CEREMONY}/manifest.json",
                      f"{CEREMONY}/custodians/alice/share.txt", f"{CEREMONY}/custodians/bob/share.txt")
    assert drilled.returncode == 0, drilled.stderr
    (work / "desk-b").mkdir()
    (work / "desk-b" / "secret.hex").write_text("0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
    split = run_cli(work / "desk-b", "split", "--secret-file", "secret.hex", "--group-threshold", "1", "--group", "2of3",
                    "--out", "v", "--iteration-exponent", "0")
    assert split.returncode == 0, split.stderr
    extended = run_cli(work, "extend", "--manifest", f"{SPLIT}/manifest.json", "--group", "1", f"{SPLIT}/shares/group1-share1.txt",
                       f"{SPLIT}/shares/group1-share2.txt", "--custodian", "Dora", "--out", EXTENDED)
    assert extended.returncode == 0, extended.stderr
    return work


def today() -> date:
    return datetime.now(timezone.utc).date()


def fleet(work: Path, *args: str) -> Run:
    return run_cli(work, "fleet", "status", *args)


def fleet_json(work: Path, *args: str) -> tuple[Run, dict]:
    result = fleet(work, *args, "--json")
    return result, json.loads(result.stdout)


def due_day(work: Path, manifest: str) -> date:
    """The last day the vault's checks count, as `drill status` says (here every share was checked the same day)."""
    status = json.loads(run_cli(work, "drill", "status", "--manifest", manifest, "--json").stdout)
    dues = {share["due"] for share in status["shares"]}
    assert len(dues) == 1, dues
    return date.fromisoformat(dues.pop())


def by_name(payload: dict) -> dict[str, dict]:
    return {vault["name"]: vault for vault in payload["vaults"]}


def test_every_vault_recoverable_exits_0_and_says_so_in_one_line(tree: Path) -> None:
    result = fleet(tree, "desk-a", "desk-b")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"2 vaults: 2 recoverable, 0 not (as of {today()})"
    until = due_day(tree, f"{CEREMONY}/manifest.json")
    assert "Example family vault (ceremony " in result.stdout and f"RECOVERABLE until {until}" in result.stdout
    assert f"  anchor: {CEREMONY}/manifest.json is the one recorded at {CEREMONY}/transcript.jsonl line" in result.stdout


def test_a_vault_is_recoverable_through_its_last_due_day_and_not_the_day_after(tree: Path) -> None:
    until = due_day(tree, f"{CEREMONY}/manifest.json")
    on_the_day, payload = fleet_json(tree, "desk-a", "--as-of", until.isoformat())
    assert on_the_day.returncode == 0, on_the_day.stderr
    assert by_name(payload)["Example family vault"]["recoverable_until"] == until.isoformat()

    after = fleet(tree, "desk-a", "--as-of", (until + timedelta(days=1)).isoformat())
    assert after.returncode == 1
    assert "Example family vault (ceremony " in after.stdout and ": NOT RECOVERABLE" in after.stdout
    assert "  failed: none; overdue: Alice, Bob, Carol" in after.stdout
    assert "  weak point: " in after.stdout
    assert after.stderr.startswith("error: 1 vault: 0 recoverable, 1 not")


def test_custodian_packets_are_not_counted_as_vaults(tree: Path) -> None:
    """Each packet under custodians/ holds a copy of the manifest and transcript: the same vault, not three more."""
    result, payload = fleet_json(tree, "desk-a")
    assert result.returncode == 0, result.stderr
    assert [vault["places"] for vault in payload["vaults"]] == [["desk-a/vault/manifest.json"]]


def test_an_old_revision_beside_the_extended_one_is_a_stale_copy_of_it(tree: Path) -> None:
    """`extend` writes a new directory whose transcript continues the old one's: the old one is a stale copy, not judged."""
    result, payload = fleet_json(tree, "desk-b")
    assert result.returncode == 0, result.stderr
    [vault] = payload["vaults"]
    assert vault["places"] == [f"{EXTENDED}/manifest.json", f"{SPLIT}/manifest.json"]
    assert [(c["standing"], c["ahead"], c["revision"]) for c in vault["copies"]] == [
        ("judged", None, 2), ("stale", f"{EXTENDED}/manifest.json", 1)]
    assert vault["revision"] == 2
    assert vault["anchor"]["transcript"] == f"{EXTENDED}/transcript.jsonl"
    table = fleet(tree, "desk-b")
    assert f"  at {EXTENDED}/manifest.json\n  stale copy at {SPLIT}/manifest.json: its history is a prefix of {EXTENDED}/manifest.json's\n" \
        in table.stdout


def test_a_drill_recorded_in_the_old_revision_after_extend_is_a_conflict(tree: Path, tmp_path: Path) -> None:
    shutil.copytree(tree / "desk-b", tmp_path / "desk-b")
    refused = run_cli(tmp_path, "drill", "run", "--manifest", f"{SPLIT}/manifest.json", "--partial", f"{SPLIT}/shares/group1-share3.txt")
    assert refused.returncode == 5 and "this revision of the vault was already extended on " in refused.stderr, refused.stderr
    assert not (tmp_path / SPLIT / "drills.jsonl").exists(), "nothing recorded in the old revision"
    (tmp_path / SPLIT / "successor.json").unlink()  # whoever can write the folder can remove the word: the fork is still named
    drilled = run_cli(tmp_path, "drill", "run", "--manifest", f"{SPLIT}/manifest.json", "--partial", f"{SPLIT}/shares/group1-share3.txt")
    assert drilled.returncode == 0, drilled.stderr
    result = fleet(tmp_path, "desk-b")
    assert result.returncode == 1
    assert ": CONFLICT (its copies diverge)\n" in result.stdout
    assert f"  divergent copy at {SPLIT}/manifest.json\n  divergent copy at {EXTENDED}/manifest.json\n" in result.stdout
    after = len((tmp_path / SPLIT / "transcript.jsonl").read_text().splitlines()) + 1  # the first line extend added
    assert (f"  {SPLIT}/manifest.json and {EXTENDED}/manifest.json diverge: only {EXTENDED}/manifest.json has transcript.jsonl line {after}; "
            f"only {SPLIT}/manifest.json has drills.jsonl line 1; neither is judged") in result.stdout
    status = run_cli(tmp_path, "drill", "status", "--manifest", f"{EXTENDED}/manifest.json", "--manifest", f"{SPLIT}/manifest.json")
    assert status.returncode == 1 and "vault: CONFLICT (its copies diverge)" in status.stdout


def test_a_packet_copied_out_of_the_vault_is_a_stale_copy(tree: Path, tmp_path: Path) -> None:
    """A custodian's packet holds the manifest and transcript, no drill log: a copy from before every drill."""
    shutil.copytree(tree / CEREMONY / "custodians" / "alice", tmp_path / "alice-packet")
    result = fleet(tree, "desk-a", str(tmp_path))
    assert result.returncode == 0, result.stdout
    assert (f"  at {CEREMONY}/manifest.json\n  stale copy at {tmp_path}/alice-packet/manifest.json: its history is a prefix of "
            f"{CEREMONY}/manifest.json's\n") in result.stdout


def test_a_vault_folder_without_its_transcript_is_named_and_its_packets_not_read(tree: Path, tmp_path: Path) -> None:
    shutil.copytree(tree / CEREMONY, tmp_path / "vault")
    (tmp_path / "vault" / "transcript.jsonl").unlink()
    result, payload = fleet_json(tree, str(tmp_path))
    assert result.returncode == 1
    assert payload["vaults"] == []  # the packets under custodians/ are the vault's, not vaults of their own
    [unreadable] = payload["unreadable"]
    assert unreadable["place"] == f"{tmp_path}/vault/manifest.json" and unreadable["exit_code"] == 3
    assert "no transcript.jsonl beside it: nothing anchors it" in unreadable["error"]


def test_the_same_vault_found_twice_is_reported_once_with_both_places(tree: Path, tmp_path: Path) -> None:
    shutil.copytree(tree / CEREMONY, tmp_path / "backup")
    result = fleet(tree, "desk-a", str(tmp_path / "backup"), f"{CEREMONY}/manifest.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Example family vault (ceremony ") == 1
    assert (f"  at {CEREMONY}/manifest.json\n  at {tmp_path}/backup/manifest.json (the same history as {CEREMONY}/manifest.json)\n"
            in result.stdout)
    assert result.stdout.splitlines()[-1].startswith("1 vault: 1 recoverable, 0 not")


def test_a_broken_manifest_is_named_with_its_error_and_the_others_still_shown(tree: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tree / CEREMONY, broken)
    (broken / "manifest.json").write_text('{"format": "coldvault-manifest/1", ')
    result, payload = fleet_json(tree, "desk-a", "desk-b", str(tmp_path))
    assert result.returncode == 1
    assert len(payload["vaults"]) == 2 and all(vault["recoverable"] for vault in payload["vaults"])
    [unreadable] = payload["unreadable"]
    assert unreadable["place"] == f"{broken}/manifest.json" and unreadable["exit_code"] == 3
    assert f"{broken}/manifest.json" in unreadable["error"]
    table = fleet(tree, "desk-a", "desk-b", str(tmp_path))
    assert table.returncode == 1
    assert f"{broken}/manifest.json: COULD NOT BE READ (exit 3)" in table.stdout
    assert table.stdout.splitlines()[-1] == f"2 vaults: 2 recoverable, 0 not; 1 could not be read (as of {today()})"
    assert "Traceback" not in table.stderr


def test_a_tampered_drill_log_makes_its_vault_unreadable_not_hidden(tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(tree / CEREMONY, copy)
    log = copy / "drills.jsonl"
    log.write_text(log.read_text().replace('"passed"', '"failed"', 1))
    result, payload = fleet_json(tree, str(copy))
    assert result.returncode == 1
    assert payload["vaults"] == [] and payload["unreadable"][0]["place"] == f"{copy}/manifest.json"
    assert "drills.jsonl" in payload["unreadable"][0]["error"]


def test_a_directory_without_vaults_fails(tree: Path, tmp_path: Path) -> None:
    """A monitoring job pointed at the wrong directory must not report an empty, healthy fleet."""
    (tmp_path / ".staging").mkdir()
    shutil.copytree(tree / CEREMONY, tmp_path / ".staging" / "vault")  # hidden: not searched
    result = fleet(tree, str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path}: no vault found under it" in result.stdout


def headline(vault: dict) -> str:
    """The verdict as the table shows it, from the JSON's facts."""
    if vault["verdict"] == "recoverable":
        return f"RECOVERABLE until {vault['recoverable_until']}"
    if vault["verdict"] == "retired":
        successor = vault["superseded_by"]
        return f"RETIRED (superseded by {successor['name']}, ceremony {successor['ceremony_id']}, at {successor['place']})"
    return {"conflict": "CONFLICT (its copies diverge)", "not-recoverable": "NOT RECOVERABLE"}[vault["verdict"]]


def copy_line(copy: dict) -> str:
    return {"judged": f"  at {copy['place']}", "same": f"  at {copy['place']} (the same history as {copy['ahead']})",
            "stale": f"  stale copy at {copy['place']}: its history is a prefix of {copy['ahead']}'s",
            "divergent": f"  divergent copy at {copy['place']}"}[copy["standing"]]


def assert_table_is_json(work: Path, *args: str) -> None:
    """`fleet status ARGS` says the same facts as a table and as JSON: verdicts, keys, pins, copies, groups, shares, the summary."""
    table = fleet(work, *args)
    result, payload = fleet_json(work, *args)
    assert table.returncode == result.returncode
    assert table.stdout.splitlines()[-1] == payload["summary"]
    for vault in payload["vaults"]:
        block = table.stdout.split(f"{vault['name']} (ceremony {vault['ceremony_id']}): {headline(vault)}\n")[1]
        pin = {None: "", True: f" (pinned: {vault['pin']})", False: f"; NOT PINNED in {(payload['pins'] or {}).get('file')}"}
        expected = [f"  vault key SHA256 {vault['vault_key_sha256']}{pin[vault['pinned']]}", *map(copy_line, vault["copies"]),
                    *(f"  {reason}" for reason in vault["reasons"])]
        assert block.splitlines()[:len(expected)] == expected
        if vault["groups_ready"] is not None:
            assert f"  groups: {vault['groups_ready']} ready, {vault['groups_needed']} needed\n" in block
            assert f"  failed: {', '.join(vault['failed']) or 'none'}; overdue: {', '.join(vault['overdue']) or 'none'}\n" in block
    for place in payload["unreadable"]:
        assert f"{place['place']}: COULD NOT BE READ (exit {place['exit_code']})\n" in table.stdout
    for pin in (payload["pins"] or {}).get("not_found", []):
        assert f"PINNED AND NOT FOUND: vault key SHA256 {pin['vault_key_sha256']} ({pin['label']}; " in table.stdout


def test_json_has_the_same_facts_as_the_table(tree: Path) -> None:
    day = (due_day(tree, f"{CEREMONY}/manifest.json") + timedelta(days=1)).isoformat()
    result, payload = fleet_json(tree, "desk-a", "desk-b", "--as-of", day)
    assert result.returncode == 1
    assert payload["ok"] is False and payload["as_of"] == day
    assert [vault["verdict"] for vault in payload["vaults"]] == ["not-recoverable", "not-recoverable"]
    assert_table_is_json(tree, "desk-a", "desk-b", "--as-of", day)


def test_hostile_paths_are_shown_not_obeyed(tree: Path, tmp_path: Path) -> None:
    """Where a vault is kept is whatever someone named the directory: an escape sequence there is shown, never sent."""
    hostile = tmp_path / "desk \x1b[2J\u202eA"
    shutil.copytree(tree / CEREMONY, hostile)
    result = fleet(tree, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert f"  at {tmp_path}/desk \\x1b[2J\\u202eA/manifest.json\n" in result.stdout


def test_metrics_and_page_are_written_by_the_cli_and_promtool_accepts_them(tree: Path, tmp_path: Path, promtool: str) -> None:
    """`--metrics` for node_exporter's textfile collector (checked by promtool), `--html` linking each vault's own report."""
    report = run_cli(tree, "drill", "report", "--manifest", f"{CEREMONY}/manifest.json", "--out", f"{CEREMONY}/report.html")
    assert report.returncode == 0, report.stderr
    out = tmp_path / "textfile"
    out.mkdir()
    (out / "coldvault.prom").write_text("stale\n")  # replaced whole
    day = due_day(tree, f"{CEREMONY}/manifest.json") + timedelta(days=1)  # overdue: exit 1, the files still written
    result = fleet(tree, ".", "--as-of", day.isoformat(), "--metrics", str(out / "coldvault.prom"), "--html", str(tmp_path / "fleet.html"))
    assert result.returncode == 1, result.stderr

    assert sorted(p.name for p in out.iterdir()) == ["coldvault.prom"]  # no temporary left where the collector looks
    checked = subprocess.run([promtool, "check", "metrics"], input=(out / "coldvault.prom").read_bytes(), capture_output=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = (out / "coldvault.prom").read_text()
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert (samples["coldvault_fleet_vaults"], samples["coldvault_fleet_recoverable_vaults"]) == ("2", "0"), text  # both made today: both overdue the day after the due day
    recoverable = {line.split("ceremony_id=")[1].split('"')[1]: line.rsplit(" ", 1)[1]
                   for line in text.splitlines() if line.startswith("coldvault_vault_recoverable{")}
    payload = json.loads(fleet(tree, ".", "--as-of", day.isoformat(), "--json").stdout)
    assert recoverable == {vault["ceremony_id"]: str(int(vault["recoverable"])) for vault in payload["vaults"]}

    page = (tmp_path / "fleet.html").read_text()
    assert "<script" not in page.lower() and "NOT RECOVERABLE" in page
    href = os.path.relpath(tree / CEREMONY / "report.html", tmp_path)
    assert f'href="{href}"' in page  # the ceremony vault links to its own report; the split vault has none
    assert page.count('href="') == 1
