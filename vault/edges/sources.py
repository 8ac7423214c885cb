"""Where secrets come from: files, hidden prompts, or standard input. Never argv.

An edge module: it reads, then hands text to the pure parsers in `vault.core.secret`
and `vault.core.slip39.share`, putting the file name in front of any error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from vault.core import secret
from vault.core.formats import envelope, sharefile
from vault.core.proof import Given
from vault.core.secret import Secret, SecretBytes
from vault.core.slip39.recovery import Entry, ShareSet
from vault.core.slip39.share import Share, check_passphrase
from vault.edges import fsio, terminal
from vault.edges.tokens.discovery import TokenInfo
from vault.edges.tokens.opener import Opener
from vault.edges.tokens.sessions import PinSource
from vault.errors import InvalidInput, TokenError, VaultError

T = TypeVar("T")


def _parse_file(path: Path, parse: Callable[[str], T], read: Callable[[Path], str] = fsio.read_text) -> T:
    """`parse` the text of `path`; its errors name the file."""
    text = read(path)
    try:
        return parse(text)
    except VaultError as error:
        raise error.with_context(str(path)) from None


def read_secret(generate: int | None, bip39_file: Path | None, secret_file: Path | None) -> Secret:
    """The secret to split, from exactly one source (or a prompt/stdin when none is given)."""
    given = [flag for flag, value in (("--generate", generate), ("--bip39-file", bip39_file), ("--secret-file", secret_file)) if value is not None]
    if len(given) > 1:
        raise InvalidInput(f"give one secret source, not {' and '.join(given)}")
    if generate is not None:
        return secret.generate(generate)
    if bip39_file is not None:
        return _parse_file(bip39_file, secret.from_bip39)
    if secret_file is not None:
        return _parse_file(secret_file, secret.from_hex)
    if terminal.interactive():
        return terminal.ask_secret("Seed (BIP-39 words, or the master secret in hex; not shown): ", "seed",
                                   _parse_typed_secret, _repeat_hex)
    return _parse_typed_secret(terminal.read_all_stdin())


def _repeat_hex(typed: Secret) -> str | None:
    """A master secret in hex has no checksum: it is typed twice. BIP-39 words have one."""
    return "master secret" if typed.kind is secret.SecretKind.MASTER_SECRET else None


def _parse_typed_secret(text: str) -> Secret:
    """One hex token is a master secret; several words are a BIP-39 mnemonic."""
    tokens = text.split()
    if not tokens:
        raise InvalidInput(
            "no secret given",
            "type or pipe BIP-39 words or a hex master secret, or use --generate, --bip39-file or --secret-file",
        )
    if len(tokens) == 1:
        return secret.from_hex(tokens[0])
    return secret.from_bip39(text)


def read_passphrase(path: Path | None, prompt: bool, confirm: bool) -> SecretBytes:
    """The SLIP-39 passphrase: from a file, a hidden prompt, or empty (SLIP-39's default).

    Held as `SecretBytes` (zeroed when dropped); the text it was read as cannot be.
    """
    if path is not None and prompt:
        raise InvalidInput("give --passphrase-file or --passphrase-prompt, not both")
    if path is not None:
        passphrase = _parse_file(path, check_passphrase, read=fsio.read_line_file)
    elif prompt:
        repeat: Callable[[bytes], str | None] = (lambda _: "passphrase") if confirm else (lambda _: None)
        passphrase = terminal.ask_secret("SLIP-39 passphrase (not shown): ", "passphrase", check_passphrase, repeat)
    else:
        passphrase = b""
    return SecretBytes(passphrase)


def parse_pin_files(values: list[str]) -> dict[str, Path]:
    """`--pin-file LABEL=PATH`, repeatable."""
    pins: dict[str, Path] = {}
    for value in values:
        label, separator, path = value.partition("=")
        if not separator or not label or not path:
            raise InvalidInput(f'--pin-file "{value}" is not LABEL=PATH', "e.g. --pin-file custodian-1=pin.txt")
        if label in pins:
            raise InvalidInput(f'--pin-file names token "{label}" twice')
        pins[label] = Path(path)
    return pins


def pin_source(pin_files: Mapping[str, Path]) -> PinSource:
    """A token's PIN from its --pin-file, else from a hidden prompt on a terminal.

    Never from a pipe: a PIN read from standard input would be a PIN some script
    meant for another prompt, and each wrong one costs a try on the token.
    """

    def pin(token: TokenInfo) -> str:
        if token.label in pin_files:
            try:
                return fsio.read_line_file(pin_files[token.label])
            except VaultError as error:
                raise error.with_context("--pin-file") from None
        if not terminal.interactive():
            raise TokenError(f'token "{token.label}" needs its PIN, and there is no terminal to ask for it on',
                             f"give --pin-file {token.label}=PATH (a file holding the PIN, mode 0600)")
        return terminal.hidden(f'PIN for token "{token.label}" (not shown): ')

    return pin


def read_envelope(path: Path) -> envelope.Envelope:
    return _parse_file(path, envelope.from_json)


def read_share_file(path: Path, opener: Opener | None = None) -> Share:
    """The share in a share file, or in an envelope opened with `opener`'s tokens."""
    text = fsio.read_text(path)
    try:
        return _share_of(text, opener)
    except VaultError as error:
        raise error.with_context(str(path)) from None


def read_given(path: Path, opener: Opener | None = None) -> Given:
    """A share for verification: a bad share is a result, not an error; unreadable
    files and token failures (no token, wrong PIN) still stop the command."""
    text = fsio.read_text(path)
    try:
        return Given(str(path), _share_of(text, opener))
    except InvalidInput as error:
        return Given(str(path), None, error.message)
    except VaultError as error:
        raise error.with_context(str(path)) from None


def _share_of(text: str, opener: Opener | None) -> Share:
    if not envelope.looks_like_envelope(text):
        return sharefile.parse(text)
    sealed = envelope.from_json(text)
    if opener is None:
        raise InvalidInput("this is an envelope; this command does not open envelopes")
    return opener.open(sealed)


def collect_shares(
    paths: list[Path], say: Callable[[str], None], member_thresholds: tuple[int, ...] = (), opener: Opener | None = None
) -> ShareSet:
    """Read share files and envelopes into one set: duplicates are reported and skipped, misfits refused."""
    share_set = ShareSet(member_thresholds=member_thresholds)
    for path in paths:
        share = read_share_file(path, opener)
        duplicate = share_set.find(share)
        if duplicate:
            say(f"note: {path}: the same share as {duplicate.source}; ignored")
            continue
        try:
            share_set = share_set.add(Entry(str(path), share))
        except VaultError as error:
            raise error.with_context(str(path)) from None
    return share_set
