"""Ceremony plans (`*.toml`, format `coldvault-plan/1`): who holds what, and how.

A plan is checked completely before any secret exists, so a mistake costs nothing.
Every error names the plan file and the TOML line it is about ("plan.toml line 14:
group "Officers": threshold 4 is above its 3 custodians"). Pure: the caller reads
the file; checks that need the outside world (key files, tokens) live in
`vault.flows.packets` and `vault.flows.ceremony`, which use `Plan.where` for the same
kind of message. Which fields a delivery needs is its recipient kind's
(`vault.core.recipients`). Read through the one strict reader (`fields`), with the
plan's own way of naming a field: its line.
The format is specified in docs/plan.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vault.core import names
from vault.core.formats.fields import Fields, Step
from vault.core.formats.manifest import DEFAULT_DRILL_INTERVAL_DAYS, MAX_DRILL_INTERVAL_DAYS
from vault.core.recipients import registry
from vault.core.scheme import ITERATION_EXPONENT_MAX, MAX_GROUP_COUNT, MAX_MEMBER_COUNT, Scheme, check_group, make_scheme
from vault.core.secret import BIP39_WORD_COUNTS, GENERATE_BITS_CHOICES, MAX_SECRET_LENGTH_BYTES, SecretKind
from vault.errors import InvalidInput

FORMAT = "coldvault-plan/1"
PAPER = "paper"
DELIVERY_KEYS = ("token", "key", "public_key", "oaep_hash", "module")
"""Every key a delivery may have; which ones each kind needs and allows is the kind's (vault.core.recipients),
except `module`, which goes wherever `token` does: the PKCS#11 library that has the token."""
MAX_NAME_LENGTH = names.MAX_NAME_LENGTH


class SecretSource(enum.StrEnum):
    """Where a ceremony's secret comes from: `[secret] source`."""

    GENERATE = "generate"
    BIP39 = "bip39"
    MASTER_SECRET = "master-secret"

    @property
    def kind(self) -> SecretKind:
        """The kind of secret it gives: a BIP-39 mnemonic's entropy, or a master secret."""
        return SecretKind.BIP39_ENTROPY if self is SecretSource.BIP39 else SecretKind.MASTER_SECRET

    @property
    def flag(self) -> str:
        """The `ceremony run` flag that brings its secret (or none: a hidden prompt)."""
        return {SecretSource.GENERATE: "--generate", SecretSource.BIP39: "--bip39-file", SecretSource.MASTER_SECRET: "--secret-file"}[self]

    @property
    def strengths(self) -> tuple[int, ...]:
        """The bits a plan may ask of it."""
        if self is SecretSource.GENERATE:
            return GENERATE_BITS_CHOICES
        if self is SecretSource.BIP39:
            return tuple(count * 32 // 3 for count in BIP39_WORD_COUNTS)
        return tuple(range(128, MAX_SECRET_LENGTH_BYTES * 8 + 1, 16))


@dataclass(frozen=True)
class Delivery:
    """How a custodian's share leaves the ceremony: a paper card, or sealed to a token."""

    kind: str
    token: str | None = None
    key: str | None = None
    public_key: str | None = None
    """A PEM or DER file, relative to the plan's directory."""
    oaep_hash: str | None = None
    module: str | None = None
    """The PKCS#11 library that has the token (a path, relative to the plan's directory); None: the command's modules."""

    @property
    def sealed(self) -> bool:
        return self.kind != PAPER


@dataclass(frozen=True)
class Custodian:
    name: str
    folder: str
    """The custodian's folder under `custodians/`, unique in the plan (`names.folders`)."""
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
    module: str | None = None
    """The PKCS#11 library that has the signing token, as for a delivery."""


@dataclass(frozen=True)
class Plan:
    source_name: str
    name: str
    operator: str
    witnesses: tuple[str, ...]
    secret_source: SecretSource
    secret_bits: int
    group_threshold: int
    passphrase: bool
    iteration_exponent: int
    extendable: bool
    drill_interval_days: int
    groups: tuple[Group, ...]
    signing: Signing | None
    card_qr: bool = False
    """`[cards] qr`: every paper custodian's card also carries the share as a QR code."""

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

    def modules(self) -> dict[str, str]:
        """The PKCS#11 library the plan names for a token, by the token's label (paths as written)."""
        named = [(c.delivery.token, c.delivery.module) for _, _, c in self.custodians()]
        if self.signing is not None:
            named.append((self.signing.token, self.signing.module))
        return {token: module for token, module in named if token and module}

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


class _PlanLocator:
    """Names a plan's fields by their TOML line, and tables as the plan writes them ("[group.custodian]")."""

    def __init__(self, source_name: str, lines: _Lines) -> None:
        self.source_name = source_name
        self.lines = lines

    def subject(self, path: tuple[Step, ...]) -> str:
        return str(path[-1]) if path and isinstance(path[-1], str) else _table_name(path)

    def missing(self, path: tuple[Step, ...]) -> str:
        return f'{_table_name(path[:-1])} needs "{path[-1]}"'

    def unknown(self, path: tuple[Step, ...], allowed: Sequence[str]) -> tuple[str, str]:
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        hint = f'did you mean "{close[0]}"?' if close else f"allowed here: {', '.join(allowed)}"
        return f"unknown key {_quoted(str(path[-1]))} in {_table_name(path[:-1])}", hint

    def error(self, path: tuple[Step, ...], message: str, *hints: str) -> InvalidInput:
        return InvalidInput(f"{self.source_name} line {self.lines.of(path)}: {message}", *hints)


class _Table(Fields):
    """A TOML table: the shared reader, with TOML's word for an object."""

    TYPE_NAMES = {**Fields.TYPE_NAMES, str: "a string in quotes", dict: "a table"}


class _Reader:
    def __init__(self, source_name: str, lines: _Lines) -> None:
        self.source_name = source_name
        self.lines = lines
        self.locator = _PlanLocator(source_name, lines)

    def fail(self, path: tuple[Step, ...], message: str, *hints: str) -> InvalidInput:
        return self.locator.error(path, message, *hints)

    def name(self, table: Fields, key: str = "name") -> str:
        """A name as `names.check` accepts it (NFC, printable, one script per word), or the error on its line."""
        text = table.string(key)
        if not text.strip() or len(text) > MAX_NAME_LENGTH or not text.isprintable():
            raise table.fail(key, f"must be 1 to {MAX_NAME_LENGTH} printable characters on one line")
        try:
            return names.check(text)
        except InvalidInput as error:
            raise table.fail(key, f"{_quoted(text.strip())}: {error.message}", *error.hints) from None

    def plan(self, document: dict[str, Any]) -> Plan:
        root = _Table(document, self.locator).only(("format", "ceremony", "secret", "slip39", "policy", "signing", "group", "cards"))
        if root.string("format") != FORMAT:
            raise root.fail("format", f'is {_quoted(document["format"])}; this coldvault reads "{FORMAT}"')
        ceremony = root.object("ceremony").only(("name", "operator", "witnesses"))
        source, bits = self.secret(root.object("secret"))
        slip39 = root.object("slip39", empty=True).only(("group_threshold", "passphrase", "iteration_exponent", "extendable"))
        policy = root.object("policy", empty=True).only(("drill_interval_days",))
        cards = root.object("cards", empty=True).only(("qr",))
        groups = self.groups(root)
        plan = Plan(
            source_name=self.source_name,
            name=self.name(ceremony),
            operator=self.name(ceremony, "operator"),
            witnesses=self.witnesses(ceremony),
            secret_source=source,
            secret_bits=bits,
            group_threshold=slip39.integer("group_threshold", default=1) if len(groups) == 1 else slip39.integer("group_threshold"),
            passphrase=slip39.boolean("passphrase", default=False),
            iteration_exponent=slip39.integer("iteration_exponent", default=1),
            extendable=slip39.boolean("extendable", default=True),
            drill_interval_days=policy.integer("drill_interval_days", default=DEFAULT_DRILL_INTERVAL_DAYS),
            groups=groups,
            signing=self.signing(root),
            card_qr=cards.boolean("qr", default=False),
        )
        self.check(plan)
        return plan

    def witnesses(self, ceremony: Fields) -> tuple[str, ...]:
        listed = ceremony.get("witnesses", list, default=[])
        if not all(isinstance(name, str) for name in listed):
            raise ceremony.fail("witnesses", "should be a list of names")
        path = (*ceremony.path, "witnesses")
        witnesses = tuple(self.name(_Table({"witness": name}, self.locator, path), "witness") for name in listed)
        for index, witness in enumerate(witnesses):
            if (other := names.lookalike(witness, witnesses[:index])) is not None:
                raise self.fail(path, f'a witness is named twice: "{witness}" looks the same as "{other}"')
        return witnesses

    def secret(self, secret: Fields) -> tuple[SecretSource, int]:
        secret.only(("source", "bits"))
        name = secret.string("source")
        if name not in tuple(SecretSource):
            raise self.fail((*secret.path, "source"), f"secret source {_quoted(name)} is unknown", f"use one of: {', '.join(SecretSource)}")
        source = SecretSource(name)
        bits = secret.integer("bits")
        if bits not in source.strengths:
            choices = source.strengths
            raise self.fail(
                (*secret.path, "bits"), f"{bits} bits is not a strength for source {source}",
                f"use {', '.join(map(str, choices))}" if len(choices) < 10 else f"use {choices[0]} to {choices[-1]} in steps of 16",
            )
        return source, bits

    def groups(self, root: Fields) -> tuple[Group, ...]:
        documents = root.get("group", list)
        if not documents:
            raise self.fail(("group",), "the plan has no [[group]]")
        if len(documents) > MAX_GROUP_COUNT:
            raise self.fail(("group", MAX_GROUP_COUNT), f"{len(documents)} groups; SLIP-39 allows at most {MAX_GROUP_COUNT}")
        if not all(isinstance(document, dict) for document in documents):
            raise self.fail(("group",), "each group should be a [[group]] table")
        groups = tuple(self.group(_Table(document, self.locator, ("group", index))) for index, document in enumerate(documents))
        folders = iter(names.folders([custodian.name for group in groups for custodian in group.custodians]))
        return tuple(dataclasses.replace(group, custodians=tuple(dataclasses.replace(custodian, folder=next(folders))
                                                                 for custodian in group.custodians)) for group in groups)

    def group(self, group: Fields) -> Group:
        group.only(("name", "threshold", "custodian"))
        custodians = group.get("custodian", list)
        if not all(isinstance(item, dict) for item in custodians):
            raise self.fail((*group.path, "custodian"), "each custodian should be a [[group.custodian]] table")
        return Group(
            name=self.name(group),
            threshold=group.integer("threshold"),
            custodians=tuple(self.custodian(_Table(item, self.locator, (*group.path, "custodian", index)))
                             for index, item in enumerate(custodians)),
            line=self.lines.of(group.path),
        )

    def custodian(self, custodian: Fields) -> Custodian:
        custodian.only(("name", "delivery", *DELIVERY_KEYS))
        name = self.name(custodian)
        kind = custodian.string("delivery")
        deliveries = (PAPER, *registry.names())
        if kind not in deliveries:
            raise self.fail((*custodian.path, "delivery"), f'custodian "{name}": delivery {_quoted(kind)} is unknown',
                            f"use one of: {', '.join(deliveries)}")
        delivery = Delivery(kind, **{key: custodian.string(key, absent=True) for key in DELIVERY_KEYS})
        self.delivery(name, delivery, custodian)
        return Custodian(name, names.folder(name), delivery, self.lines.of(custodian.path))

    def delivery(self, name: str, delivery: Delivery, custodian: Fields) -> None:
        """Which keys each delivery needs, which it may have, and their values: as its recipient kind declares."""
        if delivery.kind == PAPER:
            needs: tuple[str, ...] = ()
            allows: tuple[str, ...] = ()
            choices: Mapping[str, tuple[str, ...]] = {}
        else:
            kind = registry.by_name(delivery.kind)
            needs, allows, choices = kind.plan_needs, kind.plan_allows, kind.plan_choices
            allows = (*allows, "module") if "token" in allows else allows
        for key in needs:
            if getattr(delivery, key) is None:
                raise self.fail(custodian.path, f'custodian "{name}": delivery {delivery.kind} needs "{key}"')
        for key in DELIVERY_KEYS:
            value = getattr(delivery, key)
            if value is not None and key not in allows:
                raise self.fail((*custodian.path, key), f'custodian "{name}": "{key}" does not apply to delivery {delivery.kind}')
            if value is not None and key in choices and value not in choices[key]:
                raise self.fail((*custodian.path, key), f'custodian "{name}": {key} must be one of {", ".join(choices[key])}')
        if delivery.module is not None and delivery.token is None:
            raise self.fail((*custodian.path, "module"), f'custodian "{name}": "module" names the library of a token: give "token" too')

    def signing(self, root: Fields) -> Signing | None:
        if "signing" in root.value and not isinstance(root.value["signing"], dict):
            raise root.fail("signing", "should be a table: [signing] with token and key")
        signing = root.object("signing", absent=True)
        if signing is None:
            return None
        signing.only(("token", "key", "module"))
        # Labels, never empty: the transcript records them, and its readers refuse an empty one (docs/transcript.md).
        return Signing(signing.string("token", nonempty=True), signing.string("key", nonempty=True), self.lines.of(signing.path),
                       signing.string("module", absent=True, nonempty=True))

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
        self.check_modules(plan)
        seen: dict[str, int] = {}  # custodians' names so far, and their lines
        for index, group in enumerate(groups):
            self.check_group(index, group)
            if (twin := names.lookalike(group.name, [g.name for g in groups[:index]])) is not None:
                same = "" if names.same(twin, group.name) else f' (it looks the same as "{twin}")'
                raise self.fail(("group", index, "name"), f'group "{group.name}" is named twice{same}')
            for member, custodian in enumerate(group.custodians):
                path = ("group", index, "custodian", member, "name")
                if (twin := names.twin(custodian.name, seen)) is not None:
                    raise self.fail(path, f'duplicate custodian "{custodian.name}": the same name as "{twin}" (line {seen[twin]}) '
                                          f'{names.SAME_NAME_RULE}',
                                    "each custodian holds one share: name each person once; two people need names that differ in letters")
                if (twin := names.lookalike(custodian.name, seen)) is not None:
                    raise self.fail(path, f'custodian "{custodian.name}" looks the same as "{twin}" (line {seen[twin]})',
                                    "each custodian holds one share; name each person so that no two names can be mistaken")
                seen[custodian.name] = self.lines.of(path)

    def check_modules(self, plan: Plan) -> None:
        """A token lives in one PKCS#11 library: the plan may not name two for it."""
        named: dict[str, str] = {}
        places: list[tuple[tuple[Step, ...], str | None, str | None]] = [
            (("group", g, "custodian", m, "module"), c.delivery.token, c.delivery.module)
            for g, group in enumerate(plan.groups) for m, c in enumerate(group.custodians)]
        if plan.signing is not None:
            places.append((("signing", "module"), plan.signing.token, plan.signing.module))
        for path, token, module in places:
            if token is None or module is None:
                continue
            if named.setdefault(token, module) != module:
                raise self.fail(path, f'token "{token}" is given two modules: {_quoted(named[token])} and {_quoted(module)}',
                                "a token is in one PKCS#11 library: name the same module wherever the token appears")

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

