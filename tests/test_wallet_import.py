"""`recover --format xprv`: the BIP-32 root key other wallets import, checked against published vectors.

The root key is checked alone (vault.core.bip32) against BIP-32's own test vectors and
every entry of the official SLIP-39 and BIP-39 vector files (each gives a seed and
its root xprv), then through the CLI: a vector's secret is split, recovered with
`--format xprv`, and the xprv printed must be the published one.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from test_vectors import b58check_decode, xprv_master

from vault.core import bip32

# BIP-32, "Test vectors": chain m of vectors 1 and 2.
BIP32_VECTORS = [
    ("000102030405060708090a0b0c0d0e0f",
     "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"),
    ("fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542",
     "xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U"),
]
ABANDON_ABOUT = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
# BIP-84, "Test vectors": the root key of ABANDON_ABOUT with an empty BIP-39 passphrase, as a zprv
# (the same key under BIP-84's version bytes).
ABANDON_ABOUT_ZPRV = "zprvAWgYBBk7JR8Gjrh4UJQ2uJdG1r3WNRRfURiABBE3RvMXYSrRJL62XuezvGdPvG6GFBZduosCc1YP5wixPox7zhZLfiUm8aunE96BBa4Kei5"
XPRV_WARNING = "warning: this is the wallet's master private key: whoever reads it can spend everything"
FAST = ("--iteration-exponent", "0")


def as_xprv(extended_private_key: str) -> str:
    """The same key under mainnet xprv version bytes (BIP-49/84 only change the version)."""
    return bip32.base58check(bytes.fromhex("0488ade4") + b58check_decode(extended_private_key)[4:])


# --------------------------------------------------------------------------- the pure function


@pytest.mark.parametrize(("seed_hex", "xprv"), BIP32_VECTORS, ids=["bip32-tv1", "bip32-tv2"])
def test_root_xprv_is_the_bip32_test_vectors_master_key(seed_hex: str, xprv: str) -> None:
    assert bip32.root_xprv(bytes.fromhex(seed_hex)) == xprv


def test_root_xprv_is_every_bip39_vectors_root_key(bip39_vectors: dict) -> None:
    """Every language's seeds (PBKDF2 with "TREZOR") and their published root xprv."""
    entries = [entry for language in bip39_vectors.values() for entry in language]
    assert len(entries) == 288
    for _, _, seed_hex, xprv in entries:
        assert bip32.root_xprv(bytes.fromhex(seed_hex)) == xprv


def test_root_xprv_is_every_slip39_vectors_root_key(slip39_vectors: list) -> None:
    valid = [(secret, xprv) for _, _, secret, xprv in slip39_vectors if secret]
    assert len(valid) == 15
    for secret_hex, xprv in valid:
        assert bip32.root_xprv(bytes.fromhex(secret_hex)) == xprv


def test_root_xprv_is_a_well_formed_master_key() -> None:
    """Version, depth 0, no parent, child 0, checked by the tests' own Base58Check decoder."""
    seed = bytes.fromhex(BIP32_VECTORS[0][0])
    assert xprv_master(bip32.root_xprv(seed)) == bip32.master_key(seed)


def test_base58check_keeps_leading_zero_bytes_as_ones() -> None:
    encoded = bip32.base58check(b"\x00\x00\x01")
    assert encoded.startswith("11") and b58check_decode(encoded) == b"\x00\x00\x01"


# --------------------------------------------------------------------------- through the CLI


def split(cli, secret_flag: str, text: str, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text(text + "\n")
    made = cli("split", secret_flag, "secret.txt", "--scheme", "2of3", "--out", "vault", *FAST)
    assert made.returncode == 0, made.stderr


def recover_xprv(cli, *extra: str):
    return cli("recover", "--manifest", "vault/manifest.json", "--format", "xprv", *extra,
               "vault/shares/group1-share1.txt", "vault/shares/group1-share3.txt")


@pytest.mark.parametrize("index", [0, 1], ids=["bip32-tv1", "bip32-tv2"])
def test_a_master_secret_vault_recovers_to_the_bip32_vectors_xprv(cli, tmp_path: Path, index: int) -> None:
    seed_hex, xprv = BIP32_VECTORS[index]
    split(cli, "--secret-file", seed_hex, tmp_path)
    result = recover_xprv(cli, "--reveal")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == xprv
    assert XPRV_WARNING in result.stderr


def test_a_master_secret_vault_recovers_to_a_slip39_vectors_xprv(cli, tmp_path: Path, slip39_vectors: list) -> None:
    """SLIP-39's vectors give the xprv of the master secret used as the seed, as a Trezor does."""
    _, _, secret_hex, xprv = next(v for v in slip39_vectors if len(v[2]) == 64)
    split(cli, "--secret-file", secret_hex, tmp_path)
    result = recover_xprv(cli, "--reveal", "--json")
    assert result.returncode == 0, result.stderr
    assert result.json()["secret"] == xprv


def test_a_bip39_vault_recovers_to_the_root_key_of_its_words_seed(cli, tmp_path: Path) -> None:
    """A BIP-39 vault's wallet is the seed of its words with an empty BIP-39 passphrase (BIP-84's vector)."""
    split(cli, "--bip39-file", ABANDON_ABOUT, tmp_path)
    result = recover_xprv(cli, "--reveal")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == as_xprv(ABANDON_ABOUT_ZPRV)
    assert "wallet fingerprint: 73c5da0a" in result.stdout


def test_a_bip39_vault_with_a_slip39_passphrase_still_uses_an_empty_bip39_passphrase(cli, tmp_path: Path) -> None:
    """The SLIP-39 passphrase protects the shares; it is not the wallet's BIP-39 passphrase."""
    (tmp_path / "pass.txt").write_text("correct horse\n")
    (tmp_path / "secret.txt").write_text(ABANDON_ABOUT + "\n")
    made = cli("split", "--bip39-file", "secret.txt", "--passphrase-file", "pass.txt", "--scheme", "2of3", "--out", "vault", *FAST)
    assert made.returncode == 0, made.stderr
    result = recover_xprv(cli, "--reveal", "--passphrase-file", "pass.txt")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == as_xprv(ABANDON_ABOUT_ZPRV)


def test_xprv_to_a_file_is_written_0600_and_not_printed(cli, tmp_path: Path) -> None:
    seed_hex, xprv = BIP32_VECTORS[0]
    split(cli, "--secret-file", seed_hex, tmp_path)
    result = recover_xprv(cli, "--out", "root.xprv")
    assert result.returncode == 0, result.stderr
    written = tmp_path / "root.xprv"
    assert written.read_text() == xprv + "\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert xprv not in result.stdout + result.stderr
    assert XPRV_WARNING in result.stderr


def test_xprv_without_reveal_or_out_shows_no_key(cli, tmp_path: Path) -> None:
    seed_hex, xprv = BIP32_VECTORS[0]
    split(cli, "--secret-file", seed_hex, tmp_path)
    result = recover_xprv(cli)
    assert result.returncode == 0, result.stderr
    assert xprv not in result.stdout + result.stderr and "xprv" not in result.stdout
    assert "The secret is not shown" in result.stdout


def test_xprv_without_a_manifest_is_refused(cli, tmp_path: Path) -> None:
    """The seed a wallet derives depends on the kind of secret, which only the manifest records."""
    split(cli, "--secret-file", BIP32_VECTORS[0][0], tmp_path)
    result = cli("recover", "--format", "xprv", "--reveal", "vault/shares/group1-share1.txt", "vault/shares/group1-share3.txt")
    assert result.returncode == 3
    assert result.stdout == ""
    assert "error: --format xprv needs --manifest" in result.stderr
    assert "xprv9s21" not in result.stderr


def test_the_tests_decoder_catches_a_wrong_zprv() -> None:
    """The BIP-84 constant is decoded with its checksum: a typo in it would fail here, not pass silently."""
    corrupted = ABANDON_ABOUT_ZPRV[:-1] + "6"
    with pytest.raises(AssertionError):
        b58check_decode(corrupted)
