"""Print the worked example of docs/attestation.md, deterministically.

`.venv/bin/python scripts/attestation_example.py` regenerates every value the document
shows; tests/test_attestation_doc.py checks the document against this computation, so
the example cannot drift from the code. Ed25519 signatures are deterministic, so the
signature is a fixed value too.
"""

from __future__ import annotations

from datetime import datetime, timezone

from vault.core.events import DRILL
from vault.core import attestation, evidence
from vault.core.formats import drills as dl
from vault.core.formats import transcript
from vault.core.secret import Secret, SecretKind
from vault.core.slip39.share import parse_share

# SLIP-39 test vector 4 ("Basic sharing 2-of-3 (128 bits)"): public test data.
SHARE = (
    "shadow pistol academic always adequate wildlife fancy gross oasis cylinder "
    "mustang wrist rescue view short owner flip making coding armed"
)
MASTER_SECRET = bytes.fromhex("b43ceb7e57a0ea8766221624d01b0864")
CEREMONY_ID = "00000000-0000-4000-8000-000000000000"
TIME = datetime(2026, 11, 21, 18, 30, 0, tzinfo=timezone.utc)


def example() -> dict[str, object]:
    share = parse_share(SHARE)
    share_key = attestation.share_key(share, CEREMONY_ID)
    vault_key = attestation.vault_key(Secret(SecretKind.MASTER_SECRET, MASTER_SECRET), CEREMONY_ID)
    record = dl.DrillRecord(
        drill_id="11111111-1111-4111-8111-111111111111", kind=dl.DrillKind.SHARES, ceremony_id=CEREMONY_ID,
        manifest_sha256="ffa5b716b5a57837f7929dfcca4b4dfdeb97210a7fd5a12d2f1978846d6f1743", operator="Dana", witnesses=("Erin",),
        shares=(dl.ShareCheck("custodians/alice/share.txt", share.fingerprint, "Alice", share.group_index, share.member_index,
                              dl.Result.PASSED, "listed in the manifest, checksum and group agree"),),
        quorum=dl.QuorumCheck(dl.Result.NOT_ATTEMPTED, "a partial drill: shares checked alone", 0),
        result=dl.Result.PASSED, reasons=(),
    )
    unsigned = transcript.append(transcript.start(), DRILL, dl.to_data(record), TIME).events[-1]
    message = dl.signed_message(unsigned)
    signed = evidence.sign(record, unsigned, [(dl.Signer.SHARE, share.fingerprint, share_key)])
    line = transcript.to_line(transcript.append(transcript.start(), DRILL, dl.to_data(signed), TIME).events[-1])
    return {
        "share": SHARE,
        "share_fingerprint": share.fingerprint,
        "share_public_key": share_key.public_key,
        "vault_public_key": vault_key.public_key,
        "signed_text": message[len(dl.ATTESTATION_DOMAIN):].decode("ascii"),
        "signature": signed.attestations[0].signature,
        "line": line,
    }


if __name__ == "__main__":
    for name, value in example().items():
        print(f"{name}:\n{value}\n")
