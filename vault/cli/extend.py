"""`coldvault extend`: new custodians' shares for one group, from a threshold of that group, without the seed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    check_seal_flags,
    opener,
)
from vault.cli.output import emit
from vault.edges import fsio
from vault.errors import InvalidInput

if TYPE_CHECKING:  # loaded when the command runs: --help stays fast
    from vault.core.formats import plan as plans


@app.command()
def extend(
    shares: Annotated[list[Path], typer.Argument(help="A threshold of the group's shares: share files or envelopes.", show_default=False)],
    manifest: Annotated[Path, typer.Option("--manifest", help="The vault's manifest.json (its transcript and drill log beside it come along).")],
    group: Annotated[int, typer.Option("--group", metavar="N", help="The group to extend, counted from 1 as on the cards.")],
    custodian: Annotated[list[str], typer.Option("--custodian", metavar="NAME", help="A new custodian; one new share each; repeatable.")],
    out: Annotated[Path, typer.Option("--out", help="New directory: the revised manifest, transcript, and the new packets.")],
    token: SealToken = None,
    key: SealKey = None,
    recipient_pubkey: RecipientPubkey = None,
    oaep_hash: OaepHashOption = OaepHash.sha256,
    replaces: Annotated[str | None, typer.Option("--replaces", metavar="NAME", help="The custodian whose lost share this one replaces (recorded; it does not revoke).")] = None,
    operator: Annotated[str | None, typer.Option("--operator", help="Who ran the extension (recorded).")] = None,
    witness: Annotated[list[str] | None, typer.Option("--witness", help="A witness (recorded); repeatable.")] = None,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Add members to one group: their shares lie on the group's polynomial, derived from a
    threshold of its shares without recovering the seed. Existing shares stay valid; nothing
    is revoked (to take a share out of use, rotate). Seal the new share with the flags of
    `wrap`, or leave them out for paper."""
    from vault.core import extend as ext
    from vault.core.text.packets import holding
    from vault.flows import changes

    check_seal_flags(token, key, recipient_pubkey, required=False)
    if (key or recipient_pubkey) and len(custodian) > 1:
        raise InvalidInput("the sealing flags name one recipient: extend one sealed custodian at a time", "or leave them out: every new share on paper")
    vault = changes.read_vault(manifest)
    with opener(module, pin_file, [token] if token else []) as tokens_:
        extended = changes.extend(
            vault, group, shares, custodian, _delivery(token, key, recipient_pubkey, oaep_hash.value), Path("."), out, tokens_,
            replaces=replaces, operator=operator, witnesses=witness or [],
        )
    revised = extended.manifest
    assert revised.revision is not None
    made = [
        {"custodian": p.recipient.custodian.name, "group_index": p.share.group_index, "member_index": p.share.member_index,
         "share_fingerprint": p.share.fingerprint, "file": p.file, "proven": p.proven}
        for p in extended.packets
    ]
    payload = {"out": str(out), "revision": revised.revision.number, "predecessor_sha256": revised.revision.predecessor_sha256,
               "transcript_head": extended.head, "new_transcript": extended.new_transcript, "shares": made, "replaces": replaces}
    human = [f"Wrote {out}: manifest.json revision {revised.revision.number} (predecessor SHA-256 {revised.revision.predecessor_sha256})"]
    for made_packet in extended.packets:
        entry = revised.share_by_fingerprint(made_packet.share.fingerprint)
        assert entry is not None
        human.append(
            f"  {entry.custodian}: {holding(revised, entry)}; share fingerprint {entry.share_fingerprint}; {entry.file}"
            + ("" if made_packet.proven else " (NOT PROVEN: the token was not here; check it with `coldvault verify`)")
        )
    if extended.new_transcript:
        human.append(f"note: no transcript.jsonl beside {manifest}: {out}/transcript.jsonl starts with this extension")
    human += ["", "TRANSCRIPT HEAD (witnesses: write it down by hand):", f"  {extended.head}"]
    if replaces is not None:
        human += ["", "WARNING: " + ext.REVOKE_WARNING.format(custodian=replaces)]
    emit(as_json, payload, human)


def _delivery(token: str | None, key: str | None, recipient_pubkey: Path | None, oaep_hash: str) -> plans.Delivery:
    """The new share's delivery: paper, the token's AES key, or the custodian's public key (its kind read from the file)."""
    from vault.core.formats import envelope as ev
    from vault.core.formats import plan as plans

    if key is not None:
        return plans.Delivery(ev.KIND_TOKEN_AES, token=token, key=key)
    if recipient_pubkey is None:
        return plans.Delivery(plans.PAPER)
    try:
        kind = ev.public_key_kind(ev.load_public_key(fsio.read_bytes(recipient_pubkey)))
    except InvalidInput as error:
        raise error.with_context(str(recipient_pubkey)) from None
    return plans.Delivery(kind, token=token, public_key=str(recipient_pubkey), oaep_hash=oaep_hash if kind == ev.KIND_RSA_OAEP else None)
