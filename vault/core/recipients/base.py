"""What every recipient kind implements, after age's `Recipient` and `Identity` interfaces.

A recipient kind is one way of sealing a share to a custodian (docs/envelope.md). It
declares:

- its name (`recipient.kind` in an envelope) and its members of the envelope's header,
  which it writes and reads itself (`write`, `read`);
- the plan fields a delivery of its kind needs and allows (docs/plan.md);
- whether it seals to a public key or with a key on a token (`seals_to`);
- `seal`: from a `Target` to its header members and the AEAD that encrypts the share;
- `wanted`: the key a token must hold to open an envelope (a `KeyQuery`);
- `unseal`: from its header members and that key to the AEAD that decrypts;
- the PKCS#11 mechanisms a token needs to open it (`token_mechanisms`), and `prove`:
  seal a throwaway payload to a target and open it with the token's key, as is done
  before any secret exists.

The AEAD is AES-256-GCM either way: in software with a data key the kind recovers
(ecdh-p256, rsa-oaep), or on the token with a key that never leaves it
(pkcs11-aes-gcm). A `Key` is what a token offers; the token edge implements it with
PKCS#11, and `SoftwareKey` with `cryptography` keys (tests, and the documentation's
worked example). Pure: no token is touched here.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vault.errors import InvalidInput

if TYPE_CHECKING:
    from vault.core.formats.fields import Fields

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
RandomBytes = Callable[[int], bytes]

DATA_KEY_LENGTH_BYTES = 32
"""AES-256."""
NONCE_LENGTH_BYTES = 12
"""AES-GCM's 96-bit nonce."""
TAG_LENGTH_BYTES = 16
PROOF_ASSOCIATED_DATA = b"coldvault delivery proof: a throwaway payload, no share"
DOES_NOT_OPEN = "the envelope does not open: it was altered, or it is sealed to another key"
NO_KEY_HERE = "no token here holds the key this envelope is sealed to"
"""Said when no token present holds a key the header names: true on this machine, and it echoes no header value."""


class EnvelopeDoesNotOpen(InvalidInput):
    """Authentication failed: the envelope was altered, or it is sealed to another key (one opaque error)."""

    def __init__(self, message: str = DOES_NOT_OPEN, *hints: str) -> None:
        super().__init__(message, *hints)


class Aead(Protocol):
    """AES-256-GCM with a 128-bit tag, wherever its key is. `decrypt` raises `EnvelopeDoesNotOpen`."""

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes) -> bytes: ...


class Key(Protocol):
    """A key a token holds, found for a recipient (`KeyQuery`).

    Operations a token cannot do raise `TokenError` saying what is missing; data the
    key cannot decrypt raises `EnvelopeDoesNotOpen`.
    """

    @property
    def label(self) -> str | None: ...

    @property
    def key_id(self) -> str | None:
        """CKA_ID in hex, when the key has one."""
        ...

    def public_key(self) -> PublicKey:
        """A key pair's public key."""
        ...

    def aead(self) -> Aead:
        """A secret AES key's AES-GCM, run where the key is."""
        ...

    def ecdh_shared_x(self, peer_point: bytes) -> bytes:
        """ECDH with an EC private key: the shared point's x-coordinate."""
        ...

    def rsa_oaep_decrypt(self, data: bytes, hash_name: str) -> bytes:
        """RSA-OAEP decryption with a private key, `hash_name` for OAEP and MGF1 alike."""
        ...


@dataclass(frozen=True)
class SecretKeyQuery:
    """A secret (AES) key, found by its label (and CKA_ID, when the envelope records one)."""

    label: str
    key_id: str | None = None


@dataclass(frozen=True)
class KeyPairQuery:
    """A key pair, found by the SHA-256 of its public key's SubjectPublicKeyInfo DER."""

    public_key_sha256: str


KeyQuery = SecretKeyQuery | KeyPairQuery


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """A recipient's members of an envelope's header: who can open it, and what it takes.

    Each kind subclasses it with its own members, including those the format places
    beside the recipient object (the ECDH sender's key, the RSA-wrapped data key).
    """

    token_label: str | None = None
    key_label: str | None = None


@dataclass(frozen=True)
class Target:
    """Whom to seal to, resolved before sealing: a public key, or a key on a token.

    The labels are recorded in the header to help find the key; `oaep_hash` is
    rsa-oaep's choice of hash.
    """

    kind: str
    public_key: PublicKey | None = None
    key: Key | None = None
    token_label: str | None = None
    key_label: str | None = None
    oaep_hash: str | None = None


class RecipientKind(ABC):
    """One way of sealing a share; see the module docstring. One instance per kind, in the registry."""

    name: ClassVar[str]
    recipient_type: ClassVar[type[Recipient]]
    envelope_members: ClassVar[tuple[str, ...]] = ()
    """Members of the envelope's top level that this kind adds (beside the recipient object)."""
    seals_to: ClassVar[Literal["public-key", "token-key"]]
    """A custodian's public key (sealing needs no token), or a key on a token (sealing needs it)."""
    plan_needs: ClassVar[tuple[str, ...]]
    plan_allows: ClassVar[tuple[str, ...]]
    plan_choices: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    """Plan fields with a fixed set of values, e.g. rsa-oaep's oaep_hash."""
    public_key_type: ClassVar[type | None] = None
    """The type of public key this kind seals to, for kinds that seal to public keys..."""
    public_key_name: ClassVar[str | None] = None
    """...and its name for people ("EC P-256")."""
    token_mechanisms: ClassVar[Mapping[str, tuple[str, ...]]]
    """The PKCS#11 mechanisms a token must offer to open this kind's envelopes, as PKCS#11 names them, and for
    what (the CKF_ flags in lower case: "encrypt", "decrypt", "derive"); docs/tokens.md."""

    def check_public_key(self, public_key: PublicKey) -> None:
        """Refuse a key of this kind's type that it still cannot use (another curve, too few bits)."""

    @abstractmethod
    def seal(self, target: Target, random_bytes: RandomBytes) -> tuple[Recipient, Aead]:
        """This envelope's recipient members, and the AEAD that encrypts its share."""

    @abstractmethod
    def wanted(self, recipient: Recipient) -> KeyQuery:
        """What key a token must hold to open an envelope sealed to `recipient`."""

    @abstractmethod
    def unseal(self, recipient: Recipient, key: Key) -> Aead:
        """The AEAD that decrypts, from `recipient`'s members and the token's key."""

    def prove(self, target: Target, key: Key, random_bytes: RandomBytes) -> None:
        """Seal a throwaway payload to `target` as a share would be, and open it with `key`.

        Raises what the token says (`TokenError`, `EnvelopeDoesNotOpen`) when `key`
        cannot open what is sealed to `target`: run before any secret exists, it finds
        what a token cannot do while a mistake still costs nothing.
        """
        recipient, aead = self.seal(target, random_bytes)
        nonce, payload = random_bytes(NONCE_LENGTH_BYTES), random_bytes(DATA_KEY_LENGTH_BYTES)
        sealed = aead.encrypt(nonce, payload, PROOF_ASSOCIATED_DATA)
        if self.unseal(recipient, key).decrypt(nonce, sealed, PROOF_ASSOCIATED_DATA) != payload:
            raise EnvelopeDoesNotOpen()

    @abstractmethod
    def write(self, recipient: Recipient) -> tuple[dict[str, object], dict[str, object]]:
        """(the recipient object's members in the format's order, `kind` first; this kind's envelope members)."""

    @abstractmethod
    def read(self, members: Fields, envelope: Fields) -> Recipient:
        """The recipient from its object's members and the envelope's, each checked strictly."""


@dataclass(frozen=True, kw_only=True)
class PublicKeyRecipient(Recipient):
    """A recipient named by its public key, as every kind that seals to a public key names it."""

    public_key_sha256: str
    """SHA-256 of the recipient's SubjectPublicKeyInfo DER, hex."""


class PublicKeyKind(RecipientKind):
    """A kind that seals to a custodian's public key, in software; the token holding the private key opens."""

    seals_to = "public-key"
    plan_needs: ClassVar[tuple[str, ...]] = ("public_key",)

    def wanted(self, recipient: Recipient) -> KeyQuery:
        assert isinstance(recipient, PublicKeyRecipient)
        return KeyPairQuery(recipient.public_key_sha256)


# ---------------------------------------------------------------- software pieces shared by the kinds


class SoftwareAead:
    """AES-256-GCM in software (`cryptography`), for kinds that recover a data key."""

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(data_key)

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes) -> bytes:
        return self._aead.encrypt(nonce, data, associated_data)

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, data, associated_data)
        except InvalidTag:
            raise EnvelopeDoesNotOpen() from None


class SoftwareKey:
    """A `Key` held in software: a `cryptography` private key, or AES key bytes.

    Not for custody (a custodian's key belongs on a token); for the tests, and for the
    worked example in docs/envelope.md, which must be reproducible without a token.
    """

    def __init__(self, private: PrivateKey | bytes, label: str | None = None, key_id: str | None = None) -> None:
        self._private = private
        self.label = label
        self.key_id = key_id

    def public_key(self) -> PublicKey:
        assert not isinstance(self._private, bytes)
        return self._private.public_key()

    def aead(self) -> Aead:
        assert isinstance(self._private, bytes)
        return SoftwareAead(self._private)

    def ecdh_shared_x(self, peer_point: bytes) -> bytes:
        assert isinstance(self._private, ec.EllipticCurvePrivateKey)
        peer = ec.EllipticCurvePublicKey.from_encoded_point(self._private.curve, peer_point)
        return self._private.exchange(ec.ECDH(), peer)

    def rsa_oaep_decrypt(self, data: bytes, hash_name: str) -> bytes:
        from vault.core.recipients.rsa_oaep import oaep_padding

        assert isinstance(self._private, rsa.RSAPrivateKey)
        try:
            return self._private.decrypt(data, oaep_padding(hash_name))
        except ValueError:
            raise EnvelopeDoesNotOpen() from None


def spki_der(public_key: PublicKey) -> bytes:
    """A public key's SubjectPublicKeyInfo, DER."""
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def public_key_sha256(public_key: PublicKey) -> str:
    """SHA-256 of a public key's SubjectPublicKeyInfo DER, hex: how asymmetric recipients are named."""
    return hashlib.sha256(spki_der(public_key)).hexdigest()
