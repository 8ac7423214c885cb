"""`coldvault drill status` on a drill log of N records, against the same command on a log of one.

Run by hand: `.venv/bin/python benchmarks/drill_log.py [--records N] [--runs R]`
(default 100,000 records, 3 runs). Everything is measured in this one run, on this
machine, and printed as times and ratios:

1. `coldvault split` makes a 16-custodian vault (4 groups of 4, any 2 groups).
2. A drill log of N single-share checks is written as `coldvault drill run --partial`
   writes each one: the record from the real proof and verdict (vault.core.proof,
   vault.core.drill), its `data` from vault.core.formats.drills.to_data, its line from
   vault.core.formats.transcript.next_event, one custodian after another, the dates
   spread evenly over the five years before today.
3. `coldvault drill status` in a subprocess (wall time, start-up included; and its
   CPU time, which other load on the machine changes less) on that log and on a log
   of its first record only; the difference is the log's cost.
4. In-process: reading the log (line by line, each line checked and chained), then
   reading its records, then readiness (records included), as `drill report` does;
   and readiness from the log's end, as `drill status` does (every line chained, only
   the lines the verdict needs read; docs/attestation.md, "Cost").
5. `coldvault drill run --partial` with one share on the long log (it reads the log,
   checks it, and rewrites it with one more line), and `coldvault transcript verify`
   when the vault has a transcript.

The target (issue 14): `drill status` on 100,000 records under 2 s on this machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from vault.core.events import DRILL
from vault.core import attestation, drill, evidence, proof
from vault.core.attestation import SigningKey
from vault.core.formats import drills, sharefile, transcript
from vault.core.formats import manifest as mf
from vault.core.formats.drills import DrillKind, DrillRecord
from vault.edges import fsio
from vault.flows.vaults import read_events, read_manifest

COLDVAULT = [sys.executable, "-m", "vault"]
SPLIT = ["split", "--generate", "256", "--group-threshold", "2", *["--group", "3of4"] * 4]
YEARS = 5
OPERATORS = ("Dana Whitfield", "Erin Okafor", "Frank Lindqvist")
WITNESSES = ("Grace Moreau", "Heidi Tanaka")


def timed(function: Callable[[], object], runs: int) -> float:
    """Median seconds of `function()` over `runs` runs."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def cpu_seconds(function: Callable[[], object], runs: int) -> float:
    """Median CPU seconds (user and system) of the subprocesses `function()` runs: what other load on the machine changes least."""
    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        function()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(samples)


def coldvault(*args: str | Path) -> Callable[[], object]:
    command = [*COLDVAULT, *map(str, args)]
    return lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


Check = tuple[DrillRecord, SigningKey]
"""A custodian's single-share check, and the attestation key derived from their share that signs it."""


def share_checks(vault: Path) -> list[Check]:
    """Each custodian's single-share check, as `drill run --partial SHARE` judges it: one record per share."""
    read = read_manifest(vault / "manifest.json")
    checks = []
    for entry in read.manifest.shares:
        share = sharefile.parse((vault / entry.file).read_text())
        checked = proof.prove([proof.Given(str(vault / entry.file), share)], read.manifest, None)
        judged = drill.outcome(checked, read.manifest, DrillKind.SHARES, "", OPERATORS[0], WITNESSES, read.sha256)
        assert judged.passed, judged.reasons
        checks.append((judged.record, attestation.share_key(share, read.manifest.ceremony.id)))
    return checks


def records(templates: list[Check], count: int, now: datetime) -> Iterator[tuple[datetime, DrillRecord, SigningKey]]:
    """`count` drills, custodian after custodian, evenly over the YEARS before `now`, oldest first."""
    span = timedelta(days=365 * YEARS)
    for number in range(count):
        template, key = templates[number % len(templates)]
        record = dataclasses.replace(template, drill_id=str(uuid.uuid4()), operator=OPERATORS[number % len(OPERATORS)])
        yield now - span + span * number / count, record, key


def write_log(path: Path, drilled: Iterator[tuple[datetime, DrillRecord, SigningKey]]) -> int:
    """The log as `drill run` writes it, one attested line per record (docs/attestation.md); its size in bytes."""
    previous = None
    with open(path, "w", encoding="ascii") as log:
        for when, record, key in drilled:
            unsigned = transcript.next_event(previous, DRILL, drills.to_data(record), when)
            signed = evidence.sign(record, unsigned, [(drills.Signer.SHARE, record.shares[0].share_fingerprint, key)])
            previous = transcript.next_event(previous, DRILL, drills.to_data(signed), when)
            log.write(transcript.to_line(previous))
    return path.stat().st_size


def attestation_costs(check: Check, runs: int = 2000) -> tuple[float, float]:
    """Seconds to sign one record and to verify one signature (each the mean of `runs`)."""
    record, key = check
    event = transcript.next_event(None, DRILL, drills.to_data(record), datetime.now(timezone.utc))
    message = drills.signed_message(event)
    signature = key.sign(message)
    sign_s = timed(lambda: [key.sign(message) for _ in range(runs)], 1) / runs
    verify_s = timed(lambda: [attestation.verifies(key.public_key, signature, message) for _ in range(runs)], 1) / runs
    return sign_s, verify_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    count, runs = arguments.records, arguments.runs
    work = Path(tempfile.mkdtemp(prefix="coldvault-bench-"))
    now = datetime.now(timezone.utc)

    big = work / "vault"
    coldvault(*SPLIT, "--out", big)()
    templates = share_checks(big)
    start = time.perf_counter()
    size = write_log(big / transcript.DRILLS_FILE, records(templates, count, now))
    write_s = time.perf_counter() - start
    one = work / "one"
    shutil.copytree(big, one, ignore=shutil.ignore_patterns(transcript.DRILLS_FILE))
    write_log(one / transcript.DRILLS_FILE, records(templates, 1, now))

    status_one_s = timed(coldvault("drill", "status", "--manifest", one / "manifest.json"), runs)
    status_big_s = timed(coldvault("drill", "status", "--manifest", big / "manifest.json"), runs)
    cpu_one_s = cpu_seconds(coldvault("drill", "status", "--manifest", one / "manifest.json"), runs)
    cpu_big_s = cpu_seconds(coldvault("drill", "status", "--manifest", big / "manifest.json"), runs)
    log = big / transcript.DRILLS_FILE
    manifest = mf.from_json((big / "manifest.json").read_text())
    read_s = timed(lambda: read_events(log), runs)
    events = read_events(log)
    with fsio.bulk_reading():  # as `drill status` computes readiness
        records_s = timed(lambda: evidence.examine(manifest, events, now=now), runs)
        readiness_s = timed(lambda: drill.readiness(manifest, events, now.date(), now=now), runs)
        raw = log.read_bytes().splitlines(keepends=True)
        from_end_s = timed(lambda: drill.readiness_from_end(manifest, raw, now.date(), now=now), runs)
    verify_s = timed(coldvault("transcript", "verify", big), 1)  # every signature, not only each key's latest
    sign_s, check_s = attestation_costs(templates[0])
    shutil.copy(log, work / "drills.jsonl.copy")
    run_s = timed(coldvault("drill", "run", "--manifest", big / "manifest.json", "--partial", big / manifest.shares[0].file), 1)
    shutil.move(work / "drills.jsonl.copy", log)

    per_record_us = (status_big_s - status_one_s) / count * 1e6
    print(f"16-custodian vault (4 groups of 3 of 4, any 2 groups); drill log of {count:,} single-share checks,"
          f" {size / 2**20:.1f} MiB ({size / count:.0f} bytes a line), written in {write_s:.1f} s")
    print(f"  coldvault drill status, 1 record:          {status_one_s * 1000:8.0f} ms (start-up, manifest)")
    print(f"  coldvault drill status, {count:,} records: {status_big_s * 1000:8.0f} ms"
          f"   {status_big_s / status_one_s:.1f}x the 1-record log; {per_record_us:.1f} us a record (target: under 2000 ms)")
    print(f"  the same, CPU time (user + system):         {cpu_one_s * 1000:8.0f} ms and {cpu_big_s * 1000:.0f} ms"
          f" (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"  in-process: reading and checking the log  {read_s * 1000:8.0f} ms   {read_s / count * 1e6:.1f} us a line")
    print(f"  in-process: the records and their evidence {records_s * 1000:8.0f} ms   {records_s / count * 1e6:.1f} us a record"
          " (each key's latest signature verified)")
    print(f"  in-process: readiness (records included)   {readiness_s * 1000:8.0f} ms   {readiness_s / count * 1e6:.1f} us a record")
    print(f"  in-process: readiness from the log's end   {from_end_s * 1000:8.0f} ms   (as `drill status`: lines chained,"
          " only the recent ones read)")
    print(f"  coldvault transcript verify:               {verify_s * 1000:8.0f} ms (every one of the {count:,} signatures)")
    print(f"  one attestation: signing {sign_s * 1e6:.0f} us, verifying {check_s * 1e6:.0f} us (Ed25519, pyca/cryptography)")
    print(f"  coldvault drill run --partial (one share): {run_s * 1000:8.0f} ms (reads the log, rewrites it one line longer)")
    print(f"  medians of {runs} runs; outputs in {work} (a throwaway vault; delete when done)")


if __name__ == "__main__":
    main()
