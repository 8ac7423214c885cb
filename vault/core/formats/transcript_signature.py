"""A token's signature over a transcript (`coldvault-transcript-signature/1`, docs/transcript.md).

A transcript may declare, on its first line, the [signing] token key that signs it;
the signature is a file beside it over one line's hash. Pure: a token signs the 32
bytes `signature_digest` returns; this module writes, reads and verifies.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from vault.core.formats import fields
from vault.core.formats.fields import Fields, JsonPath
from vault.core.formats.transcript import MAX_INTEGER, Event
from vault.errors import CheckFailed, InvalidInput

SIGNATURE_FORMAT = "coldvault-transcript-signature/1"
SIGNATURE_ALGORITHM = "ecdsa-p256-sha256"
SIGNATURE_DOMAIN = SIGNATURE_FORMAT.encode("ascii") + b"\x00"
SIGNATURE_MEMBERS = (
    "format", "seq", "hash", "algorithm", "public_key", "public_key_sha256", "token_label", "key_label", "signature",
)
SIGNING_MEMBERS = ("public_key_sha256", "token_label", "key_label")
SIGNATURE_LENGTH_BYTES = 64
"""r || s, 32 bytes each, big-endian: what PKCS#11's CKM_ECDSA returns for P-256."""


@dataclass(frozen=True)
class Signer:
    """The key a transcript declares it is signed with (its first event's `data.signing`)."""

    public_key_sha256: str
    token_label: str | None = None
    key_label: str | None = None

    def __post_init__(self) -> None:
        if "" in (self.token_label, self.key_label):
            raise ValueError("a signing label is a non-empty string or None: readers refuse an empty one")


@dataclass(frozen=True)
class Signature:
    """`transcript.sig.json`: a token's signature over one line's hash."""

    seq: int
    hash: str
    public_key: bytes
    """SubjectPublicKeyInfo DER of the signing key."""
    public_key_sha256: str
    token_label: str | None
    key_label: str | None
    signature: bytes
    """r || s, 64 bytes."""


def signing_data(signer: Signer) -> dict[str, Any]:
    """The first event's `data.signing` for a transcript that will be signed by `signer`."""
    return {"public_key_sha256": signer.public_key_sha256, "token_label": signer.token_label, "key_label": signer.key_label}


def signature_file(name: str) -> str:
    """The signature's file beside a log: transcript.jsonl -> transcript.sig.json."""
    return (name[: -len(".jsonl")] if name.endswith(".jsonl") else name) + ".sig.json"


def signature_digest(head_hash: str) -> bytes:
    """The 32 bytes a token signs with raw ECDSA (CKM_ECDSA) for the line with hash `head_hash`.

    SHA-256 of the domain string and the hash's 64 ASCII hex digits, so a raw ECDSA
    signature over it is an ordinary ECDSA-SHA256 signature over that message.
    """
    if not fields.is_hex(head_hash, 64):
        raise ValueError("a line hash is 64 lower-case hex digits")
    return hashlib.sha256(SIGNATURE_DOMAIN + head_hash.encode("ascii")).digest()


def signature_for(
    event: Event, public_key_der: bytes, raw_signature: bytes, token_label: str | None = None, key_label: str | None = None
) -> Signature:
    """The signature file's contents for `event`, from the token's public key (SPKI DER) and r || s.

    A label is a non-empty string or None (no label): readers refuse an empty one, so it is the caller's bug."""
    if len(raw_signature) != SIGNATURE_LENGTH_BYTES:
        raise ValueError(f"a P-256 signature from CKM_ECDSA has {SIGNATURE_LENGTH_BYTES} bytes")
    if "" in (token_label, key_label):
        raise ValueError("a signing label is a non-empty string or None: readers refuse an empty one")
    return Signature(
        seq=event.seq,
        hash=event.hash,
        public_key=public_key_der,
        public_key_sha256=hashlib.sha256(public_key_der).hexdigest(),
        token_label=token_label,
        key_label=key_label,
        signature=raw_signature,
    )


def signature_to_json(signature: Signature) -> str:
    """The signature file's text: members in the format's order, indented for people."""
    document = {
        "format": SIGNATURE_FORMAT,
        "seq": signature.seq,
        "hash": signature.hash,
        "algorithm": SIGNATURE_ALGORITHM,
        "public_key": fields.b64(signature.public_key),
        "public_key_sha256": signature.public_key_sha256,
        "token_label": signature.token_label,
        "key_label": signature.key_label,
        "signature": fields.b64(signature.signature),
    }
    return fields.pretty(document, ascii_only=True)


def signature_from_json(text: str, name: str = "transcript.sig.json") -> Signature:
    """Parse a signature file, refusing anything the format does not specify exactly."""
    try:
        document = fields.load_object(text, "a transcript signature")
    except InvalidInput as error:
        raise CheckFailed(f"{name}: {error.message}") from None
    signature = Fields(document, JsonPath("", SIGNATURE_FORMAT, f"{name}: ", CheckFailed))
    if document.get("format") != SIGNATURE_FORMAT:
        raise signature.fail(None, f"unknown format {document.get('format')!r}; this coldvault reads {SIGNATURE_FORMAT}")
    signature.only(SIGNATURE_MEMBERS)
    read = Signature(
        seq=signature.integer("seq", 0, MAX_INTEGER),
        hash=signature.hex("hash", 64),
        public_key=signature.base64("public_key"),
        public_key_sha256=signature.hex("public_key_sha256", 64),
        token_label=signature.string("token_label", null=True, nonempty=True),
        key_label=signature.string("key_label", null=True, nonempty=True),
        signature=signature.base64("signature"),
    )
    if signature.get("algorithm", object) != SIGNATURE_ALGORITHM:
        raise signature.fail("algorithm", f"should be {SIGNATURE_ALGORITHM}")
    if hashlib.sha256(read.public_key).hexdigest() != read.public_key_sha256:
        raise signature.fail("public_key_sha256", "is not the SHA-256 of public_key")
    if len(read.signature) != SIGNATURE_LENGTH_BYTES:
        raise signature.fail("signature", f"has {len(read.signature)} bytes; an ECDSA P-256 signature (r || s) has {SIGNATURE_LENGTH_BYTES}")
    return read


def declared_signer(events: tuple[Event, ...], name: str = "transcript.jsonl") -> Signer | None:
    """The key the first event says will sign this transcript, or None (unsigned)."""
    signing = events[0].data.get("signing")
    if signing is None:
        return None
    if (
        not isinstance(signing, dict)
        or tuple(sorted(signing)) != tuple(sorted(SIGNING_MEMBERS))
        or not fields.is_hex(signing["public_key_sha256"], 64)
        or not all(signing[key] is None or (isinstance(signing[key], str) and signing[key]) for key in SIGNING_MEMBERS[1:])
    ):
        raise CheckFailed(
            f"{name} line 1: data.signing should be null or an object with public_key_sha256 "
            "(64 lower-case hex digits), token_label and key_label (non-empty strings or null)"
        )
    return Signer(signing["public_key_sha256"], signing["token_label"], signing["key_label"])


def check_signature(events: tuple[Event, ...], signature: Signature | None, name: str = "transcript.jsonl") -> int | None:
    """The seq of the last line the signature covers, or None for a transcript declared unsigned.

    The chain says whether it is signed, so a signature cannot be dropped unnoticed,
    and one by an undeclared key proves nothing. A signature over an earlier line
    still holds after later lines are appended; those lines are chained, not signed.
    """
    declared = declared_signer(events, name)
    signature_name = signature_file(name)
    if declared is None and signature is None:
        return None
    if declared is None:
        raise CheckFailed(
            f"{signature_name} is present, but {name} does not declare a signing key (line 1 has no data.signing): "
            "a signature by an undeclared key proves nothing"
        )
    if signature is None:
        raise CheckFailed(
            f"{name} declares that it is signed (key SHA-256 {declared.public_key_sha256}), but {signature_name} is missing",
            "restore the signature file from a copy",
        )
    key_sha256 = hashlib.sha256(signature.public_key).hexdigest()
    if key_sha256 != declared.public_key_sha256:
        raise CheckFailed(
            f"{signature_name} is signed by key SHA-256 {key_sha256}, but {name} declares key SHA-256 "
            f"{declared.public_key_sha256}: it is another key's signature"
        )
    _verify_ecdsa(signature, signature_name)
    if signature.seq >= len(events):
        raise CheckFailed(
            f"{signature_name} covers line {signature.seq + 1} (seq {signature.seq}), but {name} ends at line "
            f"{len(events)}: lines were removed from its end"
        )
    if events[signature.seq].hash != signature.hash:
        raise CheckFailed(
            f"{name} line {signature.seq + 1}: its hash is not the one {signature_name} signed: "
            "the transcript was rewritten, or the signature is another transcript's"
        )
    return signature.seq


def _verify_ecdsa(signature: Signature, signature_name: str) -> None:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key

    try:
        key = load_der_public_key(signature.public_key)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CheckFailed(f"{signature_name}: public_key is not a DER SubjectPublicKeyInfo") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CheckFailed(f"{signature_name}: public_key is not an EC P-256 key")
    if key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) != signature.public_key:
        raise CheckFailed(f"{signature_name}: public_key is not in canonical DER (uncompressed point)")
    half = SIGNATURE_LENGTH_BYTES // 2
    r = int.from_bytes(signature.signature[:half], "big")
    s = int.from_bytes(signature.signature[half:], "big")
    try:
        key.verify(
            utils.encode_dss_signature(r, s),
            signature_digest(signature.hash),
            ec.ECDSA(utils.Prehashed(hashes.SHA256())),
        )
    except InvalidSignature:
        raise CheckFailed(
            f"{signature_name}: the signature does not verify: the file was altered, or it was made by another key"
        ) from None
