"""What a token can open, proven before any secret exists.

A token can hold the right key and still not open what is sealed to it: SoftHSM2
2.6.1 decrypts RSA-OAEP with SHA-1 only, tpm2-pkcs11 1.9.0 has neither ECDH nor
AES-GCM, smart cards have no symmetric crypto (docs/tokens.md). So before a share
is sealed to a key on a token that is in the room (a ceremony, `ceremony check`,
`wrap`, `extend`), coldvault seals a throwaway payload to that key exactly as the
share will be sealed and opens it on the token (`RecipientKind.prove`). When that
cannot work, the token's mechanism list says what is missing, and the error says
what to use instead, in the words of where the delivery was asked for: the plan, or
a command's flags. `token list` and `token keygen` prove each key the same way.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from vault.core.recipients import registry, rsa_oaep
from vault.core.recipients.base import EnvelopeDoesNotOpen, Key, KeyPairQuery, RecipientKind, Target, public_key_sha256
from vault.edges.tokens.errors import MechanismMissing
from vault.edges.tokens.mechanisms import Mechanisms
from vault.edges.tokens.opener import Opener
from vault.errors import TokenError

SHA1_ONLY = "sha1"


class Asked(enum.Enum):
    """Where a delivery was asked for, so that advice names what to change there."""

    PLAN = "plan"
    FLAGS = "flags"


@dataclass(frozen=True)
class Proven:
    """A delivery a key on a token was proven to open: the kind and, for rsa-oaep, the OAEP hash."""

    kind: str
    oaep_hash: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} ({self.oaep_hash})" if self.oaep_hash else self.kind


def prove(target: Target, opener: Opener, asked: Asked, random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> None:
    """Prove that the token of `target` opens what is sealed to it; raise saying what is missing and what to use instead."""
    label = target.token_label
    assert label is not None
    kind = registry.by_name(target.kind)
    listed = check_listed(kind, label, opener, asked)
    key = _key_of(target, opener)
    try:
        kind.prove(target, key, random_bytes)
    except MechanismMissing as missing:
        if target.kind == rsa_oaep.NAME and target.oaep_hash != SHA1_ONLY and _opens(replace(target, oaep_hash=SHA1_ONLY), key):
            raise MechanismMissing(missing.mechanism, f'token "{label}" decrypts RSA-OAEP with SHA-1 only', _sha1(asked)) from None
        raise MechanismMissing(missing.mechanism, missing.message, _instead(kind, listed, asked)) from None
    except EnvelopeDoesNotOpen:
        raise TokenError(f'token "{label}": a test payload sealed to its key does not open on it',
                         "the key on the token does not match its public key, or the token is faulty: make a new key") from None


def check_listed(kind: RecipientKind, label: str, opener: Opener, asked: Asked) -> Mechanisms:
    """Token `label` lists every mechanism `kind` needs (checked before its keys are looked for); its mechanisms."""
    listed = opener.mechanisms(label)
    for mechanism, uses in kind.token_mechanisms.items():
        why = listed.why_not(mechanism, *uses)
        if why is not None:
            raise MechanismMissing(mechanism, f'token "{label}" {why}', _instead(kind, listed, asked))
    return listed


def proven(token_label: str, key: Key, secret: bool, random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> tuple[Proven, ...]:
    """The deliveries `key` (a secret key, or a private key, on token `token_label`) opens, each proven with a throwaway payload."""
    found = []
    for kind in registry.KINDS:
        if secret != (kind.seals_to == "token-key"):
            continue
        public = None if secret else key.public_key()
        if public is not None and not isinstance(public, kind.public_key_type or ()):
            continue
        for oaep_hash in kind.plan_choices.get("oaep_hash", (None,)):
            target = Target(kind.name, public, key, token_label, key.label, oaep_hash)
            if _opens(target, key, random_bytes):
                found.append(Proven(kind.name, oaep_hash))
    return tuple(found)


def listed_kinds(listed: Mechanisms) -> tuple[str, ...]:
    """The deliveries whose mechanisms a token lists (not proven: no key was tried)."""
    return tuple(kind.name for kind in registry.KINDS
                 if not any(listed.lacks(mechanism, *uses) for mechanism, uses in kind.token_mechanisms.items()))


def _key_of(target: Target, opener: Opener) -> Key:
    """The token's key for `target`: the one resolved (an AES key), or the private key of its public key."""
    if target.key is not None:
        return target.key
    assert target.public_key is not None and target.token_label is not None
    return opener.key(target.token_label, KeyPairQuery(public_key_sha256(target.public_key)))


def _opens(target: Target, key: Key, random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> bool:
    try:
        registry.by_name(target.kind).prove(target, key, random_bytes)
    except (TokenError, EnvelopeDoesNotOpen):  # a missing mechanism, or a key that may not do this
        return False
    return True


def _instead(kind: RecipientKind, listed: Mechanisms, asked: Asked) -> str:
    """What to use instead of `kind` on a token that lists `listed`, said where the delivery was asked for."""
    others = [name for name in listed_kinds(listed) if name != kind.name]
    if not others:
        return "this token can open none of coldvault's envelopes (docs/tokens.md): give this custodian another token, or paper"
    if asked is Asked.PLAN:
        return f"use {' or '.join(others)} for this custodian (docs/tokens.md)"
    return f"seal with {' or '.join(others)} instead (docs/tokens.md)"


def _sha1(asked: Asked) -> str:
    if asked is Asked.PLAN:
        return f'set oaep_hash = "{SHA1_ONLY}" for this custodian in the plan'
    return f"give --oaep-hash {SHA1_ONLY}"
