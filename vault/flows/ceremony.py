"""Running a ceremony plan end to end: check, make the secret, split, seal, prove, record, write.

An edge: it talks to tokens and the file system, and asks witnesses through a
`Guide`. The order is what makes it safe:

1. Everything that can be checked without the secret is checked first: the plan,
   the output directory, every token, key and public key file. A mistake costs
   nothing yet.
2. The secret exists only in memory. Shares are made, sealed, and proven (every
   envelope opens where its token is present; every qualifying subset recovers the
   secret's fingerprint) before a single file is written.
3. Every output is written to a staging directory, read back, and renamed into
   place in one step. A crash leaves either the complete ceremony or none, and
   possibly a staging directory, which the next run refuses to ignore.

The transcript records each step as it happens, without any secret.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from vault.core import backup, proof
from vault.core.formats import envelope as ev
from vault.core.formats import manifest as mf
from vault.core.formats import sharefile, transcript
from vault.core.formats.plan import PAPER, SOURCE_BIP39, SOURCE_GENERATE, Custodian, Plan
from vault.core.secret import Secret, SecretKind
from vault.core.slip39.share import Share
from vault.core.text import packets as packet
from vault.edges import card, fsio, sealing, tokens
from vault.errors import CheckFailed, InvalidInput, VaultError, WriteRefused

PAUSE_ENV = "COLDVAULT_TEST_PAUSE_AT"
"""Tests only: pause at a named checkpoint so a test can kill the run there."""
CHECKPOINTS = ("checked", "secret", "sealed", "staged")

TRANSCRIPT_FILE = transcript.TRANSCRIPT_FILE
SIGNATURE_FILE = transcript.signature_file(TRANSCRIPT_FILE)
RUNBOOK_FILE = "runbook.md"
CUSTODIANS_DIR = "custodians"


class Guide(Protocol):
    """How the ceremony talks to the room: announces steps, asks witnesses to confirm."""

    def step(self, title: str, lines: Sequence[str] = ()) -> None: ...

    def confirm(self, what: str) -> str:
        """Every witness confirms `what`; returns how they did, for the transcript."""
        ...


@dataclass(frozen=True)
class Recipient:
    """A custodian's delivery, resolved before any secret exists."""

    group_index: int
    member_index: int
    custodian: Custodian
    public_key: Any = None
    proving_token: str | None = None
    """The token that opens this custodian's envelope, when it is in the room."""


@dataclass(frozen=True)
class Packet:
    """What one custodian takes away."""

    recipient: Recipient
    share: Share
    file: str
    """The share file or envelope, relative to the ceremony directory."""
    envelope: ev.Envelope | None
    proven: bool
    """For paper: always. For an envelope: opened again with its token here."""


@dataclass(frozen=True)
class Rotation:
    """A ceremony that re-splits an existing vault's seed (`coldvault rotate`)."""

    superseded: mf.Manifest
    supersedes: mf.Supersedes
    record: dict[str, Any]
    """The transcript's `rotation` event: the old vault and the shares that recovered it."""


@dataclass(frozen=True)
class Outcome:
    out: Path
    manifest: mf.Manifest
    head: str
    signed: bool
    packets: tuple[Packet, ...]


def run(
    plan: Plan,
    plan_text: str,
    plan_dir: Path,
    out: Path,
    read_secret: Callable[[], Secret],
    read_passphrase: Callable[[], bytes],
    opener: sealing.Opener,
    guide: Guide,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    rotation: Rotation | None = None,
) -> Outcome:
    """Run `plan` and write the ceremony to `out`; see the module docstring for the order.

    With `rotation`, `read_secret` recovers the old vault's seed; the transcript and the
    manifest name the vault this one supersedes.
    """
    check_output(out)
    guide.step("Checking the plan, the tokens and the keys (no secret exists yet)")
    recipients = prepare(plan, plan_dir, opener)
    signer = _signing_public_key(plan, opener)
    ceremony = backup.new_ceremony(plan.name, clock(), random_bytes)
    log = _Log(clock)
    log.add("ceremony-started", _started(plan, plan_text, ceremony, signer))
    if rotation is not None:
        log.add("rotation", rotation.record)
    _checkpoint("checked")

    guide.step("Witnesses", [f"operator: {plan.operator}", *(f"witness: {name}" for name in plan.witnesses)])
    log.add("witnesses-present", {"operator": plan.operator, "witnesses": list(plan.witnesses), "confirmed": guide.confirm("that you are present")})
    passphrase = read_passphrase()
    secret = read_secret()
    check_secret(plan, secret)
    secret_record = _secret_record(plan, secret, rotation)
    guide.step("The secret is ready (in memory only). Write down its fingerprints:", packet.secret_lines(secret_record))
    log.add("secret-ready", {**secret_record, "confirmed": guide.confirm("that you wrote down the fingerprints")})
    _checkpoint("secret")

    options = backup.SplitOptions(plan.iteration_exponent, plan.extendable, plan.name, plan.drill_interval_days)
    shares = backup.make_shares(secret, plan.scheme, passphrase, options, random_bytes)
    log.add("shares-made", _shares_record(plan, shares))
    guide.step("Sealing and printing each custodian's share")
    packets = tuple(deliver(r, share, ceremony.id, opener, random_bytes) for r, share in zip(recipients, shares, strict=True))
    for made in packets:
        log.add("packet-made", packet_record(made))
    _checkpoint("sealed")

    holdings = [backup.Holding(p.recipient.custodian.name, p.file, p.envelope.recipient.kind if p.envelope else None) for p in packets]
    manifest = backup.describe(ceremony, secret, plan.scheme, bool(passphrase), options, shares, holdings)
    if rotation is not None:
        manifest = dataclasses.replace(manifest, supersedes=rotation.supersedes)
    log.add("recovery-proven", _prove(manifest, shares, passphrase))
    manifest_text = mf.to_json(manifest)
    files = packet_files(manifest, manifest_text, packets)
    guide.step("Packets", packet.packet_lines(manifest, packets))
    log.add("ceremony-completed", {
        "manifest_sha256": _sha256(manifest_text.encode("utf-8")),
        "public_files": {path: _sha256(_bytes(data)) for path, data, secret_ in files if not secret_},
        "confirmed": guide.confirm("that the packets and share fingerprints are as listed"),
    })
    files += _record_files(plan, manifest, log.chain, packets, opener, rotation)
    fsio.write_directory(out, files, before_rename=lambda staging: read_back(staging, manifest, packets))
    return Outcome(out, manifest, transcript.head(log.chain), plan.signing is not None, packets)


def check_output(out: Path) -> None:
    """A new, empty output, and no staging directory left by an interrupted ceremony."""
    fsio.check_output_dir(out)
    leftovers = fsio.leftover_staging(out)
    if leftovers:
        raise WriteRefused(
            f"{leftovers[0]} is left from an interrupted run and may hold plaintext shares",
            "a ceremony does not start beside it: inspect it with the witnesses, destroy it, and run again",
        )


def prepare(plan: Plan, plan_dir: Path, opener: sealing.Opener) -> tuple[Recipient, ...]:
    """Resolve every delivery: public key files loaded, tokens and keys found. Raises naming the plan line."""
    recipients = []
    for group_index, member_index, custodian in plan.custodians():
        try:
            recipients.append(resolve(group_index, member_index, custodian, plan_dir, opener))
        except VaultError as error:
            raise error.with_context(f'{plan.where(custodian.line)}: custodian "{custodian.name}"') from None
    return tuple(recipients)


def resolve(group_index: int, member_index: int, custodian: Custodian, plan_dir: Path, opener: sealing.Opener) -> Recipient:
    """One custodian's delivery, checked: its token and key found, or its public key file loaded."""
    delivery = custodian.delivery
    if delivery.kind == PAPER:
        return Recipient(group_index, member_index, custodian)
    if delivery.kind == ev.KIND_TOKEN_AES:
        assert delivery.token is not None and delivery.key is not None
        try:
            opener.key_finder(delivery.token)(ev.KIND_TOKEN_AES, delivery.key, None)
        except VaultError as error:
            raise error.with_context(f'token "{delivery.token}"') from None
        return Recipient(group_index, member_index, custodian, proving_token=delivery.token)
    assert delivery.public_key is not None
    path = plan_dir / delivery.public_key
    try:
        public = ev.load_public_key(fsio.read_bytes(path))
    except VaultError as error:
        raise error.with_context(f"public_key {path}") from None
    if ev.public_key_kind(public) != delivery.kind:
        raise InvalidInput(f"public_key {path} is not a key for {delivery.kind}", "ecdh-p256 takes an EC P-256 key; rsa-oaep an RSA key")
    if delivery.token is not None:
        sealing.token_for_public_key(opener, [delivery.token], public)
    return Recipient(group_index, member_index, custodian, public, delivery.token)


def check_secret(plan: Plan, secret: Secret) -> None:
    """The secret brought must be the kind and strength the plan promised."""
    kind = SecretKind.BIP39_ENTROPY if plan.secret_source == SOURCE_BIP39 else SecretKind.MASTER_SECRET
    if secret.kind is not kind:
        raise InvalidInput(f"the plan's secret source is {plan.secret_source}, but a {secret.kind.value} was given")
    if secret.bits != plan.secret_bits:
        raise InvalidInput(f"the plan says {plan.secret_bits} bits, but the secret given has {secret.bits}")


def deliver(
    recipient: Recipient, share: Share, ceremony_id: str, opener: sealing.Opener, random_bytes: Callable[[int], bytes] = secrets.token_bytes
) -> Packet:
    """The custodian's packet: the share on paper, or sealed (and opened again where the token is here)."""
    custodian = recipient.custodian
    delivery = custodian.delivery
    folder = f"{CUSTODIANS_DIR}/{custodian.folder}"
    if delivery.kind == PAPER:
        return Packet(recipient, share, f"{folder}/share.txt", None, True)
    try:
        if delivery.kind == ev.KIND_TOKEN_AES:
            assert delivery.token is not None and delivery.key is not None
            sealed = sealing.seal_with_token_key(
                opener, delivery.token, delivery.key, share, ceremony_id=ceremony_id, custodian=custodian.name, random_bytes=random_bytes
            )
        else:
            sealed = ev.seal_to_public_key(
                share, recipient.public_key, ceremony_id=ceremony_id, custodian=custodian.name,
                token_label=delivery.token, oaep_hash=delivery.oaep_hash or "sha256", random_bytes=random_bytes,
            )
            if recipient.proving_token:
                sealing.prove_opens(opener, sealed, share)
    except VaultError as error:
        raise error.with_context(f'sealing the share of "{custodian.name}"') from None
    return Packet(recipient, share, f"{folder}/share.envelope.json", sealed, recipient.proving_token is not None)


def _prove(manifest: mf.Manifest, shares: tuple[Share, ...], passphrase: bytes) -> dict[str, Any]:
    """Every qualifying subset of the new shares recovers the secret (docs/verify.md)."""
    result = proof.prove([proof.Given(f"share {i}", share) for i, share in enumerate(shares)], manifest, passphrase)
    if not result.ok or result.secret_status != proof.SECRET_MATCHES:
        raise CheckFailed(f"the new shares do not prove out ({result.secret_detail}); nothing was written")
    return {"secret_fingerprint": manifest.secret.secret_fingerprint, "qualifying_subsets": result.qualifying_subsets}


def packet_files(manifest: mf.Manifest, manifest_text: str, packets: Sequence[Packet]) -> list[tuple[str, str | bytes, bool]]:
    """manifest.json, and per custodian: the share (card and text, or envelope), a manifest copy, a README."""
    files: list[tuple[str, str | bytes, bool]] = [(backup.MANIFEST_FILE, manifest_text, False)]
    for made in packets:
        folder = made.file.rsplit("/", 1)[0]
        name = made.recipient.custodian.name
        group = manifest.scheme.groups[made.share.group_index]
        if made.envelope is None:
            files.append((made.file, backup.render_share_file(made.share, manifest.ceremony, group, name), True))
            files.append((f"{folder}/card.pdf", card.render_card(
                made.share, ceremony_name=manifest.ceremony.name, ceremony_id=manifest.ceremony.id, custodian=name,
                group_name=group.name, member_count=group.member_count,
            ), True))
        else:
            files.append((made.file, ev.to_json(made.envelope), False))
        files.append((f"{folder}/{backup.MANIFEST_FILE}", manifest_text, False))
        files.append((f"{folder}/README.md", packet.custodian_readme(manifest, made), False))
    return files


def _record_files(
    plan: Plan, manifest: mf.Manifest, chain: transcript.Chain, packets: Sequence[Packet], opener: sealing.Opener,
    rotation: Rotation | None,
) -> list[tuple[str, str | bytes, bool]]:
    """The transcript, its signature (when the plan asks), and the runbook that quotes its head."""
    files: list[tuple[str, str | bytes, bool]] = [(TRANSCRIPT_FILE, transcript.to_text(chain), False)]
    if plan.signing is not None:
        files.append((SIGNATURE_FILE, transcript.signature_to_json(_sign(plan, chain, opener)), False))
    superseded = rotation.superseded if rotation else None
    files.append((RUNBOOK_FILE, packet.runbook(plan, manifest, packets, transcript.head(chain), superseded), False))
    return files


def _signing_public_key(plan: Plan, opener: sealing.Opener) -> Any:
    """The ceremony token's signing key, found and tried (on a digest of zeros) before any secret exists."""
    if plan.signing is None:
        return None
    signing = plan.signing
    try:
        _, public = tokens.ecdsa_sign(opener.session(signing.token), signing.key, bytes(32))
    except VaultError as error:
        raise error.with_context(f"{plan.where(signing.line)}: signing key") from None
    return public


def _sign(plan: Plan, chain: transcript.Chain, opener: sealing.Opener) -> transcript.Signature:
    """Sign the transcript's head on the ceremony token, and check the signature before keeping it."""
    assert plan.signing is not None
    signing = plan.signing
    last = chain.events[-1]
    raw, public = tokens.ecdsa_sign(opener.session(signing.token), signing.key, transcript.signature_digest(last.hash))
    signature = transcript.signature_for(last, _spki(public), raw, signing.token, signing.key)
    transcript.check_signature(chain.events, signature)
    return signature


def read_back(staging: Path, manifest: mf.Manifest, packets: Sequence[Packet]) -> None:
    """What is on disk is what was proven: the manifest, each share file and envelope."""
    _checkpoint("staged")
    if mf.from_json(fsio.read_text(staging / backup.MANIFEST_FILE)) != manifest:
        raise CheckFailed("manifest.json reads back differently; nothing was published")
    for made in packets:
        text = fsio.read_text(staging / made.file)
        if made.envelope is None:
            matches = sharefile.parse(text) == made.share
        else:
            matches = ev.from_json(text) == made.envelope
        if not matches:
            raise CheckFailed(f"{made.file} reads back differently; nothing was published")


def _started(plan: Plan, plan_text: str, ceremony: mf.Ceremony, signer: Any) -> dict[str, Any]:
    from vault import __version__

    return {
        "format": transcript.FORMAT,
        "ceremony_id": ceremony.id,
        "name": ceremony.name,
        "coldvault": __version__,
        "plan_sha256": _sha256(plan_text.encode("utf-8")),
        "scheme": {
            "group_threshold": plan.group_threshold,
            "groups": [{"name": g.name, "threshold": g.threshold, "custodians": [c.name for c in g.custodians]} for g in plan.groups],
            "passphrase": plan.passphrase,
            "iteration_exponent": plan.iteration_exponent,
            "extendable": plan.extendable,
        },
        "signing": None if signer is None or plan.signing is None else transcript.signing_data(
            transcript.Signer(ev.public_key_sha256(signer), plan.signing.token, plan.signing.key)
        ),
    }


def _secret_record(plan: Plan, secret: Secret, rotation: Rotation | None) -> dict[str, Any]:
    from vault.core.fingerprint import secret_fingerprint, wallet_fingerprint

    if rotation is not None:
        source = f"recovered from ceremony {rotation.supersedes.ceremony_id}"
    else:
        source = "generated" if plan.secret_source == SOURCE_GENERATE else "imported"
    return {
        "kind": secret.kind.value,
        "bits": secret.bits,
        "source": source,
        "secret_fingerprint": secret_fingerprint(secret),
        "wallet_fingerprint": wallet_fingerprint(secret),
    }


def _shares_record(plan: Plan, shares: Sequence[Share]) -> dict[str, Any]:
    first = shares[0]
    return {
        "identifier": first.identifier,
        "extendable": first.extendable,
        "iteration_exponent": first.iteration_exponent,
        "shares": [
            {"group_index": s.group_index, "member_index": s.member_index, "custodian": c.name, "share_fingerprint": s.fingerprint}
            for (_, _, c), s in zip(plan.custodians(), shares, strict=True)
        ],
    }


def packet_record(made: Packet) -> dict[str, Any]:
    """A packet as the transcript records it: who, which share (by fingerprint), how delivered."""
    record: dict[str, Any] = {"custodian": made.recipient.custodian.name, "share_fingerprint": made.share.fingerprint, "file": made.file}
    if made.envelope is None:
        return {**record, "delivery": PAPER}
    recipient = made.envelope.recipient
    return {
        **record,
        "delivery": recipient.kind,
        "recipient": {k: v for k, v in vars(recipient).items() if v is not None and k != "kind"},
        "envelope_sha256": _sha256(ev.to_json(made.envelope).encode("utf-8")),
        "proven_opens": made.proven,
    }


class _Log:
    """The transcript as it grows, with the clock that stamps it."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.chain = transcript.start()
        self.clock = clock

    def add(self, event: str, data: dict[str, Any]) -> None:
        self.chain = transcript.append(self.chain, event, data, self.clock())


def _checkpoint(name: str) -> None:
    """Tests only ($COLDVAULT_TEST_PAUSE_AT): stop here so a test can kill the run at this step."""
    if os.environ.get(PAUSE_ENV) == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        time.sleep(3600)


def _spki(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8")

