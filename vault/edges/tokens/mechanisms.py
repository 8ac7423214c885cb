"""What a token's PKCS#11 library says it can do: its mechanisms and what each is for.

`read` takes the python-pkcs11 `Slot` of a token and asks C_GetMechanismList and
C_GetMechanismInfo (slot functions: no login, no PIN). Names are spelled as PKCS#11
spells them ("CKM_AES_GCM", "CKM_ECDH1_DERIVE", "CKM_RSA_PKCS_OAEP"); uses are the
CKF_ flags in lower case without the prefix ("encrypt", "decrypt", "derive", "sign",
"generate", "generate_key_pair", ...).

The list is a claim, not a proof, and only its "no" is reliable:

- tpm2-pkcs11 1.9.0 lists CKM_AES_KEY_GEN for "generate" yet answers C_GenerateKey with
  CKR_FUNCTION_NOT_SUPPORTED; what a token lists must still be proven by using it.
- SoftHSM2 2.6.1 ORs its flags into the caller's CK_MECHANISM_INFO without clearing it
  first for some mechanisms (CKM_AES_ECB, CKM_AES_CTR, CKM_AES_GCM, CKM_DES3_ECB, ...), and
  python-pkcs11 does not clear it either, so those flags carry stray bits. Flags with bits
  PKCS#11 does not define are kept as unknown (`Mechanism.uses` is None), and a mechanism
  with unknown uses is never said to lack one. A flag a token leaves out, it lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vault.edges.tokens.errors import translate

USE_FLAGS = {
    "encrypt": 0x100, "decrypt": 0x200, "digest": 0x400, "sign": 0x800, "sign_recover": 0x1000,
    "verify": 0x2000, "verify_recover": 0x4000, "generate": 0x8000, "generate_key_pair": 0x10000,
    "wrap": 0x20000, "unwrap": 0x40000, "derive": 0x80000,
}
"""The CKF_ flags of CK_MECHANISM_INFO that say what a mechanism is for (PKCS#11 3.0, section 5.10)."""

DEFINED_FLAGS_MASK = (
    0x1  # CKF_HW
    | 0x7E  # CKF_MESSAGE_ENCRYPT ... CKF_FIND_OBJECTS (PKCS#11 3.0)
    | sum(USE_FLAGS.values())
    | 0x3F00000  # CKF_EC_F_P ... CKF_EC_COMPRESS
    | 0x30000000  # CKF_ENCAPSULATE, CKF_DECAPSULATE (PKCS#11 3.2)
    | 0x80000000  # CKF_EXTENSION
)
"""Every bit PKCS#11 defines for CK_MECHANISM_INFO.flags; any other bit means the flags cannot be trusted."""


@dataclass(frozen=True)
class Mechanism:
    name: str
    """As PKCS#11 spells it: "CKM_AES_GCM"; "CKM_0x80000001" for one python-pkcs11 does not name."""
    uses: frozenset[str] | None
    """What the token says the mechanism is for (keys of `USE_FLAGS`); None when it said nothing trustworthy."""
    key_size_min: int | None
    key_size_max: int | None
    """ulMinKeySize and ulMaxKeySize as the token reports them: bits for RSA and EC, bytes for AES (PKCS#11 sets the unit per mechanism)."""


@dataclass(frozen=True)
class Mechanisms:
    """A token's mechanism list, by name."""

    by_name: Mapping[str, Mechanism]

    def lacks(self, name: str, *uses: str) -> bool:
        """True when the token does not list `name`, or lists it without one of `uses`."""
        return self.why_not(name, *uses) is not None

    def why_not(self, name: str, *uses: str) -> str | None:
        """Why the token cannot do `name` for `uses`, said after the token's name ("has no CKM_ECDH1_DERIVE"); None if it can."""
        unknown = set(uses) - set(USE_FLAGS)
        if unknown:
            raise ValueError(f"not mechanism uses: {sorted(unknown)}")
        mechanism = self.by_name.get(name)
        if mechanism is None:
            return f"has no {name}"
        if mechanism.uses is None:
            return None
        missing = [use for use in uses if use not in mechanism.uses]
        if missing:
            return f"lists {name}, but not for {' or '.join(missing)}"
        return None


def read(slot: Any, token_label: str | None = None) -> Mechanisms:
    """The mechanisms of the token in python-pkcs11 `slot`; `token_label` names it in errors."""
    import pkcs11

    where = f'token "{token_label}"' if token_label is not None else f'slot "{slot.slot_description}"'
    try:
        listed = slot.get_mechanisms()
    except pkcs11.PKCS11Error as error:
        raise translate(error, f"reading the mechanism list of {where}") from None
    found = {}
    for value in listed:
        name = mechanism_name(value)
        try:
            info = slot.get_mechanism_info(value)
        except pkcs11.MechanismInvalid:  # listed, then disowned: listed with nothing known of it
            found[name] = Mechanism(name, None, None, None)
            continue
        except pkcs11.PKCS11Error as error:
            raise translate(error, f"reading what {name} does on {where}") from None
        found[name] = Mechanism(name, _uses(int(info.flags)), info.min_key_length, info.max_key_length)
    return Mechanisms(found)


def mechanism_name(value: Any) -> str:
    """A python-pkcs11 `Mechanism` (or a bare number) as PKCS#11 spells it.

    python-pkcs11 prefixes the names of obsolete mechanisms with "_" (`_DES_ECB`, `_MD5`).
    """
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return "CKM_" + name.lstrip("_")
    return f"CKM_0x{int(value):08x}"


def _uses(flags: int) -> frozenset[str] | None:
    if flags & ~DEFINED_FLAGS_MASK:
        return None
    return frozenset(use for use, flag in USE_FLAGS.items() if flags & flag)
