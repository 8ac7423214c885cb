"""The tamper-evident transcript (`coldvault-transcript/1`): its lines, their rules, and the writer.

Specified byte for byte in docs/transcript.md; this module and its neighbours are that
text in code, split along its seams: the line and its rules, and writing (here);
reading, line by line and fast (`transcript_reader`); the token's signature over a
line (`transcript_signature`); what the chain anchors, a manifest and a head written
down (vault.core.anchor). Pure: no files, no clock (the time is passed in).

Every line is one event that carries the previous line's hash, so a changed,
removed, inserted or reordered line breaks the chain at that very line, and the
reader names it. Readers accept exactly one byte string per line (its canonical
form), so no edit can hide in white space or escaping. What a chain cannot show
alone is that lines were cut off its end; anchors can: the head hash the witnesses
wrote down, a signature or a seal over a line's hash, and the manifest's hash
recorded in an event. The drill log (`drills.jsonl`) has the same format.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from vault.core.formats import fields
from vault.core.layout import DRILLS_FILE as DRILLS_FILE
from vault.core.layout import TRANSCRIPT_FILE as TRANSCRIPT_FILE
from vault.errors import InvalidInput

FORMAT = "coldvault-transcript/1"
HASH_DOMAIN = FORMAT.encode("ascii") + b"\x00"
GENESIS = "0" * 64
"""The `prev` of the first line: there is no line before it."""

MEMBERS = ("seq", "time", "event", "data", "prev", "hash")
MAX_INTEGER = fields.MAX_SAFE_INTEGER
"""I-JSON's safe range (RFC 7493): every JSON reader gets the same number back (a larger count: `fields.count`)."""
MAX_DEPTH = 16
"""How deeply `data` may nest: every value at most this many levels below `data` (its members are 1 level below;
docs/transcript.md). Events are small records, not documents."""
MAX_EVENT_NAME_LENGTH = 64
MAX_LINE_BYTES = 1 << 20
"""The longest line (without its line feed) readers accept and writers write: a log may grow without
limit, one line may not (a drill record of 256 shares is about 150 KiB)."""

_EVENT_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class Event:
    """One line of a transcript. `data` is the event's own copy: never mutate it."""

    seq: int
    time: str
    event: str
    data: dict[str, Any]
    prev: str
    hash: str


@dataclass(frozen=True)
class Chain:
    """A transcript in memory: an immutable value; `append` returns a new one."""

    events: tuple[Event, ...] = ()


# ---------------------------------------------------------------- writing


def start() -> Chain:
    """An empty transcript; its first event's `prev` is GENESIS."""
    return Chain()


def append(chain: Chain, event: str, data: dict[str, Any], now: datetime) -> Chain:
    """`chain` with one more event at `now` (timezone-aware; written in UTC to the second).

    A bad name or value is the caller's bug (ValueError), not user input. `data` is
    copied, so the caller may reuse its dict.
    """
    return Chain((*chain.events, next_event(chain.events[-1] if chain.events else None, event, data, now)))


def next_event(previous: Event | None, event: str, data: dict[str, Any], now: datetime) -> Event:
    """The event after `previous` (None: the first line): what `append` adds, for a writer that keeps only the last line.

    A line longer than MAX_LINE_BYTES is `InvalidInput`: only input can make one (a plan's many names, a drill's many paths).
    """
    problem = event_name_problem(event) or data_problem(data)
    if problem:
        raise ValueError(problem)
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    time = now.astimezone(timezone.utc).strftime(fields.UTC_TIME_FORMAT)
    if not fields.is_utc_time(time):  # a year before 1000 is not four digits
        raise ValueError(f"cannot write the time {time!r}")
    seq, prev = (previous.seq + 1, previous.hash) if previous else (0, GENESIS)
    line = Event(seq, time, event, json.loads(fields.canonical(data)), prev, hash="")
    written = dataclasses.replace(line, hash=line_hash(unhashed(line)))
    size = len(to_line(written)) - 1
    if size > MAX_LINE_BYTES:  # what the input holds (names, paths) made it so: refused before it is written
        raise InvalidInput(f"the {event} line would be {size} bytes; a transcript line may hold {MAX_LINE_BYTES} (1 MiB)")
    return written


def head(chain: Chain) -> str:
    """The hash of the last line (GENESIS for an empty chain): what witnesses write down."""
    return chain.events[-1].hash if chain.events else GENESIS


def to_text(chain: Chain) -> str:
    """The whole file: every line in canonical form, each ending in a line feed."""
    return "".join(to_line(event) for event in chain.events)


def to_line(event: Event) -> str:
    """One line, with its line feed: what an append-only writer adds to the file."""
    return canonical_line(_document(event)) + "\n"


def canonical_line(document: dict[str, Any]) -> str:
    """Members in the document's order (the format's), each value canonical (nested keys sorted, no white space, ASCII)."""
    return "{" + ",".join(f"{fields.canonical(key)}:{fields.canonical(value)}" for key, value in document.items()) + "}"


def line_hash(unhashed: dict[str, Any]) -> str:
    """SHA-256 of the domain string and the canonical line without its `hash` member, hex."""
    return _hash_of(canonical_line(unhashed))


def _hash_of(unhashed_line: str) -> str:
    return hashlib.sha256(HASH_DOMAIN + unhashed_line.encode("ascii")).hexdigest()


def _document(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in MEMBERS}


# ---------------------------------------------------------------- the rules every line keeps


def unhashed(event: Event) -> dict[str, Any]:
    """The line's members without `hash`: what `hash` is computed over."""
    return {"seq": event.seq, "time": event.time, "event": event.event, "data": event.data, "prev": event.prev}


def event_name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or len(name) > MAX_EVENT_NAME_LENGTH or not _EVENT_NAME.fullmatch(name):
        return f'event should be a lower-case name of at most {MAX_EVENT_NAME_LENGTH} characters, like "ceremony-started"'
    return None


def data_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "data should be an object"
    return value_problem(data, "data", 0)


def value_problem(value: Any, path: str, depth: int) -> str | None:
    """What is wrong with a value `depth` levels below `data` (`data` itself: 0), or None: JSON without floats,
    safe integers, at most MAX_DEPTH levels below `data`."""
    if depth > MAX_DEPTH:
        return f"{path} is nested more than {MAX_DEPTH} levels deep"
    if value is None or isinstance(value, (bool, str)):
        return None
    if isinstance(value, int):
        return None if -MAX_INTEGER <= value <= MAX_INTEGER else f"{path} is outside -(2^53-1)..2^53-1"
    if isinstance(value, float):
        return f"{path} is not a whole number (transcripts hold no fractions, exponents, NaN or Infinity)"
    if isinstance(value, list):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    elif isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return f"{path} has a key that is not a string"
        items = ((f"{path}.{fields.key_in_message(key)}", item) for key, item in value.items())
    else:
        return f"{path} is a {type(value).__name__}, not a JSON value"
    return next((p for p in (value_problem(item, sub, depth + 1) for sub, item in items) if p), None)
