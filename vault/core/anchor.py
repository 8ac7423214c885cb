"""What vouches for a manifest: the transcript beside it (docs/transcript.md, "Anchoring a manifest").

A manifest is a public file that anyone with write access can edit. Every command
that trusts one checks it against the transcript beside it: the chain, the manifest's
SHA-256 as the last binding event recorded it, and the signature where there is one;
and, with `--key`, that the signature is by the key the witnesses wrote down and
covers the binding. The result, an `Anchor`, says what was used, so that a command
can say it. Pure: the caller reads the files.

What an anchor proves (docs/threat-model.md): a signed anchor, that the holder of
the signing key recorded this manifest; an unsigned one, only that the manifest
and the transcript agree (whoever rewrites both is caught by the head written down,
or by `--key`); none, nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from vault.core.backup import MANIFEST_FILE
from vault.core.formats import fields
from vault.core.formats import transcript as tr
from vault.errors import CheckFailed


class AnchorKind(enum.StrEnum):
    SIGNED = "signed-transcript"
    """The manifest's SHA-256 is recorded in a line the transcript's signature covers."""
    UNSIGNED = "unsigned-transcript"
    """Recorded in the chain, but no signature covers that line (an unsigned transcript, or a line appended after it)."""
    NONE = "none"
    """No transcript beside the manifest: nothing anchors it."""


@dataclass(frozen=True)
class Anchor:
    """What a command trusted a manifest on; its JSON form is `vars` of it (`to_data`)."""

    kind: AnchorKind
    transcript: str | None = None
    """The transcript's path, as the command was given it."""
    head: str | None = None
    head_seq: int | None = None
    manifest_seq: int | None = None
    """The line (seq) whose `data.manifest_sha256` is the manifest's."""
    signed_seq: int | None = None
    """The last line the signature covers, when the transcript is signed."""
    signer_public_key_sha256: str | None = None
    """The key that signed the transcript (verified); the labels beside it in the signature file are not trusted."""
    key_matches: bool | None = None
    """True: `--key` was given and is this signer's; None: no `--key`."""
    trusted: bool = False
    """No transcript, and the command was told to trust the manifest (`--trust-manifest`)."""


def anchor(
    events: tuple[tr.Event, ...],
    transcript_name: str,
    manifest: bytes,
    manifest_name: str,
    signature: tr.Signature | None,
    key: str | None,
) -> Anchor:
    """The manifest checked against its transcript; `CheckFailed` naming the file on any mismatch.

    With `key` (as `transcript.read_key` returns it), the transcript must be signed by
    that key, and the signature must cover the line that records the manifest.
    """
    verified = tr.verify(events, transcript_name, manifest, signature, manifest_name=manifest_name)
    assert verified.manifest_seq is not None
    covered = verified.signed_seq is not None and verified.manifest_seq <= verified.signed_seq
    if key is not None:
        check_key(verified, key)
        if not covered:
            raise CheckFailed(
                f"{manifest_name}: its SHA-256 is recorded at {transcript_name} line {verified.manifest_seq + 1}, after the "
                f"last line the signature covers (line {(verified.signed_seq or 0) + 1}): the key given with --key does not vouch for it",
                "that line was appended later (an extension is not signed): check it against the head written down then, "
                "with `coldvault transcript verify DIR --head HASH`",
            )
    return Anchor(
        kind=AnchorKind.SIGNED if covered else AnchorKind.UNSIGNED,
        transcript=transcript_name,
        head=verified.head,
        head_seq=verified.head_seq,
        manifest_seq=verified.manifest_seq,
        signed_seq=verified.signed_seq,
        signer_public_key_sha256=verified.signer_public_key_sha256,
        key_matches=True if key is not None else None,
    )


def check_key(verified: tr.Verified, key: str) -> None:
    """The transcript `verify` checked is signed by `key` (the key the witnesses wrote down); else `CheckFailed`."""
    signature_name = tr.signature_file(verified.name)
    if verified.signer_public_key_sha256 is None:
        raise CheckFailed(
            f"{verified.name} is not signed (its first line declares no signing key), but --key {key} was given: "
            "the key written down cannot vouch for it",
            "a transcript rewritten without its signature looks like this: compare the head with the one written down",
        )
    if verified.signer_public_key_sha256 != key:
        raise CheckFailed(
            f"{signature_name} is signed by key SHA-256 {verified.signer_public_key_sha256}, "
            f"not by the key given with --key ({key}): the transcript was re-signed by another key, or it is another vault's",
        )


def unanchored(manifest_name: str, key: str | None, trusted: bool) -> Anchor:
    """No transcript beside the manifest: `--key` cannot be honoured (`CheckFailed`); else an anchor of kind NONE."""
    if key is not None:
        raise CheckFailed(
            f"no {tr.TRANSCRIPT_FILE} beside {manifest_name}, but --key {key} was given: nothing signed by that key vouches for it",
            f"put the vault's {tr.TRANSCRIPT_FILE} and {tr.signature_file(tr.TRANSCRIPT_FILE)} beside the manifest",
        )
    return Anchor(AnchorKind.NONE, trusted=trusted)


def to_data(anchor: Anchor) -> dict[str, Any]:
    """The anchor as `--json` output shows it."""
    return {**vars(anchor), "kind": anchor.kind.value}


def describe(anchor: Anchor, manifest_name: str) -> str:
    """One line for stderr: which anchor a command used, or a plain warning that there is none."""
    if anchor.kind is AnchorKind.NONE:
        if anchor.trusted:
            return f"warning: no {tr.TRANSCRIPT_FILE} beside {manifest_name}: trusted only because --trust-manifest says so"
        return f"warning: no {tr.TRANSCRIPT_FILE} beside {manifest_name}: nothing anchors it; anyone could have edited it"
    assert anchor.manifest_seq is not None
    recorded = f"{manifest_name} is the one recorded at {anchor.transcript} line {anchor.manifest_seq + 1}"
    if anchor.kind is AnchorKind.SIGNED:
        pinned = " (the key given with --key)" if anchor.key_matches else ""
        return f"anchor: {recorded}, signed by key SHA-256 {anchor.signer_public_key_sha256}{pinned}"
    if anchor.signed_seq is not None:
        return (
            f"anchor: {recorded}, chained after the signed lines (up to line {anchor.signed_seq + 1}) but not signed; "
            f"head {anchor.head}: compare it with the one written down"
        )
    return f"anchor: {recorded}, not signed; head {anchor.head}: compare it with the one written down"


# ---------------------------------------------------------------- the public files a transcript records


@dataclass(frozen=True)
class Recorded:
    """A public file whose SHA-256 a transcript recorded, and the line that recorded it last."""

    path: str
    sha256: str
    seq: int


def recorded_files(events: tuple[tr.Event, ...], name: str = tr.TRANSCRIPT_FILE) -> tuple[Recorded, ...]:
    """Every public file the transcript records a SHA-256 of, by path relative to its directory; the last record counts.

    Three kinds of record: `data.public_files` (an object, path to SHA-256; the end of a
    ceremony or a split), and a packet's `file` with its `envelope_sha256` (a
    `packet-made` event's data, or an item of an `extend` event's `data.shares`). The
    manifest is not among them: its binding (`data.manifest_sha256`) is checked on its own.
    """
    found: dict[str, Recorded] = {}
    for event in events:
        where = f"{name} line {event.seq + 1}"
        public = event.data.get("public_files")
        if public is not None:
            if not isinstance(public, dict):
                raise CheckFailed(f"{where}: data.public_files should be an object (path: SHA-256)")
            for path, digest in public.items():
                found[path] = _recorded(path, digest, event.seq, f"{where}: data.public_files")
        shares = event.data.get("shares")
        packets = [event.data] + (shares if isinstance(shares, list) else [])
        for packet in packets:
            if isinstance(packet, dict) and "envelope_sha256" in packet:
                record = _recorded(packet.get("file"), packet["envelope_sha256"], event.seq, where)
                found[record.path] = record
    return tuple(found[path] for path in sorted(found) if path != MANIFEST_FILE)


def _recorded(path: Any, digest: Any, seq: int, where: str) -> Recorded:
    if not is_inside(path):
        raise CheckFailed(f"{where} records a file {path!r}, which is not a relative path inside the transcript's directory")
    if not fields.is_hex(digest, 64):
        raise CheckFailed(f"{where} records {path}'s SHA-256 as {digest!r}, not 64 lower-case hex digits")
    return Recorded(path, digest, seq)


def is_inside(path: Any) -> bool:
    """A relative path with `/` between folders, naming a file below its directory (no `..`, no `.`, no empty part)."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))
