"""A write that fails mid-ceremony (full disk, permissions) leaves nothing half-written.

The ceremony runs for real in a subprocess; nothing of coldvault's is mocked. The
failures are made by the kernel:

- Full disk: the run gets a file size limit (RLIMIT_FSIZE, set in `preexec_fn`), so
  its writes past the limit fail with EFBIG, exactly as a full disk fails them with
  ENOSPC (CPython ignores SIGXFSZ, so the write raises instead of killing the
  process). A real small file system (a tmpfs or loop mount) would need mount rights
  that containers and CI runners often refuse; a size limit works anywhere.
- Permissions: a guided run (witnesses confirm by typing their names) is held at the
  last confirmation, after the shares exist, and its output directory is made
  read-only then. Root ignores file modes, so when the tests run as root the run
  gives up the capabilities that let it (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
  CAP_FOWNER), as an ordinary operator's account would not have them.

Afterwards: exit 5, one `error:` line naming the file and what happened, a hint, no
traceback, no secret on stderr, and nothing left but the inputs: no output
directory and no staging directory.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_cli

from vault.core.wordlists import SLIP39_WORDS
from vault.edges import fsio

OUT = "vault"
SECRET_HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
PASSPHRASE = "zebra quokka 17"
TIMEOUT = 60

PR_CAPBSET_DROP = 24
FILE_MODE_OVERRIDES = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER


# --------------------------------------------------------------------------- helpers


def known_secret_plan(work: Path) -> list[str]:
    """The template plan (2 of 3 on paper), with a master secret and a passphrase we know."""
    assert run_cli(work, "ceremony", "init", "plan.toml").returncode == 0
    plan = work / "plan.toml"
    text = plan.read_text()
    text = text.replace('source = "generate"', 'source = "master-secret"').replace("passphrase = false", "passphrase = true")
    plan.write_text(text)
    (work / "secret.hex").write_text(SECRET_HEX + "\n")
    (work / "passphrase.txt").write_text(PASSPHRASE + "\n")
    return ["ceremony", "run", "plan.toml", "--out", OUT, "--secret-file", "secret.hex", "--passphrase-file", "passphrase.txt"]


def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # the only writes are coldvault's own
    env.pop("COLDVAULT_DEBUG", None)
    return env


def without_file_mode_overrides() -> None:
    """preexec_fn: as root, give up what lets root ignore file modes (the bounding set survives exec)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in FILE_MODE_OVERRIDES:
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"cannot drop capability {capability}")


def everything_under(root: Path) -> set[Path]:
    return {path.relative_to(root) for path in root.rglob("*")}


def four_slip39_words_in_a_row(text: str) -> list[str]:
    """Runs of 4+ consecutive SLIP-39 words: what a leaked share looks like in prose."""
    words = re.findall(r"[a-z]+", text.lower())
    runs, current = [], []
    for word in words + [""]:
        if word in SLIP39_WORDS:
            current.append(word)
            continue
        if len(current) >= 4:
            runs.append(" ".join(current))
        current = []
    return runs


def assert_failed_cleanly(returncode: int, stderr: str, names: str, says: str) -> None:
    """Exit 5; one error line naming `names` and saying `says`; hints; no traceback; no secret."""
    detail = f"exit {returncode}\nstderr:\n{stderr}"
    assert returncode == 5, detail
    # A piped answer echoes no newline, so the error may follow the last prompt on its line.
    errors = [line[line.index("error:"):] for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, detail
    assert names in errors[0] and says in errors[0], detail
    assert "hint:" in stderr, detail
    assert "Traceback" not in stderr, detail
    for secret in (SECRET_HEX, SECRET_HEX.upper(), PASSPHRASE):
        assert secret not in stderr, detail
    assert four_slip39_words_in_a_row(stderr) == [], detail


def assert_only(work: Path, inputs: set[Path]) -> None:
    """Nothing but the inputs: no output, no staging directory, no stray file."""
    left = everything_under(work)
    assert left == inputs, f"left behind: {sorted(map(str, left - inputs))}"
    assert fsio.leftover_staging(work / OUT) == []


# --------------------------------------------------------------------------- full disk


def test_a_full_disk_mid_ceremony_leaves_nothing_half_written(tmp_path: Path) -> None:
    """The limit lets every file through but the largest, so the run fails with the
    staging directory nearly complete: plaintext shares, cards and all are on disk."""
    reference, work = tmp_path / "reference", tmp_path / "work"
    reference.mkdir()
    work.mkdir()
    done = run_cli(reference, *known_secret_plan(reference), "--yes")
    assert done.returncode == 0, done.stderr
    sizes = {p: p.stat().st_size for p in (reference / OUT).rglob("*") if p.is_file()}
    largest = max(sizes.values())
    second = max(size for size in sizes.values() if size < largest)
    assert largest - second > 256, "the largest files must stand out for the limit to pick them"
    limit = (largest + second) // 2
    # The largest is the transcript, of which each packet holds a copy: the first written fails.
    largest_names = {f"{OUT}/{p.relative_to(reference / OUT)}" for p, size in sizes.items() if size == largest}

    args = known_secret_plan(work)
    inputs = everything_under(work)
    failed = subprocess.run(
        [sys.executable, "-m", "vault", *args, "--yes"], cwd=work, env=environment(), capture_output=True, text=True,
        timeout=TIMEOUT, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)),
    )

    named = next((name for name in sorted(largest_names) if name in failed.stderr), f"one of {sorted(largest_names)}")
    assert_failed_cleanly(failed.returncode, failed.stderr, names=named, says="too large")
    assert "ulimit" in failed.stderr  # the hint says what to do about it
    assert_only(work, inputs)


# --------------------------------------------------------------------------- permissions


class Guided:
    """A guided `ceremony run` (no --yes): witnesses' names are typed on stdin as they are asked."""

    PROMPT = "type your name: "

    def __init__(self, work: Path, args: list[str], preexec_fn: Callable[[], None]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vault", *args], cwd=work, env=environment(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=preexec_fn,
        )
        self.stderr = ""

    def answer_each_witness(self, before: Callable[[str], None]) -> tuple[int, str]:
        """Answer every prompt with the name it asks for, calling `before(prompt)` first; exit code and stderr."""
        assert self.process.stdin is not None and self.process.stderr is not None
        answered = 0
        deadline = time.monotonic() + TIMEOUT
        while True:
            ready, _, _ = select.select([self.process.stderr], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                self.process.kill()
                pytest.fail(f"the ceremony stalled:\n{self.stderr}")
            chunk = os.read(self.process.stderr.fileno(), 65536)
            if not chunk:
                break
            self.stderr += chunk.decode()
            prompts = self.stderr.split(self.PROMPT)[:-1]
            for prompt in prompts[answered:]:
                line = prompt.rsplit("\n", 1)[-1]
                before(line)
                self.process.stdin.write(line.split(",")[0].encode() + b"\n")
                self.process.stdin.flush()
            answered = len(prompts)
        return self.process.wait(timeout=TIMEOUT), self.stderr


def test_an_unwritable_output_location_mid_ceremony_leaves_nothing_half_written(tmp_path: Path) -> None:
    """The directory that was to hold the ceremony turns read-only while the witnesses
    confirm the packets: the secret, its shares and their cards exist only in memory."""
    args = known_secret_plan(tmp_path)
    inputs = everything_under(tmp_path)
    made_read_only = []

    def at(prompt: str) -> None:
        if "packets" in prompt and not made_read_only:
            tmp_path.chmod(0o555)
            made_read_only.append(prompt)

    try:
        code, stderr = Guided(tmp_path, args, without_file_mode_overrides).answer_each_witness(before=at)
    finally:
        tmp_path.chmod(0o755)

    assert made_read_only, f"no witness was asked to confirm the packets:\n{stderr}"
    assert "fingerprint" in stderr.split(made_read_only[0])[0], "the shares existed before the directory turned read-only"
    assert_failed_cleanly(code, stderr, names=OUT, says="permission denied")
    assert str(tmp_path) in stderr  # which directory refused
    assert_only(tmp_path, inputs)


# --------------------------------------------------------------------------- a mess that cannot be cleaned up

LEFT_BEHIND = """
import json, os, sys
from pathlib import Path
from vault.core.outputs import OutputFile
from vault.edges import fsio
from vault.errors import WriteRefused

parent = Path(sys.argv[1])
try:
    # Once everything is staged, the directory turns read-only: the rename fails, and so does the clean-up.
    fsio.write_directory(parent / "vault", [OutputFile("share.txt", "a plaintext share", True)], before_rename=lambda _: parent.chmod(0o555))
except WriteRefused as error:
    print(json.dumps({"message": error.message, "hints": list(error.hints)}))
"""


def test_a_staging_directory_that_cannot_be_removed_is_named_not_denied(tmp_path: Path) -> None:
    """If the unfinished output cannot be removed, the error must say where it is, and
    must not say "nothing was written": it may hold plaintext shares."""
    work = tmp_path / "work"
    work.mkdir()
    try:
        done = subprocess.run(
            [sys.executable, "-c", LEFT_BEHIND, str(work)], env=environment(), capture_output=True, text=True,
            timeout=TIMEOUT, preexec_fn=without_file_mode_overrides,
        )
    finally:
        work.chmod(0o755)
    assert done.returncode == 0 and done.stdout, done.stderr
    error = json.loads(done.stdout)
    [staging] = fsio.leftover_staging(work / "vault")
    assert "permission denied" in error["message"]
    assert any(str(staging) in hint and "could not be removed" in hint for hint in error["hints"]), error
    assert fsio.NOTHING_WRITTEN not in error["hints"], error
    assert not (work / "vault").exists()
