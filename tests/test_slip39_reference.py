"""`vault.core.slip39.reference`: the one door to `shamir_mnemonic`.

- The specification's RS1024, written out in `reference`, accepts and rejects exactly
  what Trezor's reference accepts and rejects on the official vectors, under both
  customization strings, and its checksums are the reference's.
- `locate_single_error`, now built on that RS1024, still names a changed word.
- The digest `reference` delegates is the specification's HMAC.
- No module of coldvault but `reference` imports `shamir_mnemonic`.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import random
from pathlib import Path

import pytest
import shamir_mnemonic
from shamir_mnemonic import rs1024 as reference_rs1024

from vault.core.slip39.reference import (
    CUSTOMIZATION_STRING_EXTENDABLE,
    CUSTOMIZATION_STRING_ORIG,
    WORD_INDEX_MAP,
    WORDLIST,
    create_digest,
    customization_string,
    rs1024_verify_checksum,
)
from vault.core.slip39.share import locate_single_error

ROOT = Path(__file__).resolve().parent.parent
VAULT = ROOT / "vault"
REFERENCE_MODULE = VAULT / "core" / "slip39" / "reference.py"
CHECKSUM_LENGTH_WORDS = 3

_SLIP39 = json.loads((ROOT / "tests" / "vectors" / "slip39-vectors.json").read_text())
VALID_MNEMONICS = [
    pytest.param(mnemonic, id=f"{description.split('.')[0]}-{number}")
    for description, mnemonics, master_secret, _ in _SLIP39
    if master_secret
    for number, mnemonic in enumerate(mnemonics, start=1)
]
BAD_CHECKSUM_MNEMONICS = [
    pytest.param(mnemonic, id=description.split(".")[0])
    for description, mnemonics, _, _ in _SLIP39
    if "checksum" in description.lower()
    for mnemonic in mnemonics
]
CUSTOMIZATION_STRINGS = [
    pytest.param(CUSTOMIZATION_STRING_ORIG, id="original"),
    pytest.param(CUSTOMIZATION_STRING_EXTENDABLE, id="extendable"),
]


def indices(mnemonic: str) -> list[int]:
    return [WORD_INDEX_MAP[word] for word in mnemonic.split()]


def test_the_customization_strings_are_the_specifications() -> None:
    """SLIP-0039: "shamir" without the extendable flag, "shamir_extendable" with it."""
    assert customization_string(extendable=False) == CUSTOMIZATION_STRING_ORIG == b"shamir"
    assert customization_string(extendable=True) == CUSTOMIZATION_STRING_EXTENDABLE == b"shamir_extendable"
    assert (CUSTOMIZATION_STRING_ORIG, CUSTOMIZATION_STRING_EXTENDABLE) == (
        shamir_mnemonic.constants.CUSTOMIZATION_STRING_ORIG,
        shamir_mnemonic.constants.CUSTOMIZATION_STRING_EXTENDABLE,
    )


def test_the_vectors_hold_valid_mnemonics_and_invalid_checksums() -> None:
    """Guards the selection below: an empty parameter list would prove nothing."""
    assert len(VALID_MNEMONICS) >= 30
    assert len(BAD_CHECKSUM_MNEMONICS) >= 2


@pytest.mark.parametrize("cs", CUSTOMIZATION_STRINGS)
@pytest.mark.parametrize("mnemonic", VALID_MNEMONICS)
def test_the_specifications_checksum_agrees_with_the_reference_on_every_vector(mnemonic: str, cs: bytes) -> None:
    words = indices(mnemonic)
    data = words[:-CHECKSUM_LENGTH_WORDS]
    assert rs1024_verify_checksum(cs, words) == reference_rs1024.verify_checksum(words, cs)
    assert rs1024_verify_checksum(cs, data + reference_rs1024.create_checksum(data, cs))


@pytest.mark.parametrize("mnemonic", VALID_MNEMONICS)
def test_every_valid_vector_passes_the_checksum_of_its_own_kind_only(mnemonic: str) -> None:
    """A share is valid under the customization string its extendable flag names, never under the other."""
    extendable = shamir_mnemonic.Share.from_mnemonic(mnemonic).extendable
    assert rs1024_verify_checksum(customization_string(extendable), indices(mnemonic))
    assert not rs1024_verify_checksum(customization_string(not extendable), indices(mnemonic))


@pytest.mark.parametrize("cs", CUSTOMIZATION_STRINGS)
@pytest.mark.parametrize("mnemonic", BAD_CHECKSUM_MNEMONICS)
def test_the_specifications_checksum_rejects_the_invalid_checksum_vectors(mnemonic: str, cs: bytes) -> None:
    assert not rs1024_verify_checksum(cs, indices(mnemonic))
    assert not reference_rs1024.verify_checksum(indices(mnemonic), cs)


@pytest.mark.parametrize("cs", CUSTOMIZATION_STRINGS)
def test_any_words_with_the_references_checksum_pass_and_one_changed_word_fails(cs: bytes) -> None:
    rng = random.Random(39)
    for length in range(1, 60):
        data = [rng.randrange(len(WORDLIST)) for _ in range(length)]
        words = data + reference_rs1024.create_checksum(data, cs)
        assert rs1024_verify_checksum(cs, words)
        changed = rng.randrange(len(words))
        words[changed] ^= 1 + rng.randrange(len(WORDLIST) - 1)
        assert not rs1024_verify_checksum(cs, words)


def _first_mnemonic(description_start: str) -> str:
    return next(mnemonics[0] for description, mnemonics, _, _ in _SLIP39 if description.startswith(description_start))


@pytest.mark.parametrize(
    "mnemonic",
    [
        pytest.param(_first_mnemonic("1. Valid mnemonic without sharing (128 bits)"), id="20-words-original"),
        pytest.param(_first_mnemonic("44. Valid extendable mnemonic without sharing (256 bits)"), id="33-words-extendable"),
    ],
)
def test_a_single_changed_word_is_located_and_its_right_word_named(mnemonic: str) -> None:
    """Whichever word is miscopied, by whatever bits, the one fix is that word, as on the card."""
    words = indices(mnemonic)
    rng = random.Random(len(words))
    for position, original in enumerate(words):
        changed = list(words)
        changed[position] ^= rng.randrange(1, len(WORDLIST))
        assert locate_single_error(changed) == [(position, WORDLIST[original])]


def test_a_valid_mnemonic_has_no_single_word_fix() -> None:
    assert locate_single_error(indices(_first_mnemonic("1. Valid mnemonic without sharing (128 bits)"))) == []


def test_the_digest_is_the_specifications_hmac() -> None:
    """SLIP-0039: the first 4 bytes of HMAC-SHA256(key=R, msg=S)."""
    random_part, secret = bytes(range(12)), bytes(range(100, 116))
    assert create_digest(random_part, secret) == hmac.new(random_part, secret, hashlib.sha256).digest()[:4]


def _shamir_mnemonic_imports(path: Path) -> list[int]:
    """Line numbers of every import of `shamir_mnemonic` or a module under it, at any depth of `path`."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == "shamir_mnemonic" or name.startswith("shamir_mnemonic.") for name in names):
            lines.append(node.lineno)
    return lines


def test_only_the_reference_module_imports_shamir_mnemonic() -> None:
    """Upgrading the pinned reference means reading one file: vault/core/slip39/reference.py."""
    offenders = {
        f"{path.relative_to(ROOT)}:{line}"
        for path in VAULT.rglob("*.py")
        if path != REFERENCE_MODULE
        for line in _shamir_mnemonic_imports(path)
    }
    assert offenders == set()
    assert _shamir_mnemonic_imports(REFERENCE_MODULE), "the check would see an import if there were one"
