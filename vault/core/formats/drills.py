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
from typing import Any, TypeGuard, TypeVar

from vault.core.formats import fields
from vault.core.formats.fields import Fields, JsonPath
from vault.core.formats.transcript import DRILLS_FILE, Event, canonical_line

ATTESTATION_DOMAIN = b"coldvault-drill-attestation/1\x00"
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


class Signer(enum.StrEnum):
    VAULT = "vault"
    """The vault's key, derived from the secret: a quorum recovered it."""
    SHARE = "share"
    """A share's key, derived from the share: its holder brought it."""


@dataclass(frozen=True)
class Attestation:
    """A signature over the record (docs/attestation.md) by the vault's key or one share's key."""

    signer: Signer
    share_fingerprint: str | None
    """Which share signed; None for the vault."""
    signature: str
    """Base64 of the 64-byte Ed25519 signature."""


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
    attestations: tuple[Attestation, ...] = ()
    """Absent from records written before attestation (read as none)."""

    @property
    def passed(self) -> bool:
        return self.result is Result.PASSED


KINDS = tuple(DrillKind)
RESULTS = tuple(Result)
VERDICTS = (Result.PASSED, Result.FAILED)
"""Made once: iterating an enum costs more than reading the field it checks (a log reads 100,000 records)."""

RECORD_FIELDS = ("drill_id", "kind", "ceremony_id", "manifest_sha256", "operator", "witnesses", "shares", "quorum", "result", "reasons",
                 "attestations")
SHARE_FIELDS = ("source", "share_fingerprint", "custodian", "group_index", "member_index", "result", "reason")
QUORUM_FIELDS = ("result", "reason", "qualifying_subsets")
ATTESTATION_FIELDS = ("signer", "share_fingerprint", "signature")


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
        "attestations": [{name: _plain(getattr(a, name)) for name in ATTESTATION_FIELDS} for a in record.attestations],
    }


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def from_event(event: Event, name: str = DRILLS_FILE) -> DrillRecord:
    """The record of a `drill` event; `InvalidInput` naming the line when it is not one as `drill run` writes it.

    A record read once is remembered by its line's hash (which fixes every byte of the
    line, `data` among them): readiness reads the lines it needs, then weighs them, and
    `fleet status` does so for every vault, so each record would otherwise be read twice.
    """
    read = _READ.get(event.hash)
    if read is None:
        read = _as_written(event.data) or _read_strictly(event, name)
        if len(_READ) >= READ_CACHE_RECORDS:
            _READ.clear()
        _READ[event.hash] = read
    return read


READ_CACHE_RECORDS = 4096
"""How many records `from_event` remembers: enough for the lines one vault's readiness reads twice."""
_READ: dict[str, DrillRecord] = {}


def _read_strictly(event: Event, name: str) -> DrillRecord:
    """Field by field, each checked and named: the reference reader, and the one that says what is wrong."""
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
        attestations=tuple(_attestation(a) for a in data.objects("attestations")) if "attestations" in data.value else (),
    )


def _attestation(attestation: Fields) -> Attestation:
    attestation.only(ATTESTATION_FIELDS)
    signer = Signer(attestation.choice("signer", tuple(Signer)))
    fingerprint = attestation.hex("share_fingerprint", 32, null=True)
    if (fingerprint is None) != (signer is Signer.VAULT):
        raise attestation.fail("share_fingerprint", "is given for a share's attestation, and only for one")
    signature = attestation.base64("signature")
    if len(signature) != SIGNATURE_LENGTH_BYTES:
        raise attestation.fail("signature", "should be 64 bytes (an Ed25519 signature)")
    return Attestation(signer, fingerprint, attestation.value["signature"])


def signed_message(event: Event) -> bytes:
    """What every attestation of a drill record signs (docs/attestation.md): the domain, then the
    record's line without its `hash` and without `data.attestations`, in canonical form.

    It binds the vault and the manifest (in the record), the time, every result and the
    previous line's hash: the log as the signer saw it, so a record cannot be re-dated,
    moved to another log or vault, or changed, without its signatures failing.
    """
    data = {key: value for key, value in event.data.items() if key != "attestations"}
    unsigned = {"seq": event.seq, "time": event.time, "event": event.event, "data": data, "prev": event.prev}
    return ATTESTATION_DOMAIN + canonical_line(unsigned).encode("ascii")


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


_RECORD_KEYS, _SHARE_KEYS, _QUORUM_KEYS = frozenset(RECORD_FIELDS), frozenset(SHARE_FIELDS), frozenset(QUORUM_FIELDS)
_ATTESTATION_KEYS = frozenset(ATTESTATION_FIELDS)
E = TypeVar("E", DrillKind, Result, Signer)
_KIND_OF = {kind.value: kind for kind in DrillKind}
_RESULT_OF = {result.value: result for result in Result}
_VERDICT_OF = {result.value: result for result in VERDICTS}
_SIGNER_OF = {signer.value: signer for signer in Signer}
SIGNATURE_LENGTH_BYTES = 64
SIGNATURE_BASE64_LENGTH = 88
"""An Ed25519 signature (64 bytes) in standard base64 with padding: 86 characters, then "=="."""


def _as_written(data: dict[str, Any]) -> DrillRecord | None:
    """The record when every field is plainly as `drill run` writes it, else None: `_read_strictly` then says what is wrong.

    For logs of 100,000 records (a quarter of the strict reader's time): the same
    checks, without naming fields. tests/test_scale.py checks that it accepts only
    what the strict reader accepts, as the same record.
    """
    if data.keys() != _RECORD_KEYS:
        return None  # a record written before attestation, without `attestations`, is read strictly
    quorum, shares, attestations = data["quorum"], data["shares"], _attestations_as_written(data["attestations"])
    if type(quorum) is not dict or quorum.keys() != _QUORUM_KEYS or type(shares) is not list:
        return None
    kind, result, quorum_result = _member(_KIND_OF, data["kind"]), _member(_VERDICT_OF, data["result"]), _member(_RESULT_OF, quorum["result"])
    subsets, checks = quorum["qualifying_subsets"], tuple(_share_as_written(check) for check in shares)
    if (
        kind is None or result is None or quorum_result is None or not _all_read(checks) or attestations is None
        or not (_text(data["drill_id"]) and data["drill_id"]) or not _text(data["ceremony_id"])
        or not fields.is_hex(data["manifest_sha256"], 64) or not (data["operator"] is None or _text(data["operator"]))
        or not _texts(data["witnesses"]) or not _texts(data["reasons"]) or not _text(quorum["reason"])
        or not (type(subsets) is int and 0 <= subsets <= fields.MAX_SAFE_INTEGER)
    ):
        return None
    return DrillRecord(data["drill_id"], kind, data["ceremony_id"], data["manifest_sha256"], data["operator"],
                       tuple(data["witnesses"]), checks, QuorumCheck(quorum_result, quorum["reason"], subsets), result, tuple(data["reasons"]),
                       attestations)


def _attestations_as_written(items: Any) -> tuple[Attestation, ...] | None:
    """Each `{"signer", "share_fingerprint", "signature"}` as `drill run` writes it, else None."""
    if type(items) is not list:
        return None
    read = []
    for item in items:
        if type(item) is not dict or item.keys() != _ATTESTATION_KEYS:
            return None
        signer, fingerprint, signature = _member(_SIGNER_OF, item["signer"]), item["share_fingerprint"], item["signature"]
        if (
            signer is None or (fingerprint is None) != (signer is Signer.VAULT)
            or not (fingerprint is None or fields.is_hex(fingerprint, 32))
            or type(signature) is not str or len(signature) != SIGNATURE_BASE64_LENGTH or not signature.endswith("==")
            or not fields.is_canonical_base64(signature)
        ):
            return None
        read.append(Attestation(signer, fingerprint, signature))
    return tuple(read)


def _share_as_written(check: Any) -> ShareCheck | None:
    if type(check) is not dict or check.keys() != _SHARE_KEYS:
        return None
    fingerprint, custodian, group, member = check["share_fingerprint"], check["custodian"], check["group_index"], check["member_index"]
    result = _member(_VERDICT_OF, check["result"])
    if (
        result is None or not _text(check["source"]) or not _text(check["reason"])
        or not (fingerprint is None or fields.is_hex(fingerprint, 32)) or not (custodian is None or _text(custodian))
        or not (group is None or (type(group) is int and 0 <= group <= 15))
        or not (member is None or (type(member) is int and 0 <= member <= 15))
    ):
        return None
    return ShareCheck(check["source"], fingerprint, custodian, group, member, result, check["reason"])


def _all_read(checks: tuple[ShareCheck | None, ...]) -> TypeGuard[tuple[ShareCheck, ...]]:
    return None not in checks


def _member(members: dict[str, E], value: Any) -> E | None:
    return members.get(value) if type(value) is str else None


def _text(value: Any) -> bool:
    return type(value) is str and (value.isascii() or fields.is_text(value))


def _texts(values: Any) -> bool:
    return type(values) is list and all(_text(value) for value in values)
