"""Secrets stay secret: no seed, passphrase or share words where they do not belong.

A split and a recovery are run for real; then every file they left (except the
share files themselves and the inputs) and everything they printed is scanned for
the secret in hex (either case), the BIP-39 phrase, the passphrase, and every
share's words (whole, and any run of four consecutive words). Positive controls
(`--show-shares`, `--reveal`) prove the scanner can see a leak when there is one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

FAST = ("--iteration-exponent", "0")
RUN = 4  # consecutive share words that count as a leak

SECRET_HEX = "3c8e1f0b9a7d2e4f6a5b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b"
PASSPHRASE = "Tr0ub4dor & 3 horses!"


# --------------------------------------------------------------------------- scanning


def share_words(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return " ".join(line for line in lines if not line.lstrip().startswith("#")).split()


def normalise(text: str) -> str:
    """Lower case letters only, every other run of characters one space (mnemonic words are a-z)."""
    return " ".join(re.sub(r"[^a-z]+", " ", text.lower()).split())


class Secrets:
    """What must not leak, and a scanner that says what it found.

    Word sequences are matched after normalising white space and case (a leak may
    reflow them); raw text (a passphrase, hex) is matched as it is.
    """

    def __init__(self) -> None:
        self.raw: dict[str, str] = {}
        self.words: dict[str, str] = {}

    def add_text(self, label: str, text: str) -> None:
        self.raw[label] = text

    def add_hex(self, label: str, hex_text: str) -> None:
        self.raw[f"{label} (lower-case hex)"] = hex_text.lower()
        self.raw[f"{label} (upper-case hex)"] = hex_text.upper()

    def add_words(self, label: str, words: list[str]) -> None:
        self.words[f"{label} (all words)"] = normalise(" ".join(words))
        for i in range(len(words) - RUN + 1):
            self.words[f"{label} (words {i + 1}-{i + RUN})"] = normalise(" ".join(words[i:i + RUN]))

    def found(self, text: str) -> list[str]:
        flat = f" {normalise(text)} "
        hits = [label for label, needle in self.raw.items() if needle in text]
        hits += [label for label, needle in self.words.items() if f" {needle} " in flat]
        return hits


def scan_tree(root: Path, secrets: Secrets, exclude: set[Path]) -> dict[str, list[str]]:
    """Every file under `root` not in `exclude`, including hidden ones: what leaked where."""
    leaks = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = Path(directory) / name
            if path in exclude:
                continue
            hits = secrets.found(path.read_bytes().decode("utf-8", errors="replace"))
            if hits:
                leaks[str(path.relative_to(root))] = hits
    return leaks


def assert_ok(run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"


def assert_clean(runs: dict, secrets: Secrets) -> None:
    leaks = {}
    for name, run in runs.items():
        for stream in ("stdout", "stderr"):
            hits = secrets.found(getattr(run, stream))
            if hits:
                leaks[f"{name} {stream}"] = hits
    assert not leaks, leaks


# --------------------------------------------------------------------------- split + recover


def _share_files(vault: Path) -> list[Path]:
    return sorted((vault / "shares").glob("*"))


def test_split_and_recover_with_secret_file_and_passphrase_leak_nothing(cli, tmp_path):
    (tmp_path / "secret.hex").write_text(SECRET_HEX + "\n")
    (tmp_path / "pass.txt").write_text(PASSPHRASE + "\n")
    runs = {
        "split": cli("split", "--secret-file", "secret.hex", "--passphrase-file", "pass.txt",
                     "--group-threshold", "2", "--group", "2of3", "--group", "3of5", "--group", "1of1",
                     "--group-name", "Board", "--out", "vault", *FAST),
        "split --json": cli("split", "--secret-file", "secret.hex", "--passphrase-file", "pass.txt",
                            "--scheme", "2of3", "--out", "second", *FAST, "--json"),
    }
    assert_ok(runs["split"])
    assert_ok(runs["split --json"])
    quorum = ["vault/shares/group1-share1.txt", "vault/shares/group1-share3.txt", "vault/shares/group3-share1.txt"]
    runs["recover"] = cli("recover", *quorum, "--manifest", "vault/manifest.json", "--passphrase-file", "pass.txt")
    runs["recover --json"] = cli("recover", *quorum, "--manifest", "vault/manifest.json",
                                 "--passphrase-file", "pass.txt", "--json")
    runs["recover no manifest"] = cli("recover", *quorum, "--passphrase-file", "pass.txt")
    runs["recover second"] = cli("recover", "second/shares/group1-share2.txt", "second/shares/group1-share3.txt",
                                 "--manifest", "second/manifest.json", "--passphrase-file", "pass.txt")
    runs["inspect"] = cli("inspect", "vault/shares/group2-share2.txt")
    runs["inspect --json"] = cli("inspect", "vault/shares/group2-share2.txt", "--json")
    runs["wrong passphrase"] = cli("recover", *quorum, "--manifest", "vault/manifest.json")
    runs["quorum drill"] = cli("drill", "run", "--manifest", "vault/manifest.json", *quorum, "--passphrase-file", "pass.txt", "--json")
    runs["partial drill"] = cli("drill", "run", "--manifest", "vault/manifest.json", "--partial", quorum[0])
    runs["drill status"] = cli("drill", "status", "--manifest", "vault/manifest.json", "--json")
    for name, run in runs.items():
        if name != "wrong passphrase":
            assert_ok(run)
    assert runs["wrong passphrase"].returncode != 0

    shares = _share_files(tmp_path / "vault") + _share_files(tmp_path / "second")
    assert len(shares) == 12
    secrets = Secrets()
    secrets.add_hex("secret", SECRET_HEX)
    secrets.add_text("passphrase", PASSPHRASE)
    for share in shares:
        secrets.add_words(f"share {share.relative_to(tmp_path)}", share_words(share))
    _add_attestation_keys(secrets, tmp_path / "vault", shares)

    assert_clean(runs, secrets)
    inputs = {tmp_path / "secret.hex", tmp_path / "pass.txt"}
    assert scan_tree(tmp_path, secrets, exclude=set(shares) | inputs) == {}

    # The scanner sees what it looks for: the inputs and the shares are found.
    assert secrets.found((tmp_path / "secret.hex").read_text())
    assert secrets.found((tmp_path / "pass.txt").read_text())
    assert secrets.found(shares[0].read_text())


def _add_attestation_keys(secrets: Secrets, vault: Path, shares: list[Path]) -> None:
    """The private attestation keys a drill derives (a share's, the vault's) sign checks: they are secrets too."""
    import base64
    import json

    from vault.core import attestation
    from vault.core.secret import Secret, SecretKind
    from vault.core.slip39.share import parse_share

    ceremony_id = json.loads((vault / "manifest.json").read_text())["ceremony"]["id"]
    keys = [attestation.share_key(parse_share(" ".join(share_words(share))), ceremony_id) for share in shares]
    keys.append(attestation.vault_key(Secret(SecretKind.MASTER_SECRET, bytes.fromhex(SECRET_HEX)), ceremony_id))
    for number, key in enumerate(keys):
        seed = key._private.private_bytes_raw()
        secrets.add_hex(f"attestation key {number}", seed.hex())
        secrets.add_text(f"attestation key {number} (base64)", base64.b64encode(seed).decode())


def test_split_and_recover_with_bip39_file_leak_nothing(cli, tmp_path, bip39_vectors):
    entropy_hex, phrase = next((e, m) for e, m, *_ in bip39_vectors["english"][::-1] if len(m.split()) == 24)
    (tmp_path / "seed.txt").write_text(phrase + "\n")
    runs = {"split": cli("split", "--bip39-file", "seed.txt", "--scheme", "3of5", "--out", "vault", *FAST)}
    assert_ok(runs["split"])
    quorum = ["vault/shares/group1-share5.txt", "vault/shares/group1-share2.txt", "vault/shares/group1-share4.txt"]
    runs["recover"] = cli("recover", *quorum, "--manifest", "vault/manifest.json")
    runs["recover --json"] = cli("recover", *quorum, "--manifest", "vault/manifest.json", "--json")
    runs["recover --format hex"] = cli("recover", *quorum, "--manifest", "vault/manifest.json", "--format", "hex")
    runs["stdin split"] = cli("split", "--scheme", "2of3", "--out", "piped", *FAST, input=phrase + "\n")
    for run in runs.values():
        assert_ok(run)

    shares = _share_files(tmp_path / "vault") + _share_files(tmp_path / "piped")
    secrets = Secrets()
    secrets.add_hex("entropy", entropy_hex)
    secrets.add_text("bip39 phrase", phrase)
    secrets.add_words("bip39", phrase.split())
    for share in shares:
        secrets.add_words(f"share {share.relative_to(tmp_path)}", share_words(share))
    _add_attestation_keys(secrets, tmp_path / "vault", shares)

    assert_clean(runs, secrets)
    assert scan_tree(tmp_path, secrets, exclude=set(shares) | {tmp_path / "seed.txt"}) == {}
    assert secrets.found((tmp_path / "seed.txt").read_text())


# --------------------------------------------------------------------------- positive controls


def test_show_shares_prints_share_words_positive_control(cli, tmp_path):
    (tmp_path / "secret.hex").write_text(SECRET_HEX)
    run = cli("split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "vault", *FAST, "--show-shares")
    assert_ok(run)
    secrets = Secrets()
    for share in _share_files(tmp_path / "vault"):
        secrets.add_words(share.name, share_words(share))
    hits = secrets.found(run.stdout)
    for share in _share_files(tmp_path / "vault"):
        assert f"{share.name} (all words)" in hits
    # ...but never the secret itself, and nothing on stderr.
    secret_only = Secrets()
    secret_only.add_hex("secret", SECRET_HEX)
    assert not secret_only.found(run.stdout + run.stderr)
    assert not secrets.found(run.stderr)


BIP39_WORDS = ["abandon"] * 11 + ["about"]


@pytest.mark.parametrize("source", ["hex", "bip39"])
def test_reveal_prints_the_secret_positive_control(cli, tmp_path, source):
    watched = Secrets()
    if source == "hex":
        (tmp_path / "input.txt").write_text(SECRET_HEX)
        flag = "--secret-file"
        watched.add_hex("secret", SECRET_HEX)
    else:
        (tmp_path / "input.txt").write_text(" ".join(BIP39_WORDS))
        flag = "--bip39-file"
        watched.add_words("bip39", BIP39_WORDS)
    assert_ok(cli("split", flag, "input.txt", "--scheme", "2of3", "--out", "vault", *FAST))

    shares = ("vault/shares/group1-share3.txt", "vault/shares/group1-share2.txt")
    hidden = cli("recover", *shares, "--manifest", "vault/manifest.json")
    shown = cli("recover", *shares, "--manifest", "vault/manifest.json", "--reveal")
    assert_ok(hidden)
    assert_ok(shown)
    assert not watched.found(hidden.stdout + hidden.stderr)
    assert watched.found(shown.stdout)
    assert not watched.found(shown.stderr)


# --------------------------------------------------------------------------- error messages


def _assert_error_without(run, fragments: list[str], code: int = 3) -> None:
    detail = f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.returncode == code, detail
    assert run.stderr.startswith("error:"), detail
    assert "Traceback" not in run.stderr + run.stdout, detail
    text = (run.stdout + run.stderr).lower()
    leaked = [f for f in fragments if f.lower() in text]
    assert not leaked, f"leaked {leaked}\n{detail}"


def _windows(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(len(text) - size + 1)]


@pytest.mark.parametrize("bad_position", [0, 17, 40, 63])
def test_bad_secret_file_error_does_not_show_the_secret(cli, tmp_path, bad_position):
    bad = SECRET_HEX[:bad_position] + "g" + SECRET_HEX[bad_position + 1:]
    (tmp_path / "secret.hex").write_text(bad + "\n")
    run = cli("split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "vault", *FAST)
    fragments = [w for part in (bad[:bad_position], bad[bad_position + 1:]) for w in _windows(part, 6)]
    if bad_position + 4 <= len(bad):
        fragments.append(bad[bad_position:bad_position + 4])  # the bad character with what follows
    _assert_error_without(run, fragments + [bad])
    assert not (tmp_path / "vault").exists()


def test_bad_secret_on_stdin_error_does_not_show_the_secret(cli, tmp_path):
    bad = SECRET_HEX[:20] + "x" + SECRET_HEX[21:]
    run = cli("split", "--scheme", "2of3", "--out", "vault", *FAST, input=bad + "\n")
    _assert_error_without(run, _windows(SECRET_HEX[:20], 6) + _windows(SECRET_HEX[21:], 6))
    assert not (tmp_path / "vault").exists()


@pytest.mark.parametrize(
    "passphrase",
    ["Sésame, ouvre-toi 42", "zebra\tquokka marmot", "naïve wombat ocelot", "emoji \U0001f511 kiwi vole"],
    ids=["accent", "tab", "diaeresis", "emoji"],
)
def test_bad_passphrase_file_error_does_not_show_the_passphrase(cli, tmp_path, passphrase):
    (tmp_path / "pass.txt").write_text(passphrase + "\n", encoding="utf-8")
    fragments = [w for w in _windows(passphrase, 5) if w.strip()]
    run = cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault", *FAST, "--passphrase-file", "pass.txt")
    _assert_error_without(run, fragments)
    assert not (tmp_path / "vault").exists()

    (tmp_path / "secret.hex").write_text(SECRET_HEX)
    assert_ok(cli("split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", "ok", *FAST))
    run = cli("recover", "ok/shares/group1-share1.txt", "ok/shares/group1-share2.txt",
              "--manifest", "ok/manifest.json", "--passphrase-file", "pass.txt", "--reveal")
    _assert_error_without(run, fragments + [SECRET_HEX])


def test_passphrase_file_not_utf8_error_does_not_show_it(cli, tmp_path):
    (tmp_path / "pass.txt").write_bytes(b"zebra caf\xe9 quokka marmot\n")
    run = cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault", *FAST, "--passphrase-file", "pass.txt")
    _assert_error_without(run, ["zebra", "quokka", "marmot"])
    assert not (tmp_path / "vault").exists()


def test_wrong_passphrase_error_shows_neither_secret_nor_passphrases(cli, tmp_path):
    (tmp_path / "secret.hex").write_text(SECRET_HEX)
    (tmp_path / "right.txt").write_text(PASSPHRASE + "\n")
    (tmp_path / "wrong.txt").write_text("Tr0ub4dor & 3 horses?\n")
    assert_ok(cli("split", "--secret-file", "secret.hex", "--passphrase-file", "right.txt",
                  "--scheme", "2of3", "--out", "vault", *FAST))
    run = cli("recover", "vault/shares/group1-share1.txt", "vault/shares/group1-share2.txt",
              "--manifest", "vault/manifest.json", "--passphrase-file", "wrong.txt", "--reveal")
    _assert_error_without(run, [SECRET_HEX, PASSPHRASE, "Tr0ub4dor", "horses"], code=1)
