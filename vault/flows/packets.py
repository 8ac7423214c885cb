"""Custodians' packets: each delivery resolved before any secret exists, then one `seal` for all.

The ceremony, `extend` and `wrap` share this module. A delivery (a plan's custodian,
or `wrap`'s and `extend`'s flags) is resolved first: the public key file loaded and
matched to its recipient kind, the token's key found (`resolve`; flags become a
delivery first, `delivery_from_flags`).
Once shares exist, `seal` seals each to its target and, where the token is in the
room, opens it again: a share is never sealed to a key that cannot open it. Then the
packet's files are assembled (`packet_files`) and, once staged, read back
(`read_back`) before anything is published.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault.core.backup import MANIFEST_FILE, render_share_file
from vault.core.delivery import Holder, Packet
from vault.core.formats import envelope as ev
from vault.core.formats import manifest as mf
from vault.core.formats import sharefile
from vault.core.formats import transcript as tr
from vault.core.formats import transcript_signature
from vault.core.formats.plan import PAPER, Delivery, Plan
from vault.core.outputs import OutputFile
from vault.core.recipients import registry
from vault.core.recipients.base import KeyPairQuery, PublicKey, RecipientKind, SecretKeyQuery, Target, public_key_sha256
from vault.core.slip39.share import Share
from vault.core.text import packets as words
from vault.edges import card, fsio
from vault.edges.tokens.errors import NoMatchingKey
from vault.edges.tokens.opener import Opener
from vault.errors import CheckFailed, InvalidInput, VaultError
from vault.flows import capabilities
from vault.flows.capabilities import Asked

PAPER_FILE = "share.txt"
CARD_FILE = "card.pdf"
ENVELOPE_FILE = "share.envelope.json"


# ---------------------------------------------------------------- before any secret exists


@dataclass(frozen=True)
class Sealing:
    """`wrap`'s sealing flags, for the new share: an AES key on a token, or a public key (optionally proven on a token)."""

    token: str | None = None
    key: str | None = None
    recipient_pubkey: Path | None = None
    oaep_hash: str = "sha256"

    @property
    def given(self) -> bool:
        return self.key is not None or self.recipient_pubkey is not None


def check_seal_flags(sealing: Sealing, required: bool) -> None:
    """--token with --key-label, or --recipient-pubkey (optionally with --token); nothing else makes sense."""
    token, key, recipient_pubkey = sealing.token, sealing.key, sealing.recipient_pubkey
    if key is not None and recipient_pubkey is not None:
        raise InvalidInput("give --token with --key-label (AES on the token), or --recipient-pubkey PEM, not both")
    if key is not None and token is None:
        raise InvalidInput("--key-label needs --token (the token that holds the key)")
    if key is None and recipient_pubkey is None and (required or token is not None):
        raise InvalidInput("give --token with --key-label (AES on the token), or --recipient-pubkey PEM")


def delivery_from_flags(sealing: Sealing) -> Delivery:
    """The delivery `wrap`'s and `extend`'s flags ask for, as a plan would say it; no token is touched.

    --key-label names a key on the token that seals itself; --recipient-pubkey a public key
    file, read now for its kind (an error names the file).
    """
    if sealing.key is not None:
        return Delivery(registry.token_key_kind().name, token=sealing.token, key=sealing.key)
    if sealing.recipient_pubkey is None:
        return Delivery(PAPER)
    _, kind = _load_public_key(sealing.recipient_pubkey, str(sealing.recipient_pubkey))
    return Delivery(kind.name, token=sealing.token, public_key=str(sealing.recipient_pubkey), oaep_hash=sealing.oaep_hash)


def resolve(delivery: Delivery, key_dir: Path, opener: Opener, asked: Asked, name_key: bool = False) -> Target | None:
    """A delivery, checked before any secret exists: None for paper; else its target, with the
    token's key found, or the public key file loaded (and its private key found on the token named),
    and proven on the token when one is named (`capabilities.prove`).

    With `name_key`, the label of the key found on the token is recorded in the envelope
    (`wrap`); a ceremony's envelopes name only what its plan says.
    """
    if delivery.kind == PAPER:
        return None
    kind = registry.by_name(delivery.kind)
    if delivery.token is not None:  # what the token cannot do is said before its keys are looked for
        capabilities.check_listed(kind, delivery.token, opener, asked)
    target = _target(kind, delivery, key_dir, opener, name_key)
    if target.token_label is not None:
        capabilities.prove(target, opener, asked)
    return target


def _target(kind: RecipientKind, delivery: Delivery, key_dir: Path, opener: Opener, name_key: bool) -> Target:
    if kind.seals_to == "token-key":
        assert delivery.token is not None and delivery.key is not None
        try:
            found = opener.key(delivery.token, SecretKeyQuery(delivery.key))
        except VaultError as error:
            raise error.with_context(f'token "{delivery.token}"') from None
        return Target(kind.name, key=found, token_label=delivery.token, key_label=delivery.key)
    assert delivery.public_key is not None
    path = key_dir / delivery.public_key
    public, found_kind = _load_public_key(path, f"public_key {path}")
    if found_kind is not kind:
        takes = "; ".join(f"{k.name} takes an {k.public_key_name} key" for k in registry.KINDS if k.public_key_name)
        raise InvalidInput(f"public_key {path} is not a key for {kind.name}", takes)
    key_label = _key_pair_on(delivery.token, public, opener) if delivery.token is not None else None
    return Target(kind.name, public_key=public, token_label=delivery.token, key_label=key_label if name_key else None,
                  oaep_hash=delivery.oaep_hash)


def _load_public_key(path: Path, shown: str) -> tuple[PublicKey, RecipientKind]:
    try:
        return registry.load_public_key(fsio.read_bytes(path))
    except VaultError as error:
        raise error.with_context(shown) from None


def _key_pair_on(token: str, public: PublicKey, opener: Opener) -> str | None:
    """The label of the key pair of `public` on `token`: it must be there, to prove the envelope opens."""
    try:
        return opener.key(token, KeyPairQuery(public_key_sha256(public))).label
    except NoMatchingKey:
        raise InvalidInput(
            f"none of the tokens given ({token}) holds the private key of that public key",
            "sealing to it would make an envelope those tokens cannot open",
        ) from None


# ---------------------------------------------------------------- sealing


def seal(
    share: Share,
    target: Target,
    opener: Opener,
    *,
    ceremony_id: str | None = None,
    custodian: str | None = None,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> tuple[ev.Envelope, bool]:
    """`share` sealed to `target`, and whether it was proven: opened again with its token, when that is here."""
    sealed = ev.seal(share, target, ceremony_id=ceremony_id, custodian=custodian, random_bytes=random_bytes)
    if target.token_label is None:
        return sealed, False
    if opener.open(sealed) != share:
        raise CheckFailed("the sealed envelope opened to a different share; nothing was written")
    return sealed, True


def deliver(
    holder: Holder, share: Share, ceremony_id: str, opener: Opener, random_bytes: Callable[[int], bytes] = secrets.token_bytes
) -> Packet:
    """The custodian's packet: the share on paper, or sealed (and opened again where the token is here)."""
    if holder.target is None:
        return Packet(holder, share, f"{holder.path}/{PAPER_FILE}", None, True)
    try:
        sealed, proven = seal(share, holder.target, opener, ceremony_id=ceremony_id, custodian=holder.name, random_bytes=random_bytes)
    except VaultError as error:
        raise error.with_context(f'sealing the share of "{holder.name}"') from None
    return Packet(holder, share, f"{holder.path}/{ENVELOPE_FILE}", sealed, proven)


# ---------------------------------------------------------------- files


def check_card_names(plan: Plan) -> None:
    """Every name a paper custodian's card prints (theirs, their group's, the ceremony's), refused before any
    secret exists when no font on this machine shows it: a card never prints "?" for a letter."""
    for group in plan.groups:
        for custodian in group.custodians:
            if custodian.delivery.sealed:
                continue
            for context, name in (
                (f'{plan.where(custodian.line)}: custodian "{custodian.name}"', custodian.name),
                (f'{plan.where(group.line)}: group "{group.name}" (on the card of custodian "{custodian.name}")', group.name),
                (f'{plan.source_name}: ceremony "{plan.name}" (on the card of custodian "{custodian.name}")', plan.name),
            ):
                check_card_name(context, name)


def check_card_name(context: str, name: str | None) -> None:
    """A name a card will print, refused (exit 3) when no font on this machine shows it, with where it came from."""
    try:
        card.check_names(name)
    except VaultError as error:
        raise error.with_context(context) from None


def packet_files(
    manifest: mf.Manifest, manifest_text: str, packets: Sequence[Packet], signing_key_sha256: str | None = None, qr: bool = False,
) -> list[OutputFile]:
    """manifest.json, and per custodian: the share (card and text, or envelope), a manifest copy, a README.

    `signing_key_sha256` is the key that signs the transcript recording this manifest
    (None: not signed): each README and card carries it, for the custodian to compare
    with what the witnesses wrote down and to pin with `--key`. With `qr`, each card
    carries the share as a QR code too.
    """
    files = [OutputFile(MANIFEST_FILE, manifest_text, secret=False)]
    for made in packets:
        group = manifest.scheme.groups[made.share.group_index]
        if made.envelope is None:
            files.append(OutputFile(made.file, render_share_file(made.share, manifest.ceremony, group, made.holder.name), secret=True))
            files.append(OutputFile(f"{made.folder}/{CARD_FILE}", card.render_card(
                made.share, ceremony_name=manifest.ceremony.name, ceremony_id=manifest.ceremony.id, custodian=made.holder.name,
                group_name=group.name, member_count=group.member_count, signing_key_sha256=signing_key_sha256,
                passphrase_protected=manifest.scheme.passphrase_protected, qr=qr, vault_key_sha256=manifest.vault_key_sha256,
            ), secret=True))
        else:
            files.append(OutputFile(made.file, ev.to_json(made.envelope), secret=False))
        files.append(OutputFile(f"{made.folder}/{MANIFEST_FILE}", manifest_text, secret=False))
        files.append(OutputFile(f"{made.folder}/README.md", words.custodian_readme(manifest, made, signing_key_sha256), secret=False))
    return files


def transcript_copies(packets: Sequence[Packet], files: Sequence[OutputFile]) -> list[OutputFile]:
    """Each packet's copy of the transcript and its signature (from `files`): what anchors the packet's manifest copy.

    With them beside it, `coldvault verify --manifest PACKET/manifest.json` checks the
    custodian's copy against the SHA-256 the transcript recorded, as it checks the vault's.
    """
    records = [file for file in files if file.path in (tr.TRANSCRIPT_FILE, transcript_signature.signature_file(tr.TRANSCRIPT_FILE))]
    return [OutputFile(f"{made.folder}/{file.path}", file.content, secret=False) for made in packets for file in records]


def write(out: Path, files: Sequence[OutputFile], manifest: mf.Manifest, made: Sequence[Packet],
          staged: Callable[[], None] = lambda: None) -> None:
    """Write `files` to the new directory `out` at once, after reading the manifest and every packet back from staging.

    `staged` is called once everything is staged, before it is read back (tests stop a ceremony there).
    """

    def check(staging: Path) -> None:
        staged()
        read_back(staging, manifest, made)

    fsio.write_directory(out, files, before_rename=check)


def read_back(staging: Path, manifest: mf.Manifest, packets: Sequence[Packet]) -> None:
    """What is on disk is what was proven: the manifest, each share file and envelope."""
    if mf.from_json(fsio.read_text(staging / MANIFEST_FILE)) != manifest:
        raise CheckFailed("manifest.json reads back differently; nothing was published")
    for made in packets:
        text = fsio.read_text(staging / made.file)
        matches = sharefile.parse(text) == made.share if made.envelope is None else ev.from_json(text) == made.envelope
        if not matches:
            raise CheckFailed(f"{made.file} reads back differently; nothing was published")


def packet_record(made: Packet) -> dict[str, Any]:
    """A packet as the transcript records it: who, which share (by fingerprint), how delivered."""
    record: dict[str, Any] = {"custodian": made.holder.name, "share_fingerprint": made.share.fingerprint, "file": made.file}
    if made.envelope is None:
        return {**record, "delivery": PAPER}
    members, _ = registry.of(made.envelope.recipient).write(made.envelope.recipient)
    return {
        **record,
        "delivery": made.envelope.kind,
        "recipient": {k: v for k, v in members.items() if v is not None and k != "kind"},
        "envelope_sha256": hashlib.sha256(ev.to_json(made.envelope).encode("utf-8")).hexdigest(),
        "proven_opens": made.proven,
    }
