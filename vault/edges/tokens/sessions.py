"""Sessions on a token: one per use, closed (and logged out) on exit, also on error.

The PIN comes from a `PinSource` the caller passes in (a PIN file, or a hidden
prompt on a terminal: `vault.edges.sources.pin_source`); this module never prompts. A
wrong PIN is never retried by itself: tokens lock after a few. A public session
(`public_session`) logs in to nothing: it reads the public objects every token shows,
which is how an envelope's key is found before any PIN is asked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from vault.edges.tokens.discovery import Present, TokenInfo
from vault.edges.tokens.errors import translate
from vault.errors import TokenError

PinSource = Callable[[TokenInfo], str]
"""The user PIN of a token that needs one."""


@contextlib.contextmanager
def session(found: Present, pin: PinSource, write: bool = False) -> Iterator[Any]:
    """A logged-in session on the token `found`; closed (and logged out) on exit."""
    import pkcs11

    info = found.info
    if info.pin_locked:
        raise TokenError(f'the PIN of token "{info.label}" is locked', "the token's security officer must unblock it")
    user_pin = pkcs11.PROTECTED_AUTH if info.pin_pad else pin(info) if info.login_required else None
    try:
        opened = found.token.open(user_pin=user_pin, rw=write)
    except pkcs11.PinIncorrect:
        raise _wrong_pin(found) from None
    except pkcs11.PKCS11Error as error:
        raise translate(error, f'logging in to token "{info.label}"') from None
    with _translated(opened, info.label) as live:
        yield live


@contextlib.contextmanager
def public_session(found: Present) -> Iterator[Any]:
    """A session that is not logged in: the token's public objects only; no PIN is asked."""
    import pkcs11

    try:
        opened = found.token.open()
    except pkcs11.PKCS11Error as error:
        raise translate(error, f'opening token "{found.label}"') from None
    with _translated(opened, found.label) as live:
        yield live


@contextlib.contextmanager
def _translated(opened: Any, label: str) -> Iterator[Any]:
    import pkcs11

    with opened as live:
        try:
            yield live
        except pkcs11.PKCS11Error as error:
            raise translate(error, f'on token "{label}"') from None


def _wrong_pin(found: Present) -> TokenError:
    """The wrong-PIN error, with what the token says about the tries left (where it says)."""
    label = found.label
    info = found.reread()
    hints = ["coldvault never retries a PIN by itself; check it and run again"]
    if info is not None and info.pin_locked:
        return TokenError(f'wrong PIN for token "{label}": the PIN is now locked', "the token's security officer must unblock it")
    if info is not None and info.pin_final_try:
        hints.insert(0, "the token says ONE try is left before it locks")
    elif info is not None and info.pin_count_low:
        hints.insert(0, "the token says few tries are left before it locks")
    return TokenError(f'wrong PIN for token "{label}"', *hints)
