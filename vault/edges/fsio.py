"""The filesystem edge: read inputs with precise errors, write outputs atomically.

Rules (docs/formats.md, "Files"): files that hold a secret are 0600 and their
directories 0700; an output directory is built in a staging directory beside it and
renamed into place, so after a crash there is a complete result or none; nothing is
ever overwritten; every file and directory is fsynced before it counts as written.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from vault.core.outputs import OutputFile
from vault.errors import InvalidInput, VaultError, WriteRefused

MAX_INPUT_FILE_BYTES = 1 << 20
"""Shares, secrets, manifests and passphrases are small; a larger file is a mistake."""

SECRET_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644
PRIVATE_DIR_MODE = 0o700
STAGING_MARKER = ".coldvault-staging-"
NOTHING_WRITTEN = "nothing was written"


def read_text(path: Path) -> str:
    """A small UTF-8 text file; every failure is an `InvalidInput` naming the file."""
    return decode(read_bytes(path), path)


def decode(data: bytes, path: Path) -> str:
    """A file's bytes as UTF-8 text; a byte-order mark (some Windows editors write one) is not content."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{path}: not UTF-8 text (byte {error.start + 1})") from None


def read_bytes(path: Path) -> bytes:
    """A small file's bytes; every failure is an `InvalidInput` naming the file."""
    with _reading(path):
        with open(path, "rb") as handle:
            data = handle.read(MAX_INPUT_FILE_BYTES + 1)
    if len(data) > MAX_INPUT_FILE_BYTES:
        raise InvalidInput(f"{path}: larger than {MAX_INPUT_FILE_BYTES // 1024} KiB; not a coldvault input")
    return data


@contextlib.contextmanager
def read_lines(path: Path, max_line_bytes: int) -> Iterator[Iterator[bytes]]:
    """A log's lines, each with its line feed, read one at a time as they are used: a file of any size.

    Never more than `max_line_bytes` and a line feed are read at once, so a longer
    line arrives in pieces without a line feed, for the reader to refuse.
    """
    with _reading(path):
        handle = open(path, "rb")
    with handle:
        yield _lines(handle, max_line_bytes, path)


def _lines(handle: BinaryIO, max_line_bytes: int, path: Path) -> Iterator[bytes]:
    with _reading(path):
        pieces = iter(lambda: handle.readline(max_line_bytes + 1), b"")
        yield from pieces


@contextlib.contextmanager
def bulk_reading() -> Iterator[None]:
    """Around reading a long log and computing from it: the cycle collector paused.

    A log of 100,000 lines becomes millions of small dicts, lists and records, none
    in a reference cycle; left on, CPython's collector walks the whole pile again
    each time it grows by a quarter (measured: a third of `drill status`'s time).
    Nothing is lost by pausing it: what it would free is freed when it resumes.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Failures to open or read `path` as `InvalidInput` naming it."""
    try:
        yield
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise InvalidInput(f"{path}: permission denied", "check the file's owner and mode") from None
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read ({error.strerror})") from None


def template(name: str) -> str:
    """A template shipped with coldvault (vault/templates/): the plan template, the runbook's."""
    return resources.files("vault").joinpath("templates", name).read_text(encoding="utf-8")


def read_line_file(path: Path) -> str:
    """A passphrase or PIN file: its text without one trailing newline (LF or CRLF)."""
    text = read_text(path)
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text


def check_output_dir(target: Path) -> None:
    """Refuse early (before any secret exists) if `target` cannot become a new output."""
    if target.is_symlink():
        raise WriteRefused(f"{target}: is a symbolic link; refusing to write through it")
    if target.exists():
        if not target.is_dir():
            raise WriteRefused(f"{target}: exists and is not a directory")
        if any(target.iterdir()):
            raise WriteRefused(
                f"{target}: exists and is not empty; refusing to overwrite",
                "choose a new --out directory",
            )
    parent = target.parent
    if not parent.is_dir():
        raise WriteRefused(f"{parent}: no such directory", "create it first, or choose another --out")
    if not os.access(parent, os.W_OK | os.X_OK):
        read_only = os.statvfs(parent).f_flag & os.ST_RDONLY
        raise _cannot_create(target, OSError(errno.EROFS if read_only else errno.EACCES, "not writable"))


def leftover_staging(target: Path) -> list[Path]:
    """Staging directories an interrupted run left beside `target` (they may hold shares).

    Matched by name, not by a glob pattern: `[`, `*` or `?` in `target` are its own characters.
    """
    prefix = f".{target.name}{STAGING_MARKER}"
    try:
        names = os.listdir(target.parent)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as error:
        raise WriteRefused(f"{target.parent}: cannot list it to look for an interrupted run's leftovers ({error.strerror})") from None
    return sorted(target.parent / name for name in names if name.startswith(prefix))


def write_directory(
    target: Path,
    files: Iterable[OutputFile],
    before_rename: Callable[[Path], None] | None = None,
) -> None:
    """Create `target` holding `files`, all or nothing.

    `before_rename(staging)` runs when every file is written and synced, before the
    rename makes the result visible: a last check of what is on disk (it may raise,
    and then nothing is published).
    """
    check_output_dir(target)
    with _staging(target) as staging:
        for file in files:
            # Errors name the file as it would have been published, not its staging twin.
            mode = SECRET_FILE_MODE if file.secret else PUBLIC_FILE_MODE
            _write_file(staging / file.path, file.data, mode, shown=target / file.path)
        _fsync_tree(staging, shown=target)
        if before_rename is not None:
            before_rename(staging)
        try:
            # rename(2) replaces an empty directory atomically and fails on a non-empty one.
            os.rename(staging, target)
        except OSError as error:
            raise _write_error(target, error) from None
        _fsync_dir(target.parent, hint=f"{target} is complete, but the disk did not confirm it: check the disk and verify the output")


def write_new_file(target: Path, data: bytes, mode: int = SECRET_FILE_MODE) -> None:
    """Create `target` with `data`, never replacing anything, never half-written.

    The data goes to a temporary file in the same directory first; `link(2)` then
    publishes it under the final name and fails if that name exists (even as a
    dangling symlink).
    """
    check_new_file(target)
    _publish(target, data, mode, os.link)


def replace_file(target: Path, data: bytes, mode: int = PUBLIC_FILE_MODE) -> None:
    """Write `target` whole, replacing it atomically: readers see the old file or the new, never half.

    For logs that grow (drills.jsonl) and the fleet's metrics file: the new text goes
    to a temporary file beside it (`.NAME.XXXXXXXX`: hidden, and not ending in `.prom`,
    so node_exporter's textfile collector never reads it) and is renamed over the old
    one. A symbolic link is refused.
    """
    check_replaceable(target)
    _publish(target, data, mode, os.replace)


def check_replaceable(target: Path) -> None:
    """Refuse early what `replace_file` would refuse: a symbolic link where the file goes."""
    if target.is_symlink():
        raise WriteRefused(f"{target}: is a symbolic link; refusing to write through it")


def _publish(target: Path, data: bytes, mode: int, publish: Callable[[str, Path], None]) -> None:
    """Write a synced temporary file beside `target`, then `publish(temporary, target)` it."""
    directory = target.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    except OSError as error:
        raise _write_error(target, error) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            os.fchmod(stream.fileno(), mode)
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        publish(temporary, target)
    except OSError as error:
        raise _write_error(target, error) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    _fsync_dir(directory, hint=f"{target} is complete, but the disk did not confirm it: check the disk")


def check_new_file(target: Path) -> None:
    """Refuse early if `target` exists (even as a dangling link) or has no directory."""
    if os.path.lexists(target):
        raise WriteRefused(f"{target}: exists; refusing to overwrite", "choose another file name")
    if not target.parent.is_dir():
        raise WriteRefused(f"{target.parent}: no such directory")


@contextlib.contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """A new private directory beside `target`, removed again unless it was renamed into place.

    If it cannot be removed (the parent became read-only, say), the error says so and
    names it: it may hold plaintext shares, and "nothing was written" would be a lie.
    """
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING_MARKER}", dir=target.parent))
    except OSError as error:
        raise _cannot_create(target, error) from None
    try:
        yield staging
    except VaultError as error:
        if _removed(staging):
            raise
        hints = [hint for hint in error.hints if hint != NOTHING_WRITTEN]
        raise type(error)(
            error.message,
            f"the unfinished output {staging} could not be removed and may hold secrets (plaintext shares)",
            "destroy it (with the witnesses, if this was a ceremony) before running again",
            *hints,
        ) from None
    except BaseException:
        _removed(staging)
        raise
    if staging.exists():  # the rename did not happen
        shutil.rmtree(staging, ignore_errors=True)


def _removed(staging: Path) -> bool:
    shutil.rmtree(staging, ignore_errors=True)
    return not os.path.lexists(staging)


def _write_file(path: Path, data: bytes, mode: int, shown: Path) -> None:
    try:
        _make_private_dirs(path.parent)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as error:
        raise _write_error(shown, error) from None


def _make_private_dirs(directory: Path) -> None:
    """`mkdir -p` with every new directory 0700 (Path.mkdir gives parents the umask's mode)."""
    if not directory.is_dir():
        _make_private_dirs(directory.parent)
        directory.mkdir(mode=PRIVATE_DIR_MODE)


def _fsync_tree(root: Path, shown: Path) -> None:
    for directory, _, _ in os.walk(root):
        _fsync_dir(Path(directory), shown=shown / Path(directory).relative_to(root))


def _fsync_dir(directory: Path, shown: Path | None = None, hint: str = NOTHING_WRITTEN) -> None:
    """fsync(2) a directory, so that the names in it (new files, a rename) survive a power cut."""
    try:
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError as error:
        raise _write_error(shown or directory, error, hint) from None


_REASONS = {
    errno.ENOSPC: ("the disk is full", "free some space (or write somewhere else) and run again"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space (or write somewhere else) and run again"),
    errno.EFBIG: ("the file is too large for this system (a file size limit)",
                  "raise the limit (`ulimit -f unlimited` in the shell) or write somewhere else, and run again"),
    errno.EACCES: ("permission denied", "check the directory's owner and mode, or write somewhere else"),
    errno.EPERM: ("permission denied", "check the directory's owner, mode and attributes (`lsattr`), or write somewhere else"),
    errno.EROFS: ("the file system is read-only", "mount it writable, or write somewhere else"),
    errno.EEXIST: ("it exists; refusing to overwrite", ""),
    errno.ENOTEMPTY: ("it exists and is not empty; refusing to overwrite", ""),
}


def _write_error(path: Path, error: OSError, hint: str = NOTHING_WRITTEN) -> WriteRefused:
    """A failed write, said plainly: which file, what happened, what to do."""
    reason, advice = _reason(error.errno, error.strerror)
    return WriteRefused(f"{path}: cannot write: {reason}", hint, advice)


def _cannot_create(target: Path, error: OSError) -> WriteRefused:
    """`target` cannot be made in its directory: name both (the directory may be "." or far away)."""
    reason, advice = _reason(error.errno, error.strerror)
    return WriteRefused(f"{target}: cannot write in {target.parent.absolute()}: {reason}", NOTHING_WRITTEN, advice)


def _reason(number: int | None, strerror: str | None = None) -> tuple[str, str]:
    """What an errno means for a person writing a file, and what they can do about it."""
    return _REASONS.get(number or 0, (strerror or "write failed", ""))
