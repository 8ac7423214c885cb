"""`coldvault ceremony init|run`: write a plan template; run a plan end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vault.cli.app import new_app
from vault.cli.options import JsonFlag, ModuleOption, PassphraseFile, PinFiles, tokens
from vault.cli.output import emit
from vault.core import proof
from vault.core.delivery import Holder
from vault.core.fingerprint import aloud
from vault.core.formats import fields
from vault.core.formats.manifest import to_document
from vault.core.formats.plan import PAPER
from vault.core.secret import KIND_NOTES
from vault.core.text import safe
from vault.flows import ceremony
from vault.flows.split import SecretFlags

app = new_app("Key ceremonies: write a plan template, rehearse it, run it end to end.")


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="The new plan file.")] = Path("plan.toml"),
    as_json: JsonFlag = False,
) -> None:
    """Write a commented plan template (a family 2-of-3 on paper) to edit before the ceremony."""
    ceremony.write_plan_template(path)
    emit(as_json, {"plan": str(path)}, [f"wrote {path}: edit it, then `coldvault ceremony run {path} --out DIR`"])


@app.command()
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
    outcome = ceremony.run_plan(
        plan_file, out, yes, SecretFlags(generate, bip39_file, secret_file), passphrase_file, tokens(module, pin_file),
    )
    emit(as_json, *outcome_output(outcome, out))


@app.command()
def check(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="The ceremony plan (TOML).", show_default=False)],
    out: Annotated[Path | None, typer.Option("--out", help="The directory the run will write: checked to be new.")] = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Rehearse a plan: everything a run checks before the secret exists (plan, tokens, keys, PINs,
    each delivery proven on its token where the token is here); writes nothing."""
    rehearsal = ceremony.check_plan(plan_file, out, tokens(module, pin_file))
    custodians = [_rehearsed(holder, rehearsal.found_by_key.get(holder.name)) for holder in rehearsal.holders]
    signer = rehearsal.signer
    payload = {
        "plan": str(plan_file),
        "custodians": custodians,
        "signing": None if signer is None else {"token": signer.token_label, "key": signer.key_label, "public_key_sha256": signer.public_key_sha256},
        "unproven": [c["name"] for c in custodians if c["delivery"] != PAPER and not c["proven"]],
        "warnings": list(rehearsal.warnings),
    }
    for warning in rehearsal.warnings:  # stderr, as every warning; in the payload too with --json
        typer.echo(safe.text(warning), err=True)
    human = [f"{plan_file}: the plan, its tokens and keys are ready (no secret was made; nothing was written)"]
    for entry in custodians:
        human.append(f'  {entry["name"]}: {entry["delivery"]}' + (f' on token "{entry["token"]}"' if entry["token"] else "")
                     + _rehearsal_verdict(entry))
    if signer is not None:
        human.append(f'  transcript signing key "{signer.key_label}" on token "{signer.token_label}": signs (tried); SHA-256 {signer.public_key_sha256}')
    emit(as_json, payload, human)


def _rehearsed(holder: Holder, found_by_key: str | None) -> dict[str, Any]:
    target = holder.target
    return {
        "name": holder.name,
        "group": holder.group_index + 1,
        "delivery": PAPER if target is None else target.kind,
        "token": found_by_key if target is None or target.token_label is None else target.token_label,
        "token_named_in_plan": target is not None and target.token_label is not None,
        "proven": target is not None and (target.token_label is not None or found_by_key is not None),
    }


def _rehearsal_verdict(entry: dict[str, Any]) -> str:
    if entry["delivery"] == PAPER:
        return ""
    if entry["proven"] and entry["token_named_in_plan"]:
        return ": proven, a test payload opened on the token"
    if entry["proven"]:
        return (": proven, a test payload opened on the token, found by its public key; the plan does not name it, "
                f'so the run will not prove it again: add token = "{entry["token"]}" to prove it there too')
    return ": NOT PROVEN, its token is not here; the custodian should bring it, or check the envelope after the ceremony"


def outcome_output(outcome: ceremony.Outcome, out: Path) -> tuple[dict[str, Any], list[str]]:
    """What a finished ceremony (or rotation) shows: the JSON payload and the lines for the room."""
    manifest = outcome.manifest
    unproven = [p.holder.name for p in outcome.packets if not p.proven]
    payload = {
        "out": str(out),
        "transcript_head": outcome.head,
        "signed": outcome.signed,
        "signing_key_sha256": outcome.signing_key_sha256,
        "vault_key_sha256": outcome.vault_key_sha256,
        "unproven_envelopes": unproven,
        "qualifying_subsets": fields.count(outcome.qualifying_subsets),
        "summary": proof.proven_summary(outcome.qualifying_subsets),
        "manifest": to_document(manifest),
    }
    human = [
        f"Wrote {out} (ceremony {manifest.ceremony.id}): manifest.json, transcript.jsonl, runbook.md, custodians/",
        f"secret fingerprint: {manifest.secret.secret_fingerprint}   wallet fingerprint: {manifest.secret.wallet_fingerprint}",
        proof.proven_summary(outcome.qualifying_subsets),
        f"note: {KIND_NOTES[manifest.secret.kind]}",
        "",
        "TRANSCRIPT HEAD (witnesses: write it on the runbook by hand):",
        f"  {outcome.head}",
        "VAULT KEY SHA-256, the vault's identity (witnesses: write it on the runbook by hand; every card and README carries it;",
        "read it aloud in groups of four; --vault-key pins it on every revision):",
        f"  {aloud(outcome.vault_key_sha256)}",
    ]
    if outcome.signing_key_sha256 is not None:
        human += [
            "SIGNING KEY SHA-256 (witnesses: write it on the runbook by hand; custodians pin it with --key):",
            f"  {outcome.signing_key_sha256}",
        ]
    else:
        human.append("The transcript is signed by no token: the vault key above sealed it.")
    if unproven:
        human.append(f"NOT PROVEN (token not in the room): {', '.join(unproven)}: they must check their packet with `coldvault verify`")
    return payload, human
