"""Rendering: the payload on stdout (human lines or one JSON object), the rest on stderr.

Human lines are written through `safe.text`, one by one: the newlines between them are
coldvault's layout, and anything inside a line (a name, a label, a path) is shown,
never obeyed. JSON is ASCII (`ensure_ascii`): no raw control byte reaches a pipe.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from vault.core.anchor import Anchor, AnchorKind, describe
from vault.core.copies import Copies
from vault.core.text import safe


def emit(as_json: bool, payload: dict[str, Any], human: list[str]) -> None:
    """Print the command's result: `payload` as JSON, or `human` as lines."""
    if as_json:
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=True))
    else:
        typer.echo("\n".join(safe.text(line) for line in human))


def say_anchor(as_json: bool, anchor: Anchor, manifest: object) -> None:
    """One line on stderr: which anchor the command trusted the manifest on, or a warning that nothing anchors it.

    With --json the payload's "anchor" says it, so only the warning is printed.
    """
    if not as_json or (anchor.kind is AnchorKind.NONE and not anchor.trusted):
        typer.echo(safe.text(describe(anchor, str(manifest))), err=True)


def copies_data(copies: Copies) -> list[dict[str, Any]]:
    """The places of a vault as `--json` gives them (`drill status`, `fleet status`): each with its standing."""
    return [{"place": copy.place.path, "standing": copy.standing.value, "ahead": copy.ahead,
             "manifest_sha256": copy.place.manifest_sha256, "revision": copy.place.manifest.revision_number} for copy in copies.copies]
