"""Fuzz target `manifest`: `manifest.json` (vault/manifest.py `from_json`, vault/strictjson.py).

Any text either is a manifest or is refused with `InvalidInput` (exit 3) whose
message has no control character. A manifest that parses, written and read again,
is the same manifest.
"""

from __future__ import annotations

from harness import parsed_or_refused, read_text

from vault.core.formats import manifest
from vault.errors import InvalidInput


def parse(data: bytes) -> manifest.Manifest | None:
    """The manifest in a file's bytes, or None when it is refused as the contract says."""
    text = read_text(data)
    if text is None:
        return None
    read = parsed_or_refused(lambda: manifest.from_json(text), InvalidInput)
    if read is not None and manifest.from_json(manifest.to_json(read)) != read:
        raise AssertionError("a manifest read from a file is not the same manifest once written and read again")
    return read


def test_one_input(data: bytes) -> None:
    parse(data)
