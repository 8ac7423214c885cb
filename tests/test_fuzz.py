"""The parsers' fuzz targets (docs/fuzzing.md): a short run of each, and every saved input replayed.

Files reach coldvault from custodians, token vendors and editors: a share file, an
envelope, a plan, a manifest or a log that is damaged or hostile must give an
`error:` line and the spec's exit code, never an "internal error" or a hang, and its
message must not carry an escape sequence to the terminal. The long runs (a million
executions per target) are made by hand with tests/fuzz/run.py; here each target
fuzzes for a few seconds, and the seed corpora and the reproducers of fixed
findings are replayed, so that a fixed bug stays fixed.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).parent / "fuzz"
sys.path.insert(0, str(FUZZ))

TARGETS = ("share", "envelope", "plan", "manifest", "transcript", "signature")
SECONDS_PER_TARGET = 5
"""Six targets, with start-up: about 40 s in all, well under CI's minute for fuzzing."""
INVALID = "invalid-"
"""Seeds named so are refused by design (tests/fuzz/make_corpus.py); every other seed parses."""


def target(name: str) -> ModuleType:
    return importlib.import_module(f"fuzz_{name}")


def saved(directory: str) -> list[Path]:
    return sorted(path for name in TARGETS for path in (FUZZ / directory / name).iterdir())


def label(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("name", TARGETS)
def test_a_short_fuzzing_run_finds_no_input_that_breaks_the_parser(name: str) -> None:
    completed = subprocess.run(
        [sys.executable, str(FUZZ / "run.py"), name, "--seconds", str(SECONDS_PER_TARGET)],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    row = re.search(rf"^{name}\s+(\d+)\s", completed.stdout, re.M)
    seeds = len([path for directory in ("corpus", "regressions") for path in (FUZZ / directory / name).iterdir()])
    assert row is not None and int(row.group(1)) > seeds, f"the fuzzer did not get past its seeds:\n{completed.stdout}"


@pytest.mark.parametrize("path", saved("corpus"), ids=label)
def test_every_seed_is_read_or_refused_as_its_name_says(path: Path) -> None:
    """Seeds are what coldvault and the docs write (they parse) and known-bad inputs (refused)."""
    parsed = target(path.parent.name).parse(path.read_bytes())
    if path.name.startswith(INVALID):
        assert parsed is None
    else:
        assert parsed is not None


@pytest.mark.parametrize("path", saved("regressions"), ids=label)
def test_every_reproducer_of_a_fixed_finding_is_refused_cleanly(path: Path) -> None:
    """Refused with the project's error and a message free of control characters (else `parse` raises)."""
    assert target(path.parent.name).parse(path.read_bytes()) is None


def test_a_long_share_file_with_a_bad_checksum_is_refused_at_once() -> None:
    """Locating a wrong word was quadratic in the length: 15 s for these 1001 words, hours for 1 MiB."""
    data = (FUZZ / "regressions" / "share" / "1001-words-bad-checksum.txt").read_bytes()
    started = time.monotonic()
    assert target("share").parse(data) is None
    assert time.monotonic() - started < 2


def test_drill_status_on_a_hand_written_drill_record_is_an_error_not_a_crash() -> None:
    """A drill log's chain proves nobody changed it since it was hashed, not that `drill run` wrote it:
    anyone can write a well-chained line. `coldvault drill status` on this one exited 70 (AttributeError)
    before drill records were read strictly (vault/core/formats/drills.py)."""
    from vault.core import drill
    from vault.core.formats import manifest, transcript, transcript_reader
    from vault.errors import VaultError

    vault = manifest.from_json((FUZZ / "corpus" / "manifest" / "ceremony-family.json").read_text())
    record = {"ceremony_id": vault.ceremony.id, "kind": "shares", "result": "passed", "shares": [1]}
    when = datetime.fromisoformat(vault.ceremony.created.replace("Z", "+00:00"))
    log = transcript.to_text(transcript.append(transcript.start(), "drill", record, when)).encode("ascii")
    events = transcript_reader.parse_bytes(log, "drills.jsonl")
    try:
        drill.readiness(vault, events, when.astimezone(timezone.utc).date(), now=when)
    except VaultError:
        pass
