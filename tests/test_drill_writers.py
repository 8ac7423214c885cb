"""Writers take turns on a vault, and the drill log's times and names are checked (docs/drills.md, "Writers" and
"What a reader checks").

Through the real CLI. The lines a wrong clock or a custodian with her own share would
write are built in this process with the drill log's own writer (`transcript.append`,
`drill.append_attested`: chained, and signed where a share's holder can sign), so each
is a line `drill run` could have written but for what it says.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import html
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import Run, run_cli
from test_bad_inputs import _root_without_dac_override

from vault.core.formats import drills, transcript
from vault.core.formats import transcript_reader
from vault.core.formats import manifest as mf
from vault.core.formats.drills import DrillRecord, Result
from vault.core.layout import LOCK_FILE
from vault.edges import sources
from vault.flows import drill as flow

MANIFEST = "v/manifest.json"
LOG = "v/drills.jsonl"
SHARES = [f"v/shares/group1-share{number}.txt" for number in (1, 2, 3)]
FUTURE = datetime(2099, 1, 1, tzinfo=timezone.utc)
WRITERS = 4
ROUNDS = 20


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    """A 2-of-3 vault made fast (no ceremony needed), with one partial drill of share 1 in its log."""
    made = run_cli(tmp_path, "split", "--scheme", "2of3", "--generate", "128", "--iteration-exponent", "0", "--out", "v")
    assert made.returncode == 0, made.stderr
    assert drill(tmp_path, "--partial", SHARES[0]).returncode == 0
    return tmp_path


def drill(work: Path, *args: str) -> Run:
    return run_cli(work, "drill", "run", "--manifest", MANIFEST, *args)


def status(work: Path, *args: str) -> Run:
    return run_cli(work, "drill", "status", "--manifest", MANIFEST, *args)


def log_events(work: Path, folder: str = "v") -> tuple[transcript.Event, ...]:
    return transcript_reader.parse_bytes((work / folder / "drills.jsonl").read_bytes(), "drills.jsonl")


def last_record(work: Path) -> DrillRecord:
    return drills.from_event(log_events(work)[-1])


def append_record(work: Path, record: DrillRecord, when: datetime, signers: Sequence[str] = (), folder: str = "v") -> None:
    """`record` appended at `when` as `drill run` appends it, signed by the keys of the share files `signers` (its passed checks')."""
    manifest = mf.from_json((work / folder / "manifest.json").read_text())
    shares = [sources.read_share_file(work / signer) for signer in signers]
    _, chain = flow.append_attested(dataclasses.replace(record, attestations=()), manifest, log_events(work, folder), shares, None, when)
    (work / folder / "drills.jsonl").write_text(transcript.to_text(chain))


def failed(record: DrillRecord, reason: str) -> DrillRecord:
    """`record` with every check failed: a failure needs no signature, so anyone can write one."""
    return dataclasses.replace(record, shares=tuple(dataclasses.replace(check, result=Result.FAILED, reason=reason) for check in record.shares),
                               result=Result.FAILED, reasons=(reason,), attestations=())


# ---------------------------------------------------------------- the lock


def test_concurrent_drills_take_turns_and_no_record_is_lost(vault: Path) -> None:
    """WRITERS partial drills at once, WRITERS * ROUNDS in all: every run that said it recorded its drill did (the log was read
    and rewritten whole with no lock: 25 of 94 records went missing and `transcript verify` still passed)."""
    shares = [SHARES[number % len(SHARES)] for number in range(WRITERS * ROUNDS)]
    with ThreadPoolExecutor(WRITERS) as pool:  # WRITERS processes at all times, each starting the next run when one ends
        runs = list(pool.map(lambda share: drill(vault, "--partial", share, "--json"), shares))
    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs if run.returncode != 0][:3]
    recorded = {event.hash: event.data["drill_id"] for event in log_events(vault)}
    printed = [run.json() for run in runs]
    assert all(recorded.get(said["head"]) == said["drill_id"] for said in printed)
    assert len(recorded) == len(printed) + 1  # and the fixture's drill
    verified = run_cli(vault, "transcript", "verify", "v")
    assert verified.returncode == 0, verified.stderr


@contextlib.contextmanager
def holding_lock(work: Path) -> Iterator[None]:
    """The vault's writer lock, held by this process as another coldvault command holds it (its pid and command written in)."""
    descriptor = os.open(work / "v" / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, f"{os.getpid()} coldvault extend\n".encode())
        yield
    finally:
        os.close(descriptor)


def test_a_writer_blocked_past_wait_refuses_with_exit_5_and_writes_nothing(vault: Path) -> None:
    before = (vault / LOG).read_bytes()
    with holding_lock(vault):
        started = time.monotonic()
        blocked = drill(vault, "--partial", SHARES[1], "--wait", "1")
        waited = time.monotonic() - started
    assert blocked.returncode == 5 and waited >= 1
    holder = f"(pid {os.getpid()}: coldvault extend)"
    assert f"waiting for another coldvault command writing v {holder} (up to 1 s)\n" in blocked.stderr
    assert f"error: v: another coldvault command is writing this vault {holder}; waited 1 s for its lock\n" in blocked.stderr
    assert "hint: run again when it has finished, or wait longer with --wait SECONDS" in blocked.stderr
    assert "Traceback" not in blocked.stderr and (vault / LOG).read_bytes() == before
    assert drill(vault, "--partial", SHARES[1]).returncode == 0  # the lock is let go with its holder


def test_a_writer_waits_for_the_lock_saying_so_and_then_records(vault: Path) -> None:
    env = {name: value for name, value in os.environ.items() if name != "COLDVAULT_DEBUG"}
    with holding_lock(vault):
        waiting = subprocess.Popen([sys.executable, "-m", "vault", "drill", "run", "--manifest", MANIFEST, "--partial", SHARES[2]],
                                   cwd=vault, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert waiting.stderr is not None
        said = waiting.stderr.readline()  # the lock is let go only once the writer says it waits
    out, rest = waiting.communicate(timeout=120)
    assert said == f"waiting for another coldvault command writing v (pid {os.getpid()}: coldvault extend) (up to 60 s)\n"
    assert waiting.returncode == 0, rest
    assert f"recorded in {LOG}" in out and len(log_events(vault)) == 2


def test_a_lock_file_that_is_a_link_is_refused_and_its_target_untouched(vault: Path) -> None:
    (vault / "v" / LOCK_FILE).unlink()  # the fixture's drill made it
    (vault / "v" / LOCK_FILE).symlink_to(vault / "elsewhere")
    result = drill(vault, "--partial", SHARES[1])
    assert result.returncode == 5
    assert f"error: v/{LOCK_FILE}: is a symbolic link; a vault's lock file is a regular file: refusing to use it" in result.stderr
    assert not (vault / "elsewhere").exists() and len(log_events(vault)) == 1


def test_a_read_only_vault_folder_is_refused_with_exit_5(vault: Path) -> None:
    """As a vault copied to read-only media: no lock file there yet, and none can be made."""
    prefix = _root_without_dac_override()
    folder = vault / "v"
    (folder / LOCK_FILE).unlink()  # the fixture's drill made it
    folder.chmod(0o555)
    try:
        done = subprocess.run([*prefix, sys.executable, "-m", "vault", "drill", "run", "--manifest", MANIFEST, "--partial", SHARES[1]],
                              cwd=vault, capture_output=True, text=True, timeout=120,
                              env={name: value for name, value in os.environ.items() if name != "COLDVAULT_DEBUG"})
    finally:
        folder.chmod(0o755)
    assert done.returncode == 5, done.stderr
    assert done.stderr.startswith(f"error: v/{LOCK_FILE}: cannot make the vault's lock file: permission denied\n")
    assert "Traceback" not in done.stderr and len(log_events(vault)) == 1


# ---------------------------------------------------------------- time


def test_a_clock_behind_the_logs_last_record_is_refused_before_any_share_is_read(vault: Path) -> None:
    """The last record is dated 2099 (as a machine with its clock set ahead writes it): this machine's clock is behind it."""
    append_record(vault, last_record(vault), FUTURE, [SHARES[0]])
    before = (vault / LOG).read_bytes()
    result = drill(vault, "--partial", "no-such-share.txt")  # a share read first would be refused as missing
    assert result.returncode == 3
    assert re.search(r"^error: the clock says \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, but v/drills\.jsonl's last record is dated "
                     r"2099-01-01T00:00:00Z; set the clock$", result.stderr, re.MULTILINE), result.stderr
    assert (vault / LOG).read_bytes() == before


def test_a_failure_re_dated_to_the_future_is_named_not_hidden(vault: Path) -> None:
    """An unsigned failure record dated 2099 was ignored as not yet happened: share 1 read current, exit 0.
    Named by every reader: `drill status`, `drill report`, `transcript verify`, `fleet status`."""
    append_record(vault, failed(last_record(vault), "the card is lost"), FUTURE)
    problem = "v/drills.jsonl line 2: dated 2099-01-01T00:00:00Z, after this machine's clock ("
    result = status(vault, "--json")
    assert result.returncode == 1
    assert result.json()["tampered"] is True
    assert [finding["line"] for finding in result.json()["findings"]] == [2]
    assert result.json()["findings"][0]["problem"].startswith(problem)
    assert f"TAMPERED: {problem}" in status(vault).stdout
    report = run_cli(vault, "drill", "report", "--manifest", MANIFEST, "--out", "report.html")
    assert report.returncode == 1 and html.escape(problem) in (vault / "report.html").read_text()
    verified = run_cli(vault, "transcript", "verify", "v")
    assert verified.returncode == 1 and problem in verified.stderr
    fleet = run_cli(vault, "fleet", "status", "v")
    assert fleet.returncode == 1 and f"TAMPERED: {problem}" in fleet.stdout


def test_a_record_dated_before_the_line_before_it_is_a_weak_point(vault: Path) -> None:
    """A signed pass written with a clock set back: it counts, in the log's order, and is named."""
    first = log_events(vault)[0].time
    append_record(vault, last_record(vault), datetime.now(timezone.utc) - timedelta(days=3), [SHARES[0]])
    line_2 = log_events(vault)[1].time
    sentence = f"v/drills.jsonl line 2 is dated {line_2}, before line 1 ({first}): written with a clock set back, or re-dated"
    result = status(vault)
    assert result.returncode == 0, result.stderr
    assert f"weak point: {sentence}" in result.stdout
    verified = run_cli(vault, "transcript", "verify", "v", "--json")
    assert verified.returncode == 0, verified.stderr
    assert [doubt["line"] for doubt in verified.json()["drills_out_of_order"]] == [2]


# ---------------------------------------------------------------- names


@pytest.fixture
def named(tmp_path: Path) -> Path:
    """A ceremony's vault, whose shares have custodians (Alice, Bob, Carol), and a partial drill of Alice's share."""
    assert run_cli(tmp_path, "ceremony", "init", "plan.toml").returncode == 0
    plan = tmp_path / "plan.toml"
    plan.write_text(plan.read_text().replace("iteration_exponent = 1 ", "iteration_exponent = 0 "))
    made = run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", "--yes")
    assert made.returncode == 0, made.stderr
    assert run_cli(tmp_path, "drill", "run", "--manifest", "vault/manifest.json", "--partial", ALICE).returncode == 0
    return tmp_path


ALICE = "vault/custodians/alice/share.txt"


@pytest.mark.parametrize("field, value, problem", [
    ("custodian", "Bob", "records Alice's share as Bob's share"),
    ("member_index", 1, "records Alice's share at group_index 0, member_index 1; the manifest lists it at 0, 0"),
])
def test_a_check_labelled_otherwise_than_the_manifest_is_named(named: Path, field: str, value: object, problem: str) -> None:
    """Alice signs her own check with her share's key, labelled as Bob's: the report's drill list showed "Bob: passed"."""
    record = drills.from_event(log_events(named, "vault")[-1])
    relabelled = dataclasses.replace(record, shares=(dataclasses.replace(record.shares[0], **{field: value}),))
    append_record(named, relabelled, datetime.now(timezone.utc), [ALICE], "vault")
    result = run_cli(named, "drill", "status", "--manifest", "vault/manifest.json")
    assert result.returncode == 1
    assert f"TAMPERED: vault/drills.jsonl line 2: {problem} (not counted)" in result.stdout
    report = run_cli(named, "drill", "report", "--manifest", "vault/manifest.json", "--out", "report.html")
    page = (named / "report.html").read_text()
    assert report.returncode == 1 and html.escape(problem) in page and "Bob: passed" not in page


# ---------------------------------------------------------------- events


def test_a_line_of_another_event_is_named_and_never_appended_to(vault: Path) -> None:
    """docs/drills.md allows only `drill` records; such a line was skipped without a word."""
    chain = transcript.append(transcript.Chain(log_events(vault)), "note", {"text": "all good"}, datetime.now(timezone.utc))
    (vault / LOG).write_text(transcript.to_text(chain))
    problem = "v/drills.jsonl line 2: a 'note' event: a drill log holds 'drill' records only"
    result = status(vault)
    assert result.returncode == 1 and problem in result.stdout
    verified = run_cli(vault, "transcript", "verify", "v")
    assert verified.returncode == 1 and problem in verified.stderr
    before = (vault / LOG).read_bytes()
    appended = drill(vault, "--partial", SHARES[1])
    assert appended.returncode == 1 and problem in appended.stderr and (vault / LOG).read_bytes() == before
