"""`coldvault unwrap`: open an envelope with its token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vault.cli.app import new_app
from vault.cli.options import JsonFlag, ModuleOption, PinFiles, TokenLabels, tokens
from vault.cli.output import emit
from vault.flows import envelopes

app = new_app()


@app.command()
def unwrap(
    envelope: Annotated[Path, typer.Argument(help="An envelope file.", show_default=False)],
    token: TokenLabels = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the share to this new file (0600) instead of stdout.")] = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Open an envelope with its token: the share's words go to --out (or stdout)."""
    plain = envelopes.unwrap(envelope, out, tokens(module, pin_file, token))
    payload: dict[str, Any] = {"share_fingerprint": plain.fingerprint, "group_index": plain.group_index, "member_index": plain.member_index}
    if out is not None:
        payload["out"] = str(out)
        emit(as_json, payload, [f"opened {envelope}: wrote the share to {out} (mode 0600)", f"share fingerprint: {plain.fingerprint}"])
    else:
        payload["mnemonic"] = plain.mnemonic
        emit(as_json, payload, [plain.mnemonic])
