"""Run the fuzz targets with atheris, one at a time, and say how much each ran and found.

    .venv/bin/python tests/fuzz/run.py                        # every target, 10 s each
    .venv/bin/python tests/fuzz/run.py share plan --seconds 60
    .venv/bin/python tests/fuzz/run.py envelope --runs 1000001
    .venv/bin/python tests/fuzz/run.py transcript --runs 100000 -- -seed=1 -max_len=8192

Each target runs in its own process (libFuzzer owns the process it fuzzes), seeded
with tests/fuzz/corpus/TARGET and tests/fuzz/regressions/TARGET. New inputs the
fuzzer finds go to a scratch directory, never into the seed corpus. A finding (an
exception the contract does not allow, or an input slower than --timeout) is saved
there and printed with its traceback; the scratch directory is then kept, and the
exit status is 1. Arguments after `--` go to libFuzzer unchanged.

exec/s is executions divided by wall time, start-up and seed loading included.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
REGRESSIONS = HERE / "regressions"
TARGETS = ("share", "envelope", "plan", "manifest", "transcript", "signature")
DEFAULT_SECONDS = 10
DEFAULT_TIMEOUT_SECONDS = 10
"""An input that takes longer than this is a finding: a file that hangs coldvault."""


@dataclass(frozen=True)
class Result:
    target: str
    executions: int
    seconds: float
    findings: list[str]
    log: Path

    @property
    def per_second(self) -> float:
        return self.executions / self.seconds if self.seconds else 0.0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        fuzz(argv[1], argv[2:])
        return 0
    ours, libfuzzer = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    options = parse_options(ours)
    scratch = Path(tempfile.mkdtemp(prefix="coldvault-fuzz-"))
    results = [run(target, options, libfuzzer, scratch) for target in options.targets or TARGETS]
    print(table(results, options))
    if any(result.findings for result in results) or options.keep:
        print(f"scratch directory kept: {scratch}")
    else:
        shutil.rmtree(scratch)
    return 1 if any(result.findings for result in results) else 0


def parse_options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run coldvault's fuzz targets (atheris).")
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"{', '.join(TARGETS)} (default: all)")
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument("--runs", type=int, help="executions per target (libFuzzer -runs, seed inputs included)")
    bound.add_argument("--seconds", type=int, help=f"seconds per target (default {DEFAULT_SECONDS})")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_SECONDS, help="seconds one input may take")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (new inputs, logs)")
    options = parser.parse_args(argv)
    unknown = [target for target in options.targets if target not in TARGETS]
    if unknown:
        parser.error(f"no target {unknown[0]!r}; the targets are {', '.join(TARGETS)}")
    if options.runs is None and options.seconds is None:
        options.seconds = DEFAULT_SECONDS
    return options


def run(target: str, options: argparse.Namespace, libfuzzer: list[str], scratch: Path) -> Result:
    """One target in a child process; its libFuzzer output goes to scratch/TARGET/log.txt."""
    work = scratch / target
    (work / "corpus").mkdir(parents=True)
    (work / "findings").mkdir()
    seeds = [str(path) for path in (CORPUS / target, REGRESSIONS / target) if path.is_dir()]
    bound = f"-runs={options.runs}" if options.runs is not None else f"-max_total_time={options.seconds}"
    command = [
        sys.executable, str(Path(__file__).resolve()), "--child", target,
        str(work / "corpus"), *seeds,
        bound, f"-timeout={options.timeout}", f"-artifact_prefix={work / 'findings'}/", "-print_final_stats=1",
        *libfuzzer,
    ]
    log = work / "log.txt"
    print(f"{target}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    with log.open("w") as output:
        completed = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, cwd=HERE)
    seconds = time.monotonic() - started
    text = log.read_text(errors="replace")
    findings = sorted(str(path) for path in (work / "findings").iterdir())
    if completed.returncode != 0 and not findings:
        findings = [f"exit status {completed.returncode} (see {log})"]
    if findings:
        print(f"{target}: FINDING; the fuzzer's last words:\n{tail(text)}", flush=True)
    return Result(target, executions(text), seconds, findings, log)


def executions(log: str) -> int:
    """libFuzzer's count of executed inputs (its final stats; after a crash, its last status line)."""
    final = re.search(r"^stat::number_of_executed_units:\s*(\d+)", log, re.M)
    if final:
        return int(final.group(1))
    status = re.findall(r"^#(\d+)\s", log, re.M)
    return int(status[-1]) if status else 0


def tail(log: str, lines: int = 40) -> str:
    return "\n".join(log.splitlines()[-lines:])


def table(results: list[Result], options: argparse.Namespace) -> str:
    bound = f"--runs {options.runs}" if options.runs is not None else f"--seconds {options.seconds}"
    rows = [f"{'target':<11} {'executions':>11} {'seconds':>8} {'exec/s':>7}  findings   ({bound})"]
    for result in results:
        found = "none" if not result.findings else f"{len(result.findings)}: {', '.join(result.findings)}"
        rows.append(f"{result.target:<11} {result.executions:>11} {result.seconds:>8.1f} {result.per_second:>7.0f}  {found}")
    return "\n".join(rows)


def fuzz(target: str, libfuzzer_args: list[str]) -> None:
    """The child: import the target (and through it vault) instrumented, so coverage guides libFuzzer."""
    import atheris

    sys.path.insert(0, str(HERE))
    # What parses: vault, SLIP-39's reference code, TOML. Instrumenting difflib and
    # mnemonic (word suggestions) too would only slow every execution.
    with atheris.instrument_imports(include=["vault", "harness", "fuzz_" + target, "shamir_mnemonic", "tomllib"]):
        module = importlib.import_module(f"fuzz_{target}")
    atheris.Setup([sys.argv[0], *libfuzzer_args], module.test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
