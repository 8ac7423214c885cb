"""`coldvault fleet status`: readiness across many vaults, one block per vault and one line for the fleet."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from vault.cli.app import new_app
from vault.cli.options import JsonFlag
from vault.cli.output import copies_data, emit
from vault.core import fleet as fl
from vault.core.anchor import describe, to_data
from vault.core.drill import Readiness, ShareReadiness, State
from vault.core.verdict import Verdict
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
    pins: Annotated[Path | None, typer.Option("--pins", metavar="FILE",
                                              help="The vaults expected: lines of `SHA256 label` (a vault key's SHA-256). "
                                                   "A vault not pinned, or a pin not found, is named and exits 1.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every vault found: recoverable from recently verified shares or not, until which day, its failed
    and overdue shares and weak points; its copies (stale, or diverging: a CONFLICT); RETIRED when a
    vault found supersedes it; one line for the fleet. Exit 0 when every vault is recoverable or retired;
    1 when any is not, is in conflict, could not be read (named with its error; the others are still
    shown), or (with --pins) is not pinned or pinned and not found."""
    found = flow.status(paths, as_of.date() if as_of else None, pins_file=pins)
    if metrics is not None:  # written whatever the verdict: an alert needs the bad news most
        flow.write_metrics(found, metrics)
    if html is not None:
        flow.write_page(found, html)
    emit(as_json, _payload(found), _lines(found))
    if not found.ok:
        raise CheckFailed(_summary(found), "each vault marked NOT RECOVERABLE, CONFLICT, NOT PINNED or COULD NOT BE READ, "
                                           "and each pinned vault not found, says why")


def _summary(fleet: fl.Fleet) -> str:
    count = len(fleet.vaults)
    line = (f"{count} vault{'' if count == 1 else 's'}: {fleet.recoverable} recoverable, "
            f"{fleet.count(Verdict.NOT_RECOVERABLE)} not")
    line += "".join(f", {number} {words}" for number, words in ((fleet.count(Verdict.RETIRED), "retired"),
                                                                 (fleet.count(Verdict.CONFLICT), "in CONFLICT")) if number)
    line += "".join(f"; {number} {words}" for number, words in ((len(fleet.unreadable), "could not be read"),
                                                                 (len(fleet.unpinned), "not pinned"),
                                                                 (len(fleet.missing_pins), "pinned and not found")) if number)
    return line + f" (as of {fleet.as_of})"


def _who(share: ShareReadiness) -> str:
    return share.entry.custodian or f"group {share.entry.group_index + 1} share {share.entry.member_index + 1}"


def _groups_ready(ready: Readiness) -> int:
    return sum(group.ready for group in ready.groups)


def _lines(fleet: fl.Fleet) -> list[str]:
    lines: list[str] = []
    for vault in fleet.vaults:
        lines += [f"{vault.name} (ceremony {vault.ceremony_id}): {vault.judgement.headline}", f"  {_key_line(vault, fleet)}",
                  *(f"  {copy.describe()}" for copy in vault.copies.copies), *(f"  {reason}" for reason in vault.judgement.reasons)]
        ready = vault.readiness
        if ready is None:
            continue
        lines += [f"  {describe(vault.anchor, vault.places[0])}",
                  f"  groups: {_groups_ready(ready)} ready, {ready.groups_needed} needed",
                  f"  failed: {_names(vault.shares_in(State.FAILED))}; overdue: {_names(vault.shares_in(State.OVERDUE))}"]
        lines += [f"  TAMPERED: {finding.problem} (not counted)" for finding in ready.findings]
        lines += [f"  weak point: {sentence}" for sentence in ready.weakest]
    for place in fleet.unreadable:
        lines += [f"{place.place}: COULD NOT BE READ (exit {place.exit_code})", *(f"  {line}" for line in place.lines)]
    lines += [f"PINNED AND NOT FOUND: vault key SHA256 {pin.vault_key_sha256} ({pin.label}; {fleet.pins_file} line {pin.line})"
              for pin in fleet.missing_pins]
    lines.append(_summary(fleet))
    return lines


def _key_line(vault: fl.VaultStatus, fleet: fl.Fleet) -> str:
    """The vault's identity, and whether it is pinned."""
    key = vault.vault_key_sha256
    line = (f"vault key SHA256 {key}" if key else
            f"no vault key (made before vault keys): known by its ceremony id and identifier {vault.manifest.scheme.identifier}")
    if vault.pinned:
        return line + f" (pinned: {vault.pin_label})"
    return line + (f"; NOT PINNED in {fleet.pins_file}" if vault.pinned is False else "")


def _names(shares: tuple[ShareReadiness, ...]) -> str:
    return ", ".join(_who(share) for share in shares) or "none"


def _payload(fleet: fl.Fleet) -> dict[str, Any]:
    return {
        "ok": fleet.ok,
        "as_of": fleet.as_of.isoformat(),
        "summary": _summary(fleet),
        "vaults": [_vault(vault) for vault in fleet.vaults],
        "unreadable": [{"place": u.place, "error": u.error, "exit_code": u.exit_code} for u in fleet.unreadable],
        "pins": None if fleet.pins_file is None else {
            "file": fleet.pins_file,
            "not_pinned": [vault.places[0] for vault in fleet.unpinned],
            "not_found": [{"vault_key_sha256": pin.vault_key_sha256, "label": pin.label, "line": pin.line} for pin in fleet.missing_pins],
        },
    }


def _vault(vault: fl.VaultStatus) -> dict[str, Any]:
    judged, ready = vault.judgement, vault.readiness
    successor = judged.successor
    return {
        "places": list(vault.places),
        "copies": copies_data(vault.copies),
        "name": vault.name,
        "ceremony_id": vault.ceremony_id,
        "identifier": vault.manifest.scheme.identifier,
        "vault_key_sha256": vault.vault_key_sha256,
        "pinned": vault.pinned,
        "pin": vault.pin_label,
        "revision": vault.revision,
        "anchor": to_data(vault.anchor),
        "verdict": judged.verdict.value,
        "reasons": list(judged.reasons),
        "superseded_by": None if successor is None else {"name": successor.name, "ceremony_id": successor.ceremony_id,
                                                         "place": successor.place},
        "recoverable": vault.recoverable,
        "recoverable_until": judged.until.isoformat() if judged.until else None,
        "groups_ready": _groups_ready(ready) if ready else None,
        "groups_needed": ready.groups_needed if ready else None,
        "failed": [_who(share) for share in vault.shares_in(State.FAILED)],
        "overdue": [_who(share) for share in vault.shares_in(State.OVERDUE)],
        "never_verified": [_who(share) for share in vault.shares_in(State.NEVER_VERIFIED)],
        "tampered": ready.tampered if ready else None,
        "findings": [{"line": f.line, "problem": f.problem} for f in ready.findings] if ready else [],
        "weakest": list(ready.weakest) if ready else [],
    }
