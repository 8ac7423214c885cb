"""The envelope format (`coldvault-envelope/1`) in-process: no token, software keys only.

What a token does for each recipient is done here with `cryptography`, following
docs/envelope.md rather than coldvault's code:

- `pkcs11-aes-gcm`: the token's CKM_AES_GCM (96-bit nonce, 128-bit tag, the header
  as AAD) is exactly `AESGCM` in software, so a software AES key stands in for it;
- `ecdh-p256`: the token's CKM_ECDH1_DERIVE is a software P-256 private key's
  `exchange`, and the HKDF is written out again here (`hkdf_data_key`);
- `rsa-oaep`: a software RSA-3072 private key (a `SoftwareKey`), with SHA-256 and
  with SHA-1.

Then: the reader's refusals (each an `InvalidInput` with a precise message), a
flipped bit in every header field, a swapped header, the key checks of
`load_public_key`, and that the plaintext share never appears in the file.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import shamir_mnemonic
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vault.core.formats import envelope as ev
from vault.core.recipients import ecdh_p256, pkcs11_aes_gcm, registry, rsa_oaep
from vault.core.recipients.base import SoftwareAead, SoftwareKey, Target, public_key_sha256
from vault.core.slip39.share import Share, parse_share
from vault.errors import InvalidInput

CEREMONY_ID = "3f1c2b7a-9d4e-4c1a-8b6f-0e2d5a7c9b11"
CUSTODIAN = "Zoë Ålvarez"  # non-ASCII on purpose: the AAD escapes it, the file does not
AES_KEY = bytes(range(32))
AES_KEY_ID = "a1b2c3d4e5f60718"
HKDF_INFO = b"coldvault-envelope/1 ecdh-p256"  # docs/envelope.md, "Keys"

KINDS = ("aes", "ecdh", "rsa-sha256", "rsa-sha1")


class PeerPointRejected(Exception):
    """The ECDH step refused the ephemeral point (not on the curve): a token refuses it too."""


# --------------------------------------------------------------------------- shares and keys


@functools.cache
def shares() -> tuple[Share, ...]:
    """Three shares of one 2-of-3 set (from Trezor's reference implementation, not coldvault)."""
    mnemonics = shamir_mnemonic.generate_mnemonics(1, [(2, 3)], bytes(range(16)), b"", True, 0)[0]
    return tuple(parse_share(m) for m in mnemonics)


@functools.cache
def ec_private() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@functools.cache
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def spki(public_key: Any) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def point(public_key: Any) -> bytes:
    return public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def seal(kind: str, share: Share, *, custodian: str | None = CUSTODIAN, ceremony_id: str | None = CEREMONY_ID) -> ev.Envelope:
    """A valid envelope of `kind` with every optional header field filled in."""
    if kind == "aes":
        key = SoftwareKey(AES_KEY, key_id=AES_KEY_ID)  # the token's CKM_AES_GCM, in software
        target = Target(pkcs11_aes_gcm.NAME, key=key, token_label="custodian-1", key_label="share-key")
    elif kind == "ecdh":
        target = Target(ecdh_p256.NAME, public_key=ec_private().public_key(), token_label="custodian-1", key_label="share-ec")
    else:
        target = Target(rsa_oaep.NAME, public_key=rsa_private().public_key(), token_label="custodian-1", key_label="share-rsa",
                        oaep_hash=kind.split("-")[1])
    return ev.seal(share, target, ceremony_id=ceremony_id, custodian=custodian)


def hkdf_data_key(shared_x: bytes, ephemeral_point: bytes, recipient_point: bytes) -> bytes:
    """docs/envelope.md: HKDF-SHA256(IKM=Z, salt=E||R, info="coldvault-envelope/1 ecdh-p256", L=32)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_point + recipient_point, info=HKDF_INFO).derive(shared_x)


def data_key(envelope: ev.Envelope) -> bytes:
    """What the token (and the host) compute for the envelope's recipient, in software."""
    recipient = envelope.recipient
    if isinstance(recipient, pkcs11_aes_gcm.TokenAesRecipient):
        return AES_KEY
    if isinstance(recipient, ecdh_p256.EcdhRecipient):
        try:
            ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), recipient.ephemeral_public_key)
        except ValueError as error:
            raise PeerPointRejected(str(error)) from None
        shared_x = ec_private().exchange(ec.ECDH(), ephemeral)
        return hkdf_data_key(shared_x, recipient.ephemeral_public_key, point(ec_private().public_key()))
    assert isinstance(recipient, rsa_oaep.RsaRecipient)
    return SoftwareKey(rsa_private()).rsa_oaep_decrypt(recipient.wrapped_key, recipient.oaep_hash)


def open_with_data_key(envelope: ev.Envelope, key: bytes) -> Share:
    """AES-256-GCM under the data key, then the share inside checked against the header."""
    return ev.check_opened(envelope, SoftwareAead(key).decrypt(envelope.nonce, envelope.ciphertext, envelope.associated_data()))


def open_envelope(envelope: ev.Envelope) -> Share:
    return open_with_data_key(envelope, data_key(envelope))


def read_and_open(text: str) -> Share:
    return open_envelope(ev.from_json(text))


@functools.cache
def valid_json(kind: str, member: int = 0) -> str:
    return ev.to_json(seal(kind, shares()[member]))


def document(kind: str, member: int = 0) -> dict[str, Any]:
    return json.loads(valid_json(kind, member))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_through_json_gives_the_share_back(kind):
    share = shares()[1]
    sealed = seal(kind, share)
    text = ev.to_json(sealed)
    parsed = ev.from_json(text)
    assert parsed == sealed
    assert ev.to_json(parsed) == text  # the writer is canonical: reading and writing again changes nothing
    opened = open_envelope(parsed)
    assert opened == share
    assert opened.mnemonic == share.mnemonic


@pytest.mark.parametrize("kind", KINDS)
def test_the_header_says_what_the_docs_say(kind):
    share = shares()[2]
    doc = json.loads(ev.to_json(seal(kind, share)))
    assert doc["format"] == "coldvault-envelope/1"
    assert doc["ceremony_id"] == CEREMONY_ID
    assert doc["custodian"] == CUSTODIAN
    assert doc["share"] == {
        "identifier": share.identifier,
        "group_index": share.group_index,
        "member_index": share.member_index,
        "share_fingerprint": hashlib.sha256(b"coldvault/share-fingerprint/v1\x00" + share.mnemonic.encode()).digest()[:16].hex(),
    }
    assert len(base64.b64decode(doc["nonce"], validate=True)) == 12
    recipient = doc["recipient"]
    if kind == "aes":
        assert recipient == {"kind": "pkcs11-aes-gcm", "token_label": "custodian-1", "key_label": "share-key", "key_id": AES_KEY_ID}
        assert set(doc) == {"format", "ceremony_id", "share", "custodian", "recipient", "nonce", "ciphertext"}
    elif kind == "ecdh":
        assert recipient == {
            "kind": "ecdh-p256", "public_key_sha256": hashlib.sha256(spki(ec_private().public_key())).hexdigest(),
            "token_label": "custodian-1", "key_label": "share-ec",
        }
        ephemeral = base64.b64decode(doc["ephemeral_public_key"], validate=True)
        assert len(ephemeral) == 65 and ephemeral[0] == 4
        assert "wrapped_key" not in doc
    else:
        assert recipient == {
            "kind": "rsa-oaep", "public_key_sha256": hashlib.sha256(spki(rsa_private().public_key())).hexdigest(),
            "oaep_hash": kind.split("-")[1], "token_label": "custodian-1", "key_label": "share-rsa",
        }
        assert len(base64.b64decode(doc["wrapped_key"], validate=True)) == 384  # RSA-3072
        assert "ephemeral_public_key" not in doc


@pytest.mark.parametrize("kind", KINDS)
def test_the_file_opens_with_the_documented_aad_and_keys_alone(kind):
    """An independent reader: AAD = canonical JSON of the file's object without nonce and
    ciphertext; AES-256-GCM under the recipient's data key; plaintext = the words, ASCII."""
    share = shares()[0]
    text = ev.to_json(seal(kind, share))
    doc = json.loads(text)
    nonce = base64.b64decode(doc.pop("nonce"), validate=True)
    ciphertext = base64.b64decode(doc.pop("ciphertext"), validate=True)
    aad = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    assert "\\u00eb" in aad.decode() and "ë" in text  # escaped in the AAD, UTF-8 in the file
    if kind == "aes":
        key = AES_KEY
    elif kind == "ecdh":
        ephemeral_point = base64.b64decode(doc["ephemeral_public_key"])
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ephemeral_point)
        key = hkdf_data_key(ec_private().exchange(ec.ECDH(), ephemeral), ephemeral_point, point(ec_private().public_key()))
    else:
        algorithm = hashes.SHA256() if doc["recipient"]["oaep_hash"] == "sha256" else hashes.SHA1()
        from cryptography.hazmat.primitives.asymmetric import padding

        key = rsa_private().decrypt(
            base64.b64decode(doc["wrapped_key"]),
            padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None),
        )
    assert len(key) == 32
    assert AESGCM(key).decrypt(nonce, ciphertext, aad) == share.mnemonic.encode("ascii")
    assert len(ciphertext) == len(share.mnemonic) + 16


def test_ecdh_data_key_is_the_documented_hkdf():
    shared_x, e_point, r_point = os.urandom(32), b"\x04" + os.urandom(64), b"\x04" + os.urandom(64)
    assert ecdh_p256.data_key_of(shared_x, e_point, r_point) == hkdf_data_key(shared_x, e_point, r_point)
    # bound to both public keys: swapping them gives another key
    assert ecdh_p256.data_key_of(shared_x, r_point, e_point) != hkdf_data_key(shared_x, e_point, r_point)


@pytest.mark.parametrize("kind", ["aes", "ecdh", "rsa-sha256", "rsa-sha1"])
def test_every_envelope_has_a_fresh_nonce_and_key_material(kind):
    share = shares()[0]
    first, second = seal(kind, share), seal(kind, share)
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext
    if kind == "ecdh":
        assert first.recipient.ephemeral_public_key != second.recipient.ephemeral_public_key
    if kind.startswith("rsa"):
        assert first.recipient.wrapped_key != second.recipient.wrapped_key


def test_null_names_round_trip_and_empty_names_are_written_as_null():
    share = shares()[0]
    for custodian, ceremony_id in ((None, None), ("", "")):
        sealed = seal("ecdh", share, custodian=custodian, ceremony_id=ceremony_id)
        doc = json.loads(ev.to_json(sealed))
        assert doc["custodian"] is None and doc["ceremony_id"] is None
        assert open_envelope(ev.from_json(ev.to_json(sealed))) == share


@pytest.mark.parametrize("kind", KINDS)
def test_the_plaintext_share_never_appears_in_the_envelope(kind):
    share = shares()[0]
    text = ev.to_json(seal(kind, share))
    words = share.mnemonic.split()
    encodings = {
        share.mnemonic,
        share.mnemonic.upper(),
        base64.b64encode(share.mnemonic.encode()).decode(),
        share.mnemonic.encode().hex(),
    }
    for encoded in encodings:
        assert encoded not in text
    # no run of three words (base64 and hex hold no spaces, so even short words cannot line up by chance)
    for i in range(len(words) - 2):
        assert " ".join(words[i:i + 3]) not in text
    assert share.value.hex() not in text
    # and the share's key material (the SLIP-39 value) is not there in base64 either
    assert base64.b64encode(share.value).decode().rstrip("=") not in text


def test_an_rsa_envelope_does_not_open_with_the_other_oaep_hash():
    sealed = seal("rsa-sha256", shares()[0])
    downgraded = replace(sealed, recipient=replace(sealed.recipient, oaep_hash="sha1"))
    with pytest.raises(ev.EnvelopeDoesNotOpen, match="does not open"):
        open_envelope(ev.from_json(ev.to_json(downgraded)))


def test_an_envelope_does_not_open_with_another_key():
    sealed = seal("aes", shares()[0])
    with pytest.raises(ev.EnvelopeDoesNotOpen, match="^the envelope does not open: it was altered, or it is sealed to another key$"):
        open_with_data_key(sealed, bytes(32))
    other = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    with pytest.raises(ev.EnvelopeDoesNotOpen, match="does not open"):
        ev.unseal(seal("rsa-sha1", shares()[0]), SoftwareKey(other))


def test_a_header_naming_another_share_than_the_one_inside_is_refused_after_opening():
    """The share fingerprint inside is checked after opening (docs: "The plaintext")."""
    named, inside = shares()[0], shares()[1]
    template = seal("aes", named)
    nonce = os.urandom(12)
    lying = replace(template, nonce=nonce,
                    ciphertext=AESGCM(AES_KEY).encrypt(nonce, ev.plaintext(inside), template.associated_data()))
    with pytest.raises(InvalidInput, match="^the envelope opened but its share is not the one its header names$"):
        open_with_data_key(lying, AES_KEY)
    garbage = replace(template, nonce=nonce, ciphertext=AESGCM(AES_KEY).encrypt(nonce, b"not a share at all", template.associated_data()))
    with pytest.raises(InvalidInput, match="^the envelope opened but holds no valid share"):
        open_with_data_key(garbage, AES_KEY)


@pytest.mark.parametrize("spelled", [
    lambda words: words.upper(),
    lambda words: words.capitalize(),
    lambda words: words.replace(" ", "  ", 1),
    lambda words: words + "\n",
    lambda words: " " + words,
    lambda words: words.replace(" ", "\t", 1),
], ids=["upper-case", "capitalised", "two-spaces", "line-feed", "leading-space", "tab"])
def test_a_share_inside_written_otherwise_than_lower_case_single_spaced_is_refused(spelled):
    """docs/envelope.md, "The plaintext": the words in lower case, single spaces, nothing else. The same share
    spelled another way (what a lenient share reader would take) is refused after opening, not read."""
    share = shares()[0]
    template = seal("aes", share)
    nonce = os.urandom(12)
    text = spelled(share.mnemonic).encode("ascii")
    assert text != ev.plaintext(share) and parse_share(text.decode()) == share
    other = replace(template, nonce=nonce, ciphertext=AESGCM(AES_KEY).encrypt(nonce, text, template.associated_data()))
    with pytest.raises(InvalidInput, match="^the envelope opened but its share is not written as coldvault-envelope/1 writes it "
                                           r"\(lower-case words joined by single spaces, nothing else\): it was made wrongly$"):
        open_with_data_key(other, AES_KEY)
    assert ev.plaintext(share) == share.mnemonic.encode("ascii") == share.mnemonic.lower().encode("ascii")
    assert open_with_data_key(template, AES_KEY) == share


# --------------------------------------------------------------------------- the strict reader


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def set_path(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    target = doc
    for name in parents:
        target = target[name]
    target[last] = value
    return doc


def delete_path(doc: dict[str, Any], path: str) -> dict[str, Any]:
    *parents, last = path.split(".")
    target = doc
    for name in parents:
        target = target[name]
    del target[last]
    return doc


def get_path(doc: dict[str, Any], path: str) -> Any:
    target = doc
    for name in path.split("."):
        target = target[name]
    return target


def non_canonical_padding_bits(text: str) -> str:
    """The same bytes, with the unused low bits of the last base64 digit set (like "QR==" for "QQ==")."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stripped = text.rstrip("=")
    padding = len(text) - len(stripped)
    assert padding, "needs a padded value"
    unused = 2 if padding == 1 else 4
    digit = alphabet.index(stripped[-1]) | ((1 << unused) - 1)
    return stripped[:-1] + alphabet[digit] + "=" * padding


# (name, kind, mutation of the document, exact message)
REFUSALS: list[tuple[str, str, Callable[[dict[str, Any]], Any], str]] = [
    ("format version 2", "ecdh", lambda d: set_path(d, "format", "coldvault-envelope/2"),
     "unknown envelope format 'coldvault-envelope/2'"),
    ("no format", "ecdh", lambda d: delete_path(d, "format"), "unknown envelope format None"),
    ("unknown recipient kind", "ecdh", lambda d: set_path(d, "recipient.kind", "x25519"),
     "unknown recipient kind 'x25519'"),
    ("recipient not an object", "ecdh", lambda d: set_path(d, "recipient", "custodian-1"),
     "envelope.recipient is not an object"),
    ("unknown top-level field", "ecdh", lambda d: set_path(d, "comment", "hello"),
     "envelope.comment is not a field of coldvault-envelope/1"),
    ("unknown recipient field", "rsa-sha1", lambda d: set_path(d, "recipient.serial", "1234"),
     "envelope.recipient.serial is not a field of coldvault-envelope/1"),
    ("unknown share field", "aes", lambda d: set_path(d, "share.member_threshold", 2),
     "envelope.share.member_threshold is not a field of coldvault-envelope/1"),
    ("field of another kind", "ecdh", lambda d: set_path(d, "wrapped_key", b64(bytes(384))),
     "envelope.wrapped_key is not a field of coldvault-envelope/1"),
    ("missing custodian", "ecdh", lambda d: delete_path(d, "custodian"), "envelope.custodian is missing"),
    ("missing ciphertext", "aes", lambda d: delete_path(d, "ciphertext"), "envelope.ciphertext is missing"),
    ("missing share member index", "ecdh", lambda d: delete_path(d, "share.member_index"),
     "envelope.share.member_index is missing"),
    ("missing ephemeral key", "ecdh", lambda d: delete_path(d, "ephemeral_public_key"),
     "envelope.ephemeral_public_key is missing"),
    ("missing wrapped key", "rsa-sha256", lambda d: delete_path(d, "wrapped_key"), "envelope.wrapped_key is missing"),
    ("missing oaep hash", "rsa-sha256", lambda d: delete_path(d, "recipient.oaep_hash"),
     "envelope.recipient.oaep_hash is missing"),
    ("missing key id", "aes", lambda d: delete_path(d, "recipient.key_id"), "envelope.recipient.key_id is missing"),
    ("upper-case share fingerprint", "ecdh",
     lambda d: set_path(d, "share.share_fingerprint", d["share"]["share_fingerprint"].upper()),
     "envelope.share.share_fingerprint should be 32 lower-case hex digits"),
    ("upper-case public key hash", "rsa-sha1",
     lambda d: set_path(d, "recipient.public_key_sha256", d["recipient"]["public_key_sha256"].upper()),
     "envelope.recipient.public_key_sha256 should be 64 lower-case hex digits"),
    ("upper-case key id", "aes", lambda d: set_path(d, "recipient.key_id", AES_KEY_ID.upper()),
     "envelope.recipient.key_id should be lower-case hex digits"),
    ("short share fingerprint", "ecdh", lambda d: set_path(d, "share.share_fingerprint", d["share"]["share_fingerprint"][:-2]),
     "envelope.share.share_fingerprint should be 32 lower-case hex digits"),
    ("base64 without padding", "ecdh", lambda d: set_path(d, "ephemeral_public_key", d["ephemeral_public_key"].rstrip("=")),
     "envelope.ephemeral_public_key is not standard base64"),
    ("base64 with extra padding", "ecdh", lambda d: set_path(d, "ephemeral_public_key", d["ephemeral_public_key"] + "="),
     "envelope.ephemeral_public_key is not standard base64"),
    ("url-safe base64", "aes", lambda d: set_path(d, "nonce", base64.urlsafe_b64encode(b"\xfb\xff" * 6).decode()),
     "envelope.nonce is not standard base64"),
    ("newline in base64", "aes", lambda d: set_path(d, "ciphertext", d["ciphertext"][:40] + "\n" + d["ciphertext"][40:]),
     "envelope.ciphertext is not standard base64"),
    ("space in base64", "rsa-sha1", lambda d: set_path(d, "wrapped_key", d["wrapped_key"][:64] + " " + d["wrapped_key"][64:]),
     "envelope.wrapped_key is not standard base64"),
    ("non-zero padding bits", "ecdh",
     lambda d: set_path(d, "ephemeral_public_key", non_canonical_padding_bits(d["ephemeral_public_key"])),
     "envelope.ephemeral_public_key is not canonical base64 (standard alphabet, with padding)"),
    ("base64 not a string", "aes", lambda d: set_path(d, "nonce", 12), "envelope.nonce should be a base64 string"),
    ("nonce of 11 bytes", "aes", lambda d: set_path(d, "nonce", b64(bytes(11))),
     "envelope.nonce has 11 bytes; it must have 12"),
    ("nonce of 13 bytes", "ecdh", lambda d: set_path(d, "nonce", b64(bytes(13))),
     "envelope.nonce has 13 bytes; it must have 12"),
    ("ciphertext of only a tag", "rsa-sha256", lambda d: set_path(d, "ciphertext", b64(base64.b64decode(d["ciphertext"])[-16:])),
     "envelope.ciphertext is too short to hold a share: the envelope is truncated"),
    ("empty ciphertext", "aes", lambda d: set_path(d, "ciphertext", ""),
     "envelope.ciphertext is too short to hold a share: the envelope is truncated"),
    ("compressed ephemeral point", "ecdh",
     lambda d: set_path(d, "ephemeral_public_key", b64(b"\x02" + base64.b64decode(d["ephemeral_public_key"])[1:33])),
     "envelope.ephemeral_public_key is not an uncompressed P-256 point"),
    ("group index out of range", "ecdh", lambda d: set_path(d, "share.group_index", 16),
     "envelope.share.group_index should be a whole number from 0 to 15"),
    ("member index a string", "ecdh", lambda d: set_path(d, "share.member_index", "0"),
     "envelope.share.member_index should be a whole number from 0 to 15"),
    ("identifier a boolean", "aes", lambda d: set_path(d, "share.identifier", True),
     "envelope.share.identifier should be a whole number from 0 to 32767"),
    ("identifier a float", "aes", lambda d: set_path(d, "share.identifier", float(d["share"]["identifier"])),
     "envelope.share.identifier should be a whole number from 0 to 32767"),
    ("identifier too large", "aes", lambda d: set_path(d, "share.identifier", 32768),
     "envelope.share.identifier should be a whole number from 0 to 32767"),
    ("unknown oaep hash", "rsa-sha256", lambda d: set_path(d, "recipient.oaep_hash", "md5"),
     "envelope.recipient.oaep_hash should be one of sha256, sha1"),
    ("empty custodian", "ecdh", lambda d: set_path(d, "custodian", ""),
     "envelope.custodian should be a non-empty string or null"),
    ("aes recipient without token label", "aes", lambda d: set_path(d, "recipient.token_label", None),
     "envelope.recipient.token_label should be a non-empty string"),
    ("share not an object", "ecdh", lambda d: set_path(d, "share", [1, 2]), "envelope.share is not an object"),
]


@pytest.mark.parametrize(("kind", "mutate", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_the_reader_refuses_with_a_precise_message(kind, mutate, message):
    doc = document(kind)
    mutate(doc)
    with pytest.raises(InvalidInput) as caught:
        ev.from_json(json.dumps(doc, indent=2))
    assert not isinstance(caught.value, ev.EnvelopeDoesNotOpen)  # refused before any cryptography
    assert caught.value.message == message


def test_unknown_version_hint_names_the_version_this_reader_reads():
    doc = document("aes")
    doc["format"] = "coldvault-envelope/2"
    with pytest.raises(InvalidInput) as caught:
        ev.from_json(json.dumps(doc))
    assert caught.value.hints == ("this coldvault reads coldvault-envelope/1",)


def test_unknown_fields_hint_says_readers_refuse_them():
    doc = document("aes")
    doc["extra"] = None
    with pytest.raises(InvalidInput) as caught:
        ev.from_json(json.dumps(doc))
    assert caught.value.hints == ("readers refuse unknown fields",)


def test_non_json_is_refused():
    with pytest.raises(InvalidInput, match=r"^not an envelope: not JSON \(line 1, column 1: .+\)$"):
        ev.from_json("shadow pistol academic always adequate")


def test_a_truncated_json_file_is_refused():
    text = valid_json("ecdh")
    for cut in (len(text) // 3, len(text) // 2, len(text) - 3):
        with pytest.raises(InvalidInput, match=r"^not an envelope: not JSON \(line \d+, column \d+: .+\)$"):
            ev.from_json(text[:cut])


def test_a_json_array_is_refused():
    with pytest.raises(InvalidInput, match="^not an envelope: not a JSON object$"):
        ev.from_json(json.dumps([document("aes")]))
    with pytest.raises(InvalidInput, match="^not an envelope: not a JSON object$"):
        ev.from_json('"coldvault-envelope/1"')


def test_a_truncated_ciphertext_does_not_open():
    """Longer than a tag, so the reader cannot tell it is short: the AEAD refuses it."""
    doc = document("aes")
    doc["ciphertext"] = b64(base64.b64decode(doc["ciphertext"])[:-1])
    with pytest.raises(ev.EnvelopeDoesNotOpen):
        read_and_open(json.dumps(doc))


def test_key_order_and_white_space_in_the_file_do_not_matter():
    doc = document("rsa-sha1")
    reordered = dict(reversed(list(doc.items())))
    assert read_and_open(json.dumps(reordered, separators=(",", ":"))) == shares()[0]
    assert read_and_open("\n\n" + json.dumps(doc, indent=7) + "\n\n") == shares()[0]


def test_deeply_nested_json_is_invalid_input_not_a_crash():
    with pytest.raises(InvalidInput):
        ev.from_json('{"format": "coldvault-envelope/1", "custodian": ' + "[" * 100_000 + "]" * 100_000 + "}")


def test_a_key_given_twice_is_refused():
    """Otherwise a file could show a person one value and hand the reader another."""
    text = valid_json("aes")
    doubled = text.replace('"custodian":', '"custodian": "Mallory", "custodian":', 1)
    with pytest.raises(InvalidInput, match='the key "custodian" appears twice'):
        ev.from_json(doubled)


# --------------------------------------------------------------------------- tampering


def flip_value(value: Any, path: str, position: int) -> Any:
    """Flip one bit of a header value, keeping its encoding valid so the change reaches the AEAD.

    position 0 flips the first bit (of the first byte or character), 1 the last.
    """
    if isinstance(value, int):
        limit = 15 if path.endswith("identifier") else 4
        return value ^ (1 << (0 if position == 0 else limit - 1))
    if path in ("nonce", "ciphertext", "ephemeral_public_key", "wrapped_key"):
        data = bytearray(base64.b64decode(value))
        index = 0 if position == 0 else len(data) - 1
        data[index] ^= 0x01 if position == 0 else 0x80
        return b64(bytes(data))
    if path.endswith(("share_fingerprint", "public_key_sha256", "key_id")):
        data = bytearray(bytes.fromhex(value))
        data[0 if position == 0 else -1] ^= 0x01
        return bytes(data).hex()
    assert isinstance(value, str) and value
    index = 0 if position == 0 else len(value) - 1
    return value[:index] + chr(ord(value[index]) ^ 1) + value[index + 1:]


COMMON_FIELDS = ["ceremony_id", "share.identifier", "share.group_index", "share.member_index",
                 "share.share_fingerprint", "custodian", "recipient.token_label", "recipient.key_label", "nonce", "ciphertext"]
FIELDS = {
    "aes": COMMON_FIELDS + ["recipient.key_id"],
    "ecdh": COMMON_FIELDS + ["recipient.public_key_sha256", "ephemeral_public_key"],
    "rsa-sha256": COMMON_FIELDS + ["recipient.public_key_sha256", "wrapped_key"],
    "rsa-sha1": COMMON_FIELDS + ["recipient.public_key_sha256", "wrapped_key"],
}
# Flipping these breaks what the reader accepts: refused while parsing.
PARSE_REFUSED = {"format", "recipient.kind", "recipient.oaep_hash"}
TAMPER_CASES = [
    (kind, field, position)
    for kind, fields in FIELDS.items()
    for field in ["format", "recipient.kind", *fields] + (["recipient.oaep_hash"] if kind.startswith("rsa") else [])
    for position in (0, 1)
]


@pytest.mark.parametrize(("kind", "field", "position"), TAMPER_CASES,
                         ids=[f"{k}-{f}-{'first' if p == 0 else 'last'}" for k, f, p in TAMPER_CASES])
def test_a_flipped_bit_in_any_header_field_means_it_does_not_open(kind, field, position):
    doc = document(kind)
    original = get_path(doc, field)
    set_path(doc, field, flip_value(original, field, position))
    assert get_path(doc, field) != original
    text = json.dumps(doc, indent=2, ensure_ascii=False)

    if field in PARSE_REFUSED:
        with pytest.raises(InvalidInput) as caught:
            ev.from_json(text)
        assert not isinstance(caught.value, ev.EnvelopeDoesNotOpen)
        return
    if field == "ephemeral_public_key" and position == 0:  # 0x04 -> 0x05: not an uncompressed point
        with pytest.raises(InvalidInput, match="not an uncompressed P-256 point"):
            ev.from_json(text)
        return

    parsed = ev.from_json(text)  # the flip kept the encoding valid: only the cryptography can catch it
    expected: tuple[type[Exception], ...] = (ev.EnvelopeDoesNotOpen,)
    if field == "ephemeral_public_key":
        expected = (ev.EnvelopeDoesNotOpen, PeerPointRejected)  # off the curve: the token refuses the ECDH
    with pytest.raises(expected) as caught:
        open_envelope(parsed)
    if isinstance(caught.value, ev.EnvelopeDoesNotOpen):
        assert caught.value.message == "the envelope does not open: it was altered, or it is sealed to another key"


@pytest.mark.parametrize("kind", KINDS)
def test_no_single_bit_flip_anywhere_in_the_file_yields_a_share(kind):
    """Every byte of the file, one bit each (bit 0, and bit 5 which turns letters' case):
    each flipped file is refused by the reader or does not open. None returns a share."""
    data = valid_json(kind).encode("utf-8")
    assert read_and_open(data.decode()) == shares()[0]
    opened = []
    for index in range(len(data)):
        for bit in (0x01, 0x20):
            flipped = bytearray(data)
            flipped[index] ^= bit
            try:
                text = bytes(flipped).decode("utf-8")
            except UnicodeDecodeError:
                continue  # coldvault's file reader refuses text that is not UTF-8
            try:
                read_and_open(text)
            except (InvalidInput, PeerPointRejected):
                continue
            opened.append((index, bit))
    assert opened == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_header_swapped_between_two_envelopes_is_refused(kind):
    """Two envelopes to the same recipient, different shares: neither body opens under the other's header."""
    first, second = document(kind, 0), document(kind, 1)
    assert read_and_open(json.dumps(first)) == shares()[0]
    assert read_and_open(json.dumps(second)) == shares()[1]

    # the whole header of the first (crypto fields too), the nonce and ciphertext of the second
    whole = {**first, "nonce": second["nonce"], "ciphertext": second["ciphertext"]}
    # only the share's identity and custodian of the first; everything else of the second
    identity = {**second, "share": first["share"], "custodian": "Mallory"}
    for swapped in (whole, identity):
        with pytest.raises(ev.EnvelopeDoesNotOpen):
            read_and_open(json.dumps(swapped))


# --------------------------------------------------------------------------- public keys


def pem(public_key: Any) -> bytes:
    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def test_load_public_key_accepts_p256_and_rsa_3072_as_pem_and_der():
    for public in (ec_private().public_key(), rsa_private().public_key()):
        for data in (pem(public), spki(public), b"\n  " + pem(public)):
            loaded, _ = registry.load_public_key(data)
            assert spki(loaded) == spki(public)
    assert public_key_sha256(ec_private().public_key()) == hashlib.sha256(spki(ec_private().public_key())).hexdigest()


@pytest.mark.parametrize("bits", [1024, 2048, 3071])
def test_load_public_key_refuses_rsa_under_3072_bits(bits):
    public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    for data in (pem(public), spki(public)):
        with pytest.raises(InvalidInput) as caught:
            registry.load_public_key(data)
        size = public.key_size  # cryptography may round an odd size down
        assert size < 3072
        assert caught.value.message == f"a {size}-bit RSA key; coldvault seals to RSA keys of at least 3072 bits"


@pytest.mark.parametrize("curve", [ec.SECP384R1(), ec.SECP521R1(), ec.SECP256K1(), ec.SECP224R1()], ids=lambda c: c.name)
def test_load_public_key_refuses_ec_keys_on_other_curves(curve):
    public = ec.generate_private_key(curve).public_key()
    for data in (pem(public), spki(public)):
        with pytest.raises(InvalidInput) as caught:
            registry.load_public_key(data)
        assert caught.value.message == f"an EC key on {curve.name}; coldvault seals to P-256 (secp256r1) keys"


def test_load_public_key_refuses_other_key_types_and_garbage():
    with pytest.raises(InvalidInput, match="coldvault seals to EC P-256 or RSA keys"):
        registry.load_public_key(pem(ed25519.Ed25519PrivateKey.generate().public_key()))
    for garbage in (b"", b"hello", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", os.urandom(91)):
        with pytest.raises(InvalidInput, match=re.escape("not a public key (PEM or DER SubjectPublicKeyInfo)")):
            registry.load_public_key(garbage)
