"""`coldvault wrap`: seal a share to a token, or to a custodian's public key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vault.cli.app import new_app
from vault.cli.options import (
    JsonFlag,
    ModuleOption,
    OaepHash,
    OaepHashOption,
    PinFiles,
    RecipientPubkey,
    SealKey,
    SealToken,
    VaultKey,
    tokens,
)
from vault.cli.output import emit, say_anchor
from vault.core.anchor import Pins, to_data
from vault.flows import envelopes
from vault.flows.packets import Sealing

app = new_app()


@app.command()
def wrap(
    share: Annotated[Path, typer.Argument(help="A share file.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="New envelope file (*.envelope.json).")],
    token: SealToken = None,
    key: SealKey = None,
    recipient_pubkey: RecipientPubkey = None,
    oaep_hash: OaepHashOption = OaepHash.sha256,
    manifest: Annotated[Path | None, typer.Option("--manifest", help="Take the ceremony id and custodian from this manifest.")] = None,
    custodian: Annotated[str | None, typer.Option("--custodian", help="Custodian's name, written in the (authenticated) header.")] = None,
    vault_key: VaultKey = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Seal a share to a token: its AES key (--token --key-label), or a custodian's public key (--recipient-pubkey; add --token to prove that token opens it)."""
    wrapped = envelopes.wrap(
        share, out, Sealing(token, key, recipient_pubkey, oaep_hash.value), manifest, custodian, tokens(module, pin_file),
        Pins(None, vault_key),
    )
    recipient = wrapped.envelope.recipient
    payload = {
        "out": str(out),
        "recipient": {k: v for k, v in wrapped.recipient.items() if v is not None},
        "share_fingerprint": wrapped.envelope.share_fingerprint,
        "opened_with_token": wrapped.proven,
        "anchor": to_data(wrapped.anchor) if wrapped.anchor else None,
    }
    human = [
        f"sealed {share} to {wrapped.envelope.kind}"
        + (f' (token "{recipient.token_label}", key "{recipient.key_label}")' if recipient.token_label else "")
        + f": {out}",
        "proven: the envelope opens with its token and gives this share back" if wrapped.proven else
        "NOT PROVEN: the recipient's token was not here; check with `coldvault unwrap ENVELOPE --token LABEL`",
    ]
    emit(as_json, payload, human)
    if wrapped.anchor is not None:
        say_anchor(as_json, wrapped.anchor, manifest)
