"""`coldvault token list|keygen|pubkey`, and the token flags every command that uses tokens shares.

`TokenOptions` is what a command was told about tokens (--module, --pin-file, --token);
`opener` turns it into the command's `Opener`, with PINs read from their files or
asked for, hidden, on a terminal. `token list` and `token keygen` say which deliveries
each key opens, proven with a throwaway payload (`vault.flows.capabilities`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vault.core.recipients.base import KeyPairQuery, SecretKeyQuery, public_key_sha256
from vault.edges import fsio, sources
from vault.edges.tokens import keys, mechanisms
from vault.edges.tokens.discovery import Modules, TokenInfo
from vault.edges.tokens.keys import KeyInfo
from vault.edges.tokens.opener import Opener
from vault.flows.capabilities import Proven as Proven  # re-exported: the CLI renders it
from vault.flows.capabilities import listed_kinds, proven


@dataclass(frozen=True)
class TokenOptions:
    """A command's token flags: the PKCS#11 modules, PIN files by token label, tokens that may hold a key."""

    modules: tuple[Path, ...] = ()
    pin_files: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()


def opener(options: TokenOptions, pinned: Mapping[str, Path] | None = None) -> Opener:
    """The command's tokens; the modules are loaded only when an envelope or a delivery needs one.

    `pinned`: the module a plan names for a token, by its label.
    """
    pin = sources.pin_source(sources.parse_pin_files(list(options.pin_files)))
    return Opener(Modules(options.modules, pinned), pin, options.labels)


@dataclass(frozen=True)
class ListedKey:
    key: KeyInfo
    deliveries: tuple[Proven, ...] | None
    """What this key opens, proven on the token; None for public keys."""


@dataclass(frozen=True)
class TokenListing:
    token: TokenInfo
    deliveries: tuple[str, ...]
    """The kinds of envelope whose mechanisms the token lists (not proven)."""
    keys: tuple[ListedKey, ...] | None
    """None when the token needs a PIN and none was given in a file: its keys were not listed."""


def list_tokens(options: TokenOptions) -> tuple[tuple[Path, ...], tuple[TokenListing, ...]]:
    """The modules, their tokens, and the keys of those that need no PIN or whose PIN file was given."""
    pin_files = sources.parse_pin_files(list(options.pin_files))
    listings = []
    with opener(options) as room:
        present = room.modules.present()
        labels = [found.label for found in present]
        for found in present:
            info = found.info
            listed = None
            unique = labels.count(info.label) == 1  # a label in two modules is listed, but not logged in to
            if unique and (info.label in pin_files or not info.login_required):
                live = room.session(info.label)
                listed = tuple(_listed(room, info.label, key, live) for key in keys.list_keys(live))
            listings.append(TokenListing(info, listed_kinds(mechanisms.read(found.slot, info.label)), listed))
        paths = tuple(module.path for module in room.modules.loaded())
    return paths, tuple(listings)


def _listed(room: Opener, label: str, key: KeyInfo, live: Any) -> ListedKey:
    """A key as listed, with the deliveries it was proven to open (private and secret keys)."""
    if key.object_class == "public":
        return ListedKey(key, None)
    if key.object_class == "secret":
        if key.key_type != "aes":
            return ListedKey(key, ())
        return ListedKey(key, proven(label, room.key(label, SecretKeyQuery(key.label, key.id or None)), secret=True))
    public = [k for k in keys.list_keys(live) if k.object_class == "public" and k.public_key_sha256
              and (k.id == key.id if key.id else k.label == key.label)]
    if len(public) != 1:
        return ListedKey(key, ())  # no public key beside it: nothing can be sealed to it
    assert public[0].public_key_sha256 is not None
    return ListedKey(key, proven(label, room.key(label, KeyPairQuery(public[0].public_key_sha256)), secret=False))


@dataclass(frozen=True)
class Made:
    key_id: str
    deliveries: tuple[Proven, ...]
    public_key_sha256: str | None


def keygen(options: TokenOptions, token: str, label: str, key_type: str) -> Made:
    """Create a key that never leaves token `token`; its CKA_ID in hex, and what it was proven to open."""
    with opener(options) as room:
        live = room.session(token, write=True)
        key_id = keys.generate_key(live, key_type, label)
        if key_type == "aes":
            return Made(key_id, proven(token, room.key(token, SecretKeyQuery(label, key_id)), secret=True), None)
        digest = public_key_sha256(keys.public_key(live, label))
        return Made(key_id, proven(token, room.key(token, KeyPairQuery(digest)), secret=False), digest)


def export_public_key(options: TokenOptions, token: str, label: str, out: Path) -> str:
    """Write the public key of key pair `label` to `out` (PEM); its SHA-256 (how envelopes name it)."""
    fsio.check_new_file(out)
    with opener(options) as room:
        public = keys.public_key(room.session(token), label)
    fsio.write_new_file(out, public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo), mode=fsio.PUBLIC_FILE_MODE)
    return public_key_sha256(public)
