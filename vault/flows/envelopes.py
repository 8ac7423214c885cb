"""`coldvault wrap` and `unwrap`: seal one share to a token or a custodian's public key, and open it again.

Sealing goes through `vault.flows.packets.seal`, as in a ceremony: the delivery is
resolved first, and an envelope whose token is here is opened again before it is
written. Unwrapping opens with the token the envelope names, or those given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vault.core import names
from vault.core.anchor import Anchor, Pins
from vault.core.formats import envelope as ev
from vault.core.formats import sharefile
from vault.core.recipients import registry
from vault.core.slip39.share import Share
from vault.edges import fsio, sources
from vault.errors import InvalidInput, VaultError
from vault.flows import packets
from vault.flows.capabilities import Asked
from vault.flows.packets import Sealing
from vault.flows.tokens import TokenOptions, opener
from vault.flows.vaults import anchored_manifest


@dataclass(frozen=True)
class Wrapped:
    envelope: ev.Envelope
    proven: bool
    """Opened again with its token here, giving this share back."""
    recipient: dict[str, object]
    """The envelope's recipient object, as written."""
    anchor: Anchor | None = None
    """What anchored --manifest, when given."""


def wrap(share_path: Path, out: Path, sealing: Sealing, manifest_path: Path | None, custodian: str | None,
         tokens: TokenOptions, pins: Pins = Pins()) -> Wrapped:
    """Seal the share in `share_path` to an AES key on a token, or to a public key; write the envelope to `out`."""
    packets.check_seal_flags(sealing, required=True)
    custodian = names.flag(custodian, "--custodian") if custodian is not None else None
    if pins.vault_key is not None and manifest_path is None:
        raise InvalidInput("--vault-key needs --manifest: it pins the vault key that sealed the manifest's transcript")
    plain = sources.read_share_file(share_path)
    fsio.check_new_file(out)
    ceremony_id, custodian, anchor = _header_names(plain, manifest_path, custodian, pins)
    with opener(tokens) as found:
        target = packets.resolve(packets.delivery_from_flags(sealing), Path("."), found, Asked.FLAGS, name_key=True)
        assert target is not None
        sealed, proven = packets.seal(plain, target, found, ceremony_id=ceremony_id, custodian=custodian)
    fsio.write_new_file(out, ev.to_json(sealed).encode("utf-8"))
    members, _ = registry.of(sealed.recipient).write(sealed.recipient)
    return Wrapped(sealed, proven, members, anchor)


def _header_names(
    plain: Share, manifest_path: Path | None, custodian: str | None, pins: Pins,
) -> tuple[str | None, str | None, Anchor | None]:
    """The ceremony id and custodian for the envelope's header, from --manifest (anchored) and --custodian; the anchor."""
    if manifest_path is None:
        return None, custodian, None
    anchored = anchored_manifest(manifest_path, pins)
    manifest = anchored.manifest
    entry = manifest.share_by_fingerprint(plain.fingerprint)
    if entry is None:
        raise InvalidInput(f"{manifest_path}: this share is not listed in the manifest", "wrap a share of this vault")
    return manifest.ceremony.id, custodian or entry.custodian, anchored.anchor


def unwrap(envelope_path: Path, out: Path | None, tokens: TokenOptions) -> Share:
    """Open the envelope with its token; with `out`, write the share there (mode 0600)."""
    sealed = sources.read_envelope(envelope_path)
    if out is not None:
        fsio.check_new_file(out)
    with opener(tokens) as found:
        try:
            plain = found.open(sealed)
        except VaultError as error:
            raise error.with_context(str(envelope_path)) from None
    if out is not None:
        text = sharefile.render(plain, ceremony_id=sealed.ceremony_id, custodian=sealed.custodian)
        fsio.write_new_file(out, text.encode("utf-8"))  # as every share file: the custodian's name may be any script
    return plain
