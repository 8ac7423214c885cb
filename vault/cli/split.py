"""`coldvault split`: split a secret into SLIP-39 shares and write a manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vault.cli.app import new_app
from vault.cli.options import JsonFlag, PassphraseFile
from vault.cli.output import emit
from vault.core.backup import Backup, SplitOptions
from vault.core.fingerprint import aloud
from vault.core.formats.manifest import to_document
from vault.core.scheme import describe_group
from vault.core.secret import DEFAULT_GENERATE_BITS, KIND_NOTES
from vault.flows import split as flow

app = new_app()


@app.command()
def split(
    out: Annotated[Path, typer.Option("--out", help="New directory: manifest.json, transcript.jsonl and shares/*.txt.")],
    scheme: Annotated[str | None, typer.Option("--scheme", help="One group, as TofN: e.g. 2of3.")] = None,
    group_threshold: Annotated[int | None, typer.Option("--group-threshold", help="Groups needed to recover.")] = None,
    group: Annotated[list[str] | None, typer.Option("--group", help="A group as TofN; repeat for each group.")] = None,
    group_name: Annotated[list[str] | None, typer.Option("--group-name", help="Name of each group, in order.")] = None,
    generate: Annotated[
        int | None,
        typer.Option("--generate", metavar="BITS", help=f"Generate a new master secret (128..256, steps of 16; e.g. {DEFAULT_GENERATE_BITS})."),
    ] = None,
    bip39_file: Annotated[Path | None, typer.Option("--bip39-file", help="File with an English BIP-39 mnemonic.")] = None,
    secret_file: Annotated[Path | None, typer.Option("--secret-file", help="File with the master secret in hex.")] = None,
    passphrase_file: PassphraseFile = None,
    passphrase_prompt: Annotated[bool, typer.Option("--passphrase-prompt", help="Ask for a passphrase (twice), hidden.")] = False,
    iteration_exponent: Annotated[int, typer.Option("--iteration-exponent", help="SLIP-39 PBKDF2 work: 10000 x 2^E iterations in all (4 rounds of 2500 x 2^E).")] = 1,
    extendable: Annotated[bool, typer.Option("--extendable/--no-extendable", help="SLIP-39 extendable backup flag.")] = True,
    name: Annotated[str, typer.Option("--name", help="Ceremony name, written in the manifest and share files.")] = "coldvault split",
    show_shares: Annotated[bool, typer.Option("--show-shares", help="Also print every share's words (secret!).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Split a secret into SLIP-39 shares: DIR/manifest.json, DIR/shares/*.txt, DIR/transcript.jsonl.

    The secret comes from --generate, --bip39-file, --secret-file, or (with none of
    them) a hidden prompt, or standard input when it is not a terminal. The transcript
    (unsigned, no secret) records the manifest's SHA-256: every command that later
    trusts the manifest checks it against that.
    """
    backup = flow.split(
        out, flow.scheme_from_flags(scheme, group_threshold, group or [], group_name or []),
        SplitOptions(iteration_exponent=iteration_exponent, extendable=extendable, ceremony_name=name),
        flow.SecretFlags(generate, bip39_file, secret_file), passphrase_file, passphrase_prompt,
    )
    payload: dict[str, Any] = {"out": str(out), "vault_key_sha256": backup.manifest.vault_key_sha256, "manifest": to_document(backup.manifest)}
    human = _summary(out, backup)
    if show_shares:
        pairs = list(zip(backup.manifest.shares, backup.shares, strict=True))
        payload["shares"] = [{"file": e.file, "mnemonic": s.mnemonic} for e, s in pairs]
        human += ["", "share words (SECRET):"] + [f"  {e.file}: {s.mnemonic}" for e, s in pairs]
    emit(as_json, payload, human)


def _summary(out: Path, backup: Backup) -> list[str]:
    manifest = backup.manifest
    scheme = manifest.scheme
    secret = manifest.secret
    groups = ", ".join(
        f"{describe_group(g.index, len(scheme.groups), g.name)}: {g.member_threshold} of {g.member_count}" for g in scheme.groups
    )
    lines = [
        f"Wrote {out} (ceremony {manifest.ceremony.id})",
        f"secret: {secret.kind.value}, {secret.bits} bits",
        f"secret fingerprint: {secret.secret_fingerprint}",
        f"wallet fingerprint: {secret.wallet_fingerprint} (the BIP-32 master fingerprint a wallet shows)",
        f"passphrase: {'yes: without it the shares give a different wallet' if scheme.passphrase_protected else 'none'}",
        f"scheme: {scheme.group_threshold} of {len(scheme.groups)} groups needed; {groups}",
        "shares:",
    ]
    names = {g.index: g.name for g in scheme.groups}
    lines += [
        f"  {describe_group(s.group_index, len(scheme.groups), names[s.group_index])}, share {s.member_index + 1}: "
        f"{s.file}  {s.share_fingerprint}"
        for s in manifest.shares
    ]
    lines.append(f"note: {KIND_NOTES[secret.kind]}")
    if manifest.vault_key_sha256 is not None:
        lines += ["vault key SHA-256, the vault's identity (write it down; --vault-key pins it on every revision):",
                  f"  {aloud(manifest.vault_key_sha256)}"]
    return lines
