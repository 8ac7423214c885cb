"""`coldvault rotate`: re-split the seed by a new plan, so that old shares no longer combine with new ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vault.cli.app import app
from vault.cli.ceremony import outcome_output, plan_passphrase
from vault.cli.options import JsonFlag, ModuleOption, PassphraseFile, PassphrasePrompt, PinFiles, TokenLabels, opener
from vault.cli.output import emit
from vault.edges import fsio, sources, terminal
from vault.errors import InvalidInput


@app.command()
def rotate(
    shares: Annotated[list[Path], typer.Argument(help="A quorum of the old vault's shares: share files or envelopes.", show_default=False)],
    manifest: Annotated[Path, typer.Option("--manifest", help="The old vault's manifest.json.")],
    plan_file: Annotated[Path, typer.Option("--plan", metavar="PLAN", help="The new ceremony plan (TOML).")],
    out: Annotated[Path, typer.Option("--out", help="New directory for the new ceremony's outputs.")],
    yes: Annotated[bool, typer.Option("--yes", help="Scripted run: announce the steps but ask no witness (recorded so).")] = False,
    passphrase_file: PassphraseFile = None,
    passphrase_prompt: PassphrasePrompt = False,
    new_passphrase_file: Annotated[
        Path | None, typer.Option("--new-passphrase-file", help="The new plan's passphrase (when it says passphrase = true); else a prompt.")
    ] = None,
    token: TokenLabels = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Recover the seed in memory from a quorum of the old shares, check it against the old
    manifest, and run the new plan as a ceremony with a new identifier. The new manifest names
    the old one as superseded. Old shares still recover the seed with each other: destroy them
    (the new runbook lists them)."""
    from vault.core.formats import plan as plans
    from vault.edges import guide
    from vault.flows import changes

    text = fsio.read_text(plan_file)
    plan = plans.parse(text, str(plan_file))
    if new_passphrase_file is not None and not plan.passphrase:
        raise InvalidInput("--new-passphrase-file was given, but the new plan says passphrase = false")
    vault = changes.read_vault(manifest)
    changes.check_plan_fits(plan, vault.manifest)
    old_passphrase = _old_passphrase(vault.manifest.scheme.passphrase_protected, passphrase_file, passphrase_prompt)
    room = guide.TerminalGuide(plan.operator, plan.witnesses, scripted=yes)
    with opener(module, pin_file, token) as tokens_:
        outcome = changes.rotate(
            vault, shares, old_passphrase, plan, text, plan_file.parent, out,
            read_passphrase=lambda: plan_passphrase(plan, new_passphrase_file), opener=tokens_, guide=room,
        )
    payload, human = outcome_output(outcome, out)
    old = vault.manifest.ceremony
    payload["supersedes"] = {"ceremony_id": old.id, "manifest_sha256": vault.manifest_sha256}
    human += [
        "",
        f"This vault supersedes ceremony {old.id} ({old.name}). The old shares still recover the seed with each other,",
        "but never with the new ones: each old custodian destroys their share in front of a witness, and both initial",
        "its row in runbook.md (\"Superseded vault\"). If an old share cannot be produced, move the funds to a new seed.",
    ]
    emit(as_json, payload, human)


def _old_passphrase(protected: bool, path: Path | None, prompt: bool) -> bytes:
    """The old vault's passphrase: from the flags, or asked at a terminal when the old vault has one."""
    if path is None and not prompt and protected and terminal.interactive():
        terminal.info("The vault being rotated has a passphrase.")
        prompt = True
    return sources.read_passphrase(path, prompt, confirm=False)
