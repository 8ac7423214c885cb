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
import hashlib
from dataclasses import dataclass
from typing import Any

from vault.core import events as events_named
from vault.core import seals
from vault.core.fingerprint import aloud
from vault.core.formats import fields
from vault.core.formats import transcript as tr
from vault.core.formats import transcript_signature as ts
from vault.core.formats.manifest import Manifest
from vault.core.layout import MANIFEST_FILE
from vault.errors import CheckFailed, InvalidInput


class AnchorKind(enum.StrEnum):
    SIGNED = "signed-transcript"
    """The manifest's SHA-256 is recorded in a line the transcript's signature covers."""
    SEALED = "sealed-transcript"
    """Recorded in a line sealed by the vault's key or a group's (vault.core.seals), beyond any token's signature."""
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
    vault_key_sha256: str | None = None
    """The vault key that sealed the transcript (verified), the vault's identity; None: not sealed (an older vault)."""
    sealed_seq: int | None = None
    """The last line a seal covers."""
    vault_key_matches: bool | None = None
    """True: `--vault-key` was given and is this vault's key; None: no `--vault-key`."""


@dataclass(frozen=True)
class Verified:
    """What `verify` proved about one log; None where there was nothing to check."""

    name: str
    events: int
    head_seq: int
    head: str
    manifest_sha256: str | None = None
    """The manifest's SHA-256, when a manifest was given (it matched)."""
    manifest_seq: int | None = None
    """The event that recorded it."""
    signed_seq: int | None = None
    """The last line the signature covers; later lines are chained but not signed."""
    signer_public_key_sha256: str | None = None
    signer_token_label: str | None = None
    signer_key_label: str | None = None
    witnessed_seq: int | None = None
    """The line whose hash is the head written down, when one was given."""


@dataclass(frozen=True)
class Pins:
    """What the people who trust a vault wrote down, as typed on the command line (each checked when given)."""

    key: str | None = None
    """`--key`: the [signing] token's key SHA-256."""
    vault_key: str | None = None
    """`--vault-key`: the vault key's SHA-256, the vault's identity."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", read_key(self.key) if self.key is not None else None)
        object.__setattr__(self, "vault_key", read_vault_key(self.vault_key) if self.vault_key is not None else None)


def read_vault_key(typed: str) -> str:
    """`--vault-key` as typed from a card or a runbook: 64 hex digits, either case, spaces between groups allowed."""
    return read_key("".join(typed.split()), "--vault-key (the vault key's SHA-256)")


def anchor(
    events: tuple[tr.Event, ...],
    transcript_name: str,
    manifest: bytes,
    manifest_name: str,
    signature: ts.Signature | None,
    pins: Pins,
    parsed: Manifest,
) -> Anchor:
    """The manifest checked against its transcript; `CheckFailed` naming the file on any mismatch.

    The seals (vault.core.seals) must hold, the manifest must list the keys they were
    made with, and no line may bind a manifest after the last seal. With `pins.vault_key`,
    the seals must be that key's. With `pins.key`, the transcript must be signed by that
    token key; its signature must cover the vault's seal (later revisions are sealed by
    keys that seal declares) or, in a transcript made before seals, the manifest's line.
    """
    verified = verify(events, transcript_name, manifest, signature, manifest_name=manifest_name)
    assert verified.manifest_seq is not None
    sealed = check_history(events, verified, pins, parsed, manifest_name)
    covered = verified.signed_seq is not None and verified.manifest_seq <= verified.signed_seq
    return Anchor(
        kind=AnchorKind.SIGNED if covered else AnchorKind.SEALED if sealed.keys else AnchorKind.UNSIGNED,
        transcript=transcript_name,
        head=verified.head,
        head_seq=verified.head_seq,
        manifest_seq=verified.manifest_seq,
        signed_seq=verified.signed_seq,
        signer_public_key_sha256=verified.signer_public_key_sha256,
        key_matches=True if pins.key is not None else None,
        vault_key_sha256=sealed.vault_key_sha256,
        sealed_seq=sealed.last_seq,
        vault_key_matches=True if pins.vault_key is not None else None,
    )


def check_history(events: tuple[tr.Event, ...], verified: Verified, pins: Pins, parsed: Manifest | None,
                  manifest_name: str = MANIFEST_FILE) -> seals.Sealed:
    """The seals, the manifest's keys and the pins checked against a transcript `verify` read; what the seals prove.

    Every rule of vault.core.seals holds; the manifest (when given) lists the keys the
    seals were made with, and its binding line is sealed. `pins.vault_key`: the seals are
    that key's. `pins.key`: the token signed the history up to the vault's seal (every later
    revision is sealed by keys that seal vouches for); in a transcript made before seals,
    the signature must cover the manifest's line, as before. A transcript made before seals
    whose manifest line comes after both the head written down and the signed lines is
    vouched for by no pin given: refused.
    """
    name = verified.name
    if pins.key is not None:  # first: the key written down names a re-signed transcript more plainly than its broken seal
        check_key(verified, pins.key)
    sealed = seals.check(events, name)
    if parsed is not None:
        seals.check_manifest_keys(sealed, parsed, manifest_name, name)
    if verified.manifest_seq is not None:
        seals.check_binding(sealed, verified.manifest_seq, name)
    if pins.vault_key is not None:
        check_vault_key(sealed, pins.vault_key, name)
    if pins.key is not None:
        if sealed.first_seq is not None and (verified.signed_seq or 0) < sealed.first_seq:
            raise CheckFailed(f"{ts.signature_file(name)} covers lines up to {(verified.signed_seq or 0) + 1}, before the "
                              f"vault's seal (line {sealed.first_seq + 1}): the key given with --key does not vouch for this history")
    if sealed.first_seq is None and verified.manifest_seq is not None:
        _check_pinned_binding(verified, pins)
    return sealed


def _check_pinned_binding(verified: Verified, pins: Pins) -> None:
    """A transcript made before seals: the manifest's line must be covered by what was pinned (the signature, the head)."""
    assert verified.manifest_seq is not None
    line = verified.manifest_seq
    signed = verified.signed_seq is not None and line <= verified.signed_seq
    witnessed = verified.witnessed_seq is not None and line <= verified.witnessed_seq
    if (pins.key is not None or verified.witnessed_seq is not None) and not (signed or witnessed):
        pinned = [f"the last line the signature covers (line {verified.signed_seq + 1})" if verified.signed_seq is not None else "",
                  f"the head written down (line {verified.witnessed_seq + 1})" if verified.witnessed_seq is not None else ""]
        given = "the key given with --key does not vouch for it" if pins.key is not None else "the head given does not vouch for it"
        raise CheckFailed(
            f"the manifest's SHA-256 is recorded at {verified.name} line {line + 1}, after {' and '.join(p for p in pinned if p)}: {given}",
            "that line was appended later, and this vault's history is not sealed (it was made before coldvault sealed histories): "
            "check it against the head written down when that line was written, with `coldvault transcript verify DIR --head HASH`",
        )


def check_vault_key(sealed: seals.Sealed, pinned: str, name: str) -> None:
    """The transcript is sealed by the vault key `pinned` (from a card, a runbook, a pins file); else `CheckFailed`."""
    if sealed.keys is None:
        raise CheckFailed(
            f"{name} is not sealed by any vault key, but --vault-key {pinned} was given: the key written down cannot vouch for it",
            "a vault made before coldvault sealed histories looks like this, and so does a transcript rewritten without its seals",
        )
    if sealed.keys.vault_sha256 != pinned:
        raise CheckFailed(f"{name} is sealed by vault key SHA-256 {sealed.keys.vault_sha256}, not by the one given with --vault-key "
                          f"({pinned}): it is another vault, or a forged one")


def check_key(verified: Verified, key: str) -> None:
    """The transcript `verify` checked is signed by `key` (the key the witnesses wrote down); else `CheckFailed`."""
    signature_name = ts.signature_file(verified.name)
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


def unanchored(manifest_name: str, pins: Pins, trusted: bool) -> Anchor:
    """No transcript beside the manifest: a pin cannot be honoured (`CheckFailed`); else an anchor of kind NONE."""
    pinned = pins.key or pins.vault_key
    if pinned is not None:
        flag = "--key" if pins.key else "--vault-key"
        raise CheckFailed(
            f"no {tr.TRANSCRIPT_FILE} beside {manifest_name}, but {flag} {pinned} was given: nothing signed by that key vouches for it",
            f"put the vault's {tr.TRANSCRIPT_FILE} and {ts.signature_file(tr.TRANSCRIPT_FILE)} beside the manifest",
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
    vault = ""
    if anchor.vault_key_sha256 is not None:
        pinned = " (the key given with --vault-key)" if anchor.vault_key_matches else ": compare it with the one on your card"
        vault = f"; vault key SHA-256 {aloud(anchor.vault_key_sha256)}{pinned}"
    if anchor.kind is AnchorKind.SIGNED:
        pinned = " (the key given with --key)" if anchor.key_matches else ""
        return f"anchor: {recorded}, signed by key SHA-256 {anchor.signer_public_key_sha256}{pinned}{vault}"
    if anchor.kind is AnchorKind.SEALED:
        token = f", in a history signed by key SHA-256 {anchor.signer_public_key_sha256}" if anchor.signer_public_key_sha256 else ""
        return f"anchor: {recorded}, sealed by the vault's keys{token}{vault}"
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

    Told apart by the event's name (vault.core.events), never by which members its data
    holds: `data.public_files` (an object, path to SHA-256) of a `ceremony-completed` or
    an `extend` line; a packet's `file` with its `envelope_sha256` (a `packet-made`
    line's data, or an item of an `extend` line's `data.shares`). The manifest is not
    among them: its binding (`data.manifest_sha256`) is checked on its own.
    """
    found: dict[str, Recorded] = {}
    for event in events:
        where = f"{name} line {event.seq + 1}"
        if event.event in events_named.BINDING:
            public = event.data.get("public_files", {})
            if not isinstance(public, dict):
                raise CheckFailed(f"{where}: data.public_files should be an object (path: SHA-256)")
            for path, digest in public.items():
                found[path] = _recorded(path, digest, event.seq, f"{where}: data.public_files")
        shares = event.data.get("shares") if event.event == events_named.EXTEND else None
        packets = [event.data] if event.event == events_named.PACKET_MADE else shares if isinstance(shares, list) else []
        for packet in packets:
            if isinstance(packet, dict) and packet.get("envelope_sha256") is not None:
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


# ---------------------------------------------------------------- the chain's own anchors: a manifest's record, a head written down


def check_manifest(events: tuple[tr.Event, ...], manifest: bytes, name: str = "transcript.jsonl", manifest_name: str = "manifest.json") -> int:
    """The seq of the last event recording `data.manifest_sha256`, if it is the manifest's.

    The last one counts: a ceremony may rewrite its manifest before it ends, and the
    transcript records each version.
    """
    actual = hashlib.sha256(manifest).hexdigest()
    for event in reversed(events):
        if "manifest_sha256" not in event.data:
            continue
        recorded = event.data["manifest_sha256"]
        where = f"{name} line {event.seq + 1}"
        if not fields.is_hex(recorded, 64):
            raise CheckFailed(f"{where}: data.manifest_sha256 should be 64 lower-case hex digits")
        if recorded != actual:
            raise CheckFailed(
                f"{manifest_name} does not match {where} ({event.event}): its SHA-256 is {actual}, "
                f"the transcript recorded {recorded}: the manifest was changed, or it is another ceremony's"
            )
        return event.seq
    raise CheckFailed(f"{name} records no manifest (no event has data.manifest_sha256), but {manifest_name} was given")


def check_head(events: tuple[tr.Event, ...], written_down: str, name: str = "transcript.jsonl") -> int:
    """The seq of the line whose hash is the head the witnesses wrote down.

    Lines after it may have been appended since; they are chained but not witnessed.
    """
    for event in events:
        if event.hash == written_down:
            return event.seq
    last = events[-1]
    raise CheckFailed(
        f"{name}: no line has the head hash written down ({written_down}); the last, line {last.seq + 1}, "
        f"has {last.hash}: lines were removed from its end, or it is another transcript"
    )


def read_head(typed: str) -> str:
    """A head hash as a person typed it: either case, surrounding spaces ignored."""
    return _read_typed_sha256(typed, "the head hash")


def read_key(typed: str, what: str = "--key (the signing key's SHA-256)") -> str:
    """A key's SHA-256 (`--key`) as a person typed it from what the witnesses wrote down: as `read_head`."""
    return _read_typed_sha256(typed, what)


def _read_typed_sha256(typed: str, what: str) -> str:
    """64 hex digits in either case, surrounding spaces ignored; lower case out. Else `InvalidInput` (exit 3)."""
    digest = typed.strip().lower()
    if not fields.is_hex(digest, 64):
        raise InvalidInput(f"{what} should be 64 hex digits; got {len(digest)} characters")
    return digest


def verify(
    events: tuple[tr.Event, ...],
    name: str = "transcript.jsonl",
    manifest: bytes | None = None,
    signature: ts.Signature | None = None,
    written_down: str | None = None,
    manifest_name: str = "manifest.json",
) -> Verified:
    """Every anchor given (and the signature the chain declares) checked against `parse`'s events."""
    signed_seq = ts.check_signature(events, signature, name)
    manifest_seq = check_manifest(events, manifest, name, manifest_name) if manifest is not None else None
    witnessed_seq = check_head(events, written_down, name) if written_down is not None else None
    return Verified(
        name=name,
        events=len(events),
        head_seq=events[-1].seq,
        head=events[-1].hash,
        manifest_sha256=hashlib.sha256(manifest).hexdigest() if manifest is not None else None,
        manifest_seq=manifest_seq,
        signed_seq=signed_seq,
        signer_public_key_sha256=signature.public_key_sha256 if signature else None,
        signer_token_label=signature.token_label if signature else None,
        signer_key_label=signature.key_label if signature else None,
        witnessed_seq=witnessed_seq,
    )
