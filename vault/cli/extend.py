"""`coldvault extend`: new custodians' shares for one group, from a threshold of that group, without the seed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vault.cli.app import new_app
from vault.cli.options import (
    LOCK_WAIT_SECONDS,
    JsonFlag,
    ModuleOption,
    OaepHash,
    OaepHashOption,
    PinFiles,
    RecipientPubkey,
    SealKey,
    SealToken,
    TrustManifest,
    VaultKey,
    WaitOption,
    tokens,
)
from vault.cli.output import emit, say_anchor
from vault.core.anchor import Pins, to_data
from vault.core.extend import REVOKE_WARNING
from vault.core.text.packets import holding
from vault.flows import extend as flow
from vault.flows.packets import Sealing

app = new_app()


@app.command()
def extend(
    shares: Annotated[list[Path], typer.Argument(help="A threshold of the group's shares: share files or envelopes.", show_default=False)],
    manifest: Annotated[Path, typer.Option("--manifest", help="The vault's manifest.json, anchored by the transcript.jsonl beside it (which comes along, with the drill log).")],
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
    transcript_key: Annotated[
        str | None,
        typer.Option("--transcript-key", metavar="SHA256", show_default=False,
                     help="The SHA-256 of the key that signed the transcript, as the witnesses wrote it down: the transcript must be "
                          "signed by it, and its signature must cover the manifest (--key here is the old spelling of --key-label, as in wrap)."),
    ] = None,
    vault_key: VaultKey = None,
    trust_manifest: TrustManifest = False,
    wait: WaitOption = LOCK_WAIT_SECONDS,
    module: ModuleOption = None,
    pin_file: PinFiles = None,
    as_json: JsonFlag = False,
) -> None:
    """Add members to one group, from a threshold of its shares, without the seed.

    The new shares lie on the group's polynomial, derived from a threshold of its shares
    without recovering the seed. Existing shares stay valid; nothing is revoked (to take a
    share out of use, rotate). Seal the new share with the flags of `wrap`, or leave them
    out for paper. The manifest must match the transcript beside it; with no transcript,
    extend refuses (exit 3) unless --trust-manifest."""
    extended = flow.extend(
        manifest, group, shares, custodian, out, Sealing(token, key, recipient_pubkey, oaep_hash.value), tokens(module, pin_file),
        replaces=replaces, operator=operator, witnesses=witness or [], pins=Pins(transcript_key, vault_key), trust_manifest=trust_manifest, wait_seconds=wait,
    )
    revised = extended.manifest
    assert revised.revision is not None
    made = [
        {"custodian": p.holder.name, "group_index": p.share.group_index, "member_index": p.share.member_index,
         "share_fingerprint": p.share.fingerprint, "file": p.file, "proven": p.proven}
        for p in extended.packets
    ]
    payload = {"out": str(out), "revision": revised.revision.number, "predecessor_sha256": revised.revision.predecessor_sha256,
               "transcript_head": extended.head, "new_transcript": extended.new_transcript, "shares": made, "replaces": replaces,
               "anchor": to_data(extended.anchor)}
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
        human += ["", "WARNING: " + REVOKE_WARNING.format(custodian=replaces)]
    emit(as_json, payload, human)
    say_anchor(as_json, extended.anchor, manifest)
