"""`coldvault token list|keygen|pubkey`: PKCS#11 tokens and the keys shares are sealed to."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Annotated, Any

import typer

from vault.cli.app import new_app
from vault.cli.options import JsonFlag, ModuleOption, PinFiles, tokens
from vault.cli.output import emit
from vault.flows import tokens as flow

app = new_app("PKCS#11 tokens: list them, create keys on them, export public keys.")


class KeyType(str, enum.Enum):
    aes = "aes"
    ec = "ec"
    rsa = "rsa"


KEY_DESCRIPTIONS = {
    "aes": "AES-256 secret key (recipient pkcs11-aes-gcm: the token encrypts and decrypts)",
    "ec": "EC P-256 key pair (recipient ecdh-p256: seal to its public key, open with the token)",
    "rsa": "RSA-3072 key pair (recipient rsa-oaep: seal to its public key, open with the token)",
}


@app.command("list")
def list_tokens(module: ModuleOption = None, pin_file: PinFiles = None, as_json: JsonFlag = False) -> None:
    """Slots, tokens and their keys, with the deliveries each key is proven to open (keys of tokens that need a PIN: give --pin-file LABEL=PATH)."""
    module_paths, listings = flow.list_tokens(tokens(module, pin_file))
    found: list[dict[str, Any]] = []
    human = [f"module: {path}" for path in module_paths]
    for listing in listings:
        info, keys = listing.token, listing.keys
        found.append({
            **dataclasses.asdict(info),
            "deliveries": list(listing.deliveries),
            "keys": None if keys is None else [{**dataclasses.asdict(k.key), "deliveries": _deliveries(k.deliveries)} for k in keys],
        })
        human.append(
            f'slot {info.slot_id}: token "{info.label}" serial {info.serial} ({info.manufacturer} {info.model}); '
            f"PIN {'by PIN pad' if info.pin_pad else 'needed' if info.login_required else 'not needed'}"
            + ("; PIN LOCKED" if info.pin_locked else "; one PIN try left" if info.pin_final_try else "")
            + (f"; module {info.module}" if len(module_paths) > 1 else "")
        )
        human.append(f"  mechanisms for: {', '.join(listing.deliveries) or 'no delivery'}")
        if keys is None and [t.token.label for t in listings].count(info.label) > 1:
            human.append("  keys: this label is in several modules: give only this token's --module to list them")
        elif keys is None:
            human.append(f"  keys: give --pin-file {info.label}=PATH to list them and prove what each opens")
        for listed in keys or []:
            key = listed.key
            extractable = "" if key.extractable is None else ", extractable" if key.extractable else ", never leaves the token"
            sha = f", public key SHA-256 {key.public_key_sha256}" if key.public_key_sha256 else ""
            opens = "" if listed.deliveries is None else f"; opens: {', '.join(map(str, listed.deliveries)) or 'nothing coldvault seals'}"
            human.append(f'  {key.object_class} {key.key_type} key "{key.label}" id {key.id or "-"}{extractable}{sha}{opens}')
    if not found:
        human.append("no tokens present")
    emit(as_json, {"module": str(module_paths[0]), "modules": [str(p) for p in module_paths], "tokens": found}, human)


def _deliveries(proven: tuple[flow.Proven, ...] | None) -> list[dict[str, str | None]] | None:
    return None if proven is None else [{"kind": p.kind, "oaep_hash": p.oaep_hash} for p in proven]


KeyLabel = Annotated[str, typer.Option("--key-label", "--label", metavar="LABEL", help="Label of the key.", show_default=False)]


@app.command()
def keygen(
    token: Annotated[str, typer.Option("--token", help="Label of the token to create the key on.")],
    label: Annotated[str, typer.Option("--key-label", "--label", metavar="LABEL", help="Label for the new key.", show_default=False)],
    key_type: Annotated[KeyType, typer.Option("--type", help="aes (AES-256), ec (P-256) or rsa (RSA-3072).")],
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a key on a token (private and secret keys are sensitive and never extractable), and prove what it opens."""
    made = flow.keygen(tokens(module, pin_file), token, label, key_type.value)
    payload = {"token": token, "label": label, "type": key_type.value, "id": made.key_id,
               "public_key_sha256": made.public_key_sha256, "deliveries": _deliveries(made.deliveries)}
    human = [f'created {KEY_DESCRIPTIONS[key_type.value]} "{label}" (id {made.key_id}) on token "{token}"']
    if made.public_key_sha256:
        human.append(f"public key SHA-256: {made.public_key_sha256}")
    if made.deliveries:
        human.append(f"proven to open: {', '.join(map(str, made.deliveries))}")
    else:
        human.append("opens none of coldvault's envelopes on this token (`coldvault token list` shows what the token offers; docs/tokens.md)"
                     + ("; an EC key can still sign transcripts" if key_type.value == "ec" else ""))
    emit(as_json, payload, human)


@app.command()
def pubkey(
    token: Annotated[str, typer.Option("--token", help="Label of the token.")],
    label: KeyLabel,
    out: Annotated[Path, typer.Option("--out", help="New PEM file for the public key.")],
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Export a key pair's public key (PEM), for sealing shares to it without the token."""
    digest = flow.export_public_key(tokens(module, pin_file), token, label, out)
    emit(as_json, {"out": str(out), "public_key_sha256": digest, "token": token, "label": label},
         [f"wrote {out}: public key of \"{label}\" on token \"{token}\"", f"public key SHA-256: {digest}"])
