"""Shared fixtures: the real CLI in a subprocess, official vectors, SoftHSM2 tokens.

End-to-end tests run `python -m vault` in a subprocess, exactly as a user meets it:
real files, real exit codes, stdout and stderr kept apart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

VECTORS = Path(__file__).parent / "vectors"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_cli(cwd: Path, *args: str | os.PathLike, input: str | None = None, env: dict[str, str] | None = None) -> Run:
    """`coldvault ARGS...` in a subprocess in `cwd`, as a user runs it (no COLDVAULT_DEBUG)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("COLDVAULT_DEBUG", None)
    completed = subprocess.run(
        [sys.executable, "-m", "vault", *map(str, args)],
        cwd=cwd,
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def cli(tmp_path: Path):
    """Run `coldvault ARGS...` in a subprocess, in `tmp_path`, with optional stdin and environment."""

    def run(*args: str | os.PathLike, input: str | None = None, env: dict[str, str] | None = None) -> Run:
        return run_cli(tmp_path, *args, input=input, env=env)

    return run


@pytest.fixture(scope="session")
def slip39_vectors() -> list:
    return json.loads((VECTORS / "slip39-vectors.json").read_text())


@pytest.fixture(scope="session")
def bip39_vectors() -> dict:
    return json.loads((VECTORS / "bip39-vectors.json").read_text())


def softhsm_module() -> Path | None:
    """The system's SoftHSM2 PKCS#11 library, if installed."""
    for candidate in ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                      "/usr/local/lib/softhsm/libsofthsm2.so", "/opt/homebrew/lib/softhsm/libsofthsm2.so"):
        if Path(candidate).exists():
            return Path(candidate)
    return None


@pytest.fixture
def softhsm(tmp_path: Path) -> dict[str, str]:
    """An empty SoftHSM2 token store in a temporary directory (its own SOFTHSM2_CONF).

    When CI=true a missing SoftHSM2 fails the test: CI must never pass by skipping.
    Returns the environment to run commands with.
    """
    module = softhsm_module()
    if module is None or shutil.which("softhsm2-util") is None:
        message = "SoftHSM2 is not installed (Debian package softhsm2; `make test` installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    tokens = tmp_path / "softhsm-tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    return {"SOFTHSM2_CONF": str(conf), "COLDVAULT_PKCS11_MODULE": str(module)}
