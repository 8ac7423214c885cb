"""Copies of one vault judged as git judges branches (docs/monitoring.md, "Copies").

A vault's folder is copied: packets, backups, monitoring hosts, the old revision
`extend` leaves beside the new one. Each place holding a copy has a history: its
transcript's lines and its drill log's lines, each line known by its hash (a line's
hash covers the line before it, so equal hashes at line N mean equal files up to N).

- A place whose transcript and drill log are each a prefix of another place's is a
  **stale** copy of it: it holds nothing the other lacks. It is named, not judged.
- Places with the very same history are **the same** copy, found twice.
- When no one place's history contains every other's, the copies **diverge**: a
  drill recorded in one copy and not the other, or two revisions made from one (a
  fork). No copy can be judged for the vault; the vault is in CONFLICT.

Which places are one vault: those with the same identity (`identity`), the SHA-256
of the vault's key (`attestation.vault_public_key`; docs/history.md), or for a
manifest made before vault keys its ceremony id and share set identifier.

Pure: the flow reads each place (vault.flows.copies) and hands its `Place` and
`History` here.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from vault.core.anchor import Anchor, AnchorKind
from vault.core.formats.manifest import Manifest
from vault.core.layout import DRILLS_FILE, TRANSCRIPT_FILE
from vault.core.succession import Statement


@dataclass(frozen=True)
class Place:
    """One place holding a copy of a vault: where it was found, its manifest and what anchored it."""

    path: str
    """The manifest's path, as given or found."""
    manifest: Manifest
    manifest_sha256: str
    """SHA-256 of the manifest file's bytes: what a successor's `supersedes` names."""
    anchor: Anchor
    rotation: Statement | None = None
    """A rotated vault's `rotation-signed` statement, from its own (sealed) transcript: the predecessor's vault key
    vouching that this vault succeeds it (vault.core.succession); checked against a predecessor by `fleet.supersedes`."""

    @property
    def identity(self) -> str:
        return identity(self.manifest)


@dataclass(frozen=True)
class History:
    """A place's history: the hash of each line of its transcript and of its drill log, in order."""

    transcript: tuple[str, ...]
    drills: tuple[str, ...]

    def within(self, other: History) -> bool:
        """Each of its files is a prefix of (or equal to) `other`'s."""
        return _prefix(self.transcript, other.transcript) and _prefix(self.drills, other.drills)


class Standing(enum.StrEnum):
    """What a copy is to the vault, as `--json` gives it in `copies[].standing`."""

    JUDGED = "judged"
    """The place whose history holds every other's: the vault is judged from its files."""
    SAME = "same"
    """The same history as another place (`ahead`): one copy found twice."""
    STALE = "stale"
    """Its history is a prefix of another place's: named, not judged."""
    DIVERGENT = "divergent"
    """Its history and another's each hold lines the other lacks: the vault is in conflict."""


@dataclass(frozen=True)
class Copy:
    place: Place
    standing: Standing
    ahead: str | None = None
    """The place whose history contains this one (the judged place for a stale or same copy); None otherwise."""

    def describe(self) -> str:
        """One line for a person: where the copy is, and what it is."""
        if self.standing is Standing.JUDGED:
            return f"at {self.place.path}"
        if self.standing is Standing.SAME:
            return f"at {self.place.path} (the same history as {self.ahead})"
        if self.standing is Standing.STALE:
            return f"stale copy at {self.place.path}: its history is a prefix of {self.ahead}'s"
        return f"divergent copy at {self.place.path}"


@dataclass(frozen=True)
class Copies:
    """Every place found of one vault, the judged one first (or the divergent ones, in conflict)."""

    copies: tuple[Copy, ...]
    divergence: tuple[str, ...] = ()
    """How the divergent copies differ, one sentence each; empty unless the vault is in conflict."""

    @property
    def conflict(self) -> bool:
        return bool(self.divergence)

    @property
    def judged(self) -> Place | None:
        """The place the vault is judged from; None in conflict."""
        return None if self.conflict else self.copies[0].place

    @property
    def first(self) -> Place:
        """The judged place, or in conflict the first divergent one: whose manifest names the vault to a person."""
        return self.copies[0].place

    @property
    def places(self) -> tuple[str, ...]:
        return tuple(copy.place.path for copy in self.copies)

    def standing(self, standing: Standing) -> tuple[Copy, ...]:
        return tuple(copy for copy in self.copies if copy.standing is standing)


def identity(manifest: Manifest) -> str:
    """What makes two places one vault: its vault key's SHA-256, or (a manifest without one) its ceremony id and identifier."""
    if manifest.vault_key_sha256 is not None:
        return f"vault key {manifest.vault_key_sha256}"
    return f"ceremony {manifest.ceremony.id} identifier {manifest.scheme.identifier}"


def alone(place: Place) -> Copies:
    """A vault found at one place: it is judged there, with no history to compare."""
    return Copies((Copy(place, Standing.JUDGED),))


def arrange(found: Sequence[tuple[Place, History]]) -> Copies:
    """The places of one vault judged as branches (see the module docstring), in the order found.

    Among places with the very same history, the first whose transcript is signed is
    judged (a copy without its signature file holds less evidence), else the first.
    """
    groups: list[list[tuple[Place, History]]] = []
    for place, history in found:
        group = next((g for g in groups if g[0][1] == history), None)
        if group is None:
            groups.append([(place, history)])
        else:
            group.append((place, history))
    groups = [sorted(group, key=lambda item: item[0].anchor.kind is not AnchorKind.SIGNED) for group in groups]
    tips = [g for g in groups if not any(other is not g and g[0][1].within(other[0][1]) for other in groups)]
    copies: list[Copy] = []
    for tip in tips:
        head = tip[0][0]
        copies.append(Copy(head, Standing.JUDGED if len(tips) == 1 else Standing.DIVERGENT))
        copies += [Copy(place, Standing.SAME, head.path) for place, _ in tip[1:]]
    for group in groups:
        if group in tips:
            continue
        ahead = next(tip[0][0] for tip in tips if group[0][1].within(tip[0][1]))
        copies += [Copy(place, Standing.STALE, ahead.path) for place, _ in group]
    divergence = tuple(_divergence(a[0], b[0]) for a, b in zip(tips, tips[1:], strict=False))
    return Copies(tuple(copies), divergence)


def _divergence(a: tuple[Place, History], b: tuple[Place, History]) -> str:
    """Where two divergent copies part, in words: for each file, the first line that differs or that only one holds."""
    parts = []
    for name, left, right in ((TRANSCRIPT_FILE, a[1].transcript, b[1].transcript), (DRILLS_FILE, a[1].drills, b[1].drills)):
        differ = next((number for number, (x, y) in enumerate(zip(left, right, strict=False), 1) if x != y), None)
        if differ is not None:
            parts.append(f"their {name} differ from line {differ}")
        elif len(left) != len(right):
            longer, shorter = (a[0], right) if len(left) > len(right) else (b[0], left)
            parts.append(f"only {longer.path} has {name} line {len(shorter) + 1}")
    return (f"{a[0].path} and {b[0].path} diverge: {'; '.join(parts)}; neither is judged: find out which drill or revision "
            "is missing where, and make one place hold the whole history")


def _prefix(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return len(short) <= len(long) and long[:len(short)] == short
