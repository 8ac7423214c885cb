"""Fuzz target `share`: share files and mnemonics (vault/sharefile.py over vault/slip39.py).

Any text either is a share or is refused with `InvalidInput` (a `ShareError`, exit 3)
whose message has no control character. A share that parses survives the round
trip a ceremony makes: rendered as a share file, comments and all, and read again,
it is the same share.
"""

from __future__ import annotations

from harness import parsed_or_refused, read_text

from vault.core.formats import sharefile
from vault.core.slip39.share import Share
from vault.errors import InvalidInput


def parse(data: bytes) -> Share | None:
    """The share in a share file's bytes, or None when it is refused as the contract says."""
    text = read_text(data)
    if text is None:
        return None
    share = parsed_or_refused(lambda: sharefile.parse(text), InvalidInput)
    if share is not None:
        rendered = sharefile.render(share, ceremony_name="fuzz", ceremony_id="fuzz", custodian="Alice")
        if sharefile.parse(rendered) != share:
            raise AssertionError("a share read from a file is not the same share once written and read again")
    return share


def test_one_input(data: bytes) -> None:
    parse(data)
