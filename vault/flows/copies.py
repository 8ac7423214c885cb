"""The places of a vault read for `fleet status` and `drill status --manifest A --manifest B` (vault.core.copies).

A place is a manifest and the files beside it (vault.core.layout): the transcript,
its signature, the drill log. Each is read as found there: a link is followed to the
file it names, so a folder of links to another vault's files, with a drill log of
its own beside them, is a place of its own, judged by its own log. Two names are one
place only when every one of its files resolves to the same real file
(`place_files`): a directory given twice, or named through a link.

A place is read in two steps, so that a vault found at one place costs no more
than `drill status`: its anchored manifest first (which reads the transcript and
gives its lines' hashes), and its drill log's hashes only when the vault was found
at several places and the copies must be compared (`history`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vault.core import copies as cp
from vault.core import succession
from vault.core.anchor import Pins
from vault.core.events import ROTATION_SIGNED
from vault.core.formats import transcript
from vault.core.formats import transcript_reader
from vault.core.formats.manifest import Manifest
from vault.core.layout import DRILLS_FILE, MANIFEST_FILE, SIGNATURE_FILE, TRANSCRIPT_FILE
from vault.core.verdict import Successor
from vault.edges import fsio
from vault.errors import VaultError
from vault.flows.vaults import anchored_manifest, exists, read_events, read_manifest, read_successor


@dataclass(frozen=True)
class Read:
    """A place as read: its manifest and anchor, and its transcript's line hashes (the first half of its history)."""

    place: cp.Place
    transcript: tuple[str, ...]

    @property
    def path(self) -> Path:
        return Path(self.place.path)


def place_files(manifest_path: Path) -> tuple[str | None, ...]:
    """The real path of the manifest and of every file beside it (None for one that is absent): equal for two names of one
    place only. `os.path.realpath` never raises, not even on a loop of links."""
    folder = manifest_path.parent
    beside = (folder / name for name in (TRANSCRIPT_FILE, SIGNATURE_FILE, DRILLS_FILE))
    return (os.path.realpath(manifest_path), *(os.path.realpath(path) if os.path.lexists(path) else None for path in beside))


def distinct(paths: Iterable[Path]) -> list[Path]:
    """`paths` without a second name of a place already named (`place_files`), in order."""
    seen: set[tuple[str | None, ...]] = set()
    kept = []
    for path in paths:
        files = place_files(path)
        if files not in seen:
            seen.add(files)
            kept.append(path)
    return kept


def read_place(manifest_path: Path, pins: Pins = Pins()) -> Read:
    """The manifest at `manifest_path`, anchored by the transcript beside it (`pins`: what the command was told to trust), as a place."""
    anchored = anchored_manifest(manifest_path, pins)
    place = cp.Place(str(manifest_path), anchored.manifest, anchored.sha256, anchored.anchor, _rotation(anchored.events, manifest_path))
    return Read(place, tuple(event.hash for event in anchored.events))


def _rotation(events: Sequence[transcript.Event], manifest_path: Path) -> succession.Statement | None:
    """The rotation's statement a rotated vault's transcript holds (not yet checked against any predecessor)."""
    name = str(manifest_path.parent / TRANSCRIPT_FILE)
    found = next((event for event in events if event.event == ROTATION_SIGNED), None)
    return succession.from_data(found.data, f"{name} line {found.seq + 1}") if found is not None else None


def drill_log(place: cp.Place) -> Path:
    """The drill log found at the place."""
    return Path(place.path).parent / DRILLS_FILE


def history(read: Read) -> cp.History:
    """The place's whole history: its transcript's line hashes and its drill log's (none when it has no log).

    The log's lines are chained by their bytes (`transcript_reader.chained`: a hash each,
    no JSON read); a log that is not is read in full, which names its first bad line.
    """
    path = drill_log(read.place)
    if not exists(path):
        return cp.History(read.transcript, ())
    with fsio.bulk_reading(), fsio.read_lines(path, transcript.MAX_LINE_BYTES) as lines:
        chain = transcript_reader.chained(lines)
    drills = tuple(digest for _, digest in chain) if chain is not None else tuple(event.hash for event in read_events(path))
    return cp.History(read.transcript, drills)


def arranged(reads: Sequence[Read], histories: Sequence[cp.History] | None = None) -> cp.Copies:
    """The places of one vault judged as branches; one place alone is judged with no history read."""
    if len(reads) == 1:
        return cp.alone(reads[0].place)
    found = histories if histories is not None else [history(read) for read in reads]
    return cp.arrange([(read.place, found_history) for read, found_history in zip(reads, found, strict=True)])


def successor_noted(place: cp.Place) -> Successor | None:
    """The vault that superseded this one by `rotate`, as its own folder's `successor.json` says (signed by this vault's
    key: vault.core.succession), for a vault read alone: it reads RETIRED in `drill status` and `fleet status` alike.

    An `extend`'s word is not a retirement (the vault lives on in its next revision); it
    is `extended_to`'s. A statement that does not verify is `CheckFailed` naming the file.
    """
    found = read_successor(Path(place.path).parent, place.manifest, place.manifest_sha256)
    if found is None or found[0].kind is not succession.Kind.ROTATE:
        return None
    statement, where = found
    return Successor(_successor_name(Path(place.path).parent / where), statement.successor_ceremony_id, where)


def extended_to(manifest_path: Path, manifest: Manifest, manifest_sha256: str) -> str | None:
    """When this revision was extended: one line saying to which revision, where (from its verified `successor.json`)."""
    found = read_successor(manifest_path.parent, manifest, manifest_sha256)
    if found is None or found[0].kind is not succession.Kind.EXTEND:
        return None
    return succession.describe(*found)


def _successor_name(folder: Path) -> str:
    """The successor's ceremony name where its folder is still beside this one; else a plain word (it is not needed)."""
    try:
        return read_manifest(folder / MANIFEST_FILE).manifest.ceremony.name
    except VaultError:
        return "a new vault"
