"""Collect shares one at a time, report progress per group, and recover.

A `ShareSet` is immutable: `add` returns a new set or raises, so a share that does
not fit never half-joins. The same code serves share files, envelopes and
interactive entry: each share is checked the moment it arrives.

Recovery picks, in each group with enough shares, the lowest-numbered members up
to its threshold, and the lowest-numbered complete groups up to the group
threshold. Surplus shares are allowed and left unused (`coldvault verify` checks
them). The arithmetic is the reference implementation's (through
`vault.core.slip39.polynomial`); this module only adds diagnostics that say which
group failed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

from vault.core.scheme import describe_group
from vault.core.slip39 import polynomial
from vault.core.slip39.reference import EncryptedMasterSecret, encrypted_master_secret
from vault.core.slip39.share import SetId, Share
from vault.errors import InvalidInput, ShareError


@dataclass(frozen=True)
class Entry:
    """A share and where it came from (a file name, 'share 2 typed in')."""

    source: str
    share: Share


@dataclass(frozen=True)
class GroupProgress:
    index: int
    threshold: int | None
    members: tuple[int, ...]

    @property
    def complete(self) -> bool:
        return self.threshold is not None and len(self.members) >= self.threshold

    def describe(self, group_count: int) -> str:
        label = describe_group(self.index, group_count)
        if not self.members or self.threshold is None:  # a share brings its group's threshold
            needs = f" ({self.threshold} needed)" if self.threshold else ""
            return f"{label}: no shares yet{needs}"
        have = ", ".join(str(member + 1) for member in self.members)
        status = "complete" if self.complete else f"{self.threshold - len(self.members)} more needed"
        return f"{label}: {len(self.members)} of {self.threshold} needed (shares {have}): {status}"


@dataclass(frozen=True)
class Progress:
    group_threshold: int
    group_count: int
    groups: tuple[GroupProgress, ...]

    @property
    def complete_groups(self) -> int:
        return sum(group.complete for group in self.groups)

    @property
    def complete(self) -> bool:
        return self.complete_groups >= self.group_threshold

    def summary(self) -> str:
        return f"{self.complete_groups} of {self.group_threshold} needed groups complete"

    def lines(self) -> list[str]:
        return [group.describe(self.group_count) for group in self.groups] + [self.summary()]


@dataclass(frozen=True)
class ShareSet:
    """Shares of one SLIP-39 set, at most one per (group, member)."""

    entries: tuple[Entry, ...] = ()
    member_thresholds: tuple[int, ...] = ()
    """Each group's threshold when known beforehand (from a manifest), so that progress can
    say what a group with no shares yet needs."""

    @property
    def set_id(self) -> SetId | None:
        return self.entries[0].share.set_id if self.entries else None

    def find(self, share: Share) -> Entry | None:
        """The entry already holding this exact share, if any (a duplicate)."""
        return next((entry for entry in self.entries if entry.share == share), None)

    def add(self, entry: Entry) -> "ShareSet":
        """This set plus `entry`; raises `ShareError` if it does not belong.

        Callers check `find` first: a duplicate is reported and ignored, not an error.
        """
        if self.entries:
            _check_same_set(self.entries[0], entry)
        for other in self.entries:
            if other.share.group_index == entry.share.group_index:
                _check_same_group(other, entry)
        return replace(self, entries=self.entries + (entry,))

    def progress(self) -> Progress:
        set_id = self.set_id
        if set_id is None:
            raise ValueError("progress of an empty share set")
        groups = []
        for index in range(set_id.group_count):
            members = sorted(e.share.member_index for e in self.entries if e.share.group_index == index)
            known = self.member_thresholds[index] if index < len(self.member_thresholds) else None
            threshold = next(
                (e.share.member_threshold for e in self.entries if e.share.group_index == index), known
            )
            groups.append(GroupProgress(index, threshold, tuple(members)))
        return Progress(set_id.group_threshold, set_id.group_count, tuple(groups))

    def quorum(self) -> dict[int, list[Share]]:
        """The shares recovery will use: raises `InvalidInput` saying what is missing."""
        if not self.entries:
            raise InvalidInput("no shares given", "give share files, envelopes, or --interactive")
        progress = self.progress()
        if not progress.complete:
            raise InvalidInput(
                f"too few shares to recover: {progress.summary()}",
                *[group.describe(progress.group_count) for group in progress.groups],
            )
        chosen: dict[int, list[Share]] = {}
        for group in progress.groups:
            if group.complete and len(chosen) < progress.group_threshold:
                members = sorted(
                    (e.share for e in self.entries if e.share.group_index == group.index),
                    key=lambda share: share.member_index,
                )
                chosen[group.index] = members[: group.threshold]
        return chosen

    def unused(self) -> list[Entry]:
        """Entries recovery will not use (surplus shares and groups)."""
        used = {share for shares in self.quorum().values() for share in shares}
        return [entry for entry in self.entries if entry.share not in used]


def _check_same_set(other: Entry, new: Entry) -> None:
    a, b = other.share, new.share
    if a.identifier != b.identifier:
        raise ShareError(
            f"belongs to another share set (identifier {b.identifier}) than {other.source} (identifier {a.identifier})",
            "shares of different vaults or of an earlier split never combine; set this one aside",
        )
    if a.set_id != b.set_id:
        field_name = next(name for name in SetId.__dataclass_fields__ if getattr(a.set_id, name) != getattr(b.set_id, name))
        raise ShareError(
            f"has the same identifier as {other.source} but a different {field_name.replace('_', ' ')}: "
            "one of them is corrupt or from another set"
        )


def _check_same_group(other: Entry, new: Entry) -> None:
    a, b = other.share, new.share
    if a == b:
        raise ShareError(f"is the same share as {other.source}")
    if a.member_threshold != b.member_threshold:
        raise ShareError(
            f"says {describe_group(b.group_index, b.group_count)} needs {b.member_threshold} shares, "
            f"but {other.source} says {a.member_threshold}: one of them is corrupt"
        )
    if a.member_index == b.member_index:
        raise ShareError(
            f"is share {b.member_index + 1} of {describe_group(b.group_index, b.group_count)} like {other.source}, "
            "but the words differ: one of them is corrupt",
        )


def recover_encrypted(share_set: ShareSet) -> EncryptedMasterSecret:
    """Combine a quorum into SLIP-39's encrypted master secret; says which group fails."""
    quorum = share_set.quorum()
    set_id = share_set.set_id
    assert set_id is not None
    group_points = []
    for index, shares in quorum.items():
        value = polynomial.shared_secret([(s.member_index, s.value) for s in shares], len(shares))
        if value is None:
            raise ShareError(
                f"{describe_group(index, set_id.group_count)}: the shares do not combine (digest check failed)",
                "one of them is corrupt or altered; recover with other shares of that group to find which",
            )
        group_points.append((index, value))
    ciphertext = polynomial.shared_secret(group_points, set_id.group_threshold)
    if ciphertext is None:
        raise ShareError(
            "the groups do not combine (digest check failed): a group's shares are corrupt or altered",
            "recover with other groups to find which",
        )
    return encrypted_master_secret(
        identifier=set_id.identifier,
        extendable=set_id.extendable,
        iteration_exponent=set_id.iteration_exponent,
        ciphertext=ciphertext,
    )


def recover(share_set: ShareSet, passphrase: bytes) -> bytes:
    """The master secret. A wrong passphrase gives a different secret without error
    (that is SLIP-39's design); callers compare fingerprints to catch it."""
    return cast(bytes, recover_encrypted(share_set).decrypt(passphrase))  # the reference publishes no types
