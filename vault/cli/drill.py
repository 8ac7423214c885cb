"""`coldvault drill run|status|report`: prove the vault is still recoverable, and record it."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vault.cli.app import app
from vault.cli.options import JsonFlag, ModuleOption, PassphraseFile, PassphrasePrompt, PinFiles, TokenLabels, opener
from vault.cli.output import emit
from vault.core import proof, verification
from vault.core.formats.manifest import Manifest
from vault.core.scheme import describe_group
from vault.core.slip39.recovery import ShareSet
from vault.edges import entry, fsio, sources, terminal
from vault.errors import CheckFailed, InvalidInput, TokenError

if TYPE_CHECKING:  # loaded by the commands that use them: --help stays fast
    from vault.core import drill as dr
    from vault.core.formats import transcript

drill_app = typer.Typer(help="Recovery drills: check shares without revealing the seed; readiness; reports.", no_args_is_help=True)
app.add_typer(drill_app, name="drill")

ManifestOption = Annotated[Path, typer.Option("--manifest", help="The vault's manifest.json.")]
LogOption = Annotated[Path | None, typer.Option("--log", help="The drill log (default: drills.jsonl beside the manifest).")]
AsOfOption = Annotated[
    datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], metavar="DATE", help="Readiness as of this day (YYYY-MM-DD; default: today, UTC).")
]


@drill_app.command("run")
def run(
    manifest: ManifestOption,
    shares: Annotated[list[Path] | None, typer.Argument(help="Share files or envelopes brought to the drill.", show_default=False)] = None,
    interactive: Annotated[bool, typer.Option("--interactive", help="Type shares word by word; each is checked as it is completed.")] = False,
    partial: Annotated[bool, typer.Option("--partial", help="Check the shares brought alone (no quorum expected), e.g. one custodian at a branch office.")] = False,
    passphrase_file: PassphraseFile = None,
    passphrase_prompt: PassphrasePrompt = False,
    operator: Annotated[str | None, typer.Option("--operator", help="Who ran the drill (recorded).")] = None,
    witness: Annotated[list[str] | None, typer.Option("--witness", help="A witness (recorded); repeatable.")] = None,
    log: LogOption = None,
    token: TokenLabels = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Check each share as it arrives; with a quorum, recover the seed in memory only, compare
    its fingerprint with the manifest's, and drop it. Nothing secret is printed or written.
    The result is appended to the drill log. Exit 0 on pass, 1 on fail."""
    from vault.core import drill as dr
    from vault.core.formats import transcript

    vault_manifest, manifest_sha256 = _read_manifest(manifest)
    log_path = _log_path(manifest, log)
    events = _read_log(log_path)
    if not shares and not interactive:
        raise InvalidInput("no shares given", "give share files or envelopes, or --interactive")
    with opener(module, pin_file, token) as tokens_:
        given = [_given(path, tokens_) for path in shares or []]
    if interactive:
        given += _typed(vault_manifest)
    passphrase = _passphrase(vault_manifest, partial, passphrase_file, passphrase_prompt)
    result = proof.prove(given, vault_manifest, passphrase)
    kind = dr.KIND_SHARES if partial else dr.KIND_QUORUM
    judged = dr.outcome(result, vault_manifest, kind, str(uuid.uuid4()), operator, witness or [], manifest_sha256)
    chain = transcript.append(transcript.Chain(events), dr.EVENT_DRILL, judged.record, datetime.now(timezone.utc))
    fsio.replace_file(log_path, transcript.to_text(chain).encode("ascii"))
    emit(as_json, {"ok": judged.passed, "log": str(log_path), "head": transcript.head(chain), **judged.record},
         _run_lines(judged, log_path, transcript.head(chain)))
    if not judged.passed:
        raise CheckFailed(f"the drill FAILED: {judged.reasons[0]}", *judged.reasons[1:], f"recorded in {log_path}")


@drill_app.command("status")
def status(manifest: ManifestOption, as_of: AsOfOption = None, log: LogOption = None, as_json: JsonFlag = False) -> None:
    """Per custodian: when their share was last verified and whether that is overdue; per group
    and overall: recoverable from recently verified shares alone? Exit 1 when not (for cron)."""
    from vault.core import drill as dr

    vault_manifest, _ = _read_manifest(manifest)
    ready = dr.readiness(vault_manifest, _read_log(_log_path(manifest, log)), _day(as_of))
    emit(as_json, _status_payload(ready), _status_lines(ready, vault_manifest))
    if not ready.recoverable:
        raise CheckFailed(f"as of {ready.as_of} the vault is NOT recoverable from recently verified shares", *ready.weakest[:3])


@drill_app.command("report")
def report(
    manifest: ManifestOption,
    out: Annotated[Path, typer.Option("--out", help="New HTML file: a self-contained page to read or print.")],
    as_of: AsOfOption = None,
    log: LogOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Write a self-contained readiness report (HTML, no network assets; prints in black and white)."""
    from vault.core import drill as dr
    from vault.core.text import report as rp

    vault_manifest, _ = _read_manifest(manifest)
    fsio.check_new_file(out)
    events = _read_log(_log_path(manifest, log))
    ready = dr.readiness(vault_manifest, events, _day(as_of))
    fsio.write_new_file(out, rp.render(vault_manifest, ready, events).encode("utf-8"), fsio.PUBLIC_FILE_MODE)
    emit(as_json, {"out": str(out), "recoverable": ready.recoverable}, [f"wrote {out}: {'recoverable' if ready.recoverable else 'NOT recoverable'} as of {ready.as_of}"])


def _read_manifest(path: Path) -> tuple[Manifest, str]:
    data = fsio.read_bytes(path)
    return sources.read_manifest(path), hashlib.sha256(data).hexdigest()


def _log_path(manifest: Path, log: Path | None) -> Path:
    """--log, or drills.jsonl beside the manifest."""
    from vault.core.formats.transcript import DRILLS_FILE

    return log or manifest.parent / DRILLS_FILE


def _read_log(path: Path) -> tuple[transcript.Event, ...]:
    """The drill log's events, its chain checked (a broken log is never appended to); none if absent."""
    from vault.core.formats import transcript

    if not path.exists():
        return ()
    return transcript.parse_bytes(fsio.read_bytes(path), str(path))


def _given(path: Path, tokens_: Any) -> proof.Given:
    """A share brought to the drill. A token that fails (forgotten PIN, lost key) is a finding
    to record, not a reason to stop: the custodian's share could not be checked."""
    try:
        return sources.read_given(path, tokens_)
    except TokenError as error:
        claimed = sources.read_envelope(path).share_fingerprint
        return proof.Given(str(path), None, f"could not be opened: {error.message}", claimed)


def _typed(manifest: Manifest) -> list[proof.Given]:
    """Shares typed word by word, each checked against the manifest the moment it is complete."""
    share_set = ShareSet(member_thresholds=tuple(g.member_threshold for g in manifest.scheme.groups))
    share_set = entry.enter_shares(share_set, terminal.read_line, terminal.info, lambda s: verification.check_share(s, manifest))
    return [proof.Given(e.source, e.share) for e in share_set.entries]


def _passphrase(manifest: Manifest, partial: bool, path: Path | None, prompt: bool) -> bytes | None:
    """The passphrase, when the drill will need it: a quorum drill of a protected vault."""
    if path is not None or prompt:
        return sources.read_passphrase(path, prompt, confirm=False)
    if manifest.scheme.passphrase_protected and not partial:
        if terminal.interactive():
            return sources.read_passphrase(None, True, confirm=False)
        raise InvalidInput("this vault has a passphrase: a quorum drill needs it", "give --passphrase-file or --passphrase-prompt, or --partial")
    return None


def _day(as_of: datetime | None) -> date:
    return as_of.date() if as_of is not None else datetime.now(timezone.utc).date()


def _run_lines(judged: dr.Outcome, log_path: Path, head: str) -> list[str]:
    record = judged.record
    lines = [f"{s['custodian'] or s['source']}: {s['result']}: {s['reason']}" for s in record["shares"]]
    lines.append(f"quorum: {record['quorum']['result']}: {record['quorum']['reason']}")
    lines.append(f"drill {record['drill_id']}: {'PASSED' if judged.passed else 'FAILED'}; recorded in {log_path} (head {head})")
    return lines


def _status_payload(ready: dr.Readiness) -> dict[str, Any]:
    return {
        "as_of": ready.as_of.isoformat(),
        "recoverable": ready.recoverable,
        "drill_interval_days": ready.interval_days,
        "groups_needed": ready.groups_needed,
        "groups": [vars(g) for g in ready.groups],
        "shares": [
            {
                "custodian": s.entry.custodian,
                "group_index": s.entry.group_index,
                "member_index": s.entry.member_index,
                "share_fingerprint": s.entry.share_fingerprint,
                "last_verified": s.last_verified.isoformat() if s.last_verified else None,
                "due": s.due.isoformat() if s.due else None,
                "current": s.current,
            }
            for s in ready.shares
        ],
        "last_quorum_drill": ready.last_quorum_drill.isoformat() if ready.last_quorum_drill else None,
        "weakest": list(ready.weakest),
    }


def _status_lines(ready: dr.Readiness, manifest: Manifest) -> list[str]:
    count = len(ready.groups)
    lines = [f"readiness as of {ready.as_of} (a check counts for {ready.interval_days} days):"]
    for group in ready.groups:
        lines.append(f"{describe_group(group.index, count, group.name)}: {group.current} verified, {group.needed} needed: "
                     f"{'ready' if group.ready else 'NOT READY'}")
        for share in (s for s in ready.shares if s.entry.group_index == group.index):
            when = f"last verified {share.last_verified}, counts until {share.due}" if share.last_verified else "never verified"
            lines.append(f"  {share.entry.custodian or 'share ' + str(share.entry.member_index + 1)}: {when}: "
                         f"{'current' if share.current else 'OVERDUE'}")
    verdict = "RECOVERABLE" if ready.recoverable else "NOT RECOVERABLE"
    lines.append(f"vault: {verdict} from recently verified shares ({sum(g.ready for g in ready.groups)} groups ready, {ready.groups_needed} needed)")
    lines += [f"weak point: {sentence}" for sentence in ready.weakest]
    return lines
