"""`coldvault wrap` and `coldvault unwrap`: seal a share to a token, and open it again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vault.cli.app import app
from vault.cli.options import (
    JsonFlag,
    ModuleOption,
    OaepHash,
    OaepHashOption,
    PinFiles,
    RecipientPubkey,
    SealKey,
    SealToken,
    TokenLabels,
    check_seal_flags,
    opener,
)
from vault.cli.output import emit
from vault.core.formats import envelope as ev
from vault.core.formats import sharefile
from vault.edges import fsio, sealing, sources
from vault.errors import InvalidInput, VaultError


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
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Seal a share to a token: its AES key (--token --key), or a custodian's public key
    (--recipient-pubkey; add --token to prove that token opens it)."""
    check_seal_flags(token, key, recipient_pubkey, required=True)
    plain = sources.read_share_file(share)
    fsio.check_new_file(out)
    ceremony_id, custodian = _header_names(plain, manifest, custodian)
    with opener(module, pin_file, [token] if token else []) as tokens_:
        if key is not None:
            assert token is not None
            sealed = sealing.seal_with_token_key(tokens_, token, key, plain, ceremony_id=ceremony_id, custodian=custodian)
            proven = True
        else:
            assert recipient_pubkey is not None
            sealed, proven = _seal_to_public_key(tokens_, plain, recipient_pubkey, token, oaep_hash.value, ceremony_id, custodian)
    fsio.write_new_file(out, ev.to_json(sealed).encode("utf-8"))
    recipient = sealed.recipient
    payload = {
        "out": str(out),
        "recipient": {k: v for k, v in vars(recipient).items() if v is not None},
        "share_fingerprint": sealed.share_fingerprint,
        "opened_with_token": proven,
    }
    human = [
        f"sealed {share} to {recipient.kind}"
        + (f' (token "{recipient.token_label}", key "{recipient.key_label}")' if recipient.token_label else "")
        + f": {out}",
        "proven: the envelope opens with its token and gives this share back" if proven else
        "NOT PROVEN: the recipient's token was not here; check with `coldvault unwrap ENVELOPE --token LABEL`",
    ]
    emit(as_json, payload, human)


def _seal_to_public_key(
    tokens_: sealing.Opener, plain: Any, path: Path, token: str | None, oaep_hash: str, ceremony_id: str | None, custodian: str | None
) -> tuple[ev.Envelope, bool]:
    try:
        public = ev.load_public_key(fsio.read_bytes(path))
    except VaultError as error:
        raise error.with_context(str(path)) from None
    labels = sealing.token_for_public_key(tokens_, [token] if token else [], public)
    token_label, key_label = labels if labels else (None, None)
    sealed = ev.seal_to_public_key(
        plain, public, ceremony_id=ceremony_id, custodian=custodian,
        token_label=token_label, key_label=key_label, oaep_hash=oaep_hash,
    )
    if labels:
        sealing.prove_opens(tokens_, sealed, plain)
    return sealed, labels is not None


def _header_names(plain: Any, manifest: Path | None, custodian: str | None) -> tuple[str | None, str | None]:
    """The ceremony id and custodian for the envelope's header, from --manifest and --custodian."""
    if manifest is None:
        return None, custodian
    vault_manifest = sources.read_manifest(manifest)
    entry = vault_manifest.share_by_fingerprint(plain.fingerprint)
    if entry is None:
        raise InvalidInput(f"{manifest}: this share is not listed in the manifest", "wrap a share of this vault")
    return vault_manifest.ceremony.id, custodian or entry.custodian


@app.command()
def unwrap(
    envelope: Annotated[Path, typer.Argument(help="An envelope file.", show_default=False)],
    token: TokenLabels = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the share to this new file (0600) instead of stdout.")] = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Open an envelope with its token: the share's words go to --out (or stdout)."""
    sealed = sources.read_envelope(envelope)
    if out is not None:
        fsio.check_new_file(out)
    with opener(module, pin_file, token) as tokens_:
        try:
            plain = tokens_.open(sealed)
        except VaultError as error:
            raise error.with_context(str(envelope)) from None
    text = sharefile.render(plain, ceremony_id=sealed.ceremony_id, custodian=sealed.custodian)
    payload: dict[str, Any] = {"share_fingerprint": plain.fingerprint, "group_index": plain.group_index, "member_index": plain.member_index}
    if out is not None:
        fsio.write_new_file(out, text.encode("ascii"))
        payload["out"] = str(out)
        emit(as_json, payload, [f"opened {envelope}: wrote the share to {out} (mode 0600)", f"share fingerprint: {plain.fingerprint}"])
    else:
        payload["mnemonic"] = plain.mnemonic
        emit(as_json, payload, [plain.mnemonic])
