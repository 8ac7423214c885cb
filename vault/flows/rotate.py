"""`coldvault rotate`: re-split the seed by a new plan, so that old shares never combine with new ones.

The old shares are read and checked against the old manifest first, and must form a
quorum; the new plan is checked as any ceremony's; only when the new ceremony asks
for the secret is it recovered, in memory, and compared with the old manifest's
fingerprint. The new manifest names the vault it supersedes, and the transcript
records the rotation (vault.flows.ceremony runs it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vault.core import verification
from vault.core.anchor import Anchor, Pins
from vault.core.formats import manifest as mf
from vault.core.formats import plan as plans
from vault.core.formats.plan import Plan
from vault.core.secret import Secret, SecretKind
from vault.core.slip39 import recovery
from vault.edges import fsio, sources, terminal
from vault.edges.guide import TerminalGuide
from vault.edges.tokens.opener import Opener
from vault.errors import InvalidInput
from vault.flows import ceremony
from vault.flows.extend import share_record
from vault.flows.recover import check_against
from vault.flows.tokens import TokenOptions, opener
from vault.flows.vaults import Vault, leave_successor, read_vault, refuse_second_successor
from vault.flows.writers import LOCK_WAIT_SECONDS, writing


@dataclass(frozen=True)
class Passphrases:
    """The old vault's passphrase (a file, or a prompt), and the new plan's (a file, else a prompt)."""

    old_file: Path | None = None
    old_prompt: bool = False
    new_file: Path | None = None


@dataclass(frozen=True)
class Rotated:
    outcome: ceremony.Outcome
    superseded: mf.Ceremony
    superseded_sha256: str
    anchor: Anchor
    """What anchored the old vault's manifest."""


def rotate(
    manifest_path: Path, old_shares: Sequence[Path], plan_file: Path, out: Path, scripted: bool,
    passphrases: Passphrases, tokens: TokenOptions, pins: Pins = Pins(), trust_manifest: bool = False,
    wait_seconds: float = LOCK_WAIT_SECONDS,
) -> Rotated:
    """Recover the old vault's seed in memory from `old_shares` and run `plan_file` as a new ceremony in `out`.

    The old manifest must be anchored by its transcript (`pins` pin its keys)
    unless `trust_manifest`: the old shares and the recovered seed are checked against
    it. The old vault's folder is locked throughout; a revision already succeeded is
    refused, and the old vault's key leaves its word (`successor.json`) there at the end.
    """
    text = fsio.read_text(plan_file)
    plan = plans.parse(text, str(plan_file))
    if passphrases.new_file is not None and not plan.passphrase:
        raise InvalidInput("--new-passphrase-file was given, but the new plan says passphrase = false")
    with writing(manifest_path.parent, wait_seconds):
        vault = read_vault(manifest_path, pins, trust_manifest)
        refuse_second_successor(vault, manifest_path)
        rotated = _rotate(vault, manifest_path, old_shares, plan, text, plan_file, out, scripted, passphrases, tokens)
        if rotated.outcome.succession is not None:
            leave_successor(manifest_path.parent, rotated.outcome.succession, out)
        return rotated


def _rotate(
    vault: Vault, manifest_path: Path, old_shares: Sequence[Path], plan: Plan, text: str, plan_file: Path, out: Path,
    scripted: bool, passphrases: Passphrases, tokens: TokenOptions,
) -> Rotated:
    """`rotate` once the old vault is read and locked."""
    old = vault.manifest
    check_plan_fits(plan, old)
    old_passphrase = _old_passphrase(old.scheme.passphrase_protected, passphrases)
    room = TerminalGuide(plan.operator, plan.witnesses, scripted=scripted)
    with opener(tokens, ceremony.plan_modules(plan, plan_file.parent)) as found:
        ceremony.check_output(out)
        share_set = _old_quorum(old_shares, old, manifest_path, found)
        if old.scheme.passphrase_protected and not old_passphrase:
            raise InvalidInput(
                "the vault being rotated has a passphrase, and none was given",
                "give its passphrase with --passphrase-file or --passphrase-prompt (the new plan's, if any, with --new-passphrase-file)",
            )

        def recover() -> Secret:
            secret = Secret(old.secret.kind, recovery.recover(share_set, old_passphrase))
            verification.check_secret(secret, old, passphrase_given=bool(old_passphrase))
            return secret

        record = {
            "supersedes": {"ceremony_id": old.ceremony.id, "name": old.ceremony.name, "revision": old.revision_number,
                           "manifest_sha256": vault.manifest_sha256, "identifier": old.scheme.identifier},
            "shares_used": [share_record(old, share) for shares in share_set.quorum().values() for share in shares],
        }
        rotation = ceremony.Rotation(old, mf.Supersedes(old.ceremony.id, vault.manifest_sha256), record)
        outcome = ceremony.run(
            plan, text, plan_file.parent, out, recover, lambda: ceremony.plan_passphrase(plan, passphrases.new_file),
            found, room, rotation=rotation,
        )
    return Rotated(outcome, old.ceremony, vault.manifest_sha256, vault.anchored.anchor)


def check_plan_fits(plan: Plan, old: mf.Manifest) -> None:
    """The new plan must take the same kind and size of secret as the old vault holds."""
    if plan.secret_source.kind is not old.secret.kind or plan.secret_bits != old.secret.bits:
        expected = "bip39" if old.secret.kind is SecretKind.BIP39_ENTROPY else "master-secret"
        raise InvalidInput(
            f"{plan.source_name}: the plan's secret is {plan.secret_source}, {plan.secret_bits} bits; "
            f"the vault being rotated holds {old.secret.kind.value}, {old.secret.bits} bits",
            f'set [secret] source = "{expected}" and bits = {old.secret.bits}: a rotation keeps the seed',
        )


def _old_passphrase(protected: bool, passphrases: Passphrases) -> bytes:
    """The old vault's passphrase: from the flags, or asked at a terminal when the old vault has one."""
    prompt = passphrases.old_prompt
    if passphrases.old_file is None and not prompt and protected and terminal.interactive():
        terminal.info("The vault being rotated has a passphrase.")
        prompt = True
    return sources.read_passphrase(passphrases.old_file, prompt, confirm=False)


def _old_quorum(paths: Sequence[Path], old: mf.Manifest, manifest_path: Path, found: Opener) -> recovery.ShareSet:
    """The old shares, read and checked as `recover` does, forming a quorum; raises naming the share, or what is missing."""
    thresholds = tuple(g.member_threshold for g in old.scheme.groups)
    share_set = sources.collect_shares(list(paths), terminal.info, thresholds, found)
    check_against(share_set, old, manifest_path)
    share_set.quorum()
    return share_set
