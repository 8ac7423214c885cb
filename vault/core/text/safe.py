"""Strings from outside, as a terminal, a Markdown page or an HTML page shows them: as text, never as commands.

Names in a manifest, labels on a token or in `transcript.sig.json`, an envelope's
header, an argument: whoever wrote them chose every character. Written to a terminal
raw, an escape sequence can clear the screen and draw a transcript head, a fingerprint
or a verdict of its own, which is what witnesses compare with their handwriting; a
bidirectional override reorders the text after it; in Markdown or HTML a name can
become a link or a script. So every such string passes through one rule here:

    a character that Unicode calls "Other" (general category C: the C0 and C1
    controls and DEL, format characters such as the bidirectional controls and
    zero-width joiners, lone surrogates from undecodable bytes, private use,
    unassigned), or a line or paragraph separator (U+2028, U+2029), is shown as its
    escape (ESC as ``\\x1b``, CSI as ``\\x9b``, U+202E as ``\\u202e``), never emitted.

An escape sequence needs no parsing: its ESC (or CSI) is shown escaped and the rest is
plain text. A backslash is left as it is, so the escapes are visible but can be
imitated by typing them: they show that a string is strange, not which bytes it holds.
The terminal's sinks (`vault.edges.terminal`, the CLI's output and error lines) apply
`text` to every line they write; Markdown and HTML outputs apply `markdown`,
`markdown_code` and `html` to every value they interpolate.
"""

from __future__ import annotations

import html as html_module
import re
import unicodedata

_HIDDEN_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
_MARKDOWN_SPECIAL = re.compile(r"[!#$&*+.:<>@\[\\\]^_`{|}~]")
"""ASCII punctuation with a meaning inside a line of Markdown (CommonMark, and GitHub's tables, autolinks and
math): links and images need "[", autolinks "<", ":", "@" or "www.", raw HTML "<", entities "&"; each is
backslash-escaped. Left as they are: the apostrophe, comma, hyphen and parentheses of people's names."""
_BACKTICKS = re.compile(r"`+")


def text(value: str) -> str:
    """`value` with every hidden or acting character shown as its escape; one line (a newline is escaped too)."""
    if value.isprintable():  # the common case: no character of a hidden category (they are all non-printable)
        return value
    return "".join(_escape(char) if unicodedata.category(char) in _HIDDEN_CATEGORIES else char for char in value)


def markdown(value: str) -> str:
    """`value` as literal text in Markdown: hidden characters escaped, then every Markdown-special ASCII punctuation
    backslash-escaped, so that no name becomes a link, an autolink, emphasis, a table cell or raw HTML."""
    return _MARKDOWN_SPECIAL.sub(lambda match: "\\" + match.group(0), text(value))


def markdown_code(value: str) -> str:
    """`value` as a Markdown code span (`` `id` ``): a fence longer than any run of backticks in it, so it cannot end early."""
    shown = text(value)
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(shown)), default=0) + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def html(value: object) -> str:
    """`value` as literal text in HTML: hidden characters escaped, then &, <, >, and quotes as entities."""
    return html_module.escape(text(str(value)))


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
