"""`coldvault fleet status` on N vaults of 16 custodians with R drill records each, against one `drill status`.

Run by hand: `.venv/bin/python benchmarks/fleet.py [--vaults N] [--records R] [--runs K]`
(default 1,000 vaults, 50 records, 3 runs). Everything is measured in this one run:

1. N real vaults, each split in this process by the flow `coldvault split` runs
   (vault.flows.split: a generated seed, 4 groups of 3 of 4, any 2 groups; its
   manifest, shares and transcript), each with its own ceremony id, identifier and
   attestation keys: a drill record is bound to its vault, so none is copied.
2. Each vault's drill log: R single-share checks, judged and signed as `drill run
   --partial` does (benchmarks/drill_log.py: share_checks, records, write_log).
   Every third vault is extended (vault.flows.extend, as `coldvault extend` runs it: a
   new custodian in group 1, the revision sealed by the group's key) into a second
   folder, so it is found at two revisions (the first a stale copy of the second);
   every fifth also has a backup of its folder whose log holds the first half of the
   records. `fleet status` verifies every history and compares the copies'.
3. `coldvault fleet status DIR` and `coldvault drill status` on one of the vaults,
   each in a subprocess: wall time (median of K runs, start-up included) and peak
   memory (ru_maxrss of that process alone, measured from a parent of its own).

The target (issues 17 and 22): 1,000 vaults of 16 custodians with 50 records each, a third at two revisions
and some with copies, every history verified, under 10 s and under 1 GiB on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from drill_log import records, share_checks, timed, write_log

from vault.core.backup import SplitOptions
from vault.core.formats import transcript
from vault.flows import extend, split
from vault.flows.packets import Sealing
from vault.flows.tokens import TokenOptions

COLDVAULT = [sys.executable, "-m", "vault"]
GROUPS = ["3of4"] * 4
PEAK_RSS = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);" \
           " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
"""A parent of its own for the measured process, so that its peak is not mixed with any other child's."""


def make_vault(out: Path, number: int, count: int, now: datetime) -> None:
    """A vault as `coldvault split --generate 256 --group-threshold 2 --group 3of4 x4` makes it, and its drill log."""
    split.split(out, split.scheme_from_flags(None, 2, GROUPS, []), SplitOptions(iteration_exponent=0, ceremony_name=f"desk {number}"),
                split.SecretFlags(256, None, None), None, False, clock=lambda: now)
    write_log(out / transcript.DRILLS_FILE, records(share_checks(out), count, now))


def stale_copy(vault: Path, to: Path) -> None:
    """A backup of `vault` taken halfway through its drills: the first half of its log's lines."""
    shutil.copytree(vault, to)
    lines = (to / transcript.DRILLS_FILE).read_bytes().splitlines(keepends=True)
    (to / transcript.DRILLS_FILE).write_bytes(b"".join(lines[:max(1, len(lines) // 2)]))


def revise(vault: Path, out: Path, now: datetime) -> None:
    """Revision 2 of `vault` in `out`, as `coldvault extend --group 1 SHARE x3 --custodian NEW` makes it."""
    basis = sorted((vault / "shares").glob("group1-share*.txt"))[:3]
    extend.extend(vault / "manifest.json", 1, basis, ["New custodian"], out, Sealing(), TokenOptions(), clock=lambda: now)


def run(*args: str | Path) -> None:
    subprocess.run([*COLDVAULT, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def peak_kib(*args: str | Path) -> int:
    """Peak resident memory (KiB, Linux's ru_maxrss) of `coldvault ARGS` alone."""
    measured = subprocess.run([sys.executable, "-c", PEAK_RSS, *COLDVAULT, *map(str, args)], capture_output=True, text=True, check=True)
    return int(measured.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vaults", type=int, default=1000)
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coldvault-fleet-bench-"))
    now = datetime.now(timezone.utc)

    start = time.perf_counter()
    for number in range(arguments.vaults):
        make_vault(work / f"desk-{number:04d}", number, arguments.records, now)
        if number % 3 == 0:
            revise(work / f"desk-{number:04d}", work / f"desk-{number:04d}-r2", now)
        if number % 5 == 0:
            stale_copy(work / f"desk-{number:04d}", work / f"backup-{number:04d}")
    made_s = time.perf_counter() - start
    one = work / "desk-0000" / "manifest.json"

    drill_s = timed(lambda: run("drill", "status", "--manifest", one), arguments.runs)
    fleet_s = timed(lambda: run("fleet", "status", work), arguments.runs)
    drill_kib, fleet_kib = peak_kib("drill", "status", "--manifest", one), peak_kib("fleet", "status", work)
    said = subprocess.run([*COLDVAULT, "fleet", "status", str(work)], capture_output=True, text=True, check=False)

    print(f"{arguments.vaults:,} vaults (4 groups of 3 of 4, any 2 groups: 16 custodians), {arguments.records} drill records each,"
          f" every third extended (two revisions), every fifth with a stale backup; made in {made_s:.1f} s")
    print(f"  coldvault drill status, one vault: {drill_s * 1000:8.0f} ms   peak {drill_kib / 1024:6.1f} MiB")
    print(f"  coldvault fleet status, all:       {fleet_s * 1000:8.0f} ms   peak {fleet_kib / 1024:6.1f} MiB"
          f"   {fleet_s / drill_s:.1f}x one drill status; {(fleet_s - drill_s) / arguments.vaults * 1000:.1f} ms a vault"
          " (target: under 10 s and 1 GiB)")
    print(f"  it said: {said.stdout.splitlines()[-1]} (exit {said.returncode})")
    print(f"  medians of {arguments.runs} runs; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs;"
          f" vaults in {work} (throwaway; delete when done)")


if __name__ == "__main__":
    main()
