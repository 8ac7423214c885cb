"""The tokens of one command: sessions opened once per token, keys found once per recipient.

An `Opener` is a context manager: every session it opened is closed on exit. The
PKCS#11 modules are loaded only when the first token is needed, so commands given
plain share files never touch PKCS#11.

An envelope sealed to a public key names its recipient by the SHA-256 of that key,
so its token is found by looking at the public objects of every token present,
without logging in; the PIN is then asked for that token only. The token label an
envelope records is a hint for tokens that keep their public keys private. `--token`
is honoured exactly: only the tokens it names are used, and each must be present.
Which token and key an envelope names is its unauthenticated header's say, so an
envelope that does not open with the keys here is one opaque error, whatever the
reason (docs/envelope.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from vault.core.formats import envelope as ev
from vault.core.recipients.base import DOES_NOT_OPEN, KeyPairQuery, KeyQuery, SecretKeyQuery
from vault.core.slip39.share import Share
from vault.edges.tokens import mechanisms
from vault.edges.tokens.discovery import Modules, Present
from vault.edges.tokens.errors import MechanismMissing, NoMatchingKey, NoSuchToken, translate
from vault.edges.tokens.keys import TokenKey, find, public_key_hashes
from vault.edges.tokens.sessions import PinSource, public_session, session


class Opener:
    """Sessions and keys of the tokens a command uses, logging in once per token."""

    def __init__(self, modules: Modules, pin: PinSource, token_labels: Sequence[str] = ()) -> None:
        self.modules = modules
        self._pin = pin
        self._token_labels = list(dict.fromkeys(token_labels))
        self._sessions: dict[str, Any] = {}
        self._public: dict[str, set[str]] = {}
        self._mechanisms: dict[str, mechanisms.Mechanisms] = {}
        self._keys: dict[tuple[str, KeyQuery], TokenKey] = {}
        """Keys already found, per token and query: a token search costs more than the
        cryptography (benchmarks/envelopes.py), and a ceremony opens many envelopes."""
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Opener:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._stack.close()
        if error is not None and type(error).__module__.startswith("pkcs11"):  # a token failure nothing below said in words
            raise translate(error if isinstance(error, Exception) else Exception(), "on a token") from None

    def token(self, label: str) -> Present:
        """The token labelled `label`; exit 4 listing the tokens present when it is not."""
        return self.modules.token(label)

    def session(self, label: str, write: bool = False) -> Any:
        """A logged-in session on token `label` (read-write if `write`), opened once for the command."""
        if label not in self._sessions:
            self._sessions[label] = self._stack.enter_context(session(self.token(label), self._pin, write))
        return self._sessions[label]

    def mechanisms(self, label: str) -> mechanisms.Mechanisms:
        """What token `label` says it can do (its mechanism list), read once."""
        if label not in self._mechanisms:
            self._mechanisms[label] = mechanisms.read(self.token(label).slot, label)
        return self._mechanisms[label]

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

    def shows(self, found: Present, query: KeyPairQuery) -> bool:
        """Whether `found` shows the public key `query` names among its public objects (no PIN asked)."""
        if found.label not in self._public:
            with public_session(found) as live:
                self._public[found.label] = public_key_hashes(live)
        return query.public_key_sha256 in self._public[found.label]

    def holder(self, query: KeyPairQuery, named: str | None = None) -> str | None:
        """The label of a token present that shows the public key `query` names (`named`, when it is one of them)."""
        holding = [found.label for found in self.modules.present() if self.shows(found, query)]
        return named if named in holding else holding[0] if holding else None

    def open(self, envelope: ev.Envelope) -> Share:
        """The share inside `envelope`, opened with the key its header names.

        The header is authenticated only by opening the envelope, so whatever it decides
        fails as one opaque `EnvelopeDoesNotOpen`, the same words for every field
        (docs/envelope.md): no token here holds the token or key it names, that key
        cannot do what it names (an OAEP hash), or it does not authenticate. What is
        not the envelope's doing is said as it is: a --token that is not present, a
        PIN, a token pulled out mid-operation.
        """
        import pkcs11

        wanted = ev.wanted(envelope)
        for label in self._candidates(envelope, wanted):
            try:
                return ev.unseal(envelope, self.key(label, wanted))
            except (NoSuchToken, NoMatchingKey, MechanismMissing, ev.EnvelopeDoesNotOpen):  # what the header chose: the next token
                continue
            except pkcs11.PKCS11Error as error:  # e.g. the token was pulled out mid-operation
                raise translate(error, f'on token "{label}"') from None
        raise ev.EnvelopeDoesNotOpen(
            DOES_NOT_OPEN,
            f"it opens only with the key it was sealed to: plug in the token that holds it (tokens present: {self.modules.labels()})",
            "give --token LABEL for a token that keeps its public keys private; `coldvault token list` shows each token's keys",
        )

    def _candidates(self, envelope: ev.Envelope, wanted: KeyQuery) -> list[str]:
        """The tokens that may open `envelope`, in the order to try them (a PIN is asked only when one is tried)."""
        if self._token_labels:  # --token: exactly these, each present (exit 4 naming those that are)
            given = [self.token(label) for label in self._token_labels]
            if isinstance(wanted, KeyPairQuery):
                showing = [found.label for found in given if self.shows(found, wanted)]
                return showing or [found.label for found in given]  # a token may keep its public keys private
            return [found.label for found in given]
        named = envelope.recipient.token_label
        if isinstance(wanted, SecretKeyQuery):
            return [named] if named else []
        holder = self.holder(wanted, named)
        if holder is not None:
            return [holder]
        return [named] if named else []  # the named one absent, or keeping its public keys private; none: no PIN is asked
