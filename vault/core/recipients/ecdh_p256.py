"""`ecdh-p256`: ephemeral-static ECDH with the custodian's P-256 key, HKDF-SHA256, AES-256-GCM.

Sealing needs only the custodian's public key; opening needs the token, which does
the ECDH step (CKM_ECDH1_DERIVE) with a private key that never leaves it. The data
key is HKDF-SHA256 of the shared x-coordinate, salted with both public points and
bound to the format's name (docs/envelope.md). Plan: `public_key` (a PEM or DER
file), and optionally the `token` that holds its private key, to prove it opens.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vault.core.formats.fields import Fields, b64
from vault.core.recipients.base import (
    DATA_KEY_LENGTH_BYTES,
    Aead,
    Key,
    PublicKey,
    PublicKeyKind,
    PublicKeyRecipient,
    RandomBytes,
    Recipient,
    SoftwareAead,
    Target,
    public_key_sha256,
)
from vault.errors import InvalidInput

NAME = "ecdh-p256"
HKDF_INFO = b"coldvault-envelope/1 ecdh-p256"
P256_POINT_LENGTH_BYTES = 65
"""SEC1 uncompressed: 0x04 || X || Y."""
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True, kw_only=True)
class EcdhRecipient(PublicKeyRecipient):
    ephemeral_public_key: bytes
    """The sender's one-time P-256 public key (SEC1 uncompressed), at the envelope's top level."""


class EcdhP256(PublicKeyKind):
    name = NAME
    recipient_type = EcdhRecipient
    envelope_members = ("ephemeral_public_key",)
    plan_allows = ("public_key", "token")
    token_mechanisms = {"CKM_ECDH1_DERIVE": ("derive",)}
    public_key_name = "EC P-256"
    public_key_type = ec.EllipticCurvePublicKey

    def check_public_key(self, public_key: PublicKey) -> None:
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise InvalidInput(f"an EC key on {public_key.curve.name}; coldvault seals to P-256 (secp256r1) keys")

    def seal(self, target: Target, random_bytes: RandomBytes) -> tuple[Recipient, Aead]:
        assert isinstance(target.public_key, ec.EllipticCurvePublicKey)
        ephemeral = ec.derive_private_key(_p256_scalar(random_bytes), ec.SECP256R1())
        ephemeral_point = point_bytes(ephemeral.public_key())
        data_key = data_key_of(ephemeral.exchange(ec.ECDH(), target.public_key), ephemeral_point, point_bytes(target.public_key))
        recipient = EcdhRecipient(
            public_key_sha256=public_key_sha256(target.public_key), token_label=target.token_label,
            key_label=target.key_label, ephemeral_public_key=ephemeral_point,
        )
        return recipient, SoftwareAead(data_key)

    def unseal(self, recipient: Recipient, key: Key) -> Aead:
        assert isinstance(recipient, EcdhRecipient)
        shared_x = key.ecdh_shared_x(recipient.ephemeral_public_key)
        public = key.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        return SoftwareAead(data_key_of(shared_x, recipient.ephemeral_public_key, point_bytes(public)))

    def write(self, recipient: Recipient) -> tuple[dict[str, object], dict[str, object]]:
        assert isinstance(recipient, EcdhRecipient)
        members: dict[str, object] = {"kind": NAME, "public_key_sha256": recipient.public_key_sha256,
                   "token_label": recipient.token_label, "key_label": recipient.key_label}
        return members, {"ephemeral_public_key": b64(recipient.ephemeral_public_key)}

    def read(self, members: Fields, envelope: Fields) -> Recipient:
        members.only(("kind", "public_key_sha256", "token_label", "key_label"))
        point = envelope.base64("ephemeral_public_key")
        if len(point) != P256_POINT_LENGTH_BYTES or point[0] != 4:
            raise envelope.fail("ephemeral_public_key", "is not an uncompressed P-256 point")
        return EcdhRecipient(
            public_key_sha256=members.hex("public_key_sha256", 64),
            token_label=members.string("token_label", null=True, nonempty=True),
            key_label=members.string("key_label", null=True, nonempty=True),
            ephemeral_public_key=point,
        )


def data_key_of(shared_x: bytes, ephemeral_point: bytes, recipient_point: bytes) -> bytes:
    """HKDF-SHA256 of the ECDH shared secret, bound to both public keys and the format name."""
    return HKDF(
        algorithm=hashes.SHA256(), length=DATA_KEY_LENGTH_BYTES, salt=ephemeral_point + recipient_point, info=HKDF_INFO,
    ).derive(shared_x)


def point_bytes(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """A P-256 public key as a SEC1 uncompressed point (65 bytes)."""
    return public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _p256_scalar(random_bytes: RandomBytes) -> int:
    """A uniformly random P-256 private scalar from `random_bytes` (rejection sampling)."""
    while True:
        candidate = int.from_bytes(random_bytes(32), "big")
        if 0 < candidate < P256_ORDER:
            return candidate


KIND = EcdhP256()
