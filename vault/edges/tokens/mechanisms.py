"""TEMPORARY (lead's stand-in until the keys helper's module lands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Mechanisms:
    names: frozenset[str]

    def lists(self, name: str) -> bool:
        return name in self.names


def read(slot: Any) -> Mechanisms:
    from pkcs11 import Mechanism

    found = set()
    for m in slot.get_mechanisms():
        try:
            found.add("CKM_" + Mechanism(int(m)).name)
        except ValueError:
            pass
    return Mechanisms(frozenset(found))
