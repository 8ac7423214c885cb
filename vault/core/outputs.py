"""A file a command will write, decided in memory before anything touches the disk.

Pure: flows assemble these, and `vault.edges.fsio.write_directory` writes them all at
once (staging directory, then rename), secret ones with mode 0600.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutputFile:
    path: str
    """Relative to the output directory, with `/` between folders."""
    content: str | bytes = field(repr=False)
    """Text is written as UTF-8."""
    secret: bool
    """It holds a share or a secret: mode 0600, in a 0700 folder."""

    @property
    def data(self) -> bytes:
        return self.content if isinstance(self.content, bytes) else self.content.encode("utf-8")
