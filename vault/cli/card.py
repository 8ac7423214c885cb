"""`coldvault card`: a printable share card (PDF) for a custodian. Shows no words."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from vault.cli.app import app
from vault.cli.options import JsonFlag, ModuleOption, PinFiles, TokenLabels, opener
from vault.cli.output import emit
from vault.core.slip39.share import Share
from vault.edges import fsio, sources
from vault.edges.card import render_card
from vault.errors import InvalidInput


@app.command()
def card(
    share: Annotated[Path, typer.Argument(help="A share file or an envelope (opened with its token).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="New PDF file (mode 0600: it holds the share's words).")],
    manifest: Annotated[Path | None, typer.Option("--manifest", help="Take the ceremony, custodian and group names from this manifest.")] = None,
    custodian: Annotated[str | None, typer.Option("--custodian", help="Custodian's name printed on the card (overrides the manifest's).")] = None,
    token: TokenLabels = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Write a one-page printable card for a share: its words, numbered, with its group and fingerprint."""
    fsio.check_new_file(out)
    with opener(module, pin_file, token) as tokens_:
        parsed = sources.read_share_file(share, tokens_)
    names = _names_from_manifest(parsed, manifest) if manifest is not None else _Names()
    pdf = render_card(
        parsed,
        ceremony_name=names.ceremony_name,
        ceremony_id=names.ceremony_id,
        custodian=custodian if custodian is not None else names.custodian,
        group_name=names.group_name,
        member_count=names.member_count,
    )
    fsio.write_new_file(out, pdf)
    payload = {"out": str(out), "share_fingerprint": parsed.fingerprint}
    human = [
        f"wrote the card for {share} to {out} (mode 0600; it holds the share: print it, then delete the file)",
        f"share fingerprint: {parsed.fingerprint}",
    ]
    emit(as_json, payload, human)


@dataclass(frozen=True)
class _Names:
    """What the card says about the share besides its words; unknown without a manifest."""

    ceremony_name: str | None = None
    ceremony_id: str | None = None
    custodian: str | None = None
    group_name: str | None = None
    member_count: int | None = None


def _names_from_manifest(share: Share, path: Path) -> _Names:
    """The names in the manifest's entry for `share`; a share of another vault is refused."""
    vault_manifest = sources.read_manifest(path)
    entry = vault_manifest.share_by_fingerprint(share.fingerprint)
    if entry is None:
        raise InvalidInput(f"{path}: this share is not listed in the manifest", "make cards for shares of this vault")
    group = vault_manifest.group(entry.group_index)
    return _Names(
        ceremony_name=vault_manifest.ceremony.name,
        ceremony_id=vault_manifest.ceremony.id,
        custodian=entry.custodian,
        group_name=group.name if group else None,
        member_count=group.member_count if group else None,
    )
