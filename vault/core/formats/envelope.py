"""Envelopes (`coldvault-envelope/1`): one share sealed to one recipient.

Specified byte for byte in docs/envelope.md; this module is that text in code.
Pure: no tokens and no files. What only a token can do (AES-GCM with a key that
never leaves it, the ECDH or RSA step with a private key) is done by the caller,
which hands this module the results; everything else (ECDH and RSA-OAEP to a public
key, HKDF, AES-GCM with a data key) is `cryptography`'s, here.

Readers are strict, like age's: unknown versions, recipient kinds or fields, a
missing field, and any non-canonical encoding are refused before any cryptography
runs, and a failed decryption says only that the envelope does not open (one
opaque error: it was altered, or it is for another key).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from vault.core.formats import fields as strictjson
from vault.core.slip39.share import Share, parse_share
from vault.errors import InvalidInput

FORMAT = "coldvault-envelope/1"
KIND_TOKEN_AES = "pkcs11-aes-gcm"
KIND_ECDH_P256 = "ecdh-p256"
KIND_RSA_OAEP = "rsa-oaep"
KINDS = (KIND_TOKEN_AES, KIND_ECDH_P256, KIND_RSA_OAEP)
OAEP_HASHES = ("sha256", "sha1")

NONCE_LENGTH_BYTES = 12
TAG_LENGTH_BYTES = 16
DATA_KEY_LENGTH_BYTES = 32
P256_POINT_LENGTH_BYTES = 65
"""SEC1 uncompressed: 0x04 || X || Y."""
MIN_RSA_KEY_BITS = 3072
HKDF_INFO = b"coldvault-envelope/1 ecdh-p256"


class EnvelopeDoesNotOpen(InvalidInput):
    """Authentication failed: the envelope was altered, or it is sealed to another key."""


@dataclass(frozen=True)
class Recipient:
    """Who can open the envelope. Asymmetric recipients are named by their public key's hash."""

    kind: str
    token_label: str | None = None
    key_label: str | None = None
    key_id: str | None = None
    """pkcs11-aes-gcm: the key's CKA_ID in hex, when it has one."""
    public_key_sha256: str | None = None
    """ecdh-p256, rsa-oaep: SHA-256 of the public key's SubjectPublicKeyInfo DER, hex."""
    oaep_hash: str | None = None
    """rsa-oaep: "sha256" or "sha1" (for OAEP and its MGF1 alike)."""


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
    ephemeral_public_key: bytes | None = None
    """ecdh-p256: the sender's one-time P-256 public key (SEC1 uncompressed)."""
    wrapped_key: bytes | None = None
    """rsa-oaep: the data key, encrypted with RSA-OAEP to the recipient."""

    def header(self) -> dict[str, Any]:
        """Every field except the nonce and ciphertext: what the AEAD authenticates."""
        share = {
            "identifier": self.identifier,
            "group_index": self.group_index,
            "member_index": self.member_index,
            "share_fingerprint": self.share_fingerprint,
        }
        document: dict[str, Any] = {
            "format": FORMAT,
            "ceremony_id": self.ceremony_id,
            "share": share,
            "custodian": self.custodian,
            "recipient": _recipient_document(self.recipient),
        }
        if self.ephemeral_public_key is not None:
            document["ephemeral_public_key"] = strictjson.b64(self.ephemeral_public_key)
        if self.wrapped_key is not None:
            document["wrapped_key"] = strictjson.b64(self.wrapped_key)
        return document

    def associated_data(self) -> bytes:
        """The AEAD's associated data: the header as canonical JSON (docs/envelope.md)."""
        return canonical_json(self.header())


def canonical_json(document: dict[str, Any]) -> bytes:
    """Keys sorted, no white space, non-ASCII escaped as \\uXXXX: one byte string per document."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _recipient_document(recipient: Recipient) -> dict[str, Any]:
    fields = _RECIPIENT_FIELDS[recipient.kind]
    return {name: getattr(recipient, name) for name in fields}


_RECIPIENT_FIELDS = {
    KIND_TOKEN_AES: ("kind", "token_label", "key_label", "key_id"),
    KIND_ECDH_P256: ("kind", "public_key_sha256", "token_label", "key_label"),
    KIND_RSA_OAEP: ("kind", "public_key_sha256", "oaep_hash", "token_label", "key_label"),
}
_EXTRA_FIELDS = {KIND_TOKEN_AES: (), KIND_ECDH_P256: ("ephemeral_public_key",), KIND_RSA_OAEP: ("wrapped_key",)}


# ---------------------------------------------------------------- writing


def template(share: Share, recipient: Recipient, ceremony_id: str | None, custodian: str | None) -> Envelope:
    """An envelope for `share` with everything but the cryptography filled in.

    Empty names become null: readers refuse empty strings.
    """
    return Envelope(
        ceremony_id=ceremony_id or None,
        identifier=share.identifier,
        group_index=share.group_index,
        member_index=share.member_index,
        share_fingerprint=share.fingerprint,
        custodian=custodian or None,
        recipient=recipient,
        nonce=b"",
        ciphertext=b"",
    )


def plaintext(share: Share) -> bytes:
    """What is sealed: the share's words, lower case, joined by single spaces (ASCII)."""
    return share.mnemonic.encode("ascii")


def to_json(envelope: Envelope) -> str:
    document = envelope.header()
    document["nonce"] = strictjson.b64(envelope.nonce)
    document["ciphertext"] = strictjson.b64(envelope.ciphertext)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def public_key_sha256(public_key: Any) -> str:
    """SHA-256 of a public key's SubjectPublicKeyInfo DER, hex: how recipients are named."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return hashlib.sha256(public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def load_public_key(data: bytes) -> Any:
    """An EC P-256 or RSA (>= 3072 bits) public key from PEM or DER; anything else is refused."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

    try:
        key = load_pem_public_key(data) if data.lstrip().startswith(b"-----") else load_der_public_key(data)
    except (ValueError, TypeError):
        raise InvalidInput("not a public key (PEM or DER SubjectPublicKeyInfo)") from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise InvalidInput(f"an EC key on {key.curve.name}; coldvault seals to P-256 (secp256r1) keys")
        return key
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_KEY_BITS:
            raise InvalidInput(f"a {key.key_size}-bit RSA key; coldvault seals to RSA keys of at least {MIN_RSA_KEY_BITS} bits")
        return key
    raise InvalidInput(f"a {type(key).__name__}; coldvault seals to EC P-256 or RSA keys")


def public_key_kind(public_key: Any) -> str:
    """The recipient kind a public key from `load_public_key` seals with."""
    from cryptography.hazmat.primitives.asymmetric import ec

    return KIND_ECDH_P256 if isinstance(public_key, ec.EllipticCurvePublicKey) else KIND_RSA_OAEP


def seal_to_public_key(
    share: Share,
    public_key: Any,
    *,
    ceremony_id: str | None = None,
    custodian: str | None = None,
    token_label: str | None = None,
    key_label: str | None = None,
    oaep_hash: str = "sha256",
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Envelope:
    """Seal `share` to an EC P-256 (ecdh-p256) or RSA (rsa-oaep) public key, in software.

    Only the holder of the matching private key (on a token) can open it.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    digest = public_key_sha256(public_key)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        ephemeral = ec.derive_private_key(_p256_scalar(random_bytes), ec.SECP256R1())
        ephemeral_point = point_bytes(ephemeral.public_key())
        data_key = ecdh_data_key(ephemeral.exchange(ec.ECDH(), public_key), ephemeral_point, point_bytes(public_key))
        recipient = Recipient(KIND_ECDH_P256, token_label, key_label, public_key_sha256=digest)
        envelope = replace(template(share, recipient, ceremony_id, custodian), ephemeral_public_key=ephemeral_point)
    elif isinstance(public_key, rsa.RSAPublicKey):
        if oaep_hash not in OAEP_HASHES:
            raise ValueError(f"OAEP hash {oaep_hash!r}")
        data_key = random_bytes(DATA_KEY_LENGTH_BYTES)
        wrapped = public_key.encrypt(data_key, _oaep(oaep_hash))
        recipient = Recipient(KIND_RSA_OAEP, token_label, key_label, public_key_sha256=digest, oaep_hash=oaep_hash)
        envelope = replace(template(share, recipient, ceremony_id, custodian), wrapped_key=wrapped)
    else:
        raise TypeError("an EC P-256 or RSA public key")
    return seal_with_data_key(envelope, share, data_key, random_bytes(NONCE_LENGTH_BYTES))


def seal_with_data_key(envelope: Envelope, share: Share, data_key: bytes, nonce: bytes) -> Envelope:
    """AES-256-GCM in software, the header as associated data."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext(share), envelope.associated_data())
    return replace(envelope, nonce=nonce, ciphertext=ciphertext)


def ecdh_data_key(shared_x: bytes, ephemeral_point: bytes, recipient_point: bytes) -> bytes:
    """HKDF-SHA256 of the ECDH shared secret, bound to both public keys and the format name."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(
        algorithm=hashes.SHA256(),
        length=DATA_KEY_LENGTH_BYTES,
        salt=ephemeral_point + recipient_point,
        info=HKDF_INFO,
    ).derive(shared_x)


def _p256_scalar(random_bytes: Callable[[int], bytes]) -> int:
    """A uniformly random P-256 private scalar from `random_bytes` (rejection sampling)."""
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    while True:
        candidate = int.from_bytes(random_bytes(32), "big")
        if 0 < candidate < order:
            return candidate


def point_bytes(public_key: Any) -> bytes:
    """A P-256 public key as a SEC1 uncompressed point (65 bytes)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _oaep(name: str) -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    algorithm = hashes.SHA256() if name == "sha256" else hashes.SHA1()
    return padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)


# ---------------------------------------------------------------- opening


def open_with_data_key(envelope: Envelope, data_key: bytes) -> Share:
    """Decrypt in software with the data key a token helped recover, then check the share."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        text = AESGCM(data_key).decrypt(envelope.nonce, envelope.ciphertext, envelope.associated_data())
    except InvalidTag:
        raise EnvelopeDoesNotOpen(
            "the envelope does not open: it was altered, or it is sealed to another key",
        ) from None
    return check_opened(envelope, text)


def check_opened(envelope: Envelope, text: bytes) -> Share:
    """The share inside must be the one the (authenticated) header names."""
    try:
        share = parse_share(text.decode("ascii"))
    except (UnicodeDecodeError, InvalidInput):
        raise InvalidInput("the envelope opened but holds no valid share: it was made wrongly") from None
    named = (envelope.identifier, envelope.group_index, envelope.member_index, envelope.share_fingerprint)
    if (share.identifier, share.group_index, share.member_index, share.fingerprint) != named:
        raise InvalidInput("the envelope opened but its share is not the one its header names")
    return share


def rsa_oaep_decrypt_in_software(private_key: Any, envelope: Envelope) -> bytes:
    """The data key of an rsa-oaep envelope with a software private key (tests, and keys kept off tokens)."""
    if envelope.wrapped_key is None or envelope.recipient.oaep_hash is None:
        raise ValueError("not an rsa-oaep envelope")
    try:
        return private_key.decrypt(envelope.wrapped_key, _oaep(envelope.recipient.oaep_hash))
    except ValueError:
        raise EnvelopeDoesNotOpen("the envelope does not open: it was altered, or it is sealed to another key") from None


# ---------------------------------------------------------------- reading


def from_json(text: str) -> Envelope:
    """Parse an envelope, refusing anything this version does not specify exactly."""
    document = strictjson.load_object(text, "an envelope")
    version = document.get("format")
    if version != FORMAT:
        raise InvalidInput(f"unknown envelope format {version!r}", f"this coldvault reads {FORMAT}")
    recipient_document = document.get("recipient")
    if not isinstance(recipient_document, dict):
        raise InvalidInput("envelope.recipient is missing or not an object")
    kind = recipient_document.get("kind")
    if kind not in KINDS:
        raise InvalidInput(f"unknown recipient kind {kind!r}", f"this coldvault knows {', '.join(KINDS)}")
    expected = {"format", "ceremony_id", "share", "custodian", "recipient", "nonce", "ciphertext", *_EXTRA_FIELDS[kind]}
    _exact_keys(document, expected, "envelope")
    _exact_keys(recipient_document, set(_RECIPIENT_FIELDS[kind]), "envelope.recipient")
    share = document["share"]
    if not isinstance(share, dict):
        raise InvalidInput("envelope.share is not an object")
    _exact_keys(share, {"identifier", "group_index", "member_index", "share_fingerprint"}, "envelope.share")
    recipient = Recipient(
        kind=kind,
        token_label=_string(recipient_document.get("token_label"), "envelope.recipient.token_label", kind != KIND_TOKEN_AES),
        key_label=_string(recipient_document.get("key_label"), "envelope.recipient.key_label", kind != KIND_TOKEN_AES),
        key_id=_hex(recipient_document["key_id"], "envelope.recipient.key_id", None, True) if kind == KIND_TOKEN_AES else None,
        public_key_sha256=_hex(recipient_document["public_key_sha256"], "envelope.recipient.public_key_sha256", 64)
        if kind != KIND_TOKEN_AES else None,
        oaep_hash=_oaep_hash(recipient_document["oaep_hash"]) if kind == KIND_RSA_OAEP else None,
    )
    envelope = Envelope(
        ceremony_id=_string(document["ceremony_id"], "envelope.ceremony_id", True),
        identifier=_integer(share["identifier"], "envelope.share.identifier", 0, (1 << 15) - 1),
        group_index=_integer(share["group_index"], "envelope.share.group_index", 0, 15),
        member_index=_integer(share["member_index"], "envelope.share.member_index", 0, 15),
        share_fingerprint=_hex(share["share_fingerprint"], "envelope.share.share_fingerprint", 32),
        custodian=_string(document["custodian"], "envelope.custodian", True),
        recipient=recipient,
        nonce=strictjson.base64_field(document["nonce"], "envelope.nonce"),
        ciphertext=strictjson.base64_field(document["ciphertext"], "envelope.ciphertext"),
        ephemeral_public_key=strictjson.base64_field(document["ephemeral_public_key"], "envelope.ephemeral_public_key")
        if kind == KIND_ECDH_P256 else None,
        wrapped_key=strictjson.base64_field(document["wrapped_key"], "envelope.wrapped_key") if kind == KIND_RSA_OAEP else None,
    )
    _check_lengths(envelope)
    return envelope


def looks_like_envelope(text: str) -> bool:
    """Share files are words; envelopes are JSON objects."""
    return text.lstrip().startswith("{")


def _check_lengths(envelope: Envelope) -> None:
    if len(envelope.nonce) != NONCE_LENGTH_BYTES:
        raise InvalidInput(f"envelope.nonce has {len(envelope.nonce)} bytes; it must have {NONCE_LENGTH_BYTES}")
    if len(envelope.ciphertext) <= TAG_LENGTH_BYTES:
        raise InvalidInput("envelope.ciphertext is too short to hold a share: the envelope is truncated")
    if envelope.ephemeral_public_key is not None:
        point = envelope.ephemeral_public_key
        if len(point) != P256_POINT_LENGTH_BYTES or point[0] != 4:
            raise InvalidInput("envelope.ephemeral_public_key is not an uncompressed P-256 point")


def _exact_keys(document: dict[str, Any], expected: set[str], path: str) -> None:
    missing = sorted(expected - document.keys())
    unknown = sorted(document.keys() - expected)
    if missing:
        raise InvalidInput(f"{path}.{missing[0]} is missing")
    if unknown:
        raise InvalidInput(
            f"{path}.{strictjson.key_in_message(unknown[0])} is not a field of {FORMAT}", "readers refuse unknown fields"
        )


def _string(value: Any, path: str, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{path} should be a non-empty string{' or null' if optional else ''}")
    return value


def _integer(value: Any, path: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"{path} should be a whole number from {low} to {high}")
    return value


def _hex(value: Any, path: str, digits: int | None, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if (
        not isinstance(value, str)
        or not value
        or len(value) % 2
        or (digits is not None and len(value) != digits)
        or any(c not in "0123456789abcdef" for c in value)
    ):
        size = f"{digits} " if digits else ""
        raise InvalidInput(f"{path} should be {size}lower-case hex digits")
    return value


def _oaep_hash(value: Any) -> str:
    if value not in OAEP_HASHES:
        raise InvalidInput(f"envelope.recipient.oaep_hash should be one of {', '.join(OAEP_HASHES)}")
    return value
