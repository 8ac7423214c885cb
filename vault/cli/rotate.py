"""`coldvault rotate`: re-split the seed by a new plan, so that old shares no longer combine with new ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vault.cli.app import new_app
from vault.cli.ceremony import outcome_output
from vault.cli.options import (
    LOCK_WAIT_SECONDS,
    AnchorKey,
    JsonFlag,
    ModuleOption,
    PassphraseFile,
    PassphrasePrompt,
    PinFiles,
    TokenLabels,
    TrustManifest,
    VaultKey,
    WaitOption,
    tokens,
)
from vault.cli.output import emit, say_anchor
from vault.core.anchor import Pins, to_data
from vault.flows.rotate import Passphrases
from vault.flows.rotate import rotate as rotate_vault

app = new_app()


@app.command()
def rotate(
    shares: Annotated[list[Path], typer.Argument(help="A quorum of the old vault's shares: share files or envelopes.", show_default=False)],
    manifest: Annotated[Path, typer.Option("--manifest", help="The old vault's manifest.json, anchored by the transcript.jsonl beside it.")],
    plan_file: Annotated[Path, typer.Option("--plan", metavar="PLAN", help="The new ceremony plan (TOML).")],
    out: Annotated[Path, typer.Option("--out", help="New directory for the new ceremony's outputs.")],
    yes: Annotated[bool, typer.Option("--yes", help="Scripted run: announce the steps but ask no witness (recorded so).")] = False,
    passphrase_file: PassphraseFile = None,
    passphrase_prompt: PassphrasePrompt = False,
    new_passphrase_file: Annotated[
        Path | None, typer.Option("--new-passphrase-file", help="The new plan's passphrase (when it says passphrase = true); else a prompt.")
    ] = None,
    key: AnchorKey = None,
    vault_key: VaultKey = None,
    trust_manifest: TrustManifest = False,
    wait: WaitOption = LOCK_WAIT_SECONDS,
    token: TokenLabels = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-split the seed by a new plan, so that old shares never combine with new ones.

    The seed is recovered in memory from a quorum of the old shares, checked against the
    old manifest, and split by the new plan in a ceremony with a new identifier. The new
    manifest names the old one as superseded. Old shares still recover the seed with each
    other: destroy them (the new runbook lists them). The old manifest must match the
    transcript beside it; with no transcript, rotate refuses (exit 3) unless --trust-manifest."""
    rotated = rotate_vault(
        manifest, shares, plan_file, out, yes, Passphrases(passphrase_file, passphrase_prompt, new_passphrase_file),
        tokens(module, pin_file, token), Pins(key, vault_key), trust_manifest, wait,
    )
    payload, human = outcome_output(rotated.outcome, out)
    old = rotated.superseded
    payload["supersedes"] = {"ceremony_id": old.id, "manifest_sha256": rotated.superseded_sha256, "anchor": to_data(rotated.anchor)}
    human += [
        "",
        f"This vault supersedes ceremony {old.id} ({old.name}). The old shares still recover the seed with each other,",
        "but never with the new ones: each old custodian destroys their share in front of a witness, and both initial",
        "its row in runbook.md (\"Superseded vault\"). If an old share cannot be produced, move the funds to a new seed.",
    ]
    emit(as_json, payload, human)
    say_anchor(as_json, rotated.anchor, manifest)
