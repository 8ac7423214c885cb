"""`coldvault fleet status`: readiness across many vaults, one block per vault and one line for the fleet."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from vault.cli.app import new_app
from vault.cli.options import JsonFlag
from vault.cli.output import emit
from vault.core import fleet as fl
from vault.core.anchor import describe, to_data
from vault.core.drill import ShareReadiness, State
from vault.errors import CheckFailed
from vault.flows import fleet as flow

app = new_app("Many vaults at once: which are recoverable, and until when.")

AsOfOption = Annotated[
    datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], metavar="DATE", help="Readiness as of this day (YYYY-MM-DD; default: today, UTC).")
]


@app.command("status")
def status(
    paths: Annotated[list[Path], typer.Argument(help="Manifests, or directories searched for vaults (a manifest.json with its transcript.jsonl).",
                                                show_default=False)],
    as_of: AsOfOption = None,
    metrics: Annotated[Path | None, typer.Option("--metrics", metavar="FILE",
                                                 help="Also write Prometheus metrics here (node_exporter's textfile collector; replaced whole).")] = None,
    html: Annotated[Path | None, typer.Option("--html", metavar="FILE", help="Also write one self-contained page of every vault here.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every vault found: recoverable from recently verified shares or not, until which day, its failed
    and overdue shares and weak points; one line for the fleet. Exit 0 when every vault is recoverable;
    1 when any is not, or any could not be read (named with its error; the others are still shown)."""
    found = flow.status(paths, as_of.date() if as_of else None)
    if metrics is not None:  # written whatever the verdict: an alert needs the bad news most
        flow.write_metrics(found, metrics)
    if html is not None:
        flow.write_page(found, html)
    emit(as_json, _payload(found), _lines(found))
    if not found.ok:
        raise CheckFailed(_summary(found), "each vault marked NOT RECOVERABLE or COULD NOT BE READ says why")


def _summary(fleet: fl.Fleet) -> str:
    count = len(fleet.vaults)
    line = f"{count} vault{'' if count == 1 else 's'}: {fleet.recoverable} recoverable, {count - fleet.recoverable} not"
    if fleet.unreadable:
        line += f"; {len(fleet.unreadable)} could not be read"
    return line + f" (as of {fleet.as_of})"


def _who(share: ShareReadiness) -> str:
    return share.entry.custodian or f"group {share.entry.group_index + 1} share {share.entry.member_index + 1}"


def _groups_ready(vault: fl.VaultStatus) -> int:
    return sum(group.ready for group in vault.readiness.groups)


def _lines(fleet: fl.Fleet) -> list[str]:
    lines: list[str] = []
    for vault in fleet.vaults:
        until = vault.recoverable_until
        verdict = f"RECOVERABLE until {until}" if until else "NOT RECOVERABLE"
        lines += [f"{vault.name} (ceremony {vault.ceremony_id}): {verdict}",
                  *(f"  at {place}" for place in vault.places),
                  f"  {describe(vault.anchor, vault.places[0])}",
                  f"  groups: {_groups_ready(vault)} ready, {vault.readiness.groups_needed} needed",
                  f"  failed: {_names(vault.shares_in(State.FAILED))}; overdue: {_names(vault.shares_in(State.OVERDUE))}"]
        lines += [f"  TAMPERED: {finding.problem} (not counted)" for finding in vault.readiness.findings]
        lines += [f"  weak point: {sentence}" for sentence in vault.readiness.weakest]
    for place in fleet.unreadable:
        lines += [f"{place.place}: COULD NOT BE READ (exit {place.exit_code})", *(f"  {line}" for line in place.error.splitlines())]
    lines.append(_summary(fleet))
    return lines


def _names(shares: tuple[ShareReadiness, ...]) -> str:
    return ", ".join(_who(share) for share in shares) or "none"


def _payload(fleet: fl.Fleet) -> dict[str, Any]:
    return {
        "ok": fleet.ok,
        "as_of": fleet.as_of.isoformat(),
        "summary": _summary(fleet),
        "vaults": [_vault(vault) for vault in fleet.vaults],
        "unreadable": [{"place": u.place, "error": u.error, "exit_code": u.exit_code} for u in fleet.unreadable],
    }


def _vault(vault: fl.VaultStatus) -> dict[str, Any]:
    until = vault.recoverable_until
    return {
        "places": list(vault.places),
        "name": vault.name,
        "ceremony_id": vault.ceremony_id,
        "identifier": vault.manifest.scheme.identifier,
        "revision": vault.revision,
        "anchor": to_data(vault.anchor),
        "recoverable": vault.recoverable,
        "recoverable_until": until.isoformat() if until else None,
        "groups_ready": _groups_ready(vault),
        "groups_needed": vault.readiness.groups_needed,
        "failed": [_who(share) for share in vault.shares_in(State.FAILED)],
        "overdue": [_who(share) for share in vault.shares_in(State.OVERDUE)],
        "never_verified": [_who(share) for share in vault.shares_in(State.NEVER_VERIFIED)],
        "tampered": vault.readiness.tampered,
        "findings": [{"line": f.line, "problem": f.problem} for f in vault.readiness.findings],
        "weakest": list(vault.readiness.weakest),
    }
