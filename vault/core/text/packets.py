"""The words of a ceremony: custodian READMEs, the runbook, and what the room is shown.

Pure: text in, text out. Nothing here ever sees a secret or a share's words; it
works from the manifest (public) and fingerprints. The READMEs and the runbook are
Markdown: every value that came from a plan, a manifest or a token goes in through
`safe.markdown` (or `safe.markdown_code`), so that a name is shown, never obeyed.
What the room is shown goes to the terminal, whose sink escapes it.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

from vault.core.delivery import Packet
from vault.core.fingerprint import aloud
from vault.core.formats.manifest import Manifest, ShareEntry
from vault.core.formats.plan import Plan
from vault.core.scheme import describe_group, describe_member
from vault.core.secret import KIND_NOTES, SecretKind
from vault.core.text import safe

RUNBOOK_TEMPLATE = "ceremony-runbook.md"
"""The runbook's template, in vault/templates/ (read by the caller: this module reads no files)."""


def secret_lines(record: dict[str, Any]) -> list[str]:
    """The secret's public facts, as the room sees them before the split."""
    kind = SecretKind(record["kind"])
    return [
        f"secret: {kind.value}, {record['bits']} bits, {record['source']}",
        f"secret fingerprint: {record['secret_fingerprint']}",
        f"wallet fingerprint: {record['wallet_fingerprint']} (the master fingerprint a wallet shows)",
        f"note: {KIND_NOTES[kind]}",
    ]


def holding(manifest: Manifest, entry: ShareEntry) -> str:
    """'group 2 of 3 (Officers), share 1 of 5; 3 needed'."""
    group = manifest.group(entry.group_index)
    assert group is not None
    where = describe_group(entry.group_index, len(manifest.scheme.groups), group.name)
    return f"{where}, {describe_member(entry.member_index, group.member_count, group.member_threshold)}"


def delivery_text(made: Packet) -> str:
    if made.envelope is None:
        return "paper: printed card (card.pdf) and share file (share.txt)"
    recipient = made.envelope.recipient
    token = f' on token "{recipient.token_label}"' if recipient.token_label else ""
    key = f' key "{recipient.key_label}"' if recipient.key_label else ""
    proven = "opened again here with its token" if made.proven else "NOT PROVEN here: the custodian's token was not in the room"
    return f"sealed ({made.envelope.kind}){token}{key}; {proven}"


def packet_lines(manifest: Manifest, packets: Sequence[Packet]) -> list[str]:
    return [
        f"{made.holder.name}: {holding(manifest, _entry(manifest, made))}; "
        f"share fingerprint {made.share.fingerprint}; {delivery_text(made)}"
        for made in packets
    ]


def custodian_readme(manifest: Manifest, made: Packet, signing_key_sha256: str | None = None) -> str:
    """What a custodian reads first: what they hold, how to check it alone, what never to do.

    `signing_key_sha256`: the key that signs the transcript beside the manifest copy
    (None: not signed). The custodian compares it with their card and pins it with `--key`.
    """
    entry = _entry(manifest, made)
    name = made.holder.name
    file = made.file.rsplit("/", 1)[1]
    scheme = manifest.scheme
    needs = f"{scheme.group_threshold} of the {len(scheme.groups)} groups are needed to recover." if len(scheme.groups) > 1 else ""
    token_flags = ""
    if made.envelope is not None and made.envelope.recipient.token_label:
        token_flags = f" --pin-file {safe.text(made.envelope.recipient.token_label)}=YOUR-PIN-FILE"  # in a code block
    what = (
        f"- `{file}`: your share's words (SECRET), and `card.pdf`, the same words on a printable card.\n"
        "  Print the card on an offline printer, sign it, and keep it where only you can reach it.\n"
        "  Then destroy the files on any machine that is not the ceremony's."
        if made.envelope is None else
        f"- `{file}`: your share, sealed so that only your token opens it. Without the token it is useless;\n"
        "  with the token and its PIN it is your share. Keep the token and this file apart from other custodians'."
    )
    vault_key = manifest.vault_key_sha256
    key_flag = (f" --vault-key {vault_key}" if vault_key else "") + (f" --key {signing_key_sha256}" if signing_key_sha256 else "")
    return f"""# Your coldvault share: {safe.markdown(manifest.ceremony.name)}

- Custodian: **{safe.markdown(name)}**
- You hold: {safe.markdown(holding(manifest, entry))}. {needs}
- Vault: ceremony {safe.markdown_code(manifest.ceremony.id)}, created {manifest.ceremony.created}
- Share fingerprint: `{entry.share_fingerprint}`
- The vault's secret fingerprint: `{manifest.secret.secret_fingerprint}`; wallet fingerprint `{manifest.secret.wallet_fingerprint}`
- Delivery: {safe.markdown(delivery_text(made))}
- {_passphrase_text(scheme.passphrase_protected)}
{_vault_key_line(vault_key, made.envelope is None)}{_signing_key_line(signing_key_sha256, made.envelope is None)}
## What is in this folder

{what}
- `manifest.json`: the vault's public description. It holds no secret.
- {_transcript_text(signing_key_sha256)}
- `README.md`: this page.

## Check your share, alone, at any time (offline)

    coldvault verify --manifest manifest.json {file}{token_flags}{key_flag}

Its line that names you must end `ok: listed in the manifest (share fingerprint {entry.share_fingerprint})`: your share's fingerprint above.
{_anchor_check_text(signing_key_sha256, made.envelope is None)}
`coldvault inspect {file}{token_flags}` shows what the share says about itself. Neither shows the secret.
{_token_text(made)}
## Rules

- Never photograph, scan, type into an online device, or copy your share.
- Never bring it together with other custodians' shares except at a recovery or drill with witnesses.
- Your share is checked in a recovery drill every {manifest.policy.drill_interval_days} days. If it is lost, damaged,
  or may have been seen by someone else, tell the vault's operator at once.
"""


def _passphrase_text(protected: bool) -> str:
    """Whether the shares alone recover the wallet. Never where the passphrase is: a page that says so would lead
    whoever finds a share to the other half of the secret; the operator knows, and tells the people who need to."""
    if not protected:
        return "Passphrase: none. Enough shares recover the vault; nothing else is needed."
    return (
        "Passphrase: **needed too.** Enough shares without the vault's passphrase recover a different, empty\n"
        "  wallet, and no error says so. The passphrase is not in this folder nor on any card; the vault's\n"
        "  operator knows where it is kept."
    )


def _token_text(made: Packet) -> str:
    """How the commands above reach the custodian's token: found by its public key, its PIN asked or read from a file."""
    if made.envelope is None:
        return ""
    label = made.envelope.recipient.token_label
    pin = ("`YOUR-PIN-FILE` is a file holding your token's PIN (mode 0600); leave out `--pin-file` to type the PIN instead."
           if label else "coldvault finds your token by its key and asks for its PIN (or give `--pin-file LABEL=FILE`).")
    return (
        f"\n{pin} If your token is not a SoftHSM2 token (a YubiKey, a smart card, a TPM), add `--module` and the path\n"
        "of its PKCS#11 library to each command (coldvault's docs/tokens.md says which).\n"
    )


def _vault_key_line(vault_key_sha256: str | None, paper: bool) -> str:
    """The vault's identity, in the groups of four people read aloud (docs/history.md)."""
    if vault_key_sha256 is None:
        return ""
    return _key_line("The vault key (SHA-256), the vault's identity", aloud(vault_key_sha256), paper,
                     ". It sealed `transcript.jsonl`;\n  `--vault-key` pins it whenever a command reads this manifest, "
                     "on every revision of the vault.")


def _signing_key_line(signing_key_sha256: str | None, paper: bool) -> str:
    if signing_key_sha256 is None:
        return ""
    return _key_line("The ceremony's signing key (SHA-256)", signing_key_sha256, paper, "")


def _key_line(label: str, shown: str, paper: bool, after: str) -> str:
    """A key the custodian compares with their card and the runbook, where the witnesses wrote it down."""
    card = "your card carries it too, and " if paper else ""
    return f"- {label}: `{shown}`\n  ({card}the witnesses wrote it down in the ceremony's runbook){after}\n"


def _transcript_text(signing_key_sha256: str | None) -> str:
    signature = " and `transcript.sig.json`, its signature" if signing_key_sha256 else ""
    return (
        f"`transcript.jsonl`{signature}: the ceremony's record. It holds the SHA-256 of `manifest.json`,\n"
        "  so that anyone can tell whether this copy of the manifest was changed since the ceremony."
    )


def _anchor_check_text(signing_key_sha256: str | None, paper: bool) -> str:
    signed = ", signed by that key" if signing_key_sha256 else ""
    elsewhere = "your card or the ceremony's runbook" if paper else "the ceremony's runbook"
    return (
        f"It must also say that the manifest is anchored by `transcript.jsonl`, sealed by the vault key{signed}. Whoever\n"
        f"can change this folder can change this page too: compare the keys above with the ones on {elsewhere},\n"
        "where the witnesses wrote them down. If they differ, this folder was changed: tell the vault's operator."
    )


def runbook(
    template_text: str, plan: Plan, manifest: Manifest, packets: Sequence[Packet], head: str,
    signing_key_sha256: str | None = None, superseded: Manifest | None = None,
) -> str:
    """The ceremony's printable record, from the runbook template (`RUNBOOK_TEMPLATE`'s text), with this ceremony's facts.

    A rotation's record also lists the old vault's shares, with a line for each one's destruction.
    """
    template = string.Template(template_text)
    secret = manifest.secret
    scheme = manifest.scheme
    rows = "\n".join(
        f"| {safe.markdown(holding(manifest, _entry(manifest, made)))} | {safe.markdown(made.holder.name)} | "
        f"{'paper' if made.envelope is None else made.envelope.kind} | `{made.share.fingerprint}` | "
        f"{'yes' if made.proven else 'NOT PROVEN'} | |"
        for made in packets
    )
    people = [("Operator", plan.operator)] + [("Witness", name) for name in plan.witnesses]
    return template.substitute(
        ceremony_name=safe.markdown(manifest.ceremony.name),
        ceremony_id=safe.markdown_code(manifest.ceremony.id),
        created=manifest.ceremony.created,
        secret_kind=secret.kind.value,
        secret_bits=secret.bits,
        kind_note=KIND_NOTES[secret.kind],
        secret_fingerprint=secret.secret_fingerprint,
        wallet_fingerprint=secret.wallet_fingerprint,
        passphrase="yes: without it the shares give a different wallet" if scheme.passphrase_protected else "none",
        group_threshold=scheme.group_threshold,
        group_count=len(scheme.groups),
        drill_interval_days=manifest.policy.drill_interval_days,
        packet_rows=rows,
        superseded_section=_superseded_section(superseded) if superseded else "",
        transcript_head=head,
        signed="signed on the ceremony token (transcript.sig.json)" if plan.signing else "not signed",
        signing_key=signing_key_sha256 or "none: the transcript is not signed",
        vault_key=aloud(manifest.vault_key_sha256) if manifest.vault_key_sha256 else "none",
        signature_lines="\n\n".join(
            f"{role}: {safe.markdown(name)}  signature: ____________________  date: __________" for role, name in people
        ),
    )


def _superseded_section(old: Manifest) -> str:
    """The old vault's shares: each must be destroyed, and each destruction witnessed and recorded here."""
    rows = "\n".join(
        f"| {safe.markdown(holding(old, entry))} | {safe.markdown(entry.custodian or '(not named)')} | `{entry.share_fingerprint}` | | | |"
        for entry in old.shares
    )
    return f"""## Superseded vault: destroy its shares

This ceremony re-split the seed of ceremony {safe.markdown_code(old.ceremony.id)} ({safe.markdown(old.ceremony.name)}).
The old shares still recover the seed, with each other, but never combine with the new
ones. Each old share must be destroyed: paper shredded and burnt, envelope files deleted
and the token's key destroyed (or the token reset). The custodian destroys it in front
of a witness, and both initial its row. A share that cannot be produced is a reason to
move the funds to a new seed (see docs/extend-and-rotate.md).

| old share | custodian | share fingerprint | destroyed on | custodian | witness |
|---|---|---|---|---|---|
{rows}

"""


def _entry(manifest: Manifest, made: Packet) -> ShareEntry:
    entry = manifest.share_by_fingerprint(made.share.fingerprint)
    assert entry is not None
    return entry

