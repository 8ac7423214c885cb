"""Prove, without enumerating subsets, that every qualifying subset of some shares
recovers the manifest's secret.

The argument (docs/verify.md): in SLIP-39 a group's shares are points of one
polynomial of degree T-1 over GF(256), where T is the group's member threshold. If
all the shares present lie on the polynomial through any T of them, then *every* T
of them interpolate that same polynomial and so give the same group share, whose
digest we check once. The same holds one level up for the group shares. Then one
decryption of the master secret, compared by fingerprint with the manifest, covers
every qualifying subset at once. The cost is a few interpolations per group and one
PBKDF2 run, instead of one PBKDF2 run per subset.

Pure: shares in, a `Proof` out. Reading files and rendering live elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from vault.core import verification
from vault.core.fingerprint import secret_fingerprint, wallet_fingerprint
from vault.core.formats.manifest import Manifest
from vault.core.secret import Secret
from vault.core.slip39 import polynomial
from vault.core.slip39.polynomial import Point
from vault.core.slip39.reference import encrypted_master_secret
from vault.core.slip39.share import Share
from vault.errors import CheckFailed, VaultError

# Share statuses: "ok" passes; every other status except "duplicate" fails the verification.
SHARE_OK = "ok"
SHARE_DUPLICATE = "duplicate"
SHARE_INVALID = "invalid"
SHARE_FOREIGN = "foreign"
SHARE_UNLISTED = "unlisted"
SHARE_OFF_POLYNOMIAL = "off-polynomial"

# Group statuses.
GROUP_CONSISTENT = "consistent"
GROUP_UNVERIFIED = "unverified"
GROUP_INCONSISTENT = "inconsistent"

# Secret statuses.
SECRET_MATCHES = "matches"
SECRET_MISMATCH = "mismatch"
SECRET_UNVERIFIED = "unverified"
SECRET_GROUPS_INCONSISTENT = "groups-inconsistent"
SECRET_NO_PASSPHRASE = "no-passphrase"


@dataclass(frozen=True)
class Given:
    """One input: where it came from, and the share it holds or why it holds none."""

    source: str
    share: Share | None
    error: str | None = None
    claimed_fingerprint: str | None = None
    """For an envelope that could not be opened: the share fingerprint its header claims,
    so a failure can be attributed to a custodian (unauthenticated until opened)."""


@dataclass(frozen=True)
class ShareResult:
    source: str
    status: str
    detail: str
    group_index: int | None = None
    member_index: int | None = None
    custodian: str | None = None
    share_fingerprint: str | None = None


@dataclass(frozen=True)
class GroupResult:
    index: int
    name: str | None
    member_threshold: int
    member_count: int
    present: int
    status: str
    detail: str
    qualifying_subsets: int = 0
    """Subsets of exactly `member_threshold` of the shares present, all proven to agree."""


@dataclass(frozen=True)
class Proof:
    shares: tuple[ShareResult, ...]
    groups: tuple[GroupResult, ...]
    secret_status: str
    secret_detail: str
    qualifying_subsets: int
    """Minimal qualifying subsets of the shares present (group_threshold groups, each with exactly
    its member threshold of shares) proven to recover the manifest's secret; 0 if none is proven."""

    @property
    def ok(self) -> bool:
        """Everything present is consistent and nothing failed; the secret matches if a quorum was present."""
        return (
            all(s.status in (SHARE_OK, SHARE_DUPLICATE) for s in self.shares)
            and all(g.status != GROUP_INCONSISTENT for g in self.groups)
            and self.secret_status in (SECRET_MATCHES, SECRET_UNVERIFIED)
        )


def prove(given: Sequence[Given], manifest: Manifest, passphrase: bytes | None) -> Proof:
    """Check each share alone, then every group, then the secret; report what is proven.

    `passphrase` None means none was given: fine for checking shares, a failure when a
    quorum is present and the manifest says the vault has one.
    """
    share_results, accepted = _check_shares(given, manifest)
    group_results, group_points = [], []
    for group in manifest.scheme.groups:
        members = [(source, share) for source, share in accepted if share.group_index == group.index]
        result, bad_sources, value = _check_group(group.index, group.name, group.member_threshold, group.member_count, members)
        group_results.append(result)
        share_results = _mark_off_polynomial(share_results, bad_sources)
        if value is not None:
            group_points.append((group.index, value, result.qualifying_subsets))
    status, detail, subsets = _check_secret(group_points, manifest, passphrase)
    return Proof(tuple(share_results), tuple(group_results), status, detail, subsets)


def _check_shares(given: Sequence[Given], manifest: Manifest) -> tuple[list[ShareResult], list[tuple[str, Share]]]:
    results: list[ShareResult] = []
    accepted: list[tuple[str, Share]] = []
    seen: dict[str, str] = {}
    for item in given:
        if item.share is None:
            results.append(ShareResult(item.source, SHARE_INVALID, item.error or "not a valid share",
                                       share_fingerprint=item.claimed_fingerprint))
            continue
        share = item.share
        where = dict(group_index=share.group_index, member_index=share.member_index, share_fingerprint=share.fingerprint)
        if share.fingerprint in seen:
            results.append(ShareResult(item.source, SHARE_DUPLICATE, f"the same share as {seen[share.fingerprint]}; ignored", **where))
            continue
        seen[share.fingerprint] = item.source
        try:
            listed = verification.check_share(share, manifest)
        except VaultError as error:
            results.append(ShareResult(item.source, SHARE_FOREIGN, error.message, **where))
            continue
        accepted.append((item.source, share))
        if listed is None:
            results.append(ShareResult(
                item.source, SHARE_UNLISTED,
                "fits the vault's scheme but is not listed in the manifest: altered, or issued later", **where,
            ))
        else:
            results.append(ShareResult(item.source, SHARE_OK, "listed in the manifest", custodian=listed.custodian, **where))
    return results, accepted


def _check_group(
    index: int, name: str | None, threshold: int, count: int, members: list[tuple[str, Share]]
) -> tuple[GroupResult, list[str], bytes | None]:
    """(result, sources of shares proven bad, the group's share value if proven)."""
    members = sorted(members, key=lambda item: item[1].member_index)
    present = len(members)
    base = dict(index=index, name=name, member_threshold=threshold, member_count=count, present=present)
    clash = next((i for i in range(1, present) if members[i][1].member_index == members[i - 1][1].member_index), None)
    if clash is not None:
        first, second = members[clash - 1][0], members[clash][0]
        detail = f"{first} and {second} both say they are share {members[clash][1].member_index + 1}: one is altered or corrupt"
        return GroupResult(**base, status=GROUP_INCONSISTENT, detail=detail), [], None
    if present < threshold:
        missing = threshold - present
        return GroupResult(**base, status=GROUP_UNVERIFIED, detail=f"{present} of {threshold} needed: {missing} more to prove it"), [], None
    points = [(share.member_index, share.value) for _, share in members]
    if not polynomial.consistent(points, threshold):
        bad = _locate_one_off(points, threshold)
        if bad is None:
            detail = "the shares do not lie on one polynomial; "
            detail += "give at least 2 more than the threshold to find which" if present < threshold + 2 else "more than one is wrong"
            return GroupResult(**base, status=GROUP_INCONSISTENT, detail=detail), [], None
        source = members[bad][0]
        return GroupResult(**base, status=GROUP_INCONSISTENT, detail=f"{source} does not lie on the group's polynomial"), [source], None
    value = polynomial.shared_secret(points, threshold)
    if value is None:
        detail = "the shares fail SLIP-39's digest check: at least one is altered or corrupt"
        return GroupResult(**base, status=GROUP_INCONSISTENT, detail=detail), [], None
    subsets = math.comb(present, threshold)
    detail = f"all {present} shares agree" if present > 1 else "its one share is the group's share"
    return GroupResult(**base, status=GROUP_CONSISTENT, detail=detail, qualifying_subsets=subsets), [], value


def _locate_one_off(points: list[Point], threshold: int) -> int | None:
    """The index of the single point whose removal makes the rest consistent, if exactly one does.

    Needs threshold+2 points: with threshold+1, removing any one leaves a set that
    always fits some polynomial, so the culprit cannot be told apart.
    """
    if len(points) < threshold + 2:
        return None
    culprits = [i for i in range(len(points)) if polynomial.consistent(points[:i] + points[i + 1:], threshold)]
    return culprits[0] if len(culprits) == 1 else None


def _mark_off_polynomial(results: list[ShareResult], bad_sources: list[str]) -> list[ShareResult]:
    return [
        ShareResult(r.source, SHARE_OFF_POLYNOMIAL, "does not lie on its group's polynomial: altered or corrupt",
                    r.group_index, r.member_index, r.custodian, r.share_fingerprint)
        if r.source in bad_sources else r
        for r in results
    ]


def _check_secret(
    group_points: list[tuple[int, bytes, int]], manifest: Manifest, passphrase: bytes | None
) -> tuple[str, str, int]:
    scheme = manifest.scheme
    threshold = scheme.group_threshold
    if len(group_points) < threshold:
        return SECRET_UNVERIFIED, f"{len(group_points)} of {threshold} needed groups proven: the secret was not recovered", 0
    points = [(index, value) for index, value, _ in group_points]
    if not polynomial.consistent(points, threshold):
        bad = _locate_one_off(points, threshold)
        where = f"group {points[bad][0] + 1} disagrees with the others" if bad is not None else "the groups do not agree"
        return SECRET_GROUPS_INCONSISTENT, where, 0
    ciphertext = polynomial.shared_secret(points, threshold)
    if ciphertext is None:
        return SECRET_GROUPS_INCONSISTENT, "the groups agree but fail SLIP-39's digest", 0
    if passphrase is None and scheme.passphrase_protected:
        return SECRET_NO_PASSPHRASE, "a quorum is present but the vault's passphrase was not given: the secret was not checked", 0
    passphrase = passphrase or b""
    encrypted = encrypted_master_secret(
        identifier=scheme.identifier, extendable=scheme.extendable, iteration_exponent=scheme.iteration_exponent, ciphertext=ciphertext
    )
    secret = Secret(manifest.secret.kind, encrypted.decrypt(passphrase))
    try:
        verification.check_secret(secret, manifest, passphrase_given=bool(passphrase))
    except CheckFailed as failure:
        return SECRET_MISMATCH, "; ".join((failure.message, *failure.hints[:1])), 0
    subsets = _elementary_symmetric([count for _, _, count in group_points], threshold)
    detail = f"recovered once: secret fingerprint {secret_fingerprint(secret)}, wallet fingerprint {wallet_fingerprint(secret)}"
    return SECRET_MATCHES, detail, subsets


def _elementary_symmetric(values: list[int], k: int) -> int:
    """Sum over all k-subsets of the product of their values (the number of ways to pick k groups
    and, in each, one of its proven subsets), by the usual dynamic programme."""
    totals = [1] + [0] * k
    for value in values:
        for size in range(k, 0, -1):
            totals[size] += totals[size - 1] * value
    return totals[k]
