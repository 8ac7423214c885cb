"""The one door to Trezor's SLIP-39 reference implementation, `shamir_mnemonic`.

No other module of coldvault imports `shamir_mnemonic` (tests/test_slip39_reference.py
checks this), so upgrading the pinned version means reading this file only. What
it offers is the reference's public API, named constants, or the specification's own
code, with one documented exception (the last point):

- Constants keep the reference's names, which give their units (_BITS, _WORDS,
  _BYTES); the customization strings are spelled out as SLIP-0039 gives them.
- The reference's dataclasses are built by keyword only (`reference_share`,
  `encrypted_master_secret`), never positionally, so a reordered field cannot
  silently swap two values.
- RS1024 is the specification's Python, written out below: coldvault needs the
  checksum residue to locate a wrong word, and the reference keeps it private.
- Interpolation over GF(256) and SLIP-39's digest are *delegated* to the reference's
  private `shamir._interpolate` and `shamir._create_digest`, here and nowhere else:
  the arithmetic that recovers, checks and extends shares is then the very code
  that split them. Should an upgrade rename or change them, this file is the one
  to change, and the official vectors (tests/test_vectors.py) run through them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias, cast

import shamir_mnemonic
from shamir_mnemonic import constants as _constants
from shamir_mnemonic import shamir as _shamir
from shamir_mnemonic import wordlist as _wordlist

RADIX: int = _constants.RADIX
"""The number of words in the word list: a word is a digit in base 1024."""
RADIX_BITS: int = _constants.RADIX_BITS
ID_LENGTH_BITS: int = _constants.ID_LENGTH_BITS
ITERATION_EXP_LENGTH_BITS: int = _constants.ITERATION_EXP_LENGTH_BITS
METADATA_LENGTH_WORDS: int = _constants.METADATA_LENGTH_WORDS
"""The words of a share that are not its value: header and checksum."""
MIN_MNEMONIC_LENGTH_WORDS: int = _constants.MIN_MNEMONIC_LENGTH_WORDS
MAX_SHARE_COUNT: int = _constants.MAX_SHARE_COUNT
"""The most groups, and the most members in one group, that SLIP-39 allows."""
DIGEST_LENGTH_BYTES: int = _constants.DIGEST_LENGTH_BYTES
DIGEST_INDEX: int = _constants.DIGEST_INDEX
"""The x-coordinate at which a polynomial holds the digest of its secret."""
SECRET_INDEX: int = _constants.SECRET_INDEX
"""The x-coordinate at which a polynomial holds its secret."""

CUSTOMIZATION_STRING_ORIG: bytes = b"shamir"
"""RS1024's customization string for shares without the extendable flag (SLIP-0039)."""
CUSTOMIZATION_STRING_EXTENDABLE: bytes = b"shamir_extendable"
"""RS1024's customization string for shares with the extendable flag (SLIP-0039)."""

WORDLIST: tuple[str, ...] = tuple(_wordlist.WORDLIST)
"""SLIP-39's 1024 words, in order: a word's position is its 10-bit value."""
WORD_INDEX_MAP: Mapping[str, int] = _wordlist.WORD_INDEX_MAP

# The reference publishes no type information: to mypy these are Any.
ReferenceShare: TypeAlias = shamir_mnemonic.Share
EncryptedMasterSecret: TypeAlias = shamir_mnemonic.EncryptedMasterSecret
MnemonicError: TypeAlias = shamir_mnemonic.MnemonicError
split_ems = shamir_mnemonic.split_ems


def customization_string(extendable: bool) -> bytes:
    """The customization string RS1024 uses for a share with or without the extendable flag."""
    return CUSTOMIZATION_STRING_EXTENDABLE if extendable else CUSTOMIZATION_STRING_ORIG


def reference_share(
    *,
    identifier: int,
    extendable: bool,
    iteration_exponent: int,
    group_index: int,
    group_threshold: int,
    group_count: int,
    member_index: int,
    member_threshold: int,
    value: bytes,
) -> ReferenceShare:
    """The reference's share with these fields (its dataclass calls the member index `index`)."""
    return ReferenceShare(
        identifier=identifier,
        extendable=extendable,
        iteration_exponent=iteration_exponent,
        group_index=group_index,
        group_threshold=group_threshold,
        group_count=group_count,
        index=member_index,
        member_threshold=member_threshold,
        value=value,
    )


def parse_mnemonic(mnemonic: str) -> ReferenceShare:
    """The reference's reading of one share mnemonic; raises `MnemonicError`."""
    return ReferenceShare.from_mnemonic(mnemonic)


def encrypted_master_secret(
    *, identifier: int, extendable: bool, iteration_exponent: int, ciphertext: bytes
) -> EncryptedMasterSecret:
    """An encrypted master secret as recovered from shares, ready to decrypt with a passphrase."""
    return EncryptedMasterSecret(
        identifier=identifier,
        extendable=extendable,
        iteration_exponent=iteration_exponent,
        ciphertext=ciphertext,
    )


def encrypt_master_secret(
    master_secret: bytes, passphrase: bytes, *, identifier: int, extendable: bool, iteration_exponent: int
) -> EncryptedMasterSecret:
    """SLIP-39's Feistel encryption of `master_secret` under `passphrase`, before splitting."""
    return EncryptedMasterSecret.from_master_secret(
        master_secret=master_secret,
        passphrase=passphrase,
        identifier=identifier,
        extendable=extendable,
        iteration_exponent=iteration_exponent,
    )


def rs1024_polymod(values: Sequence[int]) -> int:
    """RS1024's residue of `values`, as SLIP-0039 defines it in its "Checksum" section.

    The specification's Python, unchanged but for a tuple and type hints. A valid
    mnemonic, prefixed with its customization string, has residue 1.
    """
    GEN = (0xE0E040, 0x1C1C080, 0x3838100, 0x7070200, 0xE0E0009, 0x1C0C2412, 0x38086C24, 0x3090FC48, 0x21B1F890, 0x3F3F120)
    chk = 1
    for v in values:
        b = chk >> 20
        chk = (chk & 0xFFFFF) << 10 ^ v
        for i in range(10):
            chk ^= GEN[i] if ((b >> i) & 1) else 0
    return chk


def rs1024_verify_checksum(cs: bytes, data: Sequence[int]) -> bool:
    """Whether `data` (a mnemonic's word values, checksum included) is valid under customization string `cs`.

    SLIP-0039, "Checksum". The specification passes `cs` as text and feeds each
    character's US-ASCII value; iterating over bytes gives those same values.
    """
    return rs1024_polymod(list(cs) + list(data)) == 1


def interpolate(points: Sequence[tuple[int, bytes]], x: int) -> bytes:
    """The value at `x` of the polynomial through `points` over GF(256), one per byte.

    Delegated to the reference's private `_interpolate` (see the module docstring);
    it raises `MnemonicError` if two points share an x or their lengths differ.
    """
    return cast(bytes, _shamir._interpolate([_shamir.RawShare(x=px, data=py) for px, py in points], x))


def create_digest(random_part: bytes, shared_secret: bytes) -> bytes:
    """SLIP-39's digest of a shared secret: the first 4 bytes of HMAC-SHA256(key=random_part, msg=shared_secret).

    Delegated to the reference's private `_create_digest` (see the module docstring).
    """
    return cast(bytes, _shamir._create_digest(random_part, shared_secret))
