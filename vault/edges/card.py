"""Printable share cards: one A4 page per share, for a custodian to keep on paper.

An edge: fpdf2, imported only when a card is made. It returns the PDF's bytes and
leaves writing them to the caller (the card holds a plaintext share, so the flow
writes it 0600 and never overwrites).
The same inputs give the same bytes, so a card can be compared and tested: the
PDF's creation date is `created` or a fixed epoch, and nothing random goes in.

Only fpdf2's core fonts are used (nothing to embed or find on the system); they
speak latin-1, so a name outside it is printed with '?' for the characters it
cannot show rather than failing the ceremony.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from vault.core.scheme import describe_group, describe_member
from vault.core.slip39.share import Share
from vault.core.text import safe

if TYPE_CHECKING:
    from fpdf import FPDF

TITLE = "coldvault SLIP-39 share card"
WARNING = "SECRET: with enough shares anyone can take the funds"
FIXED_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
"""The creation date when none is given: a card must not change with the clock."""

MAX_NAME = 100
"""Names are cut here: a few lines at most, so the card always fits one page."""

COLUMNS = 4
MARGIN = 18.0  # mm
LABEL_WIDTH = 36.0  # mm
WORD_ROW_HEIGHT = 11.0  # mm


def render_card(
    share: Share,
    *,
    ceremony_name: str | None,
    ceremony_id: str | None,
    custodian: str | None,
    group_name: str | None,
    member_count: int | None,
    created: datetime | None = None,
    signing_key_sha256: str | None = None,
) -> bytes:
    """The card for `share` as a one-page PDF (A4 portrait, black on white).

    `signing_key_sha256`, when the ceremony's transcript is signed, is printed for the
    custodian to compare with their packet's README and to pin with `--key`: a copy
    that no one who rewrites the public files can change.
    """
    from fpdf import FPDF  # imported here: `coldvault --help` should not pay for it

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(created or FIXED_EPOCH)
    pdf.set_title(TITLE)
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.add_page()
    width = pdf.w - 2 * MARGIN

    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(width, 10, TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_line_width(0.6)
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(width, 10, WARNING, border=1, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)

    member = describe_member(share.member_index, member_count, share.member_threshold)
    details = [
        ("Ceremony", _printable(ceremony_name) or "(not named)"),
        ("Ceremony id", _printable(ceremony_id) or "(none)"),
        ("Custodian", _printable(custodian) or "(not named)"),
        ("Share", f"{describe_group(share.group_index, share.group_count, _printable(group_name))}, {member}"),
    ]
    if share.group_count > 1:
        details.append(("Groups", f"{share.group_threshold} of the {share.group_count} groups are needed to recover"))
    for label, value in details:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(LABEL_WIDTH, 5.5, label)
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(width - LABEL_WIDTH, 5.5, value, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
    if signing_key_sha256 is not None:
        _signing_key(pdf, signing_key_sha256, width)
    pdf.ln(4)

    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(width, 7, f"The share: {len(share.words)} words, in order, row by row", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    _word_grid(pdf, share.words, width)
    pdf.ln(4)

    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(LABEL_WIDTH, 7, "Fingerprint")
    pdf.set_font("Courier", "", 11)
    pdf.cell(width - LABEL_WIDTH, 7, share.fingerprint, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(
        width, 5,
        "The fingerprint identifies this share without revealing it; the vault's manifest lists it. "
        "Keep this card private and offline: never photograph it or type it into a networked device.",
        new_x="LMARGIN", new_y="NEXT",
    )
    pdf.ln(14)

    _signature_line(pdf, width)
    return bytes(pdf.output())


def _signing_key(pdf: FPDF, key_sha256: str, width: float) -> None:
    """The transcript's signing key, in two lines of 32 hex digits (monospace, to compare by hand)."""
    half = len(key_sha256) // 2
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(LABEL_WIDTH, 5.5, "Signing key")
    pdf.set_font("Courier", "", 10)
    pdf.multi_cell(width - LABEL_WIDTH, 5, f"{key_sha256[:half]}\n{key_sha256[half:]}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(
        width, 4.5, "SHA-256 of the key that signed the ceremony's transcript: --key pins it when you check your manifest.",
        new_x="LMARGIN", new_y="NEXT",
    )
    pdf.ln(1.5)


def _word_grid(pdf: FPDF, words: tuple[str, ...], width: float) -> None:
    """Numbered words (1-based), row by row, in boxes: a big monospace font to copy by hand."""
    column = width / COLUMNS
    number_width = 10.0
    left, top = pdf.get_x(), pdf.get_y()
    pdf.set_line_width(0.3)
    for position, word in enumerate(words):
        row, col = divmod(position, COLUMNS)
        x, y = left + col * column, top + row * WORD_ROW_HEIGHT
        pdf.rect(x, y, column, WORD_ROW_HEIGHT)
        pdf.set_xy(x, y)
        pdf.set_font("Helvetica", "", 11)
        pdf.cell(number_width, WORD_ROW_HEIGHT, str(position + 1), align="R")
        pdf.set_font("Courier", "B", 15)
        pdf.cell(column - number_width, WORD_ROW_HEIGHT, " " + word)
    rows = -(-len(words) // COLUMNS)
    pdf.set_xy(left, top + rows * WORD_ROW_HEIGHT)


def _signature_line(pdf: FPDF, width: float) -> None:
    """'Custodian's signature ______  Date ______', with room to write."""
    date_width = 55.0
    gap = 10.0
    x, y = pdf.get_x(), pdf.get_y()
    pdf.set_line_width(0.3)
    pdf.line(x, y, x + width - date_width - gap, y)
    pdf.line(x + width - date_width, y, x + width, y)
    pdf.set_font("Helvetica", "", 9)
    pdf.set_xy(x, y + 1)
    pdf.cell(width - date_width - gap, 5, "Custodian's signature (received this card)")
    pdf.set_xy(x + width - date_width, y + 1)
    pdf.cell(date_width, 5, "Date")


def _printable(text: str | None) -> str:
    """A name as the core fonts can print it: control and other hidden characters shown escaped
    (`safe.text`, as on the screen), one line, characters outside latin-1 shown as '?', cut to `MAX_NAME`."""
    if not text:
        return ""
    line = " ".join(safe.text(text).split())
    if len(line) > MAX_NAME:
        line = line[: MAX_NAME - 3] + "..."
    return line.encode("latin-1", errors="replace").decode("latin-1")
