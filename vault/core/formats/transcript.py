"""The tamper-evident transcript (`coldvault-transcript/1`) and its optional signature.

Specified byte for byte in docs/transcript.md; this module is that text in code.
Pure: no files, no clock (the time is passed in), no tokens (a token signs the 32
bytes `signature_digest` returns; this module only verifies).

Every line is one event that carries the previous line's hash, so a changed,
removed, inserted or reordered line breaks the chain at that very line, and the
reader names it. Readers accept exactly one byte string per line (its canonical
form), so no edit can hide in white space or escaping. What a chain cannot show
alone is that lines were cut off its end; three anchors can: the head hash the
witnesses wrote down, a signature over a line's hash, and the manifest's hash
recorded in an event. The drill log (`drills.jsonl`) has the same format.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from vault.core.formats import fields
from vault.core.formats.fields import Fields, JsonPath
from vault.core.layout import DRILLS_FILE as DRILLS_FILE
from vault.core.layout import TRANSCRIPT_FILE as TRANSCRIPT_FILE
from vault.errors import CheckFailed, InvalidInput

FORMAT = "coldvault-transcript/1"
SIGNATURE_FORMAT = "coldvault-transcript-signature/1"
SIGNATURE_ALGORITHM = "ecdsa-p256-sha256"
HASH_DOMAIN = FORMAT.encode("ascii") + b"\x00"
SIGNATURE_DOMAIN = SIGNATURE_FORMAT.encode("ascii") + b"\x00"
GENESIS = "0" * 64
"""The `prev` of the first line: there is no line before it."""

MEMBERS = ("seq", "time", "event", "data", "prev", "hash")
SIGNATURE_MEMBERS = (
    "format", "seq", "hash", "algorithm", "public_key", "public_key_sha256", "token_label", "key_label", "signature",
)
SIGNING_MEMBERS = ("public_key_sha256", "token_label", "key_label")
MAX_INTEGER = fields.MAX_SAFE_INTEGER
"""I-JSON's safe range (RFC 7493): every JSON reader gets the same number back (a larger count: `fields.count`)."""
MAX_DEPTH = 16
"""How deeply `data` may nest: every value at most this many levels below `data` (its members are 1 level below;
docs/transcript.md). Events are small records, not documents."""
MAX_EVENT_NAME_LENGTH = 64
MAX_LINE_BYTES = 1 << 20
"""The longest line (without its line feed) readers accept and writers write: a log may grow without
limit, one line may not (a drill record of 256 shares is about 150 KiB)."""
SIGNATURE_LENGTH_BYTES = 64
"""r || s, 32 bytes each, big-endian: what PKCS#11's CKM_ECDSA returns for P-256."""

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


@dataclass(frozen=True)
class Signer:
    """The key a transcript declares it is signed with (its first event's `data.signing`)."""

    public_key_sha256: str
    token_label: str | None = None
    key_label: str | None = None

    def __post_init__(self) -> None:
        if "" in (self.token_label, self.key_label):
            raise ValueError("a signing label is a non-empty string or None: readers refuse an empty one")


@dataclass(frozen=True)
class Signature:
    """`transcript.sig.json`: a token's signature over one line's hash."""

    seq: int
    hash: str
    public_key: bytes
    """SubjectPublicKeyInfo DER of the signing key."""
    public_key_sha256: str
    token_label: str | None
    key_label: str | None
    signature: bytes
    """r || s, 64 bytes."""


@dataclass(frozen=True)
class Verified:
    """What `verify` proved about one log; None where there was nothing to check."""

    name: str
    events: int
    head_seq: int
    head: str
    manifest_sha256: str | None = None
    """The manifest's SHA-256, when a manifest was given (it matched)."""
    manifest_seq: int | None = None
    """The event that recorded it."""
    signed_seq: int | None = None
    """The last line the signature covers; later lines are chained but not signed."""
    signer_public_key_sha256: str | None = None
    signer_token_label: str | None = None
    signer_key_label: str | None = None
    witnessed_seq: int | None = None
    """The line whose hash is the head written down, when one was given."""


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
    problem = _event_name_problem(event) or _data_problem(data)
    if problem:
        raise ValueError(problem)
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    time = now.astimezone(timezone.utc).strftime(fields.UTC_TIME_FORMAT)
    if not fields.is_utc_time(time):  # a year before 1000 is not four digits
        raise ValueError(f"cannot write the time {time!r}")
    seq, prev = (previous.seq + 1, previous.hash) if previous else (0, GENESIS)
    line = Event(seq, time, event, json.loads(fields.canonical(data)), prev, hash="")
    written = dataclasses.replace(line, hash=line_hash(_unhashed(line)))
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


def signing_data(signer: Signer) -> dict[str, Any]:
    """The first event's `data.signing` for a transcript that will be signed by `signer`."""
    return {"public_key_sha256": signer.public_key_sha256, "token_label": signer.token_label, "key_label": signer.key_label}


def _document(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in MEMBERS}


# ---------------------------------------------------------------- reading


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
        or _event_name_problem(event)
        or type(data) is not dict
        or prev != previous_hash
        or type(hash_) is not str  # 64 hex digits: it must equal the hash computed below
        or (text.count("{") + text.count("[") > _BRACKETS_TOO_FEW_TO_NEST_TOO_DEEP and _data_problem(data))
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
    if line_hash(_unhashed(event)) != event.hash:
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
    problem = _event_name_problem(name) or _data_problem(data)
    if problem:
        raise line.fail(None, problem)
    return Event(seq, time, name, data, prev, hash_)


def _unhashed(event: Event) -> dict[str, Any]:
    """The line's members without `hash`: what `hash` is computed over."""
    return {"seq": event.seq, "time": event.time, "event": event.event, "data": event.data, "prev": event.prev}


def _event_name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or len(name) > MAX_EVENT_NAME_LENGTH or not _EVENT_NAME.fullmatch(name):
        return f'event should be a lower-case name of at most {MAX_EVENT_NAME_LENGTH} characters, like "ceremony-started"'
    return None


def _data_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "data should be an object"
    return _value_problem(data, "data", 0)


def _value_problem(value: Any, path: str, depth: int) -> str | None:
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
    return next((p for p in (_value_problem(item, sub, depth + 1) for sub, item in items) if p), None)


# ---------------------------------------------------------------- anchors


def check_manifest(events: tuple[Event, ...], manifest: bytes, name: str = "transcript.jsonl", manifest_name: str = "manifest.json") -> int:
    """The seq of the last event recording `data.manifest_sha256`, if it is the manifest's.

    The last one counts: a ceremony may rewrite its manifest before it ends, and the
    transcript records each version.
    """
    actual = hashlib.sha256(manifest).hexdigest()
    for event in reversed(events):
        if "manifest_sha256" not in event.data:
            continue
        recorded = event.data["manifest_sha256"]
        where = f"{name} line {event.seq + 1}"
        if not fields.is_hex(recorded, 64):
            raise CheckFailed(f"{where}: data.manifest_sha256 should be 64 lower-case hex digits")
        if recorded != actual:
            raise CheckFailed(
                f"{manifest_name} does not match {where} ({event.event}): its SHA-256 is {actual}, "
                f"the transcript recorded {recorded}: the manifest was changed, or it is another ceremony's"
            )
        return event.seq
    raise CheckFailed(f"{name} records no manifest (no event has data.manifest_sha256), but {manifest_name} was given")


def check_head(events: tuple[Event, ...], written_down: str, name: str = "transcript.jsonl") -> int:
    """The seq of the line whose hash is the head the witnesses wrote down.

    Lines after it may have been appended since; they are chained but not witnessed.
    """
    for event in events:
        if event.hash == written_down:
            return event.seq
    last = events[-1]
    raise CheckFailed(
        f"{name}: no line has the head hash written down ({written_down}); the last, line {last.seq + 1}, "
        f"has {last.hash}: lines were removed from its end, or it is another transcript"
    )


def read_head(typed: str) -> str:
    """A head hash as a person typed it: either case, surrounding spaces ignored."""
    return _read_typed_sha256(typed, "the head hash")


def read_key(typed: str, what: str = "--key (the signing key's SHA-256)") -> str:
    """A key's SHA-256 (`--key`) as a person typed it from what the witnesses wrote down: as `read_head`."""
    return _read_typed_sha256(typed, what)


def _read_typed_sha256(typed: str, what: str) -> str:
    """64 hex digits in either case, surrounding spaces ignored; lower case out. Else `InvalidInput` (exit 3)."""
    digest = typed.strip().lower()
    if not fields.is_hex(digest, 64):
        raise InvalidInput(f"{what} should be 64 hex digits; got {len(digest)} characters")
    return digest


def verify(
    events: tuple[Event, ...],
    name: str = "transcript.jsonl",
    manifest: bytes | None = None,
    signature: Signature | None = None,
    written_down: str | None = None,
    manifest_name: str = "manifest.json",
) -> Verified:
    """Every anchor given (and the signature the chain declares) checked against `parse`'s events."""
    signed_seq = check_signature(events, signature, name)
    manifest_seq = check_manifest(events, manifest, name, manifest_name) if manifest is not None else None
    witnessed_seq = check_head(events, written_down, name) if written_down is not None else None
    return Verified(
        name=name,
        events=len(events),
        head_seq=events[-1].seq,
        head=events[-1].hash,
        manifest_sha256=hashlib.sha256(manifest).hexdigest() if manifest is not None else None,
        manifest_seq=manifest_seq,
        signed_seq=signed_seq,
        signer_public_key_sha256=signature.public_key_sha256 if signature else None,
        signer_token_label=signature.token_label if signature else None,
        signer_key_label=signature.key_label if signature else None,
        witnessed_seq=witnessed_seq,
    )


# ---------------------------------------------------------------- signature


def signature_file(name: str) -> str:
    """The signature's file beside a log: transcript.jsonl -> transcript.sig.json."""
    return (name[: -len(".jsonl")] if name.endswith(".jsonl") else name) + ".sig.json"


def signature_digest(head_hash: str) -> bytes:
    """The 32 bytes a token signs with raw ECDSA (CKM_ECDSA) for the line with hash `head_hash`.

    SHA-256 of the domain string and the hash's 64 ASCII hex digits, so a raw ECDSA
    signature over it is an ordinary ECDSA-SHA256 signature over that message.
    """
    if not fields.is_hex(head_hash, 64):
        raise ValueError("a line hash is 64 lower-case hex digits")
    return hashlib.sha256(SIGNATURE_DOMAIN + head_hash.encode("ascii")).digest()


def signature_for(
    event: Event, public_key_der: bytes, raw_signature: bytes, token_label: str | None = None, key_label: str | None = None
) -> Signature:
    """The signature file's contents for `event`, from the token's public key (SPKI DER) and r || s.

    A label is a non-empty string or None (no label): readers refuse an empty one, so it is the caller's bug."""
    if len(raw_signature) != SIGNATURE_LENGTH_BYTES:
        raise ValueError(f"a P-256 signature from CKM_ECDSA has {SIGNATURE_LENGTH_BYTES} bytes")
    if "" in (token_label, key_label):
        raise ValueError("a signing label is a non-empty string or None: readers refuse an empty one")
    return Signature(
        seq=event.seq,
        hash=event.hash,
        public_key=public_key_der,
        public_key_sha256=hashlib.sha256(public_key_der).hexdigest(),
        token_label=token_label,
        key_label=key_label,
        signature=raw_signature,
    )


def signature_to_json(signature: Signature) -> str:
    """The signature file's text: members in the format's order, indented for people."""
    document = {
        "format": SIGNATURE_FORMAT,
        "seq": signature.seq,
        "hash": signature.hash,
        "algorithm": SIGNATURE_ALGORITHM,
        "public_key": fields.b64(signature.public_key),
        "public_key_sha256": signature.public_key_sha256,
        "token_label": signature.token_label,
        "key_label": signature.key_label,
        "signature": fields.b64(signature.signature),
    }
    return fields.pretty(document, ascii_only=True)


def signature_from_json(text: str, name: str = "transcript.sig.json") -> Signature:
    """Parse a signature file, refusing anything the format does not specify exactly."""
    try:
        document = fields.load_object(text, "a transcript signature")
    except InvalidInput as error:
        raise CheckFailed(f"{name}: {error.message}") from None
    signature = Fields(document, JsonPath("", SIGNATURE_FORMAT, f"{name}: ", CheckFailed))
    if document.get("format") != SIGNATURE_FORMAT:
        raise signature.fail(None, f"unknown format {document.get('format')!r}; this coldvault reads {SIGNATURE_FORMAT}")
    signature.only(SIGNATURE_MEMBERS)
    read = Signature(
        seq=signature.integer("seq", 0, MAX_INTEGER),
        hash=signature.hex("hash", 64),
        public_key=signature.base64("public_key"),
        public_key_sha256=signature.hex("public_key_sha256", 64),
        token_label=signature.string("token_label", null=True, nonempty=True),
        key_label=signature.string("key_label", null=True, nonempty=True),
        signature=signature.base64("signature"),
    )
    if signature.get("algorithm", object) != SIGNATURE_ALGORITHM:
        raise signature.fail("algorithm", f"should be {SIGNATURE_ALGORITHM}")
    if hashlib.sha256(read.public_key).hexdigest() != read.public_key_sha256:
        raise signature.fail("public_key_sha256", "is not the SHA-256 of public_key")
    if len(read.signature) != SIGNATURE_LENGTH_BYTES:
        raise signature.fail("signature", f"has {len(read.signature)} bytes; an ECDSA P-256 signature (r || s) has {SIGNATURE_LENGTH_BYTES}")
    return read


def declared_signer(events: tuple[Event, ...], name: str = "transcript.jsonl") -> Signer | None:
    """The key the first event says will sign this transcript, or None (unsigned)."""
    signing = events[0].data.get("signing")
    if signing is None:
        return None
    if (
        not isinstance(signing, dict)
        or tuple(sorted(signing)) != tuple(sorted(SIGNING_MEMBERS))
        or not fields.is_hex(signing["public_key_sha256"], 64)
        or not all(signing[key] is None or (isinstance(signing[key], str) and signing[key]) for key in SIGNING_MEMBERS[1:])
    ):
        raise CheckFailed(
            f"{name} line 1: data.signing should be null or an object with public_key_sha256 "
            "(64 lower-case hex digits), token_label and key_label (non-empty strings or null)"
        )
    return Signer(signing["public_key_sha256"], signing["token_label"], signing["key_label"])


def check_signature(events: tuple[Event, ...], signature: Signature | None, name: str = "transcript.jsonl") -> int | None:
    """The seq of the last line the signature covers, or None for a transcript declared unsigned.

    The chain says whether it is signed, so a signature cannot be dropped unnoticed,
    and one by an undeclared key proves nothing. A signature over an earlier line
    still holds after later lines are appended; those lines are chained, not signed.
    """
    declared = declared_signer(events, name)
    signature_name = signature_file(name)
    if declared is None and signature is None:
        return None
    if declared is None:
        raise CheckFailed(
            f"{signature_name} is present, but {name} does not declare a signing key (line 1 has no data.signing): "
            "a signature by an undeclared key proves nothing"
        )
    if signature is None:
        raise CheckFailed(
            f"{name} declares that it is signed (key SHA-256 {declared.public_key_sha256}), but {signature_name} is missing",
            "restore the signature file from a copy",
        )
    key_sha256 = hashlib.sha256(signature.public_key).hexdigest()
    if key_sha256 != declared.public_key_sha256:
        raise CheckFailed(
            f"{signature_name} is signed by key SHA-256 {key_sha256}, but {name} declares key SHA-256 "
            f"{declared.public_key_sha256}: it is another key's signature"
        )
    _verify_ecdsa(signature, signature_name)
    if signature.seq >= len(events):
        raise CheckFailed(
            f"{signature_name} covers line {signature.seq + 1} (seq {signature.seq}), but {name} ends at line "
            f"{len(events)}: lines were removed from its end"
        )
    if events[signature.seq].hash != signature.hash:
        raise CheckFailed(
            f"{name} line {signature.seq + 1}: its hash is not the one {signature_name} signed: "
            "the transcript was rewritten, or the signature is another transcript's"
        )
    return signature.seq


def _verify_ecdsa(signature: Signature, signature_name: str) -> None:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key

    try:
        key = load_der_public_key(signature.public_key)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CheckFailed(f"{signature_name}: public_key is not a DER SubjectPublicKeyInfo") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CheckFailed(f"{signature_name}: public_key is not an EC P-256 key")
    if key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) != signature.public_key:
        raise CheckFailed(f"{signature_name}: public_key is not in canonical DER (uncompressed point)")
    half = SIGNATURE_LENGTH_BYTES // 2
    r = int.from_bytes(signature.signature[:half], "big")
    s = int.from_bytes(signature.signature[half:], "big")
    try:
        key.verify(
            utils.encode_dss_signature(r, s),
            signature_digest(signature.hash),
            ec.ECDSA(utils.Prehashed(hashes.SHA256())),
        )
    except InvalidSignature:
        raise CheckFailed(
            f"{signature_name}: the signature does not verify: the file was altered, or it was made by another key"
        ) from None
