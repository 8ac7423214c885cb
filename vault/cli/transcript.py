"""`coldvault transcript verify DIR`: the hash chain, the manifest it records, its signature."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from vault.cli.app import new_app
from vault.cli.options import JsonFlag, TranscriptKey, VaultKey
from vault.cli.output import emit
from vault.core import succession
from vault.core.anchor import Pins, Verified
from vault.core.backup import MANIFEST_FILE
from vault.core.fingerprint import aloud
from vault.errors import CheckFailed
from vault.flows import transcripts as flow

app = new_app("The ceremony's tamper-evident transcript and drill log.")


MAX_MISSING_SHOWN = 20
"""Missing files beyond this many are counted, not listed (--json lists them all)."""


@app.command("verify")
def verify(
    directory: Annotated[Path, typer.Argument(help="The ceremony's directory (holding transcript.jsonl).", show_default=False)],
    head: Annotated[
        str | None,
        typer.Option("--head", metavar="HASH", help="The head hash the witnesses wrote down: it must be one line's hash."),
    ] = None,
    key: TranscriptKey = None,
    vault_key: VaultKey = None,
    as_json: JsonFlag = False,
) -> None:
    """Check transcript.jsonl's hash chain, and drills.jsonl's if present; the manifest.json
    the transcript recorded, if present; the signature (*.sig.json) a log declares, and with
    --key that it is that key's; the seals of the vault's keys (docs/history.md), and with
    --vault-key that they are that vault's; the public files whose SHA-256 the transcript records
    (those present: a missing one is listed, not a failure).
    Exit 0 when everything holds; 1 naming the file and the first bad line otherwise.
    """
    try:
        checked = flow.verify(directory, head, Pins(key, vault_key))
    except CheckFailed as error:
        if as_json:
            emit(True, {"ok": False, "error": error.message}, [])
        raise
    transcript, drills = checked.transcript, checked.drills
    payload = {
        "ok": True,
        "transcript": dataclasses.asdict(transcript),
        "key_matches": checked.key_matches,
        "vault_key_sha256": checked.sealed.vault_key_sha256 if checked.sealed else None,
        "vault_key_matches": checked.vault_key_matches,
        "successor": None if checked.successor is None else {**succession.to_data(checked.successor[0]), "place": checked.successor[1]},
        "seals": [{"line": seal.seq + 1, "signer": seal.signer.value, "group_index": seal.group_index}
                  for seal in (checked.sealed.seals if checked.sealed else ())],
        "files": {"checked": [vars(f) for f in checked.files], "missing": [vars(f) for f in checked.missing]},
        "drills": dataclasses.asdict(drills) if drills is not None else None,
        "drills_signed_by_transcript_key": checked.drills_by_transcript_signer,
        "drills_attested": None if checked.attested is None else not checked.attested.unattested,
        "drills_out_of_order": [vars(doubt) for doubt in checked.drill_doubts],
    }
    human = _report(transcript, binds_manifest=True) + _seal_lines(checked) + _key_lines(checked) + _files_lines(checked)
    if checked.successor is not None:
        human.append(f"  successor: this revision was {succession.describe(*checked.successor)} "
                     "(successor.json, signed by a key this vault lists)")
    if drills is not None:
        human += _report(drills) + _drills_signer_lines(checked) + _attested_lines(checked)
        human += [f"  WARNING: {doubt.problem}" for doubt in checked.drill_doubts]
    emit(as_json, payload, human + ["OK: every check passed"])


def _seal_lines(checked: flow.Checked) -> list[str]:
    """What the seals proved: by which keys, up to which line, and the vault key to compare with the cards."""
    sealed = checked.sealed
    if sealed is None or sealed.keys is None:
        return ["  seals: none (the vault was made before coldvault sealed histories: only the head written down vouches for it)"]
    groups = [f"line {seal.seq + 1} by group {(seal.group_index or 0) + 1}'s key" for seal in sealed.seals[1:]]
    lines = [f"  seals: line {sealed.seals[0].seq + 1} by the vault key" + (f"; revisions: {', '.join(groups)}" if groups else "")
             + f"; every line up to {(sealed.last_seq or 0) + 1} is sealed",
             f"  vault key SHA-256: {aloud(sealed.keys.vault_sha256)}"
             + (" (the key given with --vault-key)" if checked.vault_key_matches else ": compare it with the one on the cards and the runbook")]
    return lines


def _attested_lines(checked: flow.Checked) -> list[str]:
    """What the drill log's attestations proved (docs/attestation.md)."""
    if checked.attested is None:
        return [f"  attestations: not checked: no drill recorded, or no {MANIFEST_FILE} here to check them against"]
    counted = len(checked.attested.drills)
    if checked.attested.unattested:
        return [f"  attestations: {_count(counted, 'drill')} of this vault; UNATTESTED: the manifest has no attestation keys"]
    return [f"  attestations: every signature of {_count(counted, 'drill')} verifies against the manifest's keys"]


def _report(result: Verified, binds_manifest: bool = False) -> list[str]:
    lines = [
        f"{result.name}: {_count(result.events, 'event')}, hash chain intact",
        f"  head: seq {result.head_seq}, hash {result.head}",
    ]
    if result.manifest_sha256 is not None:
        lines.append(f"  {MANIFEST_FILE}: SHA-256 {result.manifest_sha256} matches the one recorded at seq {result.manifest_seq}")
    elif binds_manifest:
        lines.append(f"  {MANIFEST_FILE}: not present; not checked")
    if result.signed_seq is None:
        lines.append("  signature: none (the log does not declare a signing key)")
    else:
        unsigned = result.head_seq - result.signed_seq
        covers = "the head" if unsigned == 0 else f"not the last {_count(unsigned, 'event')}: chained, not signed"
        lines.append(f"  signature: covers seq 0 to {result.signed_seq} ({covers}), by key SHA-256 {result.signer_public_key_sha256}")
        labels = ", ".join(f"{what} \"{label}\"" for what, label in (("token", result.signer_token_label), ("key", result.signer_key_label)) if label)
        if labels:
            lines.append(f"  labels in the signature file (not verified: anyone can write them): {labels}")
    if result.witnessed_seq is not None:
        later = result.head_seq - result.witnessed_seq
        lines.append(f"  head written down: seq {result.witnessed_seq}" + (f" ({_count(later, 'event')} appended since)" if later else " (the head)"))
    return lines


def _key_lines(checked: flow.Checked) -> list[str]:
    if not checked.key_matches:
        return []
    return [f"  --key: the signature is by the key given ({checked.transcript.signer_public_key_sha256})"]


def _files_lines(checked: flow.Checked) -> list[str]:
    lines = [f"  public files recorded: {len(checked.files)} here, each matching its SHA-256; "
             f"{len(checked.missing)} not here (not checked)"]
    shown = checked.missing[:MAX_MISSING_SHOWN]
    lines += [f"    not here: {record.path}" for record in shown]
    if len(checked.missing) > len(shown):
        lines.append(f"    ... and {len(checked.missing) - len(shown)} more (--json lists them all)")
    return lines


def _drills_signer_lines(checked: flow.Checked) -> list[str]:
    same = checked.drills_by_transcript_signer
    if same is None:
        return []
    if same:
        return ["  the drill log is signed by the transcript's signing key"]
    if checked.transcript.signer_public_key_sha256 is None:
        return ["  WARNING: the drill log is signed, but the transcript is not: no key of this vault is known, "
                "so the signature proves nothing about who wrote the drill log"]
    return [f"  WARNING: the drill log is signed by another key than the transcript's ({checked.transcript.signer_public_key_sha256}): "
            "the signature proves nothing about who wrote the drill log"]


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
