"""`coldvault split`: split a secret into SLIP-39 shares and write a manifest."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

from vault.cli.app import app
from vault.cli.options import JsonFlag, PassphraseFile
from vault.cli.output import emit
from vault.core.backup import SplitOptions, make_backup
from vault.core.formats.manifest import Manifest, to_document
from vault.core.scheme import Scheme, check_iteration_exponent, describe_group, make_scheme, parse_t_of_n
from vault.core.secret import DEFAULT_GENERATE_BITS, KIND_NOTES
from vault.edges import fsio, sources, terminal
from vault.errors import InvalidInput


@app.command()
def split(
    out: Annotated[Path, typer.Option("--out", help="New directory: manifest.json and shares/*.txt.")],
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
    """Split a secret into SLIP-39 shares: DIR/manifest.json and DIR/shares/*.txt.

    The secret comes from --generate, --bip39-file, --secret-file, or (with none of
    them) a hidden prompt, or standard input when it is not a terminal.
    """
    plan = _scheme(scheme, group_threshold, group or [], group_name or [])
    check_iteration_exponent(iteration_exponent)
    fsio.check_output_dir(out)
    for leftover in fsio.leftover_staging(out):
        terminal.info(f"warning: {leftover} is left from an interrupted run and may hold plaintext shares: inspect it, then destroy it")
    passphrase = sources.read_passphrase(passphrase_file, passphrase_prompt, confirm=True)
    secret = sources.read_secret(generate, bip39_file, secret_file)
    options = SplitOptions(iteration_exponent=iteration_exponent, extendable=extendable, ceremony_name=name)
    backup = make_backup(secret, plan, passphrase, options, now=datetime.now(timezone.utc))
    fsio.write_directory(out, [(f.path, f.text, f.secret) for f in backup.files])

    manifest = backup.manifest
    payload = {"out": str(out), "manifest": to_document(manifest)}
    human = _summary(out, manifest)
    if show_shares:
        payload["shares"] = [{"file": e.file, "mnemonic": s.mnemonic} for e, s in zip(manifest.shares, backup.shares)]
        human += ["", "share words (SECRET):"] + [f"  {e.file}: {s.mnemonic}" for e, s in zip(manifest.shares, backup.shares)]
    emit(as_json, payload, human)


def _scheme(scheme: str | None, group_threshold: int | None, groups: list[str], names: list[str]) -> Scheme:
    if scheme is not None:
        if groups or group_threshold is not None:
            raise InvalidInput("give --scheme for one group, or --group-threshold with --group, not both")
        return make_scheme(1, [parse_t_of_n(scheme)], names)
    if not groups:
        raise InvalidInput("no scheme given", "use --scheme 2of3, or --group-threshold 2 --group 2of3 --group 3of5 ...")
    if group_threshold is None:
        if len(groups) > 1:
            raise InvalidInput("several groups need --group-threshold (how many groups are needed)")
        group_threshold = 1
    return make_scheme(group_threshold, [parse_t_of_n(g) for g in groups], names)


def _summary(out: Path, manifest: Manifest) -> list[str]:
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
    return lines
