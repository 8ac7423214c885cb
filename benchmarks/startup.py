"""Start-up cost of the CLI: `coldvault --help` against `python -c pass`, in one run.

Run by hand: `.venv/bin/python benchmarks/startup.py [--runs N]`. Prints the median
wall time of each command over N interleaved runs and its ratio to bare Python.
Heavy imports (PKCS#11, PDF) must stay out of start-up; this shows when they creep in.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "coldvault --help": [sys.executable, "-m", "vault", "--help"],
    "coldvault split --help": [sys.executable, "-m", "vault", "split", "--help"],
    "coldvault recover --help": [sys.executable, "-m", "vault", "recover", "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, command in COMMANDS.items():  # interleaved: the machine's noise hits all alike
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["python -c pass"])
    print(f"median of {runs} runs each (interleaved)")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:<26} {median * 1000:7.1f} ms   {median / base:5.2f}x python -c pass")


if __name__ == "__main__":
    main()
