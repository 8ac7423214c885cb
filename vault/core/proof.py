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

import dataclasses
import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

from vault.core import verification
from vault.core.attestation import SigningKey, vault_key
from vault.core.fingerprint import secret_fingerprint, wallet_fingerprint
from vault.core.formats.manifest import Manifest
from vault.core.secret import Secret
from vault.core.slip39 import polynomial
from vault.core.slip39.polynomial import Point
from vault.core.slip39.reference import encrypted_master_secret
from vault.core.slip39.share import Share
from vault.errors import CheckFailed, VaultError


class ShareStatus(enum.StrEnum):
    """OK passes; every other status except DUPLICATE fails the verification."""

    OK = "ok"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    FOREIGN = "foreign"
    UNLISTED = "unlisted"
    OFF_POLYNOMIAL = "off-polynomial"


class GroupStatus(enum.StrEnum):
    CONSISTENT = "consistent"
    UNVERIFIED = "unverified"
    INCONSISTENT = "inconsistent"


class SecretStatus(enum.StrEnum):
    MATCHES = "matches"
    MISMATCH = "mismatch"
    UNVERIFIED = "unverified"
    GROUPS_INCONSISTENT = "groups-inconsistent"
    NO_PASSPHRASE = "no-passphrase"


@dataclass(frozen=True)
class Given:
    """One input: where it came from, and the share it holds or why it holds none."""

    source: str
    share: Share | None
    error: str | None = None
    claimed_fingerprint: str | None = None
    """For an envelope that could not be opened: the share fingerprint its header claims,
    so a failure can be attributed to a custodian (unauthenticated until opened)."""
    claimed_indices: tuple[int, int] | None = None
    """And the group and member index its header claims (unauthenticated too)."""


@dataclass(frozen=True)
class ShareResult:
    source: str
    status: ShareStatus
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
    status: GroupStatus
    detail: str
    qualifying_subsets: int = 0
    """Subsets of exactly `member_threshold` of the shares present, all proven to agree."""


@dataclass(frozen=True)
class Proof:
    shares: tuple[ShareResult, ...]
    groups: tuple[GroupResult, ...]
    secret_status: SecretStatus
    secret_detail: str
    qualifying_subsets: int
    """Minimal qualifying subsets of the shares present (group_threshold groups, each with exactly
    its member threshold of shares) proven to recover the manifest's secret; 0 if none is proven."""

    @property
    def ok(self) -> bool:
        """Everything present is consistent and nothing failed; the secret matches if a quorum was present."""
        return (
            all(s.status in (ShareStatus.OK, ShareStatus.DUPLICATE) for s in self.shares)
            and all(g.status != GroupStatus.INCONSISTENT for g in self.groups)
            and self.secret_status in (SecretStatus.MATCHES, SecretStatus.UNVERIFIED)
        )


def proven_summary(qualifying_subsets: int) -> str:
    """The one sentence the room reads when a proof holds: the ceremony, `verify` and `drill run` print it
    word for word (README and the runbooks quote it). The count is of minimal subsets (docs/verify.md);
    any larger qualifying subset contains one of them, so it recovers the secret too."""
    if qualifying_subsets == 1:
        return "PROVEN: the one minimal qualifying subset of these shares recovers the manifest's secret"
    return f"PROVEN: every one of the {qualifying_subsets} minimal qualifying subsets of these shares recovers the manifest's secret"


def prove(given: Sequence[Given], manifest: Manifest, passphrase: bytes | None) -> Proof:
    """Check each share alone, then every group, then the secret; report what is proven.

    `passphrase` None means none was given: fine for checking shares, a failure when a
    quorum is present and the manifest says the vault has one.
    """
    return prove_attested(given, manifest, passphrase)[0]


def prove_attested(given: Sequence[Given], manifest: Manifest, passphrase: bytes | None) -> tuple[Proof, SigningKey | None]:
    """`prove`, and the vault's attestation key when the secret matched (a drill signs with it).

    The key is derived from the secret before the secret is dropped; it is kept apart
    from the `Proof`, which is rendered and printed.
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
    status, detail, subsets, vault_key = _check_secret(group_points, manifest, passphrase)
    return Proof(tuple(share_results), tuple(group_results), status, detail, subsets), vault_key


def _check_shares(given: Sequence[Given], manifest: Manifest) -> tuple[list[ShareResult], list[tuple[str, Share]]]:
    results: list[ShareResult] = []
    accepted: list[tuple[str, Share]] = []
    seen: dict[str, str] = {}
    for item in given:
        if item.share is None:
            results.append(_unread(item, manifest))
            continue
        share = item.share
        if share.fingerprint in seen:
            results.append(_result(item.source, share, ShareStatus.DUPLICATE, f"the same share as {seen[share.fingerprint]}; ignored"))
            continue
        seen[share.fingerprint] = item.source
        try:
            listed = verification.check_share(share, manifest)
        except VaultError as error:
            results.append(_result(item.source, share, ShareStatus.FOREIGN, error.message))
            continue
        accepted.append((item.source, share))
        if listed is None:
            detail = "fits the vault's scheme but is not listed in the manifest: altered, or issued later"
            results.append(_result(item.source, share, ShareStatus.UNLISTED, detail))
        else:
            results.append(_result(item.source, share, ShareStatus.OK, "listed in the manifest", listed.custodian))
    return results, accepted


def _unread(item: Given, manifest: Manifest) -> ShareResult:
    """A share that could not be read. For an envelope that did not open, the share its header claims, so the
    result says whose it was: as the manifest lists it when it lists that fingerprint (a header claims, it proves
    nothing; a listed share's indices are the manifest's), else the indices the header claims."""
    listed = manifest.share_by_fingerprint(item.claimed_fingerprint) if item.claimed_fingerprint else None
    group, member = (listed.group_index, listed.member_index) if listed else item.claimed_indices or (None, None)
    return ShareResult(item.source, ShareStatus.INVALID, item.error or "not a valid share", group, member,
                       listed.custodian if listed else None, item.claimed_fingerprint)


def _result(source: str, share: Share, status: ShareStatus, detail: str, custodian: str | None = None) -> ShareResult:
    return ShareResult(source, status, detail, share.group_index, share.member_index, custodian, share.fingerprint)


def _check_group(
    index: int, name: str | None, threshold: int, count: int, members: list[tuple[str, Share]]
) -> tuple[GroupResult, list[str], bytes | None]:
    """(result, sources of shares proven bad, the group's share value if proven)."""
    members = sorted(members, key=lambda item: item[1].member_index)
    present = len(members)
    base = GroupResult(index, name, threshold, count, present, GroupStatus.INCONSISTENT, "")

    def inconsistent(detail: str, bad: list[str] | None = None) -> tuple[GroupResult, list[str], bytes | None]:
        return dataclasses.replace(base, detail=detail), bad or [], None

    clash = next((i for i in range(1, present) if members[i][1].member_index == members[i - 1][1].member_index), None)
    if clash is not None:
        first, second = members[clash - 1][0], members[clash][0]
        return inconsistent(f"{first} and {second} both say they are share {members[clash][1].member_index + 1}: one is altered or corrupt")
    if present < threshold:
        detail = f"{present} of {threshold} needed: {threshold - present} more to prove it"
        return dataclasses.replace(base, status=GroupStatus.UNVERIFIED, detail=detail), [], None
    points = [(share.member_index, share.value) for _, share in members]
    if not polynomial.consistent(points, threshold):
        bad = _locate_one_off(points, threshold)
        if bad is None:
            more = "give at least 2 more than the threshold to find which" if present < threshold + 2 else "more than one is wrong"
            return inconsistent(f"the shares do not lie on one polynomial; {more}")
        source = members[bad][0]
        return inconsistent(f"{source} does not lie on the group's polynomial", [source])
    value = polynomial.shared_secret(points, threshold)
    if value is None:
        return inconsistent("the shares fail SLIP-39's digest check: at least one is altered or corrupt")
    detail = f"all {present} shares agree" if present > 1 else "its one share is the group's share"
    return dataclasses.replace(base, status=GroupStatus.CONSISTENT, detail=detail, qualifying_subsets=math.comb(present, threshold)), [], value


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
    detail = "does not lie on its group's polynomial: altered or corrupt"
    return [dataclasses.replace(r, status=ShareStatus.OFF_POLYNOMIAL, detail=detail) if r.source in bad_sources else r for r in results]


def _check_secret(
    group_points: list[tuple[int, bytes, int]], manifest: Manifest, passphrase: bytes | None
) -> tuple[SecretStatus, str, int, SigningKey | None]:
    scheme = manifest.scheme
    threshold = scheme.group_threshold
    if len(group_points) < threshold:
        return SecretStatus.UNVERIFIED, f"{len(group_points)} of {threshold} needed groups proven: the secret was not recovered", 0, None
    points = [(index, value) for index, value, _ in group_points]
    if not polynomial.consistent(points, threshold):
        bad = _locate_one_off(points, threshold)
        where = f"group {points[bad][0] + 1} disagrees with the others" if bad is not None else "the groups do not agree"
        return SecretStatus.GROUPS_INCONSISTENT, where, 0, None
    ciphertext = polynomial.shared_secret(points, threshold)
    if ciphertext is None:
        return SecretStatus.GROUPS_INCONSISTENT, "the groups agree but fail SLIP-39's digest", 0, None
    if passphrase is None and scheme.passphrase_protected:
        return SecretStatus.NO_PASSPHRASE, "a quorum is present but the vault's passphrase was not given: the secret was not checked", 0, None
    passphrase = passphrase or b""
    encrypted = encrypted_master_secret(
        identifier=scheme.identifier, extendable=scheme.extendable, iteration_exponent=scheme.iteration_exponent, ciphertext=ciphertext
    )
    secret = Secret(manifest.secret.kind, encrypted.decrypt(passphrase))
    try:
        verification.check_secret(secret, manifest, passphrase_given=bool(passphrase))
    except CheckFailed as failure:
        return SecretStatus.MISMATCH, "; ".join((failure.message, *failure.hints[:1])), 0, None
    subsets = _elementary_symmetric([count for _, _, count in group_points], threshold)
    detail = f"recovered once: secret fingerprint {secret_fingerprint(secret)}, wallet fingerprint {wallet_fingerprint(secret)}"
    return SecretStatus.MATCHES, detail, subsets, vault_key(secret, manifest.ceremony.id)


def _elementary_symmetric(values: list[int], k: int) -> int:
    """Sum over all k-subsets of the product of their values (the number of ways to pick k groups
    and, in each, one of its proven subsets), by the usual dynamic programme."""
    totals = [1] + [0] * k
    for value in values:
        for size in range(k, 0, -1):
            totals[size] += totals[size - 1] * value
    return totals[k]
