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

from vault.core import attestation, events, names, seals, succession
from vault.core import extend as ext
from vault.core.anchor import Anchor, Pins
from vault.core.attestation import SigningKey
from vault.core.delivery import Holder, Packet
from vault.core.formats import fields
from vault.core.formats import manifest as mf
from vault.core.formats import transcript
from vault.core.layout import MANIFEST_FILE
from vault.core.outputs import OutputFile
from vault.core.records import sha256
from vault.core.slip39.share import Share
from vault.edges import sources
from vault.errors import InvalidInput
from vault.flows import packets
from vault.flows.capabilities import Asked
from vault.flows.ceremony import check_output
from vault.flows.packets import Sealing
from vault.flows.tokens import TokenOptions, opener
from vault.flows.vaults import Vault, carried_over, leave_successor, read_vault, refuse_second_successor
from vault.flows.writers import LOCK_WAIT_SECONDS, writing


@dataclass(frozen=True)
class Extended:
    out: Path
    manifest: mf.Manifest
    packets: tuple[Packet, ...]
    head: str
    new_transcript: bool
    """No transcript was found beside the manifest (and it was trusted as told): the extension started one."""
    anchor: Anchor
    sealed: bool = False
    """The revision is sealed by the group's key (a vault made before seals is not: its manifest lists no group key)."""


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
    pins: Pins = Pins(),
    trust_manifest: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    wait_seconds: float = LOCK_WAIT_SECONDS,
) -> Extended:
    """Add one share per newcomer to group `group_number` (from 1) and write the revision to `out`.

    `basis` are share files or envelopes of that group. Everything that can be refused
    without them (the flags, the anchor, the output, the group, the names, the tokens) is
    refused before they are read, and nothing is derived before they are checked against
    the manifest. The manifest must be anchored by its transcript (`pins` pin its keys)
    unless `trust_manifest`: the new shares are checked against what it lists. The
    vault's folder is locked from the first read to the successor's word
    (`successor.json`, docs/history.md), so a revision is extended once.
    """
    operator, witnesses = names.witnessed(operator, witnesses)
    packets.check_seal_flags(sealing, required=False)
    if sealing.given and len(newcomers) > 1:
        raise InvalidInput("the sealing flags name one recipient: extend one sealed custodian at a time", "or leave them out: every new share on paper")
    with writing(manifest_path.parent, wait_seconds):
        vault = read_vault(manifest_path, pins, trust_manifest)
        refuse_second_successor(vault, manifest_path)
        return _extend(vault, manifest_path, group_number, basis, newcomers, out, sealing, tokens, replaces, operator, witnesses,
                       clock, random_bytes)


def _extend(
    vault: Vault, manifest_path: Path, group_number: int, basis: Sequence[Path], newcomers: Sequence[str], out: Path,
    sealing: Sealing, tokens: TokenOptions, replaces: str | None, operator: str | None, witnesses: Sequence[str],
    clock: Callable[[], datetime], random_bytes: Callable[[int], bytes],
) -> Extended:
    """`extend` once its vault is read and locked: everything checked, then the revision and the successor's word written."""
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
        _replaced_name(manifest, replaces)  # refused before any share is read
        indices = ext.new_member_indices(manifest, group, len(newcomers))
        target = packets.resolve(delivery, Path("."), room, Asked.FLAGS)
        folders = names.folders(newcomers, taken=ext.custodian_folders(manifest))
        holders = [Holder(group.index, index, name, folder, target) for index, name, folder in zip(indices, newcomers, folders, strict=True)]
        given = [(str(path), sources.read_share_file(path, room)) for path in basis]
        checked = ext.check_basis(given, manifest, group)
        group_key = ext.check_group_key(checked, manifest, group)
        shares = ext.derive(checked, indices)
        made = tuple(packets.deliver(holder, share, manifest.ceremony.id, room, random_bytes) for holder, share in zip(holders, shares, strict=True))
    held = [ext.Newcomer(p.holder.name, p.file, p.envelope.kind if p.envelope else None, p.proven) for p in made]
    replaced = _replaced_name(manifest, replaces)
    revised = ext.revise(manifest, vault.manifest_sha256, shares, held, clock(), replaced)
    revised_text = mf.to_json(revised)
    files = packets.packet_files(revised, revised_text, made)
    record = _extend_record(vault, revised, revised_text, group, given, made, replaced, operator, witnesses, files)
    chain = transcript.append(transcript.Chain(vault.events), events.EXTEND, record, clock())
    sealed = vault.anchored.anchor.vault_key_sha256 is not None
    if sealed:  # a vault made before seals stays unsealed: its manifest lists no group key to check one against
        chain = seals.seal(chain, group_key, seals.SignerRole.GROUP, group.index, clock())
    records = carried_over(vault, chain)
    files += records + packets.transcript_copies(made, records)
    packets.write(out, files, revised, made)
    statement = _statement(vault, revised, revised_text, group, group_key, clock()) if sealed else None
    if statement is not None:
        leave_successor(manifest_path.parent, statement, out)
    return Extended(out, revised, made, transcript.head(chain), not vault.events, vault.anchored.anchor, sealed)


def _statement(vault: Vault, revised: mf.Manifest, revised_text: str, group: mf.GroupInfo, key: SigningKey,
               now: datetime) -> succession.Statement:
    """The group's word, signed by its key, that `revised` is the next revision of the vault's manifest."""
    assert revised.attestation is not None
    return succession.sign(succession.Statement(
        succession.Kind.EXTEND, vault.manifest.ceremony.id, vault.manifest_sha256, revised.ceremony.id,
        hashlib.sha256(revised_text.encode("utf-8")).hexdigest(), revised.revision_number,
        attestation.key_sha256(revised.attestation.vault_public_key), group.index, fields.utc_time(now), key.public_key,
    ), key)


def share_record(manifest: mf.Manifest, share: Share) -> dict[str, Any]:
    """A share as a transcript records it: its custodian (from the manifest), indices and fingerprint."""
    entry = manifest.share_by_fingerprint(share.fingerprint)
    return {
        "custodian": entry.custodian if entry else None,
        "group_index": share.group_index,
        "member_index": share.member_index,
        "share_fingerprint": share.fingerprint,
    }


def _replaced_name(manifest: mf.Manifest, replaces: str | None) -> str | None:
    """The custodian `--replaces` names, as the manifest spells them (names are compared folded: docs/plan.md)."""
    if replaces is None:
        return None
    current = [entry.custodian for entry in manifest.shares if entry.custodian and entry.replaced is None]
    found = names.twin(replaces, current)
    if found is None:
        raise InvalidInput(f'--replaces "{replaces}": no custodian of this vault with a share in use has that name')
    return found


def _extend_record(
    vault: Vault, revised: mf.Manifest, revised_text: str, group: mf.GroupInfo, basis: Sequence[tuple[str, Share]],
    made: Sequence[Packet], replaces: str | None, operator: str | None, witnesses: Sequence[str], files: Sequence[OutputFile],
) -> dict[str, Any]:
    """The transcript's `extend` event: which shares vouched, which were made, the revised manifest's hash, and every
    public file of the new packets (`transcript verify` checks them, as a ceremony's)."""
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
        "public_files": {file.path: sha256(file.data) for file in files if not file.secret and file.path != MANIFEST_FILE},
    }
