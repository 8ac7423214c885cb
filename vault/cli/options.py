"""Options shared by several commands, as `Annotated` types (typer's recommended style)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from vault.edges.sealing import Opener
from vault.errors import InvalidInput

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



class OaepHash(str, enum.Enum):
    sha256 = "sha256"
    sha1 = "sha1"


# How a share is sealed (`wrap`, `extend`): an AES key on a token, or a custodian's public key.
SealToken = Annotated[
    str | None,
    typer.Option("--token", help="Token holding the AES key (with --key), or the recipient's token, to prove the envelope opens."),
]
SealKey = Annotated[str | None, typer.Option("--key", help="Label of an AES key on --token: the token itself encrypts.")]
RecipientPubkey = Annotated[
    Path | None, typer.Option("--recipient-pubkey", help="The custodian's EC P-256 or RSA public key (PEM or DER).")
]
OaepHashOption = Annotated[
    OaepHash, typer.Option("--oaep-hash", help="RSA only: OAEP hash; sha1 for tokens that support no other.")
]


def check_seal_flags(token: str | None, key: str | None, recipient_pubkey: Path | None, required: bool) -> None:
    """--token with --key, or --recipient-pubkey (optionally with --token); nothing else makes sense."""
    if key is not None and recipient_pubkey is not None:
        raise InvalidInput("give --token with --key (AES on the token), or --recipient-pubkey PEM, not both")
    if key is not None and token is None:
        raise InvalidInput("--key needs --token (the token that holds the key)")
    if key is None and recipient_pubkey is None and (required or token is not None):
        raise InvalidInput("give --token with --key (AES on the token), or --recipient-pubkey PEM")


def opener(module: Path | None, pin_files: list[str] | None, token_labels: list[str] | None) -> Opener:
    """An envelope opener for the token options; it loads the PKCS#11 module only if an envelope comes."""
    from vault.edges.tokens import parse_pin_files

    return Opener(module, parse_pin_files(pin_files or []), list(token_labels or []))
