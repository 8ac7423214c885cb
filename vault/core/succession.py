"""Successions: a revision's word that it has a successor, signed by a key only its holders have (docs/history.md).

`extend` writes revision n+1 of a vault into a new folder; `rotate` writes a new
vault. Either way the predecessor's folder stays as it was, so without a word from
it nothing would stop a second successor of the same revision (two extends of one
revision give two new custodians the very same share) or tell a monitoring host
that a rotated vault is retired. The writer therefore leaves a `successor.json` in
the predecessor's folder, under its lock, and a rotation also records the same
statement in the new vault's transcript (`rotation-signed`).

A statement is signed by the predecessor's key that made the successor: the vault
key (a rotation recovered the seed) or the extended group's key (an extension
rebuilt that group's secret). Who can write into a folder can delete the file, so
its absence proves nothing; its presence, verified, does.

Pure: statements in and out as dicts; `CheckFailed` names the file.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any

from vault.core import attestation
from vault.core.attestation import SigningKey
from vault.core.formats import fields
from vault.core.formats.fields import Fields, JsonPath
from vault.core.formats.manifest import Manifest
from vault.errors import CheckFailed, InvalidInput

FORMAT = "coldvault-successor/1"
DOMAIN = FORMAT.encode("ascii") + b"\x00"


class Kind(enum.StrEnum):
    EXTEND = "extend"
    ROTATE = "rotate"


@dataclass(frozen=True)
class Statement:
    """A predecessor's word: the revision whose manifest is `predecessor_manifest_sha256` is followed by this one."""

    kind: Kind
    predecessor_ceremony_id: str
    predecessor_manifest_sha256: str
    successor_ceremony_id: str
    successor_manifest_sha256: str
    successor_revision: int
    successor_vault_key_sha256: str | None
    group_index: int | None
    """The extended group (its key signs); None for a rotation (the vault key signs)."""
    time: str
    public_key: str
    """The signer's Ed25519 key (base64): the predecessor's vault key or group key."""
    signature: str = ""


MEMBERS = ("format", *(name for name in Statement.__dataclass_fields__), "place")


def sign(unsigned: Statement, key: SigningKey) -> Statement:
    """The statement signed by `key` (whose public key it must name)."""
    if unsigned.public_key != key.public_key:
        raise ValueError("a statement names the key that signs it")
    return Statement(**{**asdict(unsigned), "signature": key.sign(_message(unsigned))})


def to_data(statement: Statement) -> dict[str, Any]:
    return {**asdict(statement), "kind": statement.kind.value}


def to_json(statement: Statement, place: str) -> str:
    """`successor.json`: the statement, and where the successor was written (not signed: a copy may move)."""
    return fields.pretty({"format": FORMAT, **to_data(statement), "place": place}, ascii_only=True)


def from_data(document: dict[str, Any], name: str) -> Statement:
    """A statement read strictly (as `successor.json` or a `rotation-signed` event holds it), its signature not yet checked."""
    read = Fields(document, JsonPath("", FORMAT, f"{name}: ", CheckFailed))
    kind = read.string("kind")
    if kind not in {k.value for k in Kind}:
        raise read.fail("kind", "should be extend or rotate")
    return Statement(
        kind=Kind(kind),
        predecessor_ceremony_id=read.string("predecessor_ceremony_id"),
        predecessor_manifest_sha256=read.hex("predecessor_manifest_sha256", 64),
        successor_ceremony_id=read.string("successor_ceremony_id"),
        successor_manifest_sha256=read.hex("successor_manifest_sha256", 64),
        successor_revision=read.integer("successor_revision", 1, fields.MAX_SAFE_INTEGER),
        successor_vault_key_sha256=read.hex("successor_vault_key_sha256", 64, null=True),
        group_index=read.integer("group_index", 0, 15, null=True),
        time=read.time("time"),
        public_key=read.string("public_key"),
        signature=read.string("signature"),
    )


def from_json(text: str, name: str) -> tuple[Statement, str]:
    """`successor.json`: the statement and the place it names; anything the format does not specify is refused."""
    try:
        document = fields.load_object(text, "a successor statement")
    except InvalidInput as error:  # a corrupt statement is a failed check of the vault, as a corrupt signature file is
        raise CheckFailed(f"{name}: {error.message}") from None
    if document.get("format") != FORMAT:
        raise CheckFailed(f"{name}: unknown format {document.get('format')!r}; this coldvault reads {FORMAT}")
    Fields(document, JsonPath("", FORMAT, f"{name}: ", CheckFailed)).only(MEMBERS)
    place = document.get("place")
    if not isinstance(place, str):
        raise CheckFailed(f"{name}: place should be a string")
    return from_data({k: v for k, v in document.items() if k not in ("format", "place")}, name), place


def check(statement: Statement, predecessor: Manifest, predecessor_sha256: str, name: str) -> None:
    """The statement is about this predecessor and signed by its key (vault key for a rotation, the group's for an
    extension); else `CheckFailed` naming `name`."""
    if statement.predecessor_manifest_sha256 != predecessor_sha256 or statement.predecessor_ceremony_id != predecessor.ceremony.id:
        raise CheckFailed(f"{name}: it names another revision as its predecessor ({statement.predecessor_manifest_sha256}), "
                          f"not this manifest ({predecessor_sha256})")
    expected = _signer(statement, predecessor)
    if expected is None or statement.public_key != expected:
        raise CheckFailed(f"{name}: signed by a key this vault's manifest does not list for a {statement.kind.value}")
    if not attestation.verifies(statement.public_key, statement.signature, _message(statement)):
        raise CheckFailed(f"{name}: the signature does not verify: the statement was changed, or someone without the key wrote it")


def _signer(statement: Statement, predecessor: Manifest) -> str | None:
    keys = predecessor.attestation
    if keys is None:
        return None
    if statement.kind is Kind.ROTATE:
        return keys.vault_public_key if statement.group_index is None else None
    if statement.group_index is None or keys.group_public_keys is None or statement.group_index >= len(keys.group_public_keys):
        return None
    return keys.group_public_keys[statement.group_index]


def _message(statement: Statement) -> bytes:
    unsigned = {key: value for key, value in to_data(statement).items() if key != "signature"}
    return DOMAIN + fields.canonical(unsigned).encode("ascii")


def describe(statement: Statement, place: str) -> str:
    """One line: what succeeded this revision, and where."""
    if statement.kind is Kind.ROTATE:
        return f"superseded by rotation to ceremony {statement.successor_ceremony_id} on {statement.time[:10]}, at {place}"
    return f"extended on {statement.time[:10]} to revision {statement.successor_revision}, at {place}"
