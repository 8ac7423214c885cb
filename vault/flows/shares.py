"""What a custodian does with the share they hold: `inspect` it, `verify` it, print a `card` of it.

Each reads share files or envelopes (opened with their tokens); `verify` proves,
against the manifest, that every qualifying subset of the shares given recovers the
vault's secret (vault.core.proof), without showing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vault.core import names as people
from vault.core import proof
from vault.core.anchor import Anchor, AnchorKind, Pins
from vault.core.formats import manifest as mf
from vault.core.slip39.share import Share
from vault.edges import card as cards
from vault.edges import fsio, sources
from vault.errors import InvalidInput
from vault.flows.packets import check_card_name
from vault.flows.tokens import TokenOptions, opener
from vault.flows.vaults import anchored_manifest


def inspect(path: Path, tokens: TokenOptions) -> Share:
    """The share in a share file, or in an envelope opened with its token."""
    with opener(tokens) as found:
        return sources.read_share_file(path, found)


@dataclass(frozen=True)
class Verified:
    manifest: mf.Manifest
    proof: proof.Proof
    anchor: Anchor


def verify(manifest_path: Path, share_paths: Sequence[Path], passphrase_file: Path | None, passphrase_prompt: bool,
           tokens: TokenOptions, pins: Pins = Pins()) -> Verified:
    """Every share checked against the anchored manifest, and what they prove together (a bad share is a result, not an error)."""
    anchored = anchored_manifest(manifest_path, pins)
    manifest = anchored.manifest
    with opener(tokens) as found:
        given = [sources.read_given(path, found) for path in share_paths]
    asked = passphrase_file is not None or passphrase_prompt
    passphrase = sources.read_passphrase(passphrase_file, passphrase_prompt, confirm=False) if asked else None
    return Verified(manifest, proof.prove(given, manifest, passphrase), anchored.anchor)


@dataclass(frozen=True)
class Card:
    share: Share
    anchor: Anchor | None
    """What anchored the manifest the names came from (None: no manifest given)."""


def card(
    path: Path, out: Path, manifest_path: Path | None, custodian: str | None, tokens: TokenOptions, pins: Pins = Pins(),
    qr: bool = False,
) -> Card:
    """Write a card for the share at `path` (mode 0600: it holds the words); names from the anchored manifest, if given.

    When a signed transcript anchors the manifest, the card carries its signing key's SHA-256,
    and says whether the vault has a passphrase. A name no font here prints is refused
    before the share is read.
    """
    if (pins.key or pins.vault_key) is not None and manifest_path is None:
        raise InvalidInput("--key and --vault-key need --manifest: they pin the keys that vouch for the manifest's transcript")
    custodian = people.flag(custodian, "--custodian") if custodian is not None else None
    if custodian is not None:
        check_card_name(f'--custodian "{custodian}"', custodian)
    fsio.check_new_file(out)
    with opener(tokens) as found:
        share = sources.read_share_file(path, found)
    names = _names(share, manifest_path, pins) if manifest_path is not None else _Names()
    if custodian is None:
        check_card_name(f'{manifest_path}: custodian "{names.custodian}"', names.custodian)
    check_card_name(f'{manifest_path}: group "{names.group_name}"', names.group_name)
    check_card_name(f'{manifest_path}: ceremony "{names.ceremony_name}"', names.ceremony_name)
    pdf = cards.render_card(
        share, ceremony_name=names.ceremony_name, ceremony_id=names.ceremony_id,
        custodian=custodian if custodian is not None else names.custodian, group_name=names.group_name, member_count=names.member_count,
        signing_key_sha256=names.signing_key_sha256, passphrase_protected=names.passphrase_protected, qr=qr,
        vault_key_sha256=names.anchor.vault_key_sha256 if names.anchor else None,
    )
    fsio.write_new_file(out, pdf)
    return Card(share, names.anchor)


@dataclass(frozen=True)
class _Names:
    """What the card says about the share besides its words; unknown without a manifest."""

    ceremony_name: str | None = None
    ceremony_id: str | None = None
    custodian: str | None = None
    group_name: str | None = None
    member_count: int | None = None
    signing_key_sha256: str | None = None
    passphrase_protected: bool | None = None
    anchor: Anchor | None = None


def _names(share: Share, path: Path, pins: Pins) -> _Names:
    """The names in the manifest's entry for `share`; a share of another vault is refused."""
    anchored = anchored_manifest(path, pins)
    manifest = anchored.manifest
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
        signing_key_sha256=anchored.anchor.signer_public_key_sha256 if anchored.anchor.kind is AnchorKind.SIGNED else None,
        passphrase_protected=manifest.scheme.passphrase_protected,
        anchor=anchored.anchor,
    )
