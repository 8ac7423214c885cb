"""A ceremony killed at any step leaves the complete result or none, and no share lying about.

`coldvault ceremony run` is started for real and paused at each checkpoint of
`vault.flows.ceremony.CHECKPOINTS` (through tests/paused_cli.py), then killed with SIGKILL (a
power cut: no clean-up runs) or interrupted with SIGINT (Ctrl-C: the clean-up runs).
Afterwards there is no output directory; only a run killed after staging leaves a
staging directory (its files private), which the next run refuses to start beside;
and no plaintext share is anywhere else, token files included.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import softhsm_kit  # scripts/, on the path through conftest
from conftest import run_cli

from vault.flows.ceremony import CHECKPOINTS

REPO = Path(__file__).parent.parent
PAUSED_CLI = Path(__file__).resolve().parent / "paused_cli.py"
PAUSE_TIMEOUT = 60
OUT = "vault"


class Paused:
    """`coldvault ceremony run` in a subprocess, held at a checkpoint."""

    def __init__(self, cwd: Path, step: str, args: list[str], env: dict[str, str] | None = None) -> None:
        full_env = {**os.environ, **(env or {})}
        full_env.pop("COLDVAULT_DEBUG", None)
        self.process = subprocess.Popen(
            [sys.executable, str(PAUSED_CLI), step, "ceremony", "run", *args, "--out", OUT, "--yes"],
            cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            # Ctrl-C must reach Python even when the test runner ignores SIGINT (a background job).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr = self._until(f"paused at {step}")

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def _until(self, wanted: str | None) -> str:
        """stderr up to the line `wanted` (or to the end, for None)."""
        seen = []
        deadline = time.monotonic() + PAUSE_TIMEOUT
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.process.kill()
                pytest.fail(f"no {wanted!r} on stderr within {PAUSE_TIMEOUT} s:\n{''.join(seen)}")
            if line is None:
                if wanted is None:
                    return "".join(seen)
                pytest.fail(f"exited {self.process.wait()} before {wanted!r}:\n{''.join(seen)}")
            seen.append(line)
            if wanted is not None and line.strip() == wanted:
                return "".join(seen)

    def signal(self, number: int) -> tuple[int, str]:
        """Send `number`; the exit code and the rest of stderr."""
        os.kill(self.process.pid, number)
        rest = self._until(None)
        return self.process.wait(timeout=PAUSE_TIMEOUT), rest


def staging_dirs(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob(f".{OUT}.coldvault-staging-*"))


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def mnemonic_of(share_file: Path) -> str:
    return " ".join(w.lower() for line in share_file.read_text().splitlines() if not line.startswith("#") for w in line.split())


def assert_nowhere_but(tmp_path: Path, mnemonics: list[str], staging: Path) -> None:
    """No file outside `staging` holds any of `mnemonics` (whatever the white space between the words)."""
    assert mnemonics
    for path in files_under(tmp_path):
        if staging in path.parents:
            continue
        text = " ".join(path.read_bytes().decode("latin-1").split()).lower()
        for mnemonic in mnemonics:
            assert mnemonic not in text, f"a plaintext share is in {path}"


def assert_private(staging: Path) -> None:
    """Share files 0600, every directory 0700."""
    shares = list(staging.rglob("share.txt"))
    assert shares
    for share in shares:
        assert stat.S_IMODE(share.stat().st_mode) == 0o600, share
    for directory in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def assert_refuses_to_start_beside(tmp_path: Path, staging: Path, args: list[str], env: dict[str, str] | None = None) -> None:
    again = run_cli(tmp_path, "ceremony", "run", *args, "--out", OUT, "--yes", env=env)
    assert again.returncode == 5, again.stderr
    assert staging.name in again.stderr and "interrupted" in again.stderr
    assert not (tmp_path / OUT).exists()


@pytest.fixture
def template_plan(tmp_path) -> list[str]:
    """The template plan (a 2-of-3 on paper) in tmp_path; returns the run's arguments."""
    result = run_cli(tmp_path, "ceremony", "init", "plan.toml")
    assert result.returncode == 0, result.stderr
    return ["plan.toml"]


@pytest.mark.parametrize("step", CHECKPOINTS)
def test_sigkill_at_each_step_leaves_no_ceremony_and_no_share(tmp_path, template_plan, step):
    paused = Paused(tmp_path, step, template_plan)
    code, _ = paused.signal(signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert not (tmp_path / OUT).exists()
    if step != "staged":
        assert staging_dirs(tmp_path) == []
        assert [p.name for p in tmp_path.iterdir()] == ["plan.toml"], "the run left files behind"
        return
    [staging] = staging_dirs(tmp_path)
    assert_private(staging)
    shares = [mnemonic_of(p) for p in staging.rglob("share.txt")]
    assert len(shares) == 3
    assert_nowhere_but(tmp_path, shares, staging)
    assert_refuses_to_start_beside(tmp_path, staging, template_plan)


@pytest.mark.softhsm
@pytest.mark.parametrize("step", ["checked", "staged"])
def test_sigkill_of_the_demo_ceremony_on_tokens_leaves_no_share_in_the_token_store(tmp_path, softhsm, step):
    """The demo plan (AES, EC and RSA deliveries on SoftHSM2, a signed transcript), killed."""
    shutil.copy(REPO / "ceremony" / "demo.toml", tmp_path / "plan.toml")
    kit = softhsm_kit.provision(tmp_path / "plan.toml", tmp_path)
    (tmp_path / "passphrase.txt").write_text("demo passphrase\n")
    args = ["plan.toml", "--passphrase-file", "passphrase.txt", *kit.pin_args()]
    before = set(files_under(tmp_path))
    code, _ = Paused(tmp_path, step, args, env=kit.env).signal(signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert not (tmp_path / OUT).exists()
    if step != "staged":
        assert staging_dirs(tmp_path) == []
        assert set(files_under(tmp_path)) <= before, "the run left files behind"
        return
    [staging] = staging_dirs(tmp_path)
    assert_private(staging)
    shares = [mnemonic_of(p) for p in staging.rglob("share.txt")]
    for envelope in sorted(staging.rglob("*.envelope.json")):
        opened = run_cli(tmp_path, "unwrap", envelope, "--json", *kit.pin_args(), env=kit.env)
        assert opened.returncode == 0, opened.stderr
        shares.append(opened.json()["mnemonic"])
    assert len(shares) == 9  # 6 on paper, 3 sealed to tokens
    assert any("softhsm-tokens" in p.parts for p in files_under(tmp_path)), "the token files are searched too"
    assert_nowhere_but(tmp_path, shares, staging)
    assert_refuses_to_start_beside(tmp_path, staging, args, env=kit.env)


@pytest.fixture(scope="module", params=["sealed", "staged"])
def ctrl_c(request, tmp_path_factory) -> tuple[Path, int, str]:
    """The template ceremony, interrupted with SIGINT at a step: (its directory, exit code, stderr)."""
    work = tmp_path_factory.mktemp(f"ctrl-c-{request.param}")
    assert run_cli(work, "ceremony", "init", "plan.toml").returncode == 0
    paused = Paused(work, request.param, ["plan.toml"])
    code, rest = paused.signal(signal.SIGINT)
    return work, code, paused.stderr + rest


def test_ctrl_c_leaves_no_ceremony_and_no_staging_directory(ctrl_c):
    work, _, stderr = ctrl_c
    assert "Traceback" not in stderr
    assert not (work / OUT).exists()
    assert staging_dirs(work) == []
    assert [p.name for p in work.iterdir()] == ["plan.toml"]
    again = run_cli(work, "ceremony", "run", "plan.toml", "--out", OUT, "--yes")
    assert again.returncode == 0, again.stderr


def test_ctrl_c_exits_130_saying_interrupted(ctrl_c):
    _, code, stderr = ctrl_c
    assert "error: interrupted" in stderr
    assert code == 130
