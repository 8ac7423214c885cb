"""Rendering: the payload on stdout (human lines or one JSON object), the rest on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout and nothing else there.")]
PassphraseFile = Annotated[
    Path | None,
    typer.Option("--passphrase-file", help="File holding the SLIP-39 passphrase (a trailing newline is not part of it)."),
]


def emit(as_json: bool, payload: dict[str, Any], human: list[str]) -> None:
    """Print the command's result: `payload` as JSON, or `human` as lines."""
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo("\n".join(human))
