"""The bad-input catalogue (docs/bad-inputs.md): the rows no other test already proves.

Each test gives coldvault, through the real CLI in a subprocess, something a person
or a file can get wrong, and checks what that person would see: the exit code, an
`error:` line naming the file, share, word or plan line, no traceback, no secret, and
nothing written. Odd inputs that must be accepted (capitals, extra white space,
comment lines, a Windows editor's line endings) are here too.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import shamir_mnemonic
from conftest import Run, run_cli, softhsm_kit, softhsm_module
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FAST = ("--iteration-exponent", "0")
SECRET_HEX = "5eed" * 8  # 128 bits: shares of 20 words
PASSPHRASE = "Correct Horse 7!"
ABANDON = " ".join(["abandon"] * 11 + ["about"])
ABANDON_WALLET_FINGERPRINT = "73c5da0a"  # the master fingerprint wallets show for "abandon ... about"
ONE_MIB = 1 << 20  # docs/formats.md: input files larger than 1 MiB are refused
ESC = "\x1b"


# --------------------------------------------------------------------------- helpers


def error_line(run: Run) -> str:
    return next((line for line in run.stderr.splitlines() if line.startswith("error: ")), "")


def assert_refused(run: Run, code: int, names: str, *says: str) -> str:
    """Exit `code`; an `error:` line naming `names`; every `says` on stderr; no traceback; nothing on stdout."""
    detail = f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.returncode == code, detail
    assert "Traceback" not in run.stdout + run.stderr, detail
    assert run.stdout.strip() == "", detail
    assert names in error_line(run), detail
    for said in says:
        assert said in run.stderr, f"{said!r} not said\n{detail}"
    return run.stderr


def assert_ok(run: Run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert "Traceback" not in run.stdout + run.stderr


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes), directory and symbolic link under `root`, hidden ones included."""
    found: dict[str, bytes | None] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            relative = str(path.relative_to(root))
            if path.is_symlink():
                found[relative] = f"-> {os.readlink(path)}".encode()
            elif path.is_file():
                found[relative] = path.read_bytes()
            else:
                found[relative] = None
    return found


def share_words(path: Path) -> list[str]:
    return [word for line in path.read_text().splitlines() if not line.lstrip().startswith("#") for word in line.split()]


@dataclass(frozen=True)
class Split:
    """A 2-of-3 split of SECRET_HEX made by `coldvault split`, outside the tests' working directories."""

    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    def share(self, member: int) -> Path:
        return self.root / "shares" / f"group1-share{member}.txt"

    def words(self, member: int) -> list[str]:
        return share_words(self.share(member))

    def fingerprint(self) -> str:
        return json.loads(self.manifest.read_text())["secret"]["secret_fingerprint"]


def make_split(work: Path, name: str, *args: str) -> Split:
    (work / "secret.hex").write_text(SECRET_HEX + "\n")
    made = run_cli(work, "split", "--secret-file", "secret.hex", "--scheme", "2of3", "--out", name, *FAST, *args)
    assert_ok(made)
    return Split(work / name)


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Split:
    return make_split(tmp_path_factory.mktemp("split"), "plain")


@pytest.fixture(scope="module")
def protected(tmp_path_factory) -> Split:
    """The same secret split with PASSPHRASE, given in a file with a trailing newline."""
    work = tmp_path_factory.mktemp("protected")
    (work / "pass.txt").write_text(PASSPHRASE + "\n")
    return make_split(work, "protected", "--passphrase-file", "pass.txt")


@pytest.fixture
def template(cli, tmp_path) -> str:
    """The plan `coldvault ceremony init` writes (a 2-of-3 on paper, a generated secret), as text."""
    assert_ok(cli("ceremony", "init", "template.toml"))
    text = (tmp_path / "template.toml").read_text()
    (tmp_path / "template.toml").unlink()
    return text


def edit(text: str, old: str, new: str) -> str:
    assert old in text, f"the template has no {old!r}"
    return text.replace(old, new, 1)


# --------------------------------------------------------------------------- share words and share files


def _bip39_mnemonic(split: Split) -> tuple[str | bytes, list[str]]:
    return ABANDON + "\n", ['word 1 ("abandon") is not in the SLIP-39 word list', "BIP-39 mnemonic"]


def _a_word_too_many(split: Split) -> tuple[str | bytes, list[str]]:
    words = split.words(1)
    return " ".join(words + words[:1]) + "\n", ["the share has 21 words"]


def _two_shares_in_one_file(split: Split) -> tuple[str | bytes, list[str]]:
    return " ".join(split.words(1)) + "\n" + " ".join(split.words(2)) + "\n", ["the share has 40 words"]


def _empty(split: Split) -> tuple[str | bytes, list[str]]:
    return "", ["no share words found"]


def _only_comments(split: Split) -> tuple[str | bytes, list[str]]:
    return "# custodian: Alice\n# group 1 of 1: share 1 of 3\n", ["no share words found"]


def _commas(split: Split) -> tuple[str | bytes, list[str]]:
    words = split.words(1)
    return ", ".join(words) + "\n", [f'word 1 ("{words[0]},") is not in the SLIP-39 word list', f"nearest: {words[0]}"]


def _look_alike_letter(split: Split) -> tuple[str | bytes, list[str]]:
    words = split.words(1)
    position = next(i for i, word in enumerate(words) if "a" in word)
    words[position] = words[position].replace("a", "\u0430", 1)  # Cyrillic a
    return " ".join(words) + "\n", [f"word {position + 1} ", "not in the SLIP-39 word list"]


def _terminal_escape(split: Split) -> tuple[str | bytes, list[str]]:
    words = split.words(1)
    words[2] = words[2][:2] + ESC + "[2J" + ESC + "[8m" + words[2][2:]  # clear the screen, then hide what follows
    return " ".join(words) + "\n", ["word 3 ", "not in the SLIP-39 word list"]


def _utf16(split: Split) -> tuple[str | bytes, list[str]]:
    return b"\xff\xfe" + " ".join(split.words(1)).encode("utf-16-le"), ["not UTF-8 text"]


REFUSED_SHARE_TEXT = {
    "bip39-mnemonic": _bip39_mnemonic,
    "a-word-too-many": _a_word_too_many,
    "two-shares-in-one-file": _two_shares_in_one_file,
    "empty": _empty,
    "only-comments": _only_comments,
    "commas": _commas,
    "look-alike-letter": _look_alike_letter,
    "terminal-escape": _terminal_escape,
    "not-utf8": _utf16,
}


@pytest.mark.parametrize("case", list(REFUSED_SHARE_TEXT))
def test_a_share_file_that_is_not_one_share_is_refused_naming_it(cli, tmp_path, split, case):
    content, says = REFUSED_SHARE_TEXT[case](split)
    (tmp_path / "bad.txt").write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    before = tree(tmp_path)
    for run in (cli("inspect", "bad.txt"), cli("recover", "bad.txt", split.share(2), "--manifest", split.manifest)):
        stderr = assert_refused(run, 3, "bad.txt", *says)
        assert ESC not in stderr, "a control character from the file reached the terminal"
        assert " ".join(split.words(2)[:4]) not in stderr
    assert tree(tmp_path) == before


def _capitals(words: list[str]) -> str:
    return " ".join(word.upper() if i % 2 else word.title() for i, word in enumerate(words)) + "\n"


def _white_space(words: list[str]) -> str:
    return "\n\n  " + "\t \n".join("   ".join(words[i:i + 3]) for i in range(0, len(words), 3)) + "  \n\n\n"


def _comments(words: list[str]) -> str:
    half = len(words) // 2
    return ("# coldvault SLIP-39 share\n   # custodian: Alice (an indented comment)\n"
            + " ".join(words[:half]) + "\n# a comment between the lines of words\n" + " ".join(words[half:]) + "\n# the end\n")


def _windows_editor(words: list[str]) -> bytes:
    return b"\xef\xbb\xbf# saved by Notepad\r\n" + " ".join(words).encode() + b"\r\n"


ACCEPTED_SHARE_TEXT = {
    "capitals": _capitals,
    "extra-white-space-and-line-breaks": _white_space,
    "comment-lines": _comments,
    "crlf-and-byte-order-mark": _windows_editor,
}


@pytest.mark.parametrize("case", list(ACCEPTED_SHARE_TEXT))
def test_odd_but_valid_share_text_is_accepted(cli, tmp_path, split, case):
    text = ACCEPTED_SHARE_TEXT[case](split.words(1))
    (tmp_path / "odd.txt").write_bytes(text if isinstance(text, bytes) else text.encode())
    run = cli("recover", "odd.txt", split.share(2), "--manifest", split.manifest, "--json")
    assert_ok(run)
    assert run.json()["matches_manifest"] is True
    assert "not listed" not in run.stderr  # the words parsed to the very share the manifest lists


# --------------------------------------------------------------------------- sets of shares


def reference_mnemonics(member_threshold: int, member_count: int) -> list[str]:
    """One group of shares of SECRET_HEX under the fixed identifier 4242, from Trezor's reference
    library: each call draws a new polynomial, as a split made again would."""
    encrypted = shamir_mnemonic.EncryptedMasterSecret.from_master_secret(bytes.fromhex(SECRET_HEX), b"", 4242, True, 0)
    return [share.mnemonic() for share in shamir_mnemonic.split_ems(1, [(member_threshold, member_count)], encrypted)[0]]


SET_MISFITS = {
    # id: (the second share, given a first split's shares a and a second split's b; what the error names; what it says)
    "two-shares-claim-one-member": (lambda a, b: b[0], "second.txt", "is share 1 of group 1 of 1 like first.txt, but the words differ"),
    "shares-of-a-split-made-again": (lambda a, b: b[1], "group 1 of 1", "the shares do not combine"),
    "another-member-threshold": (lambda a, b: reference_mnemonics(3, 5)[1], "second.txt", "needs 3 shares, but first.txt says 2"),
}


@pytest.mark.parametrize("case", list(SET_MISFITS))
def test_shares_that_do_not_belong_together_are_refused(cli, tmp_path, case):
    pick, names, says = SET_MISFITS[case]
    first, again = reference_mnemonics(2, 3), reference_mnemonics(2, 3)
    (tmp_path / "first.txt").write_text(first[0] + "\n")
    (tmp_path / "second.txt").write_text(pick(first, again) + "\n")
    before = tree(tmp_path)
    run = cli("recover", "first.txt", "second.txt", "--format", "hex", "--reveal")
    assert_refused(run, 3, names, says)
    assert SECRET_HEX not in run.stdout + run.stderr
    assert tree(tmp_path) == before


# --------------------------------------------------------------------------- passphrases and secrets


@pytest.mark.parametrize("content", [
    PASSPHRASE.encode() + b"\r\n", b"\xef\xbb\xbf" + PASSPHRASE.encode() + b"\n", PASSPHRASE.encode(),
], ids=["crlf", "byte-order-mark", "no-final-newline"])
def test_a_passphrase_file_from_another_editor_is_the_same_passphrase(cli, tmp_path, protected, content):
    (tmp_path / "pass.txt").write_bytes(content)
    run = cli("recover", protected.share(1), protected.share(3), "--manifest", protected.manifest,
              "--passphrase-file", "pass.txt", "--json")
    assert_ok(run)
    assert run.json()["matches_manifest"] is True


def test_a_second_trailing_newline_in_a_passphrase_file_is_refused_not_used(cli, tmp_path, protected):
    (tmp_path / "pass.txt").write_text(PASSPHRASE + "\n\n")
    run = cli("recover", protected.share(1), protected.share(3), "--manifest", protected.manifest,
              "--passphrase-file", "pass.txt", "--reveal")
    assert_refused(run, 3, "pass.txt", f"character {len(PASSPHRASE) + 1} of the passphrase is not printable ASCII")
    assert PASSPHRASE not in run.stderr and SECRET_HEX not in run.stderr


def test_a_passphrase_typed_differently_the_second_time_is_refused(cli, tmp_path):
    before = tree(tmp_path)
    run = cli("split", "--generate", "128", "--scheme", "2of3", "--out", "out", *FAST, "--passphrase-prompt",
              input="correct horse\ncorrect hose\n")
    assert_refused(run, 3, "the two passphrases differ")
    assert "correct ho" not in run.stderr
    assert tree(tmp_path) == before


def test_an_empty_passphrase_file_when_the_plan_asks_for_a_passphrase_is_refused(cli, tmp_path, template):
    (tmp_path / "plan.toml").write_text(edit(template, "passphrase = false", "passphrase = true"))
    (tmp_path / "pass.txt").write_text("\n")
    before = tree(tmp_path)
    run = cli("ceremony", "run", "plan.toml", "--out", "out", "--yes", "--passphrase-file", "pass.txt")
    assert_refused(run, 3, "passphrase = true", "empty")
    assert tree(tmp_path) == before


@pytest.mark.parametrize(("words", "position", "wrong"), [
    (" ".join(["abandon"] * 10 + ["abandno", "about"]), 11, "abandno"),
    (" ".join(["\u00e1baco"] * 11 + ["abierto"]), 1, "\u00e1baco"),
], ids=["mistyped-word", "spanish-words"])
def test_a_wrong_bip39_word_is_located_but_not_repeated(cli, tmp_path, words, position, wrong):
    """The words are a secret: the error says where the wrong word is, never what it is."""
    (tmp_path / "seed.txt").write_text(words + "\n")
    before = tree(tmp_path)
    run = cli("split", "--bip39-file", "seed.txt", "--scheme", "2of3", "--out", "out", *FAST)
    assert_refused(run, 3, "seed.txt", f"word {position} is not in the English BIP-39 word list")
    assert wrong not in run.stderr
    assert tree(tmp_path) == before


def test_bip39_words_in_capitals_across_lines_are_accepted(cli, tmp_path):
    words = ABANDON.split()
    (tmp_path / "seed.txt").write_text("\n  " + " ".join(words[:6]).upper() + "\t\n" + "   ".join(words[6:]).title() + "  \n\n")
    assert_ok(cli("split", "--bip39-file", "seed.txt", "--scheme", "2of3", "--out", "out", *FAST))
    secret = json.loads((tmp_path / "out" / "manifest.json").read_text())["secret"]
    assert secret["kind"] == "bip39-entropy" and secret["wallet_fingerprint"] == ABANDON_WALLET_FINGERPRINT


# --------------------------------------------------------------------------- plans

HERE = "  # <- HERE"

PLAN_MISTAKES = {
    # id: (edit of the template, what the error must say, whether it names a line)
    "toml-key-given-twice": (lambda t: edit(t, "threshold = 2", "threshold = 2\nthreshold = 3" + HERE), ["not valid TOML"], True),
    "nested-ten-thousand-deep": (
        lambda t: edit(t, 'witnesses = ["Erin", "Frank"]', "witnesses = " + "[" * 10_000 + "]" * 10_000), ["not valid TOML"], False),
    "terminal-escape-in-a-name": (
        lambda t: edit(t, 'name = "Alice"', 'name = "Al\\u001b[2J\\u001b[8mice"' + HERE), ["printable characters"], True),
    "a-name-with-no-letter-or-digit": (  # "李" is a letter: accepted since issue 16 (tests/test_names.py)
        lambda t: edit(t, 'name = "Alice"', 'name = "!!!"' + HERE), ["needs at least one letter or digit (of any script)"], True),
    "public-key-file-that-is-not-a-key": (
        lambda t: edit(t, '  [[group.custodian]]\n  name = "Carol"\n  delivery = "paper"',
                       '  [[group.custodian]]' + HERE + '\n  name = "Carol"\n  delivery = "ecdh-p256"\n  public_key = "keys/carol.pem"'),
        ["keys/carol.pem", "not a public key"], True),
    "empty-plan": (lambda t: "", ['needs "format"'], False),
}


@pytest.mark.parametrize("case", list(PLAN_MISTAKES))
def test_a_hostile_or_odd_plan_is_refused_before_any_secret_exists(cli, tmp_path, template, case):
    mistake, says, names_a_line = PLAN_MISTAKES[case]
    text = mistake(template)
    (tmp_path / "plan.toml").write_text(text)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "carol.pem").write_text("Carol's key is on the USB stick in the safe\n")
    before = tree(tmp_path)
    run = cli("ceremony", "run", "plan.toml", "--out", "out", "--yes")
    stderr = assert_refused(run, 3, "plan.toml", *says)
    if names_a_line:
        marked = next(number for number, line in enumerate(text.splitlines(), 1) if HERE in line)
        assert f"plan.toml line {marked}:" in error_line(run), stderr
    assert ESC not in stderr
    assert tree(tmp_path) == before


def test_an_enormous_drill_interval_in_a_plan_is_refused_naming_its_line(cli, tmp_path, template):
    text = edit(template, "drill_interval_days = 180", "drill_interval_days = 100000000000" + HERE)
    (tmp_path / "plan.toml").write_text(text)
    run = cli("ceremony", "run", "plan.toml", "--out", "out", "--yes")
    marked = next(number for number, line in enumerate(text.splitlines(), 1) if HERE in line)
    assert_refused(run, 3, f"plan.toml line {marked}:", "drill_interval_days")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- manifests and envelopes (JSON)


DELETE = object()


def json_edit(path: str, value=DELETE) -> Callable[[str], str]:
    """A JSON document's text -> the same with the member at `path` ("a.b") deleted, set, or changed by `value(old)`."""
    def change(text: str) -> str:
        document = json.loads(text)
        *parents, last = path.split(".")
        target = document
        for name in parents:
            target = target[name]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value(target[last]) if callable(value) else value
        return json.dumps(document, indent=2)
    return change


MANIFEST_MISTAKES = {
    # id: (the manifest's text -> the bad text, what the error must say)
    "a-field-missing": (json_edit("scheme.identifier"), "manifest.scheme.identifier is missing"),
    "a-number-as-text": (json_edit("scheme.group_threshold", "1"), "manifest.scheme.group_threshold should be a whole number"),
    "a-newer-format": (json_edit("format", "coldvault-manifest/3"), "unknown manifest format"),
    "a-key-given-twice": (lambda t: t.replace('"format":', '"format": "coldvault-manifest/1", "format":', 1), 'appears twice'),
    "nested-a-hundred-thousand-deep": (lambda t: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "truncated": (lambda t: t[: len(t) // 2], "not JSON"),
    "upper-case-hex": (json_edit("secret.secret_fingerprint", str.upper), "should be 32 lower-case hex digits"),
    "a-number-of-ten-thousand-digits": (lambda t: t.replace('"bits": 128', '"bits": 1' + "0" * 10_000), "number too long"),
}


@pytest.mark.parametrize("case", list(MANIFEST_MISTAKES))
def test_a_damaged_or_hostile_manifest_is_refused_naming_it(cli, tmp_path, split, case):
    damage, says = MANIFEST_MISTAKES[case]
    (tmp_path / "manifest.json").write_text(damage(split.manifest.read_text()))
    before = tree(tmp_path)
    run = cli("recover", split.share(1), split.share(2), "--manifest", "manifest.json", "--reveal")
    assert_refused(run, 3, "manifest.json", says)
    assert SECRET_HEX not in run.stdout + run.stderr
    assert tree(tmp_path) == before


def test_the_manifest_of_another_vault_is_refused_naming_the_share(cli, tmp_path, split):
    mine = json.loads(split.manifest.read_text())["scheme"]["identifier"]
    for attempt in range(5):  # a new split has a random identifier: 1 in 32768 that it is the same
        assert_ok(cli("split", "--generate", "128", "--scheme", "2of3", "--out", f"other{attempt}", *FAST))
        if json.loads((tmp_path / f"other{attempt}" / "manifest.json").read_text())["scheme"]["identifier"] != mine:
            break
    run = cli("recover", split.share(1), split.share(2), "--manifest", f"other{attempt}/manifest.json", "--reveal")
    assert_refused(run, 3, "group1-share1.txt", "not a share of this vault")
    assert SECRET_HEX not in run.stdout + run.stderr


@pytest.mark.parametrize(("field", "value"), [
    pytest.param("ceremony.created", "last Tuesday", id="created-is-not-a-time"),
    pytest.param("policy.drill_interval_days", 100_000_000_000, id="an-enormous-drill-interval"),
])
def test_a_manifest_field_drill_status_cannot_use_is_refused_naming_it(cli, tmp_path, split, field, value):
    (tmp_path / "manifest.json").write_text(json_edit(field, value)(split.manifest.read_text()))
    run = cli("drill", "status", "--manifest", "manifest.json")
    assert_refused(run, 3, "manifest.json", f"manifest.{field}")


@pytest.fixture(scope="module")
def envelope(tmp_path_factory, split) -> str:
    """share 1 sealed to a software P-256 key: an envelope's text, made without any token."""
    work = tmp_path_factory.mktemp("envelope")
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    (work / "ec.pem").write_bytes(key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    assert_ok(run_cli(work, "wrap", split.share(1), "--recipient-pubkey", "ec.pem", "--manifest", split.manifest,
                      "--out", "share.envelope.json", env={"COLDVAULT_PKCS11_MODULE": "/nonexistent.so"}))
    return (work / "share.envelope.json").read_text()


ENVELOPE_MISTAKES = {
    # id: (the envelope's text -> the bad text, what the error must say)
    "a-key-given-twice": (lambda t: t.replace('"custodian":', '"custodian": "Mallory", "custodian":', 1),
                          'the key "custodian" appears twice'),
    "nested-a-hundred-thousand-deep": (
        lambda t: '{"format": "coldvault-envelope/1", "custodian": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    "upper-case-hex": (json_edit("share.share_fingerprint", str.upper), "should be 32 lower-case hex digits"),
    "url-safe-base64": (json_edit("nonce", lambda nonce: "-" + nonce[1:]), "envelope.nonce is not standard base64"),
}


@pytest.mark.parametrize("case", list(ENVELOPE_MISTAKES))
def test_a_hostile_envelope_is_refused_before_any_token_is_used(cli, tmp_path, envelope, case):
    damage, says = ENVELOPE_MISTAKES[case]
    (tmp_path / "bad.envelope.json").write_text(damage(envelope))
    run = cli("inspect", "bad.envelope.json", env={"COLDVAULT_PKCS11_MODULE": "/nonexistent.so"})
    assert_refused(run, 3, "bad.envelope.json", says)


# --------------------------------------------------------------------------- files and output paths


@dataclass(frozen=True)
class LinkCase:
    link: str
    """Where the output goes: a symbolic link to `target`."""
    target: str
    target_is: str
    """"a directory" (empty), "a file" (holding "keep me"), or "nothing" (the link dangles)."""
    args: Callable[[Split], list]
    says: str


def _recover_to(out: str) -> Callable[[Split], list]:
    return lambda s: ["recover", s.share(1), s.share(2), "--manifest", s.manifest, "--out", out]


LINKS = {
    "split-out": LinkCase("out", "elsewhere", "a directory",
                          lambda s: ["split", "--generate", "128", "--scheme", "2of3", "--out", "out", *FAST], "symbolic link"),
    "ceremony-out": LinkCase("out", "elsewhere", "a directory",
                             lambda s: ["ceremony", "run", "plan.toml", "--out", "out", "--yes"], "symbolic link"),
    "recover-out-to-a-file": LinkCase("secret.txt", "notes.txt", "a file", _recover_to("secret.txt"), "exists"),
    "recover-out-dangling": LinkCase("secret.txt", "elsewhere.txt", "nothing", _recover_to("secret.txt"), "exists"),
    "card-out-dangling": LinkCase("card.pdf", "elsewhere.pdf", "nothing", lambda s: ["card", s.share(1), "--out", "card.pdf"], "exists"),
    "drill-log": LinkCase("copy/drills.jsonl", "elsewhere.jsonl", "nothing",
                          lambda s: ["drill", "run", "--manifest", "copy/manifest.json", s.share(1), s.share(2)], "symbolic link"),
}


@pytest.mark.parametrize("case", list(LINKS))
def test_a_symbolic_link_where_an_output_goes_is_refused_and_its_target_untouched(cli, tmp_path, split, case):
    link = LINKS[case]
    assert_ok(cli("ceremony", "init", "plan.toml"))
    (tmp_path / "copy").mkdir()
    shutil.copy(split.manifest, tmp_path / "copy" / "manifest.json")
    target = tmp_path / link.target
    if link.target_is == "a directory":
        target.mkdir()
    elif link.target_is == "a file":
        target.write_text("keep me\n")
    (tmp_path / link.link).symlink_to(target)
    before = tree(tmp_path)
    run = cli(*link.args(split))
    assert_refused(run, 5, link.link, link.says)
    assert tree(tmp_path) == before  # the link, its target and everything else as they were
    assert SECRET_HEX not in run.stdout + run.stderr


def _root_without_dac_override() -> list[str]:
    """root writes into any directory whatever its mode; without CAP_DAC_OVERRIDE it is held to the mode like
    anyone else. Returns the command prefix, or skips when no read-only directory can be made here."""
    if os.geteuid() != 0:
        return []
    prefix = [shutil.which("setpriv") or "setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True)
    except FileNotFoundError:
        probe = None
    if probe is None or probe.returncode != 0:
        pytest.skip("running as root, and setpriv cannot drop CAP_DAC_OVERRIDE: a read-only directory cannot be made")
    return prefix


@pytest.mark.parametrize("command", ["split", "recover", "ceremony"])
def test_a_read_only_output_directory_is_refused_and_nothing_is_written(tmp_path, split, command):
    prefix = _root_without_dac_override()
    assert_ok(run_cli(tmp_path, "ceremony", "init", "plan.toml"))
    args = {
        "split": ["split", "--generate", "128", "--scheme", "2of3", "--out", "locked/out", *FAST],
        "recover": ["recover", split.share(1), split.share(2), "--manifest", split.manifest, "--out", "locked/secret.txt"],
        "ceremony": ["ceremony", "run", "plan.toml", "--out", "locked/out", "--yes"],
    }[command]
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    before = tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "COLDVAULT_DEBUG"}
    done = subprocess.run([*prefix, sys.executable, "-m", "vault", *map(str, args)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    locked.chmod(0o755)
    run = Run(done.returncode, done.stdout, done.stderr)
    assert_refused(run, 5, "locked")
    assert SECRET_HEX not in run.stdout + run.stderr
    assert tree(tmp_path) == before


OVERSIZED = {
    # id: (the oversized file's name, the command that reads it)
    "share-file": ("big.txt", lambda s: ["inspect", "big.txt"]),
    "envelope": ("big.envelope.json", lambda s: ["recover", "big.envelope.json", s.share(2)]),
    "manifest": ("big.json", lambda s: ["recover", s.share(1), s.share(2), "--manifest", "big.json"]),
    "passphrase-file": ("big.txt", lambda s: ["split", "--generate", "128", "--scheme", "2of3", "--out", "out",
                                              "--passphrase-file", "big.txt"]),
    "secret-file": ("big.hex", lambda s: ["split", "--secret-file", "big.hex", "--scheme", "2of3", "--out", "out"]),
    "plan": ("big.toml", lambda s: ["ceremony", "run", "big.toml", "--out", "out", "--yes"]),
}


@pytest.mark.parametrize("case", list(OVERSIZED))
def test_an_input_file_larger_than_one_mib_is_refused_naming_it(cli, tmp_path, split, case):
    name, args = OVERSIZED[case]
    (tmp_path / name).write_bytes(b"#" * (ONE_MIB + 1))
    before = tree(tmp_path)
    assert_refused(cli(*args(split)), 3, name, "larger than")
    assert tree(tmp_path) == before


# --------------------------------------------------------------------------- tokens and PINs


@pytest.fixture(scope="module")
def token_store(tmp_path_factory) -> dict[str, str]:
    """A SoftHSM2 store with one token, "alice" (PIN pin-alice-1234, no keys); returns the environment to use it."""
    if softhsm_module() is None or shutil.which("softhsm2-util") is None:
        message = "SoftHSM2 is not installed (Debian package softhsm2; `make test` installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("tokens")
    env = softhsm_kit.token_store(work)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "alice", "--pin", "pin-alice-1234",
                    "--so-pin", "so-alice-5678"], env={**os.environ, **env}, check=True, capture_output=True)
    return env


@pytest.mark.softhsm
@pytest.mark.parametrize("content", [b"pin-alice-1234\r\n", b"pin-alice-1234"], ids=["crlf", "no-final-newline"])
def test_a_pin_file_from_another_editor_is_the_same_pin(cli, tmp_path, token_store, content):
    (tmp_path / "alice.pin").write_bytes(content)
    run = cli("token", "list", "--pin-file", "alice=alice.pin", "--json", env=token_store)
    assert_ok(run)
    [alice] = [token for token in run.json()["tokens"] if token["label"] == "alice"]
    assert alice["keys"] == []  # logged in: its keys were listed (a token without a PIN shows None)


@pytest.mark.softhsm
@pytest.mark.parametrize(("pin_args", "says"), [
    (["--pin-file", "alice=nope.pin"], "nope.pin: no such file"),
    (["--pin-file", "alice=alice.pin", "--pin-file", "alice=other.pin"], '--pin-file names token "alice" twice'),
], ids=["missing-pin-file", "two-pin-files-for-one-token"])
def test_a_pin_file_that_cannot_be_used_is_refused_naming_it(cli, tmp_path, token_store, pin_args, says):
    (tmp_path / "alice.pin").write_text("pin-alice-1234\n")
    (tmp_path / "other.pin").write_text("pin-alice-1234\n")
    run = cli("token", "list", *pin_args, env=token_store)
    assert_refused(run, 3, says)
    assert "pin-alice" not in run.stderr


def read_until(stream, marker: bytes, timeout: float) -> bytes:
    """What `stream` (a pipe) says up to and including `marker`, waiting at most `timeout` seconds."""
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} within {timeout} s; saw:\n{seen.decode(errors='replace')}"
        if select.select([stream], [], [], left)[0]:
            chunk = os.read(stream.fileno(), 4096)
            assert chunk, f"the stream ended before {marker!r}; saw:\n{seen.decode(errors='replace')}"
            seen += chunk
    return seen


@pytest.mark.softhsm
def test_a_token_pulled_out_mid_ceremony_is_a_token_error_and_nothing_is_written(tmp_path, softhsm, template):
    """A guided ceremony waits for its witnesses after the checks (the token found, its PIN tried, its key
    found): the token's directory is removed from the SoftHSM2 store there, as a token is pulled out of
    its reader, and then the witnesses confirm."""
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "carol", "--pin", "pin-carol-4321",
                    "--so-pin", "so-carol-8765"], env={**os.environ, **softhsm}, check=True, capture_output=True)
    (tmp_path / "carol.pin").write_text("pin-carol-4321\n")
    assert_ok(run_cli(tmp_path, "token", "keygen", "--token", "carol", "--label", "coldvault", "--type", "aes",
                      "--pin-file", "carol=carol.pin", env=softhsm))
    (tmp_path / "plan.toml").write_text(edit(template, 'name = "Carol"\n  delivery = "paper"',
                                             'name = "Carol"\n  delivery = "pkcs11-aes-gcm"\n  token = "carol"\n  key = "coldvault"'))
    env = {k: v for k, v in {**os.environ, **softhsm}.items() if k != "COLDVAULT_DEBUG"}
    args = ["ceremony", "run", "plan.toml", "--out", "out", "--pin-file", "carol=carol.pin"]  # guided: no --yes
    ceremony = subprocess.Popen([sys.executable, "-m", "vault", *args], cwd=tmp_path, env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        said = read_until(ceremony.stderr, b"type your name", timeout=60)
        assert b"error:" not in said
        conf = Path(softhsm["SOFTHSM2_CONF"]).read_text()
        store = Path(next(line.split("=", 1)[1].strip() for line in conf.splitlines() if line.startswith("directories.tokendir")))
        for token_directory in store.iterdir():
            shutil.rmtree(token_directory)
        stdout, stderr = ceremony.communicate(b"Erin\nFrank\n" * 3, timeout=120)
    finally:
        ceremony.kill()
        ceremony.wait()
    run = Run(ceremony.returncode, stdout.decode(), (said + stderr).decode())
    assert_refused(run, 4, 'token "carol"')
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))
