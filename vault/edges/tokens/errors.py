"""PKCS#11 failures, said as the `TokenError` a person can act on (exit 4).

python-pkcs11 raises one exception class per CKR_ return value; `translate` turns
each into what it means here and what to do, with what coldvault was doing when it
happened ("sealing on token \"alice\": the token was removed").
"""

from __future__ import annotations

from vault.errors import TokenError


class NoMatchingKey(TokenError):
    """The token is there and logged in, but holds no key that fits: none with that label or public key, several
    with that label, or one that may not do what is asked (its CKA_DERIVE or CKA_DECRYPT is false). Opening an
    envelope, it is one more way the header's recipient is not here: `Opener.open` says only that it does not open."""


class NoSuchToken(TokenError):
    """No token with that label is present."""


class MechanismMissing(TokenError):
    """The token cannot do what a recipient kind needs of it: `mechanism` (as PKCS#11 names it) is missing or refused."""

    def __init__(self, mechanism: str, message: str, *hints: str) -> None:
        super().__init__(message, *hints)
        self.mechanism = mechanism

    def with_context(self, context: str) -> MechanismMissing:
        return MechanismMissing(self.mechanism, f"{context}: {self.message}", *self.hints)


def translate(error: Exception, doing: str) -> TokenError:
    """A PKCS#11 failure as the `TokenError` a person can act on."""
    import pkcs11

    table: list[tuple[type | tuple[type, ...], str, str]] = [
        (pkcs11.PinLocked, "the PIN is locked", "the token's security officer must unblock it"),
        (pkcs11.PinIncorrect, "wrong PIN", "check it and run again"),
        ((pkcs11.TokenNotPresent, pkcs11.DeviceRemoved), "the token was removed", "plug it in and run again; nothing was written"),
        ((pkcs11.ObjectHandleInvalid, pkcs11.SessionHandleInvalid, pkcs11.SessionClosed),
         "the token's key or session is gone (was the token removed or reset?)", "plug it in and run again; nothing was written"),
        (pkcs11.NoSuchKey, "no such key", "`coldvault token list` shows the keys"),
        (pkcs11.MultipleObjectsReturned, "several keys match", "give keys distinct labels"),
        ((pkcs11.MechanismInvalid, pkcs11.MechanismParamInvalid, pkcs11.FunctionNotSupported),
         "the token does not support this operation", "see docs/envelope.md for what each recipient needs"),
        (pkcs11.KeyTypeInconsistent, "the key is of the wrong type for this", "check the key's type with `coldvault token list`"),
        (pkcs11.TokenWriteProtected, "the token is write-protected", ""),
        (pkcs11.UserNotLoggedIn, "not logged in", "give the token's PIN"),
    ]
    for kinds, what, hint in table:
        if isinstance(error, kinds):
            return TokenError(f"{doing}: {what}", hint)
    return TokenError(f"{doing}: the token failed ({type(error).__name__})")
