"""`coldvault drill run|status|report`: prove the vault is still recoverable, and record it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from vault.cli.app import new_app
from vault.cli.options import (
    LOCK_WAIT_SECONDS,
    AnchorKey,
    JsonFlag,
    ManifestOption,
    ModuleOption,
    PassphraseFile,
    PassphrasePrompt,
    PinFiles,
    TokenLabels,
    VaultKey,
    WaitOption,
    tokens,
)
from vault.cli.output import copies_data, emit, say_anchor
from vault.core import drill as dr
from vault.core import verdict as vd
from vault.core.anchor import to_data
from vault.core.formats.drills import DrillRecord, Result, Signer
from vault.core.formats.drills import to_data as record_data
from vault.core.proof import proven_summary
from vault.core.scheme import describe_group
from vault.errors import CheckFailed, InvalidInput
from vault.flows import drill as flow

app = new_app("Recovery drills: check shares without revealing the seed; readiness; reports.")

LogOption = Annotated[Path | None, typer.Option("--log", help="The drill log (default: drills.jsonl beside the manifest).")]
AsOfOption = Annotated[
    datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], metavar="DATE", help="Readiness as of this day (YYYY-MM-DD; default: today, UTC).")
]


@app.command("run")
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
    key: AnchorKey = None,
    vault_key: VaultKey = None,
    token: TokenLabels = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    wait: WaitOption = LOCK_WAIT_SECONDS,
    as_json: JsonFlag = False,
) -> None:
    """Check each share as it arrives; with a quorum, recover the seed in memory only, compare
    its fingerprint with the manifest's, and drop it. Nothing secret is printed or written.
    The result is appended to the drill log. Exit 0 on pass, 1 on fail."""
    drilled = flow.run(
        manifest, shares or [], interactive, partial, passphrase_file, passphrase_prompt, operator, witness or [], log,
        tokens(module, pin_file, token), key=key, vault_key=vault_key, wait_seconds=wait,
    )
    judged = drilled.outcome
    passed_quorum = judged.record.quorum.result is Result.PASSED
    emit(as_json, {"ok": judged.passed, "log": str(drilled.log), "head": drilled.head, **record_data(judged.record),
                   "summary": proven_summary(judged.record.quorum.qualifying_subsets) if passed_quorum else None,
                   "anchor": to_data(drilled.anchor)},
         _run_lines(judged.record, drilled.log, drilled.head))
    say_anchor(as_json, drilled.anchor, manifest)
    if not judged.passed:
        raise CheckFailed(f"the drill FAILED: {judged.reasons[0]}", *judged.reasons[1:], f"recorded in {drilled.log}")


ManifestsOption = Annotated[
    list[Path],
    typer.Option("--manifest", help="The vault's manifest.json, checked against the transcript.jsonl beside it; repeat it for "
                                    "each place holding a copy of the vault: the copies are judged as branches."),
]


@app.command("status")
def status(
    manifest: ManifestsOption, as_of: AsOfOption = None, log: LogOption = None, key: AnchorKey = None, vault_key: VaultKey = None,
    as_json: JsonFlag = False,
) -> None:
    """Per custodian: when their share was last verified and whether that is overdue; per group
    and overall: recoverable from recently verified shares alone? With several --manifest, the
    places of one vault: a copy whose history is a prefix of another's is stale (named, not judged);
    copies that diverge are a CONFLICT. Exit 1 when not recoverable or in conflict, or when the
    log is tampered with, or the manifest does not match the transcript beside it (for cron)."""
    day = as_of.date() if as_of else None
    if len(manifest) == 1:
        found = flow.status(manifest[0], day, log, key=key, vault_key=vault_key)
    elif log is not None:
        raise InvalidInput("--log names one drill log: give it with one --manifest",
                           "with several places, each place's drills.jsonl beside its manifest is read")
    else:
        found = flow.status_of_copies(manifest, day, key=key, vault_key=vault_key)
    emit(as_json, {**_status_payload(found), "anchor": to_data(found.anchor)}, _status_lines(found))
    say_anchor(as_json, found.anchor, found.copies.first.path if found.copies else manifest[0])
    judged = found.judgement
    if judged.alert:
        details = found.readiness.weakest if found.readiness else [copy.describe() for copy in found.copies.copies] if found.copies else []
        raise CheckFailed(judged.reasons[0], *judged.reasons[1:], *details[:3])


@app.command("report")
def report(
    manifest: ManifestOption,
    out: Annotated[Path, typer.Option("--out", help="New HTML file: a self-contained page to read or print.")],
    as_of: AsOfOption = None,
    log: LogOption = None,
    key: AnchorKey = None,
    vault_key: VaultKey = None,
    as_json: JsonFlag = False,
) -> None:
    """Write a self-contained readiness report (HTML, no network assets; prints in black and white).
    Exit 1 when the drill log was tampered with (the report is still written)."""
    found = flow.report(manifest, out, as_of.date() if as_of else None, log, key=key, vault_key=vault_key)
    ready, judged = found.readiness, found.judgement
    assert ready is not None
    emit(as_json, {"out": str(out), "recoverable": judged.recoverable, "verdict": judged.verdict.value, "tampered": ready.tampered,
                   "anchor": to_data(found.anchor)},
         [f"wrote {out}: {judged.headline} as of {ready.as_of}"])
    say_anchor(as_json, found.anchor, manifest)
    if ready.tampered:  # whatever else is said, the log is not what drills wrote
        raise CheckFailed(vd.tampered(ready), *(finding.problem for finding in ready.findings[:3]))


def _state(share: dr.ShareReadiness) -> str:
    if share.entry.replaced is not None:
        return f"REPLACED on {share.entry.replaced[:10]} (no longer counts; it still recovers the seed with others until rotated)"
    if share.failed is not None:
        return f"FAILED on {share.failed.day}" + (f": {share.failed.reason}" if share.failed.reason else "")
    return {dr.State.CURRENT: "current", dr.State.OVERDUE: "OVERDUE", dr.State.NEVER_VERIFIED: "NEVER VERIFIED"}[share.state]


def _run_lines(record: DrillRecord, log_path: Path, head: str) -> list[str]:
    lines = [f"{check.custodian or check.source}: {check.result}: {check.reason}"
             + (f" (share fingerprint {check.share_fingerprint})" if check.share_fingerprint else "") for check in record.shares]
    lines.append(f"quorum: {record.quorum.result}: {record.quorum.reason}")
    if record.quorum.result is Result.PASSED:
        lines.append(proven_summary(record.quorum.qualifying_subsets))
    whose = {check.share_fingerprint: check.custodian or check.source for check in record.shares}
    signers = ["the vault's key (derived from the recovered secret)" if item.signer is Signer.VAULT
               else f"{whose.get(item.share_fingerprint, item.share_fingerprint)}'s share key" for item in record.attestations]
    lines.append(f"attested by {', '.join(signers)}" if signers else "not attested: no check passed, or the manifest has no attestation keys")
    lines.append(f"drill {record.drill_id}: {'PASSED' if record.passed else 'FAILED'}; recorded in {log_path} (head {head})")
    return lines


def _status_payload(found: flow.Status) -> dict[str, Any]:
    """`drill status --json` (docs/drills.md): the verdict, the readiness it was judged from, the places read."""
    judged, ready = found.judgement, found.readiness
    payload: dict[str, Any] = {
        "as_of": ready.as_of.isoformat() if ready else None,
        "verdict": judged.verdict.value,
        "reasons": list(judged.reasons),
        "recoverable": judged.recoverable,
        "recoverable_until": judged.until.isoformat() if judged.until else None,
        "vault_key_sha256": found.manifest.vault_key_sha256,
        "extended_to": found.extended_to,
    }
    if found.copies is not None:
        payload["copies"] = copies_data(found.copies)
    if ready is None:
        return payload
    return {
        **payload,
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
                "state": s.state.value,
                "failed": {"date": s.failed.day.isoformat(), "reason": s.failed.reason} if s.failed else None,
                "proven_when_made": s.entry.proven,
            }
            for s in ready.shares
        ],
        "last_quorum_drill": ready.last_quorum_drill.isoformat() if ready.last_quorum_drill else None,
        "attested": not ready.unattested,
        "tampered": ready.tampered,
        "findings": [{"line": f.line, "problem": f.problem} for f in ready.findings],
        "weakest": list(ready.weakest),
    }


def _status_lines(found: flow.Status) -> list[str]:
    ready, judged = found.readiness, found.judgement
    lines = [] if found.copies is None else ["places:", *(f"  {copy.describe()}" for copy in found.copies.copies)]
    if ready is not None:
        lines += _readiness_lines(ready)
    groups = f" ({sum(g.ready for g in ready.groups)} groups ready, {ready.groups_needed} needed)" if ready else ""
    lines.append(f"vault: {judged.headline}{groups}")
    lines += [f"  {reason}" for reason in judged.reasons]
    if found.extended_to is not None:
        lines.append(f"note: this revision was {found.extended_to}: judge that revision (its shares and drills are not counted here)")
    lines += [f"weak point: {sentence}" for sentence in (ready.weakest if ready else ())]
    return lines


def _readiness_lines(ready: dr.Readiness) -> list[str]:
    count = len(ready.groups)
    lines = [f"readiness as of {ready.as_of} (a check counts for {ready.interval_days} days):"]
    for group in ready.groups:
        lines.append(f"{describe_group(group.index, count, group.name)}: {group.current} verified, {group.needed} needed: "
                     f"{'ready' if group.ready else 'NOT READY'}")
        for share in (s for s in ready.shares if s.entry.group_index == group.index):
            when = f"last verified {share.last_verified}, counts until {share.due}" if share.last_verified else "never verified"
            lines.append(f"  {share.entry.custodian or 'share ' + str(share.entry.member_index + 1)}: {when}: {_state(share)}")
    lines += [f"TAMPERED: {finding.problem} (not counted)" for finding in ready.findings]
    return lines
