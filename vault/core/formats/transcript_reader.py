"""Reading a transcript or a drill log (`coldvault-transcript/1`, docs/transcript.md), line by line.

One pass over a log of any length: each line checked as it is read (`read`), by a
fast path that compares the line with its canonical form and a strict reader that
names what is wrong; a cheaper check of the chain alone by the lines' bytes
(`chained`), and one line read in full from the end of a log (`line_at`). Pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from vault.core.formats import fields
from vault.core.formats import transcript as tr
from vault.core.formats.fields import Fields, JsonPath
from vault.core.formats.transcript import (
    FORMAT,
    GENESIS,
    HASH_DOMAIN,
    MAX_DEPTH,
    MAX_INTEGER,
    MAX_LINE_BYTES,
    MEMBERS,
    TRANSCRIPT_FILE,
    Event,
    canonical_line,
    line_hash,
)
from vault.core.layout import DRILLS_FILE
from vault.errors import CheckFailed, InvalidInput

def parse_bytes(data: bytes, name: str = TRANSCRIPT_FILE) -> tuple[Event, ...]:
    """Every event in a file's bytes, or CheckFailed naming the first bad line ("NAME line N: ...", N from 1)."""
    *terminated, last = data.split(b"\n")
    return tuple(read([*(line + b"\n" for line in terminated), *([last] if last else [])], name))


def parse(text: str, name: str = TRANSCRIPT_FILE) -> tuple[Event, ...]:
    """`parse_bytes` for text (its UTF-8 bytes: a non-ASCII character is refused at its byte's column)."""
    return parse_bytes(text.encode("utf-8", "surrogatepass"), name)


def read(lines: Iterable[bytes], name: str = TRANSCRIPT_FILE) -> Iterator[Event]:
    """Each event as its line is read and checked: a log of any length, in one pass, line by line.

    `lines` are the file's lines as a binary file yields them: each with its line
    feed, the last one perhaps without. A reader that must not hold a huge line in
    memory reads at most MAX_LINE_BYTES + 1 bytes at a time (`readline(limit)`): a
    longer line then arrives as a piece without a line feed, and is refused as too
    long. Lines are decoded a batch at a time (at most BATCH_LINES ahead of the
    event yielded). CheckFailed names the first bad line ("NAME line N: ...", N
    from 1); the events before it have been yielded.
    """
    previous: Event | None = None
    number = 0
    for batch in _batches(lines):
        for piece, document in zip(batch, _documents(batch), strict=True):
            number += 1
            terminated = piece.endswith(b"\n")
            line = piece[:-1] if terminated else piece
            if len(line) > MAX_LINE_BYTES:
                raise CheckFailed(f"{name} line {number}: is longer than {MAX_LINE_BYTES // 1024} KiB; coldvault writes no such line")
            if not terminated:
                raise CheckFailed(f"{name} line {number}: has no line ending: the file was cut short, or the line was added by hand")
            previous_hash = previous.hash if previous else GENESIS
            previous = _checked_line(line, number, previous_hash, document) or _parse_line(line.decode("latin-1"), number, previous_hash, name)
            yield previous
    if number == 0:
        raise CheckFailed(f"{name}: the file is empty; a transcript has at least one line")


def chained(lines: Iterable[bytes]) -> list[tuple[bytes, str]] | None:
    """Each line (with its line feed) and its hash, when every line is chained to the one before by
    its bytes alone; None at the first that is not, for `read` to name what is wrong.

    By its bytes alone: ASCII, `{"seq":N,` at its position, a canonical tail
    `,"prev":"...","hash":"..."}` whose `prev` is the previous line's hash, and a `hash`
    that is the SHA-256 of the line as written (the part it covers). Neither the line's
    form nor its content is checked, so this is weaker than `read` and much cheaper (no
    JSON decoded or encoded): a forger can write a line that passes here and not there.
    It is enough only where a later signature vouches for the line, as the drill log's
    attestations do (vault.core.drill.recent_events, docs/attestation.md); `line_at`
    reads, fully, each line that is then used.
    """
    kept: list[tuple[bytes, str]] = []
    previous = GENESIS.encode("ascii")
    for number, line in enumerate(lines):
        cut = len(line) - _TAIL_BYTES  # where `,"hash":"` starts
        if (
            cut < _PREV_BYTES or len(line) > MAX_LINE_BYTES + 1 or not line.isascii()
            or not line.startswith(b'{"seq":%d,' % number) or line[cut:cut + 9] != b',"hash":"' or line[-3:] != b'"}\n'
            or line[cut - _PREV_BYTES:cut - 65] != b',"prev":"' or line[cut - 65:cut - 1] != previous or line[cut - 1:cut] != b'"'
        ):
            return None
        hashed = _HASH_OF_DOMAIN.copy()
        hashed.update(memoryview(line)[:cut])
        hashed.update(b"}")
        digest = hashed.hexdigest()
        if digest.encode("ascii") != line[cut + 9:cut + 73]:
            return None
        kept.append((line, digest))
        previous = line[cut + 9:cut + 73]
    return kept or None


def line_at(line: bytes, number: int, previous_hash: str, name: str = DRILLS_FILE) -> Event:
    """Line `number` (from 1, with its line feed) read as `read` reads it, every rule checked, given the
    hash of the line before it (GENESIS for the first): one line of a log read from its end."""
    if not line.endswith(b"\n"):
        raise CheckFailed(f"{name} line {number}: has no line ending: the file was cut short, or the line was added by hand")
    body = line[:-1]
    return _checked_line(body, number, previous_hash) or _parse_line(body.decode("latin-1"), number, previous_hash, name)


_TAIL_BYTES = len(',"hash":"') + 64 + len('"}\n')
_PREV_BYTES = len(',"prev":"') + 64 + len('"')


BATCH_LINES = 64
BATCH_BYTES = 1 << 20


def _batches(lines: Iterable[bytes]) -> Iterator[list[bytes]]:
    """The lines in batches of BATCH_LINES, or fewer when they add up to BATCH_BYTES."""
    batch: list[bytes] = []
    size = 0
    for piece in lines:
        batch.append(piece)
        size += len(piece)
        if len(batch) == BATCH_LINES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _documents(batch: list[bytes]) -> list[Any]:
    """Each line's JSON value, decoded together as one array; None for each when that fails (each is then decoded alone).

    One call for many lines, and each key made once a batch rather than once a line:
    a long log takes a third less memory. A document is only a guess at its line's
    value: `_checked_line` accepts it only if the line is byte for byte its canonical
    form, so however the array was split, each line is read as exactly what it holds.
    """
    if all(piece.endswith(b"\n") and piece.isascii() for piece in batch):
        try:
            documents = _STRICT_DECODER.decode("[" + b",".join(piece[:-1] for piece in batch).decode("ascii") + "]")
        except (ValueError, RecursionError):
            pass
        else:
            if len(documents) == len(batch):
                return list(documents)
    return [None] * len(batch)


def _checked_line(line: bytes, number: int, previous_hash: str, document: Any = None) -> Event | None:
    """The line's event if it plainly keeps every rule, else None: `_parse_line` then names what is wrong.

    The fast path, for logs of 100,000 lines: the C decoder and encoder do the work,
    and one comparison with the canonical form stands in for the strict reader's
    walks. A key given twice, white space, key order, escaping and number spelling
    all make the line differ from its canonical form; fractions, NaN and integers
    outside I-JSON's range are refused by the decoder's hooks; nesting is walked only
    when the line has enough brackets to be too deep. `document` is the line's value
    when it was decoded with others (`_documents`). Whatever this declines (None),
    the strict reader reads again: the two agree on every line this accepts.
    """
    if not line.isascii():
        return None
    text = line.decode("ascii")
    if document is None:
        try:
            document, end = _STRICT_DECODER.raw_decode(text)
        except (ValueError, RecursionError):
            return None
        if end != len(text):
            return None
    if type(document) is not dict or tuple(document) != MEMBERS:
        return None
    seq, time, event, data, prev, hash_ = document.values()
    if (
        type(seq) is not int
        or seq != number - 1
        or type(time) is not str
        or not fields.is_utc_time(time)
        or tr.event_name_problem(event)
        or type(data) is not dict
        or prev != previous_hash
        or type(hash_) is not str  # 64 hex digits: it must equal the hash computed below
        or (text.count("{") + text.count("[") > _BRACKETS_TOO_FEW_TO_NEST_TOO_DEEP and tr.data_problem(data))
    ):
        return None
    # time, event and prev hold no character JSON escapes, so each is its canonical form in quotes; hash is
    # compared with a hex digest last, so a `hash` that is not 64 hex digits fails there.
    head, tail = f'{{"seq":{seq},"time":"{time}","event":"{event}","data":', f',"prev":"{prev}","hash":"{hash_}"}}'
    if not (text.startswith(head) and text.endswith(tail) and text[len(head):-len(tail)] == fields.canonical(data)):
        return None
    hashed = _HASH_OF_DOMAIN.copy()
    hashed.update(memoryview(line)[: -len(_HASH_MEMBER) - 1])  # the line up to `,"hash":"...` (its 64 digits, `"`, `}`)
    hashed.update(b"}")
    return Event(seq, time, event, data, prev, hash_) if hashed.hexdigest() == hash_ else None


def _whole_number(digits: str) -> int:
    """The decoder's hook for integers: one outside I-JSON's range is refused (ValueError)."""
    value = int(digits)
    if not -MAX_INTEGER <= value <= MAX_INTEGER:
        raise ValueError("outside -(2^53-1)..2^53-1")
    return value


def _no_fraction(text: str) -> Any:
    """The decoder's hook for fractions, exponents, NaN and Infinity: transcripts hold none."""
    raise ValueError(f"{text} is not a whole number")


_STRICT_DECODER = json.JSONDecoder(parse_int=_whole_number, parse_float=_no_fraction, parse_constant=_no_fraction)
_HASH_OF_DOMAIN = hashlib.sha256(HASH_DOMAIN)
_HASH_MEMBER = ',"hash":"' + "0" * 64 + '"'
_BRACKETS_TOO_FEW_TO_NEST_TOO_DEEP = MAX_DEPTH + 1
"""A value more than MAX_DEPTH levels below `data` lies in a container MAX_DEPTH levels below it: `data` and a
container at each level 1..MAX_DEPTH, plus the line's own object, make MAX_DEPTH + 2 brackets at least."""


def _parse_line(line: str, number: int, previous_hash: str, name: str) -> Event:
    """The strict reader: every rule in the order docs/transcript.md lists them; the first broken one is named."""

    def failed(what: str) -> CheckFailed:
        return CheckFailed(f"{name} line {number}: {what}")

    if not line:
        raise failed("is empty")
    if not line.isascii():
        column = next(i for i, c in enumerate(line) if not c.isascii()) + 1
        raise failed(f"has a non-ASCII byte at column {column}: transcripts are ASCII")
    try:
        document = fields.load_object(line, "a transcript line")
    except InvalidInput as error:
        raise failed(error.message) from None
    event = _read_event(Fields(document, JsonPath("", FORMAT, f"{name} line {number}: ", CheckFailed)))
    if canonical_line(document) != line:
        raise failed("is not in canonical form (white space, key order or escaping differs): the line was edited")
    if line_hash(tr.unhashed(event)) != event.hash:
        raise failed("hash does not match its content: the line was changed after it was written")
    if number == 1 and event.prev != GENESIS:
        raise failed("prev is not 64 zeros, as the first line's must be: lines were removed from the start")
    if number > 1 and event.prev != previous_hash:
        raise failed(f"prev is not line {number - 1}'s hash: a line was removed, inserted or reordered")
    if event.seq != number - 1:
        raise failed(f"seq is {event.seq}, expected {number - 1}")
    return event


def _read_event(line: Fields) -> Event:
    """One line's members, each checked: the format's members, in its order, of its types."""
    line.only(MEMBERS)
    for member in MEMBERS:
        line.get(member, object)  # every member is there
    if tuple(line.value) != MEMBERS:
        raise line.fail(None, f"members are not in the order {', '.join(MEMBERS)}")
    seq, time, prev, hash_ = line.integer("seq", 0, MAX_INTEGER), line.time("time"), line.hex("prev", 64), line.hex("hash", 64)
    name, data = line.value["event"], line.value["data"]
    problem = tr.event_name_problem(name) or tr.data_problem(data)
    if problem:
        raise line.fail(None, problem)
    return Event(seq, time, name, data, prev, hash_)
