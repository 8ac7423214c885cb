"""Scale and odd input (issue 14): long drill logs, huge counts, far dates, odd names and paths.

Each of these ended in a size cliff or in exit 70 (an internal error) before. Every
test runs the real CLI in a subprocess on real files; logs are written with the
real writer (vault.core.formats.transcript.next_event), as `drill run` writes them.
The speed of reading a long log is measured by benchmarks/drill_log.py, not here.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import Run, run_cli

from vault.core.events import DRILL
from vault.core import evidence
from vault.core.formats import drills, fields, transcript
from vault.core.formats import transcript_reader
from vault.core.formats import manifest as mf
from vault.core.formats.fields import Fields, JsonPath
from vault.core.slip39.share import parse_share
from vault.errors import InvalidInput

FAST = ("--iteration-exponent", "0")
SECRET_HEX = "5eed" * 8
ONE_MIB = 1 << 20


def assert_ok(run: Run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"


def assert_refused(run: Run, code: int, *says: str) -> None:
    detail = f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.returncode == code, detail
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, detail
    for said in says:
        assert said in run.stderr, f"{said!r} not said\n{detail}"


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    """A 2-of-3 vault made by `coldvault split`, with one partial drill in its log (by `drill run`)."""
    (tmp_path / "secret.hex").write_text(SECRET_HEX + "\n")
    assert_ok(run_cli(tmp_path, "split", "--scheme", "2of3", "--secret-file", "secret.hex", "--out", "vault", *FAST))
    assert_ok(run_cli(tmp_path, "drill", "run", "--manifest", "vault/manifest.json", "--partial", "vault/shares/group1-share1.txt",
                      "--operator", "Dana"))
    return tmp_path / "vault"


def last_event(log: Path) -> transcript.Event:
    return transcript_reader.parse_bytes(log.read_bytes(), str(log))[-1]


def append_records(log: Path, data: dict[str, Any], count: int, when: datetime, sign: bool = True) -> None:
    """`count` more lines of `data` (each its own drill id), chained to the log's last line and signed by the
    vault's shares (docs/attestation.md), as `drill run` writes them; unsigned (as they are) with `sign` False."""
    manifest = mf.from_json((log.parent / "manifest.json").read_text())
    shares = [parse_share(next(line for line in path.read_text().splitlines() if not line.startswith("#")))
              for path in sorted((log.parent / "shares").glob("*.txt"))]
    previous = last_event(log)
    with open(log, "a", encoding="ascii") as stream:
        for number in range(count):
            unsigned = transcript.next_event(previous, DRILL, {**data, "drill_id": f"drill-{number}", "attestations": []}, when)
            if sign:
                record = drills.from_event(unsigned)
                signed = evidence.sign(record, unsigned, evidence.signing_keys(record, manifest, shares, None))
                unsigned = transcript.next_event(previous, DRILL, drills.to_data(signed), when)
            previous = unsigned
            stream.write(transcript.to_line(previous))


# ---------------------------------------------------------------- long logs


def test_a_drill_log_past_one_mib_is_read_and_appended_to(vault: Path) -> None:
    """The old reader stopped every drill command at 1 MiB (about 1,170 single-share checks)."""
    log = vault / transcript.DRILLS_FILE
    first = last_event(log)
    append_records(log, first.data, 1500, datetime.now(timezone.utc) - timedelta(days=1))
    assert log.stat().st_size > ONE_MIB

    status = run_cli(vault.parent, "drill", "status", "--manifest", "vault/manifest.json", "--json")
    assert_ok(status)
    assert status.json()["recoverable"] is True
    assert_ok(run_cli(vault.parent, "drill", "run", "--manifest", "vault/manifest.json", "--partial", "vault/shares/group1-share2.txt"))
    assert log.read_bytes().count(b"\n") == 1502
    assert transcript_reader.parse_bytes(log.read_bytes())[-1].data["shares"][0]["member_index"] == 1


def test_a_line_longer_than_one_mib_is_refused_naming_it(vault: Path) -> None:
    log = vault / transcript.DRILLS_FILE
    first = last_event(log)
    unhashed = {"seq": 1, "time": first.time, "event": "drill", "data": {"note": "x" * ONE_MIB}, "prev": first.hash}
    log.write_bytes(log.read_bytes() + (transcript.canonical_line({**unhashed, "hash": transcript.line_hash(unhashed)}) + "\n").encode())
    status = run_cli(vault.parent, "drill", "status", "--manifest", "vault/manifest.json")
    assert_refused(status, 1, "drills.jsonl line 2: is longer than 1024 KiB")


def test_a_line_longer_than_one_mib_is_never_written(vault: Path) -> None:
    """A drill record that would not fit one line (thousands of long paths) is refused before the log is touched."""
    log = vault / transcript.DRILLS_FILE
    before = log.read_bytes()
    long_name = "x" * 200
    paths = []
    for number in range(6000):
        path = vault.parent / f"{long_name}{number}.txt"
        path.write_text("not a share\n")
        paths.append(path.name)
    drilled = run_cli(vault.parent, "drill", "run", "--manifest", "vault/manifest.json", "--partial", *paths)
    assert_refused(drilled, 3, "a transcript line may hold 1048576 (1 MiB)")
    assert log.read_bytes() == before


# ---------------------------------------------------------------- counts beyond 2^53


def big_plan() -> str:
    """4 groups of 16 custodians, 8 of each needed, all 4 groups needed: C(16,8)^4 = 27,435,582,641,610,000 > 2^53."""
    lines = ['format = "coldvault-plan/1"', "[ceremony]", 'name = "Four boards"', 'operator = "Dana"', 'witnesses = ["Erin"]',
             "[secret]", 'source = "generate"', "bits = 128", "[slip39]", "group_threshold = 4", "iteration_exponent = 0"]
    for group in range(1, 5):
        lines += ["[[group]]", f'name = "Board {group}"', "threshold = 8"]
        for member in range(1, 17):
            lines += ["[[group.custodian]]", f'name = "Member {group}-{member}"', 'delivery = "paper"']
    return "\n".join(lines) + "\n"


def test_a_plan_whose_subset_count_exceeds_two_to_the_53_runs_and_drills(tmp_path: Path) -> None:
    """It ended in exit 70 after the secret existed: the count went into the transcript as a number past I-JSON's range."""
    (tmp_path / "plan.toml").write_text(big_plan())
    ran = run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", "--yes")
    assert_ok(ran)
    events = [json.loads(line) for line in (tmp_path / "vault" / transcript.TRANSCRIPT_FILE).read_text().splitlines()]
    proven = next(event["data"] for event in events if event["event"] == "recovery-proven")
    assert proven["qualifying_subsets"] == "27435582641610000"
    assert_ok(run_cli(tmp_path, "transcript", "verify", "vault"))

    shares = sorted(str(path.relative_to(tmp_path)) for path in (tmp_path / "vault").rglob("share.txt"))
    assert len(shares) == 64
    drilled = run_cli(tmp_path, "drill", "run", "--manifest", "vault/manifest.json", *shares, "--json")
    assert_ok(drilled)
    assert drilled.json()["quorum"]["qualifying_subsets"] == "27435582641610000"
    status = run_cli(tmp_path, "drill", "status", "--manifest", "vault/manifest.json", "--json")
    assert_ok(status)
    assert status.json()["last_quorum_drill"] == datetime.now(timezone.utc).date().isoformat()


def _quorum(count: object) -> Fields:
    return Fields({"qualifying_subsets": count}, JsonPath("quorum", drills.FORMAT))


@pytest.mark.parametrize("count", [0, 12870, fields.MAX_SAFE_INTEGER, fields.MAX_SAFE_INTEGER + 1, 12870**4, 10**99])
def test_a_count_is_written_one_way_and_read_back(count: int) -> None:
    written = fields.count(count)
    assert isinstance(written, int) == (count <= fields.MAX_SAFE_INTEGER)
    assert _quorum(json.loads(fields.canonical(written))).count("qualifying_subsets") == count


@pytest.mark.parametrize("count", ["12870", str(fields.MAX_SAFE_INTEGER), "027435582641610000", "-27435582641610000",
                                   "2.7e16", " 27435582641610000", "٢٧٤٣٥٥٨٢٦٤١٦١٠٠٠٠", -1, 1.5, True, None, "9" * 101])
def test_a_count_in_another_spelling_is_refused(count: object) -> None:
    with pytest.raises(InvalidInput, match="quorum.qualifying_subsets should be a whole number from 0; above 2"):
        _quorum(count).count("qualifying_subsets")


# ---------------------------------------------------------------- far dates


def test_a_report_far_in_the_future_is_written(vault: Path) -> None:
    """It ended in exit 70: the timeline had no tick spacing for a span of more than 80 years."""
    report = run_cli(vault.parent, "drill", "report", "--manifest", "vault/manifest.json", "--out", "r.html", "--as-of", "2107-01-01")
    assert_ok(report)
    page = (vault.parent / "r.html").read_text()
    assert "as of 2107-01-01" in page and "NOT RECOVERABLE" in page
    latest = run_cli(vault.parent, "drill", "report", "--manifest", "vault/manifest.json", "--out", "s.html", "--as-of", "9989-12-22")
    assert_ok(latest)
    status = run_cli(vault.parent, "drill", "status", "--manifest", "vault/manifest.json", "--as-of", "2107-01-01")
    assert_refused(status, 1, "as of 2107-01-01 the vault is NOT recoverable")


@pytest.mark.parametrize("command", ["status", "report"])
def test_an_as_of_day_past_what_the_calendar_holds_is_refused_first(vault: Path, command: str) -> None:
    out = ["--out", "r.html"] if command == "report" else []
    run = run_cli(vault.parent, "drill", command, "--manifest", "vault/manifest.json", *out, "--as-of", "9999-12-31")
    assert_refused(run, 3, "--as-of 9999-12-31 is too far ahead: readiness can be computed up to 9989-12-22")
    assert not (vault.parent / "r.html").exists()


# ---------------------------------------------------------------- odd names and paths


def test_an_operator_name_that_is_not_text_is_refused_naming_its_line(vault: Path) -> None:
    """A lone surrogate (JSON "\\udc80") in a well-chained record made every later `drill report` exit 70."""
    log = vault / transcript.DRILLS_FILE
    append_records(log, {**last_event(log).data, "operator": "Dana \udc80"}, 1, datetime.now(timezone.utc), sign=False)
    assert b'"operator":"Dana \\udc80"' in log.read_bytes()
    for command, out in (("report", ["--out", "r.html"]), ("status", [])):
        run = run_cli(vault.parent, "drill", command, "--manifest", "vault/manifest.json", *out)
        assert_refused(run, 3, "drills.jsonl line 2: not a drill record", "data.operator is not text: it holds a lone UTF-16 surrogate")
    assert not (vault.parent / "r.html").exists()


@pytest.mark.parametrize("name", ["v[1]", "v*", "v?", "[!a]v"])
def test_a_leftover_staging_folder_is_found_when_out_holds_glob_characters(tmp_path: Path, name: str) -> None:
    (tmp_path / "secret.hex").write_text(SECRET_HEX + "\n")
    leftover = tmp_path / f".{name}.coldvault-staging-k3j2"
    leftover.mkdir()
    split = run_cli(tmp_path, "split", "--scheme", "2of3", "--secret-file", "secret.hex", "--out", name, *FAST)
    assert_ok(split)
    assert f"warning: {leftover.name} is left from an interrupted run" in split.stderr.replace(str(tmp_path) + "/", "")
    (tmp_path / "plan.toml").write_text(big_plan())
    (tmp_path / f".{name}c.coldvault-staging-k3j2").mkdir()
    ceremony = run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", f"{name}c", "--yes")
    assert_refused(ceremony, 5, f".{name}c.coldvault-staging-k3j2 is left from an interrupted run")
    assert not (tmp_path / f"{name}c").exists()


# ---------------------------------------------------------------- the drill record reader's fast path


_RECORD = {
    "drill_id": "2f0c6f1e-4a59-4b8f-9d1e-6c1f3b0f9a11", "kind": "quorum", "ceremony_id": "00000000-0000-4000-8000-000000000000",
    "manifest_sha256": "ab" * 32, "operator": "Dana", "witnesses": ["Erin", "Zo\u00eb"],
    "shares": [{"source": "alice/share.txt", "share_fingerprint": "07" * 16, "custodian": "Alice", "group_index": 0,
                "member_index": 1, "result": "passed", "reason": "listed in the manifest, checksum and group agree"}],
    "quorum": {"result": "failed", "reason": "no quorum", "qualifying_subsets": 0}, "result": "failed", "reasons": ["no quorum"],
    "attestations": [{"signer": "share", "share_fingerprint": "07" * 16, "signature": "A" * 86 + "=="}],
}
_ODD_VALUES = [None, True, False, -1, 0, 1, 15, 16, fields.MAX_SAFE_INTEGER, fields.MAX_SAFE_INTEGER + 1, 1.0, "",
               "quorum", "shares", "passed", "failed", "not-attempted", "ab" * 32, "07" * 16, "AB" * 32, "Dana \udc80", "12",
               "27435582641610000", [], ["x"], ["\udc80"], [1], {}, [{}], [_RECORD["shares"][0]],
               "vault", "share", "A" * 86 + "==", "A" * 86 + "=", "A" * 87 + "=", "B" * 86 + "==", "A" * 84 + "====", "A" * 88]
_PATHS = ([(key,) for key in _RECORD] + [("quorum", key) for key in _RECORD["quorum"]] + [("shares", 0, key) for key in _RECORD["shares"][0]]
          + [("attestations", 0, key) for key in _RECORD["attestations"][0]])


def _record_event(data: dict) -> transcript.Event:
    return transcript.Event(0, "2026-11-21T17:50:00Z", DRILL, data, transcript.GENESIS, "0" * 64)


@pytest.mark.parametrize("path", _PATHS, ids=lambda path: ".".join(map(str, path)))
def test_the_fast_record_reader_accepts_only_what_the_strict_one_accepts(path):
    """drills._as_written (plain checks, no messages) against drills._read_strictly (field by field, naming the field),
    on the record with one field given each odd value, left out, or joined by an unknown field."""
    assert drills._as_written(json.loads(json.dumps(_RECORD))) == drills._read_strictly(_record_event(_RECORD), "drills.jsonl")
    *parents, key = path
    for change in [*_ODD_VALUES, "<drop>", "<extra>"]:
        data = json.loads(json.dumps(_RECORD))
        holder = data
        for step in parents:
            holder = holder[step]
        if change == "<drop>":
            del holder[key]
        elif change == "<extra>":
            holder["unknown"] = 1
        else:
            holder[key] = change
        fast = drills._as_written(data)
        try:
            strict = drills._read_strictly(_record_event(data), "drills.jsonl")
        except InvalidInput:
            assert fast is None, (path, change)
        else:
            assert fast is None or fast == strict, (path, change)  # None: the strict reader reads it (a count as digits)
