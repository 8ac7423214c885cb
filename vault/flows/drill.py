"""`coldvault drill run|status|report`: prove the vault is still recoverable, record it, and say how ready it is.

A drill reads the manifest once (the SHA-256 it records is of the very bytes it
parsed) and the drill log beside it (its chain checked: a broken log is never
appended to); it checks each share brought, proves what they recover (the secret is
recovered in memory only, compared by fingerprint and dropped), and appends the
verdict to the log. Readiness and the report are computed from the log
(vault.core.drill, vault.core.text.report).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from vault.core import drill as dr
from vault.core import proof, verification
from vault.core.formats import drills, transcript
from vault.core.formats import manifest as mf
from vault.core.formats.drills import EVENT_DRILL, DrillKind
from vault.core.slip39.recovery import ShareSet
from vault.core.text import report as rp
from vault.edges import entry, fsio, sources, terminal
from vault.edges.tokens.opener import Opener
from vault.errors import InvalidInput, TokenError
from vault.flows.tokens import TokenOptions, opener
from vault.flows.transcripts import read_events
from vault.flows.vaults import read_manifest

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Drilled:
    outcome: dr.Outcome
    log: Path
    head: str


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
    clock: Clock = _now,
) -> Drilled:
    """Check the shares brought; with a quorum, prove the secret's fingerprint; append the verdict to the drill log."""
    read = read_manifest(manifest_path)
    manifest = read.manifest
    log_path = log_of(manifest_path, log)
    events = read_log(log_path)
    if not share_paths and not interactive:
        raise InvalidInput("no shares given", "give share files or envelopes, or --interactive")
    with opener(tokens) as found:
        given = [_given(path, found) for path in share_paths]
    if interactive:
        given += _typed(manifest)
    passphrase = _passphrase(manifest, partial, passphrase_file, passphrase_prompt)
    result = proof.prove(given, manifest, passphrase)
    kind = DrillKind.SHARES if partial else DrillKind.QUORUM
    judged = dr.outcome(result, manifest, kind, str(uuid.uuid4()), operator, witnesses, read.sha256)
    chain = transcript.append(transcript.Chain(events), EVENT_DRILL, drills.to_data(judged.record), clock())
    fsio.replace_file(log_path, transcript.to_text(chain).encode("ascii"))
    return Drilled(judged, log_path, transcript.head(chain))


def status(manifest_path: Path, as_of: date | None, log: Path | None, clock: Clock = _now) -> dr.Readiness:
    """Readiness per share, group and vault as of a day (default: today, UTC), from the drill log."""
    day = _as_of(as_of, clock)
    manifest = read_manifest(manifest_path).manifest
    with fsio.bulk_reading():
        return dr.readiness(manifest, read_log(log_of(manifest_path, log)), day)


def report(manifest_path: Path, out: Path, as_of: date | None, log: Path | None, clock: Clock = _now) -> dr.Readiness:
    """Write the self-contained readiness report to the new file `out`; the readiness it shows."""
    day = _as_of(as_of, clock)
    manifest = read_manifest(manifest_path).manifest
    fsio.check_new_file(out)
    with fsio.bulk_reading():
        events = read_log(log_of(manifest_path, log))
        ready = dr.readiness(manifest, events, day)
        page = rp.render(manifest, ready, events)
    fsio.write_new_file(out, page.encode("utf-8"), fsio.PUBLIC_FILE_MODE)
    return ready


def _as_of(day: date | None, clock: Clock) -> date:
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
    """A share brought to the drill. A token that fails (forgotten PIN, lost key) is a finding
    to record, not a reason to stop: the custodian's share could not be checked."""
    try:
        return sources.read_given(path, found)
    except TokenError as error:
        claimed = sources.read_envelope(path).share_fingerprint
        return proof.Given(str(path), None, f"could not be opened: {error.message}", claimed)


def _typed(manifest: mf.Manifest) -> list[proof.Given]:
    """Shares typed word by word, each checked against the manifest the moment it is complete."""
    share_set = ShareSet(member_thresholds=tuple(g.member_threshold for g in manifest.scheme.groups))
    share_set = entry.enter_shares(share_set, terminal.read_line, terminal.info, lambda s: verification.check_share(s, manifest))
    return [proof.Given(e.source, e.share) for e in share_set.entries]


def _passphrase(manifest: mf.Manifest, partial: bool, path: Path | None, prompt: bool) -> bytes | None:
    """The passphrase, when the drill will need it: a quorum drill of a protected vault."""
    if path is not None or prompt:
        return sources.read_passphrase(path, prompt, confirm=False)
    if manifest.scheme.passphrase_protected and not partial:
        if terminal.interactive():
            return sources.read_passphrase(None, True, confirm=False)
        raise InvalidInput("this vault has a passphrase: a quorum drill needs it", "give --passphrase-file or --passphrase-prompt, or --partial")
    return None
