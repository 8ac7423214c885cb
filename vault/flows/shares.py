"""What a custodian does with the share they hold: `inspect` it, `verify` it, print a `card` of it.

Each reads share files or envelopes (opened with their tokens); `verify` proves,
against the manifest, that every qualifying subset of the shares given recovers the
vault's secret (vault.core.proof), without showing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vault.core import proof
from vault.core.formats import manifest as mf
from vault.core.slip39.share import Share
from vault.edges import card as cards
from vault.edges import fsio, sources
from vault.errors import InvalidInput
from vault.flows.tokens import TokenOptions, opener
from vault.flows.vaults import read_manifest


def inspect(path: Path, tokens: TokenOptions) -> Share:
    """The share in a share file, or in an envelope opened with its token."""
    with opener(tokens) as found:
        return sources.read_share_file(path, found)


@dataclass(frozen=True)
class Verified:
    manifest: mf.Manifest
    proof: proof.Proof


def verify(manifest_path: Path, share_paths: Sequence[Path], passphrase_file: Path | None, passphrase_prompt: bool,
           tokens: TokenOptions) -> Verified:
    """Every share checked against the manifest, and what they prove together (a bad share is a result, not an error)."""
    manifest = read_manifest(manifest_path).manifest
    with opener(tokens) as found:
        given = [sources.read_given(path, found) for path in share_paths]
    asked = passphrase_file is not None or passphrase_prompt
    passphrase = sources.read_passphrase(passphrase_file, passphrase_prompt, confirm=False) if asked else None
    return Verified(manifest, proof.prove(given, manifest, passphrase))


def card(path: Path, out: Path, manifest_path: Path | None, custodian: str | None, tokens: TokenOptions) -> Share:
    """Write a card for the share at `path` (mode 0600: it holds the words); names from the manifest, if given."""
    fsio.check_new_file(out)
    with opener(tokens) as found:
        share = sources.read_share_file(path, found)
    names = _names(share, manifest_path) if manifest_path is not None else _Names()
    pdf = cards.render_card(
        share, ceremony_name=names.ceremony_name, ceremony_id=names.ceremony_id,
        custodian=custodian if custodian is not None else names.custodian, group_name=names.group_name, member_count=names.member_count,
    )
    fsio.write_new_file(out, pdf)
    return share


@dataclass(frozen=True)
class _Names:
    """What the card says about the share besides its words; unknown without a manifest."""

    ceremony_name: str | None = None
    ceremony_id: str | None = None
    custodian: str | None = None
    group_name: str | None = None
    member_count: int | None = None


def _names(share: Share, path: Path) -> _Names:
    """The names in the manifest's entry for `share`; a share of another vault is refused."""
    manifest = read_manifest(path).manifest
    entry = manifest.share_by_fingerprint(share.fingerprint)
    if entry is None:
        raise InvalidInput(f"{path}: this share is not listed in the manifest", "make cards for shares of this vault")
    group = manifest.group(entry.group_index)
    return _Names(
        ceremony_name=manifest.ceremony.name,
        ceremony_id=manifest.ceremony.id,
        custodian=entry.custodian,
        group_name=group.name if group else None,
        member_count=group.member_count if group else None,
    )
