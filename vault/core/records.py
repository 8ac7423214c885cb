"""The transcript's events when a vault is made (a ceremony, a split): what each records, never a secret.

A ceremony and `split` write the same events, so that every vault has a transcript
that binds its manifest (docs/transcript.md): `ceremony-started` (the scheme, and the
signing key declared, if any), `secret-ready` (the secret's public fingerprints),
`shares-made` (each share by fingerprint), `ceremony-completed` (the manifest's
SHA-256, the public files', and the vault's keys), and the vault key's seal over it
(vault.core.seals). A ceremony adds the witnesses, the packets and the
proof between them. Pure: the clock is passed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from vault.core import events, seals
from vault.core.attestation import SigningKey
from vault.core.backup import MANIFEST_FILE, Backup, SplitOptions
from vault.core.formats import manifest as mf
from vault.core.formats import transcript
from vault.core.formats import transcript_signature
from vault.core.outputs import OutputFile
from vault.core.scheme import Scheme
from vault.core.slip39.share import Share



class Log:
    """A transcript as it grows, with the clock that stamps each event."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.chain = transcript.start()
        self.clock = clock

    def add(self, event: str, data: dict[str, Any]) -> None:
        self.chain = transcript.append(self.chain, event, data, self.clock())


def started(
    ceremony: mf.Ceremony,
    scheme: Scheme,
    custodians: Sequence[Sequence[str]],
    passphrase: bool,
    iteration_exponent: int,
    extendable: bool,
    plan_sha256: str | None,
    signer: transcript_signature.Signer | None,
) -> dict[str, Any]:
    """The first event: which vault, by which coldvault, split how, and the key that will sign (or none).

    `custodians[g]` names group g's custodians (empty for a split, whose shares have none).
    """
    from vault import __version__

    return {
        "format": transcript.FORMAT,
        "ceremony_id": ceremony.id,
        "name": ceremony.name,
        "coldvault": __version__,
        "plan_sha256": plan_sha256,
        "scheme": {
            "group_threshold": scheme.group_threshold,
            "groups": [
                {"name": group.name, "threshold": group.member_threshold, "custodians": list(names)}
                for group, names in zip(scheme.groups, custodians, strict=True)
            ],
            "passphrase": passphrase,
            "iteration_exponent": iteration_exponent,
            "extendable": extendable,
        },
        "signing": None if signer is None else transcript_signature.signing_data(signer),
    }


def secret_ready(secret: mf.SecretInfo, source: str) -> dict[str, Any]:
    """The secret's public facts: its kind, size, where it came from, and its fingerprints."""
    return {
        "kind": secret.kind.value,
        "bits": secret.bits,
        "source": source,
        "secret_fingerprint": secret.secret_fingerprint,
        "wallet_fingerprint": secret.wallet_fingerprint,
    }


def shares_made(shares: Sequence[Share], custodians: Sequence[str | None]) -> dict[str, Any]:
    """Every share by its indices and fingerprint, with its custodian (None for a split's)."""
    first = shares[0]
    return {
        "identifier": first.identifier,
        "extendable": first.extendable,
        "iteration_exponent": first.iteration_exponent,
        "shares": [
            {"group_index": s.group_index, "member_index": s.member_index, "custodian": name, "share_fingerprint": s.fingerprint}
            for name, s in zip(custodians, shares, strict=True)
        ],
    }


def completed(manifest: bytes, files: Sequence[OutputFile], confirmed: str | None, keys: seals.Keys) -> dict[str, Any]:
    """The first history's last event: the manifest's SHA-256 (what anchors it), every public file's, by path,
    and the keys that seal the history (the vault's seal follows at once: `seal_history`)."""
    record: dict[str, Any] = {
        "manifest_sha256": sha256(manifest),
        "public_files": {file.path: sha256(file.data) for file in files if not file.secret},
    }
    if confirmed is not None:
        record["confirmed"] = confirmed
    record[seals.DECLARATION] = seals.declaration(keys)
    return record


def seal_history(log: Log, vault_key: SigningKey) -> None:
    """The vault key's seal over the first history (docs/history.md): after it, only sealed revisions may follow."""
    log.chain = seals.seal(log.chain, vault_key, seals.SignerRole.VAULT, None, log.clock())


def split_transcript(
    backup: Backup, scheme: Scheme, passphrase: bool, options: SplitOptions, source: str, now: datetime, vault_key: SigningKey,
) -> OutputFile:
    """`split`'s transcript: the events a ceremony writes, less the room's (no witnesses, no packets), sealed by the
    vault key and signed by no token.

    `source` says where the secret came from ("generated" or "imported").
    """
    manifest = backup.manifest
    files = [file for file in backup.files if not file.secret]
    [manifest_file] = [file for file in files if file.path == MANIFEST_FILE]
    log = Log(lambda: now)
    log.add(events.STARTED, started(
        manifest.ceremony, scheme, [[] for _ in scheme.groups], passphrase, options.iteration_exponent, options.extendable, None, None,
    ))
    log.add(events.SECRET_READY, secret_ready(manifest.secret, source))
    log.add(events.SHARES_MADE, shares_made(backup.shares, [None] * len(backup.shares)))
    log.add(events.COMPLETED, completed(manifest_file.data, files, None, keys(manifest)))
    seal_history(log, vault_key)
    return OutputFile(transcript.TRANSCRIPT_FILE, transcript.to_text(log.chain), secret=False)


def keys(manifest: mf.Manifest) -> seals.Keys:
    keys = seals.keys_of(manifest)
    if keys is None:
        raise ValueError("a new vault's manifest lists its vault and group keys")
    return keys


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
