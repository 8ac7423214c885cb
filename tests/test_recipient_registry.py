"""Recipient kinds are a registry: a new kind is its own module plus one entry in `registry.KINDS`.

A kind written here, in the test (ECDH on P-384, a curve coldvault does not use), is
added to the registry's list and nothing else; the envelope writer and reader, the
plan reader and the public key loader must then all know it. If any of them had its
own list of kinds, or dispatched by name somewhere else, these tests would fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import shamir_mnemonic
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vault.core.formats import envelope as ev
from vault.core.formats import plan as plans
from vault.core.formats.fields import Fields, b64
from vault.core.recipients import ecdh_p256, registry
from vault.core.recipients.base import (
    Aead,
    Key,
    KeyPairQuery,
    KeyQuery,
    PublicKey,
    RandomBytes,
    Recipient,
    RecipientKind,
    SoftwareAead,
    SoftwareKey,
    Target,
    public_key_sha256,
)
from vault.core.slip39.share import Share, parse_share
from vault.errors import InvalidInput

NAME = "test-ecdh-p384"


@dataclass(frozen=True, kw_only=True)
class P384Recipient(Recipient):
    public_key_sha256: str
    ephemeral: bytes


class EcdhP384(RecipientKind):
    """ECDH with a P-384 key, HKDF as ecdh-p256 does: only what a kind module must say."""

    name = NAME
    recipient_type = P384Recipient
    envelope_members = ("ephemeral",)
    seals_to = "public-key"
    plan_needs = ("public_key",)
    plan_allows = ("public_key", "token")
    public_key_type = ec.EllipticCurvePublicKey
    public_key_name = "EC P-384"
    description = "a test kind"

    def check_public_key(self, public_key: PublicKey) -> None:
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        if not isinstance(public_key.curve, ec.SECP384R1):
            raise InvalidInput("not P-384")

    def seal(self, target: Target, random_bytes: RandomBytes) -> tuple[Recipient, Aead]:
        assert isinstance(target.public_key, ec.EllipticCurvePublicKey)
        ephemeral = ec.generate_private_key(ec.SECP384R1())
        point = _point(ephemeral.public_key())
        key = ecdh_p256.data_key_of(ephemeral.exchange(ec.ECDH(), target.public_key), point, _point(target.public_key))
        return P384Recipient(public_key_sha256=public_key_sha256(target.public_key), ephemeral=point), SoftwareAead(key)

    def wanted(self, recipient: Recipient) -> KeyQuery:
        assert isinstance(recipient, P384Recipient)
        return KeyPairQuery(recipient.public_key_sha256)

    def unseal(self, recipient: Recipient, key: Key) -> Aead:
        assert isinstance(recipient, P384Recipient)
        public = key.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        return SoftwareAead(ecdh_p256.data_key_of(key.ecdh_shared_x(recipient.ephemeral), recipient.ephemeral, _point(public)))

    def write(self, recipient: Recipient) -> tuple[dict[str, object], dict[str, object]]:
        assert isinstance(recipient, P384Recipient)
        members: dict[str, object] = {"kind": NAME, "public_key_sha256": recipient.public_key_sha256,
                                      "token_label": recipient.token_label, "key_label": recipient.key_label}
        return members, {"ephemeral": b64(recipient.ephemeral)}

    def read(self, members: Fields, envelope: Fields) -> Recipient:
        members.only(("kind", "public_key_sha256", "token_label", "key_label"))
        return P384Recipient(public_key_sha256=members.hex("public_key_sha256", 64), ephemeral=envelope.base64("ephemeral"),
                             token_label=members.string("token_label", null=True), key_label=members.string("key_label", null=True))


def _point(public: ec.EllipticCurvePublicKey) -> bytes:
    return public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> RecipientKind:
    kind = EcdhP384()
    monkeypatch.setattr(registry, "KINDS", (*registry.KINDS, kind))  # the registry's list: the one other place a kind is named
    return kind


def a_share() -> Share:
    return parse_share(shamir_mnemonic.generate_mnemonics(1, [(2, 3)], bytes(range(16)), b"", True, 0)[0][0])


def test_an_envelope_of_the_new_kind_is_written_read_and_opened(registered: RecipientKind) -> None:
    private = ec.generate_private_key(ec.SECP384R1())
    share = a_share()
    sealed = ev.seal(share, Target(NAME, public_key=private.public_key()), custodian="Alice")
    text = ev.to_json(sealed)
    assert json.loads(text)["recipient"]["kind"] == NAME and "ephemeral" in json.loads(text)
    read = ev.from_json(text)
    assert read == sealed and read.kind == NAME
    assert ev.unseal(read, SoftwareKey(private)) == share


def test_the_reader_still_refuses_a_kind_that_is_not_in_the_registry(registered: RecipientKind) -> None:
    share = a_share()
    doc = json.loads(ev.to_json(ev.seal(share, Target(NAME, public_key=ec.generate_private_key(ec.SECP384R1()).public_key()))))
    doc["recipient"]["kind"] = "test-unknown"
    with pytest.raises(InvalidInput, match="unknown recipient kind 'test-unknown'"):
        ev.from_json(json.dumps(doc))


def test_a_plan_may_deliver_by_the_new_kind_with_the_fields_it_declares(registered: RecipientKind) -> None:
    plan = plans.parse(PLAN.format(delivery=f'delivery = "{NAME}"\npublic_key = "alice.pem"'), "plan.toml")
    assert plan.groups[0].custodians[0].delivery == plans.Delivery(NAME, public_key="alice.pem")
    with pytest.raises(InvalidInput, match=f'"oaep_hash" does not apply to delivery {NAME}'):
        plans.parse(PLAN.format(delivery=f'delivery = "{NAME}"\npublic_key = "a.pem"\noaep_hash = "sha1"'), "plan.toml")


def test_a_p384_public_key_is_now_the_new_kinds_and_p256_stays_ecdh_p256(registered: RecipientKind) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    assert registry.load_public_key(p384)[1] is registered
    assert registry.load_public_key(p256)[1] is ecdh_p256.KIND


def test_without_the_registry_entry_the_kind_is_unknown_everywhere() -> None:
    with pytest.raises(InvalidInput, match=f'delivery "{NAME}" is unknown'):
        plans.parse(PLAN.format(delivery=f'delivery = "{NAME}"\npublic_key = "alice.pem"'), "plan.toml")
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(InvalidInput, match="coldvault seals to P-256"):
        registry.load_public_key(p384)


PLAN = """format = "coldvault-plan/1"
[ceremony]
name = "Test"
operator = "Dana"
[secret]
source = "generate"
bits = 128
[[group]]
name = "Family"
threshold = 2
[[group.custodian]]
name = "Alice"
{delivery}
[[group.custodian]]
name = "Bob"
delivery = "paper"
"""
