"""SLIP-39's Shamir arithmetic over GF(256), as the reference implementation does it.

A thin front over `vault.core.slip39.reference`, the one module that reaches the
reference implementation's interpolation and digest. Recovery, verification and
extension all build on this module, which keeps their arithmetic identical to the
standard's reference.

A point is (x, y): a share's member index (or a group's index) and its value bytes.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from vault.core.slip39 import reference
from vault.core.slip39.reference import DIGEST_INDEX, DIGEST_LENGTH_BYTES, SECRET_INDEX

Point = tuple[int, bytes]


def interpolate(points: Sequence[Point], x: int) -> bytes:
    """The value at `x` of the polynomial through `points` (distinct x, equal lengths)."""
    return reference.interpolate(points, x)


def consistent(points: Sequence[Point], threshold: int) -> bool:
    """Whether all `points` lie on the one polynomial of degree threshold-1 through the first `threshold`."""
    base = points[:threshold]
    return all(hmac.compare_digest(interpolate(base, x), y) for x, y in points[threshold:])


def shared_secret(points: Sequence[Point], threshold: int) -> bytes | None:
    """The secret that `threshold` points share, or None when SLIP-39's digest does not hold.

    With threshold 1 every share *is* the secret and SLIP-39 uses no digest.
    """
    base = points[:threshold]
    if threshold == 1:
        return base[0][1]
    secret = interpolate(base, SECRET_INDEX)
    digest_share = interpolate(base, DIGEST_INDEX)
    digest, random_part = digest_share[:DIGEST_LENGTH_BYTES], digest_share[DIGEST_LENGTH_BYTES:]
    if not hmac.compare_digest(digest, reference.create_digest(random_part, secret)):
        return None
    return secret
