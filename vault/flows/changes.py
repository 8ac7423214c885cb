"""Changing custodians: extend a group without the seed, or rotate the seed to a new set.

An edge, like `vault.flows.ceremony`: it reads the vault's files beside its manifest,
talks to tokens, and writes a new directory all at once (staging, fsync, read back,
rename). The vault's existing directory is never changed.

- `extend` adds member shares to one group from a threshold of that group's shares
  (`vault.core.extend`: no seed, no group share). The manifest becomes its next revision,
  chained to the previous one by SHA-256; the transcript beside it gets an `extend`
  event; the drill log is carried over, so readiness continues across revisions.
- `rotate` recovers the seed from a quorum of the old set, in memory, and runs a
  new plan as a ceremony (`vault.flows.ceremony.run`) with a new identifier. Its manifest
  names the vault it supersedes, and its transcript records the rotation.

When to use which: docs/extend-and-rotate.md.
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
from vault.core import verification
from vault.core.formats import manifest as mf
from vault.core.formats import transcript
from vault.core.formats.plan import SOURCE_BIP39, Custodian, Delivery, Plan, folder_name
from vault.core.secret import Secret, SecretKind
from vault.core.slip39 import recovery
from vault.core.slip39.share import Share
from vault.edges import fsio, sealing, sources, terminal
from vault.errors import InvalidInput, VaultError
from vault.flows import ceremony

EVENT_EXTEND = "extend"
EVENT_ROTATION = "rotation"


@dataclass(frozen=True)
class Vault:
    """A vault's public records, read from the directory of its manifest and checked against each other."""

    manifest: mf.Manifest
    manifest_sha256: str
    events: tuple[transcript.Event, ...]
    """The transcript's events; empty when there is none beside the manifest (a `split`)."""
    signature: str | None
    """transcript.sig.json's text, carried over unchanged: it still covers the lines it signed."""
    drills: bytes | None
    """drills.jsonl's bytes, carried over unchanged."""


@dataclass(frozen=True)
class Extended:
    out: Path
    manifest: mf.Manifest
    packets: tuple[ceremony.Packet, ...]
    head: str
    new_transcript: bool
    """No transcript was found beside the manifest: the extension started one."""


def read_vault(manifest_path: Path) -> Vault:
    """The manifest, and the transcript, signature and drill log beside it, each verified."""
    data = fsio.read_bytes(manifest_path)  # one read: the hash recorded is of the bytes parsed
    try:
        manifest = mf.from_json(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput(f"{manifest_path}: not UTF-8 text, so not a manifest") from None
    except VaultError as error:
        raise error.with_context(str(manifest_path)) from None
    folder = manifest_path.parent
    log = folder / transcript.TRANSCRIPT_FILE
    events: tuple[transcript.Event, ...] = ()
    signature_text = None
    if log.exists():
        events = transcript.parse_bytes(fsio.read_bytes(log), str(log))
        signature_path = Path(transcript.signature_file(str(log)))
        signature = None
        if signature_path.exists():
            signature_text = fsio.read_text(signature_path)
            signature = transcript.signature_from_json(signature_text, str(signature_path))
        transcript.verify(events, str(log), data, signature)
    drills_path = folder / transcript.DRILLS_FILE
    drills = None
    if drills_path.exists():
        drills = fsio.read_bytes(drills_path)
        transcript.parse_bytes(drills, str(drills_path))
    return Vault(manifest, hashlib.sha256(data).hexdigest(), events, signature_text, drills)


def extend(
    vault: Vault,
    group_number: int,
    basis: Sequence[Path],
    newcomers: Sequence[str],
    delivery: Delivery,
    key_dir: Path,
    out: Path,
    opener: sealing.Opener,
    replaces: str | None = None,
    operator: str | None = None,
    witnesses: Sequence[str] = (),
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Extended:
    """Add one share per newcomer to group `group_number` (from 1) and write the revision to `out`.

    `basis` are share files or envelopes of that group. Everything that can be refused
    without them (the output, the group, the names, the tokens) is refused before they
    are read, and nothing is derived before they are checked against the manifest.
    """
    ceremony.check_output(out)
    manifest = vault.manifest
    group = ext.choose_group(manifest, group_number)
    ext.check_newcomers(manifest, newcomers, folder_name)
    _check_replaces(manifest, replaces)
    indices = ext.new_member_indices(manifest, group, len(newcomers))
    recipients = [
        ceremony.resolve(group.index, index, Custodian(name, folder_name(name), delivery, 0), key_dir, opener)
        for index, name in zip(indices, newcomers, strict=True)
    ]
    given = [(str(path), sources.read_share_file(path, opener)) for path in basis]
    shares = ext.derive(ext.check_basis(given, manifest, group), indices)
    packets = tuple(ceremony.deliver(r, share, manifest.ceremony.id, opener, random_bytes) for r, share in zip(recipients, shares, strict=True))
    held = [ext.Newcomer(p.recipient.custodian.name, p.file, p.envelope.recipient.kind if p.envelope else None) for p in packets]
    revised = ext.revise(manifest, vault.manifest_sha256, shares, held, clock())
    revised_text = mf.to_json(revised)
    record = _extend_record(vault, revised, revised_text, group, given, packets, replaces, operator, witnesses)
    chain = transcript.append(transcript.Chain(vault.events), EVENT_EXTEND, record, clock())
    files = ceremony.packet_files(revised, revised_text, packets) + _carried_over(vault, chain)
    fsio.write_directory(out, files, before_rename=lambda staging: ceremony.read_back(staging, revised, packets))
    return Extended(out, revised, packets, transcript.head(chain), not vault.events)


def rotate(
    vault: Vault,
    old_shares: Sequence[Path],
    old_passphrase: bytes,
    plan: Plan,
    plan_text: str,
    plan_dir: Path,
    out: Path,
    read_passphrase: Callable[[], bytes],
    opener: sealing.Opener,
    guide: ceremony.Guide,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> ceremony.Outcome:
    """Re-split the vault's seed by `plan` into `out`: a new ceremony that supersedes the old one.

    The old shares are checked against the old manifest and counted before anything
    else; the seed is recovered only when the new ceremony asks for it, after its own
    checks, and must match the old manifest's fingerprint.
    """
    old = vault.manifest
    ceremony.check_output(out)
    check_plan_fits(plan, old)
    share_set = _old_quorum(old_shares, old, opener)
    if old.scheme.passphrase_protected and not old_passphrase:
        raise InvalidInput(
            "the vault being rotated has a passphrase, and none was given",
            "give its passphrase with --passphrase-file or --passphrase-prompt (the new plan's, if any, with --new-passphrase-file)",
        )

    def recover() -> Secret:
        secret = Secret(old.secret.kind, recovery.recover(share_set, old_passphrase))
        verification.check_secret(secret, old, passphrase_given=bool(old_passphrase))
        return secret

    supersedes = mf.Supersedes(old.ceremony.id, vault.manifest_sha256)
    record = {
        "supersedes": {"ceremony_id": old.ceremony.id, "name": old.ceremony.name, "revision": old.revision_number,
                       "manifest_sha256": vault.manifest_sha256, "identifier": old.scheme.identifier},
        "shares_used": [_share_record(old, share) for shares in share_set.quorum().values() for share in shares],
    }
    rotation = ceremony.Rotation(old, supersedes, record)
    return ceremony.run(plan, plan_text, plan_dir, out, recover, read_passphrase, opener, guide, clock, random_bytes, rotation)


def check_plan_fits(plan: Plan, old: mf.Manifest) -> None:
    """The new plan must take the same kind and size of secret as the old vault holds."""
    kind = SecretKind.BIP39_ENTROPY if plan.secret_source == SOURCE_BIP39 else SecretKind.MASTER_SECRET
    if kind is not old.secret.kind or plan.secret_bits != old.secret.bits:
        expected = "bip39" if old.secret.kind is SecretKind.BIP39_ENTROPY else "master-secret"
        raise InvalidInput(
            f"{plan.source_name}: the plan's secret is {plan.secret_source}, {plan.secret_bits} bits; "
            f"the vault being rotated holds {old.secret.kind.value}, {old.secret.bits} bits",
            f'set [secret] source = "{expected}" and bits = {old.secret.bits}: a rotation keeps the seed',
        )


def _old_quorum(paths: Sequence[Path], old: mf.Manifest, opener: sealing.Opener) -> recovery.ShareSet:
    """The old shares, read as `recover` reads them, each of the old vault, forming a quorum;
    raises naming the share, or what is missing."""
    thresholds = tuple(g.member_threshold for g in old.scheme.groups)
    share_set = sources.collect_shares(list(paths), terminal.info, thresholds, opener)
    for entry in share_set.entries:
        try:
            verification.check_share(entry.share, old)
        except VaultError as error:
            raise error.with_context(entry.source) from None
    share_set.quorum()
    return share_set


def _check_replaces(manifest: mf.Manifest, replaces: str | None) -> None:
    if replaces is None:
        return
    if not any(entry.custodian and folder_name(entry.custodian) == folder_name(replaces) for entry in manifest.shares):
        raise InvalidInput(f'--replaces "{replaces}": no custodian of this vault has that name')


def _share_record(manifest: mf.Manifest, share: Share) -> dict[str, Any]:
    entry = manifest.share_by_fingerprint(share.fingerprint)
    return {
        "custodian": entry.custodian if entry else None,
        "group_index": share.group_index,
        "member_index": share.member_index,
        "share_fingerprint": share.fingerprint,
    }


def _extend_record(
    vault: Vault, revised: mf.Manifest, revised_text: str, group: mf.GroupInfo, basis: Sequence[tuple[str, Share]],
    packets: Sequence[ceremony.Packet], replaces: str | None, operator: str | None, witnesses: Sequence[str],
) -> dict[str, Any]:
    """The transcript's `extend` event: which shares vouched, which were made, and the revised manifest's hash."""
    assert revised.revision is not None
    return {
        "ceremony_id": revised.ceremony.id,
        "revision": revised.revision.number,
        "predecessor_sha256": revised.revision.predecessor_sha256,
        "group_index": group.index,
        "basis": [_share_record(vault.manifest, share) for _, share in basis],
        "shares": [{**ceremony.packet_record(made), "member_index": made.share.member_index} for made in packets],
        "replaces": replaces,
        "operator": operator,
        "witnesses": list(witnesses),
        "manifest_sha256": hashlib.sha256(revised_text.encode("utf-8")).hexdigest(),
    }


def _carried_over(vault: Vault, chain: transcript.Chain) -> list[tuple[str, str | bytes, bool]]:
    """The transcript with its new event, and the signature and drill log as they were."""
    files: list[tuple[str, str | bytes, bool]] = [(transcript.TRANSCRIPT_FILE, transcript.to_text(chain), False)]
    if vault.signature is not None:
        files.append((transcript.signature_file(transcript.TRANSCRIPT_FILE), vault.signature, False))
    if vault.drills is not None:
        files.append((transcript.DRILLS_FILE, vault.drills, False))
    return files

