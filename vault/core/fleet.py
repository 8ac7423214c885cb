"""Many vaults at once: each vault's readiness summed up, and the fleet's verdict (`coldvault fleet status`).

Pure: the flow reads each vault (its anchored manifest and drill log, once) and
hands its `Readiness` here; the table, the JSON, the Prometheus metrics and the HTML
page are all rendered from these dataclasses, so they say the same facts.

The one computation of its own is `recoverable_until`: the last day on which the
vault is still recoverable if nobody checks a share from today on. A share counts
until its `due` day; a group is ready while `needed` of its shares count, so until
the `needed`-th latest due day of its current shares; the vault is recoverable while
`groups_needed` groups are ready, so until the `groups_needed`-th latest of those days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from vault.core.anchor import Anchor
from vault.core.drill import Readiness, ShareReadiness, State
from vault.core.formats.manifest import Manifest


@dataclass(frozen=True)
class VaultStatus:
    """One vault that was read: where it is, what anchored it, and its readiness."""

    places: tuple[str, ...]
    """Where it was found (the manifest's path as given or found); several when the same vault was found twice."""
    manifest: Manifest
    anchor: Anchor
    readiness: Readiness

    @property
    def name(self) -> str:
        return self.manifest.ceremony.name

    @property
    def ceremony_id(self) -> str:
        return self.manifest.ceremony.id

    @property
    def identity(self) -> tuple[str, int]:
        """What makes two places the same vault: its ceremony id and its share set's identifier."""
        return self.manifest.ceremony.id, self.manifest.scheme.identifier

    @property
    def revision(self) -> int:
        """The manifest's revision: 1 for the ceremony's own, 2 and on for each `extend`."""
        return self.manifest.revision.number if self.manifest.revision else 1

    @property
    def recoverable(self) -> bool:
        return self.readiness.recoverable and not self.readiness.tampered

    @property
    def recoverable_until(self) -> date | None:
        """The last day it stays recoverable unless someone checks a share; None when it is not recoverable now."""
        return recoverable_until(self.readiness) if self.recoverable else None

    def shares_in(self, state: State) -> tuple[ShareReadiness, ...]:
        return tuple(share for share in self.readiness.shares if share.state is state)


@dataclass(frozen=True)
class Unreadable:
    """A place that names a vault coldvault could not read: a broken manifest, a tampered log, a missing file."""

    place: str
    error: str
    """The error as `coldvault drill status` would say it (message and hints, one line each)."""
    exit_code: int


@dataclass(frozen=True)
class Fleet:
    as_of: date
    vaults: tuple[VaultStatus, ...]
    """Sorted by urgency: not recoverable first, then by the day each stops being recoverable."""
    unreadable: tuple[Unreadable, ...]

    @property
    def recoverable(self) -> int:
        return sum(1 for vault in self.vaults if vault.recoverable)

    @property
    def ok(self) -> bool:
        """Every vault read and recoverable: exit 0."""
        return not self.unreadable and all(vault.recoverable for vault in self.vaults)


def recoverable_until(readiness: Readiness) -> date | None:
    """See the module docstring; None when the vault is not recoverable as of its day."""
    if not readiness.recoverable:
        return None
    group_days: list[date] = []
    for group in readiness.groups:
        dues = sorted((share.due for share in readiness.shares
                       if share.entry.group_index == group.index and share.current and share.due is not None), reverse=True)
        if len(dues) >= group.needed:
            group_days.append(dues[group.needed - 1])
    group_days.sort(reverse=True)
    if len(group_days) < readiness.groups_needed:
        return None
    return group_days[readiness.groups_needed - 1]


def fleet(as_of: date, vaults: Iterable[VaultStatus], unreadable: Sequence[Unreadable]) -> Fleet:
    """The fleet: the same vault found twice is one vault with both places; the most urgent first.

    `extend` keeps the ceremony id and the identifier, so an old revision left beside
    the new one is the same vault: it is judged by its latest revision (the shares it
    lists are the ones custodians hold), whose place comes first.
    """
    merged: dict[tuple[str, int], VaultStatus] = {}
    for vault in vaults:
        seen = merged.get(vault.identity)
        if seen is None:
            merged[vault.identity] = vault
        elif vault.revision > seen.revision:
            merged[vault.identity] = VaultStatus(vault.places + seen.places, vault.manifest, vault.anchor, vault.readiness)
        else:
            merged[vault.identity] = VaultStatus(seen.places + vault.places, seen.manifest, seen.anchor, seen.readiness)
    ordered = sorted(merged.values(), key=_urgency)
    return Fleet(as_of, tuple(ordered), tuple(sorted(unreadable, key=lambda u: u.place)))


def _urgency(vault: VaultStatus) -> tuple[int, date, str, str]:
    until = vault.recoverable_until
    return (0 if until is None else 1, until or date.min, vault.name, vault.places[0])
