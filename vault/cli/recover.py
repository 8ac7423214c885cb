"""`coldvault recover`: combine shares; show fingerprints, or the secret when asked."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer

from vault.cli.app import app
from vault.cli.options import JsonFlag, ModuleOption, PassphraseFile, PassphrasePrompt, PinFiles, TokenLabels, opener
from vault.cli.output import emit
from vault.core import verification
from vault.core.fingerprint import secret_fingerprint, wallet_fingerprint
from vault.core.formats import manifest as mf
from vault.core.secret import Secret, SecretKind, to_bip39
from vault.core.slip39 import recovery
from vault.edges import entry, fsio, sources, terminal
from vault.errors import InvalidInput, VaultError


class OutputFormat(str, enum.Enum):
    bip39 = "bip39"
    hex = "hex"


@app.command()
def recover(
    shares: Annotated[list[Path] | None, typer.Argument(help="Share files or envelopes, in any order.", show_default=False)] = None,
    interactive: Annotated[bool, typer.Option("--interactive", help="Type shares word by word.")] = False,
    manifest: Annotated[Path | None, typer.Option("--manifest", help="Check shares and secret against this manifest.")] = None,
    passphrase_file: PassphraseFile = None,
    passphrase_prompt: PassphrasePrompt = False,
    output_format: Annotated[
        OutputFormat | None, typer.Option("--format", help="bip39 (BIP-39 secrets only) or hex. Default: the secret's own.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the secret to this new file (mode 0600).")] = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print the secret on stdout.")] = False,
    token: TokenLabels = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Recover the secret from a quorum of shares.

    Without --reveal or --out, only fingerprints are shown: enough to prove that the
    shares recover the vault's secret, and nothing to steal.
    """
    if not shares and not interactive:
        raise InvalidInput("no shares given", "give share files, or --interactive to type them")
    vault_manifest = sources.read_manifest(manifest) if manifest else None
    kind = _kind(vault_manifest, output_format)
    if kind is SecretKind.MASTER_SECRET and output_format is OutputFormat.bip39:
        raise InvalidInput(
            "the manifest says this vault holds a SLIP-39 master secret, which has no BIP-39 words",
            "use --format hex",
        )
    if kind is None and (reveal or out is not None):
        raise InvalidInput(
            "without --manifest, say which kind of secret to output",
            "add --manifest, or --format hex (a master secret) or --format bip39 (BIP-39 entropy)",
        )
    if out is not None:
        fsio.check_new_file(out)

    with opener(module, pin_file, token) as tokens_:
        share_set = sources.collect_shares(list(shares or []), terminal.info, _thresholds(vault_manifest), tokens_)
    if interactive:
        check = (lambda share: verification.check_share(share, vault_manifest)) if vault_manifest else None
        share_set = entry.enter_shares(share_set, terminal.read_line, terminal.info, check)
    if vault_manifest is not None:
        _check_shares(share_set, vault_manifest, manifest)
    share_set.quorum()  # says what is missing before asking for a passphrase
    passphrase = sources.read_passphrase(passphrase_file, passphrase_prompt, confirm=False)
    if vault_manifest is not None and vault_manifest.scheme.passphrase_protected and not passphrase:
        raise InvalidInput(
            "the manifest says this vault has a passphrase, and none was given",
            "give --passphrase-file or --passphrase-prompt",
        )
    value = recovery.recover(share_set, passphrase)
    for unused in share_set.unused():
        terminal.info(f"note: {unused.source} was not needed, so this recovery did not check it")

    used = _used(share_set)
    result: dict[str, Any] = {"recovered": True, "shares_used": used}
    human = [f"Recovered the secret from {len(used)} shares."]
    if kind is None:
        result.update(kind=None, candidates=_candidates(value))
        human += _describe_candidates(result["candidates"])
    else:
        secret = Secret(kind, value)
        if vault_manifest is not None:
            verification.check_secret(secret, vault_manifest, passphrase_given=bool(passphrase))
        result.update(
            kind=kind.value,
            secret_fingerprint=secret_fingerprint(secret),
            wallet_fingerprint=wallet_fingerprint(secret),
            matches_manifest=True if vault_manifest is not None else None,
        )
        human += [
            f"secret: {kind.value}, {secret.bits} bits",
            f"secret fingerprint: {result['secret_fingerprint']}",
            f"wallet fingerprint: {result['wallet_fingerprint']}",
        ]
        if vault_manifest is not None:
            human.append(f"matches the manifest {manifest}: yes")
        human += _output_secret(secret, output_format, out, reveal, result)
    emit(as_json, result, human)


def _output_secret(
    secret: Secret, output_format: OutputFormat | None, out: Path | None, reveal: bool, result: dict[str, Any]
) -> list[str]:
    """Write or print the secret only when asked; returns the human lines."""
    if not reveal and out is None:
        return ["The secret is not shown: use --reveal to print it or --out FILE to save it."]
    text = _render_secret(secret, output_format)
    lines = []
    if out is not None:
        fsio.write_new_file(out, (text + "\n").encode("ascii"))
        result["out"] = str(out)
        lines.append(f"wrote the secret to {out} (mode 0600)")
    if reveal:
        result["secret"] = text
        lines += ["", text]
    return lines


def _thresholds(manifest: mf.Manifest | None) -> tuple[int, ...]:
    """Each group's threshold from the manifest, so progress can name what untouched groups need."""
    if manifest is None:
        return ()
    return tuple(group.member_threshold for group in sorted(manifest.scheme.groups, key=lambda g: g.index))


def _check_shares(share_set: recovery.ShareSet, manifest: mf.Manifest, path: Path | None) -> None:
    for item in share_set.entries:
        try:
            listed = verification.check_share(item.share, manifest)
        except VaultError as error:
            raise error.with_context(item.source) from None
        if listed is None:
            terminal.info(f"note: {item.source} is not listed in {path}; only the recovered secret can prove it")


def _kind(manifest: mf.Manifest | None, output_format: OutputFormat | None) -> SecretKind | None:
    if manifest is not None:
        return manifest.secret.kind
    if output_format is OutputFormat.bip39:
        return SecretKind.BIP39_ENTROPY
    if output_format is OutputFormat.hex:
        return SecretKind.MASTER_SECRET
    return None


def _render_secret(secret: Secret, output_format: OutputFormat | None) -> str:
    chosen = output_format or (OutputFormat.bip39 if secret.kind is SecretKind.BIP39_ENTROPY else OutputFormat.hex)
    return to_bip39(secret) if chosen is OutputFormat.bip39 else secret.value.hex()


def _used(share_set: recovery.ShareSet) -> list[str]:
    return [share.fingerprint for shares in share_set.quorum().values() for share in shares]


def _candidates(value: bytes) -> list[dict[str, str]]:
    """Without a manifest the kind is unknown: fingerprints for each kind the value can be."""
    candidates = []
    for kind in SecretKind:
        try:
            secret = Secret(kind, value)
        except InvalidInput:
            continue  # not a BIP-39 entropy length
        candidates.append(
            {"kind": kind.value, "secret_fingerprint": secret_fingerprint(secret), "wallet_fingerprint": wallet_fingerprint(secret)}
        )
    return candidates


def _describe_candidates(candidates: list[dict[str, str]]) -> list[str]:
    lines = ["No --manifest: the secret's kind is unknown. If it is"]
    for candidate in candidates:
        lines.append(
            f"  {candidate['kind']}: secret fingerprint {candidate['secret_fingerprint']}, "
            f"wallet fingerprint {candidate['wallet_fingerprint']}"
        )
    return lines
