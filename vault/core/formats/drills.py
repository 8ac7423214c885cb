"""The drill log's records: the `data` of each `drill` event in `drills.jsonl` (docs/drills.md).

The log itself is a transcript chain (vault.core.formats.transcript); this module is
what one line of it says: which vault, which shares were checked and how each did,
what the quorum proved, and the verdict. A chain proves nobody changed a line since
it was hashed, not that `drill run` wrote it, so a record is read as strictly as any
other coldvault file: every field of the format, of its type, and nothing else; a
record that is not one is refused naming its line, never half-trusted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from vault.core.formats import fields
from vault.core.formats.fields import Fields, JsonPath
from vault.core.formats.transcript import DRILLS_FILE, Event
from vault.errors import InvalidInput

EVENT_DRILL = "drill"
FORMAT = "the drill record of coldvault-transcript/1"


class DrillKind(enum.StrEnum):
    QUORUM = "quorum"
    """A drill: a quorum is brought and the secret's fingerprint proven."""
    SHARES = "shares"
    """A partial drill: one or more shares checked alone (e.g. at a branch office)."""


class Result(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_ATTEMPTED = "not-attempted"
    """A partial drill's quorum."""


@dataclass(frozen=True)
class ShareCheck:
    """One share brought to a drill, and how it did."""

    source: str
    """The file, or "typed share N"."""
    share_fingerprint: str | None
    """None when nothing could be read (an envelope whose token failed and whose header is unreadable)."""
    custodian: str | None
    group_index: int | None
    member_index: int | None
    result: Result
    reason: str


@dataclass(frozen=True)
class QuorumCheck:
    result: Result
    reason: str
    qualifying_subsets: int


@dataclass(frozen=True)
class DrillRecord:
    drill_id: str
    kind: DrillKind
    ceremony_id: str
    manifest_sha256: str
    """The SHA-256 of the manifest file the drill was judged against."""
    operator: str | None
    witnesses: tuple[str, ...]
    shares: tuple[ShareCheck, ...]
    quorum: QuorumCheck
    result: Result
    reasons: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.result is Result.PASSED


KINDS = tuple(DrillKind)
RESULTS = tuple(Result)
VERDICTS = (Result.PASSED, Result.FAILED)
"""Made once: iterating an enum costs more than reading the field it checks (a log reads 100,000 records)."""

RECORD_FIELDS = ("drill_id", "kind", "ceremony_id", "manifest_sha256", "operator", "witnesses", "shares", "quorum", "result", "reasons")
SHARE_FIELDS = ("source", "share_fingerprint", "custodian", "group_index", "member_index", "result", "reason")
QUORUM_FIELDS = ("result", "reason", "qualifying_subsets")


def to_data(record: DrillRecord) -> dict[str, Any]:
    """The record as the `data` of a `drill` event, fields in the format's order."""
    return {
        "drill_id": record.drill_id,
        "kind": record.kind.value,
        "ceremony_id": record.ceremony_id,
        "manifest_sha256": record.manifest_sha256,
        "operator": record.operator,
        "witnesses": list(record.witnesses),
        "shares": [{name: _plain(getattr(check, name)) for name in SHARE_FIELDS} for check in record.shares],
        "quorum": {**{name: _plain(getattr(record.quorum, name)) for name in QUORUM_FIELDS},
                   "qualifying_subsets": fields.count(record.quorum.qualifying_subsets)},
        "result": record.result.value,
        "reasons": list(record.reasons),
    }


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def from_event(event: Event, name: str = DRILLS_FILE) -> DrillRecord:
    """The record of a `drill` event; `InvalidInput` naming the line when it is not one as `drill run` writes it."""
    data = Fields(event.data, JsonPath("data", FORMAT, f"{name} line {event.seq + 1}: not a drill record as `coldvault drill run` "
                                                      "writes it (docs/drills.md): "))
    data.only(RECORD_FIELDS)
    quorum = data.object("quorum").only(QUORUM_FIELDS)
    return DrillRecord(
        drill_id=data.string("drill_id", nonempty=True),
        kind=DrillKind(data.choice("kind", KINDS)),
        ceremony_id=data.string("ceremony_id"),
        manifest_sha256=data.hex("manifest_sha256", 64),
        operator=data.string("operator", null=True),
        witnesses=tuple(data.strings("witnesses")),
        shares=tuple(_share_check(check) for check in data.objects("shares")),
        quorum=QuorumCheck(Result(quorum.choice("result", RESULTS)), quorum.string("reason"),
                           quorum.count("qualifying_subsets")),
        result=Result(data.choice("result", VERDICTS)),
        reasons=tuple(data.strings("reasons")),
    )


def _share_check(check: Fields) -> ShareCheck:
    check.only(SHARE_FIELDS)
    return ShareCheck(
        source=check.string("source"),
        share_fingerprint=check.hex("share_fingerprint", 32, null=True),
        custodian=check.string("custodian", null=True),
        group_index=check.integer("group_index", 0, 15, null=True),
        member_index=check.integer("member_index", 0, 15, null=True),
        result=Result(check.choice("result", VERDICTS)),
        reason=check.string("reason"),
    )


def records_of(events: tuple[Event, ...] | list[Event], ceremony_id: str, name: str = DRILLS_FILE) -> list[tuple[Event, DrillRecord]]:
    """The drills of the vault `ceremony_id` in a log, in log order, each read strictly."""
    try:
        return [(event, from_event(event, name)) for event in events
                if event.event == EVENT_DRILL and event.data.get("ceremony_id") == ceremony_id]
    except InvalidInput as error:
        raise InvalidInput(error.message, *error.hints,
                           "the line is well chained, so it was written with the chain in mind: find out who wrote it") from None
