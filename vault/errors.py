"""One error hierarchy for everything a user can get wrong or a check can find.

Every class carries the exit code the spec assigns to it, and every instance
carries a message (one line, no secret) and optional hints (what to do next).
The CLI catches `VaultError` in one place and prints::

    error: <message>
    hint: <hint>

Caller mistakes inside the code (a programming error, not user input) stay
`ValueError`/`TypeError` and are bugs, not user-facing errors.
"""

from __future__ import annotations


class VaultError(Exception):
    """Base class: a failure explained to the user, with the spec's exit code."""

    exit_code: int = 3

    def __init__(self, message: str, *hints: str) -> None:
        super().__init__(message)
        self.message = message
        self.hints: tuple[str, ...] = tuple(h for h in hints if h)

    def with_context(self, context: str) -> "VaultError":
        """The same error with `context` (a file, a share) in front of the message.

        Subclasses keep this constructor's signature, so the copy is exact.
        """
        return type(self)(f"{context}: {self.message}", *self.hints)


class CheckFailed(VaultError):
    """A check ran and failed: verify, drill, transcript, fingerprint mismatch (exit 1)."""

    exit_code = 1


class InvalidInput(VaultError):
    """Bad input: a mnemonic, file, plan, passphrase, or too few shares (exit 3)."""

    exit_code = 3


class ShareError(InvalidInput):
    """A share mnemonic is malformed, fails its checksum, or does not fit the set."""


class TokenError(VaultError):
    """PKCS#11: no module, no token, wrong PIN, no key (exit 4)."""

    exit_code = 4


class WriteRefused(VaultError):
    """Refused or failed to write: an existing output, permissions, disk (exit 5)."""

    exit_code = 5
