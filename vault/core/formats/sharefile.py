"""Share files (`*.txt`): one SLIP-39 mnemonic, with `#` comment lines around it.

The comments tell a person what they hold; parsers ignore them, so a share file is
readable by any SLIP-39 tool once the comment lines are removed. Nothing in a comment
is trusted: everything that matters is read from the words themselves.
"""

from __future__ import annotations

from vault.core.scheme import describe_group, describe_member
from vault.core.slip39.share import Share, parse_share

COMMENT = "#"


def share_filename(share: Share) -> str:
    """'group1-share2.txt': 1-based, as a person counts."""
    return f"group{share.group_index + 1}-share{share.member_index + 1}.txt"


def render(
    share: Share,
    *,
    ceremony_name: str | None = None,
    ceremony_id: str | None = None,
    group_name: str | None = None,
    member_count: int | None = None,
    custodian: str | None = None,
) -> str:
    """The text of a share file: comment header, then the words on one line."""
    group = describe_group(share.group_index, share.group_count, _one_line(group_name))
    header = ["coldvault SLIP-39 share. SECRET: with enough shares anyone can take the funds."]
    if ceremony_name or ceremony_id:
        header.append(f"ceremony: {_one_line(ceremony_name) or '(not named)'} ({ceremony_id or 'no id'})")
    header.append(f"{group}: {describe_member(share.member_index, member_count, share.member_threshold)}")
    if share.group_count > 1:
        header.append(f"{share.group_threshold} of the {share.group_count} groups are needed to recover")
    header += [
        f"custodian: {_one_line(custodian) or '(not named)'}",
        f"share fingerprint: {share.fingerprint}",
        "check it with: coldvault inspect <this file>",
    ]
    return "".join(f"{COMMENT} {line}\n" for line in header) + share.mnemonic + "\n"


def parse(text: str) -> Share:
    """The share in a share file's text (comment lines removed)."""
    return parse_share(strip_comments(text))


def strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(COMMENT))


def _one_line(text: str | None) -> str:
    """Names go into comments: no line breaks or control characters may start a new line."""
    return "".join(c if c.isprintable() else " " for c in text).strip() if text else ""
