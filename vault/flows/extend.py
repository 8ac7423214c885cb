"""`coldvault extend`: new custodians' shares for one group, from a threshold of that group, without the seed.

The arithmetic is `vault.core.extend` (no seed, no group share); this flow reads the
vault's records, resolves the new custodians' delivery, reads the shares given,
seals the new shares (`vault.flows.packets`), and writes the revision to a new
directory all at once: the revised manifest chained to its predecessor by SHA-256,
the transcript with an `extend` event, the signature and drill log carried over.
The vault's existing directory is never changed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vault.core import extend as ext
from vault.core import names
from vault.core.anchor import Anchor
from vault.core.delivery import Holder, Packet
from vault.core.formats import manifest as mf
from vault.core.formats import transcript
from vault.core.slip39.share import Share
from vault.edges import sources
from vault.errors import InvalidInput
from vault.flows import packets
from vault.flows.capabilities import Asked
from vault.flows.ceremony import check_output
from vault.flows.packets import Sealing
from vault.flows.tokens import TokenOptions, opener
from vault.flows.vaults import Vault, carried_over, read_vault

EVENT_EXTEND = "extend"


@dataclass(frozen=True)
class Extended:
    out: Path
    manifest: mf.Manifest
    packets: tuple[Packet, ...]
    head: str
    new_transcript: bool
    """No transcript was found beside the manifest (and it was trusted as told): the extension started one."""
    anchor: Anchor


def extend(
    manifest_path: Path,
    group_number: int,
    basis: Sequence[Path],
    newcomers: Sequence[str],
    out: Path,
    sealing: Sealing,
    tokens: TokenOptions,
    replaces: str | None = None,
    operator: str | None = None,
    witnesses: Sequence[str] = (),
    key: str | None = None,
    trust_manifest: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Extended:
    """Add one share per newcomer to group `group_number` (from 1) and write the revision to `out`.

    `basis` are share files or envelopes of that group. Everything that can be refused
    without them (the flags, the anchor, the output, the group, the names, the tokens) is
    refused before they are read, and nothing is derived before they are checked against
    the manifest. The manifest must be anchored by its transcript (`key` pins the signer)
    unless `trust_manifest`: the new shares are checked against what it lists.
    """
    operator, witnesses = names.witnessed(operator, witnesses)
    packets.check_seal_flags(sealing, required=False)
    if sealing.given and len(newcomers) > 1:
        raise InvalidInput("the sealing flags name one recipient: extend one sealed custodian at a time", "or leave them out: every new share on paper")
    vault = read_vault(manifest_path, key, trust_manifest)
    with opener(tokens) as room:
        delivery = packets.delivery_from_flags(sealing)
        check_output(out)
        manifest = vault.manifest
        group = ext.choose_group(manifest, group_number)
        newcomers = ext.check_newcomers(manifest, newcomers)
        if not sealing.given:  # each newcomer gets a card
            for name in newcomers:
                packets.check_card_name(f'custodian "{name}"', name)
            packets.check_card_name(f'group "{group.name}"', group.name)
            packets.check_card_name(f'ceremony "{manifest.ceremony.name}"', manifest.ceremony.name)
        _check_replaces(manifest, replaces)
        indices = ext.new_member_indices(manifest, group, len(newcomers))
        target = packets.resolve(delivery, Path("."), room, Asked.FLAGS)
        folders = names.folders(newcomers, taken=ext.custodian_folders(manifest))
        holders = [Holder(group.index, index, name, folder, target) for index, name, folder in zip(indices, newcomers, folders, strict=True)]
        given = [(str(path), sources.read_share_file(path, room)) for path in basis]
        shares = ext.derive(ext.check_basis(given, manifest, group), indices)
        made = tuple(packets.deliver(holder, share, manifest.ceremony.id, room, random_bytes) for holder, share in zip(holders, shares, strict=True))
    held = [ext.Newcomer(p.holder.name, p.file, p.envelope.kind if p.envelope else None, p.proven) for p in made]
    revised = ext.revise(manifest, vault.manifest_sha256, shares, held, clock())
    revised_text = mf.to_json(revised)
    record = _extend_record(vault, revised, revised_text, group, given, made, replaces, operator, witnesses)
    chain = transcript.append(transcript.Chain(vault.events), EVENT_EXTEND, record, clock())
    records = carried_over(vault, chain)
    files = packets.packet_files(revised, revised_text, made) + records + packets.transcript_copies(made, records)
    packets.write(out, files, revised, made)
    return Extended(out, revised, made, transcript.head(chain), not vault.events, vault.anchored.anchor)


def share_record(manifest: mf.Manifest, share: Share) -> dict[str, Any]:
    """A share as a transcript records it: its custodian (from the manifest), indices and fingerprint."""
    entry = manifest.share_by_fingerprint(share.fingerprint)
    return {
        "custodian": entry.custodian if entry else None,
        "group_index": share.group_index,
        "member_index": share.member_index,
        "share_fingerprint": share.fingerprint,
    }


def _check_replaces(manifest: mf.Manifest, replaces: str | None) -> None:
    if replaces is None:
        return
    if names.twin(replaces, [entry.custodian for entry in manifest.shares if entry.custodian]) is None:
        raise InvalidInput(f'--replaces "{replaces}": no custodian of this vault has that name')


def _extend_record(
    vault: Vault, revised: mf.Manifest, revised_text: str, group: mf.GroupInfo, basis: Sequence[tuple[str, Share]],
    made: Sequence[Packet], replaces: str | None, operator: str | None, witnesses: Sequence[str],
) -> dict[str, Any]:
    """The transcript's `extend` event: which shares vouched, which were made, and the revised manifest's hash."""
    assert revised.revision is not None
    return {
        "ceremony_id": revised.ceremony.id,
        "revision": revised.revision.number,
        "predecessor_sha256": revised.revision.predecessor_sha256,
        "group_index": group.index,
        "basis": [share_record(vault.manifest, share) for _, share in basis],
        "shares": [{**packets.packet_record(packet), "member_index": packet.share.member_index} for packet in made],
        "replaces": replaces,
        "operator": operator,
        "witnesses": list(witnesses),
        "manifest_sha256": hashlib.sha256(revised_text.encode("utf-8")).hexdigest(),
    }
