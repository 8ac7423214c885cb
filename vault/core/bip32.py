"""The BIP-32 master key of a seed, its fingerprint, and its xprv: what wallet software shows and imports.

Only the master node is needed: the "master fingerprint" (also called the root or
master key fingerprint) that wallets such as Sparrow, Electrum or a Trezor display is
the first 4 bytes of HASH160 of the compressed master public key, and the root
extended private key (`xprv...`) is what a wallet other than a Trezor imports to
restore the same accounts (`recover --format xprv`).

Which seed a wallet derives from a vault's secret (`wallet_seed`) is the one rule
both use: a SLIP-39 master secret is the BIP-32 seed itself, as on a Trezor; BIP-39
entropy is first turned into its words and their BIP-39 seed, with an empty BIP-39
passphrase (the SLIP-39 passphrase has already done its work when the entropy was
recovered: it is not a BIP-39 passphrase).
"""

from __future__ import annotations

import hashlib
import hmac

from vault.core.secret import Secret, SecretKind, bip39_seed, to_bip39
from vault.errors import InvalidInput

MASTER_HMAC_KEY = b"Bitcoin seed"
MIN_SEED_LENGTH_BYTES = 16
MAX_SEED_LENGTH_BYTES = 64
FINGERPRINT_LENGTH_BYTES = 4
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MAINNET_PRIVATE_VERSION = bytes.fromhex("0488ade4")
"""The 4 version bytes of a mainnet extended private key: Base58 text that starts "xprv"."""
MASTER_DEPTH = 0
MASTER_PARENT_FINGERPRINT = bytes(4)
MASTER_CHILD_NUMBER = bytes(4)
PRIVATE_KEY_PREFIX = b"\x00"
"""BIP-32 serializes a private key as 0x00 followed by its 32 bytes (33, as long as a public key)."""
EXTENDED_KEY_LENGTH_BYTES = 78
BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BASE58_CHECKSUM_LENGTH_BYTES = 4


def wallet_seed(secret: Secret) -> bytes:
    """The BIP-32 seed a wallet derives from `secret` (see the module docstring)."""
    if secret.kind is SecretKind.BIP39_ENTROPY:
        return bip39_seed(to_bip39(secret))
    return secret.value


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


def root_xprv(seed: bytes) -> str:
    """The root extended private key of `seed`, serialized as BIP-32 says (mainnet, Base58Check).

    Depth 0, no parent fingerprint, child number 0: the master node itself, which any
    BIP-32 wallet imports and derives every account from.
    """
    key, chain_code = master_key(seed)
    payload = (
        MAINNET_PRIVATE_VERSION + bytes([MASTER_DEPTH]) + MASTER_PARENT_FINGERPRINT + MASTER_CHILD_NUMBER
        + chain_code + PRIVATE_KEY_PREFIX + key
    )
    assert len(payload) == EXTENDED_KEY_LENGTH_BYTES
    return base58check(payload)


def base58check(payload: bytes) -> str:
    """Base58 of `payload` and the first 4 bytes of its double SHA-256; each leading zero byte is a "1"."""
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:BASE58_CHECKSUM_LENGTH_BYTES]
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, digit = divmod(number, len(BASE58_ALPHABET))
        digits.append(BASE58_ALPHABET[digit])
    leading_zeros = len(data) - len(data.lstrip(b"\x00"))
    return BASE58_ALPHABET[0] * leading_zeros + "".join(reversed(digits))
