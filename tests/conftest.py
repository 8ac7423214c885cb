"""Shared fixtures: the real CLI in a subprocess, official vectors, SoftHSM2 and TPM tokens.

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
# The demo's SoftHSM2 kit (scripts/softhsm_kit.py) is shared with the tests: one way to make tokens.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import softhsm_kit  # noqa: E402
import tpm_kit  # noqa: E402
from softhsm_kit import softhsm_module  # noqa: E402,F401  (re-exported for the test modules)


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


@pytest.fixture
def softhsm(tmp_path: Path) -> dict[str, str]:
    """An empty SoftHSM2 token store in a temporary directory (its own SOFTHSM2_CONF).

    When CI=true a missing SoftHSM2 fails the test: CI must never pass by skipping.
    Returns the environment to run commands with.
    """
    module = softhsm_module()
    if module is None or shutil.which("softhsm2-util") is None:
        missing("SoftHSM2 is not installed (Debian package softhsm2; `make test` installs it)")
    return softhsm_kit.token_store(tmp_path)


@pytest.fixture
def tpm(tmp_path: Path):
    """A software TPM (swtpm) of this test's own, with an empty tpm2-pkcs11 store: a second PKCS#11 implementation.

    When CI=true a missing swtpm, tpm2-tools or tpm2-pkcs11 fails the test, as for SoftHSM2.
    Run coldvault with `tpm.run([...])`: it flushes what the process left in the TPM
    (this rig has no resource manager; see scripts/tpm_kit.py). swtpm stops after the test.
    """
    absent = tpm_kit.missing()
    if absent:
        missing(f"not installed: {', '.join(absent)} (`make test` installs them with scripts/ensure-os-deps)")
    with tpm_kit.running(tmp_path / "tpm") as started:
        yield started


def missing(message: str) -> None:
    """A tool a test needs is absent: with CI=true a failure (CI must never pass by skipping), else a skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def tool(name: str, package: str) -> str:
    """The path of the program `name` (Debian package `package`), or `missing`."""
    found = shutil.which(name)
    if found is None:
        missing(f"{name} is not installed (Debian package {package}; `make test` installs it)")
    assert found is not None
    return found


@pytest.fixture
def promtool() -> str:
    """Prometheus's promtool, which checks metrics files and alerting rules."""
    return tool("promtool", "prometheus")
