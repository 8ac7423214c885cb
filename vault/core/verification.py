"""Checks against a manifest: does this share belong, is this the same secret.

Verification raises rather than returns a bool, so a caller cannot forget to look.
"""

from __future__ import annotations

from vault.core.fingerprint import secret_fingerprint, wallet_fingerprint
from vault.core.formats.manifest import Manifest, ShareEntry
from vault.core.secret import Secret
from vault.core.slip39.share import Share
from vault.errors import CheckFailed, ShareError


def check_share(share: Share, manifest: Manifest) -> ShareEntry | None:
    """Raise `ShareError` if `share` cannot be of this vault; return its manifest entry if listed.

    A share that fits the scheme but is not listed (e.g. an extension made later) returns None:
    only the recovered secret's fingerprint can prove it good.
    """
    scheme = manifest.scheme
    if share.identifier != scheme.identifier:
        raise ShareError(
            f"not a share of this vault: identifier {share.identifier}, the manifest says {scheme.identifier}",
            "it may belong to another vault or to an earlier split",
        )
    expected = (scheme.extendable, scheme.iteration_exponent, scheme.group_threshold, len(scheme.groups))
    actual = (share.extendable, share.iteration_exponent, share.group_threshold, share.group_count)
    if actual != expected:
        raise ShareError("the share's scheme differs from the manifest's although the identifier matches: it is corrupt")
    group = manifest.group(share.group_index)
    if group is None or group.member_threshold != share.member_threshold:
        raise ShareError("the share's group does not match the manifest's groups: it is corrupt")
    return manifest.share_by_fingerprint(share.fingerprint)


def check_secret(secret: Secret, manifest: Manifest, passphrase_given: bool) -> None:
    """Raise `CheckFailed` unless `secret` is the manifest's secret (by fingerprint)."""
    if secret.kind is not manifest.secret.kind:
        raise ValueError("compare secrets of the same kind")
    found = secret_fingerprint(secret)
    if found == manifest.secret.secret_fingerprint:
        if wallet_fingerprint(secret) != manifest.secret.wallet_fingerprint:
            raise CheckFailed("the secret matches but the manifest's wallet fingerprint does not: the manifest is corrupt")
        return
    if manifest.scheme.passphrase_protected or passphrase_given:
        hint = "the most likely cause is a wrong passphrase: SLIP-39 accepts any passphrase and quietly gives a different secret"
    else:
        hint = "these shares were split without a passphrase; the manifest may belong to another vault"
    raise CheckFailed(
        f"the recovered secret does not match the manifest (fingerprint {found}, the manifest says "
        f"{manifest.secret.secret_fingerprint})",
        hint,
        "nothing was output",
    )
