"""A vault's verdict: the one answer `drill status`, `drill report` and `fleet status` all render.

Pure: the vault's readiness (vault.core.drill), and what is known about it from
outside its own files (a successor that supersedes it, copies of it that diverge),
in; a `Judgement` out: the verdict, the reasons for it in words, and the last day it
stays recoverable. Every renderer (the terminal, JSON, the HTML pages, the metrics)
shows this judgement and decides nothing of its own, so that two commands can never
disagree about one vault.

The order of the verdicts is the order of the checks:

1. CONFLICT: copies of the vault diverge (vault.core.copies): no one place holds the
   whole history, so none is judged. An alert: it may be an attack or a lost drill.
2. RETIRED: a successor made by `rotate` supersedes the vault; the vault is no longer
   used, and whether its old shares are still current is no one's alarm.
3. NOT RECOVERABLE: the drill log was tampered with (records that do not verify: the
   log is not what drills wrote, so what it seems to say cannot be trusted), or too
   few groups are ready from recently verified shares.
4. RECOVERABLE, until the last day it stays so unless someone checks a share.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from vault.core.drill import Readiness


class Verdict(enum.StrEnum):
    """What a vault is, as `--json` gives it in `verdict`."""

    RECOVERABLE = "recoverable"
    NOT_RECOVERABLE = "not-recoverable"
    RETIRED = "retired"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Successor:
    """The vault that superseded another: its name, its ceremony id, and where it was found."""

    name: str
    ceremony_id: str
    place: str


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reasons: tuple[str, ...]
    """Why, one sentence each, the first the headline's reason; none for a recoverable vault."""
    recoverable: bool
    """Recoverable from recently verified shares, from a log that verifies (a fact of the readiness, whatever the
    verdict: a retired vault may still be recoverable). False when the vault was not judged (a conflict)."""
    until: date | None = None
    """The last day it stays recoverable unless someone checks a share; None when it is not recoverable."""
    successor: Successor | None = None

    @property
    def alert(self) -> bool:
        """Someone must act: `drill status` and `fleet status` exit 1."""
        return self.verdict in (Verdict.NOT_RECOVERABLE, Verdict.CONFLICT)

    @property
    def word(self) -> str:
        """The verdict in capitals: RECOVERABLE, NOT RECOVERABLE, RETIRED, CONFLICT."""
        return self.verdict.value.replace("-", " ").upper()

    @property
    def headline(self) -> str:
        """The verdict with what a person needs beside it, as every renderer shows it first."""
        if self.verdict is Verdict.RECOVERABLE:
            return f"RECOVERABLE until {self.until}"
        if self.verdict is Verdict.RETIRED:
            assert self.successor is not None
            who = self.successor
            return f"RETIRED (superseded by {who.name}, ceremony {who.ceremony_id}, at {who.place})"
        return "CONFLICT (its copies diverge)" if self.verdict is Verdict.CONFLICT else "NOT RECOVERABLE"


def judge(readiness: Readiness | None, successor: Successor | None = None, divergence: Sequence[str] = ()) -> Judgement:
    """The verdict (see the module docstring). `readiness` is None only for a vault in conflict, which is not judged;
    `divergence` says how its copies diverge (vault.core.copies), one sentence each."""
    if divergence or readiness is None:
        return Judgement(Verdict.CONFLICT, tuple(divergence) or ("its copies diverge",), False)
    recoverable = readiness.recoverable and not readiness.tampered
    until = recoverable_until(readiness) if recoverable else None
    if successor is not None:
        return Judgement(Verdict.RETIRED, (f"superseded by {successor.name} (ceremony {successor.ceremony_id}) at {successor.place}: "
                                           "its custodians now hold the successor's shares",), recoverable, until, successor)
    if recoverable:
        return Judgement(Verdict.RECOVERABLE, (), True, until)
    return Judgement(Verdict.NOT_RECOVERABLE, tuple(_not_recoverable(readiness)), False)


def _not_recoverable(readiness: Readiness) -> list[str]:
    reasons = [tampered(readiness)] if readiness.tampered else []
    if not readiness.recoverable:
        ready = sum(1 for group in readiness.groups if group.ready)
        reasons.append(f"as of {readiness.as_of} the vault is NOT recoverable from recently verified shares "
                       f"({ready} group{'s' if ready != 1 else ''} ready, {readiness.groups_needed} needed)")
    return reasons


def tampered(readiness: Readiness) -> str:
    """The reason a tampered drill log gives, for the verdict and for `drill report`'s refusal."""
    count = len(readiness.findings)
    return f"the drill log was tampered with: {count} line{'s' if count != 1 else ''} cannot be trusted (not counted)"


def recoverable_until(readiness: Readiness) -> date | None:
    """The last day on which the vault is still recoverable if nobody checks a share from its as-of day on.

    A share counts until its `due` day; a group is ready while `needed` of its shares
    count, so until the `needed`-th latest due day of its current shares; the vault is
    recoverable while `groups_needed` groups are ready, so until the `groups_needed`-th
    latest of those days. None when it is not recoverable on its as-of day.
    """
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
