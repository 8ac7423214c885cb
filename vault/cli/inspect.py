"""`coldvault inspect`: what a share says about itself. No secret is shown."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vault.cli.app import new_app
from vault.cli.options import JsonFlag, ModuleOption, PinFiles, TokenLabels, tokens
from vault.cli.output import emit
from vault.core.scheme import describe_group
from vault.flows import shares

app = new_app()


@app.command()
def inspect(
    share: Annotated[Path, typer.Argument(help="A share file or an envelope (opened with its token).", show_default=False)],
    token: TokenLabels = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a share's identifier, group and thresholds, and its fingerprint."""
    parsed = shares.inspect(share, tokens(module, pin_file, token))
    payload = {
        "file": str(share),
        "identifier": parsed.identifier,
        "extendable": parsed.extendable,
        "iteration_exponent": parsed.iteration_exponent,
        "group_index": parsed.group_index,
        "group_threshold": parsed.group_threshold,
        "group_count": parsed.group_count,
        "member_index": parsed.member_index,
        "member_threshold": parsed.member_threshold,
        "word_count": len(parsed.words),
        "share_fingerprint": parsed.fingerprint,
    }
    human = [
        f"{share}: a valid SLIP-39 share (checksum correct)",
        f"identifier: {parsed.identifier}",
        f"extendable: {'yes' if parsed.extendable else 'no'}",
        f"iteration exponent: {parsed.iteration_exponent}",
        f"{describe_group(parsed.group_index, parsed.group_count)}; {parsed.group_threshold} of {parsed.group_count} groups needed",
        f"share {parsed.member_index + 1} of its group; {parsed.member_threshold} of the group's shares needed",
        f"words: {len(parsed.words)}",
        f"share fingerprint: {parsed.fingerprint}",
    ]
    emit(as_json, payload, human)
