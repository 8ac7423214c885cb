"""Options shared by several commands, as `Annotated` types (typer's recommended style)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer


from vault.flows.tokens import TokenOptions
from vault.flows.writers import LOCK_WAIT_SECONDS as LOCK_WAIT_SECONDS

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout and nothing else there.")]
PassphraseFile = Annotated[
    Path | None,
    typer.Option("--passphrase-file", help="File holding the SLIP-39 passphrase (a trailing newline is not part of it)."),
]
PassphrasePrompt = Annotated[bool, typer.Option("--passphrase-prompt", help="Ask for the passphrase, hidden.")]
ModuleOption = Annotated[
    list[Path] | None,
    typer.Option("--module", help="PKCS#11 library; repeatable: tokens are found across all (else $COLDVAULT_PKCS11_MODULE, "
                                  "else the system's SoftHSM2)."),
]
PinFiles = Annotated[
    list[str] | None,
    typer.Option("--pin-file", metavar="LABEL=PATH", help="A token's PIN from a file; repeat per token. Else a hidden prompt."),
]
TokenLabels = Annotated[
    list[str] | None,
    typer.Option("--token", help="Open envelopes with these tokens only (each must be present); repeatable. "
                                 "Without it, each envelope's token is found by its public key, or by the label it records."),
]
ManifestOption = Annotated[
    Path, typer.Option("--manifest", help="The vault's manifest.json, checked against the transcript.jsonl beside it.")
]
_KEY_HELP = (
    "The SHA-256 of the key that signed the transcript, as the witnesses wrote it down (64 hex digits, either case): "
    "the transcript must be signed by it"
)
TranscriptKey = Annotated[
    str | None, typer.Option("--key", "--transcript-key", metavar="SHA256", help=_KEY_HELP + ".", show_default=False),
]
AnchorKey = Annotated[
    str | None,
    typer.Option("--key", "--transcript-key", metavar="SHA256", help=_KEY_HELP + ", and its signature must cover the manifest.",
                 show_default=False),
]
"""`--key` where a transcript anchors a manifest (`extend`, whose --key is wrap's, takes --transcript-key only)."""
VaultKey = Annotated[
    str | None,
    typer.Option("--vault-key", metavar="SHA256", show_default=False,
                 help="The vault key's SHA-256, as on the cards and in the runbook (64 hex digits, either case, spaces allowed): "
                      "the transcript must be sealed by it, on every revision of the vault."),
]


WaitOption = Annotated[
    float,
    typer.Option("--wait", metavar="SECONDS", min=0,
                 help="While another coldvault command writes this vault, wait this long for it to finish; then refuse (exit 5)."),
]
"""For every command that writes a vault folder (docs/drills.md, "Writers"), with LOCK_WAIT_SECONDS as its default."""
TrustManifest = Annotated[
    bool,
    typer.Option("--trust-manifest", help="Use the manifest although no transcript.jsonl is beside it to anchor it "
                                          "(you know it is the vault's: anyone could have edited it)."),
]


class OaepHash(str, enum.Enum):
    sha256 = "sha256"
    sha1 = "sha1"


# How a share is sealed (`wrap`, `extend`): an AES key on a token, or a custodian's public key.
SealToken = Annotated[
    str | None,
    typer.Option("--token", help="Token holding the AES key (with --key-label), or the recipient's token, to prove the envelope opens."),
]
SealKey = Annotated[
    str | None,
    typer.Option("--key-label", "--key", metavar="LABEL", help="Label of an AES key on --token: the token itself encrypts.",
                 show_default=False),
]
RecipientPubkey = Annotated[
    Path | None, typer.Option("--recipient-pubkey", help="The custodian's EC P-256 or RSA public key (PEM or DER).")
]
OaepHashOption = Annotated[
    OaepHash, typer.Option("--oaep-hash", help="RSA only: OAEP hash; sha1 for tokens that support no other.")
]


def tokens(modules: list[Path] | None, pin_files: list[str] | None, labels: list[str] | None = None) -> TokenOptions:
    """The token flags, as the flows take them."""
    return TokenOptions(tuple(modules or ()), tuple(pin_files or ()), tuple(labels or ()))
