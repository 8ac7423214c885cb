"""`coldvault card`: a printable share card (PDF) for a custodian. Shows no words."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vault.cli.app import new_app
from vault.cli.options import AnchorKey, JsonFlag, ModuleOption, PinFiles, TokenLabels, VaultKey, tokens
from vault.cli.output import emit, say_anchor
from vault.core.anchor import Pins, to_data
from vault.flows import shares

app = new_app()


@app.command()
def card(
    share: Annotated[Path, typer.Argument(help="A share file or an envelope (opened with its token).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="New PDF file (mode 0600: it holds the share's words).")],
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="Take the ceremony, custodian and group names from this manifest (checked against its "
                                        "transcript; a signed one's key is printed on the card)."),
    ] = None,
    key: AnchorKey = None,
    vault_key: VaultKey = None,
    custodian: Annotated[str | None, typer.Option("--custodian", help="Custodian's name printed on the card (overrides the manifest's).")] = None,
    qr: Annotated[bool, typer.Option("--qr", help="Also print the words as a QR code (SLIP-39 text form), as secret as the words.")] = False,
    token: TokenLabels = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Write a one-page printable card for a share: its words, numbered, with its group and fingerprint."""
    carded = shares.card(share, out, manifest, custodian, tokens(module, pin_file, token), Pins(key, vault_key), qr=qr)
    printed = carded.share
    payload = {"out": str(out), "share_fingerprint": printed.fingerprint,
               "anchor": to_data(carded.anchor) if carded.anchor else None}
    human = [
        f"wrote the card for {share} to {out} (mode 0600; it holds the share: print it, then delete the file)",
        f"share fingerprint: {printed.fingerprint}",
    ]
    emit(as_json, payload, human)
    if carded.anchor is not None:
        say_anchor(as_json, carded.anchor, manifest)
