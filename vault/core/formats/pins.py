"""The pins file of `fleet status --pins FILE`: the vaults a monitoring host must find, by their vault key.

One pin a line: the SHA-256 of a vault's key (64 hex digits, either case, as `split`
and `ceremony run` print it and cards show it), one or more spaces or tabs, and a
label for people (the rest of the line, surrounding spaces dropped). Blank lines and
lines starting with `#` are ignored. A line that is not a pin, or a key pinned
twice, is refused naming the file and the line (docs/monitoring.md, "Pins").

```
# vault key SHA-256                                                 label
3f1c...e09a  Family vault (Dana's desk)
```
"""

from __future__ import annotations

from dataclasses import dataclass

from vault.core.formats import fields
from vault.errors import InvalidInput

EXAMPLE = "a pin line is a vault key's SHA-256 (64 hex digits) and a label, e.g. `3f1c...e09a  Family vault`"


@dataclass(frozen=True)
class Pin:
    vault_key_sha256: str
    """Lower case."""
    label: str
    line: int
    """Where it is in the file (from 1), for messages."""


def parse(text: str, name: str) -> tuple[Pin, ...]:
    """Every pin in `text` (the file `name`); `InvalidInput` (exit 3) naming the line of the first bad one."""
    pins: dict[str, Pin] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, _, label = stripped.replace("\t", " ").partition(" ")
        key, label = key.lower(), label.strip()
        where = f"{name} line {number}"
        if not fields.is_hex(key, 64):
            raise InvalidInput(f"{where}: {key[:70]!r} is not a vault key's SHA-256 (64 hex digits)", EXAMPLE)
        if not label:
            raise InvalidInput(f"{where}: the pin has no label: say which vault it is for the people reading alerts", EXAMPLE)
        if key in pins:
            raise InvalidInput(f"{where}: vault key {key} is pinned twice (first at line {pins[key].line})")
        pins[key] = Pin(key, label, number)
    return tuple(pins.values())
