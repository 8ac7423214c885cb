"""A vault folder's writer lock: one command at a time reads, checks and writes a vault (docs/drills.md, "Writers").

`drill run` reads the drill log, checks it, and writes it back whole with one more
record; two at once would each write their own record over the other's. Every
writer of a vault folder holds an exclusive `flock(2)` on `VAULT/.coldvault.lock`
for its whole read-check-write, so the second waits. The kernel drops the lock when
its process ends, however it ends: a lock file left behind by a crash never blocks
anyone, and deleting it never helps.

A writer that finds the lock held says so (one line), tries again a few times a
second for a bounded time, then refuses (exit 5) naming the folder. The holder
writes its process id and command into the file, so the one who waits can be told
what it waits for.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from vault.core.layout import LOCK_FILE
from vault.errors import WriteRefused

LOCK_WAIT_SECONDS = 60
"""How long a writer waits for another to finish before it refuses (`--wait SECONDS`)."""
LOCK_POLL_SECONDS = 0.05
"""How often a waiting writer tries the lock again."""
LOCK_FILE_MODE = 0o644
MAX_HOLDER_BYTES = 200
"""The holder's line: a process id and a command; anything longer was not written by a holder."""

_OPEN_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # O_NONBLOCK: a FIFO put there does not hang the open
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
_HOLDER = re.compile(r"([0-9]{1,10}) ([ -~]{1,100})\n")


@contextlib.contextmanager
def hold(vault_dir: Path, wait_seconds: float, say: Callable[[str], None]) -> Iterator[None]:
    """Hold `vault_dir`'s writer lock for the `with` block, waiting up to `wait_seconds` for it.

    Busy: `say` one line, then try again until `wait_seconds` have passed; then
    `WriteRefused`. A lock file that cannot be made, opened or locked, or that is a
    link or not a regular file, is `WriteRefused` too, and the block never runs.
    """
    path = vault_dir / LOCK_FILE
    descriptor = _open(path)
    try:
        _acquire(descriptor, path, wait_seconds, say)
        _record_holder(descriptor)
        try:
            yield
        finally:
            _forget_holder(descriptor)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _open(path: Path) -> int:
    """The lock file, made if missing (never through a link); read-only when it is another user's, which locks as well."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | _OPEN_FLAGS, LOCK_FILE_MODE)
    except OSError as error:
        if error.errno not in _NOT_WRITABLE:
            raise _cannot_open(path, error) from None
        try:
            descriptor = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
        except OSError:
            raise _cannot_open(path, error) from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise _not_ours(path, "is not a regular file")
    return descriptor


def _cannot_open(path: Path, error: OSError) -> WriteRefused:
    if error.errno == errno.ELOOP:
        return _not_ours(path, "is a symbolic link")
    if error.errno == errno.EISDIR:
        return _not_ours(path, "is not a regular file")
    return WriteRefused(f"{path}: cannot make the vault's lock file: {_reason(error)}", "nothing was written",
                        f"a command that writes the vault needs to write in {path.parent}: "
                        "run it where the folder is writable (or give the drill log elsewhere with --log)")


def _reason(error: OSError) -> str:
    return (error.strerror or "failed").lower()


def _not_ours(path: Path, what: str) -> WriteRefused:
    """Something else where the lock file belongs: never locked, written or followed."""
    return WriteRefused(f"{path}: {what}; a vault's lock file is a regular file: refusing to use it", "nothing was written",
                        f"remove it (coldvault makes {LOCK_FILE} again when it needs it)")


def _acquire(descriptor: int, path: Path, wait_seconds: float, say: Callable[[str], None]) -> None:
    """The lock, tried at once, then every LOCK_POLL_SECONDS until `wait_seconds` have passed."""
    if _try(descriptor, path):
        return
    holder = _holder(descriptor)
    said_holder = f" ({holder})" if holder else ""
    if wait_seconds > 0:
        say(f"waiting for another coldvault command writing {path.parent}{said_holder} (up to {wait_seconds:g} s)")
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        time.sleep(min(LOCK_POLL_SECONDS, max(deadline - time.monotonic(), 0)))
        if _try(descriptor, path):
            return
    raise WriteRefused(
        f"{path.parent}: another coldvault command is writing this vault{said_holder}; waited {wait_seconds:g} s for its lock",
        "nothing was written",
        "run again when it has finished, or wait longer with --wait SECONDS",
        f"the lock ({path}) is released when that command ends, even if it crashes: deleting the file does not help",
    )


def _try(descriptor: int, path: Path) -> bool:
    """True: the lock is ours; False: another holds it. A file system that cannot lock (some network ones) is refused."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as error:
        raise WriteRefused(f"{path}: cannot lock the vault's lock file: {_reason(error)}", "nothing was written",
                           "the file system does not support flock(2) locks: run the command on the vault where it is stored") from None
    return True


def _record_holder(descriptor: int) -> None:
    """This process's id and command, for one who waits (nothing when the file is not ours to write)."""
    line = f"{os.getpid()} {_command()}\n".encode("ascii", "replace")
    with contextlib.suppress(OSError):
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, line, 0)


def _forget_holder(descriptor: int) -> None:
    """An empty file again, before the lock is let go: a stale holder is never named."""
    with contextlib.suppress(OSError):
        os.ftruncate(descriptor, 0)


def _holder(descriptor: int) -> str | None:
    """"pid N: COMMAND" as the holder wrote it, or None when the file does not hold such a line."""
    try:
        found = _HOLDER.fullmatch(os.pread(descriptor, MAX_HOLDER_BYTES, 0).decode("ascii"))
    except (OSError, UnicodeDecodeError):
        return None
    return f"pid {found.group(1)}: {found.group(2)}" if found else None


def _command() -> str:
    """`coldvault` and the command's words (`drill run`), not its arguments: a name to recognise, never a path."""
    words = []
    for word in sys.argv[1:3]:
        if word.startswith("-") or not word.isascii() or not word.isalpha():
            break
        words.append(word)
    return " ".join(["coldvault", *words])
