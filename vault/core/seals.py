"""Seals: the vault's own keys signing its history (docs/history.md).

A transcript that a token signs is anchored to that token. A vault without a
`[signing]` token, and every revision after the ceremony, needs another anchor: keys
that only the people who hold the secret can use. Two kinds, both Ed25519 keys derived
from secrets (vault.core.attestation):

- the **vault key**, from the secret: `split` and `ceremony run` seal the vault's first
  history with it; its SHA-256 is the vault's identity (`--vault-key`);
- a **group key** per group, from the group's own secret (what a threshold of that
  group's shares rebuilds): `extend` seals the revision it writes with the key of the
  group it extended, so only a threshold of that group can extend it.

The last line of the first history (`ceremony-completed`, which binds the first
manifest) declares the keys (`data.vault_key`); a seal is a line `sealed` that signs
the hash of the line before it, and the vault's seal follows the declaration at once. The rules a reader
enforces, so that nothing appended by someone without those keys can bind a manifest:

1. a seal verifies, by the vault key or a declared group key, over the previous line;
2. the first seal is the vault key's (the ceremony's end), and covers every line before it;
3. after the first seal, only an `extend` line followed at once by its group's seal may
   come; anything else is refused, naming its line;
4. a transcript that declares no keys has no seals (a vault made before seals: it is
   reported as not sealed, and a manifest that lists group keys refuses such a transcript).

Pure: bytes and events in, `Sealed` out; `CheckFailed` names the line.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vault.core import attestation
from vault.core.attestation import SigningKey
from vault.core.events import EXTEND, SEALED
from vault.core.formats import fields
from vault.core.formats import transcript as tr
from vault.core.formats.manifest import Manifest
from vault.errors import CheckFailed

DECLARATION = "vault_key"
"""The member of the first line's `data` that declares the keys."""
SEAL_DOMAIN = b"coldvault-seal/1\x00"
DECLARATION_MEMBERS = ("public_key", "public_key_sha256", "group_public_keys")
SEAL_MEMBERS = ("signer", "group_index", "public_key_sha256", "signed_hash", "signature")


class SignerRole(enum.StrEnum):
    VAULT = "vault"
    GROUP = "group"


@dataclass(frozen=True)
class Keys:
    """The keys a transcript declares: the vault's and each group's (base64 Ed25519)."""

    vault: str
    groups: tuple[str, ...]

    @property
    def vault_sha256(self) -> str:
        return attestation.key_sha256(self.vault)


@dataclass(frozen=True)
class Seal:
    seq: int
    signer: SignerRole
    group_index: int | None
    public_key_sha256: str
    signed_hash: str
    signature: str


@dataclass(frozen=True)
class Sealed:
    """What the seals of one transcript prove."""

    keys: Keys | None
    """None: the transcript declares no keys (made before seals)."""
    seals: tuple[Seal, ...]

    @property
    def vault_key_sha256(self) -> str | None:
        return self.keys.vault_sha256 if self.keys else None

    @property
    def first_seq(self) -> int | None:
        """The vault's seal (the end of the first history), or None."""
        return self.seals[0].seq if self.seals else None

    @property
    def last_seq(self) -> int | None:
        return self.seals[-1].seq if self.seals else None


# ---------------------------------------------------------------- writing


def declaration(keys: Keys) -> dict[str, Any]:
    """The declaring line's `data.vault_key`: the keys that seal this history."""
    return {"public_key": keys.vault, "public_key_sha256": keys.vault_sha256, "group_public_keys": list(keys.groups)}


def keys_of(manifest: Manifest) -> Keys | None:
    """The keys a manifest lists (its vault key and every group's), or None when it lacks any (an older vault)."""
    found = manifest.attestation
    if found is None or found.group_public_keys is None:
        return None
    return Keys(found.vault_public_key, found.group_public_keys)


def seal(chain: tr.Chain, key: SigningKey, signer: SignerRole, group_index: int | None, now: datetime) -> tr.Chain:
    """`chain` with a seal by `key` over its last line appended."""
    last = chain.events[-1]
    data = {
        "signer": signer.value,
        "group_index": group_index,
        "public_key_sha256": attestation.key_sha256(key.public_key),
        "signed_hash": last.hash,
        "signature": key.sign(signed_message(last.hash)),
    }
    return tr.append(chain, SEALED, data, now)


def signed_message(line_hash: str) -> bytes:
    """What a seal signs: the domain string and the sealed line's hash (64 ASCII hex digits)."""
    return SEAL_DOMAIN + line_hash.encode("ascii")


# ---------------------------------------------------------------- reading


def declared(events: Sequence[tr.Event], name: str = tr.TRANSCRIPT_FILE) -> Keys | None:
    """The keys declared by the one line that holds `data.vault_key` (the line the vault's seal covers), or None.

    The keys are declared at the end of the first history, not on its first line: a
    ceremony starts its transcript before the secret, and so the keys, exist.
    """
    declaring = [event for event in events if DECLARATION in event.data]
    if not declaring:
        return None
    if len(declaring) > 1:
        raise CheckFailed(f"{name} line {declaring[1].seq + 1}: declares the vault key again (line {declaring[0].seq + 1} did)")
    line = declaring[0]
    found = line.data[DECLARATION]
    problem = f"{name} line {line.seq + 1}: data.{DECLARATION} should be an object with {', '.join(DECLARATION_MEMBERS)}"
    if not isinstance(found, dict) or tuple(sorted(found)) != tuple(sorted(DECLARATION_MEMBERS)):
        raise CheckFailed(problem)
    vault, digest, groups = found["public_key"], found["public_key_sha256"], found["group_public_keys"]
    if not _is_key(vault) or not isinstance(groups, list) or not groups or not all(_is_key(group) for group in groups):
        raise CheckFailed(problem + " (base64 Ed25519 public keys)")
    if digest != attestation.key_sha256(vault):
        raise CheckFailed(f"{name} line {line.seq + 1}: data.{DECLARATION}.public_key_sha256 is not the SHA-256 of its public key")
    following = events[line.seq + 1] if line.seq + 1 < len(events) else None
    if following is None or following.event != SEALED:
        raise CheckFailed(f"{name} line {line.seq + 1} declares the vault key {digest}, but the next line is not its seal: "
                          "lines were removed, or the seal was")
    return Keys(vault, tuple(groups))


def check(events: Sequence[tr.Event], name: str = tr.TRANSCRIPT_FILE) -> Sealed:
    """Every seal verified and every rule of the module's docstring held; `CheckFailed` names the first line that breaks one."""
    keys = declared(events, name)
    seals: list[Seal] = []
    for event in events:
        if event.event == SEALED:
            seals.append(_verified(event, events, keys, name))
        elif seals and not _awaits_seal(event, events, name):
            raise CheckFailed(
                f"{name} line {event.seq + 1} ({event.event}) comes after the vault's history was sealed (line {seals[0].seq + 1}), "
                "and only a revision sealed by its group's key may: it was appended by someone without the vault's keys",
            )
    if seals and seals[0].signer is not SignerRole.VAULT:
        raise CheckFailed(f"{name} line {seals[0].seq + 1}: the first seal must be the vault key's, not a group's")
    return Sealed(keys, tuple(seals))


def check_binding(sealed: Sealed, manifest_seq: int, name: str = tr.TRANSCRIPT_FILE) -> None:
    """The line binding the manifest is covered by a seal (a sealed transcript), else `CheckFailed`."""
    if sealed.last_seq is not None and manifest_seq > sealed.last_seq:
        raise CheckFailed(f"{name} line {manifest_seq + 1} binds the manifest after the last seal (line {sealed.last_seq + 1}): "
                          "no key of the vault vouches for it")


def check_manifest_keys(sealed: Sealed, manifest: Manifest, manifest_name: str, name: str = tr.TRANSCRIPT_FILE) -> None:
    """The manifest lists the keys its transcript declares; a manifest that lists group keys needs a sealed transcript."""
    listed = keys_of(manifest)
    if sealed.keys is None:
        if listed is not None:
            raise CheckFailed(
                f"{manifest_name} lists group keys, so the vault was made by a coldvault that seals its history, "
                f"but {name} declares no vault key: the transcript was rewritten without its seals",
            )
        return
    if listed != sealed.keys:
        raise CheckFailed(f"{manifest_name} lists other vault or group keys than {name} declares: "
                          "the manifest was changed, or the transcript is another vault's")


def _awaits_seal(event: tr.Event, events: Sequence[tr.Event], name: str) -> bool:
    """An `extend` line whose next line is a seal (checked when that seal is read)."""
    following = events[event.seq + 1] if event.seq + 1 < len(events) else None
    if event.event == EXTEND and following is not None and following.event == SEALED:
        return True
    if event.event == EXTEND:
        raise CheckFailed(f"{name} line {event.seq + 1}: this revision is not sealed by its group's key (no seal follows it): "
                          "it was written by someone without a threshold of the group, or the seal was removed")
    return False


def _verified(event: tr.Event, events: Sequence[tr.Event], keys: Keys | None, name: str) -> Seal:
    where = f"{name} line {event.seq + 1}"
    if keys is None:
        raise CheckFailed(f"{where}: a seal, but no line declares the vault key: a seal by an undeclared key proves nothing")
    found = _read_seal(event, where)
    if event.seq == 0 or events[event.seq - 1].hash != found.signed_hash:
        raise CheckFailed(f"{where}: the seal does not sign the line before it")
    previous = events[event.seq - 1]
    public_key = _public_key(found, keys, previous, where)
    if attestation.key_sha256(public_key) != found.public_key_sha256:
        raise CheckFailed(f"{where}: public_key_sha256 is not the declared key's")
    if not attestation.verifies(public_key, found.signature, signed_message(found.signed_hash)):
        raise CheckFailed(f"{where}: the seal's signature does not verify: the line it seals was changed, or someone "
                          "without the key wrote it")
    return found


def _public_key(found: Seal, keys: Keys, sealed_line: tr.Event, where: str) -> str:
    """The declared key that must have made this seal: the vault's, or the extended group's for an `extend` line."""
    if sealed_line.event == EXTEND:
        group = sealed_line.data.get("group_index")
        if found.signer is not SignerRole.GROUP or found.group_index != group:
            raise CheckFailed(f"{where}: the revision on the line before extends group {group}, and must be sealed by that group's key")
        if not isinstance(group, int) or isinstance(group, bool) or not 0 <= group < len(keys.groups):
            raise CheckFailed(f"{where}: the revision names group {group!r}, for which no key is declared")
        return keys.groups[group]
    if found.signer is not SignerRole.VAULT:
        raise CheckFailed(f"{where}: only the vault key seals a line that is not a revision")
    return keys.vault


def _read_seal(event: tr.Event, where: str) -> Seal:
    data = event.data
    signer = data.get("signer")
    group = data.get("group_index")
    if (
        tuple(sorted(data)) != tuple(sorted(SEAL_MEMBERS))
        or signer not in {role.value for role in SignerRole}
        or not (group is None or (isinstance(group, int) and not isinstance(group, bool)))
        or not fields.is_hex(data["public_key_sha256"], 64)
        or not fields.is_hex(data["signed_hash"], 64)
        or not isinstance(data["signature"], str)
    ):
        raise CheckFailed(f"{where}: a seal holds exactly {', '.join(SEAL_MEMBERS)}, as docs/history.md specifies")
    return Seal(event.seq, SignerRole(signer), group, data["public_key_sha256"], data["signed_hash"], data["signature"])


def _is_key(value: Any) -> bool:
    try:
        attestation.key_sha256(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)
