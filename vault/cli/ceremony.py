"""`coldvault ceremony init|run`: write a plan template; run a plan end to end."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vault.cli.app import app
from vault.cli.options import JsonFlag, ModuleOption, PassphraseFile, PinFiles, opener
from vault.cli.output import emit
from vault.core.formats.manifest import to_document
from vault.core.secret import KIND_NOTES
from vault.edges import fsio, sources
from vault.errors import InvalidInput

if TYPE_CHECKING:  # the plan reader, sealing and PDF code load only when a ceremony runs: --help stays fast
    from vault.core.formats.plan import Plan
    from vault.flows import ceremony

ceremony_app = typer.Typer(help="Key ceremonies: write a plan template, run a plan end to end.", no_args_is_help=True)
app.add_typer(ceremony_app, name="ceremony")

PLAN_TEMPLATE = "plan.toml"


@ceremony_app.command()
def init(
    path: Annotated[Path, typer.Argument(help="The new plan file.")] = Path("plan.toml"),
    as_json: JsonFlag = False,
) -> None:
    """Write a commented plan template (a family 2-of-3 on paper) to edit before the ceremony."""
    from importlib import resources

    text = resources.files("vault.templates").joinpath(PLAN_TEMPLATE).read_text(encoding="utf-8")
    fsio.write_new_file(path, text.encode("utf-8"), fsio.PUBLIC_FILE_MODE)
    emit(as_json, {"plan": str(path)}, [f"wrote {path}: edit it, then `coldvault ceremony run {path} --out DIR`"])


@ceremony_app.command()
def run(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="The ceremony plan (TOML).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="New directory for the ceremony's outputs.")],
    yes: Annotated[bool, typer.Option("--yes", help="Scripted run: announce the steps but ask no witness (recorded so).")] = False,
    generate: Annotated[int | None, typer.Option("--generate", metavar="BITS", help="Generate the secret (the plan's source must be generate).")] = None,
    bip39_file: Annotated[Path | None, typer.Option("--bip39-file", help="The BIP-39 mnemonic to split (source bip39).")] = None,
    secret_file: Annotated[Path | None, typer.Option("--secret-file", help="The master secret in hex (source master-secret).")] = None,
    passphrase_file: PassphraseFile = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a plan: check it, make or take the secret, split, seal, prove, record, and
    write DIR all at once. Guided (witnesses confirm by name) unless --yes."""
    from vault.core.formats import plan as plans
    from vault.edges import guide
    from vault.flows import ceremony

    text = fsio.read_text(plan_file)
    plan = plans.parse(text, str(plan_file))
    _check_flags(plan, generate, bip39_file, secret_file, passphrase_file)
    room = guide.TerminalGuide(plan.operator, plan.witnesses, scripted=yes)
    with opener(module, pin_file, []) as tokens_:
        outcome = ceremony.run(
            plan, text, plan_file.parent, out,
            read_secret=lambda: sources.read_secret(_bits(plan, generate), bip39_file, secret_file),
            read_passphrase=lambda: plan_passphrase(plan, passphrase_file),
            opener=tokens_, guide=room,
        )
    emit(as_json, *outcome_output(outcome, out))


def outcome_output(outcome: ceremony.Outcome, out: Path) -> tuple[dict[str, Any], list[str]]:
    """What a finished ceremony (or rotation) shows: the JSON payload and the lines for the room."""
    manifest = outcome.manifest
    unproven = [p.recipient.custodian.name for p in outcome.packets if not p.proven]
    payload = {
        "out": str(out),
        "transcript_head": outcome.head,
        "signed": outcome.signed,
        "unproven_envelopes": unproven,
        "manifest": to_document(manifest),
    }
    human = [
        f"Wrote {out} (ceremony {manifest.ceremony.id}): manifest.json, transcript.jsonl, runbook.md, custodians/",
        f"secret fingerprint: {manifest.secret.secret_fingerprint}   wallet fingerprint: {manifest.secret.wallet_fingerprint}",
        f"note: {KIND_NOTES[manifest.secret.kind]}",
        "",
        "TRANSCRIPT HEAD (witnesses: write it on the runbook by hand):",
        f"  {outcome.head}",
    ]
    if unproven:
        human.append(f"NOT PROVEN (token not in the room): {', '.join(unproven)}: they must check their packet with `coldvault verify`")
    return payload, human


def _check_flags(plan: Plan, generate: int | None, bip39_file: Path | None, secret_file: Path | None, passphrase_file: Path | None) -> None:
    """Flags that contradict the plan are mistakes: refuse them before anything happens."""
    from vault.core.formats.plan import SOURCE_FLAGS

    given = {flag for flag, value in zip(SOURCE_FLAGS.values(), (generate, bip39_file, secret_file)) if value is not None}
    wrong = given - {SOURCE_FLAGS[plan.secret_source]}
    if wrong:
        raise InvalidInput(
            f"{' and '.join(sorted(wrong))} contradicts the plan: its secret source is {plan.secret_source}",
            f"use {SOURCE_FLAGS[plan.secret_source]}, or change [secret] source in the plan",
        )
    if generate is not None and generate != plan.secret_bits:
        raise InvalidInput(f"--generate {generate} contradicts the plan's {plan.secret_bits} bits")
    if passphrase_file is not None and not plan.passphrase:
        raise InvalidInput("--passphrase-file was given, but the plan says passphrase = false")


def _bits(plan: Plan, generate: int | None) -> int | None:
    """With source generate and no flag, the plan's strength."""
    from vault.core.formats.plan import SOURCE_GENERATE

    return plan.secret_bits if plan.secret_source == SOURCE_GENERATE else generate


def plan_passphrase(plan: Plan, passphrase_file: Path | None) -> bytes:
    """The new passphrase a plan asks for (confirmed twice at a prompt), or none."""
    if not plan.passphrase:
        return b""
    passphrase = sources.read_passphrase(passphrase_file, passphrase_file is None, confirm=True)
    if not passphrase:
        raise InvalidInput("the plan says passphrase = true, but the passphrase given is empty")
    return passphrase
