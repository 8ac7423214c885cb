"""Envelopes (`coldvault-envelope/1`): one share sealed to one recipient.

Specified byte for byte in docs/envelope.md; this module is that text in code. The
header names the share and the recipient and is authenticated as the AEAD's
associated data; how a share is sealed to a recipient and opened again is the
recipient kind's (`vault.core.recipients`), and what only a token can do reaches
this module as a `Key`. Pure: no tokens and no files.

Readers are strict, like age's: unknown versions, recipient kinds or fields, a
missing field, and any non-canonical encoding are refused before any cryptography
runs, and a failed decryption says only that the envelope does not open (one
opaque error: it was altered, or it is for another key).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from vault.core.formats import fields
from vault.core.formats.fields import Fields, JsonPath
from vault.core.recipients import registry
from vault.core.recipients.base import NONCE_LENGTH_BYTES, TAG_LENGTH_BYTES, Key, KeyQuery, RandomBytes, Recipient, Target
from vault.core.recipients.base import EnvelopeDoesNotOpen as EnvelopeDoesNotOpen  # the one opaque error, re-exported
from vault.core.slip39.share import Share, parse_share
from vault.errors import InvalidInput

FORMAT = "coldvault-envelope/1"
COMMON_MEMBERS = ("format", "ceremony_id", "share", "custodian", "recipient", "nonce", "ciphertext")
SHARE_MEMBERS = ("identifier", "group_index", "member_index", "share_fingerprint")
LOCATOR = JsonPath("envelope", FORMAT)


@dataclass(frozen=True)
class Envelope:
    ceremony_id: str | None
    identifier: int
    group_index: int
    member_index: int
    share_fingerprint: str
    custodian: str | None
    recipient: Recipient
    nonce: bytes
    ciphertext: bytes = field(repr=False)

    def header(self) -> dict[str, Any]:
        """Every member except the nonce and ciphertext, in the format's order: what the AEAD authenticates."""
        members, extra = registry.of(self.recipient).write(self.recipient)
        return {
            "format": FORMAT,
            "ceremony_id": self.ceremony_id,
            "share": {
                "identifier": self.identifier,
                "group_index": self.group_index,
                "member_index": self.member_index,
                "share_fingerprint": self.share_fingerprint,
            },
            "custodian": self.custodian,
            "recipient": members,
            **extra,
        }

    def associated_data(self) -> bytes:
        """The AEAD's associated data: the header as canonical JSON (docs/envelope.md)."""
        return fields.canonical(self.header()).encode("ascii")

    @property
    def kind(self) -> str:
        return registry.of(self.recipient).name


# ---------------------------------------------------------------- sealing and opening


def seal(
    share: Share,
    target: Target,
    *,
    ceremony_id: str | None = None,
    custodian: str | None = None,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> Envelope:
    """`share` sealed to `target` by its recipient kind. Empty names become null: readers refuse empty strings."""
    recipient, aead = registry.by_name(target.kind).seal(target, random_bytes)
    sealed = Envelope(
        ceremony_id=ceremony_id or None,
        identifier=share.identifier,
        group_index=share.group_index,
        member_index=share.member_index,
        share_fingerprint=share.fingerprint,
        custodian=custodian or None,
        recipient=recipient,
        nonce=random_bytes(NONCE_LENGTH_BYTES),
        ciphertext=b"",
    )
    return replace(sealed, ciphertext=aead.encrypt(sealed.nonce, plaintext(share), sealed.associated_data()))


def wanted(envelope: Envelope) -> KeyQuery:
    """The key a token must hold to open `envelope`."""
    return registry.of(envelope.recipient).wanted(envelope.recipient)


def unseal(envelope: Envelope, key: Key) -> Share:
    """The share inside, opened with `key`; raises `EnvelopeDoesNotOpen` when it does not authenticate."""
    aead = registry.of(envelope.recipient).unseal(envelope.recipient, key)
    return check_opened(envelope, aead.decrypt(envelope.nonce, envelope.ciphertext, envelope.associated_data()))


def plaintext(share: Share) -> bytes:
    """What is sealed: the share's words, lower case, joined by single spaces (ASCII)."""
    return share.mnemonic.encode("ascii")


def check_opened(envelope: Envelope, text: bytes) -> Share:
    """The share inside must be the one the (authenticated) header names, written exactly as `plaintext` writes it.

    Exactly: anyone can seal to a public key, so another tool's envelope authenticates too; a share spelled
    another way (capitals, two spaces, a line feed) is one this format does not make, refused like any other."""
    try:
        share = parse_share(text.decode("ascii"))
    except (UnicodeDecodeError, InvalidInput):
        raise InvalidInput("the envelope opened but holds no valid share: it was made wrongly") from None
    named = (envelope.identifier, envelope.group_index, envelope.member_index, envelope.share_fingerprint)
    if (share.identifier, share.group_index, share.member_index, share.fingerprint) != named:
        raise InvalidInput("the envelope opened but its share is not the one its header names")
    if text != plaintext(share):
        raise InvalidInput("the envelope opened but its share is not written as coldvault-envelope/1 writes it "
                           "(lower-case words joined by single spaces, nothing else): it was made wrongly")
    return share


# ---------------------------------------------------------------- the file


def to_json(envelope: Envelope) -> str:
    document = envelope.header()
    document["nonce"] = fields.b64(envelope.nonce)
    document["ciphertext"] = fields.b64(envelope.ciphertext)
    return fields.pretty(document)


def looks_like_envelope(text: str) -> bool:
    """Share files are words; envelopes are JSON objects."""
    return text.lstrip().startswith("{")


def from_json(text: str) -> Envelope:
    """Parse an envelope, refusing anything this version does not specify exactly."""
    root = Fields(fields.load_object(text, "an envelope"), LOCATOR)
    version = root.value.get("format")
    if version != FORMAT:
        raise InvalidInput(f"unknown envelope format {version!r}", f"this coldvault reads {FORMAT}")
    members = root.object("recipient")
    kind = registry.by_name(members.value.get("kind"))
    root.only((*COMMON_MEMBERS, *kind.envelope_members))
    share = root.object("share").only(SHARE_MEMBERS)
    envelope = Envelope(
        ceremony_id=root.string("ceremony_id", null=True, nonempty=True),
        identifier=share.integer("identifier", 0, (1 << 15) - 1),
        group_index=share.integer("group_index", 0, 15),
        member_index=share.integer("member_index", 0, 15),
        share_fingerprint=share.hex("share_fingerprint", 32),
        custodian=root.string("custodian", null=True, nonempty=True),
        recipient=kind.read(members, root),
        nonce=root.base64("nonce"),
        ciphertext=root.base64("ciphertext"),
    )
    if len(envelope.nonce) != NONCE_LENGTH_BYTES:
        raise InvalidInput(f"envelope.nonce has {len(envelope.nonce)} bytes; it must have {NONCE_LENGTH_BYTES}")
    if len(envelope.ciphertext) <= TAG_LENGTH_BYTES:
        raise InvalidInput("envelope.ciphertext is too short to hold a share: the envelope is truncated")
    return envelope
