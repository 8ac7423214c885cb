"""Finding PKCS#11 modules and the tokens in their slots, across every module a command uses.

A command's modules are each `--module` given, else $COLDVAULT_PKCS11_MODULE, else
the system's SoftHSM2; a plan may add a module for any token it names (`module = ...`
beside the token). Tokens are found by label across all of them; a label that two
modules hold is refused rather than guessed. python-pkcs11 is imported only when a
module is loaded, so commands that never touch a token never pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
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
    module: str
    """The PKCS#11 library it was found through."""


def module_paths(explicit: Sequence[Path]) -> tuple[Path, ...]:
    """Each --module, else $COLDVAULT_PKCS11_MODULE, else the system's SoftHSM2 (none when not installed)."""
    if explicit:
        return tuple(_checked(path, "--module") for path in explicit)
    if os.environ.get(MODULE_ENV):
        return (_checked(Path(os.environ[MODULE_ENV]), MODULE_ENV),)
    return tuple(Path(p) for p in SOFTHSM2_PATHS if Path(p).exists())[:1]


def _checked(path: Path, origin: str) -> Path:
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

    def tokens(self) -> list[Present]:
        """The initialised tokens in this module's slots."""
        import pkcs11

        found = []
        try:
            for slot in self.lib.get_slots(token_present=True):
                token = slot.get_token()
                if token.flags & pkcs11.TokenFlag.TOKEN_INITIALIZED:  # SoftHSM2 shows an empty spare slot
                    found.append(Present(self, slot, token, _token_info(slot.slot_id, token, self.path)))
        except pkcs11.PKCS11Error as error:
            raise translate(error, f"listing the tokens of {self.path}") from None
        return found


@dataclass(frozen=True)
class Present:
    """A token present in a slot of a loaded module."""

    module: Module
    slot: Any
    token: Any
    info: TokenInfo

    @property
    def label(self) -> str:
        return self.info.label

    def reread(self) -> TokenInfo | None:
        """The token's flags as they are now (a wrong PIN changes them); None if it is gone."""
        import pkcs11

        try:
            return _token_info(self.slot.slot_id, self.slot.get_token(), self.module.path)
        except pkcs11.PKCS11Error:
            return None


class Modules:
    """The PKCS#11 libraries of one command, loaded when a token is first needed.

    `pinned` maps token labels to the module a plan names for them: such a token is
    looked for in that module only, and the module is loaded beside the others.
    """

    def __init__(self, explicit: Sequence[Path] = (), pinned: Mapping[str, Path] | None = None) -> None:
        self._explicit = tuple(explicit)
        self._pinned = dict(pinned or {})
        self._loaded: list[Module] | None = None
        self._present: list[Present] | None = None

    def loaded(self) -> list[Module]:
        if self._loaded is None:
            paths = list(module_paths(self._explicit))
            paths += [_checked(path, "the plan's module") for path in self._pinned.values()]
            unique = list({path.resolve(): path for path in paths}.values())
            if not unique:
                raise TokenError(
                    "no PKCS#11 module given and no SoftHSM2 found",
                    f"give --module PATH (or set {MODULE_ENV}) to your token's PKCS#11 library",
                )
            self._loaded = [Module(path) for path in unique]
        return self._loaded

    def present(self) -> list[Present]:
        """Every token present, across the modules (read once per command)."""
        if self._present is None:
            self._present = [found for module in self.loaded() for found in module.tokens()]
        return self._present

    def token(self, label: str) -> Present:
        """The token labelled `label`: exit 4 when none is present, or when several are and nothing says which."""
        pinned = self._pinned.get(label)
        matches = [found for found in self.present() if found.label == label
                   and (pinned is None or found.module.path.resolve() == pinned.resolve())]
        if not matches:
            raise NoSuchToken(f'no token labelled "{label}"' + (f" in {pinned}" if pinned else ""),
                              f"tokens present: {self.labels()}; is the right one plugged in?")
        modules = list(dict.fromkeys(str(found.module.path) for found in matches))
        if len(modules) > 1:
            raise TokenError(f'token "{label}" is present in {len(modules)} PKCS#11 modules: {", ".join(modules)}',
                             "say which: give only that module with --module, or `module = PATH` beside this token in the plan")
        if len(matches) > 1:
            serials = ", ".join(found.info.serial for found in matches)
            raise TokenError(f'{len(matches)} tokens are labelled "{label}" (serials {serials})', "give each token its own label")
        return matches[0]

    def labels(self) -> str:
        """The labels of the tokens present, for a hint ("none" when there are none)."""
        return ", ".join(sorted({found.label for found in self.present()})) or "none"


def _token_info(slot_id: int, token: Any, module: Path) -> TokenInfo:
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
        module=str(module),
    )
