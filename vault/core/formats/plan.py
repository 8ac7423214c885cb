"""Ceremony plans (`*.toml`, format `coldvault-plan/1`): who holds what, and how.

A plan is checked completely before any secret exists, so a mistake costs nothing.
Every error names the plan file and the TOML line it is about ("plan.toml line 14:
group "Officers": threshold 4 is above its 3 custodians"). Pure: the caller reads
the file; checks that need the outside world (key files, tokens) live in
`vault.flows.ceremony`, which uses `Plan.where` for the same kind of message.
The format is specified in docs/plan.md.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vault.core.formats import envelope as ev
from vault.core.formats.manifest import DEFAULT_DRILL_INTERVAL_DAYS, MAX_DRILL_INTERVAL_DAYS
from vault.core.scheme import ITERATION_EXPONENT_MAX, MAX_GROUP_COUNT, MAX_MEMBER_COUNT, Scheme, check_group, make_scheme
from vault.core.secret import BIP39_WORD_COUNTS, GENERATE_BITS_CHOICES, MAX_SECRET_LENGTH_BYTES
from vault.errors import InvalidInput

FORMAT = "coldvault-plan/1"
PAPER = "paper"
DELIVERIES = (PAPER, *ev.KINDS)
SOURCE_GENERATE = "generate"
SOURCE_BIP39 = "bip39"
SOURCE_MASTER_SECRET = "master-secret"
SOURCE_BITS = {
    SOURCE_GENERATE: GENERATE_BITS_CHOICES,
    SOURCE_BIP39: tuple(count * 32 // 3 for count in BIP39_WORD_COUNTS),
    SOURCE_MASTER_SECRET: tuple(range(128, MAX_SECRET_LENGTH_BYTES * 8 + 1, 16)),
}
SOURCE_FLAGS = {SOURCE_GENERATE: "--generate", SOURCE_BIP39: "--bip39-file", SOURCE_MASTER_SECRET: "--secret-file"}
"""The `ceremony run` flag that brings each source's secret (or none: a hidden prompt)."""
MAX_NAME_LENGTH = 64


@dataclass(frozen=True)
class Delivery:
    """How a custodian's share leaves the ceremony: a paper card, or sealed to a token."""

    kind: str
    token: str | None = None
    key: str | None = None
    public_key: str | None = None
    """A PEM or DER file, relative to the plan's directory."""
    oaep_hash: str | None = None

    @property
    def sealed(self) -> bool:
        return self.kind != PAPER


@dataclass(frozen=True)
class Custodian:
    name: str
    folder: str
    """The custodian's folder under `custodians/`, unique in the plan."""
    delivery: Delivery
    line: int


@dataclass(frozen=True)
class Group:
    name: str
    threshold: int
    custodians: tuple[Custodian, ...]
    line: int


@dataclass(frozen=True)
class Signing:
    """An EC P-256 key on a ceremony token that signs the transcript's head."""

    token: str
    key: str
    line: int


@dataclass(frozen=True)
class Plan:
    source_name: str
    name: str
    operator: str
    witnesses: tuple[str, ...]
    secret_source: str
    secret_bits: int
    group_threshold: int
    passphrase: bool
    iteration_exponent: int
    extendable: bool
    drill_interval_days: int
    groups: tuple[Group, ...]
    signing: Signing | None

    @property
    def scheme(self) -> Scheme:
        return make_scheme(
            self.group_threshold,
            [(group.threshold, len(group.custodians)) for group in self.groups],
            [group.name for group in self.groups],
        )

    def custodians(self) -> Iterator[tuple[int, int, Custodian]]:
        """(group index, member index, custodian): SLIP-39's indices, in share order."""
        for group_index, group in enumerate(self.groups):
            for member_index, custodian in enumerate(group.custodians):
                yield group_index, member_index, custodian

    def tokens(self) -> list[str]:
        """Every token the plan names, in order of first mention."""
        labels = [c.delivery.token for _, _, c in self.custodians() if c.delivery.token]
        if self.signing:
            labels.append(self.signing.token)
        return list(dict.fromkeys(labels))

    def where(self, line: int) -> str:
        return f"{self.source_name} line {line}"


def parse(text: str, source_name: str = "plan") -> Plan:
    """Parse and check a plan; raises `InvalidInput` naming the line of the first mistake."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        where = re.search(r" \(at line (\d+), column (\d+)\)$", str(error))
        if where is None:
            raise InvalidInput(f"{source_name}: not valid TOML: {error}") from None
        message = str(error)[: where.start()]
        raise InvalidInput(f"{source_name} line {where.group(1)}: not valid TOML: {message} (column {where.group(2)})") from None
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise InvalidInput(f"{source_name}: not valid TOML: arrays or tables nested too deeply") from None
    except ValueError:  # tomllib's int() of more digits than Python converts (sys.get_int_max_str_digits)
        raise InvalidInput(f"{source_name}: not valid TOML: a number has too many digits") from None
    reader = _Reader(source_name, _Lines(text))
    return reader.plan(document)


def folder_name(name: str) -> str:
    """'Carol O'Neil' -> 'carol-o-neil': a folder name that is safe on any file system."""
    return re.sub(r"[^0-9a-z]+", "-", name.casefold()).strip("-")


class _Lines:
    """Finds the line of a table or key in the plan's text, so errors can name it.

    tomllib keeps no positions; plans are written in the plain style of the template
    (headers like [[group]] and `key = value` lines), which this follows. For other
    layouts it falls back to the nearest enclosing table it can find.
    """

    _ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\-]+)\s*\]\]")
    _TABLE_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")

    def __init__(self, text: str) -> None:
        self._where: dict[tuple[Any, ...], int] = {}
        counts: dict[tuple[Any, ...], int] = {}
        table: tuple[Any, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            if match := self._ARRAY_HEADER.match(line):
                parent = self._parent(table, match.group(1).split("."))
                index = counts.get(parent, 0)
                counts[parent] = index + 1
                table = parent + (index,)
            elif match := self._TABLE_HEADER.match(line):
                table = tuple(match.group(1).split("."))
            elif match := self._KEY.match(line):
                self._where.setdefault(table + (match.group(1),), number)
                continue
            else:
                continue
            self._where.setdefault(table, number)

    @staticmethod
    def _parent(table: tuple[Any, ...], names: list[str]) -> tuple[Any, ...]:
        """[[group.custodian]] inside the 2nd [[group]] is ('group', 1, 'custodian')."""
        path: tuple[Any, ...] = ()
        for name in names[:-1]:
            path += (name,)
            if len(table) > len(path) and table[: len(path)] == path and isinstance(table[len(path)], int):
                path += (table[len(path)],)
        return path + (names[-1],)

    def of(self, path: tuple[Any, ...]) -> int:
        for end in range(len(path), 0, -1):
            if path[:end] in self._where:
                return self._where[path[:end]]
        return 1


class _Reader:
    def __init__(self, source_name: str, lines: _Lines) -> None:
        self.source_name = source_name
        self.lines = lines

    def fail(self, path: tuple[Any, ...], message: str, *hints: str) -> InvalidInput:
        return InvalidInput(f"{self.source_name} line {self.lines.of(path)}: {message}", *hints)

    def table(self, document: dict[str, Any], path: tuple[Any, ...], allowed: tuple[str, ...]) -> dict[str, Any]:
        for key in document:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                raise self.fail(
                    path + (key,),
                    f"unknown key {_quoted(key)} in {_table_name(path)}",
                    f'did you mean "{close[0]}"?' if close else f"allowed here: {', '.join(allowed)}",
                )
        return document

    def value(self, document: dict[str, Any], path: tuple[Any, ...], key: str, kind: type, default: Any = ...) -> Any:
        if key not in document:
            if default is ...:
                raise self.fail(path, f'{_table_name(path)} needs "{key}"')
            return default
        item = document[key]
        if not isinstance(item, kind) or (kind is int and isinstance(item, bool)):
            raise self.fail(path + (key,), f"{key} should be {_TYPE_NAMES[kind]}")
        return item

    def name(self, document: dict[str, Any], path: tuple[Any, ...], key: str = "name") -> str:
        text = self.value(document, path, key, str)
        if not text.strip() or len(text) > MAX_NAME_LENGTH or not text.isprintable():
            raise self.fail(path + (key,), f"{key} must be 1 to {MAX_NAME_LENGTH} printable characters on one line")
        return text.strip()

    def plan(self, document: dict[str, Any]) -> Plan:
        self.table(document, (), ("format", "ceremony", "secret", "slip39", "policy", "signing", "group"))
        if self.value(document, (), "format", str) != FORMAT:
            raise self.fail(("format",), f'format is {_quoted(document["format"])}; this coldvault reads "{FORMAT}"')
        ceremony = self.table(self.value(document, (), "ceremony", dict), ("ceremony",), ("name", "operator", "witnesses"))
        source, bits = self.secret(self.value(document, (), "secret", dict))
        slip39 = self.table(
            self.value(document, (), "slip39", dict, {}), ("slip39",),
            ("group_threshold", "passphrase", "iteration_exponent", "extendable"),
        )
        policy = self.table(self.value(document, (), "policy", dict, {}), ("policy",), ("drill_interval_days",))
        groups = self.groups(self.value(document, (), "group", list))
        plan = Plan(
            source_name=self.source_name,
            name=self.name(ceremony, ("ceremony",)),
            operator=self.name(ceremony, ("ceremony",), "operator"),
            witnesses=self.witnesses(ceremony),
            secret_source=source,
            secret_bits=bits,
            group_threshold=self.value(slip39, ("slip39",), "group_threshold", int, 1 if len(groups) == 1 else ...),
            passphrase=self.value(slip39, ("slip39",), "passphrase", bool, False),
            iteration_exponent=self.value(slip39, ("slip39",), "iteration_exponent", int, 1),
            extendable=self.value(slip39, ("slip39",), "extendable", bool, True),
            drill_interval_days=self.value(policy, ("policy",), "drill_interval_days", int, DEFAULT_DRILL_INTERVAL_DAYS),
            groups=groups,
            signing=self.signing(document.get("signing")),
        )
        self.check(plan)
        return plan

    def witnesses(self, ceremony: dict[str, Any]) -> tuple[str, ...]:
        names = self.value(ceremony, ("ceremony",), "witnesses", list, [])
        path = ("ceremony", "witnesses")
        if not all(isinstance(name, str) for name in names):
            raise self.fail(path, "witnesses should be a list of names")
        witnesses = tuple(self.name({"witness": name}, path, "witness") for name in names)
        if len({name.casefold() for name in witnesses}) < len(witnesses):
            raise self.fail(path, "a witness is named twice")
        return witnesses

    def secret(self, secret: dict[str, Any]) -> tuple[str, int]:
        path = ("secret",)
        self.table(secret, path, ("source", "bits"))
        source = self.value(secret, path, "source", str)
        if source not in SOURCE_BITS:
            raise self.fail(path + ("source",), f"secret source {_quoted(source)} is unknown", f"use one of: {', '.join(SOURCE_BITS)}")
        bits = self.value(secret, path, "bits", int)
        if bits not in SOURCE_BITS[source]:
            choices = SOURCE_BITS[source]
            raise self.fail(
                path + ("bits",), f"{bits} bits is not a strength for source {source}",
                f"use {', '.join(map(str, choices))}" if len(choices) < 10 else f"use {choices[0]} to {choices[-1]} in steps of 16",
            )
        return source, bits

    def groups(self, documents: list[Any]) -> tuple[Group, ...]:
        if not documents:
            raise self.fail(("group",), "the plan has no [[group]]")
        if len(documents) > MAX_GROUP_COUNT:
            raise self.fail(("group", MAX_GROUP_COUNT), f"{len(documents)} groups; SLIP-39 allows at most {MAX_GROUP_COUNT}")
        return tuple(self.group(document, ("group", index)) for index, document in enumerate(documents))

    def group(self, document: Any, path: tuple[Any, ...]) -> Group:
        if not isinstance(document, dict):
            raise self.fail(path, "each group should be a [[group]] table")
        self.table(document, path, ("name", "threshold", "custodian"))
        custodians = self.value(document, path, "custodian", list)
        if not all(isinstance(item, dict) for item in custodians):
            raise self.fail(path + ("custodian",), "each custodian should be a [[group.custodian]] table")
        return Group(
            name=self.name(document, path),
            threshold=self.value(document, path, "threshold", int),
            custodians=tuple(self.custodian(item, path + ("custodian", index)) for index, item in enumerate(custodians)),
            line=self.lines.of(path),
        )

    def custodian(self, document: dict[str, Any], path: tuple[Any, ...]) -> Custodian:
        self.table(document, path, ("name", "delivery", "token", "key", "public_key", "oaep_hash"))
        name = self.name(document, path)
        kind = self.value(document, path, "delivery", str)
        if kind not in DELIVERIES:
            raise self.fail(path + ("delivery",), f'custodian "{name}": delivery {_quoted(kind)} is unknown', f"use one of: {', '.join(DELIVERIES)}")
        fields = {key: self.value(document, path, key, str, None) for key in ("token", "key", "public_key", "oaep_hash")}
        delivery = Delivery(kind, **fields)
        self.delivery(name, delivery, path)
        if not folder_name(name):
            raise self.fail(path + ("name",), f'custodian "{name}": the name needs at least one letter or digit a-z, 0-9')
        return Custodian(name, folder_name(name), delivery, self.lines.of(path))

    def delivery(self, name: str, delivery: Delivery, path: tuple[Any, ...]) -> None:
        """Which keys each delivery needs, and which it must not have."""
        needed = {PAPER: (), ev.KIND_TOKEN_AES: ("token", "key"), ev.KIND_ECDH_P256: ("public_key",), ev.KIND_RSA_OAEP: ("public_key",)}
        allowed = {
            PAPER: (), ev.KIND_TOKEN_AES: ("token", "key"),
            ev.KIND_ECDH_P256: ("public_key", "token"), ev.KIND_RSA_OAEP: ("public_key", "token", "oaep_hash"),
        }
        for key in needed[delivery.kind]:
            if getattr(delivery, key) is None:
                raise self.fail(path, f'custodian "{name}": delivery {delivery.kind} needs "{key}"')
        for key in ("token", "key", "public_key", "oaep_hash"):
            if getattr(delivery, key) is not None and key not in allowed[delivery.kind]:
                raise self.fail(path + (key,), f'custodian "{name}": "{key}" does not apply to delivery {delivery.kind}')
        if delivery.oaep_hash is not None and delivery.oaep_hash not in ev.OAEP_HASHES:
            raise self.fail(path + ("oaep_hash",), f'custodian "{name}": oaep_hash must be one of {", ".join(ev.OAEP_HASHES)}')

    def signing(self, document: Any) -> Signing | None:
        if document is None:
            return None
        path = ("signing",)
        if not isinstance(document, dict):
            raise self.fail(path, "signing should be a table: [signing] with token and key")
        self.table(document, path, ("token", "key"))
        return Signing(self.value(document, path, "token", str), self.value(document, path, "key", str), self.lines.of(path))

    def check(self, plan: Plan) -> None:
        """Rules across fields: thresholds, sizes, duplicates."""
        groups = plan.groups
        if not 1 <= plan.group_threshold <= len(groups):
            raise self.fail(
                ("slip39", "group_threshold"),
                f"group_threshold {plan.group_threshold} with {len(groups)} group{'s' if len(groups) > 1 else ''}",
                f"it must be between 1 and the number of groups ({len(groups)})",
            )
        if not 0 <= plan.iteration_exponent <= ITERATION_EXPONENT_MAX:
            raise self.fail(("slip39", "iteration_exponent"), f"iteration_exponent must be 0 to {ITERATION_EXPONENT_MAX}")
        if not 1 <= plan.drill_interval_days <= MAX_DRILL_INTERVAL_DAYS:
            raise self.fail(("policy", "drill_interval_days"), f"drill_interval_days must be 1 to {MAX_DRILL_INTERVAL_DAYS} (ten years)")
        group_names: set[str] = set()
        folders: dict[str, str] = {}
        for index, group in enumerate(groups):
            self.check_group(index, group)
            if group.name.casefold() in group_names:
                raise self.fail(("group", index, "name"), f'group "{group.name}" is named twice')
            group_names.add(group.name.casefold())
            for member, custodian in enumerate(group.custodians):
                if custodian.folder in folders:
                    raise self.fail(
                        ("group", index, "custodian", member, "name"),
                        f'duplicate custodian "{custodian.name}" (same as "{folders[custodian.folder]}")',
                        "each custodian holds one share; name each person once",
                    )
                folders[custodian.folder] = custodian.name

    def check_group(self, index: int, group: Group) -> None:
        count_ok = 1 <= len(group.custodians) <= MAX_MEMBER_COUNT
        path = ("group", index, "threshold") if count_ok else ("group", index)
        try:
            check_group(f'group "{group.name}"', group.threshold, len(group.custodians), "custodians")
        except InvalidInput as error:
            raise self.fail(path, error.message, *error.hints) from None


def _quoted(text: str) -> str:
    """A string from the plan, quoted for a message: `"dice"`, with control characters escaped.

    Messages reach a terminal; an escape sequence in a plan must not reach it raw.
    """
    return json.dumps(text)


def _table_name(path: tuple[Any, ...]) -> str:
    names = [str(part) for part in path if isinstance(part, str)]
    return f"[{'.'.join(names)}]" if names else "the plan's top level"


_TYPE_NAMES = {str: "a string in quotes", int: "a whole number", bool: "true or false", dict: "a table", list: "a list"}
