"""Extending a group: new member shares from a threshold of that group's shares, no seed.

SLIP-39 writes no member count into a share, so a group of N members (indices
0..N-1) stays valid with up to 16: a new member's share is simply the group's
polynomial evaluated at a new index. A threshold of the group's shares fixes that
polynomial, so they are all this needs. The master secret is never decrypted, and
no other group's share is computed: `derive` evaluates only at member indices below
16. The group's own secret (the polynomial at x=255, SLIP-39's group share) is
computed once, in memory, to derive the group's key (vault.core.attestation.group_key):
it proves the shares agree (SLIP-39's digest), must match the key the manifest lists,
and seals the revision (docs/history.md). A threshold of the group holds that power
already; alone it recovers nothing.

The shares given are trusted because the manifest lists each one by fingerprint
and attestation key (the same words the ceremony proved), and because together they
rebuild the group key the manifest lists: a forged share is refused before anything
is written, even when the manifest was edited to list it.

Extending cannot revoke: every existing share stays valid. When a share may be in
the wrong hands, the answer is `rotate` (docs/extend-and-rotate.md).

Pure: manifests and shares in, shares and a revised manifest out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from vault.core import attestation, names
from vault.core.delivery import CUSTODIANS_DIR
from vault.core.formats import fields as strictjson
from vault.core.formats.manifest import GroupInfo, Manifest, Revision, ShareEntry
from vault.core.scheme import describe_group
from vault.core.slip39 import polynomial
from vault.core.slip39 import share as slip39
from vault.core.slip39.reference import MAX_SHARE_COUNT, reference_share
from vault.core.slip39.share import Share
from vault.errors import InvalidInput, ShareError

ROTATE_HINT = "to add a group, or to take a share out of use, rotate to a new plan: `coldvault rotate`"
REVOKE_WARNING = (
    "extending does not revoke anything: the share of {custodian} stays valid, and with enough other shares it "
    "still recovers the seed. If it may be in the wrong hands, rotate instead: `coldvault rotate` makes a new set "
    "that old shares cannot join."
)


@dataclass(frozen=True)
class Newcomer:
    """A custodian joining a group, and the file their share will be delivered in."""

    custodian: str
    file: str
    wrapping: str | None = None
    proven: bool = True


def choose_group(manifest: Manifest, number: int) -> GroupInfo:
    """The group a person numbered from 1, or why it cannot be extended."""
    groups = manifest.scheme.groups
    if not 1 <= number <= len(groups):
        raise InvalidInput(
            f"this vault has {len(groups)} group{'s' if len(groups) > 1 else ''}; there is no group {number}",
            "a group cannot be added: SLIP-39 writes the number of groups into every share, so adding one changes every share",
            ROTATE_HINT,
        )
    return groups[number - 1]


def new_member_indices(manifest: Manifest, group: GroupInfo, count: int) -> tuple[int, ...]:
    """The next `count` member indices of `group`: N, N+1, ... for a group of N (SLIP-39 allows 16)."""
    label = describe_group(group.index, len(manifest.scheme.groups), group.name)
    if group.member_threshold == 1:
        raise InvalidInput(
            f"{label} is 1-of-{group.member_count}: SLIP-39 allows no second share in a group whose threshold is 1",
            "each share of such a group is the group's whole share; to give a second person a share, rotate to a plan "
            "with a higher threshold for this group: `coldvault rotate`",
        )
    room = MAX_SHARE_COUNT - group.member_count
    if count > room:
        raise InvalidInput(
            f"{label} has {group.member_count} members and SLIP-39 allows {MAX_SHARE_COUNT}: "
            + (f"{room} more can be added, not {count}" if room else "the group is full"),
            ROTATE_HINT,
        )
    return tuple(range(group.member_count, group.member_count + count))


def check_basis(shares: Sequence[tuple[str, Share]], manifest: Manifest, group: GroupInfo) -> tuple[Share, ...]:
    """A threshold of `group`'s shares, each listed in the manifest; raises naming the source that is not.

    `shares` pairs each share with where it came from (a file name), for the errors.
    """
    label = describe_group(group.index, len(manifest.scheme.groups), group.name)
    basis: dict[int, Share] = {}
    for source, share in shares:
        entry = manifest.share_by_fingerprint(share.fingerprint)
        if entry is None:
            raise ShareError(f"{source}: {_not_listed(share, manifest)}", "extend takes shares of this vault's manifest only")
        if share.group_index != group.index:
            other = describe_group(share.group_index, len(manifest.scheme.groups), manifest.scheme.groups[share.group_index].name)
            raise ShareError(f"{source}: a share of {other}, not of {label}", "give shares of the group being extended only")
        if share.member_index in basis:
            raise ShareError(f"{source}: share {share.member_index + 1} of {label} was given twice", "give different custodians' shares")
        basis[share.member_index] = share
        listed = entry.attestation_public_key
        if listed is not None and attestation.share_key(share, manifest.ceremony.id).public_key != listed:
            raise ShareError(f"{source}: its attestation key is not the one the manifest lists for this share: "
                             "the share or the manifest was forged", "nothing was written")
    if len(basis) < group.member_threshold:
        raise InvalidInput(
            f"{label} needs {group.member_threshold} of its shares to be extended; {len(basis)} given",
            "bring a threshold of the group's custodians, as for a recovery (the other groups are not needed)",
        )
    return tuple(basis[index] for index in sorted(basis))


def check_group_key(basis: Sequence[Share], manifest: Manifest, group: GroupInfo) -> attestation.SigningKey:
    """The group's key from `basis`, which must be the one the manifest lists (when it lists group keys)."""
    key = attestation.group_key(basis, manifest.ceremony.id)
    label = describe_group(group.index, len(manifest.scheme.groups), group.name)
    if key is None:
        raise ShareError(f"the shares of {label} given do not agree (SLIP-39's digest does not hold): one of them is forged "
                         "or damaged, though each is listed", "nothing was written: bring the custodians' own shares")
    listed = manifest.attestation.group_public_keys if manifest.attestation else None
    if listed is not None and listed[group.index] != key.public_key:
        raise ShareError(f"the shares given rebuild another key for {label} than the manifest lists: "
                         "one of them is forged, or the manifest is not this vault's", "nothing was written")
    return key


def derive(basis: Sequence[Share], member_indices: Sequence[int]) -> tuple[Share, ...]:
    """The shares at `member_indices` on the polynomial through `basis` (a threshold of one group).

    Evaluates the polynomial at member indices only, never at SLIP-39's digest (254)
    or secret (255) index: nothing here learns the group's share or the seed.
    """
    first = basis[0]
    threshold = first.member_threshold
    points = [(share.member_index, share.value) for share in basis[:threshold]]
    derived = []
    for index in member_indices:
        if not 0 <= index < MAX_SHARE_COUNT or index in {share.member_index for share in basis}:
            raise ValueError(f"member index {index} is not a new member index")
        reference = reference_share(
            identifier=first.identifier, extendable=first.extendable, iteration_exponent=first.iteration_exponent,
            group_index=first.group_index, group_threshold=first.group_threshold, group_count=first.group_count,
            member_index=index, member_threshold=threshold, value=polynomial.interpolate(points, index),
        )
        share = Share.from_reference(reference)
        if slip39.parse_share(share.mnemonic) != share:  # the words say exactly what was derived
            raise AssertionError("a derived share does not read back as itself")
        derived.append(share)
    return tuple(derived)


def revise(manifest: Manifest, predecessor_sha256: str, shares: Sequence[Share], newcomers: Sequence[Newcomer], now: datetime,
           replaces: str | None = None) -> Manifest:
    """The next revision of `manifest`: the new shares listed with their custodians, the group's count raised; the share of
    `replaces` (a custodian's name as the manifest lists it) marked replaced, so it no longer counts for readiness."""
    issued = strictjson.utc_time(now)
    entries = tuple(
        ShareEntry(share.group_index, share.member_index, newcomer.custodian, share.fingerprint, newcomer.file, newcomer.wrapping, issued,
                   attestation.share_key(share, manifest.ceremony.id).public_key, newcomer.proven)
        for share, newcomer in zip(shares, newcomers, strict=True)
    )
    grown = {share.group_index: share.member_index + 1 for share in shares}
    groups = tuple(
        dataclasses.replace(group, member_count=max(group.member_count, grown.get(group.index, 0))) for group in manifest.scheme.groups
    )
    kept = tuple(dataclasses.replace(entry, replaced=issued) if replaces is not None and entry.custodian == replaces else entry
                 for entry in manifest.shares)
    return dataclasses.replace(
        manifest,
        scheme=dataclasses.replace(manifest.scheme, groups=groups),
        shares=kept + entries,
        revision=Revision(manifest.revision_number + 1, issued, predecessor_sha256),
    )


def check_newcomers(manifest: Manifest, newcomers: Sequence[str]) -> tuple[str, ...]:
    """New custodians' names, NFC-normalized (`names.check`); each must be neither a custodian of this vault nor
    another newcomer: not the same name folded (`names.twin`), nor one that looks the same (`names.lookalike`)."""
    if not newcomers:
        raise InvalidInput("no --custodian given", "name each new custodian: one share is made per --custodian")
    taken = [entry.custodian for entry in manifest.shares if entry.custodian]
    checked: list[str] = []
    for given in newcomers:
        name = names.flag(given, "--custodian")
        _refuse_a_custodian_twice(name, taken)
        taken.append(name)
        checked.append(name)
    return tuple(checked)


def _refuse_a_custodian_twice(name: str, custodians: Sequence[str]) -> None:
    hint = "a custodian holds one share per vault; to replace a lost share, name the new holder and use --replaces"
    if (twin := names.twin(name, custodians)) is not None:
        raise InvalidInput(f'"{name}" is already a custodian of this vault ("{twin}", the same name {names.SAME_NAME_RULE})', hint)
    if (twin := names.lookalike(name, custodians)) is not None:
        raise InvalidInput(f'"{name}" looks the same as "{twin}", a custodian of this vault', hint)


def custodian_folders(manifest: Manifest) -> frozenset[str]:
    """The folders under `custodians/` that the manifest's share files are in: a newcomer's folder must be another."""
    parts = (entry.file.split("/") for entry in manifest.shares)
    return frozenset(part[1] for part in parts if len(part) > 2 and part[0] == CUSTODIANS_DIR)


def _not_listed(share: Share, manifest: Manifest) -> str:
    if share.identifier != manifest.scheme.identifier:
        return f"not a share of this vault (identifier {share.identifier}, the manifest says {manifest.scheme.identifier})"
    return "not listed in the manifest: altered, from a later revision, or a share this manifest does not know"

