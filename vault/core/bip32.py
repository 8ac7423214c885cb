"""The BIP-32 master key of a seed, and its fingerprint: what wallet software shows.

Only the master node is needed: the "master fingerprint" (also called the root or
master key fingerprint) that wallets such as Sparrow, Electrum or a Trezor display is
the first 4 bytes of HASH160 of the compressed master public key.
"""

from __future__ import annotations

import hashlib
import hmac

from vault.errors import InvalidInput

MASTER_HMAC_KEY = b"Bitcoin seed"
MIN_SEED_LENGTH_BYTES = 16
MAX_SEED_LENGTH_BYTES = 64
FINGERPRINT_LENGTH_BYTES = 4
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def master_key(seed: bytes) -> tuple[bytes, bytes]:
    """(private key, chain code) of the BIP-32 master node of `seed`."""
    if not MIN_SEED_LENGTH_BYTES <= len(seed) <= MAX_SEED_LENGTH_BYTES:
        raise ValueError("a BIP-32 seed has 16 to 64 bytes")
    digest = hmac.new(MASTER_HMAC_KEY, seed, hashlib.sha512).digest()
    key, chain_code = digest[:32], digest[32:]
    if not 0 < int.from_bytes(key, "big") < SECP256K1_ORDER:
        # Probability about 2**-127; BIP-32 says such a seed has no master key.
        raise InvalidInput("this seed has no valid BIP-32 master key (BIP-32: invalid master key)")
    return key, chain_code


def compressed_public_key(private_key: bytes) -> bytes:
    """The 33-byte SEC1 compressed secp256k1 public key of `private_key`."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = ec.derive_private_key(int.from_bytes(private_key, "big"), ec.SECP256K1())
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


def hash160(data: bytes) -> bytes:
    """RIPEMD-160 of SHA-256, Bitcoin's key hash."""
    try:
        ripemd = hashlib.new("ripemd160")
    except ValueError:
        raise RuntimeError(
            "this Python's OpenSSL has no RIPEMD-160; coldvault needs it for wallet fingerprints"
        ) from None
    ripemd.update(hashlib.sha256(data).digest())
    return ripemd.digest()


def master_fingerprint(seed: bytes) -> bytes:
    """The 4-byte BIP-32 master key fingerprint of `seed`."""
    key, _ = master_key(seed)
    return hash160(compressed_public_key(key))[:FINGERPRINT_LENGTH_BYTES]
