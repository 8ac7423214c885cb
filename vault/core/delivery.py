"""A custodian's packet: who holds a share, how it reaches them, and whether that was proven.

Pure data shared by the ceremony, `extend` and the words of packets and runbooks
(`vault.core.text.packets`): the flows make these, the text describes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from vault.core.formats.envelope import Envelope
from vault.core.recipients.base import Target
from vault.core.slip39.share import Share

CUSTODIANS_DIR = "custodians"


@dataclass(frozen=True)
class Holder:
    """A custodian and how their share reaches them, resolved before any secret exists."""

    group_index: int
    member_index: int
    name: str
    folder: str
    """The custodian's folder under `custodians/`, unique in the vault."""
    target: Target | None
    """Whom the share is sealed to; None for paper."""

    @property
    def path(self) -> str:
        """The custodian's folder, relative to the vault's directory."""
        return f"{CUSTODIANS_DIR}/{self.folder}"


@dataclass(frozen=True)
class Packet:
    """What one custodian takes away."""

    holder: Holder
    share: Share
    file: str
    """The share file or envelope, relative to the ceremony directory."""
    envelope: Envelope | None
    proven: bool
    """For paper: always. For an envelope: opened again with its token here."""

    @property
    def folder(self) -> str:
        return self.holder.path
