"""Every event coldvault writes, by name: the one place that names them (docs/transcript.md, docs/history.md).

A transcript's lines, and the drill log's, are events told apart by their `event`
name, never by which members their `data` holds. Each name below says which writer
writes it and which readers read it.
"""

from __future__ import annotations

# ---------------------------------------------------------------- a vault's first history (a ceremony, a split)

STARTED = "ceremony-started"
"""The vault, the coldvault that made it, the scheme, and the [signing] key declared (or none)."""
ROTATION = "rotation"
"""A ceremony run by `rotate`: the vault it supersedes, and the shares that recovered it."""
WITNESSES_PRESENT = "witnesses-present"
"""The operator and witnesses, and how they confirmed."""
SECRET_READY = "secret-ready"
"""The secret's public fingerprints, and where it came from."""
SHARES_MADE = "shares-made"
"""Every share, by fingerprint and custodian."""
PACKET_MADE = "packet-made"
"""One custodian's packet: its file and, for an envelope, its SHA-256 (read by `anchor.recorded_files`)."""
RECOVERY_PROVEN = "recovery-proven"
"""How many minimal qualifying subsets were proven to recover the secret."""
ROTATION_SIGNED = "rotation-signed"
"""A rotation's statement, signed by the old vault's key (vault.core.succession)."""
COMPLETED = "ceremony-completed"
"""The first manifest's SHA-256, every public file's (read by `anchor.recorded_files`), and the vault's keys."""

# ---------------------------------------------------------------- after it (vault.core.seals)

SEALED = "sealed"
"""A seal by the vault key or a group key over the line before it."""
EXTEND = "extend"
"""A revision made by `extend`, with its public files (read by `anchor.recorded_files`); its group's seal follows."""

# ---------------------------------------------------------------- the drill log

DRILL = "drill"
"""A drill's record (vault.core.formats.drills): the only event a drill log holds."""

BINDING = frozenset({COMPLETED, EXTEND})
"""The events whose `data.manifest_sha256` and `data.public_files` record the files a vault's folder holds."""
