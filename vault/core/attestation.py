"""Attestation keys: proof that a drill check was made by someone holding the share, or the seed.

A drill record is a line anyone can write. What makes a check count is a signature
that could not have been made without what the check claims (docs/attestation.md):

- each share has an Ed25519 key derived from the share itself (HKDF-SHA256 over its
  words), so only a holder of the share can sign "this share passed";
- the vault has an Ed25519 key derived from the secret, so only someone who recovered
  it can sign "a quorum recovered the seed".

The ceremony (and `split`, `extend`, `rotate`) derives the keys while the shares and
the secret are in memory and writes only the public keys to the manifest; a drill
derives them again from what was brought and signs its record. Nothing secret is
written: the private keys live only as long as the signing.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.core.formats.fields import b64
from vault.core.secret import Secret
from vault.core.slip39 import polynomial
from vault.core.slip39.share import Share

ALGORITHM = "ed25519-hkdf-sha256"
"""The manifest's `attestation.algorithm`: how keys are derived and what they sign with."""
KEY_DOMAIN = b"coldvault-attestation-key/1\x00"
SEED_LENGTH_BYTES = 32
PUBLIC_KEY_LENGTH_BYTES = 32
SIGNATURE_LENGTH_BYTES = 64


@dataclass(frozen=True)
class SigningKey:
    """A derived attestation key: it signs drill records and is dropped with the drill."""

    public_key: str
    """Base64 of the 32-byte Ed25519 public key, as the manifest lists it."""
    _private: Ed25519PrivateKey = field(repr=False)

    def sign(self, message: bytes) -> str:
        return b64(self._private.sign(message))


def share_key(share: Share, ceremony_id: str) -> SigningKey:
    """The attestation key of `share` in the vault `ceremony_id`, from the share's words.

    The words are the share as a person holds it (identifier, indices, thresholds and
    value), lower case and single-spaced as for its fingerprint.
    """
    words = " ".join(word.lower() for word in share.mnemonic.split())
    return _derive(b"share", ceremony_id, words.encode("ascii"))


def vault_key(secret: Secret, ceremony_id: str) -> SigningKey:
    """The vault's attestation key, from the secret (its kind and value): only a quorum can derive it."""
    return _derive(b"vault", ceremony_id, secret.kind.value.encode("ascii") + b"\x00" + secret.value)


def group_key(basis: Sequence[Share], ceremony_id: str) -> SigningKey | None:
    """The key of the group `basis` belongs to (a threshold of its shares), from the group's own secret.

    The group's secret is the value its shares share (SLIP-39's group share, at x = 255),
    checked by SLIP-39's digest: only a threshold of the group can rebuild it, and it alone
    recovers nothing (the other groups' are needed too). It seals the revisions `extend`
    writes for that group (docs/history.md). None when the shares do not agree (the
    digest does not hold): one of them is forged, or they are not of one split.
    """
    first = basis[0]
    secret = polynomial.shared_secret([(share.member_index, share.value) for share in basis], first.member_threshold)
    if secret is None:
        return None
    return _derive(b"group", ceremony_id, bytes([first.group_index]) + secret)


def group_keys(shares: Sequence[Share], ceremony_id: str) -> tuple[str, ...]:
    """Every group's public key, from a whole split's shares (in group order): what the manifest lists."""
    count = shares[0].group_count
    groups = [[share for share in shares if share.group_index == index] for index in range(count)]
    keys = [group_key(members[: members[0].member_threshold], ceremony_id) for members in groups]
    if any(key is None for key in keys):
        raise ValueError("a split's own shares agree")
    return tuple(key.public_key for key in keys if key is not None)


def _derive(role: bytes, ceremony_id: str, material: bytes) -> SigningKey:
    """HKDF-SHA256(ikm=material, no salt, info=domain || role || 0x00 || ceremony id) -> an Ed25519 seed."""
    info = KEY_DOMAIN + role + b"\x00" + ceremony_id.encode("utf-8")
    seed = HKDF(algorithm=hashes.SHA256(), length=SEED_LENGTH_BYTES, salt=None, info=info).derive(material)
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return SigningKey(b64(private.public_key().public_bytes_raw()), private)


@functools.lru_cache(maxsize=4096)
def key_sha256(public_key: str) -> str:
    """An Ed25519 key's identity: SHA-256 of its SubjectPublicKeyInfo DER, hashed as `--key` is.

    For the vault's key this is the vault's identity (`--vault-key`, docs/history.md): what
    `split` and `ceremony run` print, what cards, runbooks and packet READMEs show, what pins hold.
    """
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
    return hashlib.sha256(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def verifies(public_key: str, signature: str, signed: bytes) -> bool:
    """Whether `signature` (base64) is the key's Ed25519 signature of `signed`; never raises on bad input."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), signed)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
