"""Sealing shares to tokens and opening envelopes with them: `vault.core.formats.envelope` + `vault.edges.tokens`.

An edge: it talks to tokens. The format and the software cryptography are in
`vault.core.formats.envelope`; this module only decides which token and key to use, and hands
the token's results to the format. Every envelope sealed with a token present is
opened again before it is reported sealed: a share must never be sealed to a key
that cannot open it.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from vault.core.formats import envelope as ev
from vault.core.slip39.share import Share
from vault.edges import tokens
from vault.errors import CheckFailed, InvalidInput, TokenError

KeyFinder = Callable[..., Any]
"""find(kind, name, key_id=None) -> a key; see `_find_key`."""


class Opener:
    """Opens envelopes with the tokens they name (or the ones given), logging in once per token.

    Use as a context manager: every session it opened is closed on exit. The module
    is loaded only when the first envelope arrives, so commands given plain share
    files never touch PKCS#11.
    """

    def __init__(self, module_path: Path | None, pins: Mapping[str, Path], token_labels: list[str]) -> None:
        self._module_path = module_path
        self._module: tokens.Module | None = None
        self._pins = pins
        self._token_labels = token_labels
        self._sessions: dict[str, Any] = {}
        self._keys: dict[tuple[str, ...], Any] = {}
        """Keys already found, per token and recipient: a token search costs more than the
        cryptography (benchmarks/envelopes.py), and a ceremony opens many envelopes."""
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "Opener":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._stack.close()

    @property
    def module(self) -> tokens.Module:
        if self._module is None:
            self._module = tokens.Module(tokens.module_path(self._module_path))
        return self._module

    def session(self, label: str) -> Any:
        if label not in self._sessions:
            self._sessions[label] = self._stack.enter_context(tokens.session(self.module, label, self._pins))
        return self._sessions[label]

    def key_finder(self, label: str) -> KeyFinder:
        """Looks keys up on token `label`, remembering what it found."""
        live = self.session(label)

        def find(kind: str, name: str, key_id: str | None = None) -> Any:
            import pkcs11

            cache_key = (label, kind, name, key_id or "")
            if cache_key not in self._keys:
                try:
                    self._keys[cache_key] = _find_key(live, kind, name, key_id)
                except pkcs11.PKCS11Error as error:
                    raise tokens.translate(error, f'finding a key on token "{label}"') from None
            return self._keys[cache_key]

        return find

    def open(self, envelope: ev.Envelope) -> Share:
        """The share inside `envelope`; raises saying which token or key is missing, or that it does not open."""
        named = envelope.recipient.token_label
        labels = ([named] if named else []) + [label for label in self._token_labels if label != named]
        if not labels:
            raise TokenError(
                "the envelope does not name its token",
                "give --token LABEL (repeatable) for the tokens that may hold its key",
            )
        import pkcs11

        last: TokenError | None = None
        for label in labels:
            try:
                return open_in_session(self.session(label), envelope, self.key_finder(label))
            except (tokens.NoSuchToken, tokens.NoMatchingKey) as error:  # try the next token given
                last = error
            except pkcs11.PKCS11Error as error:  # e.g. the token was pulled out mid-operation
                raise tokens.translate(error, f'on token "{label}"') from None
        assert last is not None
        raise last


def open_in_session(live: Any, envelope: ev.Envelope, find: KeyFinder | None = None) -> Share:
    """Open `envelope` with keys on the token of the session `live` (found through `find`, if given)."""
    import pkcs11

    recipient = envelope.recipient
    if find is None:
        find = functools.partial(_find_key, live)
    if recipient.kind == ev.KIND_TOKEN_AES:
        assert recipient.key_label is not None
        key = find(ev.KIND_TOKEN_AES, recipient.key_label, recipient.key_id)
        try:
            text = tokens.aes_gcm(key, False, envelope.nonce, envelope.associated_data(), envelope.ciphertext)
        except pkcs11.PKCS11Error:
            raise _does_not_open() from None
        return ev.check_opened(envelope, text)
    assert recipient.public_key_sha256 is not None
    private, public, _ = find(recipient.kind, recipient.public_key_sha256)
    if recipient.kind == ev.KIND_ECDH_P256:
        assert envelope.ephemeral_public_key is not None
        try:
            shared_x = tokens.ecdh_shared_x(private, envelope.ephemeral_public_key)
        except pkcs11.PKCS11Error:
            raise _does_not_open() from None
        data_key = ev.ecdh_data_key(shared_x, envelope.ephemeral_public_key, ev.point_bytes(public))
    else:
        assert envelope.wrapped_key is not None and recipient.oaep_hash is not None
        try:
            data_key = tokens.rsa_oaep_decrypt(private, envelope.wrapped_key, recipient.oaep_hash)
        except (pkcs11.MechanismInvalid, pkcs11.MechanismParamInvalid, pkcs11.ArgumentsBad):
            raise TokenError(
                f"this token cannot do RSA-OAEP with {recipient.oaep_hash.upper()}",
                "seal to it with --oaep-hash sha1 (SoftHSM2 2.6 supports no other)",
            ) from None
        except pkcs11.PKCS11Error:
            raise _does_not_open() from None
    return ev.open_with_data_key(envelope, data_key)


def _find_key(live: Any, kind: str, name: str, key_id: str | None = None) -> Any:
    """AES: the secret key labelled `name` (and `key_id`); any other kind: the private key
    whose public key's SHA-256 is `name`, with that public key and its label."""
    if kind == ev.KIND_TOKEN_AES:
        return tokens.secret_key(live, name, key_id)
    return tokens.private_key_for(live, name)


def _does_not_open() -> ev.EnvelopeDoesNotOpen:
    return ev.EnvelopeDoesNotOpen("the envelope does not open: it was altered, or it is sealed to another key")


def seal_with_token_key(
    opener: Opener,
    token_label: str,
    key_label: str,
    share: Share,
    *,
    ceremony_id: str | None = None,
    custodian: str | None = None,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> ev.Envelope:
    """Seal with an AES key on the token (CKM_AES_GCM; the key never leaves it), then open it again."""
    import pkcs11

    key = opener.key_finder(token_label)(ev.KIND_TOKEN_AES, key_label, None)
    nonce = random_bytes(ev.NONCE_LENGTH_BYTES)
    try:  # reading the key's id talks to the token too: a token pulled out fails here
        recipient = ev.Recipient(ev.KIND_TOKEN_AES, token_label, key_label, key_id=(key.id or b"").hex() or None)
        sealed = ev.template(share, recipient, ceremony_id, custodian)
        ciphertext = tokens.aes_gcm(key, True, nonce, sealed.associated_data(), ev.plaintext(share))
    except pkcs11.PKCS11Error as error:
        raise tokens.translate(error, f'sealing on token "{token_label}"') from None
    sealed = replace(sealed, nonce=nonce, ciphertext=ciphertext)
    prove_opens(opener, sealed, share)
    return sealed


def prove_opens(opener: Opener, sealed: ev.Envelope, share: Share) -> None:
    """Open `sealed` with its token and check it gives `share` back; raise if not."""
    if opener.open(sealed) != share:
        raise CheckFailed("the sealed envelope opened to a different share; nothing was written")


def token_for_public_key(opener: Opener, labels: list[str], public_key: Any) -> tuple[str, str] | None:
    """(token label, key label) of the given tokens that holds the private key of `public_key`, if any."""
    digest = ev.public_key_sha256(public_key)
    for label in labels:
        try:
            _, _, key_label = opener.key_finder(label)(ev.KIND_ECDH_P256, digest)
        except tokens.NoMatchingKey:
            continue
        return label, key_label
    if labels:
        raise InvalidInput(
            f"none of the tokens given ({', '.join(labels)}) holds the private key of that public key",
            "sealing to it would make an envelope those tokens cannot open",
        )
    return None
