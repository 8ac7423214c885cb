"""Fuzz target `signature`: transcript signatures, `transcript.sig.json` (vault/transcript.py).

Any text either is a signature file or is refused with `CheckFailed` (exit 1, as
`coldvault transcript verify` reports it) whose message has no control character.
A signature that parses, written and read again, is the same signature; checked
against the worked example's transcript (docs/transcript.md), which declares a
signing key, it verifies or fails with `CheckFailed`, whatever its key and bytes.
"""

from __future__ import annotations

from pathlib import Path

from harness import parsed_or_refused, read_text

from vault.core.formats import transcript
from vault.core.formats import transcript_reader
from vault.core.formats import transcript_signature
from vault.errors import CheckFailed

NAME = "transcript.sig.json"
EXAMPLE = Path(__file__).parent / "corpus" / "transcript" / "docs-worked-example.jsonl"
EVENTS = transcript_reader.parse_bytes(EXAMPLE.read_bytes())
"""The worked example's three events: the docs' own signature file verifies against them."""


def parse(data: bytes) -> transcript_signature.Signature | None:
    """The signature in a file's bytes, or None when it is refused as the contract says."""
    text = read_text(data)
    if text is None:
        return None
    signature = parsed_or_refused(lambda: transcript_signature.signature_from_json(text, NAME), CheckFailed)
    if signature is not None:
        if transcript_signature.signature_from_json(transcript_signature.signature_to_json(signature)) != signature:
            raise AssertionError("a signature read from a file is not the same signature once written and read again")
        parsed_or_refused(lambda: transcript_signature.check_signature(EVENTS, signature), CheckFailed)
    return signature


def test_one_input(data: bytes) -> None:
    parse(data)
