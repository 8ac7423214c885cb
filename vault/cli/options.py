"""Options shared by several commands, as `Annotated` types (typer's recommended style)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vault.sealing import Opener

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout and nothing else there.")]
PassphraseFile = Annotated[
    Path | None,
    typer.Option("--passphrase-file", help="File holding the SLIP-39 passphrase (a trailing newline is not part of it)."),
]
PassphrasePrompt = Annotated[bool, typer.Option("--passphrase-prompt", help="Ask for the passphrase, hidden.")]
ModuleOption = Annotated[
    Path | None,
    typer.Option("--module", help="PKCS#11 library (also $COLDVAULT_PKCS11_MODULE; default: the system's SoftHSM2)."),
]
PinFiles = Annotated[
    list[str] | None,
    typer.Option("--pin-file", metavar="LABEL=PATH", help="A token's PIN from a file; repeat per token. Else a hidden prompt."),
]
TokenLabels = Annotated[
    list[str] | None,
    typer.Option("--token", help="A token that may hold an envelope's key (when the envelope does not name it); repeatable."),
]


def opener(module: Path | None, pin_files: list[str] | None, token_labels: list[str] | None) -> Opener:
    """An envelope opener for the token options; it loads the PKCS#11 module only if an envelope comes."""
    from vault.tokens import parse_pin_files

    return Opener(module, parse_pin_files(pin_files or []), list(token_labels or []))
