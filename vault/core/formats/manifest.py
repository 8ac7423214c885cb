"""The public manifest (`manifest.json`, format `coldvault-manifest/1`).

It says what a vault is without holding anything secret: the scheme, who holds
which share (by fingerprint), and the secret's fingerprints, so that any later
recovery or drill can prove it got the same secret. Field names are the spec's;
docs/formats.md describes them. The reader is strict about every field it uses and
names the field that is wrong.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from vault.core.attestation import ALGORITHM as ATTESTATION_ALGORITHM
from vault.core.attestation import PUBLIC_KEY_LENGTH_BYTES, key_sha256
from vault.core.formats import fields
from vault.core.formats.fields import Fields, JsonPath
from vault.core.secret import SecretKind
from vault.errors import InvalidInput

FORMAT = "coldvault-manifest/2"
"""Version 2 adds attestation keys (docs/attestation.md) and whether each share was proven when issued."""
FORMAT_V1 = "coldvault-manifest/1"
"""Manifests made before attestation: still read; their drill checks are unattested."""
FORMATS = (FORMAT_V1, FORMAT)
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
    attestation_public_key: str | None = None
    """Base64 of the share's Ed25519 attestation key (vault.core.attestation); None in older manifests."""
    proven: bool = True
    """False when the share's envelope could not be opened when it was made (its token was not
    there): it does not count as checked until a drill opens it."""
    replaced: str | None = None
    """When `extend --replaces` gave its custodian's place to a new share (UTC): it no longer counts for readiness
    (it still recovers the seed with others: only `rotate` revokes)."""


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
class AttestationKeys:
    """How the vault's drill checks are attested, and the vault's own key (from the secret)."""

    algorithm: str
    vault_public_key: str
    """Base64 of the vault's Ed25519 attestation key."""
    group_public_keys: tuple[str, ...] | None = None
    """Base64 of each group's Ed25519 key, in group order (docs/history.md); None in vaults made before seals."""


@dataclass(frozen=True)
class Manifest:
    ceremony: Ceremony
    secret: SecretInfo
    scheme: SchemeInfo
    shares: tuple[ShareEntry, ...]
    policy: Policy
    revision: Revision | None = None
    supersedes: Supersedes | None = None
    attestation: AttestationKeys | None = None
    """None in manifests made before attestation (format 1)."""

    @property
    def vault_key_sha256(self) -> str | None:
        """The vault's identity (docs/history.md): its vault key's SHA-256; None for a vault made before attestation."""
        return key_sha256(self.attestation.vault_public_key) if self.attestation else None

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
    empty, so a ceremony's manifest has exactly the spec's fields. A manifest with
    attestation keys is format 2; one without (an older vault, revised) stays format 1.
    """
    document: dict[str, Any] = {
        "format": FORMAT if manifest.attestation else FORMAT_V1,
        "ceremony": vars(manifest.ceremony),
        "secret": {**vars(manifest.secret), "kind": manifest.secret.kind.value},
        "scheme": {
            **{k: v for k, v in vars(manifest.scheme).items() if k != "groups"},
            "groups": [vars(group) for group in manifest.scheme.groups],
        },
        "shares": [_share_document(share, manifest.attestation is not None) for share in manifest.shares],
        "policy": vars(manifest.policy),
    }
    if manifest.attestation is not None:
        document["attestation"] = {key: list(value) if isinstance(value, tuple) else value
                                   for key, value in vars(manifest.attestation).items() if value is not None}
    if manifest.revision is not None:
        document["revision"] = vars(manifest.revision)
    if manifest.supersedes is not None:
        document["supersedes"] = vars(manifest.supersedes)
    return document


def _share_document(share: ShareEntry, attested: bool) -> dict[str, Any]:
    """A share's fields; `issued` and the attestation key only when there is one; `proven` always in
    format 2, and in format 1 only when false (a share `extend` added to an older vault)."""
    return {key: value for key, value in vars(share).items()
            if (value is not None or key not in ("issued", "attestation_public_key", "replaced")) and (key != "proven" or attested or not value)}


def to_json(manifest: Manifest) -> str:
    """Canonical text: the spec's field order, two-space indent, trailing newline."""
    return fields.pretty(to_document(manifest))


def from_json(text: str) -> Manifest:
    """Parse a manifest; raises `InvalidInput` naming the first bad field.

    Fields this version does not know are ignored, so that a newer coldvault's
    optional additions do not lock out an older reader; every field it uses is checked.
    """
    root = Fields(fields.load_object(text, "a manifest"), LOCATOR)
    version = root.string("format")
    if version not in FORMATS:
        raise InvalidInput(f"unknown manifest format {version!r}", f"this coldvault reads {' and '.join(FORMATS)}")
    current = version == FORMAT
    ceremony, secret, scheme = root.object("ceremony"), root.object("secret"), root.object("scheme")
    kind = secret.string("kind")
    if kind not in {k.value for k in SecretKind}:
        raise InvalidInput(f"manifest.secret.kind {kind!r} is neither bip39-entropy nor master-secret")
    manifest = Manifest(
        ceremony=Ceremony(ceremony.string("id"), ceremony.string("name"), ceremony.time("created")),
        secret=SecretInfo(SecretKind(kind), secret.integer("bits"), secret.hex("secret_fingerprint", 32), secret.hex("wallet_fingerprint", 8)),
        scheme=SchemeInfo(
            identifier=scheme.integer("identifier"),
            extendable=scheme.boolean("extendable"),
            iteration_exponent=scheme.integer("iteration_exponent"),
            group_threshold=scheme.integer("group_threshold"),
            passphrase_protected=scheme.boolean("passphrase_protected"),
            groups=tuple(_group(group) for group in scheme.objects("groups")),
        ),
        shares=tuple(_share(share, current) for share in root.objects("shares")),
        policy=Policy(root.object("policy").integer("drill_interval_days")),
        revision=_revision(root.object("revision", absent=True)),
        supersedes=_supersedes(root.object("supersedes", absent=True)),
        attestation=_attestation(root.object("attestation", absent=not current)),
    )
    _check_values(manifest)
    return manifest


LOCATOR = JsonPath("manifest", FORMAT)


def _group(group: Fields) -> GroupInfo:
    return GroupInfo(group.integer("index"), group.string("name", null=True), group.integer("member_threshold"), group.integer("member_count"))


def _share(share: Fields, current: bool) -> ShareEntry:
    """Format 2 lists every share's attestation key and whether it was proven; format 1 may list
    keys of shares added by `extend` after attestation existed."""
    key = share.base64("attestation_public_key") if current or "attestation_public_key" in share.value else None
    if key is not None and len(key) != PUBLIC_KEY_LENGTH_BYTES:
        raise share.fail("attestation_public_key", f"should be {PUBLIC_KEY_LENGTH_BYTES} bytes (an Ed25519 public key)")
    return ShareEntry(
        group_index=share.integer("group_index"),
        member_index=share.integer("member_index"),
        custodian=share.string("custodian", null=True),
        share_fingerprint=share.hex("share_fingerprint", 32),
        file=share.string("file"),
        wrapping=share.string("wrapping", null=True),
        issued=share.time("issued", absent=True),
        attestation_public_key=share.value["attestation_public_key"] if key is not None else None,
        proven=share.boolean("proven") if current else share.boolean("proven", default=True),
        replaced=share.time("replaced", absent=True),
    )


def _attestation(attestation: Fields | None) -> AttestationKeys | None:
    if attestation is None:
        return None
    algorithm = attestation.string("algorithm")
    if algorithm != ATTESTATION_ALGORITHM:
        raise attestation.fail("algorithm", f"is {algorithm!r}; this coldvault attests with {ATTESTATION_ALGORITHM}")
    if len(attestation.base64("vault_public_key")) != PUBLIC_KEY_LENGTH_BYTES:
        raise attestation.fail("vault_public_key", f"should be {PUBLIC_KEY_LENGTH_BYTES} bytes (an Ed25519 public key)")
    return AttestationKeys(algorithm, attestation.value["vault_public_key"], _group_keys(attestation))


def _group_keys(attestation: Fields) -> tuple[str, ...] | None:
    """`attestation.group_public_keys`: absent in vaults made before seals; else one key per group."""
    if "group_public_keys" not in attestation.value:
        return None
    keys = attestation.get("group_public_keys", list)
    for index, key in enumerate(keys):
        if not isinstance(key, str) or not fields.is_canonical_base64(key) or len(base64.b64decode(key)) != PUBLIC_KEY_LENGTH_BYTES:
            raise attestation.fail("group_public_keys", f"item {index} should be base64 of {PUBLIC_KEY_LENGTH_BYTES} bytes (an Ed25519 public key)")
    return tuple(keys)


def _revision(revision: Fields | None) -> Revision | None:
    if revision is None:
        return None
    return Revision(revision.integer("number"), revision.time("created"), revision.hex("predecessor_sha256", 64))


def _supersedes(supersedes: Fields | None) -> Supersedes | None:
    if supersedes is None:
        return None
    return Supersedes(supersedes.string("ceremony_id"), supersedes.hex("manifest_sha256", 64))


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
        (manifest.attestation is None or manifest.attestation.group_public_keys is None
         or len(manifest.attestation.group_public_keys) == len(groups), "attestation.group_public_keys", "one key per group"),
    ]
    for holds, field_path, expected in rules:
        if not holds:
            raise InvalidInput(f"manifest.{field_path} is out of range: it must be {expected}")
