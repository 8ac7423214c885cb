"""Keys on a token and the mechanisms coldvault uses them with; no key ever leaves the token.

`find` returns a `TokenKey`: the token's side of a recipient kind (the `Key` of
`vault.core.recipients.base`), with AES-GCM (CKM_AES_GCM), ECDH (CKM_ECDH1_DERIVE)
and RSA-OAEP (CKM_RSA_PKCS_OAEP). What a token refuses to decrypt becomes
`EnvelopeDoesNotOpen`; what it cannot do at all, a `TokenError` that says so.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from vault.core.recipients.base import EnvelopeDoesNotOpen, KeyPairQuery, KeyQuery, PublicKey, SecretKeyQuery, public_key_sha256
from vault.edges.tokens.errors import MechanismMissing, NoMatchingKey, translate
from vault.errors import TokenError, WriteRefused

AES_KEY_BITS = 256
RSA_KEY_BITS = 3072
EC_CURVE = "secp256r1"
KEY_ID_LENGTH_BYTES = 8
GCM_TAG_BITS = 128
SHARED_X_BITS = 256
"""The x-coordinate of a P-256 point."""
DER_SHORT_LENGTH_LIMIT_BYTES = 127


@dataclass(frozen=True)
class KeyInfo:
    object_class: str
    """"secret", "private" or "public"."""
    key_type: str
    label: str
    id: str
    extractable: bool | None
    sensitive: bool | None
    public_key_sha256: str | None = None
    """A public key's SPKI SHA-256, hex: how envelopes name their recipient."""


# ---------------------------------------------------------------- the keys a recipient needs


class TokenKey:
    """A key found on a token for a recipient: a secret key, or a private key with its public key."""

    def __init__(self, token_label: str, handle: Any, public: PublicKey | None = None, label: str | None = None) -> None:
        self.token_label = token_label
        self.handle = handle
        """The python-pkcs11 key object (benchmarks/envelopes.py times raw operations with it)."""
        self._public = public
        self.label = (label if label is not None else handle.label) or None  # an unlabelled key has no label, not ""

    @property
    def key_id(self) -> str | None:
        """CKA_ID in hex (reading it talks to the token: a token pulled out fails here)."""
        import pkcs11

        try:
            return (self.handle.id or b"").hex() or None
        except pkcs11.PKCS11Error as error:
            raise translate(error, f'on token "{self.token_label}"') from None

    def public_key(self) -> PublicKey:
        assert self._public is not None
        return self._public

    def aead(self) -> _TokenAead:
        return _TokenAead(self.handle, self.token_label)

    def ecdh_shared_x(self, peer_point: bytes) -> bytes:
        """CKM_ECDH1_DERIVE: the shared secret's x-coordinate.

        PKCS#11 leaves the form of the peer point to the token: it goes raw (04||X||Y,
        what YubiKeys and most cards take) and, if the token refuses that as a bad
        parameter, DER-encoded as an OCTET STRING (what older SoftHSM and some OpenSC
        drivers want); SoftHSM2 2.6.1 takes both. The point is checked on the host first,
        so a point off the curve (an altered envelope) is never blamed on the token, and a
        token that cannot derive at all (tpm2-pkcs11 1.9.0) is said to lack the mechanism
        rather than to have been handed a bad envelope.

        The derived object is a session object whose value must be readable, since the key
        derivation and AES-GCM run on the host; it is destroyed as soon as it is read.
        """
        import pkcs11

        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer_point)
        except ValueError:
            raise EnvelopeDoesNotOpen() from None
        if not hasattr(self.handle, "derive_key"):  # python-pkcs11 leaves it out when CKA_DERIVE is false
            raise NoMatchingKey(f'the key "{self.label}" on token "{self.token_label}" does not allow ECDH (its CKA_DERIVE is false)',
                             "make a key that does with `coldvault token keygen --type ec`")
        for encoded in (peer_point, _der_octet_string(peer_point)):
            try:
                return self._derive_shared_x(encoded)
            except _point_refused():
                continue
            except _no_ecdh():
                raise MechanismMissing("CKM_ECDH1_DERIVE", f'token "{self.token_label}" has no CKM_ECDH1_DERIVE: it cannot open ecdh-p256 envelopes',
                                       "deliver to an RSA key on it instead (rsa-oaep; `coldvault token keygen --type rsa`)") from None
            except pkcs11.PKCS11Error as error:
                raise translate(error, f'ECDH on token "{self.token_label}"') from None
        raise TokenError(f'token "{self.token_label}" refuses the peer point of CKM_ECDH1_DERIVE both raw and DER-encoded',
                         "deliver to an RSA key on it instead (rsa-oaep)")

    def _derive_shared_x(self, encoded_point: bytes) -> bytes:
        from pkcs11 import KDF, Attribute, KeyType

        derived = self.handle.derive_key(
            KeyType.GENERIC_SECRET, SHARED_X_BITS, mechanism_param=(KDF.NULL, None, encoded_point),
            template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True, Attribute.TOKEN: False},
        )
        try:
            return bytes(derived[Attribute.VALUE])
        finally:
            derived.destroy()  # a readable copy of the shared secret must not outlive this call

    def rsa_oaep_decrypt(self, data: bytes, hash_name: str) -> bytes:
        """CKM_RSA_PKCS_OAEP with `hash_name` for OAEP and MGF1 alike; never raw RSA."""
        import pkcs11
        from pkcs11 import MGF, Mechanism

        digest, mgf = {"sha256": (Mechanism.SHA256, MGF.SHA256), "sha1": (Mechanism.SHA_1, MGF.SHA1)}[hash_name]
        if not hasattr(self.handle, "decrypt"):  # python-pkcs11 leaves it out when CKA_DECRYPT is false
            raise NoMatchingKey(f'the key "{self.label}" on token "{self.token_label}" does not allow decryption (its CKA_DECRYPT is false)',
                             "make a key that does with `coldvault token keygen --type rsa`")
        try:
            return bytes(self.handle.decrypt(data, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=(digest, mgf, None)))
        except (pkcs11.MechanismInvalid, pkcs11.MechanismParamInvalid, pkcs11.ArgumentsBad):
            raise MechanismMissing(
                "CKM_RSA_PKCS_OAEP", f'token "{self.token_label}" cannot decrypt RSA-OAEP with {hash_name.upper()}',
                "docs/tokens.md lists what each kind of token decrypts",
            ) from None
        except pkcs11.PKCS11Error:
            raise EnvelopeDoesNotOpen() from None


def _point_refused() -> tuple[type[Exception], ...]:
    """What a token says when it wants the peer point of CKM_ECDH1_DERIVE in the other form."""
    import pkcs11

    return (pkcs11.MechanismParamInvalid, pkcs11.ArgumentsBad, pkcs11.DomainParamsInvalid, pkcs11.AttributeValueInvalid)


def _no_ecdh() -> tuple[type[Exception], ...]:
    """What a token says when it cannot do CKM_ECDH1_DERIVE (or C_DeriveKey) at all."""
    import pkcs11

    return (pkcs11.MechanismInvalid, pkcs11.FunctionNotSupported, pkcs11.KeyTypeInconsistent)


def _der_octet_string(point: bytes) -> bytes:
    """`point` as a DER OCTET STRING (tag 04, one length byte: a P-256 point is 65 bytes)."""
    assert len(point) <= DER_SHORT_LENGTH_LIMIT_BYTES
    return bytes([0x04, len(point)]) + point


class _TokenAead:
    """AES-GCM on the token (CKM_AES_GCM, 128-bit tag): the key never leaves it."""

    def __init__(self, handle: Any, token_label: str) -> None:
        self.handle = handle
        self._token_label = token_label

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes) -> bytes:
        import pkcs11

        try:
            return self._run(self.handle.encrypt, nonce, data, associated_data)
        except pkcs11.PKCS11Error as error:
            raise translate(error, f'sealing on token "{self._token_label}"') from None

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes) -> bytes:
        import pkcs11

        try:
            return self._run(self.handle.decrypt, nonce, data, associated_data)
        except pkcs11.PKCS11Error:
            raise EnvelopeDoesNotOpen() from None

    @staticmethod
    def _run(operation: Any, nonce: bytes, data: bytes, associated_data: bytes) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        return bytes(operation(data, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, associated_data, GCM_TAG_BITS)))


def find(live: Any, token_label: str, query: KeyQuery) -> TokenKey:
    """The key `query` asks for on the token of session `live`; raises `NoMatchingKey` when there is none."""
    if isinstance(query, SecretKeyQuery):
        return TokenKey(token_label, _secret_key(live, query.label, query.key_id))
    return _key_pair(live, token_label, query)


def _secret_key(live: Any, label: str, key_id: str | None) -> Any:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    template: dict[Any, Any] = {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label}
    if key_id:
        template[Attribute.ID] = bytes.fromhex(key_id)
    keys = list(live.get_objects(template))
    if not keys:
        pairs = [c for c in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY) if list(live.get_objects({Attribute.CLASS: c, Attribute.LABEL: label}))]
        if pairs:
            raise NoMatchingKey(f'the key "{label}" is not an AES key', "seal with --key naming an AES key, or use --recipient-pubkey")
        raise NoMatchingKey(f'no AES key labelled "{label}" on this token', "`coldvault token list` shows the keys")
    if len(keys) > 1:
        raise NoMatchingKey(f'several keys are labelled "{label}"', "give keys distinct labels")
    if keys[0].key_type != pkcs11.KeyType.AES:
        raise NoMatchingKey(f'the key "{label}" is not an AES key', "seal with --key naming an AES key, or use --recipient-pubkey")
    return keys[0]


def _key_pair(live: Any, token_label: str, query: KeyPairQuery) -> TokenKey:
    """The private key whose public key hashes to the query's SPKI SHA-256, with that public key and its label."""
    from pkcs11 import Attribute, ObjectClass

    for candidate, public in _public_keys(live):
        if public_key_sha256(public) != query.public_key_sha256:
            continue
        template = {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: candidate.key_type}
        if candidate.id:
            template[Attribute.ID] = candidate.id
        else:
            template[Attribute.LABEL] = candidate.label
        privates = list(live.get_objects(template))
        if len(privates) == 1:
            return TokenKey(token_label, privates[0], public, candidate.label or None)
    raise NoMatchingKey("no key on this token matches the envelope's recipient", "the envelope is sealed to another token or key")


def public_key_hashes(live: Any) -> set[str]:
    """The SPKI SHA-256 of every EC and RSA public key the session sees (a public session: those any caller may see)."""
    return {public_key_sha256(public) for _, public in _public_keys(live)}


def _public_keys(live: Any) -> list[tuple[Any, PublicKey]]:
    from pkcs11 import Attribute, KeyType, ObjectClass

    # Materialised first: PKCS#11 allows one object search at a time per session.
    candidates = list(live.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY}))
    return [(candidate, _to_cryptography(candidate)) for candidate in candidates if candidate.key_type in (KeyType.EC, KeyType.RSA)]


# ---------------------------------------------------------------- listing, making and exporting keys


def list_keys(live: Any) -> list[KeyInfo]:
    from pkcs11 import Attribute, ObjectClass

    classes = {ObjectClass.SECRET_KEY: "secret", ObjectClass.PRIVATE_KEY: "private", ObjectClass.PUBLIC_KEY: "public"}
    keys = []
    for object_class, name in classes.items():
        for key in list(live.get_objects({Attribute.CLASS: object_class, Attribute.TOKEN: True})):
            keys.append(KeyInfo(
                object_class=name,
                key_type=_key_type_name(key),
                label=key.label or "",
                id=(key.id or b"").hex(),
                extractable=None if name == "public" else bool(key[Attribute.EXTRACTABLE]),
                sensitive=None if name == "public" else bool(key[Attribute.SENSITIVE]),
                public_key_sha256=public_key_sha256(_to_cryptography(key)) if name == "public" and _key_type_name(key) in ("ec", "rsa") else None,
            ))
    return keys


def _key_type_name(key: Any) -> str:
    from pkcs11 import KeyType

    names = {KeyType.AES: "aes", KeyType.EC: "ec", KeyType.RSA: "rsa"}
    return names.get(key.key_type, str(key.key_type).split(".")[-1].lower())


def generate_key(live: Any, key_type: str, label: str) -> str:
    """Create a key (pair) that can never leave the token; returns its CKA_ID (hex).

    The templates ask for what coldvault needs (CKA_DERIVE and CKA_SIGN for an EC key:
    ECDH for ecdh-p256, ECDSA for the transcript; CKA_DECRYPT for an RSA key: RSA-OAEP)
    and forbid wrapping, but leave CKA_ENCRYPT, CKA_VERIFY, CKA_DECRYPT and CKA_SIGN
    unsaid where coldvault does not need them: tpm2-pkcs11 sets those four from the TPM
    object, where a key signs and decrypts alike, and refuses a template that says
    otherwise ("attr mismatch"); other tokens apply their own defaults.
    """
    from pkcs11 import Attribute, KeyType
    from pkcs11.constants import DEFAULT
    from pkcs11.util.ec import encode_named_curve_parameters

    if any(key.label == label for key in list_keys(live)):
        raise WriteRefused(f'the token already has a key labelled "{label}"', "choose another --key-label")
    key_id = secrets.token_bytes(KEY_ID_LENGTH_BYTES)
    never_leaves = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True}
    token_decides = {Attribute.ENCRYPT: DEFAULT, Attribute.VERIFY: DEFAULT, Attribute.DECRYPT: DEFAULT, Attribute.SIGN: DEFAULT}
    public = {**token_decides, Attribute.PRIVATE: False, Attribute.WRAP: False}
    private = {**token_decides, **never_leaves, Attribute.UNWRAP: False}
    try:
        if key_type == "aes":
            live.generate_key(KeyType.AES, AES_KEY_BITS, label=label, id=key_id, store=True,
                              template={**never_leaves, Attribute.ENCRYPT: True, Attribute.DECRYPT: True,
                                        Attribute.WRAP: False, Attribute.UNWRAP: False})
        elif key_type == "ec":
            parameters = live.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(EC_CURVE)}, local=True
            )
            parameters.generate_keypair(store=True, label=label, id=key_id, capabilities=0,
                                        private_template={**private, Attribute.DERIVE: True, Attribute.SIGN: True},
                                        public_template={**public, Attribute.VERIFY: True})
        elif key_type == "rsa":
            live.generate_keypair(KeyType.RSA, RSA_KEY_BITS, store=True, label=label, id=key_id, capabilities=0,
                                  private_template={**private, Attribute.DECRYPT: True},
                                  public_template={**public, Attribute.ENCRYPT: True})
        else:
            raise ValueError(f"key type {key_type!r}")
    except _cannot_generate() as error:
        raise _cannot_create(live, key_type, error) from None
    return key_id.hex()


_KEY_GENERATION = {  # key type -> (what it is called, the PKCS#11 function, its mechanism)
    "aes": ("AES keys", "C_GenerateKey", "CKM_AES_KEY_GEN"),
    "ec": ("EC P-256 key pairs", "C_GenerateKeyPair", "CKM_EC_KEY_PAIR_GEN"),
    "rsa": (f"RSA-{RSA_KEY_BITS} key pairs", "C_GenerateKeyPair", "CKM_RSA_PKCS_KEY_PAIR_GEN"),
}
_CANNOT_GENERATE_HINTS = {
    "aes": "make an EC or RSA key instead (--type ec or --type rsa) and deliver to its public key (ecdh-p256 or rsa-oaep)",
    "ec": "make an RSA key instead (--type rsa) and deliver to it with rsa-oaep",
    "rsa": "make an EC key instead (--type ec) and deliver to it with ecdh-p256",
}


def _cannot_generate() -> tuple[type[Exception], ...]:
    """What a token says when it cannot make a kind of key at all (not: a template it dislikes)."""
    import pkcs11

    return (pkcs11.FunctionNotSupported, pkcs11.MechanismInvalid, pkcs11.KeySizeRange, pkcs11.DomainParamsInvalid)


def _cannot_create(live: Any, key_type: str, error: Exception) -> TokenError:
    """`token "tpm-a" cannot create AES keys (C_GenerateKey: CKR_FUNCTION_NOT_SUPPORTED ...)`."""
    what, function, mechanism = _KEY_GENERATION[key_type]
    return TokenError(f'token "{live.token.label}" cannot create {what} ({function} with {mechanism}: {_ckr_name(error)})',
                      _CANNOT_GENERATE_HINTS[key_type])


def _ckr_name(error: Exception) -> str:
    """The CKR_ return value behind one of `_cannot_generate`'s exceptions, as PKCS#11 spells it."""
    return _CKR_NAMES.get(type(error).__name__, type(error).__name__)


_CKR_NAMES = {"FunctionNotSupported": "CKR_FUNCTION_NOT_SUPPORTED", "MechanismInvalid": "CKR_MECHANISM_INVALID",
              "KeySizeRange": "CKR_KEY_SIZE_RANGE", "DomainParamsInvalid": "CKR_DOMAIN_PARAMS_INVALID"}


def public_key(live: Any, label: str) -> PublicKey:
    """The `cryptography` public key of the key pair labelled `label`."""
    import pkcs11
    from pkcs11 import ObjectClass

    try:
        key = live.get_key(object_class=ObjectClass.PUBLIC_KEY, label=label)
    except pkcs11.NoSuchKey:
        raise TokenError(f'no public key labelled "{label}" on this token', "`coldvault token list` shows the keys") from None
    except pkcs11.MultipleObjectsReturned:
        raise TokenError(f'several public keys are labelled "{label}"', "give keys distinct labels") from None
    return _to_cryptography(key)


def ecdsa_sign(live: Any, label: str, digest: bytes) -> tuple[bytes, PublicKey]:
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
    public = _public_of(live, private, label)
    try:
        return bytes(private.sign(digest, mechanism=Mechanism.ECDSA)), public
    except pkcs11.PKCS11Error as error:
        raise translate(error, f'signing with the key "{label}"') from None


def _public_of(live: Any, private: Any, label: str) -> PublicKey:
    """The public key of `private`: the public object with its CKA_ID (PIV modules label the two halves
    differently, "Private key for X" and "Public key for X"), else the one with its label."""
    from pkcs11 import Attribute, ObjectClass

    key_id = private.id
    if key_id:
        matches = list(live.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.ID: key_id}))
        if len(matches) == 1:
            return _to_cryptography(matches[0])
    return public_key(live, label)


def _to_cryptography(key: Any) -> PublicKey:
    from pkcs11 import KeyType
    from pkcs11.util.ec import encode_ec_public_key
    from pkcs11.util.rsa import encode_rsa_public_key

    if key.key_type == KeyType.EC:
        return load_der_public_key(encode_ec_public_key(key))  # type: ignore[return-value]
    if key.key_type == KeyType.RSA:
        return load_der_public_key(encode_rsa_public_key(key))  # type: ignore[return-value]
    raise TokenError(f'the key "{key.label}" is neither EC nor RSA', "seal to an EC P-256 or RSA key")
