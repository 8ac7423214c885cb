"""Finding PKCS#11 modules and the tokens in their slots.

The module is `--module`, else $COLDVAULT_PKCS11_MODULE, else the system's SoftHSM2;
python-pkcs11 is imported only when one is loaded, so commands that never touch a
token never pay for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault.edges.tokens.errors import NoSuchToken, translate
from vault.errors import TokenError

MODULE_ENV = "COLDVAULT_PKCS11_MODULE"
SOFTHSM2_PATHS = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)


@dataclass(frozen=True)
class TokenInfo:
    slot_id: int
    label: str
    serial: str
    manufacturer: str
    model: str
    login_required: bool
    pin_pad: bool
    pin_count_low: bool
    pin_final_try: bool
    pin_locked: bool


def module_path(explicit: Path | None) -> Path:
    """--module, else $COLDVAULT_PKCS11_MODULE, else the system's SoftHSM2."""
    if explicit is not None:
        path, origin = explicit, "--module"
    elif os.environ.get(MODULE_ENV):
        path, origin = Path(os.environ[MODULE_ENV]), MODULE_ENV
    else:
        found = next((Path(p) for p in SOFTHSM2_PATHS if Path(p).exists()), None)
        if found is None:
            raise TokenError(
                "no PKCS#11 module given and no SoftHSM2 found",
                f"give --module PATH (or set {MODULE_ENV}) to your token's PKCS#11 library",
            )
        return found
    if not path.is_file():
        raise TokenError(f"{path}: no such PKCS#11 module ({origin})", "check the path of your token's PKCS#11 library")
    return path


class Module:
    """A loaded PKCS#11 library."""

    def __init__(self, path: Path) -> None:
        import pkcs11

        self.path = path
        try:
            # Absolute: dlopen() treats a bare "libx.so" as a name to search the system for.
            self.lib = pkcs11.lib(str(path.absolute()))
        except pkcs11.PKCS11Error as error:
            raise TokenError(f"{path}: cannot load this PKCS#11 module ({error})") from None

    def tokens(self) -> list[tuple[Any, TokenInfo]]:
        import pkcs11

        found = []
        try:
            for slot in self.lib.get_slots(token_present=True):
                token = slot.get_token()
                if token.flags & pkcs11.TokenFlag.TOKEN_INITIALIZED:  # SoftHSM2 shows an empty spare slot
                    found.append((token, _token_info(slot.slot_id, token)))
        except pkcs11.PKCS11Error as error:
            raise translate(error, "listing tokens") from None
        return found

    def token(self, label: str, serial: str | None = None) -> tuple[Any, TokenInfo]:
        matches = [(t, info) for t, info in self.tokens() if info.label == label and (serial is None or info.serial == serial)]
        if not matches:
            present = ", ".join(sorted(info.label for _, info in self.tokens())) or "none"
            raise NoSuchToken(f'no token labelled "{label}"' + (f" with serial {serial}" if serial else ""),
                              f"tokens present: {present}; is the right one plugged in?")
        if len(matches) > 1:
            serials = ", ".join(info.serial for _, info in matches)
            raise TokenError(f'{len(matches)} tokens are labelled "{label}" (serials {serials})', "name one with its serial")
        return matches[0]


def _token_info(slot_id: int, token: Any) -> TokenInfo:
    from pkcs11 import TokenFlag

    flags = TokenFlag(token.flags)
    serial = token.serial.decode("ascii", "replace") if isinstance(token.serial, bytes) else str(token.serial)
    return TokenInfo(
        slot_id=slot_id,
        label=token.label.strip(),
        serial=serial.strip(),
        manufacturer=str(token.manufacturer_id).strip(),
        model=str(token.model).strip(),
        login_required=bool(flags & TokenFlag.LOGIN_REQUIRED),
        pin_pad=bool(flags & TokenFlag.PROTECTED_AUTHENTICATION_PATH),
        pin_count_low=bool(flags & TokenFlag.USER_PIN_COUNT_LOW),
        pin_final_try=bool(flags & TokenFlag.USER_PIN_FINAL_TRY),
        pin_locked=bool(flags & TokenFlag.USER_PIN_LOCKED),
    )
