"""A vault's public records, read from the directory of its manifest and checked against each other.

Every command that trusts a manifest reads it through `anchored_manifest`: the
manifest, read once (what is hashed is what is used), checked against the transcript
beside it (vault.core.anchor); the command then says which anchor it used (one line on
stderr, `anchor.describe`), or gives a plain warning that there is none. `extend` and `rotate` start from a `Vault`: the
anchored manifest, its transcript's events and signature, and its drill log; a new
revision carries the signature and the drill log over unchanged.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from vault.core import anchor as anchors
from vault.core import succession
from vault.core.formats import manifest as mf
from vault.core.formats import transcript
from vault.core.formats import transcript_reader
from vault.core.formats import transcript_signature
from vault.core.layout import SUCCESSOR_FILE
from vault.core.outputs import OutputFile
from vault.edges import fsio
from vault.errors import InvalidInput, VaultError, WriteRefused

TRUST_FLAG = "--trust-manifest"


@dataclass(frozen=True)
class ManifestFile:
    """A manifest and the bytes it was parsed from: what is hashed and anchored is what is used."""

    manifest: mf.Manifest
    data: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Anchored:
    """A manifest, and what anchored it: the transcript's events and signature file (none when there is no transcript)."""

    file: ManifestFile
    anchor: anchors.Anchor
    events: tuple[transcript.Event, ...] = ()
    signature: str | None = field(default=None, repr=False)
    """transcript.sig.json's text, carried over unchanged by a revision: it still covers the lines it signed."""

    @property
    def manifest(self) -> mf.Manifest:
        return self.file.manifest

    @property
    def sha256(self) -> str:
        return self.file.sha256


@dataclass(frozen=True)
class Vault:
    anchored: Anchored
    drills: bytes | None
    """drills.jsonl's bytes, carried over unchanged."""

    @property
    def manifest(self) -> mf.Manifest:
        return self.anchored.manifest

    @property
    def manifest_sha256(self) -> str:
        return self.anchored.sha256

    @property
    def events(self) -> tuple[transcript.Event, ...]:
        """The transcript's events; empty when there was none (and the command was told to trust the manifest)."""
        return self.anchored.events


def read_manifest(path: Path) -> ManifestFile:
    """The manifest at `path`, read once; every error names the file. Not anchored: see `anchored_manifest`."""
    return parse_manifest(fsio.read_bytes(path), path)


def parse_manifest(data: bytes, path: Path) -> ManifestFile:
    """The manifest in `data`, read from `path` (errors name it)."""
    text = fsio.decode(data, path)
    try:
        return ManifestFile(mf.from_json(text), data)
    except VaultError as error:
        raise error.with_context(str(path)) from None


def read_events(path: Path) -> tuple[transcript.Event, ...]:
    """A transcript or drill log's events, read line by line and checked as they come: a log of any length."""
    with fsio.bulk_reading(), fsio.read_lines(path, transcript.MAX_LINE_BYTES) as lines:
        return tuple(transcript_reader.read(lines, str(path)))


def anchored_manifest(path: Path, pins: anchors.Pins = anchors.Pins(), required: bool = False, trusted: bool = False) -> Anchored:
    """The manifest at `path`, checked against the transcript beside it; the `Anchor` says what anchored it.

    A mismatch (the manifest's SHA-256, the chain, the signature, `key`) is `CheckFailed`
    naming the file. Without a transcript, the manifest is refused when `required`
    (exit 3: `extend` and `rotate` build on it) unless `trusted` (`--trust-manifest`);
    otherwise a warning says that nothing anchors it. `pins` are what the command was
    given to pin it (`--key`, `--vault-key`).
    """
    read = read_manifest(path)
    log = path.parent / transcript.TRANSCRIPT_FILE
    if not exists(log):
        if required and not trusted:
            raise InvalidInput(
                f"no {transcript.TRANSCRIPT_FILE} beside {path}: nothing anchors this manifest, and anyone could have edited it",
                f"put the vault's {transcript.TRANSCRIPT_FILE} (and {transcript_signature.signature_file(transcript.TRANSCRIPT_FILE)}) beside it,"
                f" or, if you know this manifest is the vault's, say so with {TRUST_FLAG}",
            )
        found = Anchored(read, anchors.unanchored(str(path), pins, trusted))
    else:
        events = read_events(log)
        signature_path = Path(transcript_signature.signature_file(str(log)))
        signature_text = fsio.read_text(signature_path) if exists(signature_path) else None
        signature = transcript_signature.signature_from_json(signature_text, str(signature_path)) if signature_text is not None else None
        anchor = anchors.anchor(events, str(log), read.data, str(path), signature, pins, read.manifest)
        found = Anchored(read, anchor, events, signature_text)
    return found


def read_vault(manifest_path: Path, pins: anchors.Pins, trusted: bool = False) -> Vault:
    """The anchored manifest (a transcript required, unless `trusted`), and the drill log beside it, its chain checked."""
    anchored = anchored_manifest(manifest_path, pins, required=True, trusted=trusted)
    drills_path = manifest_path.parent / transcript.DRILLS_FILE
    drills = None
    if exists(drills_path):
        drills = transcript.to_text(transcript.Chain(read_events(drills_path))).encode("ascii")  # checked: canonical, so as it was
    return Vault(anchored, drills)


def carried_over(vault: Vault, chain: transcript.Chain) -> list[OutputFile]:
    """The transcript with its new events, and the signature and drill log as they were."""
    files = [OutputFile(transcript.TRANSCRIPT_FILE, transcript.to_text(chain), secret=False)]
    if vault.anchored.signature is not None:
        files.append(OutputFile(transcript_signature.signature_file(transcript.TRANSCRIPT_FILE), vault.anchored.signature, secret=False))
    if vault.drills is not None:
        files.append(OutputFile(transcript.DRILLS_FILE, vault.drills, secret=False))
    return files


# ---------------------------------------------------------------- writers and successors (docs/history.md)


def read_successor(folder: Path, manifest: mf.Manifest, manifest_sha256: str) -> tuple[succession.Statement, str] | None:
    """The verified word of this revision's successor (`successor.json` beside the manifest), and where it was written;
    None when there is none. A statement that does not verify is `CheckFailed` naming the file."""
    path = folder / SUCCESSOR_FILE
    if not exists(path):
        return None
    statement, place = succession.from_json(fsio.read_text(path), str(path))
    succession.check(statement, manifest, manifest_sha256, str(path))
    return statement, place


def refuse_second_successor(vault: Vault, manifest_path: Path) -> None:
    """A revision with a successor is not extended or rotated again: two successors of one revision are a fork
    (two extensions would even give two new custodians the very same share)."""
    refuse_after_successor(manifest_path, vault.manifest, vault.manifest_sha256,
                           "work from that successor's manifest: a second successor of one revision would fork the vault's history")


def refuse_after_successor(manifest_path: Path, manifest: mf.Manifest, manifest_sha256: str, hint: str) -> None:
    """`WriteRefused` (exit 5) naming the successor, when this revision has one (its verified `successor.json`)."""
    found = read_successor(manifest_path.parent, manifest, manifest_sha256)
    if found is not None:
        raise WriteRefused(f"{manifest_path}: this revision of the vault was already {succession.describe(*found)}", hint)


def leave_successor(folder: Path, statement: succession.Statement, out: Path) -> None:
    """`successor.json` in the predecessor's folder, after the successor is published (still under the lock); the
    successor's place relative to that folder, as copies of both move together."""
    place = os.path.relpath(out.absolute(), folder.absolute())
    fsio.write_new_file(folder / SUCCESSOR_FILE, succession.to_json(statement, place).encode("ascii"), fsio.PUBLIC_FILE_MODE)


def exists(path: Path) -> bool:
    """There is something at `path`: a dangling link counts (reading it is then an error, not absence)."""
    return path.exists() or path.is_symlink()

