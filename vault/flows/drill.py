"""`coldvault drill run|status|report`: prove the vault is still recoverable, record it, and say how ready it is.

A drill reads the manifest once (the SHA-256 it records is of the very bytes it
parsed), anchored by the transcript beside it (vault.flows.vaults), and the drill log beside it (its chain checked: a broken log is never
appended to); it checks each share brought, proves what they recover (the secret is
recovered in memory only, compared by fingerprint and dropped), and appends the
verdict to the log. From reading the log to writing it, it holds the log's folder's
writer lock (vault.flows.writers), so a concurrent drill waits and no record is lost;
a clock earlier than the log's last record is refused before any share is read. Readiness and the report are computed from the log
(vault.core.drill, vault.core.text.report).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path

from vault.core import copies as cp
from vault.core import drill as dr
from vault.core import evidence, names, proof, verification
from vault.core import verdict as vd
from vault.core.anchor import Anchor, Pins, describe
from vault.core.attestation import SigningKey
from vault.core.events import DRILL
from vault.core.formats import drills, transcript
from vault.core.formats import manifest as mf
from vault.core.formats.drills import DrillKind
from vault.core.formats.fields import utc_time
from vault.core.slip39.recovery import Entry, ShareSet
from vault.core.slip39.share import Share
from vault.core.text import report as rp
from vault.edges import fsio, sources, terminal
from vault.edges.tokens.opener import Opener
from vault.errors import CheckFailed, InvalidInput, TokenError, VaultError
from vault.flows import copies
from vault.flows.recover import type_shares
from vault.flows.tokens import TokenOptions, opener
from vault.flows.vaults import Anchored, anchored_manifest, read_events, refuse_after_successor
from vault.flows.writers import LOCK_WAIT_SECONDS, writing

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Drilled:
    outcome: dr.Outcome
    log: Path
    head: str
    anchor: Anchor


@dataclass(frozen=True)
class Status:
    readiness: dr.Readiness | None
    """None when the vault's copies diverge: no copy is judged."""
    anchor: Anchor
    """What anchored the manifest the readiness was judged against."""
    manifest: mf.Manifest
    judgement: vd.Judgement
    copies: cp.Copies | None = None
    """The places read, when several were given."""
    extended_to: str | None = None
    """This revision was extended (its `successor.json`): to which revision, where. It is judged without what is there."""


def run(
    manifest_path: Path,
    share_paths: Sequence[Path],
    interactive: bool,
    partial: bool,
    passphrase_file: Path | None,
    passphrase_prompt: bool,
    operator: str | None,
    witnesses: Sequence[str],
    log: Path | None,
    tokens: TokenOptions,
    clock: Clock = utc_now,
    key: str | None = None,
    vault_key: str | None = None,
    wait_seconds: float = LOCK_WAIT_SECONDS,
) -> Drilled:
    """Check the shares brought; with a quorum, prove the secret's fingerprint; append the verdict to the drill log.

    The log's folder is locked from before the log is read until it is written (an
    interactive drill holds it while words are typed): another writer waits.
    """
    operator, witnesses = names.witnessed(operator, witnesses)
    read = anchored_manifest(manifest_path, Pins(key, vault_key))
    refuse_after_successor(manifest_path, read.manifest, read.sha256,
                           "record drills in the successor's folder: a drill recorded here would fork the vault's history")
    if not share_paths and not interactive:
        raise InvalidInput("no shares given", "give share files or envelopes, or --interactive")
    log_path = log_of(manifest_path, log)
    fsio.check_replaceable(log_path)  # before the lock file is made beside it
    with writing(log_path.parent, wait_seconds):
        events = read_log(log_path)
        started = clock()
        _refuse_clock_behind(events, started, log_path)
        _refuse_tampered(evidence.examine(read.manifest, events, name=str(log_path), now=started))
        judged, signing = _drill(read, share_paths, interactive, partial, passphrase_file, passphrase_prompt, operator, witnesses, tokens)
        now = clock()
        _refuse_clock_behind(events, now, log_path)  # set back while the shares were checked
        signed, chain = append_attested(judged.record, read.manifest, events, *signing, now)
        fsio.replace_file(log_path, transcript.to_text(chain).encode("ascii"))
    return Drilled(dr.Outcome(signed), log_path, transcript.head(chain), read.anchor)


def _drill(read: Anchored, share_paths: Sequence[Path], interactive: bool, partial: bool, passphrase_file: Path | None,
           passphrase_prompt: bool, operator: str | None, witnesses: Sequence[str],
           tokens: TokenOptions) -> tuple[dr.Outcome, tuple[list[Share], SigningKey | None]]:
    """The shares brought, checked and proven: the verdict, and what signs it (the shares, the vault's key when recovered)."""
    manifest = read.manifest
    with opener(tokens) as found:
        given = [_given(path, found) for path in share_paths]
    passphrase = _passphrase(manifest, partial, passphrase_file, passphrase_prompt)  # before any word is typed
    if interactive:
        given += _typed(manifest, given)
    result, attesting_key = proof.prove_attested(given, manifest, passphrase)
    kind = DrillKind.SHARES if partial else DrillKind.QUORUM
    judged = dr.outcome(result, manifest, kind, str(uuid.uuid4()), operator, witnesses, read.sha256)
    return judged, ([g.share for g in given if g.share], attesting_key)


def _refuse_clock_behind(events: Sequence[transcript.Event], now: datetime, log_path: Path) -> None:
    """A record is never dated before the log's last line: a clock behind it would put the drill out of order (exit 3)."""
    said = utc_time(now)
    if events and said < events[-1].time:
        raise InvalidInput(
            f"the clock says {said}, but {log_path}'s last record is dated {events[-1].time}; set the clock",
            "nothing was recorded: a drill is dated by this machine's clock, and a log's records follow each other in time",
            "if the clock is right, the last record is dated in the future: `coldvault drill status` names it",
        )


def append_attested(record: drills.DrillRecord, manifest: mf.Manifest, events: Sequence[transcript.Event], shares: Sequence[Share],
                     vault_key: SigningKey | None, now: datetime) -> tuple[drills.DrillRecord, transcript.Chain]:
    """The log with `record` appended, signed by the keys derived from what was brought (docs/attestation.md).

    The signatures cover the line as it is written without them (its time, its place
    after the previous head), so the line is built once unsigned to be signed, then
    written with the signatures, at the same time.
    """
    keys = evidence.signing_keys(record, manifest, shares, vault_key)
    unsigned = transcript.append(transcript.Chain(tuple(events)), DRILL, drills.to_data(record), now).events[-1]
    signed = evidence.sign(record, unsigned, keys)
    return signed, transcript.append(transcript.Chain(tuple(events)), DRILL, drills.to_data(signed), now)


def _refuse_tampered(found: evidence.Evidence) -> None:
    """A drill log with a record that does not verify is never appended to (docs/attestation.md)."""
    if found.tampered:
        raise CheckFailed(f"the drill log was tampered with: {found.findings[0].problem}",
                          *(finding.problem for finding in found.findings[1:4]),
                          "nothing was recorded: keep the log as evidence and find out who changed it")


def status(manifest_path: Path, as_of: date | None, log: Path | None, clock: Clock = utc_now, key: str | None = None,
           vault_key: str | None = None) -> Status:
    """Readiness per share, group and vault as of a day (default: today, UTC), from the drill log; and the verdict."""
    day = as_of_day(as_of, clock)
    read = anchored_manifest(manifest_path, Pins(key, vault_key))
    ready = readiness_of(read.manifest, log_of(manifest_path, log), day, clock())
    return Status(ready, read.anchor, read.manifest, _judged(ready, manifest_path, read),
                  extended_to=copies.extended_to(manifest_path, read.manifest, read.sha256))


def status_of_copies(manifest_paths: Sequence[Path], as_of: date | None, clock: Clock = utc_now, key: str | None = None,
                     vault_key: str | None = None) -> Status:
    """`status` of one vault found at several places, its copies judged as branches (vault.core.copies).

    The vault is judged from the place whose history holds every other's; when none
    does, it is in conflict and not judged (no readiness). Places of different vaults
    are refused (exit 3): `fleet status` is for several vaults.
    """
    day = as_of_day(as_of, clock)
    pins = Pins(key, vault_key)
    reads = [copies.read_place(path, pins) for path in copies.distinct(manifest_paths)]
    for read in reads[1:]:
        if read.place.identity != reads[0].place.identity:
            raise InvalidInput(f"{read.path} is another vault ({read.place.identity}) than {reads[0].path} ({reads[0].place.identity})",
                               "drill status judges the places of one vault; `coldvault fleet status` reads several vaults")
    found = copies.arranged(reads)
    place = found.judged
    if place is None:
        return Status(None, found.first.anchor, found.first.manifest, vd.judge(None, divergence=found.divergence), found)
    ready = readiness_of(place.manifest, copies.drill_log(place), day, clock())
    return Status(ready, place.anchor, place.manifest, vd.judge(ready, copies.successor_noted(place)), found)


def readiness_of(manifest: mf.Manifest, log: Path, day: date, now: datetime) -> dr.Readiness:
    """Readiness as of `day` from the drill log at `log` (none yet: every share as the ceremony left it); `now` is the
    reader's clock, which a record may not be dated after."""
    if not log.exists():
        return dr.readiness(manifest, (), day, log_name=str(log), now=now)
    with fsio.bulk_reading(), fsio.read_lines(log, transcript.MAX_LINE_BYTES) as lines:
        return dr.readiness_from_end(manifest, list(lines), day, log_name=str(log), now=now)


def report(
    manifest_path: Path, out: Path, as_of: date | None, log: Path | None, clock: Clock = utc_now, key: str | None = None,
    vault_key: str | None = None,
) -> Status:
    """Write the self-contained readiness report to the new file `out`; the readiness it shows."""
    day = as_of_day(as_of, clock)
    read = anchored_manifest(manifest_path, Pins(key, vault_key))
    manifest = read.manifest
    fsio.check_new_file(out)
    path = log_of(manifest_path, log)
    with fsio.bulk_reading():
        ready = dr.readiness(manifest, read_log(path), day, every_signature=True, log_name=str(path), now=clock())
        judged = _judged(ready, manifest_path, read)
        page = rp.render(manifest, ready, describe(read.anchor, str(manifest_path)), judged)
    fsio.write_new_file(out, page.encode("utf-8"), fsio.PUBLIC_FILE_MODE)
    return Status(ready, read.anchor, manifest, judged)


def _judged(ready: dr.Readiness, manifest_path: Path, read: Anchored) -> vd.Judgement:
    """The verdict of a vault read at one place: its own folder may name its successor (`copies.successor_noted`)."""
    return vd.judge(ready, copies.successor_noted(cp.Place(str(manifest_path), read.manifest, read.sha256, read.anchor)))


def as_of_day(day: date | None, clock: Clock) -> date:
    """--as-of, or today (UTC); a day too late for the calendar to hold its due dates is refused first."""
    day = day or clock().date()
    if day > dr.LATEST_AS_OF:
        raise InvalidInput(f"--as-of {day} is too far ahead: readiness can be computed up to {dr.LATEST_AS_OF}")
    return day


def log_of(manifest_path: Path, log: Path | None) -> Path:
    """--log, or drills.jsonl beside the manifest."""
    return log or manifest_path.parent / transcript.DRILLS_FILE


def read_log(path: Path) -> tuple[transcript.Event, ...]:
    """The drill log's events, its chain checked; none if there is no log yet."""
    if not path.exists():
        return ()
    return read_events(path)


def _given(path: Path, found: Opener) -> proof.Given:
    """A share brought to the drill. A token that fails (forgotten PIN, lost key) or an envelope that does
    not open is a finding to record, not a reason to stop: the custodian's share could not be checked, and
    the record says whose it was by what the envelope's header claims (docs/drills.md)."""
    try:
        given = sources.read_given(path, found)
    except TokenError as error:
        given = proof.Given(str(path), None, f"could not be opened: {error.message}")
    if given.share is not None:
        return given
    try:
        header = sources.read_envelope(path)
    except VaultError:  # not an envelope, or one that does not read: no claim to record
        return given
    return replace(given, claimed_fingerprint=header.share_fingerprint, claimed_indices=(header.group_index, header.member_index))


def _typed(manifest: mf.Manifest, brought: Sequence[proof.Given]) -> list[proof.Given]:
    """Shares typed word by word, each checked against the manifest the moment it is complete.

    The good shares brought as files count: only what the quorum still needs is asked
    for. A bad one is left out of the count (the proof reports it)."""
    share_set = ShareSet(member_thresholds=tuple(g.member_threshold for g in manifest.scheme.groups))
    for item in brought:
        if item.share is None or share_set.find(item.share):
            continue
        try:
            verification.check_share(item.share, manifest)
            share_set = share_set.add(Entry(item.source, item.share))
        except VaultError:
            continue
    given = len(share_set.entries)
    share_set = type_shares(share_set, manifest)
    return [proof.Given(e.source, e.share) for e in share_set.entries[given:]]


def _passphrase(manifest: mf.Manifest, partial: bool, path: Path | None, prompt: bool) -> bytes | None:
    """The passphrase, when the drill will need it: a quorum drill of a protected vault."""
    if path is not None or prompt:
        return sources.read_passphrase(path, prompt, confirm=False)
    if manifest.scheme.passphrase_protected and not partial:
        if terminal.interactive():
            return sources.read_passphrase(None, True, confirm=False)
        raise InvalidInput("this vault has a passphrase: a quorum drill needs it", "give --passphrase-file or --passphrase-prompt, or --partial")
    return None
