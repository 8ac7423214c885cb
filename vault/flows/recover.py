"""`coldvault recover`: combine a quorum of shares; fingerprints by default, the secret only when asked.

Shares come from files and envelopes, then (with --interactive) word by word, each
checked against the manifest the moment it is complete. Typing, the passphrase of a
vault that has one is asked first (nobody types 33 words to learn it was needed);
from files, what is missing is said before the passphrase is asked for. The secret is compared with the manifest by
fingerprint; it is written (--out, mode 0600) or shown (--reveal) only on request.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vault.core import bip32, verification
from vault.core.anchor import Anchor, Pins
from vault.core.fingerprint import secret_fingerprint, wallet_fingerprint
from vault.core.formats import manifest as mf
from vault.core.secret import Secret, SecretBytes, SecretKind, to_bip39
from vault.core.slip39 import recovery
from vault.core.slip39.share import share_words
from vault.edges import entry, fsio, sources, terminal
from vault.errors import InvalidInput, VaultError
from vault.flows.tokens import TokenOptions, opener
from vault.flows.vaults import anchored_manifest


class OutputFormat(str, enum.Enum):
    BIP39 = "bip39"
    HEX = "hex"
    XPRV = "xprv"
    """The BIP-32 root extended private key of the seed a wallet derives (vault.core.bip32): for wallets other than a Trezor."""


XPRV_WARNING = "warning: this is the wallet's master private key: whoever reads it can spend everything"


@dataclass(frozen=True)
class Fingerprints:
    """What a secret of one kind would be known by: enough to prove, nothing to steal."""

    kind: SecretKind
    bits: int
    secret_fingerprint: str
    wallet_fingerprint: str


@dataclass(frozen=True)
class Recovered:
    shares_used: tuple[str, ...]
    """The fingerprints of the shares the recovery used."""
    found: Fingerprints | None
    """The secret's fingerprints, when its kind is known (from the manifest or --format)."""
    candidates: tuple[Fingerprints, ...]
    """Without a kind: the fingerprints of each kind the value can be."""
    matches_manifest: bool | None
    """True: checked against the manifest (a mismatch raises); None: no manifest given."""
    out: Path | None = None
    revealed: str | None = field(default=None, repr=False)
    """The secret's text, only when --reveal asked for it."""
    anchor: Anchor | None = None
    """What anchored the manifest (None: no manifest given)."""


def recover(
    share_paths: Sequence[Path],
    interactive: bool,
    manifest_path: Path | None,
    passphrase_file: Path | None,
    passphrase_prompt: bool,
    output_format: OutputFormat | None,
    out: Path | None,
    reveal: bool,
    tokens: TokenOptions,
    pins: Pins = Pins(),
) -> Recovered:
    """Recover the secret from a quorum of shares; write or reveal it only when asked.

    A manifest given is anchored by its transcript first (`pins` pin its keys).
    """
    if not share_paths and not interactive:
        raise InvalidInput("no shares given", "give share files, or --interactive to type them")
    if (pins.key or pins.vault_key) is not None and manifest_path is None:
        raise InvalidInput("--key and --vault-key need --manifest: they pin the keys that vouch for the manifest's transcript")
    anchored = anchored_manifest(manifest_path, pins) if manifest_path else None
    manifest = anchored.manifest if anchored else None
    anchor = anchored.anchor if anchored else None
    kind = _kind(manifest, output_format)
    if kind is SecretKind.MASTER_SECRET and output_format is OutputFormat.BIP39:
        raise InvalidInput("the manifest says this vault holds a SLIP-39 master secret, which has no BIP-39 words", "use --format hex")
    if output_format is OutputFormat.XPRV and manifest is None:
        raise InvalidInput(
            "--format xprv needs --manifest: the wallet's seed depends on the secret's kind",
            "add --manifest (a master secret is the BIP-32 seed; BIP-39 entropy gives the seed of its words)",
        )
    if kind is None and (reveal or out is not None):
        raise InvalidInput(
            "without --manifest, say which kind of secret to output",
            "add --manifest, or --format hex (a master secret) or --format bip39 (BIP-39 entropy)",
        )
    if out is not None:
        fsio.check_new_file(out)
    thresholds = tuple(group.member_threshold for group in manifest.scheme.groups) if manifest else ()
    with opener(tokens) as found:
        share_set = sources.collect_shares(list(share_paths), terminal.info, thresholds, found)
    passphrase = _passphrase_before_words(manifest, passphrase_file, passphrase_prompt) if interactive else None
    if interactive:
        share_set = type_shares(share_set, manifest)
    if manifest is not None:
        check_against(share_set, manifest, manifest_path)
    share_set.quorum()  # says what is missing before asking for a passphrase
    if passphrase is None:
        passphrase = sources.read_passphrase(passphrase_file, passphrase_prompt, confirm=False)
    if manifest is not None and manifest.scheme.passphrase_protected and not passphrase:
        raise _no_passphrase()
    value = recovery.recover(share_set, passphrase)
    for unused in share_set.unused():
        terminal.info(f"note: {unused.source} was not needed, so this recovery did not check it")
    used = tuple(share.fingerprint for shares in share_set.quorum().values() for share in shares)
    if kind is None:
        return Recovered(used, None, _candidates(value), None, anchor=anchor)
    secret = Secret(kind, value)
    if manifest is not None:
        verification.check_secret(secret, manifest, passphrase_given=bool(passphrase))
    recovered = Recovered(used, _fingerprints(secret), (), True if manifest is not None else None, anchor=anchor)
    return _output(secret, recovered, output_format, out, reveal)


def _no_passphrase() -> InvalidInput:
    return InvalidInput("the manifest says this vault has a passphrase, and none was given", "give --passphrase-file or --passphrase-prompt")


def _passphrase_before_words(manifest: mf.Manifest | None, path: Path | None, prompt: bool) -> SecretBytes:
    """Before any word is typed: the passphrase given, or, when the manifest says the vault
    has one, asked at the terminal (refused at once without one)."""
    if path is None and not prompt and manifest is not None and manifest.scheme.passphrase_protected:
        if not terminal.interactive():
            raise _no_passphrase()
        prompt = True
    return sources.read_passphrase(path, prompt, confirm=False)


def type_shares(share_set: recovery.ShareSet, manifest: mf.Manifest | None) -> recovery.ShareSet:
    """`share_set` (the shares given as files) and the shares typed until it can recover.

    With a manifest each typed share is checked against it, and its length is known
    from its first words (the vault's identifier and secret size)."""
    if manifest is None:
        return entry.enter_shares(share_set, terminal.read_line, terminal.info)
    lengths = {manifest.scheme.identifier: share_words(manifest.secret.bits)}
    return entry.enter_shares(share_set, terminal.read_line, terminal.info,
                              lambda share: verification.check_share(share, manifest), lengths)


def check_against(share_set: recovery.ShareSet, manifest: mf.Manifest, manifest_path: Path | None) -> None:
    """Every share is of the manifest's vault (an error names the share); one it does not list is noted."""
    for item in share_set.entries:
        try:
            listed = verification.check_share(item.share, manifest)
        except VaultError as error:
            raise error.with_context(item.source) from None
        if listed is None:
            terminal.info(f"note: {item.source} is not listed in {manifest_path}; only the recovered secret can prove it")


def _output(secret: Secret, recovered: Recovered, output_format: OutputFormat | None, out: Path | None, reveal: bool) -> Recovered:
    """Write or reveal the secret, only when asked."""
    if not reveal and out is None:
        return recovered
    chosen = output_format or (OutputFormat.BIP39 if secret.kind is SecretKind.BIP39_ENTROPY else OutputFormat.HEX)
    text = _text(secret, chosen)
    if chosen is OutputFormat.XPRV:
        terminal.info(XPRV_WARNING)
    if out is not None:
        fsio.write_new_file(out, (text + "\n").encode("ascii"))
    return dataclasses.replace(recovered, out=out, revealed=text if reveal else None)


def _text(secret: Secret, chosen: OutputFormat) -> str:
    """The secret as the format asked: BIP-39 words, hex, or the root xprv of the seed a wallet derives from it."""
    if chosen is OutputFormat.BIP39:
        return to_bip39(secret)
    if chosen is OutputFormat.XPRV:
        return bip32.root_xprv(bip32.wallet_seed(secret))
    return secret.value.hex()


def _kind(manifest: mf.Manifest | None, output_format: OutputFormat | None) -> SecretKind | None:
    if manifest is not None:
        return manifest.secret.kind
    if output_format is OutputFormat.BIP39:
        return SecretKind.BIP39_ENTROPY
    if output_format is OutputFormat.HEX:
        return SecretKind.MASTER_SECRET
    return None


def _fingerprints(secret: Secret) -> Fingerprints:
    return Fingerprints(secret.kind, secret.bits, secret_fingerprint(secret), wallet_fingerprint(secret))


def _candidates(value: bytes) -> tuple[Fingerprints, ...]:
    """Without a manifest the kind is unknown: fingerprints for each kind the value can be."""
    candidates = []
    for kind in SecretKind:
        try:
            candidates.append(_fingerprints(Secret(kind, value)))
        except InvalidInput:
            continue  # not a BIP-39 entropy length
    return tuple(candidates)
