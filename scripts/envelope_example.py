"""Print the worked example of docs/envelope.md, deterministically.

`.venv/bin/python scripts/envelope_example.py` regenerates every value the document
shows; tests/test_envelope_doc.py checks the document against this computation, so
the example cannot drift from the code.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from vault.core.formats import envelope as ev
from vault.core.recipients import ecdh_p256
from vault.core.recipients.base import Target, public_key_sha256
from vault.core.slip39.share import parse_share

# The first share of SLIP-39 test vector 4 ("Basic sharing 2-of-3 (128 bits)"): public test data.
SHARE = (
    "shadow pistol academic always adequate wildlife fancy gross oasis cylinder "
    "mustang wrist rescue view short owner flip making coding armed"
)
RECIPIENT_SCALAR = int.from_bytes(hashlib.sha256(b"coldvault envelope example: recipient").digest(), "big")
EPHEMERAL_BYTES = hashlib.sha256(b"coldvault envelope example: ephemeral").digest()
NONCE = hashlib.sha256(b"coldvault envelope example: nonce").digest()[:12]


def example() -> dict[str, object]:
    recipient = ec.derive_private_key(RECIPIENT_SCALAR, ec.SECP256R1())
    randomness = [EPHEMERAL_BYTES, NONCE]
    target = Target(ecdh_p256.NAME, public_key=recipient.public_key(), token_label="alice-card", key_label="coldvault-p256")
    sealed = ev.seal(
        parse_share(SHARE), target, ceremony_id="00000000-0000-4000-8000-000000000000", custodian="Alice",
        random_bytes=lambda n: randomness.pop(0)[:n],
    )
    assert isinstance(sealed.recipient, ecdh_p256.EcdhRecipient)
    ephemeral = sealed.recipient.ephemeral_public_key
    shared_x = recipient.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ephemeral))
    recipient_point = ecdh_p256.point_bytes(recipient.public_key())
    return {
        "recipient_private_key_pem": recipient.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode(),
        "recipient_public_key_sha256": public_key_sha256(recipient.public_key()),
        "recipient_point_hex": recipient_point.hex(),
        "ephemeral_point_hex": ephemeral.hex(),
        "shared_x_hex": shared_x.hex(),
        "data_key_hex": ecdh_p256.data_key_of(shared_x, ephemeral, recipient_point).hex(),
        "associated_data": sealed.associated_data().decode("ascii"),
        "envelope_json": ev.to_json(sealed),
        "share": SHARE,
    }


if __name__ == "__main__":
    for name, value in example().items():
        print(f"== {name}\n{value}\n")
