"""Fingerprints: how people check a secret or a share without seeing it.

Defined in the spec (and docs/formats.md); changing a byte here changes every
fingerprint ever printed, so the domain strings carry a version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from vault.core import bip32
from vault.core.secret import Secret

SECRET_FINGERPRINT_DOMAIN = b"coldvault/secret-fingerprint/v1\x00"
SHARE_FINGERPRINT_DOMAIN = b"coldvault/share-fingerprint/v1\x00"
FINGERPRINT_LENGTH_BYTES = 16


def secret_fingerprint(secret: Secret) -> str:
    """hex(SHA-256(domain + kind + 0x00 + secret)[:16])."""
    digest = hashlib.sha256(
        SECRET_FINGERPRINT_DOMAIN + secret.kind.value.encode("ascii") + b"\x00" + secret.value
    ).digest()
    return digest[:FINGERPRINT_LENGTH_BYTES].hex()


def wallet_fingerprint(secret: Secret) -> str:
    """The BIP-32 master fingerprint (8 hex digits) a wallet shows for this secret.

    BIP-39 entropy: the seed of its words with an empty BIP-39 passphrase.
    Master secret: the SLIP-39 master secret is the BIP-32 seed, as on a Trezor.
    """
    return bip32.master_fingerprint(bip32.wallet_seed(secret)).hex()


def share_fingerprint(words: Sequence[str]) -> str:
    """hex(SHA-256(domain + words joined by single spaces, lower case)[:16])."""
    mnemonic = " ".join(word.lower() for word in words)
    digest = hashlib.sha256(SHARE_FINGERPRINT_DOMAIN + mnemonic.encode("ascii")).digest()
    return digest[:FINGERPRINT_LENGTH_BYTES].hex()


def aloud(digest: str) -> str:
    """A SHA-256 as people compare it aloud and on paper: groups of four hex digits (`722a bd12 ...`)."""
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))
