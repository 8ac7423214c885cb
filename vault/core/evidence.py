"""Which drill checks count: every record of the drill log weighed against the manifest's attestation keys.

A drill log is public and its chain can be recomputed by anyone, so a record counts
only when the keys it claims signed it (docs/attestation.md): a share recorded as
passed must carry the signature of that share's key, a quorum recorded as passed the
signature of the vault's key, each over the record, its time and the log's previous
head. A record that fails is named (its line, what is wrong) and never counted, and
the log is reported as tampered.

Checking every signature costs one Ed25519 verification each (about 0.1 ms here);
`examine` with `every_signature=False` checks, for each key, only the latest record it
signed. That suffices: each signature covers the previous line's hash, so the latest
signature of any key fixes every line before it, and `drill run` (the only honest
writer) examines the whole log before it signs. A line changed after a signature breaks
that signature; a forged record inserted before it would have been refused by the
run that signed. What no check can catch: a holder of a share can sign that share's
own check, whenever and however they like; a quorum can sign anything. When a
latest signature fails, every signature is checked, so the first bad line is named.

Manifests made before attestation (format 1) have no keys: their checks count as
unattested, and readiness says so.

What a signature does not cover is checked too (docs/drills.md, "What a reader
checks"): a line that is not a `drill` record, a record dated after the reader's
clock (an unsigned failure re-dated to 2099 would otherwise be ignored as not yet
happened), and a check whose custodian or indices are not the manifest's for its
share are findings, like a record that does not verify. A record dated before the
line before it is a doubt: named as a weak point, and counted in the log's order
(vault.core.drill), so a failure moved back in time still follows the pass before it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vault.core import attestation
from vault.core.events import DRILL
from vault.core.formats import drills as dl
from vault.core.formats.fields import utc_time
from vault.core.formats.manifest import Manifest, ShareEntry
from vault.core.formats.transcript import Event
from vault.core.slip39.share import Share
from vault.errors import CheckFailed, InvalidInput

Drill = tuple[Event, dl.DrillRecord]
"""A drill as the log holds it: its line (for the time and sequence) and its record."""

Stamp = tuple[int, str, str]
"""What a line says of itself: its `seq` (from 0), its `time` and its `event`."""

DRILL_LOG_EVENTS = frozenset({DRILL})
"""The events a drill log holds (docs/drills.md); a line of any other is a finding."""

CLOCK_SKEW_SECONDS = 300
"""How far a record may be dated after the reader's clock before it is future-dated: two machines' clocks differ a little."""


@dataclass(frozen=True)
class Finding:
    """A line of the drill log that does not count (or, as a doubt, is out of order), and why: the line (from 1) and what is wrong."""

    line: int
    problem: str


@dataclass(frozen=True)
class Timeline:
    """What a drill log's lines say of themselves, judged without a manifest: their events and their times."""

    findings: tuple[Finding, ...]
    """Lines of another event than `drill`, and lines dated after the reader's clock: never counted."""
    doubts: tuple[Finding, ...]
    """Lines dated before the line before them: counted, in the log's order, and named as weak points."""


@dataclass(frozen=True)
class Evidence:
    drills: tuple[Drill, ...]
    """This vault's records that count, in log order."""
    findings: tuple[Finding, ...]
    """Lines that cannot be trusted (a record that does not verify, is future-dated or mislabels a share; another
    event): never counted, and any makes the log tampered."""
    unattested: bool
    """Some of the manifest's signers have no key (an older vault): their checks count unproven."""
    doubts: tuple[Finding, ...] = ()
    """As `Timeline.doubts`."""

    @property
    def tampered(self) -> bool:
        return bool(self.findings)


def examine(manifest: Manifest, events: Sequence[Event], every_signature: bool = False, name: str = "drills.jsonl", *,
            now: datetime, stamps: Iterable[Stamp] | None = None) -> Evidence:
    """The drill log's records weighed against `manifest` and the reader's clock `now`; see the module's docstring.

    `stamps` are every line's, when `events` are only some of the log's (read from its end).
    """
    keys = _Keys(manifest)
    records = _records(events, name)
    problems = {event.seq: problem for event, record in records for problem in _shape_problems(record, manifest, keys)[:1]}
    ours = [(event, record) for event, record in records if event.seq not in problems]
    bad = _bad_signatures(keys, ours, every_signature)
    if bad and not every_signature:
        bad = _bad_signatures(keys, ours, True)
    problems.update(bad)
    findings = {seq: Finding(seq + 1, f"{name} line {seq + 1}: {problem}") for seq, problem in problems.items()}
    lines = timeline(stamps if stamps is not None else stamps_of(events), now, name)
    for finding in lines.findings:  # a re-dated signed record is named by its signature first: the sharper word
        findings.setdefault(finding.line - 1, finding)
    unattested = manifest.attestation is None or any(entry.attestation_public_key is None for entry in manifest.shares)
    return Evidence(
        tuple(drill for drill in ours if drill[0].seq not in findings),
        tuple(finding for _seq, finding in sorted(findings.items())),
        unattested,
        lines.doubts,
    )


def stamps_of(events: Iterable[Event]) -> Iterator[Stamp]:
    """What each event's line says of itself, for `timeline`."""
    return ((event.seq, event.time, event.event) for event in events)


def timeline(stamps: Iterable[Stamp], now: datetime, name: str) -> Timeline:
    """Each line that is another event or dated after `now` (the reader's clock), and each dated before the line before it.

    Times are compared as written (UTC, to the second, fixed width). A line after a
    future-dated one is not compared with it: the future-dated line is the finding.
    """
    clock = utc_time(now)
    latest = utc_time(now + timedelta(seconds=CLOCK_SKEW_SECONDS))
    findings: list[Finding] = []
    doubts: list[Finding] = []
    previous: tuple[int, str] | None = None
    for seq, time, event in stamps:
        where = f"{name} line {seq + 1}"
        if event not in DRILL_LOG_EVENTS:
            findings.append(Finding(seq + 1, f"{where}: a {event!r} event: a drill log holds {DRILL!r} records only, "
                                             "and no coldvault command writes another line there"))
        elif time > latest:
            findings.append(Finding(seq + 1, f"{where}: dated {time}, after this machine's clock ({clock}): the record was "
                                             "re-dated, or written with a clock set ahead (if this clock is behind, set it)"))
        elif previous is not None and time < previous[1]:
            doubts.append(Finding(seq + 1, f"{where} is dated {time}, before line {previous[0] + 1} ({previous[1]}): "
                                           "written with a clock set back, or re-dated; checks are taken in the log's order"))
        previous = (seq, time) if time <= latest else None
    return Timeline(tuple(findings), tuple(doubts))


class _Keys:
    """The manifest's attestation keys, by signer: looked up once per attestation, so a table, not a scan."""

    def __init__(self, manifest: Manifest) -> None:
        self.vault = manifest.attestation.vault_public_key if manifest.attestation else None
        self.entries = {entry.share_fingerprint: entry for entry in manifest.shares}

    def of(self, item: dl.Attestation) -> str | None:
        if item.signer is dl.Signer.VAULT:
            return self.vault
        entry = self.entries.get(item.share_fingerprint or "")
        return entry.attestation_public_key if entry else None


def _records(events: Sequence[Event], name: str) -> list[Drill]:
    """Every `drill` line's record, read strictly: one that is not as `drill run` writes it is refused naming its line.

    Lines of other events are not records (`timeline` names them)."""
    try:
        return [(event, dl.from_event(event, name)) for event in events if event.event == DRILL]
    except InvalidInput as error:
        raise InvalidInput(error.message, *error.hints,
                           "the line is well chained, so it was written with the chain in mind: find out who wrote it") from None


def _shape_problems(record: dl.DrillRecord, manifest: Manifest, keys: _Keys) -> list[str]:
    """What is wrong with a record before any signature is checked: the wrong vault, a pass
    without the signature it needs, a signer the manifest does not list, a share labelled
    otherwise than the manifest lists it."""
    if record.ceremony_id != manifest.ceremony.id:
        return [f"a drill of another vault (ceremony {record.ceremony_id!r}): it does not belong in this log"]
    problems = []
    signers = [(a.signer, a.share_fingerprint) for a in record.attestations]
    if len(set(signers)) != len(signers):
        problems.append("a key signed it twice")
    for item in record.attestations:
        if keys.of(item) is None:
            problems.append(f"signed by {_signer_name(item)}, which has no attestation key in the manifest")
    for check in record.shares:
        entry = keys.entries.get(check.share_fingerprint or "")
        problems += _label_problems(check, entry)
        if check.result is dl.Result.PASSED and entry and entry.attestation_public_key and (dl.Signer.SHARE, entry.share_fingerprint) not in signers:
            problems.append(f"{entry.custodian or 'share ' + entry.share_fingerprint} is recorded as passed without its share's signature")
    if record.quorum.result is dl.Result.PASSED and keys.vault and (dl.Signer.VAULT, None) not in signers:
        problems.append("the quorum is recorded as passed without the vault's signature")
    return problems


def _label_problems(check: dl.ShareCheck, entry: ShareEntry | None) -> list[str]:
    """A check names its share's custodian and indices as the manifest lists them (`drill run` copies them from it):
    a holder signing her own check could otherwise label it as another custodian's."""
    if entry is None:
        if check.result is dl.Result.PASSED or check.custodian is not None:
            return [f"records {_share_of(check.custodian, check.share_fingerprint)} as {check.result}, "
                    "but the manifest lists no such share"]
        return []
    problems = []
    if check.custodian != entry.custodian:
        problems.append(f"records {_share_of(entry.custodian, entry.share_fingerprint)} as "
                        f"{_share_of(check.custodian, entry.share_fingerprint)}")
    recorded = ((check.group_index, entry.group_index), (check.member_index, entry.member_index))
    if any(index is not None and index != listed for index, listed in recorded):  # None: an envelope that did not open
        problems.append(f"records {_share_of(entry.custodian, entry.share_fingerprint)} at group_index {check.group_index}, "
                        f"member_index {check.member_index}; the manifest lists it at {entry.group_index}, {entry.member_index}")
    return problems


def _share_of(custodian: str | None, fingerprint: str | None) -> str:
    if custodian is not None:
        return f"{custodian}'s share"
    return f"share {fingerprint}" if fingerprint else "a share with no fingerprint"


def _bad_signatures(keys: _Keys, drills: Sequence[Drill], every_signature: bool) -> dict[int, str]:
    """seq -> problem for each checked signature that does not verify."""
    bad: dict[int, str] = {}
    for event, _record, item in _to_check(drills, every_signature):
        public_key = keys.of(item)
        if public_key and not attestation.verifies(public_key, item.signature, dl.signed_message(event)):
            bad.setdefault(event.seq, f"the signature of {_signer_name(item)} does not verify: the record was changed, "
                                      "re-dated or moved after it was signed, or someone without the key wrote it")
    return bad


def _to_check(drills: Sequence[Drill], every_signature: bool) -> Iterator[tuple[Event, dl.DrillRecord, dl.Attestation]]:
    """Every attestation, or for each signer only its latest."""
    seen: set[tuple[dl.Signer, str | None]] = set()
    for event, record in reversed(drills):
        for item in record.attestations:
            signer = (item.signer, item.share_fingerprint)
            if every_signature or signer not in seen:
                seen.add(signer)
                yield event, record, item


def _signer_name(item: dl.Attestation) -> str:
    return "the vault's key" if item.signer is dl.Signer.VAULT else f"share {item.share_fingerprint}'s key"


def signing_keys(record: dl.DrillRecord, manifest: Manifest, shares: Sequence[Share],
                 vault: attestation.SigningKey | None) -> list[tuple[dl.Signer, str | None, attestation.SigningKey]]:
    """The keys that attest `record`: the vault's when the quorum passed, each passed share's own.

    Keys are derived from what was brought (`shares`, and the secret behind `vault`) and
    must be the ones the manifest lists; otherwise the manifest is not this vault's.
    """
    keys: list[tuple[dl.Signer, str | None, attestation.SigningKey]] = []
    if vault is not None and manifest.attestation and record.quorum.result is dl.Result.PASSED:
        _check_listed(vault, manifest.attestation.vault_public_key, "the vault's")
        keys.append((dl.Signer.VAULT, None, vault))
    brought = {share.fingerprint: share for share in shares}
    for check in record.shares:
        entry = manifest.share_by_fingerprint(check.share_fingerprint or "")
        share = brought.pop(check.share_fingerprint or "", None)
        if check.result is dl.Result.PASSED and entry and entry.attestation_public_key and share:
            key = attestation.share_key(share, manifest.ceremony.id)
            _check_listed(key, entry.attestation_public_key, f"{entry.custodian or 'share ' + entry.share_fingerprint}'s")
            keys.append((dl.Signer.SHARE, entry.share_fingerprint, key))
    return keys


def _check_listed(key: attestation.SigningKey, listed: str, whose: str) -> None:
    if key.public_key != listed:
        raise CheckFailed(f"the manifest lists another attestation key as {whose} than the one derived from what was brought",
                          "the manifest was altered, or is not this vault's: nothing was recorded")


def sign(record: dl.DrillRecord, unsigned: Event, keys: Sequence[tuple[dl.Signer, str | None, attestation.SigningKey]]) -> dl.DrillRecord:
    """`record` with the attestations of `keys` over `unsigned`, its line as it will be written without them."""
    message = dl.signed_message(unsigned)
    return dataclasses.replace(record, attestations=tuple(dl.Attestation(signer, fingerprint, key.sign(message))
                                                          for signer, fingerprint, key in keys))
