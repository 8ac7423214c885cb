"""Prompts as people meet them: the real CLI on a real pseudo-terminal, typed at like a keyboard.

Each test starts `python -m vault` with a new pseudo-terminal as its controlling
terminal, stdin, stdout and stderr (pty.fork), waits for a prompt to be on the screen
before typing (a hidden prompt flushes what was typed before it), types with "\\r" as
the Enter key and "\\x03" as Ctrl-C, and reads the screen as the terminal shows it.
Asserted: secrets typed at hidden prompts never appear; a slip at a hidden prompt is
asked again (PROMPT_ATTEMPTS times, the tries left said); interactive share entry asks
the passphrase first, counts the shares given as files and checks a share at its last
word; Ctrl-C ends with `error: interrupted` on a line of its own and exit 130.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cli

from vault.core.wordlists import SLIP39_WORDS
from vault.edges.terminal import PROMPT_ATTEMPTS

TIMEOUT_SECONDS = 60
FAST = ("--iteration-exponent", "0")
SECRET_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PASSPHRASE = "correct horse battery"
ABANDON = ["abandon"] * 11 + ["about"]
EXIT_INVALID_INPUT = 3
EXIT_INTERRUPTED = 130
ENTER = "\r"
CTRL_C = "\x03"


class Screen:
    """coldvault on a pseudo-terminal: wait for text on the screen, type, read the exit code."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {key: value for key, value in os.environ.items() if key != "COLDVAULT_DEBUG"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: exec at once
            try:
                # A shell runs a background job with SIGINT ignored, and exec keeps that: Ctrl-C must reach coldvault.
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                os.chdir(cwd)
                os.execve(sys.executable, [sys.executable, "-m", "vault", *args], env)
            finally:
                os._exit(127)
        self.shown = bytearray()
        self.seen = 0
        """How much of the screen `expect` has passed: each wait looks only at what came after."""

    @property
    def text(self) -> str:
        return self.shown.decode("utf-8", "replace")

    def _read(self, deadline: float) -> bool:
        """Read what the terminal shows; False at the end (the child closed the terminal)."""
        if not select.select([self.fd], [], [], max(0.0, min(1.0, deadline - time.monotonic())))[0]:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.shown += chunk
        return bool(chunk)

    def expect(self, text: str) -> None:
        """Wait until `text` is on the screen after what was expected before."""
        wanted = text.encode()
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while (found := self.shown.find(wanted, self.seen)) < 0:
            if time.monotonic() > deadline or not self._read(deadline):
                self._kill()
                pytest.fail(f"{text!r} never appeared; the screen:\n{self.text}")
        self.seen = found + len(wanted)

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def answer(self, prompt: str, text: str) -> None:
        """Wait for `prompt`, then type `text` and Enter."""
        self.expect(prompt)
        self.type(text + ENTER)

    def finish(self) -> int:
        """Read the screen to its end; the exit code."""
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while self._read(deadline):
            if time.monotonic() > deadline:
                self._kill()
                pytest.fail(f"coldvault did not end; the screen:\n{self.text}")
        os.close(self.fd)
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)

    def lines(self) -> list[str]:
        return [line.rstrip("\r") for line in self.text.split("\n")]

    def _kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def split_vault(work: Path, *args: str) -> Path:
    (work / "secret.hex").write_text(SECRET_HEX + "\n")
    done = run_cli(work, "split", "--secret-file", "secret.hex", "--group", "2of3", "--out", "v", *FAST, *args)
    assert done.returncode == 0, done.stderr
    return work / "v"


def share_words(vault: Path, number: int) -> list[str]:
    text = (vault / "shares" / f"group1-share{number}.txt").read_text()
    return next(line for line in text.splitlines() if line and not line.startswith("#")).split()


# ---------------------------------------------------------------- retries at hidden prompts


def test_a_mismatched_passphrase_confirmation_is_asked_again_and_the_split_goes_on(tmp_path):
    (tmp_path / "secret.hex").write_text(SECRET_HEX + "\n")
    screen = Screen(tmp_path, "split", "--secret-file", "secret.hex", "--group", "2of3", "--out", "v", *FAST, "--passphrase-prompt")
    screen.answer("SLIP-39 passphrase (not shown): ", PASSPHRASE)
    screen.answer("Repeat the passphrase: ", "correct horse batery")
    screen.expect("not accepted: the two passphrases differ")
    screen.expect(f"type the passphrase again ({PROMPT_ATTEMPTS - 1} tries left)")
    screen.answer("SLIP-39 passphrase (not shown): ", PASSPHRASE)
    screen.answer("Repeat the passphrase: ", PASSPHRASE)
    assert screen.finish() == 0, screen.text
    assert "horse" not in screen.text  # hidden: nothing typed was shown
    # The shares were made with the passphrase typed the second time: it recovers the manifest's secret.
    (tmp_path / "pass.txt").write_text(PASSPHRASE)
    shares = [f"v/shares/group1-share{n}.txt" for n in (1, 2)]
    recovered = run_cli(tmp_path, "recover", *shares, "--manifest", "v/manifest.json", "--passphrase-file", "pass.txt", "--reveal")
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.strip().splitlines()[-1] == SECRET_HEX


def test_three_mismatched_confirmations_end_with_the_old_error_and_nothing_written(tmp_path):
    (tmp_path / "secret.hex").write_text(SECRET_HEX + "\n")
    screen = Screen(tmp_path, "split", "--secret-file", "secret.hex", "--group", "2of3", "--out", "v", *FAST, "--passphrase-prompt")
    for attempt in range(PROMPT_ATTEMPTS):
        screen.answer("SLIP-39 passphrase (not shown): ", PASSPHRASE)
        screen.answer("Repeat the passphrase: ", f"not the same {attempt}")
    assert screen.finish() == EXIT_INVALID_INPUT
    assert "type the passphrase again (1 try left)" in screen.text
    assert "error: the two passphrases differ; nothing was done" in screen.lines()
    assert "horse" not in screen.text and "not the same" not in screen.text
    assert not (tmp_path / "v").exists()


def test_a_mismatched_passphrase_at_a_ceremony_is_asked_again(tmp_path):
    """The issue's case: one slip at the ceremony's passphrase no longer ends the ceremony."""
    assert run_cli(tmp_path, "ceremony", "init", "plan.toml").returncode == 0
    plan = tmp_path / "plan.toml"
    plan.write_text(plan.read_text().replace("passphrase = false", "passphrase = true", 1))
    screen = Screen(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", "--yes")
    screen.answer("SLIP-39 passphrase (not shown): ", PASSPHRASE)
    screen.answer("Repeat the passphrase: ", PASSPHRASE + "!")
    screen.expect("type the passphrase again (2 tries left)")
    screen.answer("SLIP-39 passphrase (not shown): ", PASSPHRASE)
    screen.answer("Repeat the passphrase: ", PASSPHRASE)
    assert screen.finish() == 0, screen.text
    assert json.loads((tmp_path / "vault" / "manifest.json").read_text())["scheme"]["passphrase_protected"] is True
    assert "horse" not in screen.text


def test_a_typed_seed_with_a_bad_word_then_a_bad_checksum_is_asked_again(tmp_path):
    screen = Screen(tmp_path, "split", "--group", "2of3", "--out", "v", *FAST)
    unknown = ABANDON.copy()
    unknown[6] = "abandonz"  # not a BIP-39 word: the message names its position, never the word
    screen.answer("Seed (BIP-39 words, or the master secret in hex; not shown): ", " ".join(unknown))
    screen.expect("not accepted: word 7 is not in the English BIP-39 word list")
    screen.expect("type the seed again (2 tries left)")
    screen.answer("Seed (BIP-39 words, or the master secret in hex; not shown): ", " ".join(["abandon"] * 12))
    screen.expect("not accepted: the BIP-39 checksum does not match")
    screen.expect("type the seed again (1 try left)")
    screen.answer("Seed (BIP-39 words, or the master secret in hex; not shown): ", " ".join(ABANDON))
    assert screen.finish() == 0, screen.text
    assert "abandon" not in screen.text and "about" not in screen.text
    recovered = run_cli(tmp_path, "recover", "v/shares/group1-share1.txt", "v/shares/group1-share3.txt",
                        "--manifest", "v/manifest.json", "--reveal")
    assert recovered.stdout.strip().splitlines()[-1] == " ".join(ABANDON)


def test_a_hex_master_secret_repeated_differently_is_asked_again(tmp_path):
    screen = Screen(tmp_path, "split", "--group", "2of3", "--out", "v", *FAST)
    screen.answer("Seed (BIP-39 words, or the master secret in hex; not shown): ", SECRET_HEX)
    screen.answer("Repeat the master secret: ", SECRET_HEX[:-1] + "1")
    screen.expect("not accepted: the two master secrets differ")
    screen.expect("type the seed again (2 tries left)")
    screen.answer("Seed (BIP-39 words, or the master secret in hex; not shown): ", SECRET_HEX)
    screen.answer("Repeat the master secret: ", SECRET_HEX.upper())  # hex in either case is the same secret
    assert screen.finish() == 0, screen.text
    assert SECRET_HEX not in screen.text.lower()
    assert json.loads((tmp_path / "v" / "manifest.json").read_text())["secret"]["kind"] == "master-secret"


def test_a_seed_typed_badly_three_times_ends_with_the_old_error(tmp_path):
    screen = Screen(tmp_path, "split", "--group", "2of3", "--out", "v", *FAST)
    for _ in range(PROMPT_ATTEMPTS):
        screen.answer("Seed (BIP-39 words, or the master secret in hex; not shown): ", " ".join(["abandon"] * 12))
    assert screen.finish() == EXIT_INVALID_INPUT
    assert screen.lines().count("error: the BIP-39 checksum does not match: a word is wrong or words are out of order") == 1
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize(("args", "piped", "error"), [
    (("--generate", "128", "--passphrase-prompt"), f"{PASSPHRASE}\n{PASSPHRASE}!\n{PASSPHRASE}\n{PASSPHRASE}\n",
     "error: the two passphrases differ; nothing was done"),
    ((), " ".join(["abandon"] * 12) + "\n", "error: the BIP-39 checksum does not match"),
])
def test_from_a_pipe_the_first_refusal_is_the_error(tmp_path, args, piped, error):
    """A script must not loop: piped answers are not asked again."""
    run = run_cli(tmp_path, "split", "--group", "2of3", "--out", "v", *FAST, *args, input=piped)
    assert run.returncode == EXIT_INVALID_INPUT
    assert error in run.stderr and "again" not in run.stderr
    assert not (tmp_path / "v").exists()


# ---------------------------------------------------------------- Ctrl-C


def assert_interrupted(screen: Screen) -> None:
    assert screen.finish() == EXIT_INTERRUPTED, screen.text
    assert "error: interrupted; nothing was written" in screen.lines(), screen.text  # a line of its own, after "^C"


def test_ctrl_c_at_a_word_prompt_ends_with_the_message_on_its_own_line(tmp_path):
    split_vault(tmp_path)
    screen = Screen(tmp_path, "recover", "--interactive", "--manifest", "v/manifest.json")
    screen.expect("word 1: ")
    screen.type("acad")
    screen.expect("acad")  # echoed: the cursor is mid-line when Ctrl-C comes
    screen.type(CTRL_C)
    assert_interrupted(screen)


def test_ctrl_c_at_a_hidden_prompt_ends_with_the_message_on_its_own_line_and_nothing_written(tmp_path):
    (tmp_path / "secret.hex").write_text(SECRET_HEX + "\n")
    screen = Screen(tmp_path, "split", "--secret-file", "secret.hex", "--group", "2of3", "--out", "v", *FAST, "--passphrase-prompt")
    screen.expect("SLIP-39 passphrase (not shown): ")
    screen.type("half a pass")
    screen.type(CTRL_C)
    assert_interrupted(screen)
    assert "half" not in screen.text
    assert not (tmp_path / "v").exists()


# ---------------------------------------------------------------- typing shares


@pytest.mark.parametrize("command", [("recover", "--interactive"), ("drill", "run", "--interactive", "--operator", "Olga")])
def test_a_passphrase_vault_asks_the_passphrase_before_any_word(tmp_path, command):
    (tmp_path / "pass.txt").write_text(PASSPHRASE)
    vault = split_vault(tmp_path, "--passphrase-file", "pass.txt")
    screen = Screen(tmp_path, *command, "--manifest", "v/manifest.json")
    screen.expect("SLIP-39 passphrase (not shown): ")
    assert "word 1:" not in screen.text
    screen.type(PASSPHRASE + ENTER)
    for number in (1, 3):
        screen.answer("word 1: ", " ".join(share_words(vault, number)))
    assert screen.finish() == 0, screen.text  # the recovered secret matched the manifest: the passphrase was used
    assert "horse" not in screen.text


def test_recover_interactive_of_a_passphrase_vault_without_a_terminal_refuses_before_any_word(tmp_path):
    (tmp_path / "pass.txt").write_text(PASSPHRASE)
    vault = split_vault(tmp_path, "--passphrase-file", "pass.txt")
    typed = "\n".join(" ".join(share_words(vault, n)) for n in (1, 2)) + "\n"
    run = run_cli(tmp_path, "recover", "--interactive", "--manifest", "v/manifest.json", input=typed)
    assert run.returncode == EXIT_INVALID_INPUT
    assert "error: the manifest says this vault has a passphrase, and none was given" in run.stderr
    assert "word 1:" not in run.stderr


def test_drill_run_interactive_with_one_share_as_a_file_asks_only_for_the_rest(tmp_path):
    vault = split_vault(tmp_path)
    screen = Screen(tmp_path, "drill", "run", "--manifest", "v/manifest.json", "--interactive", "--operator", "Olga",
                    "v/shares/group1-share1.txt")
    screen.expect("Given already: 1 share(s).")
    screen.expect("Share 2:")
    screen.answer("word 1: ", " ".join(share_words(vault, 3)))
    assert screen.finish() == 0, screen.text
    assert "Share 1:" not in screen.text and "Share 3:" not in screen.text
    [event] = [json.loads(line) for line in (vault / "drills.jsonl").read_text().splitlines() if '"drill"' in line]
    assert event["data"]["result"] == "passed" and len(event["data"]["shares"]) == 2


def test_a_typed_share_is_checked_at_its_last_word(tmp_path):
    """The manifest's vault has 20-word shares: the 20th word ends the share, and a wrong word is found then."""
    vault = split_vault(tmp_path)
    words = share_words(vault, 2)
    wrong = words.copy()
    wrong[4] = next(word for word in SLIP39_WORDS if word != words[4])
    screen = Screen(tmp_path, "recover", "--interactive", "--manifest", "v/manifest.json")
    screen.answer("word 1: ", " ".join(wrong[:10]))
    screen.answer("word 11: ", " ".join(wrong[10:]))
    screen.expect("word 5 is probably wrong")
    screen.answer("number of the word to correct (1-20), or Enter to start this share again: ", "5")
    screen.answer("word 5: ", words[4])
    screen.expect("accepted: group 1, share 2")
    screen.answer("word 1: ", " ".join(share_words(vault, 1)))
    assert screen.finish() == 0, screen.text
    assert "word 21:" not in screen.text
