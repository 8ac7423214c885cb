"""One strict reader and one canonical encoder for every coldvault file format.

Every reader has the same shape: `load_object` parses a JSON object (a key given
twice is refused, since a reader that kept the last value would let a file show a
person one value and use another; nesting too deep for the parser and numbers too
long to convert are invalid input, not crashes), then a `Fields` reads it one field
at a time, each getter checking the field's type and encoding. A field that is
missing, of the wrong type, non-canonical or unknown is refused with one wording in
every format ("<field> is missing", "<field> should be <what>", "<field> is not a
field of <format>"), naming the field through a `Locator`: its JSON path
("manifest.shares[1].member_index"), or for a plan, its TOML line. What is not one
field's type or encoding (a transcript's chain, a manifest's ranges) each format
checks itself.

`canonical` is the one canonical JSON encoding (keys sorted, no white space, ASCII
only, no NaN): what envelopes authenticate and transcripts hash.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar, Protocol, TypeVar, cast

from vault.errors import InvalidInput, VaultError

UTC_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""How coldvault writes a time in its files: UTC, to the second, with a Z."""
UTC_TIME_EXAMPLE = "2026-11-21T17:55:10Z"
_UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_LOWER_HEX = frozenset("0123456789abcdef")

MAX_SAFE_INTEGER = (1 << 53) - 1
"""I-JSON's safe range (RFC 7493): every JSON reader gets the same number back."""
_BIG_COUNT = re.compile(r"[1-9][0-9]{15,99}")

Step = str | int
"""A step in a field's path: an object's key, or a list's index."""
T = TypeVar("T")


# ---------------------------------------------------------------- encoding


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False, check_circular=False)
"""One encoder, made once: `json.dumps` with these options builds a new one per call (a drill log calls it per line).
Values are from a JSON decoder or a writer's literals, never cyclic: the cycle check is 10% of the time for nothing."""


def canonical(value: Any) -> str:
    """The one canonical JSON text of `value`: keys sorted, no white space, non-ASCII escaped as \\uXXXX, no NaN."""
    return _CANONICAL.encode(value)


def count(value: int) -> int | str:
    """A count as coldvault's JSON holds it: an integer within I-JSON's range, beyond it its
    decimal digits as a string (RFC 7493 section 2.2), so that no count can stop a writer.

    The number of qualifying subsets of a large plan exceeds 2^53 (4 groups of 8 of 16: 2.7e16).
    """
    if value < 0:
        raise ValueError("a count is not negative")
    return value if value <= MAX_SAFE_INTEGER else str(value)


def pretty(document: dict[str, Any], ascii_only: bool = False) -> str:
    """A file's text for people: indented, members in the writer's order, a final line feed (not canonical)."""
    return json.dumps(document, indent=2, ensure_ascii=ascii_only) + "\n"


def b64(data: bytes) -> str:
    """Standard base64 with padding: the one encoding coldvault writes for bytes in JSON."""
    return base64.b64encode(data).decode("ascii")


def is_canonical_base64(value: str) -> bool:
    """Standard base64 with padding that re-encodes to exactly itself (so one byte string has one spelling)."""
    try:
        return b64(base64.b64decode(value, validate=True)) == value
    except (binascii.Error, ValueError):
        return False


def utc_time(moment: datetime) -> str:
    """A timezone-aware moment as coldvault writes it (UTC_TIME_FORMAT): such times compare as text, in time order."""
    return moment.astimezone(timezone.utc).strftime(UTC_TIME_FORMAT)


def is_utc_time(value: Any) -> bool:
    """Exactly YYYY-MM-DDTHH:MM:SSZ, and a real date and time (no month 13, no February 30, no second 61)."""
    if not isinstance(value, str) or not _UTC_TIME.fullmatch(value):
        return False
    try:  # the pattern fixed the shape; this checks the date and time are real (fromisoformat: 20x faster than strptime)
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_hex(value: Any, digits: int | None = None) -> bool:
    """Lower-case hex: `digits` of them, or any even, non-zero number when `digits` is None."""
    if not isinstance(value, str) or not value or not set(value) <= _LOWER_HEX:
        return False
    return len(value) == digits if digits is not None else len(value) % 2 == 0


NOT_TEXT = "is not text: it holds a lone UTF-16 surrogate (an escape like \\udc80), which no UTF-8 file can"


def is_text(value: str) -> bool:
    """A string that UTF-8 can hold: no lone surrogate (Python keeps JSON's "\\udc80" as one)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def key_in_message(key: str) -> str:
    """A key from the input as an error message shows it: as is when it is printable ASCII,
    else as a JSON string, so that no control character from a file reaches the terminal."""
    return key if key.isascii() and key.isprintable() else json.dumps(key)


# ---------------------------------------------------------------- parsing


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


# ---------------------------------------------------------------- locating


class Locator(Protocol):
    """How errors name a field: a format's way of pointing into its file."""

    def subject(self, path: tuple[Step, ...]) -> str:
        """The field as a message's subject ("manifest.scheme.identifier", "threshold")."""
        ...

    def missing(self, path: tuple[Step, ...]) -> str:
        """The message for a required field that is not there."""
        ...

    def unknown(self, path: tuple[Step, ...], allowed: Sequence[str]) -> tuple[str, str]:
        """The message and hint for a field the format does not have."""
        ...

    def error(self, path: tuple[Step, ...], message: str, *hints: str) -> VaultError:
        """The error to raise, with where it is (a line, a file) in front of `message`."""
        ...


@dataclass(frozen=True)
class JsonPath:
    """Names fields by their path from the document's root: `manifest.shares[1].custodian`.

    `prefix` goes in front of every message ("transcript.jsonl line 3: "); `error_type`
    is the error raised (InvalidInput, or CheckFailed for logs, whose damage is a
    failed check rather than bad input).
    """

    root: str
    format: str
    prefix: str = ""
    error_type: type[VaultError] = InvalidInput

    def subject(self, path: tuple[Step, ...]) -> str:
        text = self.root
        for step in path:
            text += f"[{step}]" if isinstance(step, int) else f"{'.' if text else ''}{key_in_message(step)}"
        return text

    def missing(self, path: tuple[Step, ...]) -> str:
        return f"{self.subject(path)} is missing"

    def unknown(self, path: tuple[Step, ...], allowed: Sequence[str]) -> tuple[str, str]:
        return f"{self.subject(path)} is not a field of {self.format}", "readers refuse unknown fields"

    def error(self, path: tuple[Step, ...], message: str, *hints: str) -> VaultError:
        return self.error_type(self.prefix + message, *hints)


# ---------------------------------------------------------------- reading


_MISSING = object()


class Fields:
    """An object from a file, read one field at a time; every error names the field.

    Getters take `null=True` where the format allows JSON null (they return None for
    it) and `absent=True` where the field may be left out (None again).
    """

    TYPE_NAMES: ClassVar[dict[type, str]] = {str: "a string", int: "a whole number", bool: "true or false", dict: "an object", list: "a list"}

    def __init__(self, value: dict[str, Any], locator: Locator, path: tuple[Step, ...] = ()) -> None:
        self.value = value
        self.locator = locator
        self.path = path

    # -- failing

    def fail(self, key: Step | None, predicate: str, *hints: str) -> VaultError:
        """"<field> <predicate>" as the error to raise; key None means this object itself."""
        path = self.path if key is None else (*self.path, key)
        subject = self.locator.subject(path)
        return self.locator.error(path, f"{subject} {predicate}" if subject else predicate, *hints)

    def only(self, allowed: Sequence[str]) -> Fields:
        """Refuse any field not in `allowed`: readers refuse what the format does not specify."""
        for key in self.value:
            if key not in allowed:
                path = (*self.path, key)
                message, hint = self.locator.unknown(path, allowed)
                raise self.locator.error(path, message, hint)
        return self

    # -- plain values

    def get(self, key: str, kind: type[T], *, null: bool = False, absent: bool = False, default: Any = _MISSING,
            expected: str | None = None) -> T:
        """The value at `key`, of Python type `kind` (JSON true is not a number); `expected` says what it should be."""
        if key not in self.value:
            if absent or default is not _MISSING:
                return cast(T, None if default is _MISSING else default)
            raise self.locator.error((*self.path, key), self.locator.missing((*self.path, key)))
        item = self.value[key]
        if item is None and null:
            return cast(T, None)
        if not isinstance(item, kind) or (kind is int and isinstance(item, bool)):
            raise self.fail(key, self._should_be(expected or self.TYPE_NAMES[kind], null))
        if isinstance(item, str) and not is_text(item):
            raise self.fail(key, NOT_TEXT)
        return item

    @staticmethod
    def _should_be(expected: str, null: bool) -> str:
        return f"should be {expected}{' or null' if null else ''}"

    # Each getter returns the common case (a value of the right type and form) at once,
    # and only otherwise builds what its message says it should be: a drill log reads
    # millions of fields.

    def string(self, key: str, *, null: bool = False, absent: bool = False, nonempty: bool = False) -> Any:
        """A string of text: a lone UTF-16 surrogate (a JSON "\\udc80") is not text, and no UTF-8 file can hold it."""
        item = self.value.get(key)
        if type(item) is str and (item or not nonempty) and is_text(item):
            return item
        expected = f"a non-empty {self.TYPE_NAMES[str].removeprefix('a ')}" if nonempty else self.TYPE_NAMES[str]
        item = self.get(key, str, null=null, absent=absent, expected=expected)
        if nonempty and item == "":
            raise self.fail(key, self._should_be(expected, null))
        if item is not None and not is_text(item):
            raise self.fail(key, NOT_TEXT)
        return item

    def integer(self, key: str, low: int | None = None, high: int | None = None, **options: Any) -> Any:
        """A whole number (JSON true is not one), from `low` to `high` where they are given."""
        item = self.value.get(key)
        if type(item) is int and (low is None or item >= low) and (high is None or item <= high):
            return item
        expected = "a whole number" + (f" from {low}" if low is not None else "") + (f" to {high}" if high is not None else "")
        item = self.get(key, int, expected=expected, **options)
        if item is not None and ((low is not None and item < low) or (high is not None and item > high)):
            raise self.fail(key, self._should_be(expected, False))
        return item

    def count(self, key: str) -> int:
        """A whole number from 0 as `count` writes it: one spelling per value, an integer up to 2^53-1, digits above."""
        item = self.value.get(key)
        if type(item) is int and 0 <= item <= MAX_SAFE_INTEGER:
            return item
        if type(item) is str and _BIG_COUNT.fullmatch(item) and int(item) > MAX_SAFE_INTEGER:
            return int(item)
        self.get(key, object)  # missing: say so
        raise self.fail(key, "should be a whole number from 0; above 2^53-1, its decimal digits in a string")

    def boolean(self, key: str, **options: Any) -> Any:
        return self.get(key, bool, **options)

    def choice(self, key: str, choices: Sequence[str], **options: Any) -> Any:
        item = self.value.get(key)
        if type(item) is str and item in choices:
            return item
        expected = f"one of {', '.join(choices)}"
        item = self.get(key, str, expected=expected, **options)
        if item is not None and item not in choices:
            raise self.fail(key, self._should_be(expected, False))
        return item

    def hex(self, key: str, digits: int | None = None, **options: Any) -> Any:
        """Lower-case hex: exactly `digits` of them, or any even number when None."""
        item = self.value.get(key)
        if is_hex(item, digits):
            return item
        expected = f"{f'{digits} ' if digits else ''}lower-case hex digits"
        item = self.get(key, str, expected=expected, **options)
        if item is not None and not is_hex(item, digits):
            raise self.fail(key, self._should_be(expected, False))
        return item

    def base64(self, key: str) -> bytes:
        """Standard base64 with padding, canonical: decoding and re-encoding gives the same text."""
        if key in self.value and not isinstance(self.value[key], str):
            raise self.fail(key, "should be a base64 string")
        item = self.get(key, str)
        try:
            data = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            raise self.fail(key, "is not standard base64") from None
        if b64(data) != item:
            raise self.fail(key, "is not canonical base64 (standard alphabet, with padding)")
        return data

    def time(self, key: str, **options: Any) -> Any:
        """A UTC time to the second, as coldvault writes it."""
        expected = f'UTC to the second, like "{UTC_TIME_EXAMPLE}"'
        item = self.get(key, str, expected=expected, **options)
        if item is not None and not is_utc_time(item):
            raise self.fail(key, self._should_be(expected, False))
        return item

    # -- nested

    def object(self, key: str, *, absent: bool = False, empty: bool = False) -> Any:
        """The object at `key` as `Fields`: when it is left out, None if `absent`, an empty one if `empty`."""
        if key in self.value and not isinstance(self.value[key], dict):
            raise self.fail(key, f"is not {self.TYPE_NAMES[dict]}")
        item = self.get(key, dict, absent=absent, default={} if empty else _MISSING)
        return None if item is None else type(self)(item, self.locator, (*self.path, key))

    def objects(self, key: str) -> list[Fields]:
        """The list at `key`, each item an object."""
        items = self.get(key, list)
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                path = (*self.path, key, index)
                raise self.locator.error(path, f"{self.locator.subject(path)} is not {self.TYPE_NAMES[dict]}")
        return [type(self)(item, self.locator, (*self.path, key, index)) for index, item in enumerate(items)]

    def strings(self, key: str, **options: Any) -> Any:
        """A list of strings of text (None when absent and allowed)."""
        items = self.get(key, list, **options)
        if items is not None and not all(isinstance(item, str) for item in items):
            raise self.fail(key, "should be a list of strings")
        for index, item in enumerate(items or ()):
            if not is_text(item):
                path = (*self.path, key, index)
                raise self.locator.error(path, f"{self.locator.subject(path)} {NOT_TEXT}")
        return items
