"""Commands that write a vault folder (`drill run`; `extend`, `rotate`, later `drill import`): one at a time.

Each holds the folder's writer lock (vault.edges.lock) for its whole read-check-write,
so that no record is lost to another writer; one that must wait says so on stderr,
and refuses (exit 5) after `wait_seconds` (`--wait`, docs/drills.md "Writers").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from vault.edges import lock, terminal
from vault.edges.lock import LOCK_WAIT_SECONDS as LOCK_WAIT_SECONDS


@contextlib.contextmanager
def writing(vault_dir: Path, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """`vault_dir` is this command's to read and write for the `with` block."""
    with lock.hold(vault_dir, wait_seconds, terminal.info):
        yield
