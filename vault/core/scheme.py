"""A SLIP-39 sharing scheme: groups of members, and how many of each are needed.

Indices here are SLIP-39's (0-based); what a person reads is 1-based, which
`describe_*` functions produce. Validation happens before any secret exists, so a
mistake costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vault.errors import InvalidInput

MAX_GROUP_COUNT = 16
MAX_MEMBER_COUNT = 16
ITERATION_EXPONENT_MAX = 15
"""SLIP-39 stores the exponent in 4 bits."""

_T_OF_N = re.compile(r"^\s*(\d+)\s*(?:of|/|-of-)\s*(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class GroupSpec:
    member_threshold: int
    member_count: int
    name: str | None = None


@dataclass(frozen=True)
class Scheme:
    group_threshold: int
    groups: tuple[GroupSpec, ...]

    @property
    def share_count(self) -> int:
        return sum(group.member_count for group in self.groups)


def parse_t_of_n(text: str) -> tuple[int, int]:
    """'2of3' -> (2, 3). Also accepts '2/3' and '2-of-3'."""
    match = _T_OF_N.match(text)
    if not match:
        raise InvalidInput(f'"{text}" is not a threshold', 'write it as TofN, e.g. "2of3"')
    return int(match.group(1)), int(match.group(2))


def make_scheme(
    group_threshold: int,
    groups: list[tuple[int, int]],
    names: list[str] | None = None,
) -> Scheme:
    """Build and validate a scheme; every rule SLIP-39 has, said in the user's terms."""
    names = list(names or [])
    if len(names) > len(groups):
        raise InvalidInput(f"{len(names)} group names for {len(groups)} groups")
    if not groups:
        raise InvalidInput("no groups", "give --scheme TofN, or --group-threshold with --group TofN")
    if len(groups) > MAX_GROUP_COUNT:
        raise InvalidInput(f"{len(groups)} groups; SLIP-39 allows at most {MAX_GROUP_COUNT}")
    if not 1 <= group_threshold <= len(groups):
        raise InvalidInput(
            f"group threshold {group_threshold} with {len(groups)} groups",
            f"the group threshold must be between 1 and the number of groups ({len(groups)})",
        )
    specs = []
    for number, (threshold, count) in enumerate(groups, start=1):
        check_group(f"group {number} ({threshold}of{count})", threshold, count)
        name = names[number - 1] if number <= len(names) else None
        specs.append(GroupSpec(threshold, count, name or None))
    return Scheme(group_threshold, tuple(specs))


def check_group(where: str, threshold: int, count: int, members: str = "shares") -> None:
    """SLIP-39's rules for one group; `where` and `members` name things in the user's terms."""
    if not 1 <= count <= MAX_MEMBER_COUNT:
        raise InvalidInput(f"{where} has {count} {members}; SLIP-39 allows 1 to {MAX_MEMBER_COUNT} per group")
    if threshold < 1:
        raise InvalidInput(f"{where}: the threshold must be at least 1")
    if threshold > count:
        raise InvalidInput(f"{where}: threshold {threshold} is above its {count} {members}")
    if threshold == 1 and count > 1:
        raise InvalidInput(
            f"{where}: SLIP-39 does not allow several {members} with threshold 1",
            "use 1of1, or a threshold of at least 2",
        )


def check_iteration_exponent(exponent: int) -> None:
    if not 0 <= exponent <= ITERATION_EXPONENT_MAX:
        raise InvalidInput(
            f"iteration exponent {exponent} is out of range",
            f"SLIP-39 takes 0 to {ITERATION_EXPONENT_MAX}; each step doubles the PBKDF2 work (default 1)",
        )


def describe_group(index: int, group_count: int, name: str | None = None) -> str:
    """'group 2 of 3 (Officers)' from a 0-based index."""
    label = f"group {index + 1} of {group_count}"
    return f"{label} ({name})" if name else label


def describe_member(index: int, member_count: int | None, threshold: int) -> str:
    """'share 1 of 5; 3 needed' (or 'share 1; 3 needed' when the count is unknown)."""
    of = f" of {member_count}" if member_count else ""
    return f"share {index + 1}{of}; {threshold} needed"
