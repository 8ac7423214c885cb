"""A vault's public records, read from the directory of its manifest and checked against each other.

`extend` and `rotate` start from a vault: its manifest (hashed from the very bytes
parsed), the transcript beside it (its chain, its signature, and the manifest's hash
it recorded), and its drill log (its chain). A new revision carries the signature and
the drill log over unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from vault.core.formats import manifest as mf
from vault.core.formats import transcript
from vault.core.outputs import OutputFile
from vault.edges import fsio
from vault.errors import VaultError
from vault.flows.transcripts import read_events


@dataclass(frozen=True)
class Vault:
    manifest: mf.Manifest
    manifest_sha256: str
    events: tuple[transcript.Event, ...]
    """The transcript's events; empty when there is none beside the manifest (a `split`)."""
    signature: str | None
    """transcript.sig.json's text, carried over unchanged: it still covers the lines it signed."""
    drills: bytes | None
    """drills.jsonl's bytes, carried over unchanged."""


@dataclass(frozen=True)
class ManifestFile:
    """A manifest and the bytes it was parsed from: what is hashed and anchored is what is used."""

    manifest: mf.Manifest
    data: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def read_manifest(path: Path) -> ManifestFile:
    """The manifest at `path`, read once; every error names the file."""
    data = fsio.read_bytes(path)
    text = fsio.decode(data, path)
    try:
        return ManifestFile(mf.from_json(text), data)
    except VaultError as error:
        raise error.with_context(str(path)) from None


def read_vault(manifest_path: Path) -> Vault:
    """The manifest, and the transcript, signature and drill log beside it, each verified."""
    read = read_manifest(manifest_path)
    folder = manifest_path.parent
    log = folder / transcript.TRANSCRIPT_FILE
    events: tuple[transcript.Event, ...] = ()
    signature_text = None
    if log.exists():
        events = read_events(log)
        signature_path = Path(transcript.signature_file(str(log)))
        signature = None
        if signature_path.exists():
            signature_text = fsio.read_text(signature_path)
            signature = transcript.signature_from_json(signature_text, str(signature_path))
        transcript.verify(events, str(log), read.data, signature)
    drills_path = folder / transcript.DRILLS_FILE
    drills = None
    if drills_path.exists():
        drills = transcript.to_text(transcript.Chain(read_events(drills_path))).encode("ascii")  # checked: canonical, so as it was
    return Vault(read.manifest, read.sha256, events, signature_text, drills)


def carried_over(vault: Vault, chain: transcript.Chain) -> list[OutputFile]:
    """The transcript with its new events, and the signature and drill log as they were."""
    files = [OutputFile(transcript.TRANSCRIPT_FILE, transcript.to_text(chain), secret=False)]
    if vault.signature is not None:
        files.append(OutputFile(transcript.signature_file(transcript.TRANSCRIPT_FILE), vault.signature, secret=False))
    if vault.drills is not None:
        files.append(OutputFile(transcript.DRILLS_FILE, vault.drills, secret=False))
    return files
