"""SLIP-39 shares: parse with precise errors, split a secret, describe a share.

Built on Trezor's reference implementation (`shamir_mnemonic`, pinned to one
version, reached through `vault.core.slip39.reference`): it does the standard's
arithmetic, this module turns its results and its errors into things a person can
act on ("word 7 is probably wrong; did you mean 'academic'?"). The checksum is
checked with the specification's own RS1024, whose residue also locates a wrong
word. The reference is not hardened against side channels; coldvault runs on an
offline machine for that reason (docs/threat-model.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vault.core import wordlists
from vault.core.fingerprint import share_fingerprint
from vault.core.scheme import Scheme
from vault.core.secret import MAX_SECRET_LENGTH_BYTES
from vault.core.slip39.reference import (
    ID_LENGTH_BITS,
    ITERATION_EXP_LENGTH_BITS,
    METADATA_LENGTH_WORDS,
    MIN_MNEMONIC_LENGTH_WORDS,
    RADIX,
    RADIX_BITS,
    WORD_INDEX_MAP,
    WORDLIST,
    MnemonicError,
    ReferenceShare,
    customization_string,
    encrypt_master_secret,
    parse_mnemonic,
    rs1024_polymod,
    rs1024_verify_checksum,
    split_ems,
)
from vault.core.wordlists import SLIP39_WORDS
from vault.errors import InvalidInput, ShareError


def share_words(bits: int) -> int:
    """The words of every share of a `bits`-bit secret: 20 for 128 bits, 33 for 256."""
    return METADATA_LENGTH_WORDS + -(-bits // RADIX_BITS)


SHARE_WORDS_128_BIT = MIN_MNEMONIC_LENGTH_WORDS
SHARE_WORDS_256_BIT = share_words(256)
SHARE_WORDS_MAX = share_words(MAX_SECRET_LENGTH_BYTES * 8)
"""59: the words of a share of the longest secret coldvault takes (512 bits)."""
IDENTIFIER_WORDS = 2
"""A share's first two words hold its set's identifier (15 bits), extendable flag and iteration exponent."""
PASSPHRASE_MIN_CODE_POINT = 32
PASSPHRASE_MAX_CODE_POINT = 126

_EXTENDABLE_BIT_IN_FIRST_TWO_WORDS = 1 << ITERATION_EXP_LENGTH_BITS


@dataclass(frozen=True)
class SetId:
    """What every share of one SLIP-39 set has in common."""

    identifier: int
    extendable: bool
    iteration_exponent: int
    group_threshold: int
    group_count: int


@dataclass(frozen=True)
class Share:
    """One SLIP-39 share: its header (public) and its words (secret). `repr` hides the words."""

    words: tuple[str, ...] = field(repr=False)
    identifier: int
    extendable: bool
    iteration_exponent: int
    group_index: int
    group_threshold: int
    group_count: int
    member_index: int
    member_threshold: int
    value: bytes = field(repr=False)
    """The share's y-values: one byte per byte of the secret, for the Shamir arithmetic."""

    @property
    def mnemonic(self) -> str:
        return " ".join(self.words)

    @property
    def fingerprint(self) -> str:
        return share_fingerprint(self.words)

    @property
    def set_id(self) -> SetId:
        return SetId(
            self.identifier,
            self.extendable,
            self.iteration_exponent,
            self.group_threshold,
            self.group_count,
        )

    @classmethod
    def from_reference(cls, share: ReferenceShare, words: tuple[str, ...] | None = None) -> "Share":
        """Our share for the reference's; `words`, when the caller has them already, saves re-encoding."""
        return cls(
            words=words if words is not None else tuple(share.words()),
            identifier=share.identifier,
            extendable=share.extendable,
            iteration_exponent=share.iteration_exponent,
            group_index=share.group_index,
            group_threshold=share.group_threshold,
            group_count=share.group_count,
            member_index=share.index,
            member_threshold=share.member_threshold,
            value=share.value,
        )


def parse_share(text: str) -> Share:
    """Parse one share mnemonic, accepting any white space and capitalisation.

    Raises `ShareError` saying what is wrong and, where it can be known, which word.
    """
    words = text.lower().split()
    if not words:
        raise ShareError("no share words found")
    indices = _word_indices(words)
    _check_length(len(words))
    _check_checksum(indices)
    try:
        reference = parse_mnemonic(" ".join(words))
    except MnemonicError as error:
        raise ShareError(_explain_reference_error(str(error))) from None
    return Share.from_reference(reference, tuple(words))


def identifier_of(words: Sequence[str]) -> int | None:
    """The identifier of the set a share belongs to, read from its first words as they are
    typed: enough to know its length before the last word. None until two words are known."""
    if len(words) < IDENTIFIER_WORDS or any(word not in WORD_INDEX_MAP for word in words[:IDENTIFIER_WORDS]):
        return None
    first, second = (WORD_INDEX_MAP[word] for word in words[:IDENTIFIER_WORDS])
    return ((first << RADIX_BITS) | second) >> (RADIX_BITS * IDENTIFIER_WORDS - ID_LENGTH_BITS)


def _word_indices(words: Sequence[str]) -> list[int]:
    indices = []
    for position, word in enumerate(words, start=1):
        if word not in WORD_INDEX_MAP:
            raise ShareError(_describe_unknown(position, word), _bip39_hint(words))
        indices.append(WORD_INDEX_MAP[word])
    return indices


def _describe_unknown(position: int, word: str) -> str:
    if not word.isprintable():  # the message goes to a terminal: a control character must not reach it raw
        return f"word {position} is not in the SLIP-39 word list (it holds an invisible or control character)"
    return wordlists.describe_unknown(position, word, SLIP39_WORDS, "SLIP-39")


def _bip39_hint(words: Sequence[str]) -> str:
    from mnemonic import Mnemonic

    english = set(Mnemonic("english").wordlist)
    if sum(word in english for word in words) > len(words) // 2 and len(words) in (12, 15, 18, 21, 24):
        return "this looks like a BIP-39 mnemonic, not a SLIP-39 share; give it to `coldvault split --bip39-file`"
    return "check the word against the card; a unique 4-letter prefix is enough with --interactive"


def _check_length(count: int) -> None:
    expected = f"{SHARE_WORDS_128_BIT} words for a 128-bit secret, {SHARE_WORDS_256_BIT} for 256 bits"
    if count < MIN_MNEMONIC_LENGTH_WORDS:
        raise ShareError(f"the share has {count} words; a SLIP-39 share has at least {MIN_MNEMONIC_LENGTH_WORDS}", expected)
    padding_bits = (RADIX_BITS * (count - METADATA_LENGTH_WORDS)) % 16
    if padding_bits > 8:
        raise ShareError(f"the share has {count} words, a length no SLIP-39 share has", expected)


def _check_checksum(indices: list[int]) -> None:
    extendable = bool((indices[1] & _EXTENDABLE_BIT_IN_FIRST_TWO_WORDS))
    if rs1024_verify_checksum(customization_string(extendable), indices):
        return
    # Locating the error takes time quadratic in the length: hours for a corrupt file of
    # thousands of words. Shares of the secrets coldvault takes have at most
    # SHARE_WORDS_MAX words; a longer one gets the general message.
    suspects = locate_single_error(indices) if len(indices) <= SHARE_WORDS_MAX else []
    if len(suspects) == 1:
        position, word = suspects[0]
        raise ShareError(
            f'the checksum does not match: word {position + 1} is probably wrong; did you mean "{word}"?',
            "compare that word with the card; if it is right there, another word may be wrong too",
        )
    raise ShareError(
        "the checksum does not match: a word is wrong, missing, or out of place",
        "compare each word with the card, in order",
    )


def locate_single_error(indices: Sequence[int]) -> list[tuple[int, str]]:
    """Every (position, word) whose replacement alone would make the checksum valid.

    RS1024 is linear over GF(2): changing word i by XOR d changes the checksum
    residue by L_i(d), a linear function of d's ten bits. So instead of 1023
    checksums per position we compute L_i on ten basis values and combine them.
    Three check words give minimum distance 4, so one wrong word has one fix.
    """
    found = []
    count = len(indices)
    for extendable in (False, True):
        prefix = list(customization_string(extendable))
        residue = rs1024_polymod(prefix + list(indices)) ^ 1
        zero = rs1024_polymod(prefix + [0] * count)
        for position in range(count):
            basis = [
                rs1024_polymod(prefix + [0] * position + [1 << bit] + [0] * (count - position - 1)) ^ zero
                for bit in range(RADIX_BITS)
            ]
            effects = [0] * RADIX
            for delta in range(1, RADIX):
                lowest = delta & -delta
                effects[delta] = effects[delta ^ lowest] ^ basis[lowest.bit_length() - 1]
            for delta in range(1, RADIX):
                if effects[delta] != residue:
                    continue
                fixed = list(indices)
                fixed[position] ^= delta
                if bool(fixed[1] & _EXTENDABLE_BIT_IN_FIRST_TWO_WORDS) == extendable:
                    found.append((position, WORDLIST[fixed[position]]))
    return found


def _explain_reference_error(message: str) -> str:
    if "Group threshold cannot be greater" in message:
        return "the share's header says its group threshold is above its group count: the share is corrupt"
    if "padding" in message:
        return "the share's value has invalid padding: the share is corrupt"
    return f"not a valid SLIP-39 share ({message.rstrip('.')})"


def check_passphrase(passphrase: str) -> bytes:
    """SLIP-39 passphrases are printable ASCII (32..126); refuse anything else, before any share exists."""
    for position, char in enumerate(passphrase, start=1):
        if not PASSPHRASE_MIN_CODE_POINT <= ord(char) <= PASSPHRASE_MAX_CODE_POINT:
            raise InvalidInput(
                f"character {position} of the passphrase is not printable ASCII",
                "SLIP-39 passphrases may use only letters, digits, punctuation and space (ASCII 32-126)",
            )
    return passphrase.encode("ascii")


def split(
    master_secret: bytes,
    scheme: Scheme,
    passphrase: bytes = b"",
    iteration_exponent: int = 1,
    extendable: bool = True,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> list[list[Share]]:
    """Split `master_secret` into shares, one list per group (SLIP-39 order).

    `random_bytes` chooses the set's identifier; the polynomials' random
    coefficients come from the reference implementation's own CSPRNG.
    """
    identifier = int.from_bytes(random_bytes(2), "big") & ((1 << ID_LENGTH_BITS) - 1)
    encrypted = encrypt_master_secret(
        master_secret, passphrase, identifier=identifier, extendable=extendable, iteration_exponent=iteration_exponent
    )
    groups = split_ems(
        scheme.group_threshold,
        [(group.member_threshold, group.member_count) for group in scheme.groups],
        encrypted,
    )
    return [[Share.from_reference(share) for share in group] for group in groups]
