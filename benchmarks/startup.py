"""Start-up cost of the CLI: `coldvault --help` against Trezor's `shamir --help`, in one run.

Run by hand: `.venv/bin/python benchmarks/startup.py [--runs N]`. The reference is
shamir-mnemonic's own click CLI (`shamir`, from the `bench` extra that `make test`
installs): a small command-line tool for the same job. The two commands run
alternately, N times; the ratio of each pair is taken, and the median ratio printed
(the target: 1.5 or less). Other commands' `--help` are shown against the same
reference, to see what each command's imports cost when it runs. Heavy imports
(PKCS#11, PDF, cryptography) must stay out of start-up; this shows when they creep in.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

REFERENCE = [sys.executable, "-c", "from shamir_mnemonic.cli import cli; cli()", "--help"]
COLDVAULT = [sys.executable, "-m", "vault"]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "coldvault --help": [*COLDVAULT, "--help"],
    "coldvault split --help": [*COLDVAULT, "split", "--help"],
    "coldvault drill run --help": [*COLDVAULT, "drill", "run", "--help"],
    "coldvault ceremony run --help": [*COLDVAULT, "ceremony", "run", "--help"],
}
TARGET_RATIO = 1.5


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    try:
        timed(REFERENCE)
    except subprocess.CalledProcessError:
        sys.exit("shamir's CLI does not run here: it needs click (`make test` installs the bench extra)")
    ratios: dict[str, list[float]] = {name: [] for name in COMMANDS}
    times: dict[str, list[float]] = {name: [] for name in [*COMMANDS, "shamir --help"]}
    for _ in range(runs):
        for name, command in COMMANDS.items():  # each right after its own reference run: noise hits both alike
            reference, ours = timed(REFERENCE), timed(command)
            times["shamir --help"].append(reference)
            times[name].append(ours)
            ratios[name].append(ours / reference)
    print(f"{runs} alternating runs of each command and `shamir --help`; median times, median of the pairs' ratios")
    print(f"  {'shamir --help':<30} {statistics.median(times['shamir --help']) * 1000:7.1f} ms")
    for name in COMMANDS:
        print(f"  {name:<30} {statistics.median(times[name]) * 1000:7.1f} ms   {statistics.median(ratios[name]):5.2f}x shamir --help")
    ratio = statistics.median(ratios["coldvault --help"])
    print(f"coldvault --help / shamir --help: {ratio:.2f} (target {TARGET_RATIO} or less): {'ok' if ratio <= TARGET_RATIO else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
