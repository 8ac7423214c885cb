"""`coldvault verify` against brute force, and against its floor (one PBKDF2 decryption).

Run by hand: `.venv/bin/python benchmarks/verify.py [--samples N]`. Everything is
measured in this one run, on this machine, and printed as times and ratios:

1. 8-of-16, one group, all 16 shares, iteration exponent 1: `prove()` in-process and
   the whole CLI, against enumerating all C(16, 8) = 12,870 subsets with
   `shamir_mnemonic.combine_mnemonics`. The enumeration is *sampled* (N random
   subsets, timed, scaled to 12,870): the scaling is printed, not hidden.
2. The floor: one decryption of the master secret (SLIP-39's PBKDF2) alone;
   verify's own work is its time minus that.
3. 16 groups of 16, group threshold 8: the CLI's wall time, start-up included.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import shamir_mnemonic

from vault.core import proof
from vault.core.backup import SplitOptions, make_backup
from vault.core.scheme import make_scheme
from vault.core.secret import generate
from vault.core.slip39.share import parse_share
from vault.edges import fsio


def timed(function, repeat: int = 5) -> float:
    """Median seconds of `function()` over `repeat` runs."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def write_vault(backup, directory: Path) -> list[str]:
    fsio.write_directory(directory, backup.files)
    return [str(directory / entry.file) for entry in backup.manifest.shares]


def cli_seconds(directory: Path, shares: list[str], repeat: int = 5) -> float:
    command = [sys.executable, "-m", "vault", "verify", "--manifest", str(directory / "manifest.json"), *shares]
    return timed(lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40, help="subsets timed for the sampled enumeration")
    samples = parser.parse_args().samples
    now = datetime.now(timezone.utc)
    work = Path(tempfile.mkdtemp(prefix="coldvault-bench-"))

    # 1 and 2: 8-of-16.
    secret = generate(256)
    single = make_backup(secret, make_scheme(1, [(8, 16)]), b"", SplitOptions(iteration_exponent=1), now)
    mnemonics = [share.mnemonic for share in single.shares]
    given = [proof.Given(f"share-{i}", parse_share(m)) for i, m in enumerate(mnemonics)]
    assert proof.prove(given, single.manifest, None).secret_status == proof.SecretStatus.MATCHES

    prove_s = timed(lambda: proof.prove(given, single.manifest, None))
    groups = shamir_mnemonic.decode_mnemonics(mnemonics[:8])
    encrypted = shamir_mnemonic.recover_ems(groups)
    floor_s = timed(lambda: encrypted.decrypt(b""))
    subsets = list(itertools.combinations(mnemonics, 8))
    chosen = random.sample(subsets, min(samples, len(subsets)))
    start = time.perf_counter()
    for subset in chosen:
        assert shamir_mnemonic.combine_mnemonics(list(subset)) == secret.value
    per_subset = (time.perf_counter() - start) / len(chosen)
    enumeration_s = per_subset * len(subsets)
    cli_single_s = cli_seconds(work / "single", write_vault(single, work / "single"))
    startup_s = timed(lambda: subprocess.run([sys.executable, "-m", "vault", "--help"], check=True, stdout=subprocess.DEVNULL))

    print("8-of-16, one group, all 16 shares, iteration exponent 1")
    print(f"  enumeration, sampled: {len(chosen)} of {len(subsets)} subsets, {per_subset * 1000:.1f} ms each,"
          f" scaled: {enumeration_s:.1f} s")
    print(f"  prove() in-process:   {prove_s * 1000:8.1f} ms   {enumeration_s / prove_s:10.0f}x faster than enumeration")
    print(f"  coldvault verify CLI: {cli_single_s * 1000:8.1f} ms   {enumeration_s / cli_single_s:10.0f}x faster (start-up included)")
    print(f"  floor: one PBKDF2 decryption {floor_s * 1000:.1f} ms; verify's own work beyond it:"
          f" {(prove_s - floor_s) * 1000:.1f} ms in-process ({prove_s / floor_s:.2f}x the floor);"
          f" CLI start-up alone ({'--help'}): {startup_s * 1000:.1f} ms")

    # 3: 16 x 16, group threshold 8.
    thresholds = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 8]
    big = make_backup(secret, make_scheme(8, [(t, 16) for t in thresholds]), b"", SplitOptions(iteration_exponent=1), now)
    big_shares = write_vault(big, work / "big")
    cli_big_s = cli_seconds(work / "big", big_shares, repeat=3)
    big_given = [proof.Given(s, parse_share(m.mnemonic)) for s, m in zip(big_shares, big.shares)]
    big_result = proof.prove(big_given, big.manifest, None)
    assert big_result.ok and big_result.secret_status == proof.SecretStatus.MATCHES
    print("16 groups x 16 members, group threshold 8, all 256 shares, iteration exponent 1")
    print(f"  coldvault verify CLI: {cli_big_s * 1000:.1f} ms wall (target < 1000 ms), "
          f"{cli_big_s / floor_s:.1f}x the floor; minimal subsets proven: {big_result.qualifying_subsets:.3e}"
          f" (enumerating them at {per_subset * 1000:.1f} ms each: {big_result.qualifying_subsets * per_subset / 3.15e7:.2e} years)")
    print(f"outputs in {work} (throwaway secrets; delete when done)")
    assert math.comb(16, 8) == len(subsets)


if __name__ == "__main__":
    main()
