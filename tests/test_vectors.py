"""Official vectors and published values, run through coldvault's own code paths.

- SLIP-39: all 45 Trezor vectors through parse_share -> ShareSet -> recover.
- BIP-32: the master key of every valid vector matches the published xprv.
- BIP-39: every English vector (entropy, words, seed, xprv); other languages refused.
- Fingerprints: BIP-32 test vectors 1 and 2 and the "abandon ... about" wallet give
  the master fingerprints every wallet shows; secret and share fingerprints match the
  spec's definition, recomputed here with hashlib.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path

import pytest

from vault.core import bip32
from vault.core.fingerprint import secret_fingerprint, share_fingerprint, wallet_fingerprint
from vault.core.secret import Secret, SecretKind, bip39_seed, from_bip39, from_hex, to_bip39
from vault.core.slip39.recovery import Entry, ShareSet, recover
from vault.core.slip39.share import parse_share
from vault.errors import InvalidInput

VECTORS = Path(__file__).parent / "vectors"

# Loaded at collection time only for parametrize ids; the tests read the data through
# the conftest fixtures.
_SLIP39 = json.loads((VECTORS / "slip39-vectors.json").read_text())
_BIP39 = json.loads((VECTORS / "bip39-vectors.json").read_text())

SLIP39_IDS = [description for description, *_ in _SLIP39]
VALID_SLIP39 = [i for i, vector in enumerate(_SLIP39) if vector[2]]
INVALID_SLIP39 = [i for i, vector in enumerate(_SLIP39) if not vector[2]]
ENGLISH_IDS = [f"english-{i}-{len(v[1].split())}w" for i, v in enumerate(_BIP39["english"])]
OTHER_LANGUAGES = sorted(language for language in _BIP39 if language != "english")
PER_LANGUAGE = 4

PASSPHRASE = b"TREZOR"


# --------------------------------------------------------------------------- helpers

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58check_decode(text: str) -> bytes:
    """Base58Check decode; checks the 4-byte double-SHA-256 checksum."""
    number = 0
    for char in text:
        number = number * 58 + _B58_ALPHABET.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    leading_zeros = len(text) - len(text.lstrip("1"))
    raw = b"\x00" * leading_zeros + body
    payload, checksum = raw[:-4], raw[-4:]
    assert hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum, "bad base58 checksum"
    return payload


def xprv_master(xprv: str) -> tuple[bytes, bytes]:
    """(private key, chain code) of a master xprv, with its structure checked."""
    payload = b58check_decode(xprv)
    assert len(payload) == 78
    assert payload[:4] == bytes.fromhex("0488ade4"), "mainnet xprv version"
    assert payload[4] == 0, "depth 0: a master key"
    assert payload[5:9] == b"\x00" * 4, "a master key has no parent fingerprint"
    assert payload[9:13] == b"\x00" * 4, "a master key has child number 0"
    assert payload[45] == 0, "private keys are 0x00-prefixed"
    return payload[46:78], payload[13:45]


def recover_vector(mnemonics: list[str]) -> bytes:
    """The project's own recover path, step by step, as the CLI runs it."""
    share_set = ShareSet()
    for number, mnemonic in enumerate(mnemonics, start=1):
        share = parse_share(mnemonic)
        share_set = share_set.add(Entry(f"vector share {number}", share))
    share_set.quorum()
    return recover(share_set, PASSPHRASE)


def test_base58_decoder_rejects_a_corrupted_xprv(slip39_vectors):
    """The test's own decoder must catch a typo, or the xprv checks prove nothing."""
    xprv = slip39_vectors[0][3]
    corrupted = xprv[:-1] + ("1" if xprv[-1] != "1" else "2")
    with pytest.raises(AssertionError, match="checksum"):
        b58check_decode(corrupted)


def test_vector_counts(slip39_vectors, bip39_vectors):
    """The README's counts: 45 SLIP-39 vectors (15 valid), 24 English BIP-39 vectors."""
    assert len(slip39_vectors) == 45
    assert sum(bool(vector[2]) for vector in slip39_vectors) == 15
    assert len(bip39_vectors["english"]) == 24


# --------------------------------------------------------------------------- SLIP-39


@pytest.mark.parametrize("index", VALID_SLIP39, ids=[SLIP39_IDS[i] for i in VALID_SLIP39])
def test_slip39_valid_vector_recovers_the_master_secret(slip39_vectors, index):
    description, mnemonics, secret_hex, xprv = slip39_vectors[index]
    assert recover_vector(mnemonics) == bytes.fromhex(secret_hex)


@pytest.mark.parametrize("index", INVALID_SLIP39, ids=[SLIP39_IDS[i] for i in INVALID_SLIP39])
def test_slip39_invalid_vector_is_rejected(slip39_vectors, index):
    description, mnemonics, secret_hex, xprv = slip39_vectors[index]
    assert secret_hex == "" and xprv == ""
    # Any other exception type propagates and fails the test; a returned secret fails too.
    with pytest.raises(InvalidInput) as raised:
        recover_vector(mnemonics)
    assert raised.value.exit_code == 3
    # and the user is told what is wrong, in the terms of the vector's own description
    expected = next(fragment for key, fragment in _INVALID_REASONS if key in description)
    assert expected in raised.value.message, raised.value.message


_INVALID_REASONS = [
    # (words of the vector's description, what the error message must say)
    ("invalid checksum", "checksum does not match"),
    ("invalid padding", "padding"),
    ("different identifiers", "another share set"),
    ("different iteration exponents", "iteration exponent"),
    ("mismatching group thresholds", "group threshold"),
    ("mismatching group counts", "group count"),
    ("greater group threshold", "group threshold is above its group count"),
    ("duplicate member indices", "words differ"),
    ("mismatching member thresholds", "needs 2 shares"),
    ("invalid digest", "group 1 of 1: the shares do not combine"),
    ("Insufficient number of groups", "too few shares"),
    ("insufficient number of members", "too few shares"),
    ("Basic sharing 2-of-3", "too few shares"),
    ("insufficient length", "19 words"),
    ("invalid master secret length", "21 words"),
]


@pytest.mark.parametrize("index", VALID_SLIP39, ids=[SLIP39_IDS[i] for i in VALID_SLIP39])
def test_slip39_valid_vector_master_key_matches_xprv(slip39_vectors, index):
    description, mnemonics, secret_hex, xprv = slip39_vectors[index]
    key, chain_code = bip32.master_key(bytes.fromhex(secret_hex))
    assert (key, chain_code) == xprv_master(xprv)


@pytest.mark.parametrize("index", VALID_SLIP39, ids=[SLIP39_IDS[i] for i in VALID_SLIP39])
def test_slip39_master_secret_wallet_fingerprint_is_bip32_master_fingerprint(slip39_vectors, index):
    secret_hex = slip39_vectors[index][2]
    secret = from_hex(secret_hex)
    assert secret.kind is SecretKind.MASTER_SECRET
    fingerprint = wallet_fingerprint(secret)
    assert fingerprint == bip32.master_fingerprint(secret.value).hex()
    assert len(fingerprint) == 8


# --------------------------------------------------------------------------- BIP-39


@pytest.mark.parametrize("index", range(len(_BIP39["english"])), ids=ENGLISH_IDS)
def test_bip39_english_vector(bip39_vectors, index):
    entropy_hex, mnemonic, seed_hex, xprv = bip39_vectors["english"][index]
    secret = from_bip39(mnemonic)
    assert secret.kind is SecretKind.BIP39_ENTROPY
    assert secret.value == bytes.fromhex(entropy_hex)
    assert to_bip39(secret) == mnemonic
    seed = bip39_seed(mnemonic, "TREZOR")
    assert seed == bytes.fromhex(seed_hex)
    assert bip32.master_key(seed) == xprv_master(xprv)


@pytest.mark.parametrize("index", [0, 7, 23])
def test_bip39_english_vector_accepts_capitals_and_odd_spacing(bip39_vectors, index):
    entropy_hex, mnemonic, _, _ = bip39_vectors["english"][index]
    messy = "\n  " + "   ".join(word.upper() for word in mnemonic.split()) + " \t\n"
    assert from_bip39(messy).value == bytes.fromhex(entropy_hex)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_bip39_non_english_vectors_are_refused(bip39_vectors, language):
    vectors = bip39_vectors[language]
    # a handful per language: the first few and the last (24 words)
    for entropy_hex, mnemonic, _, _ in vectors[:PER_LANGUAGE] + vectors[-1:]:
        with pytest.raises(InvalidInput):
            from_bip39(mnemonic)
        # NFKD-normalised text (as some tools store it) is refused just the same
        with pytest.raises(InvalidInput):
            from_bip39(unicodedata.normalize("NFKD", mnemonic))


# --------------------------------------------------------------------------- wallet fingerprints

BIP32_TV1_SEED = "000102030405060708090a0b0c0d0e0f"
BIP32_TV1_IDENTIFIER = "3442193e1bb70916e914552172cd4e2dbc9df811"
BIP32_TV2_SEED = (
    "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a2"
    "9f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542"
)
BIP32_TV2_IDENTIFIER = "bd16bee53961a47d6ad888e29545434a89bdfe95"
ABANDON_ABOUT = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"


@pytest.mark.parametrize(
    ("seed_hex", "identifier"),
    [(BIP32_TV1_SEED, BIP32_TV1_IDENTIFIER), (BIP32_TV2_SEED, BIP32_TV2_IDENTIFIER)],
    ids=["bip32-tv1", "bip32-tv2"],
)
def test_master_fingerprint_matches_bip32_test_vectors(seed_hex, identifier):
    assert bip32.master_fingerprint(bytes.fromhex(seed_hex)) == bytes.fromhex(identifier)[:4]
    # the same seed given to coldvault as a master secret shows the same wallet fingerprint
    assert wallet_fingerprint(from_hex(seed_hex)) == identifier[:8]


def test_bip32_tv1_master_key_matches_published_xprv():
    published = (
        "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPG"
        "JxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
    )
    assert bip32.master_key(bytes.fromhex(BIP32_TV1_SEED)) == xprv_master(published)


def test_wallet_fingerprint_of_abandon_about_is_73c5da0a():
    secret = from_bip39(ABANDON_ABOUT)
    assert secret.kind is SecretKind.BIP39_ENTROPY
    assert secret.value == bytes(16)
    assert wallet_fingerprint(secret) == "73c5da0a"


def test_wallet_fingerprint_of_bip39_uses_empty_passphrase_seed(bip39_vectors):
    """For BIP-39 entropy the wallet is the seed of the words with an empty passphrase,
    not the entropy used as a BIP-32 seed."""
    for entropy_hex, mnemonic, _, _ in bip39_vectors["english"][:6]:
        secret = from_bip39(mnemonic)
        expected = bip32.master_fingerprint(bip39_seed(mnemonic, "")).hex()
        assert wallet_fingerprint(secret) == expected
        assert wallet_fingerprint(secret) != bip32.master_fingerprint(secret.value).hex()


# --------------------------------------------------------------------------- secret and share fingerprints


def expected_secret_fingerprint(kind: str, value: bytes) -> str:
    data = b"coldvault/secret-fingerprint/v1\x00" + kind.encode("ascii") + b"\x00" + value
    return hashlib.sha256(data).digest()[:16].hex()


def expected_share_fingerprint(mnemonic: str) -> str:
    text = " ".join(word.lower() for word in mnemonic.split())
    return hashlib.sha256(b"coldvault/share-fingerprint/v1\x00" + text.encode("ascii")).digest()[:16].hex()


def test_secret_fingerprint_matches_spec_for_master_secrets(slip39_vectors):
    for _, _, secret_hex, _ in slip39_vectors:
        if not secret_hex:
            continue
        secret = from_hex(secret_hex)
        assert secret_fingerprint(secret) == expected_secret_fingerprint("master-secret", bytes.fromhex(secret_hex))


def test_secret_fingerprint_matches_spec_for_bip39_entropy(bip39_vectors):
    for entropy_hex, mnemonic, _, _ in bip39_vectors["english"]:
        secret = from_bip39(mnemonic)
        assert secret_fingerprint(secret) == expected_secret_fingerprint("bip39-entropy", bytes.fromhex(entropy_hex))


def test_secret_fingerprint_depends_on_kind():
    """The same 16 bytes as BIP-39 entropy and as a master secret are different wallets,
    and their fingerprints differ."""
    value = bytes(16)
    as_master = secret_fingerprint(Secret(SecretKind.MASTER_SECRET, value))
    as_entropy = secret_fingerprint(Secret(SecretKind.BIP39_ENTROPY, value))
    assert as_master != as_entropy
    assert len(as_master) == len(as_entropy) == 32


def test_share_fingerprint_matches_spec(slip39_vectors):
    checked = 0
    for _, mnemonics, secret_hex, _ in slip39_vectors:
        if not secret_hex:
            continue
        for mnemonic in mnemonics:
            share = parse_share(mnemonic)
            expected = expected_share_fingerprint(mnemonic)
            assert share.fingerprint == expected
            assert share_fingerprint(share.words) == expected
            checked += 1
    assert checked >= 30


def test_share_fingerprint_ignores_case_and_white_space(slip39_vectors):
    for index in (0, 19, 41):  # 20-word, 33-word, extendable
        mnemonic = slip39_vectors[index][1][0]
        words = mnemonic.split()
        messy = "  " + "\n\t ".join(
            word.upper() if i % 2 else word.capitalize() for i, word in enumerate(words)
        ) + "   \n"
        clean = parse_share(mnemonic)
        assert parse_share(messy).fingerprint == clean.fingerprint == expected_share_fingerprint(mnemonic)
        assert share_fingerprint([word.upper() for word in words]) == clean.fingerprint


def test_share_fingerprints_differ_between_shares(slip39_vectors):
    mnemonics = [m for _, ms, secret_hex, _ in slip39_vectors if secret_hex for m in ms]
    fingerprints = {parse_share(m).fingerprint for m in mnemonics}
    assert len(fingerprints) == len(set(mnemonics))
