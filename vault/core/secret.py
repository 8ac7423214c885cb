"""The secret a vault protects, and the ways a person can hand it to coldvault.

Two kinds, which are different wallets (say so wherever it matters):

- ``bip39-entropy``: the entropy behind a BIP-39 mnemonic. SLIP-39 shares of it give
  the same BIP-39 words back, and wallets derive keys from those words. This is *not*
  what a Trezor derives from SLIP-39 shares.
- ``master-secret``: a SLIP-39 master secret, used directly as the BIP-32 seed, as
  Trezor does.

Pure: parsing and validation only. Reading files and prompting live in the edges.
"""

from __future__ import annotations

import enum
import secrets
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from vault.core.wordlists import SLIP39_WORDS
from vault.errors import InvalidInput

MIN_SECRET_LENGTH_BYTES = 16
"""SLIP-39: a master secret has at least 128 bits..."""

SECRET_LENGTH_STEP_BYTES = 2
"""...and a whole number of 16-bit units."""

MAX_SECRET_LENGTH_BYTES = 64
"""BIP-32 takes seeds of at most 512 bits; a longer secret could have no wallet fingerprint."""

GENERATE_BITS_CHOICES = tuple(range(128, 257, 16))
DEFAULT_GENERATE_BITS = 256

BIP39_WORD_COUNTS = (12, 15, 18, 21, 24)


class SecretKind(str, enum.Enum):
    BIP39_ENTROPY = "bip39-entropy"
    MASTER_SECRET = "master-secret"


KIND_NOTES = {
    SecretKind.BIP39_ENTROPY: (
        "These shares hold BIP-39 entropy: recovery gives the same BIP-39 words back. "
        "A Trezor restoring from these SLIP-39 shares would derive a DIFFERENT wallet."
    ),
    SecretKind.MASTER_SECRET: (
        "These shares hold a SLIP-39 master secret, used as the BIP-32 seed as a Trezor does. "
        "It has no BIP-39 words."
    ),
}
"""What each kind means for a wallet, in the words every command that makes shares prints."""


def wipe(buffer: bytearray) -> None:
    """Overwrite a bytearray that held a secret with zeros, in place (the same length: never
    reallocated, so never copied elsewhere)."""
    buffer[:] = bytes(len(buffer))


class SecretBytes(bytearray):
    """Bytes that overwrite themselves with zeros when they are freed; `repr` and `str` hide them.

    Python's `bytes` and `str` are immutable and are freed without being cleared, so a
    secret held in one stays in the process's memory until that memory happens to be
    reused. coldvault keeps its own long-lived copies (the master secret, the SLIP-39
    passphrase) in this type instead: CPython frees an object as soon as its last
    reference goes, so the copy is zeroed when the command that used it is done. It
    cannot reach the copies that parsing and the libraries make (text read from a file
    or a prompt, shamir-mnemonic's and hashlib's intermediate values, share words):
    see docs/threat-model.md.
    """

    __slots__ = ()

    def wipe(self) -> None:
        """Zeros in place."""
        wipe(self)

    __del__ = wipe

    def __repr__(self) -> str:
        return f"<{len(self)} secret bytes>"

    __str__ = __repr__


@dataclass(frozen=True, init=False)
class Secret:
    """A secret and its kind. `repr` never shows the value.

    The value is the Secret's own `SecretBytes` (a copy of the bytes given, or the
    `SecretBytes` given): it is zeroed when the Secret is dropped.
    """

    kind: SecretKind
    value: SecretBytes = field(repr=False)

    def __init__(self, kind: SecretKind, value: bytes | bytearray) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "value", value if isinstance(value, SecretBytes) else SecretBytes(value))
        _check_length(len(self.value))
        if self.kind is SecretKind.BIP39_ENTROPY and len(self.value) * 8 not in _BIP39_ENTROPY_BITS:
            raise InvalidInput(f"{self.bits}-bit entropy is not a BIP-39 length")

    @property
    def bits(self) -> int:
        return len(self.value) * 8


_BIP39_ENTROPY_BITS = tuple(count * 32 // 3 for count in BIP39_WORD_COUNTS)


def _check_length(length: int) -> None:
    if length < MIN_SECRET_LENGTH_BYTES:
        raise InvalidInput(
            f"the secret has {length * 8} bits; SLIP-39 needs at least {MIN_SECRET_LENGTH_BYTES * 8}"
        )
    if length % SECRET_LENGTH_STEP_BYTES:
        raise InvalidInput(
            f"the secret has {length} bytes; SLIP-39 needs an even number of bytes (a multiple of 16 bits)"
        )
    if length > MAX_SECRET_LENGTH_BYTES:
        raise InvalidInput(
            f"the secret has {length * 8} bits; coldvault takes at most {MAX_SECRET_LENGTH_BYTES * 8} (BIP-32's limit)"
        )


def generate(bits: int, random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> Secret:
    """A fresh master secret from the OS CSPRNG (or `random_bytes`, for tests)."""
    if bits not in GENERATE_BITS_CHOICES:
        raise InvalidInput(
            f"cannot generate {bits} bits",
            "choose 128 to 256 bits in steps of 16 (e.g. --generate 256)",
        )
    return Secret(SecretKind.MASTER_SECRET, random_bytes(bits // 8))


def from_hex(text: str) -> Secret:
    """A master secret written as hex (either case); surrounding white space is ignored.

    Errors name the position of a bad character, never the character or the secret.
    """
    digits = text.strip()
    if not digits:
        raise InvalidInput("the secret is empty", "write the master secret as hex digits")
    leading = len(text) - len(text.lstrip())
    for position, char in enumerate(digits, start=leading + 1):
        if char not in string.hexdigits:
            raise InvalidInput(
                f"character {position} of the secret is not a hex digit",
                "a master secret is written in hex (0-9, a-f) and nothing else",
            )
    if len(digits) % 2:
        raise InvalidInput(f"the secret has an odd number of hex digits ({len(digits)})")
    value = bytearray.fromhex(digits)
    try:
        return Secret(SecretKind.MASTER_SECRET, value)
    finally:
        wipe(value)  # the Secret has its own copy


def bip39_words(text: str) -> list[str]:
    """Normalise a BIP-39 mnemonic as BIP-39 says (NFKD) and split it into lower-case words."""
    return unicodedata.normalize("NFKD", text).lower().split()


def from_bip39(text: str) -> Secret:
    """The entropy of an English BIP-39 mnemonic, checksum verified."""
    from mnemonic import Mnemonic

    words = bip39_words(text)
    if len(words) not in BIP39_WORD_COUNTS:
        raise InvalidInput(
            f"the mnemonic has {len(words)} words; a BIP-39 mnemonic has 12, 15, 18, 21 or 24",
        )
    english = Mnemonic("english")
    for position, word in enumerate(words, start=1):
        if word not in english.wordlist:
            # The words are the seed itself: name the position, never the word or its neighbours.
            raise InvalidInput(
                f"word {position} is not in the English BIP-39 word list",
                f"compare word {position} with your written backup",
                _language_hint(words),
            )
    try:
        entropy = english.to_entropy(words)
    except ValueError:
        raise InvalidInput(
            "the BIP-39 checksum does not match: a word is wrong or words are out of order"
        ) from None
    try:
        return Secret(SecretKind.BIP39_ENTROPY, entropy)
    finally:
        wipe(entropy)  # the library's bytearray: the Secret has its own copy


def _language_hint(words: list[str]) -> str:
    if sum(word in SLIP39_WORDS for word in words) > len(words) // 2:
        return "these look like SLIP-39 share words; give shares to `coldvault recover`"
    return "coldvault reads English BIP-39 mnemonics only"


def to_bip39(secret: Secret) -> str:
    """The English BIP-39 mnemonic of a `bip39-entropy` secret."""
    from mnemonic import Mnemonic

    if secret.kind is not SecretKind.BIP39_ENTROPY:
        raise InvalidInput(
            "this secret is a SLIP-39 master secret, not BIP-39 entropy: it has no BIP-39 words",
            "use --format hex",
        )
    return Mnemonic("english").to_mnemonic(secret.value)


def bip39_seed(words: str, passphrase: str = "") -> bytes:
    """The 64-byte BIP-39 seed (PBKDF2-HMAC-SHA512, 2048 rounds) of a mnemonic."""
    from mnemonic import Mnemonic

    return Mnemonic.to_seed(words, passphrase)
