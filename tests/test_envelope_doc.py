"""docs/envelope.md's worked example is what the code computes, and it opens.

The example is the format's test vector: if the code or the document changes alone,
this fails.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from vault.core.formats import envelope as ev
from vault.core.recipients import ecdh_p256
from vault.core.recipients.base import SoftwareAead, SoftwareKey, public_key_sha256

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "envelope.md").read_text()
sys.path.insert(0, str(ROOT / "scripts"))
from envelope_example import example  # noqa: E402


def test_every_value_in_the_document_is_the_codes():
    for name, value in example().items():
        assert str(value).strip() in DOC, name


def test_the_documented_envelope_opens_with_the_documented_key():
    envelope_json = re.search(r"```json\n(.*?)```", DOC, re.S).group(1)
    pem = re.search(r"(-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----)", DOC, re.S).group(1)
    private = load_pem_private_key(pem.encode(), password=None)
    sealed = ev.from_json(envelope_json)
    ephemeral_point = sealed.recipient.ephemeral_public_key
    shared_x = private.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ephemeral_point))
    data_key = ecdh_p256.data_key_of(shared_x, ephemeral_point, ecdh_p256.point_bytes(private.public_key()))
    share = ev.check_opened(sealed, SoftwareAead(data_key).decrypt(sealed.nonce, sealed.ciphertext, sealed.associated_data()))
    assert share.mnemonic == example()["share"]
    assert ev.unseal(sealed, SoftwareKey(private)) == share  # the recipient kind's own opening agrees
    assert sealed.recipient.public_key_sha256 == public_key_sha256(private.public_key())
