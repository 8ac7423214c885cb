"""Running a ceremony plan end to end: check, make the secret, split, seal, prove, record, write.

A flow: the plan and the proofs are the core's, tokens, files and the room are the
edges'; witnesses are asked through a `Guide`. The order is what makes it safe:

1. Everything that can be checked without the secret is checked first: the plan,
   the output directory, every token, key and public key file, and every delivery
   whose token is here, proven by opening a throwaway payload on it
   (`vault.flows.capabilities`). A mistake costs nothing yet; `ceremony check` runs
   this step alone (`check_plan`).
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
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from vault.core import attestation, backup, events, proof, records, succession
from vault.core.delivery import Holder, Packet
from vault.core.fingerprint import secret_fingerprint, wallet_fingerprint
from vault.core.formats import fields, transcript
from vault.core.formats import transcript_signature
from vault.core.formats import manifest as mf
from vault.core.formats import plan as plans
from vault.core.formats.plan import Plan, SecretSource
from vault.core.layout import RUNBOOK_FILE, SIGNATURE_FILE, TRANSCRIPT_FILE
from vault.core.outputs import OutputFile
from vault.core.recipients.base import KeyPairQuery, public_key_sha256, spki_der
from vault.core.secret import Secret
from vault.core.slip39.share import SHARE_WORDS_128_BIT, SHARE_WORDS_256_BIT, Share, share_words
from vault.core.text import packets as words
from vault.edges import fsio, sources
from vault.edges.guide import TerminalGuide
from vault.edges.tokens import keys
from vault.edges.tokens.opener import Opener
from vault.errors import CheckFailed, InvalidInput, VaultError, WriteRefused
from vault.flows import capabilities, packets
from vault.flows.capabilities import Asked
from vault.flows.split import SecretFlags
from vault.flows.tokens import TokenOptions, opener

CHECKPOINTS = ("checked", "secret", "sealed", "staged")
"""Where `run` calls its `checkpoint` callback: after the checks, once the secret exists,
once every share is sealed, once every file is staged (the crash tests stop it there)."""
Checkpoint = Callable[[str], None]

PLAN_TEMPLATE = "plan.toml"
"""The commented plan `ceremony init` writes, in vault/templates/."""


class Guide(Protocol):
    """How the ceremony talks to the room: announces steps, asks witnesses to confirm."""

    def step(self, title: str, lines: Sequence[str] = ()) -> None: ...

    def confirm(self, what: str) -> str:
        """Every witness confirms `what`; returns how they did, for the transcript."""
        ...


@dataclass(frozen=True)
class Rotation:
    """A ceremony that re-splits an existing vault's seed (`coldvault rotate`)."""

    superseded: mf.Manifest
    supersedes: mf.Supersedes
    record: dict[str, Any]
    """The transcript's `rotation` event: the old vault and the shares that recovered it."""

    def statement(self, secret: Secret, manifest: mf.Manifest, manifest_text: str, now: datetime) -> succession.Statement | None:
        """The old vault's word, signed by its vault key (from the secret just recovered), that this vault succeeds it;
        None for a vault made before attestation (it has no vault key)."""
        if self.superseded.attestation is None or manifest.attestation is None:
            return None
        old_key = attestation.vault_key(secret, self.superseded.ceremony.id)
        return succession.sign(succession.Statement(
            succession.Kind.ROTATE, self.superseded.ceremony.id, self.supersedes.manifest_sha256, manifest.ceremony.id,
            records.sha256(manifest_text.encode("utf-8")), manifest.revision_number,
            attestation.key_sha256(manifest.attestation.vault_public_key), None, fields.utc_time(now), old_key.public_key,
        ), old_key)


@dataclass(frozen=True)
class Outcome:
    out: Path
    manifest: mf.Manifest
    head: str
    signing_key_sha256: str | None
    """The SHA-256 of the key that signed the transcript (witnesses write it down), or None: not signed."""
    packets: tuple[Packet, ...]
    qualifying_subsets: int
    """How many minimal qualifying subsets of the new shares were proven to recover the secret (`recovery-proven`)."""
    succession: succession.Statement | None = None
    """A rotation's statement, signed by the old vault's key, for rotate to leave in the old vault's folder."""

    @property
    def vault_key_sha256(self) -> str:
        """The vault's identity (docs/history.md): every vault made now has a vault key."""
        assert self.manifest.attestation is not None
        return attestation.key_sha256(self.manifest.attestation.vault_public_key)

    @property
    def signed(self) -> bool:
        return self.signing_key_sha256 is not None


def run_plan(
    plan_file: Path, out: Path, scripted: bool, flags: SecretFlags, passphrase_file: Path | None, tokens: TokenOptions
) -> Outcome:
    """`coldvault ceremony run`: read and check the plan and the flags against it, then `run` it, guided or scripted."""
    text = fsio.read_text(plan_file)
    plan = plans.parse(text, str(plan_file))
    check_flags(plan, flags, passphrase_file)
    room = TerminalGuide(plan.operator, plan.witnesses, scripted=scripted)
    if plan.secret_source is SecretSource.GENERATE:  # with no flag, the plan's strength
        flags = dataclasses.replace(flags, generate=plan.secret_bits)
    with opener(tokens, plan_modules(plan, plan_file.parent)) as found:
        return run(
            plan, text, plan_file.parent, out,
            read_secret=flags.read,
            read_passphrase=lambda: plan_passphrase(plan, passphrase_file),
            opener=found, guide=room,
        )


def plan_modules(plan: Plan, plan_dir: Path) -> dict[str, Path]:
    """The PKCS#11 library the plan names for a token, by label; relative paths from the plan's directory."""
    return {token: plan_dir / module for token, module in plan.modules().items()}


def check_flags(plan: Plan, flags: SecretFlags, passphrase_file: Path | None) -> None:
    """Flags that contradict the plan are mistakes: refuse them before anything happens."""
    brought = ((SecretSource.GENERATE, flags.generate), (SecretSource.BIP39, flags.bip39_file), (SecretSource.MASTER_SECRET, flags.secret_file))
    given = {source.flag for source, value in brought if value is not None}
    wrong = given - {plan.secret_source.flag}
    if wrong:
        raise InvalidInput(
            f"{' and '.join(sorted(wrong))} contradicts the plan: its secret source is {plan.secret_source}",
            f"use {plan.secret_source.flag}, or change [secret] source in the plan",
        )
    if flags.generate is not None and flags.generate != plan.secret_bits:
        raise InvalidInput(f"--generate {flags.generate} contradicts the plan's {plan.secret_bits} bits")
    if passphrase_file is not None and not plan.passphrase:
        raise InvalidInput("--passphrase-file was given, but the plan says passphrase = false")


def plan_passphrase(plan: Plan, passphrase_file: Path | None) -> bytes:
    """The new passphrase a plan asks for (confirmed twice at a prompt), or none."""
    if not plan.passphrase:
        return b""
    passphrase = sources.read_passphrase(passphrase_file, passphrase_file is None, confirm=True)
    if not passphrase:
        raise InvalidInput("the plan says passphrase = true, but the passphrase given is empty")
    return passphrase


def write_plan_template(path: Path) -> None:
    """`coldvault ceremony init`: the commented plan template, as a new file."""
    fsio.write_new_file(path, fsio.template(PLAN_TEMPLATE).encode("utf-8"), fsio.PUBLIC_FILE_MODE)


def run(
    plan: Plan,
    plan_text: str,
    plan_dir: Path,
    out: Path,
    read_secret: Callable[[], Secret],
    read_passphrase: Callable[[], bytes],
    opener: Opener,
    guide: Guide,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    rotation: Rotation | None = None,
    checkpoint: Checkpoint = lambda step: None,
) -> Outcome:
    """Run `plan` and write the ceremony to `out`; see the module docstring for the order.

    With `rotation`, `read_secret` recovers the old vault's seed; the transcript and the
    manifest name the vault this one supersedes. `checkpoint` is called at each of
    `CHECKPOINTS` (tests stop the run there).
    """
    guide.step("Checking the plan, the tokens and the keys (no secret exists yet)", device_warnings(plan))
    holders, signer = before_secret(plan, plan_dir, out, opener)
    ceremony = backup.new_ceremony(plan.name, clock(), random_bytes)
    log = records.Log(clock)
    log.add(events.STARTED, records.started(
        ceremony, plan.scheme, [[c.name for c in group.custodians] for group in plan.groups], plan.passphrase,
        plan.iteration_exponent, plan.extendable, records.sha256(plan_text.encode("utf-8")), signer,
    ))
    if rotation is not None:
        log.add(events.ROTATION, rotation.record)
    checkpoint("checked")

    guide.step("Witnesses", [f"operator: {plan.operator}", *(f"witness: {name}" for name in plan.witnesses)])
    log.add(events.WITNESSES_PRESENT, {"operator": plan.operator, "witnesses": list(plan.witnesses), "confirmed": guide.confirm("that you are present")})
    passphrase = read_passphrase()
    secret = read_secret()
    check_secret(plan, secret)
    secret_record = _secret_record(plan, secret, rotation)
    guide.step("The secret is ready (in memory only). Write down its fingerprints:", words.secret_lines(secret_record))
    log.add(events.SECRET_READY, {**secret_record, "confirmed": guide.confirm("that you wrote down the fingerprints")})
    checkpoint("secret")

    options = backup.SplitOptions(plan.iteration_exponent, plan.extendable, plan.name, plan.drill_interval_days)
    shares = backup.make_shares(secret, plan.scheme, passphrase, options, random_bytes)
    log.add(events.SHARES_MADE, records.shares_made(shares, [holder.name for holder in holders]))
    guide.step("Sealing and printing each custodian's share")
    made = tuple(packets.deliver(holder, share, ceremony.id, opener, random_bytes) for holder, share in zip(holders, shares, strict=True))
    for packet in made:
        log.add(events.PACKET_MADE, packets.packet_record(packet))
    checkpoint("sealed")

    manifest = backup.describe(ceremony, secret, plan.scheme, bool(passphrase), options, shares, [_holding(packet) for packet in made])
    if rotation is not None:
        manifest = dataclasses.replace(manifest, supersedes=rotation.supersedes)
    qualifying_subsets = _prove(manifest, shares, passphrase)
    log.add(events.RECOVERY_PROVEN, {"secret_fingerprint": manifest.secret.secret_fingerprint, "qualifying_subsets": fields.count(qualifying_subsets)})
    manifest_text = mf.to_json(manifest)
    signing_key = signer.public_key_sha256 if signer else None
    files = packets.packet_files(manifest, manifest_text, made, signing_key, qr=plan.card_qr)
    guide.step("Packets", words.packet_lines(manifest, made))
    statement = rotation.statement(secret, manifest, manifest_text, clock()) if rotation is not None else None
    if statement is not None:
        log.add(events.ROTATION_SIGNED, succession.to_data(statement))
    log.add(events.COMPLETED, records.completed(
        manifest_text.encode("utf-8"), files, guide.confirm("that the packets and share fingerprints are as listed"),
        records.keys(manifest),
    ))
    records.seal_history(log, attestation.vault_key(secret, ceremony.id))
    record = _record_files(plan, manifest, log.chain, made, opener, rotation, signing_key)
    files += record + packets.transcript_copies(made, record)
    packets.write(out, files, manifest, made, staged=lambda: checkpoint("staged"))
    return Outcome(out, manifest, transcript.head(log.chain), signing_key, made, qualifying_subsets, statement)


@dataclass(frozen=True)
class Rehearsal:
    """What `ceremony check` found: every delivery resolved (and proven where its token is here), the signer."""

    plan: Plan
    holders: tuple[Holder, ...]
    signer: transcript_signature.Signer | None
    found_by_key: dict[str, str]
    """Custodians whose token the plan does not name but is here (found by its public key), and that token:
    proven too, which the run will not do (it proves only the tokens the plan names)."""
    warnings: tuple[str, ...] = ()
    """What the plan allows but the room should know before the day (`device_warnings`)."""


def check_plan(plan_file: Path, out: Path | None, tokens: TokenOptions) -> Rehearsal:
    """`coldvault ceremony check`: everything `run` checks before the secret exists, with the same errors; writes nothing.

    It also proves a delivery whose token the plan does not name when that token is
    here anyway (a custodian who brought it to the rehearsal), found by its public key.
    """
    plan = plans.parse(fsio.read_text(plan_file), str(plan_file))
    with opener(tokens, plan_modules(plan, plan_file.parent)) as found:
        holders, signer = before_secret(plan, plan_file.parent, out, found)
        found_by_key = _prove_unnamed(plan, holders, found)
    return Rehearsal(plan, holders, signer, found_by_key, device_warnings(plan))


def device_warnings(plan: Plan) -> tuple[str, ...]:
    """A strength whose shares no Trezor accepts: allowed (coldvault recovers them), but the room must choose it knowingly.

    A Trezor takes only the share lengths of 128- and 256-bit secrets when a share is typed into it.
    """
    words = share_words(plan.secret_bits)
    if words in (SHARE_WORDS_128_BIT, SHARE_WORDS_256_BIT):
        return ()
    return (
        f"warning: the plan's secret has {plan.secret_bits} bits, so each share has {words} words; Trezor devices accept only "
        f"{SHARE_WORDS_128_BIT}- and {SHARE_WORDS_256_BIT}-word shares (128 or 256 bits): recover these with coldvault, not on a Trezor",
    )


def _prove_unnamed(plan: Plan, holders: Sequence[Holder], opener: Opener) -> dict[str, str]:
    """Prove each delivery to a public key whose token the plan does not name, on the token here that shows that key."""
    proven: dict[str, str] = {}
    for holder, (_, _, custodian) in zip(holders, plan.custodians(), strict=True):
        target = holder.target
        if target is None or target.token_label is not None or target.public_key is None:
            continue
        label = opener.holder(KeyPairQuery(public_key_sha256(target.public_key)))
        if label is None:
            continue
        try:
            capabilities.prove(dataclasses.replace(target, token_label=label), opener, Asked.PLAN)
        except VaultError as error:
            raise error.with_context(f'{plan.where(custodian.line)}: custodian "{custodian.name}" (token "{label}", found by its key)') from None
        proven[holder.name] = label
    return proven


def before_secret(plan: Plan, plan_dir: Path, out: Path | None, opener: Opener) -> tuple[tuple[Holder, ...], transcript_signature.Signer | None]:
    """The output, the names on the cards (a font shows them), every delivery (its key found, and proven on its
    token when the token is here) and the signing key: what can go wrong without the secret goes wrong here,
    where it costs nothing."""
    if out is not None:
        check_output(out)
    packets.check_card_names(plan)
    return prepare(plan, plan_dir, opener), _signer(plan, opener)


def check_output(out: Path) -> None:
    """A new, empty output, and no staging directory left by an interrupted ceremony."""
    fsio.check_output_dir(out)
    leftovers = fsio.leftover_staging(out)
    if leftovers:
        raise WriteRefused(
            f"{leftovers[0]} is left from an interrupted run and may hold plaintext shares",
            "a ceremony does not start beside it: inspect it with the witnesses, destroy it, and run again",
        )


def prepare(plan: Plan, plan_dir: Path, opener: Opener) -> tuple[Holder, ...]:
    """Resolve every delivery: public key files loaded, tokens and keys found, each proven on its token
    when the plan names one. Raises naming the plan line."""
    holders = []
    for group_index, member_index, custodian in plan.custodians():
        try:
            target = packets.resolve(custodian.delivery, plan_dir, opener, Asked.PLAN)
        except VaultError as error:
            raise error.with_context(f'{plan.where(custodian.line)}: custodian "{custodian.name}"') from None
        holders.append(Holder(group_index, member_index, custodian.name, custodian.folder, target))
    return tuple(holders)


def check_secret(plan: Plan, secret: Secret) -> None:
    """The secret brought must be the kind and strength the plan promised."""
    if secret.kind is not plan.secret_source.kind:
        raise InvalidInput(f"the plan's secret source is {plan.secret_source}, but a {secret.kind.value} was given")
    if secret.bits != plan.secret_bits:
        raise InvalidInput(f"the plan says {plan.secret_bits} bits, but the secret given has {secret.bits}")


def _holding(made: Packet) -> backup.Holding:
    """Where a packet's share went, as the manifest lists it."""
    return backup.Holding(made.holder.name, made.file, made.envelope.kind if made.envelope else None, made.proven)


def _prove(manifest: mf.Manifest, shares: tuple[Share, ...], passphrase: bytes) -> int:
    """Every qualifying subset of the new shares recovers the secret (docs/verify.md); how many minimal ones there are."""
    result = proof.prove([proof.Given(f"share {i}", share) for i, share in enumerate(shares)], manifest, passphrase)
    if not result.ok or result.secret_status != proof.SecretStatus.MATCHES:
        raise CheckFailed(f"the new shares do not prove out ({result.secret_detail}); nothing was written")
    return result.qualifying_subsets


def _record_files(
    plan: Plan, manifest: mf.Manifest, chain: transcript.Chain, made: Sequence[Packet], opener: Opener, rotation: Rotation | None,
    signing_key: str | None,
) -> list[OutputFile]:
    """The transcript, its signature (when the plan asks), and the runbook that quotes its head."""
    files = [OutputFile(TRANSCRIPT_FILE, transcript.to_text(chain), secret=False)]
    if plan.signing is not None:
        files.append(OutputFile(SIGNATURE_FILE, transcript_signature.signature_to_json(_sign(plan, chain, opener)), secret=False))
    superseded = rotation.superseded if rotation else None
    runbook = words.runbook(fsio.template(words.RUNBOOK_TEMPLATE), plan, manifest, made, transcript.head(chain), signing_key, superseded)
    files.append(OutputFile(RUNBOOK_FILE, runbook, secret=False))
    return files


def _signer(plan: Plan, opener: Opener) -> transcript_signature.Signer | None:
    """The ceremony token's signing key, found and tried (on a digest of zeros) before any secret exists."""
    if plan.signing is None:
        return None
    signing = plan.signing
    try:
        _, public = keys.ecdsa_sign(opener.session(signing.token), signing.key, bytes(32))
    except VaultError as error:
        raise error.with_context(f"{plan.where(signing.line)}: signing key") from None
    return transcript_signature.Signer(public_key_sha256(public), signing.token, signing.key)


def _sign(plan: Plan, chain: transcript.Chain, opener: Opener) -> transcript_signature.Signature:
    """Sign the transcript's head on the ceremony token, and check the signature before keeping it."""
    assert plan.signing is not None
    signing = plan.signing
    last = chain.events[-1]
    raw, public = keys.ecdsa_sign(opener.session(signing.token), signing.key, transcript_signature.signature_digest(last.hash))
    signature = transcript_signature.signature_for(last, spki_der(public), raw, signing.token, signing.key)
    transcript_signature.check_signature(chain.events, signature)
    return signature


def _secret_record(plan: Plan, secret: Secret, rotation: Rotation | None) -> dict[str, Any]:
    if rotation is not None:
        source = f"recovered from ceremony {rotation.supersedes.ceremony_id}"
    else:
        source = "generated" if plan.secret_source is SecretSource.GENERATE else "imported"
    return records.secret_ready(mf.SecretInfo(secret.kind, secret.bits, secret_fingerprint(secret), wallet_fingerprint(secret)), source)
