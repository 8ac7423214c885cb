"""End to end: `coldvault split`, `recover` and `inspect` as a user meets them.

Every test runs the real CLI in a subprocess (the `cli` fixture), in its own
temporary directory, and checks what the spec promises: exit codes, the
`error:` line, one JSON object with `--json`, file modes, the manifest's fields,
interoperability with Trezor's reference implementation, and that a failed
command leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path

import pytest
import shamir_mnemonic
from shamir_mnemonic.wordlist import WORDLIST

FAST = ("--iteration-exponent", "0")
SLIP39_WORDS = frozenset(WORDLIST)

# BIP-32 test vector 1: this seed's master key fingerprint is 3442193e.
BIP32_SEED_HEX = "000102030405060708090a0b0c0d0e0f"
BIP32_SEED_FINGERPRINT = "3442193e"
# BIP-39: the master fingerprint of "abandon ... about" (no BIP-39 passphrase) is 73c5da0a.
ABANDON = " ".join(["abandon"] * 11 + ["about"])
ABANDON_FINGERPRINT = "73c5da0a"


# --------------------------------------------------------------------------- helpers


def secret_fingerprint(kind: str, secret: bytes) -> str:
    """The spec's definition, computed independently of coldvault."""
    data = b"coldvault/secret-fingerprint/v1\x00" + kind.encode() + b"\x00" + secret
    return hashlib.sha256(data).digest()[:16].hex()


def share_fingerprint(words: list[str]) -> str:
    data = b"coldvault/share-fingerprint/v1\x00" + " ".join(w.lower() for w in words).encode()
    return hashlib.sha256(data).digest()[:16].hex()


def share_words(path: Path) -> list[str]:
    """The words of a share file, `#` comment lines removed (as the spec defines the format)."""
    lines = path.read_text().splitlines()
    return " ".join(line for line in lines if not line.lstrip().startswith("#")).split()


def tree(root: Path) -> set[str]:
    """Every file and directory under `root`, hidden ones included."""
    found = set()
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(directory, name), root))
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_ok(run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert "Traceback" not in run.stderr + run.stdout


def assert_error(run, code: int, *needles: str, first_line: bool = True) -> str:
    """Exit `code`, an `error:` line (the first one by default), no traceback, no payload.

    Returns the stderr text in lower case for further checks; each needle must appear in it.
    """
    detail = f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.returncode == code, detail
    assert "Traceback" not in run.stderr + run.stdout, detail
    lines = run.stderr.splitlines()
    assert lines, detail
    if first_line:
        assert lines[0].startswith("error:"), detail
    else:
        assert any(line.startswith("error:") for line in lines), detail
    assert run.stdout.strip() == "", detail
    lowered = run.stderr.lower()
    for needle in needles:
        assert needle.lower() in lowered, f"{needle!r} not in stderr\n{detail}"
    return lowered


def assert_nothing_left(tmp_path: Path, before: set[str]) -> None:
    after = tree(tmp_path)
    assert after == before, f"left behind: {sorted(after - before)}; removed: {sorted(before - after)}"
    assert not [p for p in after if "coldvault-staging" in p]


def split(cli, tmp_path: Path, out: str = "vault", *args: str, input: str | None = None) -> dict:
    """Run a successful split and return its manifest."""
    run = cli("split", "--out", out, *FAST, *args, input=input)
    assert_ok(run)
    return json.loads((tmp_path / out / "manifest.json").read_text())


def two_level(cli, tmp_path: Path, out: str = "v", *args: str) -> dict:
    return split(
        cli, tmp_path, out,
        "--group-threshold", "2", "--group", "2of3", "--group", "3of5", "--group", "1of1",
        "--group-name", "Board", "--group-name", "Officers", "--group-name", "Escrow",
        *args,
    )


def revealed(stdout: str) -> str:
    """The last non-empty line of stdout: where `--reveal` puts the secret."""
    return [line for line in stdout.splitlines() if line.strip()][-1].strip()


# --------------------------------------------------------------------------- split, then recover


def test_split_2of3_then_recover_with_any_two_shares(cli, tmp_path):
    run = cli("split", "--generate", "256", "--scheme", "2of3", "--out", "vault", *FAST)
    assert_ok(run)
    manifest = json.loads((tmp_path / "vault/manifest.json").read_text())
    assert manifest["secret"]["kind"] == "master-secret"
    assert manifest["secret"]["bits"] == 256
    assert manifest["secret"]["secret_fingerprint"] in run.stdout
    shares = sorted((tmp_path / "vault/shares").glob("*.txt"))
    assert len(shares) == 3

    for pair in ((0, 1), (0, 2), (1, 2)):
        files = [str(shares[i].relative_to(tmp_path)) for i in pair]
        run = cli("recover", *files, "--manifest", "vault/manifest.json")
        assert_ok(run)
        assert manifest["secret"]["secret_fingerprint"] in run.stdout
        assert manifest["secret"]["wallet_fingerprint"] in run.stdout


def test_recover_json_is_one_object_matching_the_manifest(cli, tmp_path):
    manifest = split(cli, tmp_path, "vault", "--generate", "256", "--scheme", "2of3")
    run = cli("recover", "vault/shares/group1-share1.txt", "vault/shares/group1-share3.txt",
              "--manifest", "vault/manifest.json", "--json")
    assert_ok(run)
    result = json.loads(run.stdout)  # fails if stdout holds anything but one JSON document
    assert isinstance(result, dict)
    assert run.stdout.strip().startswith("{") and run.stdout.strip().endswith("}")
    assert result["kind"] == manifest["secret"]["kind"]
    assert result["secret_fingerprint"] == manifest["secret"]["secret_fingerprint"]
    assert result["wallet_fingerprint"] == manifest["secret"]["wallet_fingerprint"]
    assert result.get("matches_manifest") is True
    assert "secret" not in result  # not revealed unless asked


def test_split_json_is_one_object_with_the_manifest(cli, tmp_path):
    run = cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault", *FAST, "--json")
    assert_ok(run)
    payload = json.loads(run.stdout)
    written = json.loads((tmp_path / "vault/manifest.json").read_text())
    assert payload["manifest"] == written


def test_split_defaults_iteration_exponent_1_and_extendable(cli, tmp_path):
    run = cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault")
    assert_ok(run)
    scheme = json.loads((tmp_path / "vault/manifest.json").read_text())["scheme"]
    assert scheme["iteration_exponent"] == 1
    assert scheme["extendable"] is True

    manifest = split(cli, tmp_path, "plain", "--generate", "128", "--scheme", "2of3", "--no-extendable")
    assert manifest["scheme"]["extendable"] is False
    info = cli("inspect", "plain/shares/group1-share1.txt", "--json")
    assert_ok(info)
    assert info.json()["extendable"] is False
    run = cli("recover", "plain/shares/group1-share1.txt", "plain/shares/group1-share2.txt",
              "--manifest", "plain/manifest.json")
    assert_ok(run)


# --------------------------------------------------------------------------- two-level schemes


def test_two_level_manifest_fields_files_and_modes(cli, tmp_path):
    manifest = two_level(cli, tmp_path, "v", "--generate", "256")
    vault = tmp_path / "v"

    assert manifest["format"] == "coldvault-manifest/2"
    assert {"id", "name", "created"} <= manifest["ceremony"].keys()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", manifest["ceremony"]["created"])
    assert manifest["ceremony"]["id"]

    secret = manifest["secret"]
    assert {"kind", "bits", "secret_fingerprint", "wallet_fingerprint"} <= secret.keys()
    assert secret["kind"] == "master-secret" and secret["bits"] == 256
    assert re.fullmatch(r"[0-9a-f]{32}", secret["secret_fingerprint"])
    assert re.fullmatch(r"[0-9a-f]{8}", secret["wallet_fingerprint"])

    scheme = manifest["scheme"]
    assert {"identifier", "extendable", "iteration_exponent", "group_threshold",
            "passphrase_protected", "groups"} <= scheme.keys()
    assert isinstance(scheme["identifier"], int) and 0 <= scheme["identifier"] < 2**15
    assert scheme["extendable"] is True
    assert scheme["iteration_exponent"] == 0
    assert scheme["group_threshold"] == 2
    assert scheme["passphrase_protected"] is False
    groups = [{k: g[k] for k in ("index", "name", "member_threshold", "member_count")} for g in scheme["groups"]]
    assert groups == [
        {"index": 0, "name": "Board", "member_threshold": 2, "member_count": 3},
        {"index": 1, "name": "Officers", "member_threshold": 3, "member_count": 5},
        {"index": 2, "name": "Escrow", "member_threshold": 1, "member_count": 1},
    ]

    shares = manifest["shares"]
    assert len(shares) == 9
    for entry in shares:
        assert {"group_index", "member_index", "custodian", "share_fingerprint", "file", "wrapping"} <= entry.keys()
        assert entry["wrapping"] is None
    assert sorted((s["group_index"], s["member_index"]) for s in shares) == (
        [(0, m) for m in range(3)] + [(1, m) for m in range(5)] + [(2, 0)]
    )
    fingerprints = set()
    for entry in shares:
        path = vault / entry["file"]
        assert path.is_file(), entry["file"]
        assert path.parent == vault / "shares"
        assert mode(path) == 0o600, f"{entry['file']}: mode {oct(mode(path))}"
        words = share_words(path)
        assert entry["share_fingerprint"] == share_fingerprint(words)
        fingerprints.add(entry["share_fingerprint"])
        parsed = shamir_mnemonic.Share.from_mnemonic(" ".join(words))
        assert (parsed.group_index, parsed.index) == (entry["group_index"], entry["member_index"])
        assert parsed.identifier == scheme["identifier"]
        assert parsed.group_threshold == 2 and parsed.group_count == 3
    assert len(fingerprints) == 9
    assert sorted(p.name for p in (vault / "shares").iterdir()) == sorted(Path(s["file"]).name for s in shares)

    assert isinstance(manifest["policy"]["drill_interval_days"], int)
    assert manifest["policy"]["drill_interval_days"] > 0

    assert mode(vault) == 0o700, oct(mode(vault))
    assert mode(vault / "shares") == 0o700, oct(mode(vault / "shares"))
    assert not [p for p in tree(tmp_path) if "staging" in p]


def test_two_level_recover_escrow_plus_board_and_with_surplus(cli, tmp_path):
    manifest = two_level(cli, tmp_path, "v", "--generate", "256")
    fingerprint = manifest["secret"]["secret_fingerprint"]

    run = cli("recover", "v/shares/group3-share1.txt", "v/shares/group1-share1.txt", "v/shares/group1-share3.txt",
              "--manifest", "v/manifest.json")
    assert_ok(run)
    assert fingerprint in run.stdout

    everything = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "v/shares").glob("*.txt"))
    assert len(everything) == 9
    run = cli("recover", *everything, "--manifest", "v/manifest.json", "--json")
    assert_ok(run)
    result = run.json()
    assert result["secret_fingerprint"] == fingerprint
    assert result["matches_manifest"] is True

    # Officers (3 of 5) + Escrow, without the manifest: fingerprints of the candidates.
    run = cli("recover", "v/shares/group2-share2.txt", "v/shares/group2-share4.txt", "v/shares/group2-share5.txt",
              "v/shares/group3-share1.txt")
    assert_ok(run)
    assert fingerprint in run.stdout


# --------------------------------------------------------------------------- secret sources


def test_secret_file_hex(cli, tmp_path):
    (tmp_path / "secret.hex").write_text(BIP32_SEED_HEX + "\n")
    manifest = split(cli, tmp_path, "vault", "--secret-file", "secret.hex", "--scheme", "2of3")
    assert manifest["secret"]["kind"] == "master-secret"
    assert manifest["secret"]["bits"] == 128
    assert manifest["secret"]["secret_fingerprint"] == secret_fingerprint("master-secret", bytes.fromhex(BIP32_SEED_HEX))
    assert manifest["secret"]["wallet_fingerprint"] == BIP32_SEED_FINGERPRINT

    run = cli("recover", "vault/shares/group1-share2.txt", "vault/shares/group1-share3.txt",
              "--manifest", "vault/manifest.json", "--reveal")
    assert_ok(run)
    assert revealed(run.stdout) == BIP32_SEED_HEX


def test_bip39_file_gives_the_same_words_back(cli, tmp_path, bip39_vectors):
    entropy_hex, words = next((e, m) for e, m, *_ in bip39_vectors["english"] if len(m.split()) == 24)
    (tmp_path / "seed.txt").write_text(words + "\n")
    run = cli("split", "--bip39-file", "seed.txt", "--scheme", "2of3", "--out", "vault", *FAST)
    assert_ok(run)
    # The ceremony output says plainly that a Trezor would derive another wallet.
    assert "trezor" in run.stdout.lower()
    assert "different" in run.stdout.lower()
    manifest = json.loads((tmp_path / "vault/manifest.json").read_text())
    assert manifest["secret"]["kind"] == "bip39-entropy"
    assert manifest["secret"]["bits"] == 256
    assert manifest["secret"]["secret_fingerprint"] == secret_fingerprint("bip39-entropy", bytes.fromhex(entropy_hex))

    shares = ("vault/shares/group1-share1.txt", "vault/shares/group1-share3.txt")
    run = cli("recover", *shares, "--manifest", "vault/manifest.json", "--reveal")
    assert_ok(run)
    assert revealed(run.stdout) == words

    run = cli("recover", *shares, "--manifest", "vault/manifest.json", "--reveal", "--format", "hex")
    assert_ok(run)
    assert revealed(run.stdout) == entropy_hex


def test_bip39_wallet_fingerprint_is_the_wallets(cli, tmp_path):
    (tmp_path / "seed.txt").write_text(ABANDON + "\n")
    manifest = split(cli, tmp_path, "vault", "--bip39-file", "seed.txt", "--scheme", "2of3")
    assert manifest["secret"]["kind"] == "bip39-entropy"
    assert manifest["secret"]["wallet_fingerprint"] == ABANDON_FINGERPRINT
    assert manifest["secret"]["secret_fingerprint"] == secret_fingerprint("bip39-entropy", bytes(16))


def test_secret_on_stdin_hex(cli, tmp_path):
    secret = "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7fA0B1C2D3E4F5A6B7"
    manifest = split(cli, tmp_path, "vault", "--scheme", "2of3", input=secret + "\n")
    assert manifest["secret"]["kind"] == "master-secret"
    assert manifest["secret"]["bits"] == 192
    assert manifest["secret"]["secret_fingerprint"] == secret_fingerprint("master-secret", bytes.fromhex(secret))
    run = cli("recover", "vault/shares/group1-share1.txt", "vault/shares/group1-share2.txt",
              "--manifest", "vault/manifest.json", "--reveal")
    assert_ok(run)
    assert revealed(run.stdout) == secret.lower()


def test_secret_on_stdin_bip39_words(cli, tmp_path):
    manifest = split(cli, tmp_path, "vault", "--scheme", "2of3", input=ABANDON + "\n")
    assert manifest["secret"]["kind"] == "bip39-entropy"
    assert manifest["secret"]["wallet_fingerprint"] == ABANDON_FINGERPRINT
    run = cli("recover", "vault/shares/group1-share1.txt", "vault/shares/group1-share2.txt",
              "--manifest", "vault/manifest.json", "--reveal")
    assert_ok(run)
    assert revealed(run.stdout) == ABANDON


def test_generate_sizes(cli, tmp_path):
    for bits in (128, 160, 256):
        manifest = split(cli, tmp_path, f"v{bits}", "--generate", str(bits), "--scheme", "2of3")
        assert manifest["secret"]["bits"] == bits
        assert manifest["secret"]["kind"] == "master-secret"


def test_passphrase_file_trailing_newline_is_not_part_of_it(cli, tmp_path):
    passphrase = "Correct Horse 7!"
    (tmp_path / "secret.hex").write_text(BIP32_SEED_HEX)
    (tmp_path / "pass-nl.txt").write_text(passphrase + "\n")
    (tmp_path / "pass.txt").write_text(passphrase)
    manifest = split(cli, tmp_path, "vault", "--secret-file", "secret.hex", "--scheme", "2of3",
                     "--passphrase-file", "pass-nl.txt")
    assert manifest["scheme"]["passphrase_protected"] is True
    shares = ["vault/shares/group1-share1.txt", "vault/shares/group1-share3.txt"]

    # The reference implementation agrees the passphrase has no newline.
    mnemonics = [" ".join(share_words(tmp_path / s)) for s in shares]
    assert shamir_mnemonic.combine_mnemonics(mnemonics, passphrase.encode()).hex() == BIP32_SEED_HEX

    run = cli("recover", *shares, "--manifest", "vault/manifest.json", "--passphrase-file", "pass.txt", "--reveal")
    assert_ok(run)
    assert revealed(run.stdout) == BIP32_SEED_HEX
    run = cli("recover", *shares, "--manifest", "vault/manifest.json", "--passphrase-file", "pass-nl.txt", "--json")
    assert_ok(run)
    assert run.json()["matches_manifest"] is True


def test_passphrase_protected_vault_without_passphrase_is_refused(cli, tmp_path):
    (tmp_path / "pass.txt").write_text("hunter2 hunter2\n")
    split(cli, tmp_path, "vault", "--generate", "128", "--scheme", "2of3", "--passphrase-file", "pass.txt")
    run = cli("recover", "vault/shares/group1-share1.txt", "vault/shares/group1-share3.txt",
              "--manifest", "vault/manifest.json", "--reveal")
    assert run.returncode in (1, 3)
    assert_error(run, run.returncode, "passphrase")


# --------------------------------------------------------------------------- interoperability


def test_coldvault_shares_combine_with_the_reference_library(cli, tmp_path):
    secret = "c0ffee00" * 8
    (tmp_path / "secret.hex").write_text(secret + "\n")
    (tmp_path / "pass.txt").write_text("TREZOR\n")
    two_level(cli, tmp_path, "v", "--secret-file", "secret.hex")
    split(cli, tmp_path, "p", "--secret-file", "secret.hex", "--scheme", "3of5", "--passphrase-file", "pass.txt",
          "--no-extendable")

    def combine(files, passphrase=b""):
        return shamir_mnemonic.combine_mnemonics(
            [" ".join(share_words(tmp_path / f)) for f in files], passphrase
        ).hex()

    assert combine(["v/shares/group3-share1.txt", "v/shares/group1-share2.txt", "v/shares/group1-share3.txt"]) == secret
    assert combine(["v/shares/group2-share1.txt", "v/shares/group2-share3.txt", "v/shares/group2-share5.txt",
                    "v/shares/group1-share1.txt", "v/shares/group1-share2.txt"]) == secret
    assert combine(["p/shares/group1-share5.txt", "p/shares/group1-share1.txt", "p/shares/group1-share4.txt"],
                   b"TREZOR") == secret


def test_reference_library_mnemonics_recovered_by_coldvault(cli, tmp_path):
    secret = bytes(range(0x30, 0x50))
    cases = [
        ("single", 1, [(2, 3)], b"", True, [(0, 0), (0, 2)]),
        ("legacy", 1, [(3, 5)], b"", False, [(0, 4), (0, 1), (0, 2)]),
        ("groups", 2, [(2, 3), (1, 1), (3, 5)], b"", True, [(1, 0), (2, 0), (2, 2), (2, 4)]),
        ("pass", 1, [(2, 3)], b"my passphrase", True, [(0, 1), (0, 2)]),
    ]
    for name, group_threshold, groups, passphrase, extendable, picks in cases:
        mnemonics = shamir_mnemonic.generate_mnemonics(
            group_threshold, groups, secret, passphrase, extendable=extendable, iteration_exponent=0
        )
        files = []
        for g, m in picks:
            path = tmp_path / f"{name}-{g}-{m}.txt"
            path.write_text(mnemonics[g][m] + "\n")
            files.append(path.name)
        extra = []
        if passphrase:
            (tmp_path / f"{name}.pass").write_text(passphrase.decode() + "\n")
            extra = ["--passphrase-file", f"{name}.pass"]
        run = cli("recover", *files, "--format", "hex", "--reveal", *extra)
        assert_ok(run)
        assert revealed(run.stdout) == secret.hex(), name


def test_official_slip39_vectors(cli, tmp_path, slip39_vectors):
    """Trezor's vectors: the valid sets recover their secret, the invalid ones exit 3 cleanly."""
    (tmp_path / "trezor.pass").write_text("TREZOR")
    for number, (description, mnemonics, secret_hex, _xprv) in enumerate(slip39_vectors, start=1):
        files = []
        for i, mnemonic in enumerate(mnemonics):
            path = tmp_path / f"vector{number}-{i}.txt"
            path.write_text(f"# {description}\n{mnemonic}\n")
            files.append(path.name)
        run = cli("recover", *files, "--format", "hex", "--reveal", "--passphrase-file", "trezor.pass")
        if secret_hex:
            assert_ok(run)
            assert revealed(run.stdout) == secret_hex, description
        else:
            assert run.returncode == 3, f"{description}: exit {run.returncode}\n{run.stderr}"
            assert run.stderr.startswith("error:") or "\nerror:" in run.stderr, description
            assert "Traceback" not in run.stderr, description
            assert run.stdout == "", description


# --------------------------------------------------------------------------- --out FILE


def test_recover_out_file_mode_0600_and_never_overwritten(cli, tmp_path):
    (tmp_path / "secret.hex").write_text(BIP32_SEED_HEX)
    split(cli, tmp_path, "vault", "--secret-file", "secret.hex", "--scheme", "2of3")
    shares = ("vault/shares/group1-share1.txt", "vault/shares/group1-share2.txt")

    run = cli("recover", *shares, "--manifest", "vault/manifest.json", "--out", "recovered.txt")
    assert_ok(run)
    out = tmp_path / "recovered.txt"
    assert mode(out) == 0o600, oct(mode(out))
    assert out.read_text().strip() == BIP32_SEED_HEX
    assert BIP32_SEED_HEX not in run.stdout  # written, not shown

    (tmp_path / "existing.txt").write_text("keep me\n")
    before = tree(tmp_path)
    run = cli("recover", *shares, "--manifest", "vault/manifest.json", "--out", "existing.txt")
    assert_error(run, 5, "existing.txt")
    assert (tmp_path / "existing.txt").read_text() == "keep me\n"
    assert_nothing_left(tmp_path, before)

    run = cli("recover", *shares, "--manifest", "vault/manifest.json", "--out", "recovered.txt", "--reveal")
    assert_error(run, 5, "recovered.txt")
    assert out.read_text().strip() == BIP32_SEED_HEX


# --------------------------------------------------------------------------- errors


@pytest.fixture
def vault(cli, tmp_path):
    """A 2of3 split of a known 256-bit secret, in tmp_path/vault."""
    secret = "5eed" * 16
    (tmp_path / "secret.hex").write_text(secret + "\n")
    manifest = split(cli, tmp_path, "vault", "--secret-file", "secret.hex", "--scheme", "2of3")
    return {"secret": secret, "manifest": manifest}


def _write_share(path: Path, words: list[str]) -> None:
    path.write_text("# a share\n" + " ".join(words) + "\n")


def test_mistyped_word_names_file_position_and_nearest_word(cli, tmp_path, vault):
    words = share_words(tmp_path / "vault/shares/group1-share1.txt")
    position = next(i for i, w in enumerate(words) if i >= 4 and len(w) >= 6)
    typo = words[position][:-1]  # shares its unique 4-letter prefix with one word only
    assert typo not in SLIP39_WORDS
    bad = list(words)
    bad[position] = typo
    _write_share(tmp_path / "typo.txt", bad)
    before = tree(tmp_path)
    run = cli("recover", "typo.txt", "vault/shares/group1-share2.txt", "--manifest", "vault/manifest.json")
    first = assert_error(run, 3, "typo.txt").splitlines()[0]
    assert f"word {position + 1}" in first
    assert words[position] in run.stderr  # the nearest valid word
    assert_nothing_left(tmp_path, before)


def test_valid_word_substitution_fails_the_checksum(cli, tmp_path, vault):
    words = share_words(tmp_path / "vault/shares/group1-share2.txt")
    position = 9
    bad = list(words)
    bad[position] = next(w for w in WORDLIST if w != words[position] and w[0] != words[position][0])
    _write_share(tmp_path / "swapped.txt", bad)
    before = tree(tmp_path)
    run = cli("recover", "vault/shares/group1-share1.txt", "swapped.txt", "--manifest", "vault/manifest.json")
    stderr = assert_error(run, 3, "swapped.txt", "checksum")
    assert f"word {position + 1}" in stderr
    assert words[position] in stderr  # one wrong word has one fix: RS1024 can name it
    assert_nothing_left(tmp_path, before)


def test_shares_of_two_splits_are_not_mixed(cli, tmp_path, vault):
    for attempt in range(5):
        other = split(cli, tmp_path, f"other{attempt}", "--generate", "256", "--scheme", "2of3")
        if other["scheme"]["identifier"] != vault["manifest"]["scheme"]["identifier"]:
            break
    before = tree(tmp_path)
    mine, theirs = "vault/shares/group1-share1.txt", f"other{attempt}/shares/group1-share2.txt"
    run = cli("recover", mine, theirs)
    assert_error(run, 3, mine, theirs)
    run = cli("recover", mine, theirs, "--manifest", "vault/manifest.json", "--out", "secret.out")
    assert_error(run, 3, theirs)
    assert_nothing_left(tmp_path, before)


def test_too_few_shares_says_what_is_missing_per_group(cli, tmp_path):
    two_level(cli, tmp_path, "v", "--generate", "128")
    before = tree(tmp_path)
    run = cli("recover", "v/shares/group1-share1.txt", "v/shares/group2-share1.txt", "v/shares/group2-share4.txt",
              "--manifest", "v/manifest.json")
    stderr = assert_error(run, 3, "too few")
    for group in ("group 1", "group 2", "group 3"):
        assert group in stderr
    # Board has 1 of 2, Officers 2 of 3: each needs one more.
    assert re.search(r"group 1[^\n]*1 more", stderr), stderr
    assert re.search(r"group 2[^\n]*1 more", stderr), stderr
    assert_nothing_left(tmp_path, before)


def test_too_few_shares_single_group(cli, tmp_path, vault):
    run = cli("recover", "vault/shares/group1-share3.txt", "--manifest", "vault/manifest.json", "--reveal")
    assert_error(run, 3, "too few", "1 more")
    assert vault["secret"] not in run.stderr


def test_duplicate_share_is_reported_and_ignored(cli, tmp_path, vault):
    (tmp_path / "copy.txt").write_text((tmp_path / "vault/shares/group1-share1.txt").read_text())
    run = cli("recover", "vault/shares/group1-share1.txt", "copy.txt", "vault/shares/group1-share2.txt",
              "--manifest", "vault/manifest.json")
    assert_ok(run)
    assert "ignored" in run.stderr.lower() and "copy.txt" in run.stderr
    assert vault["manifest"]["secret"]["secret_fingerprint"] in run.stdout

    # The same file twice is one share: still not a quorum.
    before = tree(tmp_path)
    run = cli("recover", "vault/shares/group1-share1.txt", "vault/shares/group1-share1.txt",
              "--manifest", "vault/manifest.json")
    assert_error(run, 3, "too few", first_line=False)
    assert "ignored" in run.stderr.lower()
    assert_nothing_left(tmp_path, before)


def test_wrong_passphrase_is_caught_by_fingerprint(cli, tmp_path):
    secret = "ab" * 32
    (tmp_path / "secret.hex").write_text(secret)
    (tmp_path / "right.txt").write_text("right passphrase\n")
    (tmp_path / "wrong.txt").write_text("wrong passphrase\n")
    split(cli, tmp_path, "vault", "--secret-file", "secret.hex", "--scheme", "2of3", "--passphrase-file", "right.txt")
    before = tree(tmp_path)
    run = cli("recover", "vault/shares/group1-share1.txt", "vault/shares/group1-share2.txt",
              "--manifest", "vault/manifest.json", "--passphrase-file", "wrong.txt",
              "--reveal", "--out", "secret.out")
    stderr = assert_error(run, 1)
    assert any(line.startswith("hint:") and "passphrase" in line for line in stderr.splitlines()), stderr
    assert secret not in (run.stdout + run.stderr).lower()
    assert_nothing_left(tmp_path, before)  # no secret.out

    run = cli("recover", "vault/shares/group1-share1.txt", "vault/shares/group1-share2.txt",
              "--manifest", "vault/manifest.json", "--passphrase-file", "wrong.txt", "--json")
    assert_error(run, 1, "passphrase")


def test_split_refuses_an_existing_non_empty_output_directory(cli, tmp_path):
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault/notes.txt").write_text("precious\n")
    before = tree(tmp_path)
    run = cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault", *FAST)
    assert_error(run, 5, "vault")
    assert (tmp_path / "vault/notes.txt").read_text() == "precious\n"
    assert sorted(os.listdir(tmp_path / "vault")) == ["notes.txt"]
    assert_nothing_left(tmp_path, before)


def test_split_into_an_existing_empty_directory(cli, tmp_path):
    (tmp_path / "vault").mkdir()
    manifest = split(cli, tmp_path, "vault", "--generate", "128", "--scheme", "2of3")
    assert len(manifest["shares"]) == 3
    assert mode(tmp_path / "vault") == 0o700


def test_unreadable_share_file(cli, tmp_path, vault):
    locked = tmp_path / "locked.txt"
    locked.write_text((tmp_path / "vault/shares/group1-share1.txt").read_text())
    locked.chmod(0)
    try:
        with open(locked):
            readable = True  # root: chmod 000 does not block reads
    except PermissionError:
        readable = False
    target = "locked.txt"
    if readable:
        (tmp_path / "a-directory.txt").mkdir()
        target = "a-directory.txt"
    before = tree(tmp_path)
    run = cli("recover", target, "vault/shares/group1-share2.txt", "--manifest", "vault/manifest.json")
    assert_error(run, 3, target)
    assert_nothing_left(tmp_path, before)
    locked.chmod(0o600)


def test_missing_share_file(cli, tmp_path, vault):
    before = tree(tmp_path)
    run = cli("recover", "vault/shares/group1-share1.txt", "nowhere/share9.txt", "--manifest", "vault/manifest.json")
    assert_error(run, 3, "nowhere/share9.txt")
    assert_nothing_left(tmp_path, before)


def test_non_ascii_passphrase_refused_before_any_output(cli, tmp_path):
    (tmp_path / "pass.txt").write_text("Sésame ouvre-toi\n", encoding="utf-8")
    before = tree(tmp_path)
    run = cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault", *FAST, "--passphrase-file", "pass.txt")
    assert_error(run, 3, "passphrase")
    assert not (tmp_path / "vault").exists()
    assert_nothing_left(tmp_path, before)


@pytest.mark.parametrize(
    "scheme_args",
    [
        ("--scheme", "1of3"),
        ("--scheme", "3of2"),
        ("--scheme", "0of2"),
        ("--scheme", "two of three"),
        ("--group-threshold", "2", *[arg for _ in range(17) for arg in ("--group", "1of1")]),
        ("--group-threshold", "3", "--group", "2of3", "--group", "2of3"),
        ("--group-threshold", "2", "--group", "2of3", "--group", "2of17"),
    ],
    ids=["1of3", "3of2", "0of2", "words", "17-groups", "threshold-above-groups", "17-members"],
)
def test_bad_scheme_refused_before_anything_is_written(cli, tmp_path, scheme_args):
    before = tree(tmp_path)
    run = cli("split", "--generate", "128", *scheme_args, "--out", "vault", *FAST)
    assert_error(run, 3)
    assert_nothing_left(tmp_path, before)


@pytest.mark.parametrize(
    "args",
    [
        ("--generate", "128", "--secret-file", "secret.hex"),
        ("--bip39-file", "seed.txt", "--secret-file", "secret.hex"),
        ("--generate", "100"),
        ("--generate", "512"),
        ("--generate", "136"),
        ("--secret-file", "short.hex"),
        ("--secret-file", "odd.hex"),
        ("--secret-file", "missing.hex"),
        ("--bip39-file", "badsum.txt"),
    ],
    ids=["generate+file", "bip39+file", "generate-100", "generate-512", "generate-136",
         "secret-15-bytes", "secret-odd-bytes", "missing-secret-file", "bip39-checksum"],
)
def test_bad_secret_source_refused_before_anything_is_written(cli, tmp_path, args):
    (tmp_path / "secret.hex").write_text("11" * 16)
    (tmp_path / "short.hex").write_text("11" * 15)
    (tmp_path / "odd.hex").write_text("11" * 17)
    (tmp_path / "seed.txt").write_text(ABANDON)
    (tmp_path / "badsum.txt").write_text(" ".join(["abandon"] * 12))
    before = tree(tmp_path)
    run = cli("split", *args, "--scheme", "2of3", "--out", "vault", *FAST)
    assert_error(run, 3)
    assert_nothing_left(tmp_path, before)


@pytest.mark.parametrize("exponent", ["16", "-1"])
def test_iteration_exponent_out_of_range(cli, tmp_path, exponent):
    before = tree(tmp_path)
    run = cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault", "--iteration-exponent", exponent)
    assert_error(run, 3, "iteration exponent")
    assert_nothing_left(tmp_path, before)


def test_split_output_that_cannot_be_a_new_directory(cli, tmp_path):
    (tmp_path / "afile").write_text("x\n")
    before = tree(tmp_path)
    assert_error(cli("split", "--generate", "128", "--scheme", "2of3", "--out", "afile", *FAST), 5, "afile")
    assert_error(cli("split", "--generate", "128", "--scheme", "2of3", "--out", "no/such/dir", *FAST), 5)
    assert (tmp_path / "afile").read_text() == "x\n"
    assert_nothing_left(tmp_path, before)


def test_format_bip39_with_a_master_secret_manifest(cli, tmp_path, vault):
    before = tree(tmp_path)
    run = cli("recover", "vault/shares/group1-share1.txt", "vault/shares/group1-share2.txt",
              "--manifest", "vault/manifest.json", "--format", "bip39", "--reveal", "--out", "secret.out")
    assert_error(run, 3, "bip-39")
    assert vault["secret"] not in run.stderr
    assert_nothing_left(tmp_path, before)


def test_recover_without_shares_is_an_error(cli, tmp_path):
    run = cli("recover")
    assert_error(run, 3)


# --------------------------------------------------------------------------- inspect


def test_inspect_shows_the_header_and_no_word(cli, tmp_path):
    manifest = two_level(cli, tmp_path, "v", "--generate", "256")
    other = split(cli, tmp_path, "w", "--generate", "256", "--group-threshold", "2",
                  "--group", "2of3", "--group", "3of5", "--group", "1of1")
    entry = next(s for s in manifest["shares"] if (s["group_index"], s["member_index"]) == (1, 2))
    path = f"v/{entry['file']}"
    words = share_words(tmp_path / path)

    run = cli("inspect", path)
    assert_ok(run)
    out = run.stdout
    assert str(manifest["scheme"]["identifier"]) in out
    assert entry["share_fingerprint"] in out
    assert "group 2" in out.lower()  # 1-based, as a person reads it
    assert "share 3" in out.lower()
    assert re.search(r"\b3\b", out) and re.search(r"\b2\b", out)  # thresholds
    assert " ".join(words) not in out
    for i in range(len(words) - 1):
        assert " ".join(words[i:i + 2]) not in out

    # Words of this share in the output must be the output's fixed wording, which a
    # share of another vault (different words) also shows.
    other_entry = next(s for s in other["shares"] if (s["group_index"], s["member_index"]) == (1, 2))
    other_run = cli("inspect", f"w/{other_entry['file']}")
    assert_ok(other_run)
    tokens = set(re.findall(r"[a-z]+", out.lower().replace(path, "")))
    other_tokens = set(re.findall(r"[a-z]+", other_run.stdout.lower().replace(f"w/{other_entry['file']}", "")))
    leaked = (tokens & set(words)) - other_tokens
    assert not leaked, f"share words in inspect output: {leaked}"

    run = cli("inspect", path, "--json")
    assert_ok(run)
    info = run.json()
    assert info["identifier"] == manifest["scheme"]["identifier"]
    assert info["share_fingerprint"] == entry["share_fingerprint"]
    assert (info["group_index"], info["member_index"]) == (1, 2)
    assert info["group_threshold"] == 2
    assert info["member_threshold"] == 3
    text = json.dumps(info)
    for i in range(len(words) - 1):
        assert " ".join(words[i:i + 2]) not in text


def test_inspect_bad_share_is_exit_3(cli, tmp_path, vault):
    words = share_words(tmp_path / "vault/shares/group1-share1.txt")
    _write_share(tmp_path / "short.txt", words[:-1])
    assert_error(cli("inspect", "short.txt"), 3, "short.txt")
    assert_error(cli("inspect", "missing.txt"), 3, "missing.txt")


# --------------------------------------------------------------------------- interactive entry


def test_interactive_whole_shares_with_a_duplicate(cli, tmp_path):
    manifest = two_level(cli, tmp_path, "v", "--generate", "256")
    lines = [
        " ".join(share_words(tmp_path / "v/shares/group1-share2.txt")),
        " ".join(share_words(tmp_path / "v/shares/group1-share2.txt")),  # typed twice
        " ".join(share_words(tmp_path / "v/shares/group3-share1.txt")),
        " ".join(share_words(tmp_path / "v/shares/group1-share3.txt")),
    ]
    run = cli("recover", "--interactive", "--manifest", "v/manifest.json", input="\n".join(lines) + "\n")
    assert_ok(run)
    assert manifest["secret"]["secret_fingerprint"] in run.stdout
    stderr = run.stderr.lower()
    assert re.search(r"already|duplicate", stderr), run.stderr
    # progress per group, on stderr
    assert "group 1" in stderr and "group 3" in stderr
    assert re.search(r"1 more", stderr), run.stderr
    # prompts are not the payload
    assert "word 1" not in run.stdout.lower()
    assert "share 1:" not in run.stdout.lower()


def test_interactive_word_by_word_with_prefixes_and_a_typo(cli, tmp_path, vault):
    first = share_words(tmp_path / "vault/shares/group1-share1.txt")
    second = share_words(tmp_path / "vault/shares/group1-share3.txt")
    position = next(i for i, w in enumerate(first) if i >= 2 and len(w) >= 6)
    typo = first[position][:-1] + ("q" if first[position][-1] != "q" else "x")
    assert typo not in SLIP39_WORDS
    lines = []
    for i, word in enumerate(first):
        if i == position:
            lines.append(typo)  # rejected, then typed again
        lines.append(word[:4])
    lines += [word[:4] for word in second]
    run = cli("recover", "--interactive", "--manifest", "vault/manifest.json", "--json", input="\n".join(lines) + "\n")
    assert_ok(run)
    result = json.loads(run.stdout)  # prompts went to stderr: stdout is the payload alone
    assert result["secret_fingerprint"] == vault["manifest"]["secret"]["secret_fingerprint"]
    assert result["matches_manifest"] is True
    assert typo in run.stderr
    assert first[position] in run.stderr  # nearest suggestion or completion shown
    assert "group 1" in run.stderr.lower()
    assert vault["secret"] not in run.stdout + run.stderr


def test_interactive_input_ends_before_a_quorum(cli, tmp_path, vault):
    line = " ".join(share_words(tmp_path / "vault/shares/group1-share1.txt"))
    before = tree(tmp_path)
    run = cli("recover", "--interactive", "--manifest", "vault/manifest.json", input=line + "\n")
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert run.stdout == ""
    assert "too few" in run.stderr.lower()
    assert "1 more" in run.stderr.lower()
    assert_nothing_left(tmp_path, before)


def test_interactive_end_of_input_error_is_its_own_line(cli, tmp_path, vault):
    line = " ".join(share_words(tmp_path / "vault/shares/group1-share1.txt"))
    run = cli("recover", "--interactive", "--manifest", "vault/manifest.json", input=line + "\n")
    assert_error(run, 3, "too few", first_line=False)


def test_interactive_correct_a_word_by_number(cli, tmp_path, vault):
    first = share_words(tmp_path / "vault/shares/group1-share1.txt")
    second = share_words(tmp_path / "vault/shares/group1-share2.txt")
    position = 9
    wrong = list(first)
    wrong[position] = next(w for w in WORDLIST if w != first[position])
    # Checked at its last word (the manifest gives the length): no empty line needed.
    lines = [" ".join(wrong), str(position + 1), first[position][:4], " ".join(second)]
    run = cli("recover", "--interactive", "--manifest", "vault/manifest.json", input="\n".join(lines) + "\n")
    assert_ok(run)
    assert vault["manifest"]["secret"]["secret_fingerprint"] in run.stdout
    assert f"word {position + 1}" in run.stderr
    assert "checksum" in run.stderr.lower()


def test_interactive_share_of_another_vault_is_refused_as_it_is_typed(cli, tmp_path, vault):
    for attempt in range(5):
        other = split(cli, tmp_path, f"other{attempt}", "--generate", "256", "--scheme", "2of3")
        if other["scheme"]["identifier"] != vault["manifest"]["scheme"]["identifier"]:
            break
    lines = [
        " ".join(share_words(tmp_path / f"other{attempt}/shares/group1-share1.txt")),
        " ".join(share_words(tmp_path / "vault/shares/group1-share1.txt")),
        " ".join(share_words(tmp_path / "vault/shares/group1-share2.txt")),
    ]
    run = cli("recover", "--interactive", "--manifest", "vault/manifest.json", input="\n".join(lines) + "\n")
    assert "not a share of this vault" in run.stderr
    assert_ok(run)
    assert vault["manifest"]["secret"]["secret_fingerprint"] in run.stdout


# --------------------------------------------------------------------------- help


def test_help_lists_commands_and_flags(cli):
    run = cli("--help")
    assert_ok(run)
    for command in ("split", "recover", "inspect"):
        assert re.search(rf"\b{command}\b", run.stdout), command

    run = cli("split", "--help")
    assert_ok(run)
    for flag in ("--group-threshold", "--group", "--scheme", "--out", "--generate", "--bip39-file", "--secret-file",
                 "--passphrase-file", "--iteration-exponent", "--extendable", "--no-extendable", "--json"):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", run.stdout), flag

    run = cli("recover", "--help")
    assert_ok(run)
    for flag in ("--interactive", "--manifest", "--passphrase-file", "--format", "--out", "--reveal", "--json"):
        assert flag in run.stdout, flag

    run = cli("inspect", "--help")
    assert_ok(run)
    assert "--json" in run.stdout


def test_usage_error_is_exit_2_without_traceback(cli):
    run = cli("split", "--no-such-flag")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr + run.stdout
