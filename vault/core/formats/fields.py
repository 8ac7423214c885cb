"""Reading coldvault's JSON files strictly: one parser for manifests and envelopes.

Strict where JSON itself is lax: a key given twice is refused (a reader that kept the
last value would let a file show a person one value and use another), and input
nested too deeply for the parser is invalid input, not a crash.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
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
    except ValueError:  # e.g. an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise InvalidInput(f"not {what}: holds a number too long to be one of coldvault's") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"not {what}: not a JSON object")
    return document


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise InvalidInput(f"the key {json.dumps(key)} appears twice in one object")
        document[key] = value
    return document


def key_in_message(key: str) -> str:
    """A key from the input as an error message shows it: as is when it is printable ASCII,
    else as a JSON string, so that no control character from a file reaches the terminal."""
    return key if key.isascii() and key.isprintable() else json.dumps(key)


def b64(data: bytes) -> str:
    """Standard base64 with padding: the one encoding coldvault writes for bytes in JSON."""
    return base64.b64encode(data).decode("ascii")


def base64_field(value: Any, path: str) -> bytes:
    """Standard base64 with padding, canonical: decoding and re-encoding gives the same text."""
    if not isinstance(value, str):
        raise InvalidInput(f"{path} should be a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{path} is not standard base64") from None
    if b64(data) != value:
        raise InvalidInput(f"{path} is not canonical base64 (standard alphabet, with padding)")
    return data


UTC_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""How coldvault writes a time in its files: UTC, to the second, with a Z."""
_UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def is_utc_time(value: Any) -> bool:
    """Exactly YYYY-MM-DDTHH:MM:SSZ, and a real date and time (no month 13, no February 30, no second 61)."""
    if not isinstance(value, str) or not _UTC_TIME.fullmatch(value):
        return False
    try:
        datetime.strptime(value, UTC_TIME_FORMAT)
    except ValueError:
        return False
    return True
