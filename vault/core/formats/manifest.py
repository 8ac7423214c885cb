"""The public manifest (`manifest.json`, format `coldvault-manifest/1`).

It says what a vault is without holding anything secret: the scheme, who holds
which share (by fingerprint), and the secret's fingerprints, so that any later
recovery or drill can prove it got the same secret. Field names are the spec's;
docs/formats.md describes them. The reader is strict about every field it uses and
names the field that is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vault.core.formats import fields as strictjson
from vault.core.secret import SecretKind
from vault.errors import InvalidInput

FORMAT = "coldvault-manifest/1"
DEFAULT_DRILL_INTERVAL_DAYS = 180
MAX_DRILL_INTERVAL_DAYS = 3660
"""Ten years: a longer interval is a typo, and date arithmetic on it would overflow."""


@dataclass(frozen=True)
class Ceremony:
    id: str
    name: str
    created: str
    """UTC, ISO 8601 with a Z, to the second."""


@dataclass(frozen=True)
class SecretInfo:
    kind: SecretKind
    bits: int
    secret_fingerprint: str
    wallet_fingerprint: str


@dataclass(frozen=True)
class GroupInfo:
    index: int
    name: str | None
    member_threshold: int
    member_count: int


@dataclass(frozen=True)
class SchemeInfo:
    identifier: int
    extendable: bool
    iteration_exponent: int
    group_threshold: int
    passphrase_protected: bool
    groups: tuple[GroupInfo, ...]


@dataclass(frozen=True)
class ShareEntry:
    group_index: int
    member_index: int
    custodian: str | None
    share_fingerprint: str
    file: str
    """Relative to the directory of the manifest that first listed the share."""
    wrapping: str | None
    issued: str | None = None
    """When `extend` made the share (UTC, like `Ceremony.created`); None: at the ceremony."""


@dataclass(frozen=True)
class Policy:
    drill_interval_days: int


@dataclass(frozen=True)
class Revision:
    """A manifest revised by `extend`: same vault and seed, more shares. The first manifest has none."""

    number: int
    """2 for the first revision; the ceremony's own manifest is revision 1."""
    created: str
    predecessor_sha256: str
    """SHA-256 of the previous manifest's file: the revisions form a hash chain."""


@dataclass(frozen=True)
class Supersedes:
    """The vault a rotation replaced: the same seed, split anew under a new ceremony."""

    ceremony_id: str
    manifest_sha256: str


@dataclass(frozen=True)
class Manifest:
    ceremony: Ceremony
    secret: SecretInfo
    scheme: SchemeInfo
    shares: tuple[ShareEntry, ...]
    policy: Policy
    revision: Revision | None = None
    supersedes: Supersedes | None = None

    @property
    def revision_number(self) -> int:
        return self.revision.number if self.revision else 1

    def group(self, index: int) -> GroupInfo | None:
        return next((group for group in self.scheme.groups if group.index == index), None)

    def share_by_fingerprint(self, fingerprint: str) -> ShareEntry | None:
        return next((share for share in self.shares if share.share_fingerprint == fingerprint), None)


def to_document(manifest: Manifest) -> dict[str, Any]:
    """The manifest as JSON-ready data, fields in the spec's order.

    The optional fields (`revision`, `supersedes`, `shares[].issued`) are left out when
    empty, so a ceremony's manifest has exactly the spec's fields.
    """
    document = {
        "format": FORMAT,
        "ceremony": vars(manifest.ceremony),
        "secret": {**vars(manifest.secret), "kind": manifest.secret.kind.value},
        "scheme": {
            **{k: v for k, v in vars(manifest.scheme).items() if k != "groups"},
            "groups": [vars(group) for group in manifest.scheme.groups],
        },
        "shares": [_without_none(vars(share), "issued") for share in manifest.shares],
        "policy": vars(manifest.policy),
    }
    if manifest.revision is not None:
        document["revision"] = vars(manifest.revision)
    if manifest.supersedes is not None:
        document["supersedes"] = vars(manifest.supersedes)
    return document


def _without_none(fields: dict[str, Any], optional: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != optional or v is not None}


def to_json(manifest: Manifest) -> str:
    """Canonical text: the spec's field order, two-space indent, trailing newline."""
    return json.dumps(to_document(manifest), indent=2, ensure_ascii=False) + "\n"


def from_json(text: str) -> Manifest:
    """Parse a manifest; raises `InvalidInput` naming the first bad field."""
    root = _Object(strictjson.load_object(text, "a manifest"), "manifest")
    if root.get("format", str) != FORMAT:
        raise InvalidInput(
            f"unknown manifest format {root.get('format', str)!r}",
            f"this coldvault reads {FORMAT}",
        )
    ceremony = root.object("ceremony")
    secret = root.object("secret")
    scheme = root.object("scheme")
    policy = root.object("policy")
    kind = secret.get("kind", str)
    if kind not in {k.value for k in SecretKind}:
        raise InvalidInput(f"manifest.secret.kind {kind!r} is neither bip39-entropy nor master-secret")
    manifest = Manifest(
        ceremony=Ceremony(ceremony.get("id", str), ceremony.get("name", str), ceremony.time("created")),
        secret=SecretInfo(
            SecretKind(kind),
            secret.get("bits", int),
            secret.hex("secret_fingerprint", 32),
            secret.hex("wallet_fingerprint", 8),
        ),
        scheme=SchemeInfo(
            identifier=scheme.get("identifier", int),
            extendable=scheme.get("extendable", bool),
            iteration_exponent=scheme.get("iteration_exponent", int),
            group_threshold=scheme.get("group_threshold", int),
            passphrase_protected=scheme.get("passphrase_protected", bool),
            groups=tuple(
                GroupInfo(
                    g.get("index", int),
                    g.get("name", str, optional=True),
                    g.get("member_threshold", int),
                    g.get("member_count", int),
                )
                for g in scheme.objects("groups")
            ),
        ),
        shares=tuple(
            ShareEntry(
                s.get("group_index", int),
                s.get("member_index", int),
                s.get("custodian", str, optional=True),
                s.hex("share_fingerprint", 32),
                s.get("file", str),
                s.get("wrapping", str, optional=True),
                s.time("issued", absent=True),
            )
            for s in root.objects("shares")
        ),
        policy=Policy(policy.get("drill_interval_days", int)),
        revision=_revision(root),
        supersedes=_supersedes(root),
    )
    _check_values(manifest)
    return manifest


def _revision(root: "_Object") -> Revision | None:
    revision = root.optional_object("revision")
    if revision is None:
        return None
    return Revision(revision.get("number", int), revision.time("created"), revision.hex("predecessor_sha256", 64))


def _supersedes(root: "_Object") -> Supersedes | None:
    supersedes = root.optional_object("supersedes")
    if supersedes is None:
        return None
    return Supersedes(supersedes.get("ceremony_id", str), supersedes.hex("manifest_sha256", 64))


def _check_values(manifest: Manifest) -> None:
    """Values a real split can have; anything else is a corrupt or hand-edited manifest."""
    scheme = manifest.scheme
    groups = scheme.groups
    rules = [
        (manifest.secret.bits >= 128 and manifest.secret.bits % 16 == 0, "secret.bits", "a multiple of 16, at least 128"),
        (0 <= scheme.identifier < 1 << 15, "scheme.identifier", "0 to 32767"),
        (0 <= scheme.iteration_exponent <= 15, "scheme.iteration_exponent", "0 to 15"),
        (1 <= len(groups) <= 16, "scheme.groups", "1 to 16 groups"),
        (1 <= scheme.group_threshold <= len(groups), "scheme.group_threshold", "1 to the number of groups"),
        ([g.index for g in groups] == list(range(len(groups))), "scheme.groups[].index", "0, 1, 2, ... in order"),
        (all(1 <= g.member_threshold <= g.member_count <= 16 for g in groups), "scheme.groups[]", "1 <= member_threshold <= member_count <= 16"),
        (all(0 <= s.group_index < len(groups) and 0 <= s.member_index < groups[s.group_index].member_count
             for s in manifest.shares), "shares[]", "indices within the scheme (member_index below its group's member_count)"),
        (len({(s.group_index, s.member_index) for s in manifest.shares}) == len(manifest.shares), "shares[]", "one entry per share"),
        (1 <= manifest.policy.drill_interval_days <= MAX_DRILL_INTERVAL_DAYS, "policy.drill_interval_days", f"1 to {MAX_DRILL_INTERVAL_DAYS}"),
        (manifest.revision is None or manifest.revision.number >= 2, "revision.number", "2 or more (the first manifest has no revision field)"),
    ]
    for holds, field_path, expected in rules:
        if not holds:
            raise InvalidInput(f"manifest.{field_path} is out of range: it must be {expected}")


class _Object:
    """A JSON object with a path, so that every error names the field."""

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise InvalidInput(f"{path} is not a JSON object")
        self.value = value
        self.path = path

    def get(self, key: str, kind: type, optional: bool = False, absent: bool = False) -> Any:
        """The value at `key`: `optional` allows null, `absent` allows the key to be left out."""
        if key not in self.value:
            if absent:
                return None
            raise InvalidInput(f"{self.path}.{key} is missing")
        item = self.value[key]
        if item is None and optional:
            return None
        # bool is a subclass of int in Python; JSON true is not a number.
        if not isinstance(item, kind) or (kind is int and isinstance(item, bool)):
            raise InvalidInput(f"{self.path}.{key} should be {_TYPE_NAMES[kind]}")
        return item

    def hex(self, key: str, digits: int) -> str:
        item = self.get(key, str)
        if len(item) != digits or any(c not in "0123456789abcdef" for c in item):
            raise InvalidInput(f"{self.path}.{key} should be {digits} lower-case hex digits")
        return item

    def time(self, key: str, absent: bool = False) -> Any:
        """A UTC time to the second, as coldvault writes it: "2026-11-21T17:55:10Z"."""
        item = self.get(key, str, absent=absent)
        if item is not None and not strictjson.is_utc_time(item):
            raise InvalidInput(f'{self.path}.{key} should be a UTC time like "2026-11-21T17:55:10Z"')
        return item

    def object(self, key: str) -> "_Object":
        return _Object(self.get(key, dict), f"{self.path}.{key}")

    def optional_object(self, key: str) -> "_Object | None":
        """The object at `key`, or None when the key is left out (a field newer than format 1's first)."""
        value = self.get(key, dict, absent=True)
        return None if value is None else _Object(value, f"{self.path}.{key}")

    def objects(self, key: str) -> list["_Object"]:
        return [_Object(item, f"{self.path}.{key}[{i}]") for i, item in enumerate(self.get(key, list))]


_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false", dict: "an object", list: "a list"}
