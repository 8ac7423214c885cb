"""The recipient kinds coldvault knows, and how to find the one an envelope, a plan or a key needs.

Adding a kind: write its module (see `vault.core.recipients.base`) and add it to `KINDS`.
The envelope reader and writer, the plan reader, sealing, `wrap`, `extend` and the
ceremony all dispatch through this list.
"""

from __future__ import annotations

from vault.core.recipients import ecdh_p256, pkcs11_aes_gcm, rsa_oaep
from vault.core.recipients.base import PublicKey, Recipient, RecipientKind
from vault.errors import InvalidInput

KINDS: tuple[RecipientKind, ...] = (pkcs11_aes_gcm.KIND, ecdh_p256.KIND, rsa_oaep.KIND)


def names() -> tuple[str, ...]:
    return tuple(kind.name for kind in KINDS)


def by_name(name: object) -> RecipientKind:
    """The kind called `name`; an unknown name (from a file) is invalid input."""
    for kind in KINDS:
        if kind.name == name:
            return kind
    raise InvalidInput(f"unknown recipient kind {name!r}", f"this coldvault knows {', '.join(names())}")


def of(recipient: Recipient) -> RecipientKind:
    """The kind a recipient's members belong to."""
    return next(kind for kind in KINDS if type(recipient) is kind.recipient_type)


def for_public_key(public_key: PublicKey) -> RecipientKind:
    """The first kind that seals to this public key; when kinds take its type but refuse it
    (another curve, too few bits), the first one's reason."""
    refused: list[InvalidInput] = []
    for kind in KINDS:
        if kind.public_key_type is not None and isinstance(public_key, kind.public_key_type):
            try:
                kind.check_public_key(public_key)
            except InvalidInput as reason:
                refused.append(reason)
                continue
            return kind
    if refused:
        raise refused[0]
    accepted = " or ".join(kind.public_key_name for kind in KINDS if kind.public_key_name)
    raise InvalidInput(f"a {type(public_key).__name__}; coldvault seals to {accepted} keys")


def token_key_kind() -> RecipientKind:
    """The kind that seals with a key on the token (`wrap --token --key`)."""
    return next(kind for kind in KINDS if kind.seals_to == "token-key")


def load_public_key(data: bytes) -> tuple[PublicKey, RecipientKind]:
    """A public key from PEM or DER SubjectPublicKeyInfo, and the kind that seals to it; anything else is refused."""
    from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

    try:
        key = load_pem_public_key(data) if data.lstrip().startswith(b"-----") else load_der_public_key(data)
    except (ValueError, TypeError):
        raise InvalidInput("not a public key (PEM or DER SubjectPublicKeyInfo)") from None
    kind = for_public_key(key)  # type: ignore[arg-type]  # refuses what no kind seals to
    return key, kind  # type: ignore[return-value]
