"""`coldvault token list|keygen|pubkey`, and the token flags every command that uses tokens shares.

`TokenOptions` is what a command was told about tokens (--module, --pin-file, --token);
`opener` turns it into the command's `Opener`, with PINs read from their files or
asked for, hidden, when a token needs one.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vault.core.recipients.base import public_key_sha256
from vault.edges import fsio, sources
from vault.edges.tokens import keys
from vault.edges.tokens.discovery import Module, TokenInfo, module_path
from vault.edges.tokens.keys import KeyInfo
from vault.edges.tokens.opener import Opener
from vault.edges.tokens.sessions import session


@dataclass(frozen=True)
class TokenOptions:
    """A command's token flags: the PKCS#11 module, PIN files by token label, tokens that may hold a key."""

    module: Path | None = None
    pin_files: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()


def opener(options: TokenOptions) -> Opener:
    """The command's tokens; the module is loaded only when an envelope or a delivery needs it."""
    return Opener(options.module, sources.pin_source(sources.parse_pin_files(list(options.pin_files))), list(options.labels))


def _session(options: TokenOptions, token: str, write: bool = False) -> AbstractContextManager[Any]:
    """One logged-in session on `token`: PKCS#11 failures inside it become `TokenError`s naming it."""
    module = Module(module_path(options.module))
    return session(module, token, sources.pin_source(sources.parse_pin_files(list(options.pin_files))), write)


@dataclass(frozen=True)
class TokenListing:
    token: TokenInfo
    keys: tuple[KeyInfo, ...] | None
    """None when the token needs a PIN and none was given in a file: its keys were not listed."""


def list_tokens(options: TokenOptions) -> tuple[Path, tuple[TokenListing, ...]]:
    """The module, its tokens, and the keys of those that need no PIN or whose PIN file was given."""
    module = Module(module_path(options.module))
    pin_files = sources.parse_pin_files(list(options.pin_files))
    pin = sources.pin_source(pin_files)
    listings = []
    for _, info in module.tokens():
        found = None
        if info.label in pin_files or not info.login_required:
            with session(module, info.label, pin) as live:
                found = tuple(keys.list_keys(live))
        listings.append(TokenListing(info, found))
    return module.path, tuple(listings)


def keygen(options: TokenOptions, token: str, label: str, key_type: str) -> str:
    """Create a key that never leaves token `token`; its CKA_ID in hex."""
    with _session(options, token, write=True) as live:
        return keys.generate_key(live, key_type, label)


def export_public_key(options: TokenOptions, token: str, label: str, out: Path) -> str:
    """Write the public key of key pair `label` to `out` (PEM); its SHA-256 (how envelopes name it)."""
    fsio.check_new_file(out)
    with _session(options, token) as live:
        public = keys.public_key(live, label)
    fsio.write_new_file(out, public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo), mode=fsio.PUBLIC_FILE_MODE)
    return public_key_sha256(public)
