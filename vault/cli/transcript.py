"""`coldvault transcript verify DIR`: the hash chain, the manifest it records, its signature."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vault.cli.app import app
from vault.cli.options import JsonFlag
from vault.cli.output import emit
from vault.edges import fsio
from vault.errors import CheckFailed

if TYPE_CHECKING:  # loaded when the command runs: --help stays fast
    from vault.core.formats import transcript as tr

MANIFEST_FILE = "manifest.json"

transcript_app = typer.Typer(help="The ceremony's tamper-evident transcript and drill log.", no_args_is_help=True)
app.add_typer(transcript_app, name="transcript")


@transcript_app.command("verify")
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
    from vault.core.formats import transcript as tr

    written_down = tr.read_head(head) if head is not None else None
    try:
        results = [_verify_log(directory / tr.TRANSCRIPT_FILE, _optional(directory / MANIFEST_FILE), written_down)]
        drills = directory / tr.DRILLS_FILE
        if _exists(drills):
            results.append(_verify_log(drills, None, None))
    except CheckFailed as error:
        if as_json:
            emit(True, {"ok": False, "error": error.message}, [])
        raise
    payload = {
        "ok": True,
        "transcript": dataclasses.asdict(results[0]),
        "drills": dataclasses.asdict(results[1]) if len(results) > 1 else None,
    }
    human = _report(results[0], binds_manifest=True) + [line for result in results[1:] for line in _report(result)]
    emit(as_json, payload, human + ["OK: every check passed"])


def _verify_log(path: Path, manifest: bytes | None, written_down: str | None) -> tr.Verified:
    from vault.core.formats import transcript as tr

    name = str(path)
    events = tr.parse_bytes(fsio.read_bytes(path), name)
    signature_path = Path(tr.signature_file(name))
    signature = tr.signature_from_json(fsio.read_text(signature_path), str(signature_path)) if _exists(signature_path) else None
    return tr.verify(events, name, manifest, signature, written_down)


def _report(result: tr.Verified, binds_manifest: bool = False) -> list[str]:
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


def _optional(path: Path) -> bytes | None:
    """A file's bytes, or None if there is none (a dangling link is an error, not absence)."""
    return fsio.read_bytes(path) if _exists(path) else None


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()
