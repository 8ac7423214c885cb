"""Recovery drills and readiness: what a drill proved, and whether the vault is recoverable today.

Pure: a drill's `Proof` (vault.core.proof) becomes a record for the drill log
(`drills.jsonl`, a transcript chain, docs/drills.md); the log's events become a
readiness verdict as of a date. Nothing here sees a secret: the proof dropped it
after comparing fingerprints, and records hold fingerprints and custodians only.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from vault.core import proof as pf
from vault.core.events import DRILL
from vault.core.evidence import Drill as Drill
from vault.core.evidence import Finding, Stamp, examine
from vault.core.formats import transcript
from vault.core.formats import transcript_reader
from vault.core.formats.drills import DrillKind, DrillRecord, QuorumCheck, Result, ShareCheck, from_event
from vault.core.formats.manifest import MAX_DRILL_INTERVAL_DAYS, Manifest, ShareEntry
from vault.core.formats.transcript import Event
from vault.core.scheme import describe_group


@dataclass(frozen=True)
class Outcome:
    """A drill's verdict: what the log records and the person is told."""

    record: DrillRecord

    @property
    def passed(self) -> bool:
        return self.record.passed

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.record.reasons


def outcome(proof: pf.Proof, manifest: Manifest, kind: DrillKind, drill_id: str, operator: str | None,
            witnesses: Sequence[str], manifest_sha256: str) -> Outcome:
    """Judge a drill from its proof. A quorum drill passes only if the secret's fingerprint
    matched; a partial drill passes if every share brought is good."""
    shares = [_share_check(result, manifest) for result in proof.shares if result.status != pf.ShareStatus.DUPLICATE]
    reasons = [f"{s.custodian or s.source}: {s.reason}" for s in shares if s.result is Result.FAILED]
    reasons += [f"{describe_group(g.index, len(proof.groups), g.name)}: {g.detail}" for g in proof.groups
                if g.status == pf.GroupStatus.INCONSISTENT]
    if kind is DrillKind.QUORUM:
        quorum_result, quorum_reason = _quorum(proof)
        if quorum_result is not Result.PASSED:
            reasons.append(quorum_reason)
    else:
        quorum_result, quorum_reason = Result.NOT_ATTEMPTED, "a partial drill: shares checked alone"
    return Outcome(DrillRecord(
        drill_id=drill_id,
        kind=kind,
        ceremony_id=manifest.ceremony.id,
        manifest_sha256=manifest_sha256,
        operator=operator,
        witnesses=tuple(witnesses),
        shares=tuple(shares),
        quorum=QuorumCheck(quorum_result, quorum_reason, proof.qualifying_subsets),
        result=Result.FAILED if reasons else Result.PASSED,
        reasons=tuple(reasons),
    ))


def _share_check(result: pf.ShareResult, manifest: Manifest) -> ShareCheck:
    entry = manifest.share_by_fingerprint(result.share_fingerprint) if result.share_fingerprint else None
    good = result.status == pf.ShareStatus.OK
    return ShareCheck(
        source=result.source,
        share_fingerprint=result.share_fingerprint,
        custodian=entry.custodian if entry else None,
        group_index=result.group_index,
        member_index=result.member_index,
        result=Result.PASSED if good else Result.FAILED,
        reason="listed in the manifest, checksum and group agree" if good else f"{result.status}: {result.detail}",
    )


def _quorum(proof: pf.Proof) -> tuple[Result, str]:
    """The quorum's result and, when it failed, why in the user's terms."""
    status, detail = proof.secret_status, proof.secret_detail
    if status == pf.SecretStatus.MATCHES:
        return Result.PASSED, f"the secret's fingerprint matched the manifest ({proof.qualifying_subsets} minimal qualifying subsets)"
    if status == pf.SecretStatus.MISMATCH:
        return Result.FAILED, f"wrong passphrase (most likely): {detail}"
    if status == pf.SecretStatus.UNVERIFIED:
        missing = [f"{describe_group(g.index, len(proof.groups), g.name)} has {g.present} of {g.member_threshold} needed"
                   for g in proof.groups if g.status == pf.GroupStatus.UNVERIFIED and g.present]
        return Result.FAILED, "no quorum: " + (detail + ("; " + "; ".join(missing) if missing else ""))
    return Result.FAILED, detail


# ---------------------------------------------------------------- readiness


class State(enum.StrEnum):
    """Where a share stands on the as-of day, as the status, JSON and report say it."""

    CURRENT = "current"
    FAILED = "failed"
    """Its latest check failed: not current, whatever the date."""
    OVERDUE = "overdue"
    NEVER_VERIFIED = "never-verified"
    """Not checked since it was made: its envelope could not be opened then, or it is not made yet."""
    REPLACED = "replaced"
    """`extend --replaces` gave its place to a new share: it no longer counts, whatever its checks."""


@dataclass(frozen=True)
class Check:
    """One check of one share: the day, whether it passed, and why it failed."""

    day: date
    passed: bool
    reason: str = ""


@dataclass(frozen=True)
class ShareReadiness:
    entry: ShareEntry
    last_verified: date | None
    due: date | None
    """The last day the last passed check still counts; None if never verified."""
    current: bool
    failed: Check | None = None
    """The first failed check after the last passed one: the share is not current, whatever its date."""

    @property
    def state(self) -> State:
        if self.entry.replaced is not None:
            return State.REPLACED
        if self.failed is not None:
            return State.FAILED
        if self.current:
            return State.CURRENT
        return State.OVERDUE if self.due is not None else State.NEVER_VERIFIED


@dataclass(frozen=True)
class GroupReadiness:
    index: int
    name: str | None
    needed: int
    current: int
    ready: bool


@dataclass(frozen=True)
class Readiness:
    as_of: date
    interval_days: int
    shares: tuple[ShareReadiness, ...]
    groups: tuple[GroupReadiness, ...]
    groups_needed: int
    recoverable: bool
    weakest: tuple[str, ...]
    """One sentence per weak point, worst first."""
    last_quorum_drill: date | None
    drills: tuple[Drill, ...] = ()
    """The checks that counted: this vault's attested records up to the as-of day."""
    findings: tuple[Finding, ...] = ()
    """Lines that cannot be trusted (never counted): the log was tampered with (vault.core.evidence)."""
    doubts: tuple[Finding, ...] = ()
    """Records dated before the line before them: counted in the log's order, named as weak points."""
    unattested: bool = False
    """The manifest lacks attestation keys (an older vault): its checks are not proven to come from the shares."""
    logged: int = 0
    """Lines in the drill log, counted or not."""

    @property
    def tampered(self) -> bool:
        return bool(self.findings)


LATEST_AS_OF = date.max - timedelta(days=MAX_DRILL_INTERVAL_DAYS + 1)
"""The last day readiness can be computed for: a check on it is still due, and overdue the day after, within the calendar."""


def readiness(manifest: Manifest, events: Sequence[Event], as_of: date, every_signature: bool = False,
              log_name: str = "drills.jsonl", *, now: datetime, stamps: Sequence[Stamp] | None = None) -> Readiness:
    """Per share, group and vault: recoverable from shares verified within the drill interval?

    Only checks that verify count (vault.core.evidence): a record whose signatures do
    not verify is a finding, never a check. A passed check on day D counts through
    day D + interval (inclusive), unless the share failed a check since (a lost card,
    a forgotten PIN: the latest word wins). A share's own result counts, whatever the
    drill's: a good share brought to a drill that failed for want of a quorum was
    still verified. Checks after `as_of` are ignored, so a past date shows the vault as
    it stood then, but a record dated after `now` (the reader's clock) is a finding
    whatever the as-of day. Checks are taken in the log's order, not their dates'
    (a record dated before the line before it is a doubt, named). The ceremony that
    made the shares counts as every listed share's first check (it proved them all),
    except a share whose envelope it could not open; a share `extend` added counts as
    checked on the day it was issued. `stamps`: every line's, when `events` are only some.
    """
    evidence = examine(manifest, events, every_signature, log_name, now=now, stamps=stamps)
    interval = manifest.policy.drill_interval_days
    drills = tuple(drill for drill in evidence.drills if day_of(drill[0]) <= as_of)
    checks = checks_by_share(drills)
    shares = tuple(_share_readiness(entry, checks.get(entry.share_fingerprint, []), interval, as_of, issued_day(manifest, entry))
                   for entry in manifest.shares)
    groups = tuple(
        GroupReadiness(g.index, g.name, g.member_threshold, current, current >= g.member_threshold)
        for g in manifest.scheme.groups
        for current in [sum(1 for s in shares if s.entry.group_index == g.index and s.current)]
    )
    ready = sum(1 for g in groups if g.ready)
    quorum_days = [day_of(event) for event, record in drills if record.kind is DrillKind.QUORUM and record.passed]
    result = Readiness(
        as_of, interval, shares, groups, manifest.scheme.group_threshold, ready >= manifest.scheme.group_threshold, (),
        max(quorum_days) if quorum_days else None, drills, evidence.findings, evidence.doubts, evidence.unattested, len(events),
    )
    return dataclasses.replace(result, weakest=tuple(_weakest(result, manifest)))


def readiness_from_end(manifest: Manifest, lines: Sequence[bytes], as_of: date, log_name: str = "drills.jsonl", *,
                       now: datetime) -> Readiness:
    """`readiness`, reading the log's lines from the end only as far back as the verdict needs.

    The verdict needs, for each share, its last passed check on or before `as_of` and
    every check after it, and the last passed quorum drill. Lines before those are only
    chained (`transcript_reader.chained`: their hashes, not their form or content), which is
    enough because each share's last check is signed over the previous line's hash and
    `drill run` reads every line before it signs (docs/attestation.md, "Cost").
    Every line's time and event are read from its first bytes (`line_stamps`), for
    what a signature does not cover (vault.core.evidence). It is used only when every
    signer has a key, and gives the same readiness as reading every line; when
    anything does not verify, every line is read, so that each bad one is named.
    """
    chain = transcript_reader.chained(lines)
    attested = manifest.attestation is not None and all(entry.attestation_public_key for entry in manifest.shares)
    if chain is not None and attested and (stamps := line_stamps(chain)) is not None:
        ready = readiness(manifest, recent_events(manifest, chain, as_of, log_name), as_of, log_name=log_name, now=now, stamps=stamps)
        if not ready.tampered:
            return dataclasses.replace(ready, logged=len(chain))
    return readiness(manifest, tuple(transcript_reader.read(lines, log_name)), as_of, log_name=log_name, now=now)


_STAMP = re.compile(rb'\{"seq":[0-9]+,"time":"([^"]{20})","event":"([^"]{1,64})",')
"""How every line starts (`transcript.to_line`); `chained` has checked its seq, and `read` checks the rest of a line read in full."""


def line_stamps(chain: Sequence[tuple[bytes, str]]) -> list[Stamp] | None:
    """Each chained line's seq, time and event, read from its first bytes; None when a line does not start so
    (every line is then read in full, and the one that is wrong is named). One match a line: 100,000 lines in a few tenths of a second."""
    found = [_STAMP.match(line) for line, _hash in chain]
    if not all(found):
        return None
    return [(seq, match[1].decode("ascii"), match[2].decode("ascii")) for seq, match in enumerate(found) if match]


def recent_events(manifest: Manifest, chain: Sequence[tuple[bytes, str]], as_of: date, name: str) -> tuple[Event, ...]:
    """The events readiness needs (see `readiness_from_end`), each line read in full, in log order.

    Every line after the earliest of the shares' last passes is read; so is the last
    passed quorum drill, found among the lines that mention one (`"kind":"quorum"`,
    as canonical JSON writes it) without reading the lines between.
    """
    needed = {entry.share_fingerprint for entry in manifest.shares}
    read: dict[int, Event] = {}
    number = len(chain)
    while needed and number:
        event = _line(chain, number, name)
        read[number] = event
        if event.event == DRILL and day_of(event) <= as_of:
            needed -= {check.share_fingerprint for check in from_event(event, name).shares if check.result is Result.PASSED}
        number -= 1
    for candidate in range(len(chain), 0, -1):
        if _QUORUM_MARK in chain[candidate - 1][0]:
            if candidate not in read:  # a line already read above is not read again
                read[candidate] = _line(chain, candidate, name)
            event = read[candidate]
            record = from_event(event, name) if event.event == DRILL else None
            if record and record.kind is DrillKind.QUORUM and record.passed and day_of(event) <= as_of:
                break
    return tuple(read[number] for number in sorted(read))


_QUORUM_MARK = b'"kind":"quorum"'


def _line(chain: Sequence[tuple[bytes, str]], number: int, name: str) -> Event:
    return transcript_reader.line_at(chain[number - 1][0], number, chain[number - 2][1] if number > 1 else transcript.GENESIS, name)


def checks_by_share(drills: Sequence[Drill]) -> dict[str, list[Check]]:
    """Every check in `drills`, by share fingerprint, each share's in log order: one pass over the log."""
    checks: dict[str, list[Check]] = {}
    for event, record in drills:
        for check in record.shares:
            if check.share_fingerprint is not None:
                checks.setdefault(check.share_fingerprint, []).append(Check(day_of(event), check.result is Result.PASSED, check.reason))
    return checks


def issued_day(manifest: Manifest, entry: ShareEntry) -> date:
    """The day a share was made and proven: the ceremony's, or the day `extend` added it."""
    return date.fromisoformat((entry.issued or manifest.ceremony.created)[:10])


def _share_readiness(entry: ShareEntry, logged: Sequence[Check], interval: int, as_of: date, issued: date) -> ShareReadiness:
    if entry.replaced is not None and date.fromisoformat(entry.replaced[:10]) <= as_of:
        return ShareReadiness(entry, None, None, False)  # retired from readiness: a new share took its place
    checks = [Check(issued, True)] if issued <= as_of and entry.proven else []  # the ceremony (or extend) proved what it opened
    checks += logged
    last_pass = max((i for i, check in enumerate(checks) if check.passed), default=None)
    failed = next((check for check in checks[(last_pass or 0):] if not check.passed), None)
    if last_pass is None:
        return ShareReadiness(entry, None, None, False, failed)
    last = checks[last_pass].day
    due = last + timedelta(days=interval)
    return ShareReadiness(entry, last, due, as_of <= due and failed is None, failed)


def _weakest(result: Readiness, manifest: Manifest) -> list[str]:
    sentences = [f"the drill log was tampered with: {finding.problem} (not counted)" for finding in result.findings]
    count = len(result.groups)
    for group in sorted(result.groups, key=lambda g: (g.ready, g.current - g.needed)):
        members = [s for s in result.shares if s.entry.group_index == group.index]
        lapsed = [_lapsed(s) for s in members if not s.current and s.state is not State.REPLACED]
        label = describe_group(group.index, count, group.name)
        if not group.ready:
            sentences.append(
                f"{label}: needs {group.needed}, only {group.current} verified within {result.interval_days} days: {', '.join(lapsed)}"
            )
        elif group.current == group.needed and lapsed:
            sentences.append(f"{label}: exactly {group.needed} verified, the minimum; {', '.join(lapsed)}")
        else:  # a ready group: a failure or an unopened envelope is still worth fixing before it is needed
            sentences += [f"{label}: {_lapsed(s)}" for s in members if s.state in (State.FAILED, State.NEVER_VERIFIED)]
    ready = sum(1 for g in result.groups if g.ready)
    if not result.recoverable:
        needed = f"{result.groups_needed} group{'s' if result.groups_needed > 1 else ''}"
        sentences.insert(len(result.findings), f"the vault needs {needed}; only {ready} can be recovered from recently verified shares")
    if manifest.scheme.passphrase_protected and (
        result.last_quorum_drill is None or result.as_of > result.last_quorum_drill + timedelta(days=result.interval_days)
    ):
        when = f"last proven {result.last_quorum_drill}" if result.last_quorum_drill else "never proven in a drill"
        sentences.append(f"the passphrase is {when}: only a quorum drill proves it")
    sentences += [doubt.problem for doubt in result.doubts]
    if result.unattested:
        sentences.append("checks are unattested: this vault's manifest has no attestation keys (it was made before "
                         "coldvault signed drill checks), so a check in the log cannot be proven to come from its share; "
                         "rotate the vault (`coldvault rotate`) to get attested drills")
    return sentences


def _lapsed(share: ShareReadiness) -> str:
    who = share.entry.custodian or f"share {share.entry.member_index + 1}"
    if share.failed is not None:
        return f"{who} FAILED a check on {share.failed.day}" + (f" ({share.failed.reason})" if share.failed.reason else "")
    if share.due is None:
        unopened = "" if share.entry.proven else ": its envelope was not opened when it was made; open it in a drill"
        return f"{who} never verified{unopened}"
    return f"{who} overdue since {share.due + timedelta(days=1)}"


def day_of(event: Event) -> date:
    """The UTC day an event happened: readiness counts in days."""
    return date.fromisoformat(event.time[:10])
