"""`coldvault recover`: combine shares; show fingerprints, or the secret when asked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vault.cli.app import new_app
from vault.cli.options import AnchorKey, JsonFlag, ModuleOption, PassphraseFile, PassphrasePrompt, PinFiles, TokenLabels, VaultKey, tokens
from vault.cli.output import emit, say_anchor
from vault.core.anchor import Pins, to_data
from vault.flows.recover import Fingerprints, OutputFormat, Recovered
from vault.flows.recover import recover as recover_secret

app = new_app()


@app.command()
def recover(
    shares: Annotated[list[Path] | None, typer.Argument(help="Share files or envelopes, in any order.", show_default=False)] = None,
    interactive: Annotated[bool, typer.Option("--interactive", help="Type shares word by word.")] = False,
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="Check shares and secret against this manifest (checked against the transcript.jsonl beside it)."),
    ] = None,
    key: AnchorKey = None,
    vault_key: VaultKey = None,
    passphrase_file: PassphraseFile = None,
    passphrase_prompt: PassphrasePrompt = False,
    output_format: Annotated[
        OutputFormat | None, typer.Option(
            "--format",
            help="bip39 (BIP-39 secrets only), hex, or xprv (the wallet's BIP-32 root key; needs --manifest). Default: the secret's own.",
        )
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
    recovered = recover_secret(
        shares or [], interactive, manifest, passphrase_file, passphrase_prompt, output_format, out, reveal,
        tokens(module, pin_file, token), Pins(key, vault_key),
    )
    emit(as_json, _payload(recovered), _lines(recovered, manifest))
    if recovered.anchor is not None:
        say_anchor(as_json, recovered.anchor, manifest)


def _payload(recovered: Recovered) -> dict[str, Any]:
    result: dict[str, Any] = {"recovered": True, "shares_used": list(recovered.shares_used),
                              "anchor": to_data(recovered.anchor) if recovered.anchor else None}
    if recovered.found is None:
        result.update(kind=None, candidates=[_fingerprints(c) for c in recovered.candidates])
        return result
    result.update(_fingerprints(recovered.found), matches_manifest=recovered.matches_manifest)
    if recovered.out is not None:
        result["out"] = str(recovered.out)
    if recovered.revealed is not None:
        result["secret"] = recovered.revealed
    return result


def _fingerprints(found: Fingerprints) -> dict[str, str]:
    return {"kind": found.kind.value, "secret_fingerprint": found.secret_fingerprint, "wallet_fingerprint": found.wallet_fingerprint}


def _lines(recovered: Recovered, manifest: Path | None) -> list[str]:
    lines = [f"Recovered the secret from {len(recovered.shares_used)} shares."]
    found = recovered.found
    if found is None:
        lines.append("No --manifest: the secret's kind is unknown. If it is")
        lines += [f"  {c.kind.value}: secret fingerprint {c.secret_fingerprint}, wallet fingerprint {c.wallet_fingerprint}"
                  for c in recovered.candidates]
        return lines
    lines += [
        f"secret: {found.kind.value}, {found.bits} bits",
        f"secret fingerprint: {found.secret_fingerprint}",
        f"wallet fingerprint: {found.wallet_fingerprint}",
    ]
    if recovered.matches_manifest:
        lines.append(f"matches the manifest {manifest}: yes")
    if recovered.out is None and recovered.revealed is None:
        return lines + ["The secret is not shown: use --reveal to print it or --out FILE to save it."]
    if recovered.out is not None:
        lines.append(f"wrote the secret to {recovered.out} (mode 0600)")
    if recovered.revealed is not None:
        lines += ["", recovered.revealed]
    return lines
