"""Copies of a vault judged as branches, links counted by their real path, retired vaults, pins, one verdict.

Real vaults made by the CLI (`split --iteration-exponent 0`, `rotate` with the
template plan from `ceremony init`), drilled by `drill run`. The vault "Pair" is
2 of 2: after one passed check of share 1, its folder is copied (the copy sorts
first), then share 2 FAILS a check (its envelope's token is given a wrong PIN), so
the vault is NOT RECOVERABLE while the older copy alone still reads RECOVERABLE.
Every case goes through `fleet status` (exit code, the names printed, JSON = table,
metrics read back by promtool) and, where it applies, `drill status --manifest A
--manifest B`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import softhsm_kit  # scripts/, on the path through conftest
from conftest import Run, missing, run_cli
from test_attestation import lines, rewrite
from test_fleet import assert_table_is_json
from test_metrics import check_metrics, samples

from vault.core.attestation import key_sha256

REAL = "v/real"
OLD = "v/a-old"
SHARE1, SHARE2 = f"{REAL}/shares/group1-share1.txt", f"{REAL}/shares/group1-share2.txt"


def today() -> date:
    return datetime.now(timezone.utc).date()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v/real: Pair, 2 of 2, share 1 checked, share 2 FAILED; v/a-old: its copy from before the failure (sorts first)."""
    if softhsm_kit.softhsm_module() is None or shutil.which("softhsm2-util") is None:
        missing("SoftHSM2 is not installed (Debian package softhsm2; `make test` installs it)")
    root = tmp_path_factory.mktemp("copies")
    (root / "v").mkdir()
    (root / "secret.hex").write_text("0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
    ok(run_cli(root, "split", "--secret-file", "secret.hex", "--scheme", "2of2", "--name", "Pair", "--out", REAL, "--iteration-exponent", "0"))
    ok(run_cli(root, "drill", "run", "--manifest", f"{REAL}/manifest.json", "--partial", SHARE1))
    shutil.copytree(root / REAL, root / OLD)
    env = softhsm_kit.token_store(root)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "bob", "--pin", "1111", "--so-pin", "2222"],
                   env={**os.environ, **env}, check=True, capture_output=True)
    (root / "pin").write_text("1111\n")
    (root / "wrong").write_text("9999\n")
    ok(run_cli(root, "token", "keygen", "--token", "bob", "--label", "k", "--type", "aes", "--pin-file", "bob=pin", env=env))
    ok(run_cli(root, "wrap", SHARE2, "--token", "bob", "--key", "k", "--out", "bob.envelope.json", "--pin-file", "bob=pin", env=env))
    failed = run_cli(root, "drill", "run", "--manifest", f"{REAL}/manifest.json", "--partial", "bob.envelope.json",
                     "--pin-file", "bob=wrong", env=env)
    assert failed.returncode == 1 and "wrong PIN" in failed.stderr, failed.stderr
    return root


def ok(result: Run) -> Run:
    assert result.returncode == 0, result.stderr
    return result


def fleet(cwd: Path, *args: str | Path) -> Run:
    return run_cli(cwd, "fleet", "status", *args)


def drill_status(cwd: Path, *manifests: str | Path, json_out: bool = False) -> Run:
    flags = [arg for manifest in manifests for arg in ("--manifest", str(manifest))]
    return run_cli(cwd, "drill", "status", *flags, *(["--json"] if json_out else []))


def vault_key(work: Path, place: str) -> str:
    return key_sha256(json.loads((work / place / "manifest.json").read_text())["attestation"]["vault_public_key"])


def metric_values(promtool: str, path: Path, name: str) -> dict[str, str]:
    """`name`'s samples in the metrics file (promtool must accept the file), by their `path` label."""
    text = path.read_text()
    check_metrics(promtool, text)
    return {labels.get("path", ""): value for metric, labels, value in samples(text) if metric == name}


def copy_vault(work: Path, to: Path, *names: str) -> None:
    """Copies of v/real (as it is now) at `to`/NAME for each name."""
    for name in names:
        shutil.copytree(work / REAL, to / name)


# ---------------------------------------------------------------- stale copies


def test_a_stale_copy_sorting_first_no_longer_makes_a_failing_vault_read_recoverable(work: Path, tmp_path: Path, promtool: str) -> None:
    alone = fleet(work, OLD)
    assert alone.returncode == 0 and "Pair (ceremony " in alone.stdout and ": RECOVERABLE until " in alone.stdout  # the copy alone

    result = fleet(work, "v", "--metrics", tmp_path / "c.prom")
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Pair (ceremony ") and lines[0].endswith(": NOT RECOVERABLE")
    assert lines[1] == f"  vault key SHA256 {vault_key(work, REAL)}"
    assert lines[2:4] == [f"  at {REAL}/manifest.json",
                          f"  stale copy at {OLD}/manifest.json: its history is a prefix of {REAL}/manifest.json's"]
    assert "  failed: group 1 share 2; overdue: none" in lines
    assert lines[-1] == f"1 vault: 0 recoverable, 1 not (as of {today()})"
    assert_table_is_json(work, "v")
    assert metric_values(promtool, tmp_path / "c.prom", "coldvault_vault_recoverable") == {f"{REAL}/manifest.json": "0"}
    assert metric_values(promtool, tmp_path / "c.prom", "coldvault_vault_stale_copies") == {f"{REAL}/manifest.json": "1"}


def test_drill_status_given_both_places_judges_the_one_whose_history_holds_the_other(work: Path) -> None:
    result = drill_status(work, f"{OLD}/manifest.json", f"{REAL}/manifest.json")
    assert result.returncode == 1
    assert result.stdout.startswith(f"places:\n  at {REAL}/manifest.json\n"
                                    f"  stale copy at {OLD}/manifest.json: its history is a prefix of {REAL}/manifest.json's\n")
    assert "vault: NOT RECOVERABLE (0 groups ready, 1 needed)" in result.stdout
    assert "error: as of " in result.stderr and "the vault is NOT recoverable" in result.stderr
    payload = drill_status(work, f"{OLD}/manifest.json", f"{REAL}/manifest.json", json_out=True).json()
    assert payload["verdict"] == "not-recoverable" and payload["recoverable"] is False
    assert [(c["place"], c["standing"], c["ahead"]) for c in payload["copies"]] == [
        (f"{REAL}/manifest.json", "judged", None), (f"{OLD}/manifest.json", "stale", f"{REAL}/manifest.json")]
    assert payload["vault_key_sha256"] == vault_key(work, REAL)


def test_drill_status_refuses_places_of_two_vaults_and_log_with_several(work: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    ok(run_cli(work, "split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", other, "--iteration-exponent", "0"))
    mixed = drill_status(work, f"{REAL}/manifest.json", other / "manifest.json")
    assert mixed.returncode == 3 and "is another vault" in mixed.stderr and "fleet status" in mixed.stderr
    logged = run_cli(work, "drill", "status", "--manifest", f"{REAL}/manifest.json", "--manifest", f"{OLD}/manifest.json",
                     "--log", f"{OLD}/drills.jsonl")
    assert logged.returncode == 3 and "--log names one drill log" in logged.stderr


# ---------------------------------------------------------------- conflicts


def test_copies_whose_drill_logs_diverge_are_a_conflict_with_both_named(work: Path, tmp_path: Path, promtool: str) -> None:
    copy_vault(work, tmp_path, "one", "two")
    for name in ("one", "two"):  # the same check, recorded in each copy: two different third lines
        ok(run_cli(tmp_path, "drill", "run", "--manifest", f"{name}/manifest.json", "--partial", f"{name}/shares/group1-share1.txt"))
    result = fleet(tmp_path, ".", "--metrics", "c.prom", "--html", "fleet.html")
    assert result.returncode == 1
    page = (tmp_path / "fleet.html").read_text()
    assert "<strong>CONFLICT (its copies diverge)</strong>" in page and "ATTENTION NEEDED" in page and "1 in CONFLICT" in page
    lines = result.stdout.splitlines()
    assert lines[0].endswith(": CONFLICT (its copies diverge)")
    assert lines[2:4] == ["  divergent copy at one/manifest.json", "  divergent copy at two/manifest.json"]
    assert lines[4].startswith("  one/manifest.json and two/manifest.json diverge: their drills.jsonl differ from line 3; neither is judged")
    assert not any(line.startswith("  groups:") for line in lines)  # not judged
    assert lines[-1] == f"1 vault: 0 recoverable, 0 not, 1 in CONFLICT (as of {today()})"
    assert_table_is_json(tmp_path, ".")
    assert metric_values(promtool, tmp_path / "c.prom", "coldvault_vault_conflict") == {"one/manifest.json": "1"}
    assert metric_values(promtool, tmp_path / "c.prom", "coldvault_vault_recoverable") == {"one/manifest.json": "0"}

    status = drill_status(tmp_path, "one/manifest.json", "two/manifest.json", json_out=True)
    assert status.returncode == 1 and "diverge" in status.stderr
    payload = status.json()
    assert payload["verdict"] == "conflict" and payload["recoverable"] is False and "shares" not in payload
    assert [c["standing"] for c in payload["copies"]] == ["divergent", "divergent"]


def test_one_copy_ahead_of_the_other_is_judged_whichever_is_named_first(work: Path, tmp_path: Path) -> None:
    copy_vault(work, tmp_path, "behind", "ahead")
    ok(run_cli(tmp_path, "drill", "run", "--manifest", "ahead/manifest.json", "--partial", "ahead/shares/group1-share2.txt"))
    for order in (("behind", "ahead"), ("ahead", "behind")):
        result = drill_status(tmp_path, *(f"{name}/manifest.json" for name in order))
        assert result.returncode == 0, result.stdout  # share 2 passed again since: the copy ahead is recoverable
        assert "  at ahead/manifest.json\n  stale copy at behind/manifest.json: its history is a prefix of ahead/manifest.json's\n" in result.stdout


# ---------------------------------------------------------------- links


def test_a_folder_of_links_with_a_truncated_log_is_a_stale_copy_not_the_vault(work: Path, tmp_path: Path) -> None:
    links = tmp_path / "a-links"  # sorts first, and its manifest resolves to the real one
    links.mkdir()
    for name in ("manifest.json", "transcript.jsonl"):
        (links / name).symlink_to(work / REAL / name)
    (links / "drills.jsonl").write_text((work / REAL / "drills.jsonl").read_text().splitlines(keepends=True)[0])
    result = fleet(work, links, REAL)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].endswith(": NOT RECOVERABLE")
    assert f"  at {REAL}/manifest.json\n  stale copy at {links}/manifest.json: its history is a prefix of {REAL}/manifest.json's\n" in result.stdout


def test_a_folder_linking_every_file_of_the_vault_is_the_same_place(work: Path, tmp_path: Path) -> None:
    links = tmp_path / "all-links"
    links.mkdir()
    for name in ("manifest.json", "transcript.jsonl", "drills.jsonl"):
        (links / name).symlink_to(work / REAL / name)
    payload = fleet(work, links, REAL, "--json").json()
    assert [vault["places"] for vault in payload["vaults"]] == [[f"{links}/manifest.json"]]


# ---------------------------------------------------------------- a lone manifest


def test_a_manifest_without_its_transcript_is_named_not_skipped(work: Path, tmp_path: Path) -> None:
    (tmp_path / "lone").mkdir()
    shutil.copy(work / REAL / "manifest.json", tmp_path / "lone" / "manifest.json")
    copy_vault(work, tmp_path, "vault")
    result = fleet(tmp_path, ".", "--json")
    assert result.returncode == 1
    payload = result.json()
    [unreadable] = payload["unreadable"]
    assert unreadable["place"] == "lone/manifest.json" and unreadable["exit_code"] == 3
    assert "no transcript.jsonl beside it: nothing anchors it" in unreadable["error"]
    assert [vault["places"] for vault in payload["vaults"]] == [["vault/manifest.json"]]


# ---------------------------------------------------------------- a tampered log: one verdict everywhere


def test_a_tampered_log_is_not_recoverable_in_drill_status_report_and_fleet(work: Path, tmp_path: Path, promtool: str) -> None:
    shutil.copytree(work / OLD, tmp_path / "vault")  # recoverable but for the forgery
    forged = lines(tmp_path)
    forged[0]["data"]["attestations"] = []  # as anyone with write access can: the chain recomputed (test_attestation.rewrite)
    rewrite(tmp_path, forged)
    status = drill_status(tmp_path, "vault/manifest.json")
    assert status.returncode == 1
    assert "vault: NOT RECOVERABLE (1 groups ready, 1 needed)" in status.stdout
    assert "  the drill log was tampered with: 1 line cannot be trusted (not counted)" in status.stdout
    assert "error: the drill log was tampered with: 1 line cannot be trusted" in status.stderr and "line 1" in status.stderr
    payload = drill_status(tmp_path, "vault/manifest.json", json_out=True).json()
    assert (payload["recoverable"], payload["verdict"], payload["tampered"]) == (False, "not-recoverable", True)
    report = run_cli(tmp_path, "drill", "report", "--manifest", "vault/manifest.json", "--out", "r.html", "--json")
    assert report.returncode == 1 and (report.json()["recoverable"], report.json()["verdict"]) == (False, "not-recoverable")
    assert "<strong>NOT RECOVERABLE</strong>" in (tmp_path / "r.html").read_text()
    result = fleet(tmp_path, "vault", "--json", "--metrics", "c.prom")
    assert result.returncode == 1
    [vault] = result.json()["vaults"]
    assert (vault["recoverable"], vault["verdict"], vault["tampered"]) == (False, "not-recoverable", True)
    assert vault["reasons"] == ["the drill log was tampered with: 1 line cannot be trusted (not counted)"]
    assert metric_values(promtool, tmp_path / "c.prom", "coldvault_vault_recoverable") == {"vault/manifest.json": "0"}


# ---------------------------------------------------------------- retired vaults and pins


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """old: split, checked every 180 days; new: `rotate` of it by the template plan, checked every 3650 days."""
    root = tmp_path_factory.mktemp("rotated")
    (root / "secret.hex").write_text("0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
    ok(run_cli(root, "split", "--secret-file", "secret.hex", "--scheme", "2of3", "--name", "Old", "--out", "old", "--iteration-exponent", "0"))
    ok(run_cli(root, "ceremony", "init", "plan.toml"))
    plan = (root / "plan.toml").read_text()
    for before, after in (('source = "generate"', 'source = "master-secret"'), ("bits = 256", "bits = 128"),
                          ("iteration_exponent = 1", "iteration_exponent = 0"), ("drill_interval_days = 180", "drill_interval_days = 3650"),
                          ('name = "Example family vault"', 'name = "New"')):
        assert before in plan
        plan = plan.replace(before, after, 1)
    (root / "plan.toml").write_text(plan)
    ok(run_cli(root, "rotate", "old/shares/group1-share1.txt", "old/shares/group1-share2.txt", "--manifest", "old/manifest.json",
               "--plan", "plan.toml", "--out", "new", "--yes"))
    return root


def test_a_vault_superseded_by_a_vault_found_is_retired_not_an_alert(rotated: Path, tmp_path: Path, promtool: str) -> None:
    late = (today() + timedelta(days=200)).isoformat()  # the old vault's checks have lapsed; the new one's have not
    new_id = json.loads((rotated / "new" / "manifest.json").read_text())["ceremony"]["id"]
    alone = fleet(rotated, "old", "--as-of", late)  # its own folder holds the rotation's word, signed by its vault key
    assert alone.returncode == 0, alone.stdout
    assert f"Old (ceremony " in alone.stdout and f": RETIRED (superseded by New, ceremony {new_id}, at ../new)" in alone.stdout
    status = run_cli(rotated, "drill", "status", "--manifest", "old/manifest.json", "--as-of", late, "--json")
    assert status.returncode == 0 and status.json()["verdict"] == "retired", status.stdout

    result = fleet(rotated, ".", "--as-of", late, "--metrics", tmp_path / "c.prom", "--html", tmp_path / "fleet.html")
    assert result.returncode == 0, result.stdout
    new_id = json.loads((rotated / "new" / "manifest.json").read_text())["ceremony"]["id"]
    page = (tmp_path / "fleet.html").read_text()
    assert f"<strong>RETIRED (superseded by New, ceremony {new_id}, at new/manifest.json)</strong>" in page
    assert "ALL RECOVERABLE</strong>: 1 of 2 vaults recoverable; 1 retired." in page
    assert f"): RETIRED (superseded by New, ceremony {new_id}, at new/manifest.json)\n" in result.stdout
    assert result.stdout.splitlines()[-1] == f"2 vaults: 1 recoverable, 0 not, 1 retired (as of {late})"
    assert result.stdout.index("New (ceremony") < result.stdout.index("Old (ceremony")  # retired last
    assert_table_is_json(rotated, ".", "--as-of", late)
    assert metric_values(promtool, tmp_path / "c.prom", "coldvault_vault_retired") == {"new/manifest.json": "0", "old/manifest.json": "1"}
    assert metric_values(promtool, tmp_path / "c.prom", "coldvault_vault_recoverable") == {"new/manifest.json": "1", "old/manifest.json": "0"}
    assert metric_values(promtool, tmp_path / "c.prom", "coldvault_fleet_retired_vaults") == {"": "1"}


def test_pins_name_the_vaults_not_pinned_and_the_pins_not_found(rotated: Path, tmp_path: Path, promtool: str) -> None:
    missing_key = "ab" * 32
    pins = tmp_path / "pins.txt"
    pins.write_text(f"# vaults this host watches\n\n{vault_key(rotated, 'new').upper()}  New vault (desk 7)\n{missing_key}\tGone vault\n")
    result = fleet(rotated, ".", "--pins", pins, "--metrics", tmp_path / "c.prom")
    assert result.returncode == 1
    assert f"  vault key SHA256 {vault_key(rotated, 'new')} (pinned: New vault (desk 7))\n" in result.stdout
    assert f"  vault key SHA256 {vault_key(rotated, 'old')}; NOT PINNED in {pins}\n" in result.stdout
    assert f"PINNED AND NOT FOUND: vault key SHA256 {missing_key} (Gone vault; {pins} line 4)\n" in result.stdout
    assert result.stdout.splitlines()[-1].endswith("1 retired; 1 not pinned; 1 pinned and not found (as of " + today().isoformat() + ")")
    payload = fleet(rotated, ".", "--pins", pins, "--json").json()
    assert payload["pins"] == {"file": str(pins), "not_pinned": ["old/manifest.json"],
                               "not_found": [{"vault_key_sha256": missing_key, "label": "Gone vault", "line": 4}]}
    assert {vault["name"]: (vault["pinned"], vault["pin"]) for vault in payload["vaults"]} == {
        "New": (True, "New vault (desk 7)"), "Old": (False, None)}
    assert_table_is_json(rotated, ".", "--pins", str(pins))
    assert metric_values(promtool, tmp_path / "c.prom", "coldvault_vault_unpinned") == {"new/manifest.json": "0", "old/manifest.json": "1"}
    text = (tmp_path / "c.prom").read_text()
    assert f'coldvault_pin_missing{{vault_key_sha256="{missing_key}",label="Gone vault"}} 1' in text

    pins.write_text(f"{vault_key(rotated, 'new')} New\n{vault_key(rotated, 'old')} Old\n")
    assert fleet(rotated, ".", "--pins", pins).returncode == 0  # every vault pinned, every pin found


@pytest.mark.parametrize("line, problem", [
    ("abc New", "'abc' is not a vault key's SHA-256"),
    ("ab" * 32, "the pin has no label"),
    ("ab" * 32 + " A\n" + "AB" * 32 + " B", "is pinned twice (first at line 2)"),
])
def test_a_bad_pins_file_is_refused_naming_its_line(rotated: Path, tmp_path: Path, line: str, problem: str) -> None:
    pins = tmp_path / "pins.txt"
    pins.write_text(f"# pins\n{line}\n")
    result = fleet(rotated, ".", "--pins", pins)
    assert result.returncode == 3
    assert f"error: {pins} line {line.count(chr(10)) + 2}: " in result.stderr and problem in result.stderr
    assert result.stdout == ""  # refused before any vault is read


def test_a_rotation_is_made_once_and_only_the_old_vault_key_can_retire_a_vault(rotated: Path, tmp_path: Path) -> None:
    """The old folder's word refuses a second rotation and a drill there; a manifest that merely names the old vault in
    `supersedes` retires nothing: the rotation's statement must be signed by the old vault's key."""
    again = run_cli(rotated, "rotate", "old/shares/group1-share1.txt", "old/shares/group1-share2.txt", "--manifest", "old/manifest.json",
                    "--plan", "plan.toml", "--out", "newer", "--yes")
    assert again.returncode == 5 and "this revision of the vault was already superseded by rotation to ceremony" in again.stderr
    assert not (rotated / "newer").exists()
    drilled = run_cli(rotated, "drill", "run", "--manifest", "old/manifest.json", "--partial", "old/shares/group1-share1.txt")
    assert drilled.returncode == 5 and "record drills in the successor's folder" in drilled.stderr
    statement = json.loads((rotated / "old" / "successor.json").read_text())
    new_events = [json.loads(line) for line in (rotated / "new" / "transcript.jsonl").read_text().splitlines()]
    signed = next(event for event in new_events if event["event"] == "rotation-signed")["data"]
    assert {k: v for k, v in statement.items() if k not in ("format", "place")} == signed, "the same statement in both places"

    shutil.copytree(rotated / "old", tmp_path / "old", ignore=shutil.ignore_patterns("successor.json"))
    (tmp_path / "secret.hex").write_text("00112233445566778899aabbccddeeff\n")
    ok(run_cli(tmp_path, "split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "usurper", "--iteration-exponent", "0"))
    _rename_supersedes(tmp_path / "usurper", tmp_path / "old")
    result = fleet(tmp_path, ".")
    assert "RETIRED" not in result.stdout, "naming a vault in supersedes, without its key's signature, retires nothing"


def _rename_supersedes(vault: Path, old: Path) -> None:
    """Rewrite `vault` (a split of 00112233...) so that its manifest names `old` in `supersedes`, sealed anew with its own
    vault key: what a usurper holding their own vault's secret can do. A valid vault that merely names another."""
    import dataclasses
    import hashlib

    from vault.core import attestation, records
    from vault.core.backup import Backup, SplitOptions
    from vault.core.formats import manifest as mf
    from vault.core.outputs import OutputFile
    from vault.core.scheme import make_scheme, parse_t_of_n
    from vault.core.secret import Secret, SecretKind
    from vault.core.slip39.share import parse_share

    secret = Secret(SecretKind.MASTER_SECRET, bytes.fromhex("00112233445566778899aabbccddeeff"))
    manifest = mf.from_json((vault / "manifest.json").read_text())
    old_manifest = mf.from_json((old / "manifest.json").read_text())
    named = mf.Supersedes(old_manifest.ceremony.id, hashlib.sha256((old / "manifest.json").read_bytes()).hexdigest())
    manifest = dataclasses.replace(manifest, supersedes=named)
    text = mf.to_json(manifest)
    shares = tuple(parse_share(" ".join(line for line in path.read_text().splitlines() if not line.startswith("#")))
                   for path in sorted((vault / "shares").glob("*.txt")))
    backup = Backup(manifest, shares, (OutputFile("manifest.json", text, secret=False),))
    log = records.split_transcript(backup, make_scheme(1, [parse_t_of_n("2of3")]), False, SplitOptions(iteration_exponent=0),
                                   "imported", datetime.now(timezone.utc), attestation.vault_key(secret, manifest.ceremony.id))
    (vault / "manifest.json").write_text(text)
    (vault / "transcript.jsonl").write_text(log.data if isinstance(log.data, str) else log.data.decode())
    assert run_cli(vault.parent, "transcript", "verify", vault.name).returncode == 0, "the usurper's vault is valid on its own"
