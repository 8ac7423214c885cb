"""Rendering: the payload on stdout (human lines or one JSON object), the rest on stderr."""

from __future__ import annotations

import json
from typing import Any

import typer

from vault.core.anchor import Anchor, AnchorKind, describe


def emit(as_json: bool, payload: dict[str, Any], human: list[str]) -> None:
    """Print the command's result: `payload` as JSON, or `human` as lines."""
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo("\n".join(human))


def say_anchor(as_json: bool, anchor: Anchor, manifest: object) -> None:
    """One line on stderr: which anchor the command trusted the manifest on, or a warning that nothing anchors it.

    With --json the payload's "anchor" says it, so only the warning is printed.
    """
    if not as_json or (anchor.kind is AnchorKind.NONE and not anchor.trusted):
        typer.echo(describe(anchor, str(manifest)), err=True)
