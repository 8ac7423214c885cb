"""Rendering: the payload on stdout (human lines or one JSON object), the rest on stderr."""

from __future__ import annotations

import json
from typing import Any

import typer


def emit(as_json: bool, payload: dict[str, Any], human: list[str]) -> None:
    """Print the command's result: `payload` as JSON, or `human` as lines."""
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo("\n".join(human))
