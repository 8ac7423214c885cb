"""What every fuzz target checks, in one place.

The contract (docs/fuzzing.md): a parser given any input either returns a value or
raises the project's own error for that input, which the CLI turns into an
`error:` line and the spec's exit code. Anything else escaping (KeyError,
RecursionError, ValueError...) would reach the user as "internal error" (exit 70):
for the fuzzer, that is a finding. Error messages go to a terminal, so one that
echoes a control character from the input (an escape sequence, a NUL) is a finding
too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import TypeVar

from vault.errors import VaultError

T = TypeVar("T")


def read_text(data: bytes) -> str | None:
    """`data` as `vault.edges.fsio.read_text` hands a file to a parser, or None when it would refuse it.

    fsio decodes UTF-8 and drops a byte-order mark; a file that is not UTF-8 is refused
    there, before any parser sees it, so the fuzzer skips such inputs too.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def parsed_or_refused(parse: Callable[[], T], expected: type[VaultError]) -> T | None:
    """`parse()`'s value, or None when it refused the input with `expected` (or a subclass).

    Any other exception, including another `VaultError` subclass (which would give the
    user the wrong exit code), propagates: that is a finding.
    """
    try:
        return parse()
    except expected as error:
        check_message(error)
        return None


def check_message(error: VaultError) -> None:
    """The message and hints are non-empty text with no raw control character in them."""
    if not error.message:
        raise AssertionError(f"{type(error).__name__} with an empty message")
    for text in (error.message, *error.hints):
        control = [c for c in text if unicodedata.category(c) == "Cc"]
        if control:
            raise AssertionError(f"{type(error).__name__} message holds the control character {control[0]!r}: {text!r}")
