"""Many vaults at once: each vault's copies, readiness and verdict, and the fleet's (`coldvault fleet status`).

Pure: the flow reads every place, groups the places of each vault and judges its
copies (vault.core.copies), reads the judged place's drill log, and hands each vault
here as `Found`. Here the vaults found meet each other: a vault that another one
supersedes is RETIRED (`supersedes`), and the pins say which vaults were expected.
The verdict itself is vault.core.verdict's, the same as `drill status`'s; the table,
the JSON, the Prometheus metrics and the HTML page are all rendered from these
dataclasses, so they say the same facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from vault.core import succession
from vault.core.anchor import Anchor
from vault.core.copies import Copies, Place
from vault.core.drill import Readiness, ShareReadiness, State
from vault.core.formats.manifest import Manifest
from vault.core.formats.pins import Pin
from vault.core.verdict import Judgement, Successor, Verdict, judge
from vault.errors import CheckFailed


@dataclass(frozen=True)
class Found:
    """One vault as the flow read it: its copies, and the judged place's readiness (None in conflict: not judged)."""

    copies: Copies
    readiness: Readiness | None
    noted: Successor | None = None
    """A successor named in the vault's own folder (vault.flows.copies.successor_noted), when there is one."""


@dataclass(frozen=True)
class VaultStatus:
    """One vault: where it is, what anchored it, its readiness and its verdict."""

    copies: Copies
    readiness: Readiness | None
    """None when the vault is in conflict: no copy is judged."""
    judgement: Judgement
    pin_label: str | None = None
    """The label of its pin (`--pins`), when it is pinned."""
    pinned: bool | None = None
    """Whether its vault key is pinned; None when no pins were given."""

    @property
    def place(self) -> Place:
        return self.copies.first

    @property
    def places(self) -> tuple[str, ...]:
        """Every place it was found, the judged one first."""
        return self.copies.places

    @property
    def manifest(self) -> Manifest:
        return self.place.manifest

    @property
    def anchor(self) -> Anchor:
        return self.place.anchor

    @property
    def name(self) -> str:
        return self.manifest.ceremony.name

    @property
    def ceremony_id(self) -> str:
        return self.manifest.ceremony.id

    @property
    def vault_key_sha256(self) -> str | None:
        return self.manifest.vault_key_sha256

    @property
    def revision(self) -> int:
        """The manifest's revision: 1 for the ceremony's own, 2 and on for each `extend`."""
        return self.manifest.revision_number

    @property
    def verdict(self) -> Verdict:
        return self.judgement.verdict

    @property
    def recoverable(self) -> bool:
        return self.judgement.recoverable

    @property
    def recoverable_until(self) -> date | None:
        """The last day it stays recoverable unless someone checks a share; None when it is not recoverable now."""
        return self.judgement.until

    def shares_in(self, state: State) -> tuple[ShareReadiness, ...]:
        shares = self.readiness.shares if self.readiness else ()
        return tuple(share for share in shares if share.state is state)


@dataclass(frozen=True)
class Unreadable:
    """A place that names a vault coldvault could not read: a broken manifest, a tampered log, a missing file."""

    place: str
    lines: tuple[str, ...]
    """The error as `coldvault drill status` would say it: its message, then each hint. Kept apart, never split
    on line breaks: a path or a name inside one may hold any character, and is escaped where it is shown."""
    exit_code: int

    @property
    def error(self) -> str:
        """The lines as one text, for `--json`."""
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Fleet:
    as_of: date
    vaults: tuple[VaultStatus, ...]
    """Sorted by urgency: alerts first, then by the day each stops being recoverable, retired vaults last."""
    unreadable: tuple[Unreadable, ...]
    pins_file: str | None = None
    """The file `--pins` named; None without it."""
    missing_pins: tuple[Pin, ...] = ()
    """Pinned vaults not found."""

    @property
    def recoverable(self) -> int:
        return self.count(Verdict.RECOVERABLE)

    def count(self, verdict: Verdict) -> int:
        return sum(1 for vault in self.vaults if vault.verdict is verdict)

    @property
    def unpinned(self) -> tuple[VaultStatus, ...]:
        return tuple(vault for vault in self.vaults if vault.pinned is False)

    @property
    def ok(self) -> bool:
        """Every vault read and recoverable or retired, and the pins all found and all the vaults pinned: exit 0."""
        return not (self.unreadable or self.unpinned or self.missing_pins or any(vault.judgement.alert for vault in self.vaults))


def supersedes(successor: Place, predecessor: Place) -> bool:
    """Whether the vault at `successor` supersedes the vault at `predecessor`: the one decision that retires a vault.

    The successor's manifest (anchored by its own transcript) names, in `supersedes`,
    the predecessor's ceremony id and the SHA-256 of the predecessor's manifest file,
    the revision judged (its latest found); and its transcript holds the rotation's
    statement signed by the predecessor's vault key (`rotation-signed`, docs/history.md),
    which only a quorum of the predecessor could make. Anyone who can write a folder
    the fleet searches can write a manifest naming any vault; nobody else can sign
    that statement. A successor that names an older revision does not retire the
    vault: a revision made after the rotation is a fork, and the vault stays watched.
    """
    named = successor.manifest.supersedes
    if (named is None or successor.identity == predecessor.identity or named.ceremony_id != predecessor.manifest.ceremony.id
            or named.manifest_sha256 != predecessor.manifest_sha256 or successor.rotation is None):
        return False
    try:
        succession.check(successor.rotation, predecessor.manifest, predecessor.manifest_sha256, successor.path)
    except CheckFailed:
        return False
    return successor.rotation.successor_ceremony_id == successor.manifest.ceremony.id


def fleet(as_of: date, found: Sequence[Found], unreadable: Sequence[Unreadable], pins: Sequence[Pin] | None = None,
          pins_file: str | None = None) -> Fleet:
    """The fleet: each vault judged (retired when another vault found supersedes it), pins matched, the most urgent first."""
    judged = [item.copies.judged for item in found]
    naming: dict[str, list[Place]] = {}  # the vaults found, by the manifest SHA-256 their `supersedes` names: one pass, not n²
    for other in judged:
        if other is not None and other.manifest.supersedes is not None:
            naming.setdefault(other.manifest.supersedes.manifest_sha256, []).append(other)
    label = {pin.vault_key_sha256: pin.label for pin in pins or ()}
    vaults = []
    for item, place in zip(found, judged, strict=True):
        candidates = naming.get(place.manifest_sha256, []) if place is not None else []
        found_successor = next((_successor(other) for other in candidates if place is not None and supersedes(other, place)), None)
        successor = found_successor or item.noted  # the successor's place where it was found; else the folder's own word
        key = item.copies.first.manifest.vault_key_sha256
        pinned = None if pins is None else key in label
        vaults.append(VaultStatus(item.copies, item.readiness, judge(item.readiness, successor, item.copies.divergence),
                                  label.get(key or ""), pinned))
    keys = {vault.vault_key_sha256 for vault in vaults}
    missing = tuple(pin for pin in pins or () if pin.vault_key_sha256 not in keys)
    ordered = sorted(vaults, key=_urgency)
    return Fleet(as_of, tuple(ordered), tuple(sorted(unreadable, key=lambda u: u.place)), pins_file, missing)


def _successor(place: Place) -> Successor:
    return Successor(place.manifest.ceremony.name, place.manifest.ceremony.id, place.path)


def _urgency(vault: VaultStatus) -> tuple[int, date, str, str]:
    rank = 0 if vault.judgement.alert else 2 if vault.verdict is Verdict.RETIRED else 1
    return (rank, vault.recoverable_until or date.min, vault.name, vault.places[0])
