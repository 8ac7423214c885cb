"""The PKCS#11 edge: load a module, find tokens, log in, and use keys that never leave.

Built on python-pkcs11, imported only here and only when a command needs a token
(so `coldvault --help` stays fast). Every PKCS#11 failure becomes a `TokenError`
(exit 4) that says what to do; sessions and logins are closed by context managers,
also on error. A wrong PIN is never retried by itself: tokens lock after a few.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault.edges import fsio, terminal
from vault.errors import InvalidInput, TokenError, VaultError, WriteRefused

MODULE_ENV = "COLDVAULT_PKCS11_MODULE"
SOFTHSM2_PATHS = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)
AES_KEY_BITS = 256
RSA_KEY_BITS = 3072
EC_CURVE = "secp256r1"
KEY_ID_LENGTH_BYTES = 8


class NoMatchingKey(TokenError):
    """The token is there and logged in, but holds no key that fits."""


class NoSuchToken(TokenError):
    """No token with that label is present."""


@dataclass(frozen=True)
class KeyInfo:
    object_class: str
    """"secret", "private" or "public"."""
    key_type: str
    label: str
    id: str
    extractable: bool | None
    sensitive: bool | None


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


# ---------------------------------------------------------------- module and tokens


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
                    found.append((token, _token_info(slot.slot_id, token, pkcs11)))
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


def _token_info(slot_id: int, token: Any, pkcs11: Any) -> TokenInfo:
    flags = pkcs11.TokenFlag(token.flags)
    serial = token.serial.decode("ascii", "replace") if isinstance(token.serial, bytes) else str(token.serial)
    return TokenInfo(
        slot_id=slot_id,
        label=token.label.strip(),
        serial=serial.strip(),
        manufacturer=str(token.manufacturer_id).strip(),
        model=str(token.model).strip(),
        login_required=bool(flags & pkcs11.TokenFlag.LOGIN_REQUIRED),
        pin_pad=bool(flags & pkcs11.TokenFlag.PROTECTED_AUTHENTICATION_PATH),
        pin_count_low=bool(flags & pkcs11.TokenFlag.USER_PIN_COUNT_LOW),
        pin_final_try=bool(flags & pkcs11.TokenFlag.USER_PIN_FINAL_TRY),
        pin_locked=bool(flags & pkcs11.TokenFlag.USER_PIN_LOCKED),
    )


# ---------------------------------------------------------------- PINs and sessions


def parse_pin_files(values: list[str]) -> dict[str, Path]:
    """`--pin-file LABEL=PATH`, repeatable."""
    pins: dict[str, Path] = {}
    for value in values:
        label, separator, path = value.partition("=")
        if not separator or not label or not path:
            raise InvalidInput(f'--pin-file "{value}" is not LABEL=PATH', "e.g. --pin-file custodian-1=pin.txt")
        if label in pins:
            raise InvalidInput(f'--pin-file names token "{label}" twice')
        pins[label] = Path(path)
    return pins


def _pin(info: TokenInfo, pins: Mapping[str, Path]) -> str | None:
    if not info.login_required:
        return None
    if info.label in pins:
        path = pins[info.label]
        try:
            return fsio.read_line_file(path)
        except VaultError as error:
            raise error.with_context("--pin-file") from None
    return terminal.hidden(f'PIN for token "{info.label}" (not shown): ')


@contextlib.contextmanager
def session(module: Module, label: str, pins: Mapping[str, Path], write: bool = False) -> Iterator[Any]:
    """A logged-in session on the token labelled `label`; closed (and logged out) on exit."""
    import pkcs11

    token, info = module.token(label)
    if info.pin_locked:
        raise TokenError(f'the PIN of token "{label}" is locked', "the token's security officer must unblock it")
    pin = pkcs11.PROTECTED_AUTH if info.pin_pad else _pin(info, pins)
    try:
        opened = token.open(user_pin=pin, rw=write)
    except pkcs11.PinIncorrect:
        raise _wrong_pin(module, label) from None
    except pkcs11.PKCS11Error as error:
        raise translate(error, f'logging in to token "{label}"') from None
    with opened as live:
        try:
            yield live
        except pkcs11.PKCS11Error as error:
            raise translate(error, f'on token "{label}"') from None


@contextlib.contextmanager
def open_token(module: Path | None, label: str, pin_files: list[str], write: bool = False) -> Iterator[Any]:
    """`session` from the CLI's --module and --pin-file values."""
    with session(Module(module_path(module)), label, parse_pin_files(pin_files), write) as live:
        yield live


def _wrong_pin(module: Module, label: str) -> TokenError:
    """The wrong-PIN error, with what the token says about the tries left (where it says)."""
    try:
        _, info = module.token(label)
    except TokenError:
        info = None
    hints = ["coldvault never retries a PIN by itself; check it and run again"]
    if info is not None and info.pin_locked:
        return TokenError(f'wrong PIN for token "{label}": the PIN is now locked', "the token's security officer must unblock it")
    if info is not None and info.pin_final_try:
        hints.insert(0, "the token says ONE try is left before it locks")
    elif info is not None and info.pin_count_low:
        hints.insert(0, "the token says few tries are left before it locks")
    return TokenError(f'wrong PIN for token "{label}"', *hints)


def translate(error: Exception, doing: str) -> VaultError:
    """A PKCS#11 failure as the `TokenError` a person can act on."""
    import pkcs11

    table: list[tuple[type, str, str]] = [
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


# ---------------------------------------------------------------- keys


def list_keys(live: Any) -> list[KeyInfo]:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    classes = {ObjectClass.SECRET_KEY: "secret", ObjectClass.PRIVATE_KEY: "private", ObjectClass.PUBLIC_KEY: "public"}
    keys = []
    for object_class, name in classes.items():
        for key in list(live.get_objects({Attribute.CLASS: object_class, Attribute.TOKEN: True})):
            keys.append(KeyInfo(
                object_class=name,
                key_type=_key_type_name(key, pkcs11),
                label=key.label or "",
                id=(key.id or b"").hex(),
                extractable=None if name == "public" else bool(key[Attribute.EXTRACTABLE]),
                sensitive=None if name == "public" else bool(key[Attribute.SENSITIVE]),
            ))
    return keys


def _key_type_name(key: Any, pkcs11: Any) -> str:
    names = {pkcs11.KeyType.AES: "aes", pkcs11.KeyType.EC: "ec", pkcs11.KeyType.RSA: "rsa"}
    return names.get(key.key_type, str(key.key_type).split(".")[-1].lower())


def generate_key(live: Any, key_type: str, label: str) -> str:
    """Create a key (pair) that can never leave the token; returns its CKA_ID (hex)."""
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_named_curve_parameters

    if any(key.label == label for key in list_keys(live)):
        raise WriteRefused(f'the token already has a key labelled "{label}"', "choose another --label")
    key_id = secrets.token_bytes(KEY_ID_LENGTH_BYTES)
    private = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True}
    if key_type == "aes":
        live.generate_key(KeyType.AES, AES_KEY_BITS, label=label, id=key_id, store=True,
                          template={**private, Attribute.ENCRYPT: True, Attribute.DECRYPT: True,
                                    Attribute.WRAP: False, Attribute.UNWRAP: False})
    elif key_type == "ec":
        parameters = live.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(EC_CURVE)}, local=True
        )
        parameters.generate_keypair(store=True, label=label, id=key_id,
                                    private_template={**private, Attribute.DERIVE: True},
                                    public_template={Attribute.PRIVATE: False})
    elif key_type == "rsa":
        live.generate_keypair(KeyType.RSA, RSA_KEY_BITS, store=True, label=label, id=key_id,
                              private_template={**private, Attribute.DECRYPT: True, Attribute.SIGN: False},
                              public_template={Attribute.PRIVATE: False})
    else:
        raise ValueError(f"key type {key_type!r}")
    return key_id.hex()


def public_key(live: Any, label: str) -> Any:
    """The `cryptography` public key of the key pair labelled `label`."""
    import pkcs11
    from pkcs11 import KeyType, ObjectClass

    try:
        key = live.get_key(object_class=ObjectClass.PUBLIC_KEY, label=label)
    except pkcs11.NoSuchKey:
        raise TokenError(f'no public key labelled "{label}" on this token', "`coldvault token list` shows the keys") from None
    except pkcs11.MultipleObjectsReturned:
        raise TokenError(f'several public keys are labelled "{label}"', "give keys distinct labels") from None
    return _to_cryptography(key, KeyType, pkcs11)


def ecdsa_sign(live: Any, label: str, digest: bytes) -> tuple[bytes, Any]:
    """Sign a SHA-256 digest with the EC P-256 private key labelled `label` (CKM_ECDSA).

    Returns the raw signature r||s (64 bytes, as PKCS#11 gives it) and the key's public
    key, so the caller can check the signature before relying on it.
    """
    import pkcs11
    from pkcs11 import KeyType, Mechanism, ObjectClass

    try:
        private = live.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC, label=label)
    except pkcs11.NoSuchKey:
        raise NoMatchingKey(f'no EC private key labelled "{label}" on this token', "create one with `coldvault token keygen --type ec`") from None
    except pkcs11.MultipleObjectsReturned:
        raise TokenError(f'several EC private keys are labelled "{label}"', "give keys distinct labels") from None
    public = public_key(live, label)
    return bytes(private.sign(digest, mechanism=Mechanism.ECDSA)), public


def _to_cryptography(key: Any, KeyType: Any, pkcs11: Any) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_public_key
    from pkcs11.util.ec import encode_ec_public_key
    from pkcs11.util.rsa import encode_rsa_public_key

    if key.key_type == KeyType.EC:
        return load_der_public_key(encode_ec_public_key(key))
    if key.key_type == KeyType.RSA:
        return load_der_public_key(encode_rsa_public_key(key))
    raise TokenError(f'the key "{key.label}" is neither EC nor RSA', "seal to an EC P-256 or RSA key")


def private_key_for(live: Any, public_key_sha256: str) -> tuple[Any, Any, str]:
    """(private key, its public key as `cryptography`, label) whose public key hashes to the given SPKI SHA-256."""
    import pkcs11
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from pkcs11 import Attribute, KeyType, ObjectClass

    # Materialised first: PKCS#11 allows one object search at a time per session.
    for candidate in list(live.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY})):
        if candidate.key_type not in (KeyType.EC, KeyType.RSA):
            continue
        public = _to_cryptography(candidate, KeyType, pkcs11)
        spki = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        if hashlib.sha256(spki).hexdigest() != public_key_sha256:
            continue
        template = {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: candidate.key_type}
        if candidate.id:
            template[Attribute.ID] = candidate.id
        else:
            template[Attribute.LABEL] = candidate.label
        privates = list(live.get_objects(template))
        if len(privates) == 1:
            return privates[0], public, candidate.label or ""
    raise NoMatchingKey("no key on this token matches the envelope's recipient", "the envelope is sealed to another token or key")


def secret_key(live: Any, label: str, key_id: str | None) -> Any:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    template: dict[Any, Any] = {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label}
    if key_id:
        template[Attribute.ID] = bytes.fromhex(key_id)
    keys = list(live.get_objects(template))
    if not keys:
        key_pairs = [c for c in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY) if list(live.get_objects({Attribute.CLASS: c, Attribute.LABEL: label}))]
        if key_pairs:
            raise TokenError(f'the key "{label}" is not an AES key', "seal with --key naming an AES key, or use --recipient-pubkey")
        raise NoMatchingKey(f'no AES key labelled "{label}" on this token', "`coldvault token list` shows the keys")
    if len(keys) > 1:
        raise TokenError(f'several keys are labelled "{label}"', "give keys distinct labels")
    if keys[0].key_type != pkcs11.KeyType.AES:
        raise TokenError(f'the key "{label}" is not an AES key', "seal with --key naming an AES key, or use --recipient-pubkey")
    return keys[0]


def aes_gcm(key: Any, encrypt: bool, nonce: bytes, aad: bytes, data: bytes) -> bytes:
    """AES-GCM on the token (CKM_AES_GCM, 128-bit tag): the key never leaves it."""
    from pkcs11 import Mechanism
    from pkcs11.mechanisms import GCMParams

    operation = key.encrypt if encrypt else key.decrypt
    return operation(data, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad, 128))


def ecdh_shared_x(private: Any, peer_point: bytes) -> bytes:
    """CKM_ECDH1_DERIVE with the token's private key: the shared secret's x-coordinate.

    The derived object is a session object whose value must be readable, since the key
    derivation and AES-GCM run on the host; it is destroyed as soon as it is read.
    """
    from pkcs11 import KDF, Attribute, KeyType

    derived = private.derive_key(
        KeyType.GENERIC_SECRET, 256, mechanism_param=(KDF.NULL, None, peer_point),
        template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True, Attribute.TOKEN: False},
    )
    try:
        return bytes(derived[Attribute.VALUE])
    finally:
        derived.destroy()  # a readable copy of the shared secret must not outlive this call


def rsa_oaep_decrypt(private: Any, data: bytes, hash_name: str) -> bytes:
    """CKM_RSA_PKCS_OAEP with the envelope's hash for OAEP and MGF1 alike; never raw RSA."""
    from pkcs11 import MGF, Mechanism

    mechanisms = {"sha256": (Mechanism.SHA256, MGF.SHA256), "sha1": (Mechanism.SHA_1, MGF.SHA1)}
    digest, mgf = mechanisms[hash_name]
    return private.decrypt(data, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=(digest, mgf, None))
