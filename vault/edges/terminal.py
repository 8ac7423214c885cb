"""The terminal edge: hidden prompts, confirmation, and messages on stderr.

Secrets typed at a prompt are never echoed. When standard input is not a terminal
(a pipe, a script), prompts still go to stderr and the answer is one line of stdin,
so the same commands can be scripted without putting secrets in argv. At a terminal a
secret refused at its prompt is asked again, a few times (`ask_secret`); from a pipe it
is an error at once.

Every message and prompt is one line, written through `safe.text`: a name from a
file, a token label or an argument can put no escape sequence, control or
bidirectional override on the screen (coldvault writes none of its own either).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

from vault.core.text import safe
from vault.errors import InvalidInput

T = TypeVar("T")

PROMPT_ATTEMPTS = 3
"""Tries at a hidden prompt (a passphrase and its confirmation, a typed seed) before it is an error."""


def info(message: str = "") -> None:
    """Everything that is not the command's payload goes to stderr: one line, shown safely."""
    print(safe.text(message), file=sys.stderr, flush=True)


def interactive() -> bool:
    return sys.stdin.isatty()


def read_line(prompt: str) -> str | None:
    """One line typed (or piped) after `prompt`, without its newline; None at end of input."""
    sys.stderr.write(safe.text(prompt))
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        sys.stderr.write("\n")  # end the prompt's line: what follows (an error) starts its own
        return None
    return line.rstrip("\r\n")


def hidden(prompt: str) -> str:
    """A secret typed without echo (or one line of piped stdin)."""
    if interactive():
        try:
            return getpass.getpass(safe.text(prompt), stream=sys.stderr)
        except EOFError:
            raise InvalidInput("no input") from None
    line = read_line(prompt)
    if line is None:
        raise InvalidInput("standard input ended before the answer was given")
    info()
    return line


def ask_secret(prompt: str, what: str, parse: Callable[[str], T], repeat: Callable[[T], str | None] = lambda _: None) -> T:
    """A secret typed at a hidden prompt, parsed by `parse`; typed twice when `repeat` names it.

    At a terminal a refused answer (`parse` raised `InvalidInput`) or a confirmation
    that differs is asked again, PROMPT_ATTEMPTS times in all: one slip must not end a
    ceremony after every PIN and witness was typed. The reason is said (errors name a
    word's position, never the word) with the tries left; the last refusal is the error.
    From a pipe the first refusal is the error: a script must not loop. PINs never come
    through here: each wrong PIN costs a try on the token.
    """
    attempts = PROMPT_ATTEMPTS if interactive() else 1
    repeated = what
    for left in reversed(range(attempts)):
        text = hidden(prompt)
        try:
            value = parse(text)
        except InvalidInput as error:
            if not left:
                raise
            _ask_again(error.message, error.hints, what, left)
            continue
        confirmed = repeat(value)
        if confirmed is None or _same(hidden(f"Repeat the {confirmed}: "), value, parse):
            return value
        repeated = confirmed
        if left:
            _ask_again(f"the two {confirmed}s differ", (), what, left)
    raise InvalidInput(f"the two {repeated}s differ; nothing was done")


def _same(again: str, value: T, parse: Callable[[str], T]) -> bool:
    """The confirmation says the same as the first answer (compared parsed: hex in any case)."""
    try:
        return parse(again) == value
    except InvalidInput:
        return False


def _ask_again(reason: str, hints: Sequence[str], what: str, left: int) -> None:
    info(f"not accepted: {reason}")
    for hint in hints:
        info(f"  {hint}")
    info(f"type the {what} again ({left} {'try' if left == 1 else 'tries'} left)")


def read_all_stdin() -> str:
    """All of standard input (a secret piped in), bounded like an input file."""
    from vault.edges.fsio import MAX_INPUT_FILE_BYTES

    data = sys.stdin.read(MAX_INPUT_FILE_BYTES + 1)
    if len(data) > MAX_INPUT_FILE_BYTES:
        raise InvalidInput("standard input is too large to be a secret")
    return data
