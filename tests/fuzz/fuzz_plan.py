"""Fuzz target `plan`: ceremony plans, `*.toml` (vault/plan.py over tomllib).

Any text either is a plan or is refused with `InvalidInput` (exit 3) whose message
has no control character. A plan that parses is complete, as docs/plan.md promises
("refused before any secret exists"): its SLIP-39 scheme, its custodians and its
tokens follow from it without another error.
"""

from __future__ import annotations

from harness import parsed_or_refused, read_text

from vault.core.formats import plan
from vault.errors import InvalidInput


def parse(data: bytes) -> plan.Plan | None:
    """The plan in a file's bytes, or None when it is refused as the contract says."""
    text = read_text(data)
    if text is None:
        return None
    read = parsed_or_refused(lambda: plan.parse(text, "plan.toml"), InvalidInput)
    if read is not None:
        custodians, shares = len(list(read.custodians())), read.scheme.share_count
        if shares != custodians:
            raise AssertionError(f"a plan of {custodians} custodians makes {shares} shares")
        read.tokens()
    return read


def test_one_input(data: bytes) -> None:
    parse(data)
