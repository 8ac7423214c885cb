"""Write the fuzz targets' seed corpora (tests/fuzz/corpus/TARGET/) from real inputs.

Run once, and again when a format changes:

    .venv/bin/python tests/fuzz/make_corpus.py

The fuzzer mutates what it is given, so it gets deepest from inputs that already
pass most checks: the SLIP-39 test vectors, the plans in ceremony/, the worked
examples in docs/, and the files a real ceremony, split, wrap and drill write (made
here with the CLI, in a temporary directory, from public test data: every secret
below is a test vector or random, and is thrown away). Generated files differ from
run to run (identifiers, times, randomness); that does not matter to the fuzzer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils

from vault.core.formats import envelope, sharefile, transcript
from vault.core.formats import transcript_reader
from vault.core.formats import transcript_signature

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
TARGETS = ("share", "envelope", "plan", "manifest", "transcript", "signature")
BIP39_WORDS = " ".join(["abandon"] * 23 + ["art"])
"""A BIP-39 test vector (all-zero entropy, 256 bits)."""
SHARE_DEFECTS = ("invalid checksum", "invalid padding", "greater group threshold", "insufficient length", "invalid master secret length")
"""SLIP-39 vectors whose defect is in each share itself (the others' are in how shares combine)."""
INVALID = "invalid-"
"""Seeds named so must be refused; every other seed must parse (tests/test_fuzz.py)."""


def main() -> None:
    for target in TARGETS:
        shutil.rmtree(CORPUS / target, ignore_errors=True)
        (CORPUS / target).mkdir(parents=True)
    from_vectors()
    from_docs()
    for plan in sorted((ROOT / "ceremony").glob("*.toml")) + [ROOT / "vault" / "templates" / "plan.toml"]:
        put("plan", f"{plan.parent.name}-{plan.name}", plan.read_bytes())
    with tempfile.TemporaryDirectory() as work:
        from_cli(Path(work))
    for target in TARGETS:
        print(f"{target}: {len(list((CORPUS / target).iterdir()))} seeds")


def put(target: str, name: str, data: bytes) -> None:
    (CORPUS / target / name).write_bytes(data)


def from_vectors() -> None:
    """Every mnemonic of the SLIP-39 test vectors, valid and invalid, one per file."""
    vectors = json.loads((ROOT / "tests" / "vectors" / "slip39-vectors.json").read_text())
    for number, (description, mnemonics, *_) in enumerate(vectors, start=1):
        prefix = INVALID if any(defect in description for defect in SHARE_DEFECTS) else ""
        for index, mnemonic in enumerate(mnemonics, start=1):
            put("share", f"{prefix}vector-{number:02d}-{index}.txt", mnemonic.encode())
    put("share", f"{INVALID}bip39-words.txt", BIP39_WORDS.encode())


def from_docs() -> None:
    """The worked examples: the envelope, the manifest, the transcript and its signature."""
    envelope_doc = (ROOT / "docs" / "envelope.md").read_text()
    put("envelope", "docs-worked-example.envelope.json", code_block(envelope_doc, "json", after="The envelope:").encode())
    formats_doc = (ROOT / "docs" / "formats.md").read_text()
    # Abbreviated in the docs: its group_threshold is 2, and it shows one group.
    put("manifest", f"{INVALID}docs-formats-example.json", code_block(formats_doc, "json", after="## Manifest").encode())
    transcript_doc = (ROOT / "docs" / "transcript.md").read_text()
    example = code_block(transcript_doc, "jsonl", after="The transcript (").encode()
    put("transcript", "docs-worked-example.jsonl", example)
    put("signature", "docs-worked-example.sig.json", code_block(transcript_doc, "json", after="The signature over the head").encode())
    # The same head signed again with the example's key (a fresh nonce), with no labels.
    pem = re.search(r"-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----\n", transcript_doc, re.S)
    assert pem is not None
    key = serialization.load_pem_private_key(pem.group().encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    head = transcript_reader.parse_bytes(example)[-1]
    put("signature", "resigned-no-labels.sig.json", transcript_signature.signature_to_json(sign(head, key)).encode())


def code_block(text: str, language: str, after: str) -> str:
    """The first ```language block after the line containing `after`."""
    start = text.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(text, start)
    assert match is not None, (language, after)
    return match.group(1)


def sign(event: transcript.Event, key: ec.EllipticCurvePrivateKey, token: str | None = None, label: str | None = None) -> transcript_signature.Signature:
    """What a token's CKM_ECDSA gives (r || s over the digest), made in software."""
    r, s = utils.decode_dss_signature(key.sign(transcript_signature.signature_digest(event.hash), ec.ECDSA(utils.Prehashed(hashes.SHA256()))))
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return transcript_signature.signature_for(event, der, r.to_bytes(32, "big") + s.to_bytes(32, "big"), token, label)


def cli(work: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "vault", *args], cwd=work, check=True, capture_output=True, text=True, input="")


def from_cli(work: Path) -> None:
    """A ceremony (family.toml), three splits, RSA and AES envelopes and a drill log, as the CLI writes them."""
    (work / "keys").mkdir()
    shutil.copy(ROOT / "ceremony" / "family.toml", work / "family.toml")
    (work / "keys" / "carol.pem").write_bytes(public_pem(ec.generate_private_key(ec.SECP256R1())))
    (work / "words.txt").write_text(BIP39_WORDS + "\n")
    cli(work, "ceremony", "run", "family.toml", "--yes", "--bip39-file", "words.txt", "--out", "family")
    family = work / "family"
    custodians = family / "custodians"
    for name in ("alice-smith", "bob-smith"):
        put("share", f"ceremony-{name}.txt", (custodians / name / "share.txt").read_bytes())
    put("envelope", "ceremony-carol-ecdh-p256.envelope.json", (custodians / "carol-smith" / "share.envelope.json").read_bytes())
    put("manifest", "ceremony-family.json", (family / "manifest.json").read_bytes())
    put("transcript", "ceremony-family.jsonl", (family / "transcript.jsonl").read_bytes())

    (work / "secret-512.hex").write_text(os.urandom(64).hex() + "\n")
    (work / "secret-256.hex").write_text(os.urandom(32).hex() + "\n")
    (work / "passphrase.txt").write_text("TREZOR\n")
    cli(work, "split", "--scheme", "1of1", "--secret-file", "secret-512.hex", "--out", "split-512")
    cli(work, "split", "--generate", "128", "--scheme", "2of3", "--no-extendable", "--iteration-exponent", "0",
        "--out", "split-128")
    cli(work, "split", "--secret-file", "secret-256.hex", "--passphrase-file", "passphrase.txt",
        "--group-threshold", "2", "--group", "2of3", "--group", "3of5", "--group", "1of1",
        "--group-name", "Board", "--group-name", "Officers", "--group-name", "Escrow", "--out", "split-groups")
    put("share", "split-512-bits.txt", (work / "split-512" / "shares" / "group1-share1.txt").read_bytes())
    put("share", "split-128-bits-not-extendable.txt", (work / "split-128" / "shares" / "group1-share2.txt").read_bytes())
    put("share", "split-groups-officers.txt", (work / "split-groups" / "shares" / "group2-share4.txt").read_bytes())
    for name in ("split-512", "split-128", "split-groups"):
        put("manifest", f"{name}.json", (work / name / "manifest.json").read_bytes())

    (work / "rsa.pem").write_bytes(public_pem(rsa.generate_private_key(public_exponent=65537, key_size=3072)))
    share_file = "split-groups/shares/group1-share1.txt"
    for oaep in ("sha256", "sha1"):
        cli(work, "wrap", share_file, "--recipient-pubkey", "rsa.pem", "--oaep-hash", oaep, "--custodian", "Dana",
            "--manifest", "split-groups/manifest.json", "--out", f"rsa-{oaep}.envelope.json")
        put("envelope", f"wrap-rsa-oaep-{oaep}.envelope.json", (work / f"rsa-{oaep}.envelope.json").read_bytes())
    # A token's AES-GCM envelope is the same format; the reader never decrypts, so software stands in for the token.
    share = sharefile.parse((work / share_file).read_text())
    for key_id in ("01ab", None):
        recipient = envelope.Recipient(envelope.KIND_TOKEN_AES, "alice-card", "coldvault-aes", key_id=key_id)
        unsealed = envelope.template(share, recipient, "00000000-0000-4000-8000-000000000000", "Alice" if key_id else None)
        sealed = envelope.seal_with_data_key(unsealed, share, os.urandom(32), os.urandom(12))
        put("envelope", f"pkcs11-aes-gcm-key-id-{key_id or 'null'}.envelope.json", envelope.to_json(sealed).encode())

    shares = [str(custodians / name / "share.txt") for name in ("alice-smith", "bob-smith")]
    cli(work, "drill", "run", "--manifest", "family/manifest.json", "--operator", "Dana", "--witness", "Erin", *shares)
    cli(work, "drill", "run", "--manifest", "family/manifest.json", "--partial", shares[0])
    try:  # a share of another vault: a failed drill, with its reasons, is recorded too
        cli(work, "drill", "run", "--manifest", "family/manifest.json", "--partial", str(work / share_file))
    except subprocess.CalledProcessError as failed:
        assert failed.returncode == 1, failed.stderr
    put("transcript", "drills.jsonl", (family / "drills.jsonl").read_bytes())
    head = transcript_reader.parse_bytes((family / "transcript.jsonl").read_bytes())[-1]
    put("signature", "ceremony-family-software-key.sig.json",
        transcript_signature.signature_to_json(sign(head, ec.generate_private_key(ec.SECP256R1()), "witness-card", "coldvault")).encode())


def public_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


if __name__ == "__main__":
    main()
