"""Reading coldvault's JSON files strictly: one parser for manifests and envelopes.

Strict where JSON itself is lax: a key given twice is refused (a reader that kept the
last value would let a file show a person one value and use another), and input
nested too deeply for the parser is invalid input, not a crash.
"""

from __future__ import annotations

import json
from typing import Any

from vault.errors import InvalidInput


def load_object(text: str, what: str) -> dict[str, Any]:
    """The JSON object in `text`; `what` ("a manifest", "an envelope") names it in errors."""
    try:
        document = json.loads(text, object_pairs_hook=_refuse_duplicates)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"not {what}: not JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    except RecursionError:
        raise InvalidInput(f"not {what}: JSON nested too deeply") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"not {what}: not a JSON object")
    return document


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise InvalidInput(f'the key "{key}" appears twice in one object')
        document[key] = value
    return document
