"""`rsa-oaep`: a fresh AES-256-GCM data key, sealed with RSA-OAEP to the custodian's public key.

Sealing needs only the public key (RSA, 3072 bits or more); opening needs the token,
which decrypts the data key (CKM_RSA_PKCS_OAEP) with a private key that never
leaves it. The OAEP hash, for OAEP and MGF1 alike, is recorded: sha256, or sha1 for
tokens that support no other (docs/envelope.md). Plan: `public_key`, and optionally
`token` (to prove it opens) and `oaep_hash`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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

NAME = "rsa-oaep"
OAEP_HASHES = ("sha256", "sha1")
DEFAULT_OAEP_HASH = "sha256"
MIN_RSA_KEY_BITS = 3072


@dataclass(frozen=True, kw_only=True)
class RsaRecipient(PublicKeyRecipient):
    oaep_hash: str
    """"sha256" or "sha1" (for OAEP and its MGF1 alike)."""
    wrapped_key: bytes
    """The data key, encrypted with RSA-OAEP to the recipient, at the envelope's top level."""


class RsaOaep(PublicKeyKind):
    name = NAME
    recipient_type = RsaRecipient
    envelope_members = ("wrapped_key",)
    plan_allows = ("public_key", "token", "oaep_hash")
    token_mechanisms = {"CKM_RSA_PKCS_OAEP": ("decrypt",)}
    plan_choices = {"oaep_hash": OAEP_HASHES}
    public_key_name = "RSA"
    public_key_type = rsa.RSAPublicKey

    def check_public_key(self, public_key: PublicKey) -> None:
        if public_key.key_size < MIN_RSA_KEY_BITS:
            raise InvalidInput(f"a {public_key.key_size}-bit RSA key; coldvault seals to RSA keys of at least {MIN_RSA_KEY_BITS} bits")

    def seal(self, target: Target, random_bytes: RandomBytes) -> tuple[Recipient, Aead]:
        assert isinstance(target.public_key, rsa.RSAPublicKey)
        oaep_hash = target.oaep_hash or DEFAULT_OAEP_HASH
        if oaep_hash not in OAEP_HASHES:
            raise ValueError(f"OAEP hash {oaep_hash!r}")
        data_key = random_bytes(DATA_KEY_LENGTH_BYTES)
        recipient = RsaRecipient(
            public_key_sha256=public_key_sha256(target.public_key), oaep_hash=oaep_hash, token_label=target.token_label,
            key_label=target.key_label, wrapped_key=target.public_key.encrypt(data_key, oaep_padding(oaep_hash)),
        )
        return recipient, SoftwareAead(data_key)

    def unseal(self, recipient: Recipient, key: Key) -> Aead:
        assert isinstance(recipient, RsaRecipient)
        return SoftwareAead(key.rsa_oaep_decrypt(recipient.wrapped_key, recipient.oaep_hash))

    def write(self, recipient: Recipient) -> tuple[dict[str, object], dict[str, object]]:
        assert isinstance(recipient, RsaRecipient)
        members: dict[str, object] = {"kind": NAME, "public_key_sha256": recipient.public_key_sha256, "oaep_hash": recipient.oaep_hash,
                   "token_label": recipient.token_label, "key_label": recipient.key_label}
        return members, {"wrapped_key": b64(recipient.wrapped_key)}

    def read(self, members: Fields, envelope: Fields) -> Recipient:
        members.only(("kind", "public_key_sha256", "oaep_hash", "token_label", "key_label"))
        return RsaRecipient(
            public_key_sha256=members.hex("public_key_sha256", 64),
            oaep_hash=members.choice("oaep_hash", OAEP_HASHES),
            token_label=members.string("token_label", null=True, nonempty=True),
            key_label=members.string("key_label", null=True, nonempty=True),
            wrapped_key=envelope.base64("wrapped_key"),
        )


def oaep_padding(hash_name: str) -> padding.OAEP:
    """OAEP with `hash_name` ("sha256" or "sha1") for OAEP and MGF1 alike, no label."""
    algorithm = hashes.SHA256() if hash_name == "sha256" else hashes.SHA1()
    return padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)


KIND = RsaOaep()
