"""`coldvault transcript verify DIR`: the hash chain, the manifest it records, its signature."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from vault.cli.app import new_app
from vault.cli.options import JsonFlag
from vault.cli.output import emit
from vault.core.backup import MANIFEST_FILE
from vault.core.formats.transcript import Verified
from vault.errors import CheckFailed
from vault.flows import transcripts as flow

app = new_app("The ceremony's tamper-evident transcript and drill log.")


@app.command("verify")
def verify(
    directory: Annotated[Path, typer.Argument(help="The ceremony's directory (holding transcript.jsonl).", show_default=False)],
    head: Annotated[
        str | None,
        typer.Option("--head", metavar="HASH", help="The head hash the witnesses wrote down: it must be one line's hash."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check transcript.jsonl's hash chain, and drills.jsonl's if present; the manifest.json
    the transcript recorded, if present; the signature (*.sig.json) a log declares.
    Exit 0 when everything holds; 1 naming the file and the first bad line otherwise.
    """
    try:
        transcript, drills = flow.verify(directory, head)
    except CheckFailed as error:
        if as_json:
            emit(True, {"ok": False, "error": error.message}, [])
        raise
    payload = {
        "ok": True,
        "transcript": dataclasses.asdict(transcript),
        "drills": dataclasses.asdict(drills) if drills is not None else None,
    }
    human = _report(transcript, binds_manifest=True) + (_report(drills) if drills is not None else [])
    emit(as_json, payload, human + ["OK: every check passed"])


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
        labels = ", ".join(f"{what} \"{label}\"" for what, label in (("token", result.signer_token_label), ("key", result.signer_key_label)) if label)
        unsigned = result.head_seq - result.signed_seq
        covers = "the head" if unsigned == 0 else f"not the last {_count(unsigned, 'event')}: chained, not signed"
        lines.append(
            f"  signature: covers seq 0 to {result.signed_seq} ({covers}), by key SHA-256 {result.signer_public_key_sha256}"
            + (f" ({labels})" if labels else "")
        )
    if result.witnessed_seq is not None:
        later = result.head_seq - result.witnessed_seq
        lines.append(f"  head written down: seq {result.witnessed_seq}" + (f" ({_count(later, 'event')} appended since)" if later else " (the head)"))
    return lines


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
