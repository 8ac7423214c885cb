"""Screens show only the truth: hostile strings from every source, through the real CLI on a pseudo-terminal.

A name in a manifest, an envelope's header, a label in `transcript.sig.json` or on a
token, a plan, an argument: each is set to escape sequences (clear the screen, set the
window title, the 8-bit CSI), a bidirectional override, raw HTML and a Markdown link.
The CLI runs on a real pseudo-terminal (pty.fork: it is the process's controlling
terminal, as at a desk), and the test asserts that none of the bytes that make a
terminal act (ESC, BEL, CSI as 0x9B or as UTF-8 C2 9B, the bidirectional controls)
reached the screen, and that Markdown and HTML outputs hold no link, no tag and no
such character either. Then the name rules: NFC, one script per word, no two names
that look the same, and arguments that are not UTF-8.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from conftest import run_cli
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from test_transcript import ceremony, sign, signer_of, software_key

from vault.core import names
from vault.core.text import safe
from vault.errors import InvalidInput

CLEAR = "\x1b[2J\x1b[H"
TITLE = "\x1b]0;owned\x07"
CSI = "\x9b1;1H"
RLO = "\u202e"
HOSTILE = f"Eve{CLEAR}head 0000{TITLE}{CSI}{RLO}evE<script>alert(1)</script>[x](http://evil)"
"""Everything at once: one string from a file, a token or an argument."""
ACTING = {
    "ESC": b"\x1b", "BEL": b"\x07", "CSI (8-bit)": b"\x9b", "CSI (UTF-8)": "\x9b".encode(),
    **{f"U+{code:04X}": chr(code).encode() for code in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))},
}
"""What must never reach a screen or a file from outside: bytes a terminal obeys, and the bidirectional controls."""
PAPER_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TIMEOUT_SECONDS = 120


def on_screen(cwd: Path, *args: str, env: dict[str, str] | None = None, typed: str = "", after: bytes = b"") -> tuple[int, bytes]:
    """Run coldvault on a new pseudo-terminal (its controlling terminal, stdin, stdout and stderr); everything shown.

    `typed` is typed once `after` is on the screen (a hidden prompt flushes what was typed before it)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("COLDVAULT_DEBUG", None)
    pid, terminal = pty.fork()
    if pid == 0:  # the child: exec at once (no Python code of the test runs here)
        try:
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "vault", *args], full_env)
        finally:
            os._exit(127)
    screen = bytearray()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if typed and after in screen:
            os.write(terminal, typed.encode())
            typed = ""
        if not select.select([terminal], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    else:
        os.kill(pid, signal.SIGKILL)  # waiting for input nobody gives: fail, do not hang
    os.close(terminal)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), bytes(screen)


def assert_shown_safely(output: bytes | str, where: str = "the screen") -> None:
    data = output.encode() if isinstance(output, str) else output
    for name, sequence in ACTING.items():
        assert sequence not in data, f"{name} reached {where}: {data!r}"


def assert_inert_markdown(text: str, where: str) -> None:
    """Markdown from coldvault: no raw tag, no link or autolink, no hidden character from a name."""
    assert_shown_safely(text, where)
    assert not re.search(r"(?<!\\)<[a-z/]", text), f"{where}: a raw tag: {text}"  # "\\<b\\>" is the text <b>
    assert not re.search(r"(?<!\\)\]\(", text), f"{where}: a link: {text}"
    assert "http://" not in text and "www.evil" not in text, f"{where}: an autolink: {text}"


def assert_inert_html(text: str, where: str) -> None:
    """HTML from coldvault: a name's markup only as entities, no hidden character."""
    assert_shown_safely(text, where)
    assert "<script" not in text and "<a " not in text and "href" not in text, f"{where}: {text}"
    assert "&lt;script&gt;" in text


def split_vault(work: Path) -> Path:
    (work / "secret.hex").write_text(PAPER_SECRET + "\n")
    done = run_cli(work, "split", "--secret-file", "secret.hex", "--group", "2of3", "--out", "v", "--iteration-exponent", "0")
    assert done.returncode == 0, done.stderr
    return work / "v"


# ---------------------------------------------------------------- the rendering rule itself


@pytest.mark.parametrize("render", [safe.text, safe.markdown, safe.html, safe.markdown_code])
def test_every_variant_shows_hidden_characters_escaped_and_keeps_the_rest(render):
    shown = render(HOSTILE + "\udce9\u2028\x7f\x85")
    assert_shown_safely(shown, render.__name__)
    assert "\\x1b" in shown and "\\x9b" in shown and "\\u202e" in shown and "\\udce9" in shown and "\\x7f" in shown
    assert "Eve" in shown and "head 0000" in shown
    shown.encode("utf-8")  # a lone surrogate is shown, never left to crash an encoder


def test_markdown_and_html_cannot_make_a_link_or_a_tag():
    assert "\\[x\\](http\\://evil)" in safe.markdown(HOSTILE) and "\\<script\\>" in safe.markdown(HOSTILE)
    assert "&lt;script&gt;" in safe.html(HOSTILE)
    assert safe.markdown("www.evil.com a@b.c") == "www\\.evil\\.com a\\@b\\.c"  # no autolink either
    assert safe.markdown("Carol O'Neil-Smith (CFO), Jr") == "Carol O'Neil-Smith (CFO), Jr"  # names stay readable
    assert safe.markdown_code("id`with``ticks") == "```id`with``ticks```"


# ---------------------------------------------------------------- sources: a manifest, the CLI's own sinks


def hostile_manifest(vault: Path, work: Path) -> Path:
    """A copy of the vault's manifest (no transcript beside it) whose ceremony, group and custodians' names are hostile."""
    document = json.loads((vault / "manifest.json").read_text())
    document["ceremony"]["name"] = HOSTILE
    for group in document["scheme"]["groups"]:
        group["name"] = HOSTILE
    for number, share in enumerate(document["shares"]):
        share["custodian"] = f"{HOSTILE} {number}"
    copy = work / "copy"
    copy.mkdir()
    (copy / "manifest.json").write_text(json.dumps(document, indent=2, ensure_ascii=False))
    return copy / "manifest.json"


def test_names_from_a_manifest_reach_no_screen_and_no_report_raw(tmp_path):
    vault = split_vault(tmp_path)
    manifest = hostile_manifest(vault, tmp_path)
    share = str(vault / "shares" / "group1-share1.txt")
    for args in (("verify", "--manifest", str(manifest), share), ("drill", "status", "--manifest", str(manifest)),
                 ("drill", "run", "--manifest", str(manifest), "--partial", share, "--operator", "Olga")):
        code, screen = on_screen(tmp_path, *args)
        assert code in (0, 1), screen
        assert_shown_safely(screen)
        assert b"\\x1b[2J" in screen, screen  # shown, escaped: the witness sees that the name is strange
    code, screen = on_screen(tmp_path, "drill", "report", "--manifest", str(manifest), "--out", "report.html")
    assert code == 0, screen
    assert_shown_safely(screen)
    assert_inert_html((tmp_path / "report.html").read_text(), "report.html")


def test_json_output_stays_valid_ascii_json(tmp_path):
    vault = split_vault(tmp_path)
    manifest = hostile_manifest(vault, tmp_path)
    result = run_cli(tmp_path, "drill", "status", "--manifest", str(manifest), "--json")
    assert result.stdout.isascii()
    assert_shown_safely(result.stdout, "--json")
    assert json.loads(result.stdout)["shares"][0]["custodian"] == f"{HOSTILE} 0"  # the truth, escaped by JSON


def test_an_argument_is_shown_escaped_in_errors_and_usage_errors(tmp_path):
    code, screen = on_screen(tmp_path, "split", "--help")
    assert code == 0 and b"Usage: coldvault split" in screen
    assert_shown_safely(screen)  # coldvault writes no colour or escape sequence of its own
    for args in (("inspect", HOSTILE), ("inspect", "x", f"--bogus{HOSTILE}"), ("split", "--group", HOSTILE, "--generate", "128", "--out", "o")):
        code, screen = on_screen(tmp_path, *args)
        assert code in (2, 3), screen
        assert_shown_safely(screen)


# ---------------------------------------------------------------- sources: extend, plans


def test_extend_custodian_names_are_checked_and_escaped_in_the_readme(tmp_path):
    vault = split_vault(tmp_path)
    shares = [str(vault / "shares" / f"group1-share{m}.txt") for m in (1, 2)]
    base = ["extend", "--manifest", str(vault / "manifest.json"), "--group", "1", *shares]
    code, screen = on_screen(tmp_path, *base, "--custodian", f"Eve{CLEAR}{TITLE}{CSI}{RLO}", "--out", "refused")
    assert code == 3 and b"U+001B" in screen, screen  # a control character: refused, named by code point
    assert_shown_safely(screen)
    assert not (tmp_path / "refused").exists()
    code, screen = on_screen(tmp_path, *base, "--custodian", "\u0410lice", "--out", "refused")
    assert code == 3 and b"mixes scripts (Cyrillic and Latin)" in screen, screen
    markup = "Mallory <script>alert(1)</script> [x](http://evil)"
    code, screen = on_screen(tmp_path, *base, "--custodian", markup, "--custodian", "Rene\u0301e", "--out", "v2")
    assert code == 0, screen
    assert_shown_safely(screen)
    readmes = "".join(path.read_text() for path in (tmp_path / "v2").rglob("README.md"))
    assert "Mallory \\<script\\>alert(1)\\</script\\> \\[x\\](http\\://evil)" in readmes
    assert_inert_markdown(readmes, "README.md")
    listed = [entry["custodian"] for entry in json.loads((tmp_path / "v2" / "manifest.json").read_text())["shares"]]
    assert "Ren\u00e9e" in listed and "Rene\u0301e" not in listed  # stored NFC


PLAN = """format = "coldvault-plan/1"

[ceremony]
name = "{ceremony}"
operator = "Olga"
witnesses = ["Wendy"]

[secret]
source = "generate"
bits = 128

[slip39]
iteration_exponent = 0

[[group]]
name = "{group}"
threshold = 2

  [[group.custodian]]
  name = "{first}"
  delivery = "paper"

  [[group.custodian]]
  name = "{second}"
  delivery = "paper"
"""


def toml_string(value: str) -> str:
    """The inside of a TOML basic string: quotes and backslashes escaped, every other non-printable as \\uXXXX."""
    return "".join(f"\\u{ord(c):04x}" if not c.isprintable() else "\\" + c if c in '"\\' else c for c in value)


def run_plan(work: Path, typed: str = "", **names: str) -> tuple[int, bytes]:
    fields = {"ceremony": "Family", "group": "Family", "first": "Alice", "second": "Bob"} | names
    (work / "plan.toml").write_text(PLAN.format(**{key: toml_string(value) for key, value in fields.items()}))
    flags = () if typed else ("--yes",)
    return on_screen(work, "ceremony", "run", "plan.toml", "--out", "vault", "--generate", "128", *flags, typed=typed)


def test_names_from_a_plan_are_escaped_in_the_runbook_and_the_readmes(tmp_path):
    markup = "Mallory <b>x</b> [x](http://evil) www.evil.com"
    code, screen = run_plan(tmp_path, ceremony=markup, group="<img src=x>", first=markup, second="Rene\u0301e")
    assert code == 0, screen
    assert_shown_safely(screen)
    outputs = [tmp_path / "vault" / "runbook.md", *(tmp_path / "vault").rglob("README.md")]
    assert len(outputs) == 3
    for path in outputs:
        assert_inert_markdown(path.read_text(), path.name)
    manifest = json.loads((tmp_path / "vault" / "manifest.json").read_text())
    assert [s["custodian"] for s in manifest["shares"]] == [markup, "Ren\u00e9e"]  # NFC


def test_a_control_character_in_a_plan_is_refused_on_its_line_and_not_shown_raw(tmp_path):
    code, screen = run_plan(tmp_path, first=HOSTILE)
    assert code == 3, screen
    assert b"plan.toml line 20: name must be 1 to 64 printable characters" in screen, screen
    assert_shown_safely(screen)


def test_a_witness_confirms_by_typing_their_name_in_either_unicode_form(tmp_path):
    """The plan's names are NFC; a terminal may send NFD (a combining accent): the same name."""
    plan_text = PLAN.replace('witnesses = ["Wendy"]', 'witnesses = ["Ren\u00e9e"]')
    (tmp_path / "plan.toml").write_text(plan_text.format(ceremony="Family", group="Family", first="Alice", second="Bob"))
    code, screen = on_screen(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", "--generate", "128",
                             typed="Rene\u0301e\n" * 12)
    assert code == 0, screen.decode(errors="replace")
    assert b"not \"" not in screen  # never "that is not ..."


# ---------------------------------------------------------------- sources: transcript.sig.json, envelopes, tokens


def test_signature_labels_in_transcript_sig_json_reach_the_screen_escaped(tmp_path):
    """The labels are not covered by the signature: anyone can write them."""
    from vault.core.formats import transcript as tr
    from vault.core.formats import transcript_signature

    directory = tmp_path / "ceremony"
    directory.mkdir()
    witness = software_key("witness")
    chain = ceremony(signer_of(witness))
    (directory / "transcript.jsonl").write_text(tr.to_text(chain))
    signature = json.loads(transcript_signature.signature_to_json(sign(witness, chain.events[-1])))
    signature["token_label"], signature["key_label"] = HOSTILE, HOSTILE
    (directory / "transcript.sig.json").write_text(json.dumps(signature))
    code, screen = on_screen(tmp_path, "transcript", "verify", str(directory))
    assert b"\\x1b[2J" in screen, screen
    assert_shown_safely(screen)


@pytest.mark.softhsm
def test_envelope_header_fields_never_reach_the_screen(tmp_path, softhsm):
    """An envelope that does not open is one of two fixed errors naming the file (docs/envelope.md): nothing its
    header says, hostile or not, is repeated."""
    vault = split_vault(tmp_path)
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "bob.pem").write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    wrapped = run_cli(tmp_path, "wrap", str(vault / "shares" / "group1-share1.txt"), "--recipient-pubkey", "bob.pem",
                      "--out", "bob.envelope.json", "--custodian", "Bob")
    assert wrapped.returncode == 0, wrapped.stderr
    envelope = json.loads((tmp_path / "bob.envelope.json").read_text())
    envelope["custodian"] = HOSTILE
    envelope["ceremony_id"] = HOSTILE
    envelope["recipient"]["token_label"] = HOSTILE
    envelope["recipient"]["key_label"] = HOSTILE
    (tmp_path / "bob.envelope.json").write_text(json.dumps(envelope))
    for args in (("inspect", "bob.envelope.json"), ("unwrap", "bob.envelope.json", "--out", "share.txt")):
        code, screen = on_screen(tmp_path, *args, env=softhsm)
        assert (code, b"error: bob.envelope.json: the envelope does not open: it was altered" in screen) == (3, True) \
            or (code, b"error: bob.envelope.json: no token here holds the key this envelope is sealed to" in screen) == (4, True), screen
        assert b"Eve" not in screen and b"evE" not in screen and b"\\x1b" not in screen, screen
        assert_shown_safely(screen)


@pytest.mark.softhsm
def test_a_token_label_reaches_the_screen_escaped_in_lists_and_pin_prompts(tmp_path, softhsm):
    label = "\x1b[2J\x9b1H\u202etok"  # 32 bytes at most
    made = subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", "1234", "--so-pin", "5678"],
                          env={**os.environ, **softhsm}, capture_output=True, timeout=60)
    assert made.returncode == 0, made.stderr
    code, screen = on_screen(tmp_path, "token", "list", env=softhsm)
    assert code == 0 and b"\\x1b[2J\\x9b1H\\u202etok" in screen, screen
    assert_shown_safely(screen)
    code, screen = on_screen(tmp_path, "token", "keygen", "--token", label, "--label", "k", "--type", "aes", env=softhsm, typed="1234\n", after=b"(not shown): ")
    assert code == 0 and b'PIN for token "\\x1b[2J' in screen, screen
    assert_shown_safely(screen)


# ---------------------------------------------------------------- names: NFC, scripts, look-alikes; arguments: UTF-8


def test_an_argument_that_is_not_utf8_is_refused_before_anything_happens(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "vault", "split", "--generate", "128", "--group", "2of3", "--out", b"caf\xe9"],
                               cwd=tmp_path, capture_output=True, timeout=60)
    assert completed.returncode == 3, completed.stderr
    assert completed.stderr.decode() == ("error: argument 7 is not valid UTF-8: caf\\xe9\n"
                                         "hint: give names, labels and paths in UTF-8; nothing was done\n")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("name", "says"), [
    ("\u0410lice", "mixes scripts (Cyrillic and Latin)"),
    ("Alice \u03a9mega", "mixes scripts (Greek and Latin)"),
    ("Alice\ufe0f", "U+FE0F (VARIATION SELECTOR-16)"),
    ("Al\u200bice", "U+200B (ZERO WIDTH SPACE)"),
])
def test_a_name_that_can_pass_for_another_is_refused(name, says):
    with pytest.raises(InvalidInput, match=re.escape(says)):
        names.check(name)


@pytest.mark.parametrize("name", ["Ren\u00e9e", "\u5c71\u7530 \u82b1\u5b50", "\u3059\u305a\u6728", "\u0418\u0432\u0430\u043d Ivanov",
                                  "\uae40\ubbfc\uc900", "\u0645\u062d\u0645\u062f", "Carol O'Neil-Smith"])
def test_real_names_in_one_script_per_word_are_kept_in_nfc(name):
    assert names.check(unicodedata.normalize("NFD", name)) == unicodedata.normalize("NFC", name)


@pytest.mark.parametrize(("one", "other"), [("Alice", "\uff21lice"), ("Ivan", "lvan"), ("Alice", "ALICE"), ("O'Neil", "O\u2019Neil")])
def test_names_that_look_the_same_are_found(one, other):
    assert names.lookalike(other, [one]) == one
    assert names.lookalike("Bob", [one]) is None


def test_drill_witnesses_that_look_the_same_are_refused(tmp_path):
    vault = split_vault(tmp_path)
    share = str(vault / "shares" / "group1-share1.txt")
    result = run_cli(tmp_path, "drill", "run", "--manifest", str(vault / "manifest.json"), "--partial", share,
                     "--witness", "Alice", "--witness", "\uff21lice")
    assert result.returncode == 3, result.stderr
    assert 'error: --witness "\uff21lice" is given twice: it looks the same as "Alice"' in result.stderr
    assert not (vault / "drills.jsonl").exists()


def test_the_confusables_data_is_unicodes():
    """A few of confusables.txt's lines, and the generator's record of the file (scripts/make_confusables.py)."""
    from vault.core import confusables

    assert confusables.VERSION == "15.0.0"
    assert (confusables.PROTOTYPES["\u0410"], confusables.PROTOTYPES["I"], confusables.PROTOTYPES["m"]) == ("A", "l", "rn")
    assert len(confusables.PROTOTYPES) == 6311


def test_a_lone_surrogate_in_a_json_file_is_refused_naming_the_field(tmp_path):
    """JSON can spell a lone surrogate (\\udc80), which no UTF-8 file, screen or name can hold."""
    vault = split_vault(tmp_path)
    document = json.loads((vault / "manifest.json").read_text())
    document["shares"][0]["custodian"] = "caf\udce9"
    (tmp_path / "copy").mkdir()  # a copy with no transcript beside it: nothing else to refuse it for
    (tmp_path / "copy" / "manifest.json").write_text(json.dumps(document))  # ASCII: the surrogate as an escape
    result = run_cli(tmp_path, "verify", "--manifest", "copy/manifest.json", str(vault / "shares" / "group1-share1.txt"))
    assert result.returncode == 3, result.stderr
    assert "manifest.shares[0].custodian is not text: it holds a lone UTF-16 surrogate" in result.stderr


@pytest.mark.parametrize("command", ["card", "wrap"])
def test_custodian_flags_of_card_and_wrap_are_checked_like_plan_names(tmp_path, command):
    """A card or an envelope names its custodian: "Аlice" with a Cyrillic А is refused as a plan would refuse it."""
    vault = split_vault(tmp_path)
    share = str(vault / "shares" / "group1-share1.txt")
    extra = ["--out", "x.pdf"] if command == "card" else ["--out", "x.envelope.json", "--recipient-pubkey", "nokey.pem"]
    result = run_cli(tmp_path, command, share, "--custodian", "\u0410lice", *extra)
    assert result.returncode == 3, result.stderr
    assert '--custodian "\u0410lice"' in result.stderr and "mixes scripts" in result.stderr
    assert not (tmp_path / "x.pdf").exists() and not (tmp_path / "x.envelope.json").exists()


def test_an_unreadable_vaults_path_adds_no_line_to_fleet_status_or_its_page(tmp_path):
    """Issue 23: a line feed or U+2028 in the path of a vault that cannot be read was split into lines before it was
    escaped (`error.splitlines()`), so a folder name could write lines of its own into the report."""
    folder = tmp_path / "fleet" / "evil\nFAKE: RECOVERABLE until 2099\u2028x"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{ not json\n")
    (folder / "transcript.jsonl").write_text("")
    result = run_cli(tmp_path, "fleet", "status", "fleet", "--html", "fleet.html")
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert not any(line.strip().startswith(("FAKE", "x/manifest.json")) for line in lines), result.stdout
    assert all("\u2028" not in line for line in lines)
    assert "evil\\x0aFAKE: RECOVERABLE until 2099\\u2028x" in result.stdout, "the path is shown, its line breaks escaped"
    page = (tmp_path / "fleet.html").read_text()
    assert "\u2028" not in page and "evil\nFAKE" not in page
