"""`pkcs11-aes-gcm`: a share encrypted by an AES-256 key that never leaves the custodian's token.

The token runs AES-GCM itself (CKM_AES_GCM), so sealing needs the token too. The
recipient is named by the token's and the key's labels, and the key's CKA_ID when it
has one (docs/envelope.md). Plan: `token` and `key` (labels), both required.
"""

from __future__ import annotations

from dataclasses import dataclass

from vault.core.formats.fields import Fields
from vault.core.recipients.base import Aead, Key, KeyQuery, Recipient, RecipientKind, SecretKeyQuery, Target

NAME = "pkcs11-aes-gcm"


@dataclass(frozen=True, kw_only=True)
class TokenAesRecipient(Recipient):
    token_label: str
    key_label: str
    key_id: str | None = None
    """The key's CKA_ID in hex, when it has one."""


class TokenAes(RecipientKind):
    name = NAME
    recipient_type = TokenAesRecipient
    seals_to = "token-key"
    plan_needs = ("token", "key")
    plan_allows = ("token", "key")
    token_mechanisms = {"CKM_AES_GCM": ("encrypt", "decrypt")}

    def seal(self, target: Target, random_bytes: object) -> tuple[Recipient, Aead]:
        assert target.key is not None and target.token_label is not None and target.key_label is not None
        recipient = TokenAesRecipient(token_label=target.token_label, key_label=target.key_label, key_id=target.key.key_id)
        return recipient, target.key.aead()

    def wanted(self, recipient: Recipient) -> KeyQuery:
        assert isinstance(recipient, TokenAesRecipient)
        return SecretKeyQuery(recipient.key_label, recipient.key_id)

    def unseal(self, recipient: Recipient, key: Key) -> Aead:
        return key.aead()

    def write(self, recipient: Recipient) -> tuple[dict[str, object], dict[str, object]]:
        assert isinstance(recipient, TokenAesRecipient)
        members: dict[str, object] = {"kind": NAME, "token_label": recipient.token_label, "key_label": recipient.key_label, "key_id": recipient.key_id}
        return members, {}

    def read(self, members: Fields, envelope: Fields) -> Recipient:
        members.only(("kind", "token_label", "key_label", "key_id"))
        return TokenAesRecipient(
            token_label=members.string("token_label", nonempty=True),
            key_label=members.string("key_label", nonempty=True),
            key_id=members.hex("key_id", null=True),
        )


KIND = TokenAes()
