"""`coldvault transcript verify DIR`: the transcript's chain, the manifest it recorded, its signature; the drill log's chain.

Every check is the core's (vault.core.formats.transcript); this flow finds the files
in the ceremony's directory. A file that is absent is not checked and says so; a
dangling link is an error, not absence.
"""

from __future__ import annotations

from pathlib import Path

from vault.core.backup import MANIFEST_FILE
from vault.core.formats import transcript as tr
from vault.edges import fsio


def verify(directory: Path, head: str | None) -> tuple[tr.Verified, tr.Verified | None]:
    """(the transcript's result, the drill log's if there is one); raises `CheckFailed` naming the first bad line."""
    written_down = tr.read_head(head) if head is not None else None
    transcript = _verify_log(directory / tr.TRANSCRIPT_FILE, _optional(directory / MANIFEST_FILE), written_down)
    drills = directory / tr.DRILLS_FILE
    return transcript, _verify_log(drills, None, None) if _exists(drills) else None


def read_events(path: Path) -> tuple[tr.Event, ...]:
    """A transcript or drill log's events, read line by line and checked as they come: a log of any length."""
    with fsio.bulk_reading(), fsio.read_lines(path, tr.MAX_LINE_BYTES) as lines:
        return tuple(tr.read(lines, str(path)))


def _verify_log(path: Path, manifest: bytes | None, written_down: str | None) -> tr.Verified:
    name = str(path)
    events = read_events(path)
    signature_path = Path(tr.signature_file(name))
    signature = tr.signature_from_json(fsio.read_text(signature_path), str(signature_path)) if _exists(signature_path) else None
    return tr.verify(events, name, manifest, signature, written_down)


def _optional(path: Path) -> bytes | None:
    """A file's bytes, or None if there is none (a dangling link is an error, not absence)."""
    return fsio.read_bytes(path) if _exists(path) else None


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()
