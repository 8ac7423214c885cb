"""docs/attestation.md's worked example is what the code computes, and it verifies.

The example is the format's test vector: if the code or the document changes alone,
this fails.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from vault.core import attestation
from vault.core.formats import drills as dl
from vault.core.formats import transcript
from vault.core.formats import transcript_reader

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "attestation.md").read_text()
sys.path.insert(0, str(ROOT / "scripts"))
from attestation_example import example  # noqa: E402


def test_every_value_in_the_document_is_the_codes() -> None:
    for name, value in example().items():
        assert str(value).strip() in DOC, name


def test_the_documented_line_verifies_with_the_documented_key_and_not_once_changed() -> None:
    line = re.search(r"```jsonl\n(.*?)```", DOC, re.S).group(1)
    (event,) = transcript_reader.parse(line)
    record = dl.from_event(event)
    public_key = re.search(r"its attestation public key: `([^`]+)`", DOC).group(1)
    (signed,) = record.attestations
    assert attestation.verifies(public_key, signed.signature, dl.signed_message(event))
    later = transcript.Event(**{**vars(event), "time": "2026-11-22T18:30:00Z"})
    assert not attestation.verifies(public_key, signed.signature, dl.signed_message(later))
