"""The terminal edge: hidden prompts, confirmation, and messages on stderr.

Secrets typed at a prompt are never echoed. When standard input is not a terminal
(a pipe, a script), prompts still go to stderr and the answer is one line of stdin,
so the same commands can be scripted without putting secrets in argv.

Every message and prompt is one line, written through `safe.text`: a name from a
file, a token label or an argument can put no escape sequence, control or
bidirectional override on the screen (coldvault writes none of its own either).
"""

from __future__ import annotations

import getpass
import sys

from vault.core.text import safe
from vault.errors import InvalidInput


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


def hidden_confirmed(prompt: str, what: str) -> str:
    """A secret typed twice; refuses when the two differ."""
    first = hidden(prompt)
    second = hidden(f"Repeat the {what}: ")
    if first != second:
        raise InvalidInput(f"the two {what}s differ; nothing was done")
    return first


def read_all_stdin() -> str:
    """All of standard input (a secret piped in), bounded like an input file."""
    from vault.edges.fsio import MAX_INPUT_FILE_BYTES

    data = sys.stdin.read(MAX_INPUT_FILE_BYTES + 1)
    if len(data) > MAX_INPUT_FILE_BYTES:
        raise InvalidInput("standard input is too large to be a secret")
    return data
