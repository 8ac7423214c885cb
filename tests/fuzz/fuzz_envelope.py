"""Fuzz target `envelope`: sealed shares, `*.envelope.json` (vault/envelope.py, vault/strictjson.py).

Any text either is an envelope or is refused with `InvalidInput` (exit 3) whose
message has no control character, before any cryptography runs. An envelope that
parses can compute its associated data (what opening it authenticates), and
written and read again it is the same envelope.
"""

from __future__ import annotations

from harness import parsed_or_refused, read_text

from vault.core.formats import envelope
from vault.errors import InvalidInput


def parse(data: bytes) -> envelope.Envelope | None:
    """The envelope in a file's bytes, or None when it is refused as the contract says."""
    text = read_text(data)
    if text is None:
        return None
    sealed = parsed_or_refused(lambda: envelope.from_json(text), InvalidInput)
    if sealed is not None:
        sealed.associated_data()
        if envelope.from_json(envelope.to_json(sealed)) != sealed:
            raise AssertionError("an envelope read from a file is not the same envelope once written and read again")
    return sealed


def test_one_input(data: bytes) -> None:
    parse(data)
