"""The tokens of one command: sessions opened once per token, keys found once per recipient.

An `Opener` is a context manager: every session it opened is closed on exit. The
PKCS#11 module is loaded only when the first token is needed, so commands given
plain share files never touch PKCS#11. It opens envelopes with the tokens they name
(or those given with --token), and finds the keys a delivery needs before anything
is sealed to them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import TracebackType
from typing import Any

from vault.core.formats import envelope as ev
from vault.core.recipients.base import KeyQuery
from vault.core.slip39.share import Share
from vault.edges.tokens.discovery import Module, module_path
from vault.edges.tokens.errors import NoMatchingKey, NoSuchToken, translate
from vault.edges.tokens.keys import TokenKey, find
from vault.edges.tokens.sessions import PinSource, session
from vault.errors import TokenError


class Opener:
    """Sessions and keys of the tokens a command uses, logging in once per token."""

    def __init__(self, module: Path | None, pin: PinSource, token_labels: list[str]) -> None:
        self._module_path = module
        self._module: Module | None = None
        self._pin = pin
        self._token_labels = token_labels
        self._sessions: dict[str, Any] = {}
        self._keys: dict[tuple[str, KeyQuery], TokenKey] = {}
        """Keys already found, per token and query: a token search costs more than the
        cryptography (benchmarks/envelopes.py), and a ceremony opens many envelopes."""
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Opener:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._stack.close()

    @property
    def module(self) -> Module:
        if self._module is None:
            self._module = Module(module_path(self._module_path))
        return self._module

    def session(self, label: str, write: bool = False) -> Any:
        """A logged-in session on token `label` (read-write if `write`), opened once for the command."""
        if label not in self._sessions:
            self._sessions[label] = self._stack.enter_context(session(self.module, label, self._pin, write))
        return self._sessions[label]

    def key(self, label: str, query: KeyQuery) -> TokenKey:
        """The key `query` asks for on token `label`, remembered once found."""
        import pkcs11

        cache_key = (label, query)
        if cache_key not in self._keys:
            live = self.session(label)
            try:
                self._keys[cache_key] = find(live, label, query)
            except pkcs11.PKCS11Error as error:
                raise translate(error, f'finding a key on token "{label}"') from None
        return self._keys[cache_key]

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

        wanted = ev.wanted(envelope)
        last: TokenError | None = None
        for label in labels:
            try:
                return ev.unseal(envelope, self.key(label, wanted))
            except (NoSuchToken, NoMatchingKey) as error:  # try the next token given
                last = error
            except pkcs11.PKCS11Error as error:  # e.g. the token was pulled out mid-operation
                raise translate(error, f'on token "{label}"') from None
        assert last is not None
        raise last
