"""`coldvault transcript verify DIR`: the transcript's chain, the manifest it recorded, its signature, the
files it records hashes of; the drill log's chain, and whose key signed it.

Every check is the core's (vault.core.formats.transcript, vault.core.anchor); this
flow finds the files in the ceremony's directory. A file that is absent is not
checked and says so; a dangling link is an error, not absence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vault.core import anchor as anchors
from vault.core import seals, succession
from vault.core.backup import MANIFEST_FILE
from vault.core.events import DRILL
from vault.core.evidence import Evidence, Finding, examine, stamps_of, timeline
from vault.core.formats import transcript as tr
from vault.core.formats import transcript_signature
from vault.core.formats.manifest import Manifest
from vault.edges import fsio
from vault.errors import CheckFailed, InvalidInput
from vault.flows.vaults import exists, parse_manifest, read_events, read_successor


@dataclass(frozen=True)
class Checked:
    transcript: anchors.Verified
    files: tuple[anchors.Recorded, ...]
    """The public files the transcript records that are here, each matching its SHA-256."""
    missing: tuple[anchors.Recorded, ...]
    """Those that are not here: not checked (a custodian's packet holds only its own)."""
    drills: anchors.Verified | None
    key_matches: bool | None = None
    """True: `--key` was given, and it is the transcript's signer."""
    attested: Evidence | None = None
    """The drill log's records weighed against the manifest (every signature checked); None
    when there is no drill record, or no manifest to check them against."""
    sealed: seals.Sealed | None = None
    """What the transcript's seals prove (vault.core.seals): the vault key, each seal."""
    vault_key_matches: bool | None = None
    """True: `--vault-key` was given, and it is the key that sealed the transcript."""
    drill_doubts: tuple[Finding, ...] = ()
    """The drill log's lines dated before the line before them (a warning, not a failure)."""
    successor: tuple[succession.Statement, str] | None = None
    """This revision's successor, as its `successor.json` says (verified), and where it was written."""

    @property
    def drills_by_transcript_signer(self) -> bool | None:
        """Whether the drill log's signature is by the transcript's signing key; None when the drill log is not signed."""
        if self.drills is None or self.drills.signer_public_key_sha256 is None:
            return None
        return self.drills.signer_public_key_sha256 == self.transcript.signer_public_key_sha256


def verify(directory: Path, head: str | None, pins: anchors.Pins = anchors.Pins(), now: datetime | None = None) -> Checked:
    """Everything `Checked` says; raises `CheckFailed` naming the first bad line or file.

    The drill log's lines are judged as `drill status` judges them, against `now` (default:
    this machine's clock), with or without a manifest: a line that is not a drill record,
    or is dated after it, fails too."""
    written_down = anchors.read_head(head) if head is not None else None
    log = directory / tr.TRANSCRIPT_FILE
    manifest_path = directory / MANIFEST_FILE
    manifest_data = _optional(manifest_path)
    events, transcript = _verify_log(log, manifest_data, written_down)
    parsed = _keys_of(manifest_data, manifest_path)
    sealed = anchors.check_history(events, transcript, pins, parsed, str(manifest_path))
    files, missing = _check_files(directory, anchors.recorded_files(events, str(log)), str(log))
    successor = read_successor(directory, parsed, hashlib.sha256(manifest_data).hexdigest()) if parsed and manifest_data else None
    drills = directory / tr.DRILLS_FILE
    if not exists(drills):
        return Checked(transcript, files, missing, None, True if pins.key is not None else None, sealed=sealed,
                       vault_key_matches=True if pins.vault_key is not None else None, successor=successor)
    drill_events, drills_verified = _verify_log(drills, None, None)
    records = any(event.event == DRILL for event in drill_events)
    manifest = parse_manifest(manifest_data, manifest_path).manifest if manifest_data is not None and records else None
    now = now or datetime.now(timezone.utc)
    attested = examine(manifest, drill_events, every_signature=True, name=str(drills), now=now) if manifest else None
    judged = attested if attested is not None else timeline(stamps_of(drill_events), now, str(drills))
    if judged.findings:
        raise CheckFailed(f"the drill log was tampered with: {judged.findings[0].problem}",
                          *(finding.problem for finding in judged.findings[1:4]),
                          "those records are not counted by `drill status`; keep the log as evidence and find out who wrote them")
    return Checked(transcript, files, missing, drills_verified, True if pins.key is not None else None, attested, sealed,
                   True if pins.vault_key is not None else None, judged.doubts, successor)


def _verify_log(path: Path, manifest: bytes | None, written_down: str | None) -> tuple[tuple[tr.Event, ...], anchors.Verified]:
    name = str(path)
    events = read_events(path)
    signature_path = Path(transcript_signature.signature_file(name))
    signature = transcript_signature.signature_from_json(fsio.read_text(signature_path), str(signature_path)) if exists(signature_path) else None
    return events, anchors.verify(events, name, manifest, signature, written_down)


def _check_files(
    directory: Path, recorded: tuple[anchors.Recorded, ...], log: str,
) -> tuple[tuple[anchors.Recorded, ...], tuple[anchors.Recorded, ...]]:
    """(the files here, each matching the SHA-256 recorded; the files not here). A mismatch is `CheckFailed` naming the file."""
    here, missing = [], []
    for record in recorded:
        path = directory / record.path
        if not exists(path):
            missing.append(record)
            continue
        actual = hashlib.sha256(fsio.read_bytes(path)).hexdigest()
        if actual != record.sha256:
            raise CheckFailed(
                f"{path}: its SHA-256 is {actual}, but {log} line {record.seq + 1} recorded {record.sha256}: "
                "the file was changed after it was recorded, or it is another vault's"
            )
        here.append(record)
    return tuple(here), tuple(missing)


def _keys_of(data: bytes | None, path: Path) -> Manifest | None:
    """The manifest, to check the keys it lists against the seals; None when there is none or it does not parse (its
    SHA-256 is still checked against the transcript's record: this command checks the record, not the manifest's form)."""
    if data is None:
        return None
    try:
        return parse_manifest(data, path).manifest
    except InvalidInput:
        return None


def _optional(path: Path) -> bytes | None:
    """A file's bytes, or None if there is none (a dangling link is an error, not absence)."""
    return fsio.read_bytes(path) if exists(path) else None
