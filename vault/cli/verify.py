"""`coldvault verify`: check shares against the manifest and prove what they recover."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from vault.cli.app import new_app
from vault.cli.options import (
    AnchorKey,
    JsonFlag,
    ManifestOption,
    ModuleOption,
    PassphraseFile,
    PassphrasePrompt,
    PinFiles,
    TokenLabels,
    VaultKey,
    tokens,
)
from vault.cli.output import emit, say_anchor
from vault.core import proof as pf
from vault.core.anchor import Pins, to_data
from vault.core.scheme import describe_group
from vault.errors import CheckFailed
from vault.flows import shares as flow

app = new_app()


@app.command()
def verify(
    shares: Annotated[list[Path], typer.Argument(help="Share files or envelopes (one is enough to check a single share).", show_default=False)],
    manifest: ManifestOption,
    key: AnchorKey = None,
    vault_key: VaultKey = None,
    passphrase_file: PassphraseFile = None,
    passphrase_prompt: PassphrasePrompt = False,
    token: TokenLabels = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Check shares against the manifest and prove what every qualifying subset recovers.

    Every share is checked against the manifest; then a proof shows that every
    qualifying subset of them recovers the manifest's secret (without trying each
    subset, and without showing the secret). The manifest is first checked against the
    transcript beside it (stderr says which anchor; without one, a warning). Exit 0 when
    everything present is consistent; 1 otherwise.
    """
    verified = flow.verify(manifest, shares, passphrase_file, passphrase_prompt, tokens(module, pin_file, token), Pins(key, vault_key))
    result = verified.proof
    payload = {"ok": result.ok, **dataclasses.asdict(result), "summary": _summary(result), "anchor": to_data(verified.anchor)}
    emit(as_json, payload, _report(result, verified.manifest.scheme.group_threshold))
    say_anchor(as_json, verified.anchor, manifest)
    if not result.ok:
        raise CheckFailed(f"verification failed: {_summary(result)}", *_hints(result))


def _report(result: pf.Proof, group_threshold: int) -> list[str]:
    count = len(result.groups)
    lines = []
    for group in result.groups:
        lines.append(
            f"{describe_group(group.index, count, group.name)}: {group.present} present, "
            f"{group.member_threshold} of {group.member_count} needed: {group.status} ({group.detail})"
        )
        for share in result.shares:
            if share.group_index == group.index and share.status not in (pf.ShareStatus.INVALID, pf.ShareStatus.FOREIGN):
                custodian = share.custodian or "custodian not named"
                number = "?" if share.member_index is None else share.member_index + 1
                lines.append(f"  share {number} ({custodian}) {share.source}: {share.status}: {share.detail}{_fingerprint(share)}")
    strays = [s for s in result.shares if s.status in (pf.ShareStatus.INVALID, pf.ShareStatus.FOREIGN)]
    if strays:
        lines.append("not shares of this vault:")
        lines += [f"  {share.source}: {share.status}: {share.detail}{_fingerprint(share)}" for share in strays]
    lines.append(f"secret ({group_threshold} groups needed): {result.secret_status}: {result.secret_detail}")
    lines.append(_summary(result))
    return lines


def _fingerprint(share: pf.ShareResult) -> str:
    """The share's fingerprint, as its card and its custodian's README print it, so the custodian can compare."""
    return f" (share fingerprint {share.share_fingerprint})" if share.share_fingerprint else ""


def _summary(result: pf.Proof) -> str:
    if not result.ok:
        failed = [s.source for s in result.shares if s.status not in (pf.ShareStatus.OK, pf.ShareStatus.DUPLICATE)]
        groups = [f"group {g.index + 1}" for g in result.groups if g.status == pf.GroupStatus.INCONSISTENT]
        parts = ([f"bad shares: {', '.join(failed)}"] if failed else []) + ([f"inconsistent: {', '.join(groups)}"] if groups else [])
        if result.secret_status not in (pf.SecretStatus.MATCHES, pf.SecretStatus.UNVERIFIED):
            parts.append(f"secret: {result.secret_status}")
        return "FAILED: " + "; ".join(parts)
    if result.secret_status == pf.SecretStatus.MATCHES:
        return pf.proven_summary(result.qualifying_subsets)
    unverified = [f"group {g.index + 1}" for g in result.groups if g.status == pf.GroupStatus.UNVERIFIED]
    return f"shares OK; not proven without a quorum ({', '.join(unverified)} short of their thresholds)"


def _hints(result: pf.Proof) -> list[str]:
    if result.secret_status == pf.SecretStatus.MISMATCH:
        return ["the most likely cause is a wrong passphrase"]
    if result.secret_status == pf.SecretStatus.NO_PASSPHRASE:
        return ["give --passphrase-file or --passphrase-prompt"]
    return []
