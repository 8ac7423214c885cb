"""Make a backup in memory: shares, share files and manifest, proven before anything is written.

Pure: the caller passes the time and the randomness, and writes `Backup.files`
through `vault.edges.fsio`, which stages them and renames them into place.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from vault.core import attestation
from vault.core.fingerprint import secret_fingerprint, wallet_fingerprint
from vault.core.formats import fields as strictjson
from vault.core.formats import manifest as mf
from vault.core.formats.sharefile import render, share_filename
from vault.core.layout import MANIFEST_FILE as MANIFEST_FILE
from vault.core.outputs import OutputFile
from vault.core.scheme import Scheme, check_iteration_exponent
from vault.core.secret import Secret
from vault.core.slip39 import recovery
from vault.core.slip39 import share as slip39
from vault.errors import CheckFailed

SHARES_DIR = "shares"


@dataclass(frozen=True)
class SplitOptions:
    iteration_exponent: int = 1
    extendable: bool = True
    ceremony_name: str = "coldvault split"
    drill_interval_days: int = mf.DEFAULT_DRILL_INTERVAL_DAYS


@dataclass(frozen=True)
class Backup:
    manifest: mf.Manifest
    shares: tuple[slip39.Share, ...] = field(repr=False)
    files: tuple[OutputFile, ...] = field(repr=False)


@dataclass(frozen=True)
class Holding:
    """Where a share went: its custodian, its file (relative to the manifest) and its envelope's recipient kind."""

    custodian: str | None
    file: str
    wrapping: str | None = None
    proven: bool = True
    """False when the share's envelope could not be opened on its token when it was made."""


def make_backup(
    secret: Secret,
    scheme: Scheme,
    passphrase: bytes,
    options: SplitOptions,
    now: datetime,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Backup:
    """Split `secret` by `scheme` into plain share files; prove a quorum recovers it."""
    shares = make_shares(secret, scheme, passphrase, options, random_bytes)
    ceremony = new_ceremony(options.ceremony_name, now, random_bytes)
    holdings = [Holding(None, f"{SHARES_DIR}/{share_filename(share)}") for share in shares]
    manifest = describe(ceremony, secret, scheme, bool(passphrase), options, shares, holdings)
    share_files = tuple(
        OutputFile(held.file, render_share_file(share, ceremony, manifest.scheme.groups[share.group_index], None), secret=True)
        for share, held in zip(shares, holdings, strict=True)
    )
    manifest_file = OutputFile(MANIFEST_FILE, mf.to_json(manifest), secret=False)
    return Backup(manifest, shares, (manifest_file,) + share_files)


def make_shares(
    secret: Secret,
    scheme: Scheme,
    passphrase: bytes,
    options: SplitOptions,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> tuple[slip39.Share, ...]:
    """The shares of `secret`, in group then member order, proven to recover it."""
    check_iteration_exponent(options.iteration_exponent)
    groups = slip39.split(
        secret.value, scheme, passphrase, options.iteration_exponent, options.extendable, random_bytes
    )
    shares = tuple(share for group in groups for share in group)
    _prove_recovers(shares, passphrase, secret)
    return shares


def new_ceremony(name: str, now: datetime, random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> mf.Ceremony:
    """A new ceremony: a random UUID (version 4), its name, and the time to the second (UTC)."""
    return mf.Ceremony(
        id=str(uuid.UUID(bytes=random_bytes(16), version=4)),
        name=name,
        created=strictjson.utc_time(now),
    )


def render_share_file(share: slip39.Share, ceremony: mf.Ceremony, group: mf.GroupInfo, custodian: str | None) -> str:
    """A share file whose comments name the ceremony, the share's group (from the manifest) and custodian."""
    return render(
        share,
        ceremony_name=ceremony.name,
        ceremony_id=ceremony.id,
        group_name=group.name,
        member_count=group.member_count,
        custodian=custodian,
    )


def describe(
    ceremony: mf.Ceremony,
    secret: Secret,
    scheme: Scheme,
    passphrase_protected: bool,
    options: SplitOptions,
    shares: tuple[slip39.Share, ...],
    holdings: list[Holding],
) -> mf.Manifest:
    """The public manifest of a split: `holdings[i]` says where `shares[i]` went.

    It lists the attestation keys derived from each share and from the secret (only
    public keys), so later drill checks can prove they were made with them.
    """
    return mf.Manifest(
        ceremony=ceremony,
        secret=mf.SecretInfo(secret.kind, secret.bits, secret_fingerprint(secret), wallet_fingerprint(secret)),
        scheme=mf.SchemeInfo(
            identifier=shares[0].identifier,
            extendable=options.extendable,
            iteration_exponent=options.iteration_exponent,
            group_threshold=scheme.group_threshold,
            passphrase_protected=passphrase_protected,
            groups=tuple(
                mf.GroupInfo(index, group.name, group.member_threshold, group.member_count)
                for index, group in enumerate(scheme.groups)
            ),
        ),
        shares=tuple(
            mf.ShareEntry(share.group_index, share.member_index, held.custodian, share.fingerprint, held.file, held.wrapping,
                          attestation_public_key=attestation.share_key(share, ceremony.id).public_key, proven=held.proven)
            for share, held in zip(shares, holdings, strict=True)
        ),
        policy=mf.Policy(options.drill_interval_days),
        attestation=mf.AttestationKeys(attestation.ALGORITHM, attestation.vault_key(secret, ceremony.id).public_key,
                                       attestation.group_keys(shares, ceremony.id)),
    )


def _prove_recovers(shares: tuple[slip39.Share, ...], passphrase: bytes, secret: Secret) -> None:
    """Recover from the first quorum of the new shares before anything is written.

    This proves the split, the passphrase handling and the encoding round trip for
    one qualifying subset; `coldvault verify` proves every subset.
    """
    share_set = recovery.ShareSet()
    for share in shares:
        share_set = share_set.add(recovery.Entry("new share", slip39.parse_share(share.mnemonic)))
    recovered = recovery.recover(share_set, passphrase)
    if not hmac.compare_digest(recovered, secret.value):
        raise CheckFailed("the new shares do not recover the secret; nothing was written")
