"""Fuzz target `transcript`: hash-chained logs, `transcript.jsonl` and `drills.jsonl` (vault/transcript.py).

Any bytes either are a transcript or are refused with `CheckFailed` (exit 1: a
transcript that does not check is a failed check, as `coldvault transcript verify`
reports it) whose message has no control character. A transcript that parses is
byte for byte its canonical form, as docs/transcript.md requires: written again, it
is the same bytes. The anchor checks `transcript verify` then runs on it (the
declared signing key, the manifest binding) also fail only with `CheckFailed`.
"""

from __future__ import annotations

from harness import parsed_or_refused

from vault.core.formats import transcript
from vault.core.formats import transcript_reader
from vault.core.formats import transcript_signature
from vault.core import anchor as anchors
from vault.errors import CheckFailed

NAME = "transcript.jsonl"


def parse(data: bytes) -> tuple[transcript.Event, ...] | None:
    """The events in a log's bytes, or None when it is refused as the contract says."""
    events = parsed_or_refused(lambda: transcript_reader.parse_bytes(data, NAME), CheckFailed)
    if events is not None:
        if transcript.to_text(transcript.Chain(events)).encode("ascii") != data:
            raise AssertionError("a transcript that parses is not its canonical form")
        parsed_or_refused(lambda: transcript_signature.declared_signer(events, NAME), CheckFailed)
        parsed_or_refused(lambda: anchors.check_manifest(events, b"{}\n", NAME), CheckFailed)
    return events


def test_one_input(data: bytes) -> None:
    parse(data)
