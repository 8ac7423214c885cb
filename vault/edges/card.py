"""Printable share cards: one A4 page per share, for a custodian to keep on paper.

An edge: fpdf2, imported only when a card is made. It returns the PDF's bytes and
leaves writing them to the caller (the card holds a plaintext share, so the flow
writes it 0600 and never overwrites).
The same inputs give the same bytes, so a card can be compared and tested: the
PDF's creation date is `created` or a fixed epoch, and nothing random goes in.

Text in Latin-1 is printed with fpdf2's built-in fonts (nothing to embed). A name with
any other letter is printed with fonts found on this machine (`vault.edges.fonts`),
embedded and subset; when none shows one of its letters, `check_names` and
`render_card` refuse (exit 3), naming the characters: a card never prints "?" for a
letter. The ceremony calls `check_names` before the secret exists.

With `qr`, a QR code (segno) of the share in SLIP-39's text form (the words, lower
case, separated by single spaces) is printed beside the words, for a wallet or an
ordinary reader to scan; it is as secret as the words, and the card says so.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from vault.core.scheme import describe_group, describe_member
from vault.core.slip39.share import Share
from vault.core.text import safe
from vault.edges import fonts

if TYPE_CHECKING:
    from fpdf import FPDF

TITLE = "coldvault SLIP-39 share card"
WARNING = "SECRET: with enough shares anyone can take the funds"
FIXED_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
"""The creation date when none is given: a card must not change with the clock."""

MAX_NAME = 100
"""Names are cut here: a few lines at most, so the card always fits one page."""

COLUMNS = 4
QR_COLUMNS = 3
"""Beside a QR code, the words take three columns: a word of 8 letters still fits its box."""
MARGIN = 18.0  # mm
LABEL_WIDTH = 36.0  # mm
WORD_ROW_HEIGHT = 11.0  # mm
QR_WORD_ROW_HEIGHT = 9.0  # mm
"""Three columns make more rows: lower boxes keep 33 words as tall as without a QR code, so the card fits its page."""
QR_WIDTH_MM = 46.0
"""The QR code's side, quiet zone included: 33 words make a version 11 code, 69 modules of 0.67 mm, easy for a phone."""
QR_GAP_MM = 4.0
QR_QUIET_ZONE_MODULES = 4
"""White modules around the code, as the QR standard asks: readers find the code by its edge."""
NAME_FONT = "name"
"""fpdf2's family names for the embedded fonts: name0 (the first), name1, ... (fallbacks, for other scripts)."""

PASSPHRASE_NEEDED = ("needed too. These words alone recover a different, empty wallet, with no error. "
                     "The passphrase is not on this card; the vault's operator knows where it is kept.")
PASSPHRASE_NONE = "none: with enough shares, these words are all that is needed"
PASSPHRASE_UNKNOWN = "not known: this card was made without the vault's manifest"


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
    passphrase_protected: bool | None = None,
    qr: bool = False,
    vault_key_sha256: str | None = None,
) -> bytes:
    """The card for `share` as a one-page PDF (A4 portrait, black on white).

    `vault_key_sha256` (the vault's identity, docs/history.md) and `signing_key_sha256`
    (when the ceremony's transcript is signed by a token) are printed for the custodian
    to compare with their packet's README and to pin with `--vault-key` and `--key`: a
    copy that no one who rewrites the public files can change. `passphrase_protected`
    (None: not known, no manifest) says whether the words alone recover the wallet.
    Raises `InvalidInput` when no font on this machine shows a name's letters.
    """
    from fpdf import FPDF  # imported here: `coldvault --help` should not pay for it

    names = [_printable(ceremony_name), _printable(custodian), _printable(group_name)]
    embedded = fonts.fonts_for(names)

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(created or FIXED_EPOCH)
    pdf.set_title(TITLE)
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.add_page()
    width = pdf.w - 2 * MARGIN
    for index, path in enumerate(embedded):
        pdf.add_font(f"{NAME_FONT}{index}", "", str(path))
    pdf.set_fallback_fonts([f"{NAME_FONT}{index}" for index in range(1, len(embedded))], exact_match=False)

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
    details.append(("Passphrase", _passphrase_text(passphrase_protected)))
    for label, value in details:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(LABEL_WIDTH, 5.5, label)
        pdf.set_font(f"{NAME_FONT}0" if fonts.needs_font(value) else "Helvetica", "", 11)
        pdf.multi_cell(width - LABEL_WIDTH, 5.5, value, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
    if vault_key_sha256 is not None:
        _key(pdf, "Vault key", vault_key_sha256, width,
             "SHA-256 of the vault's own key: --vault-key pins it when you check your packet (read it aloud in groups of four).")
    if signing_key_sha256 is not None:
        _key(pdf, "Signing key", signing_key_sha256, width,
             "SHA-256 of the key that signed the ceremony's transcript: --key pins it when you check your manifest.")
    pdf.ln(4)

    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(width, 7, f"The share: {len(share.words)} words, in order, row by row", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    if qr:
        top = pdf.get_y()
        _qr_code(pdf, share_text(share), pdf.l_margin + width - QR_WIDTH_MM, top)
        pdf.set_xy(pdf.l_margin, top)
        _word_grid(pdf, share.words, width - QR_WIDTH_MM - QR_GAP_MM, QR_COLUMNS, QR_WORD_ROW_HEIGHT)
        pdf.set_y(max(pdf.get_y(), top + QR_WIDTH_MM + 12))
    else:
        _word_grid(pdf, share.words, width, COLUMNS, WORD_ROW_HEIGHT)
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
    if pdf.get_y() > pdf.h - MARGIN:  # auto page break is off: what runs past the page would be lost silently
        raise ValueError("the card does not fit on one page")
    return bytes(pdf.output())


def _key(pdf: FPDF, label: str, key_sha256: str, width: float, note: str) -> None:
    """A key's SHA-256 in two lines of eight groups of four hex digits (monospace, to compare by hand and aloud)."""
    groups = [key_sha256[i:i + 4] for i in range(0, len(key_sha256), 4)]
    half = len(groups) // 2
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(LABEL_WIDTH, 5.5, label)
    pdf.set_font("Courier", "", 10)
    pdf.multi_cell(width - LABEL_WIDTH, 5, f"{' '.join(groups[:half])}\n{' '.join(groups[half:])}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(width, 4.5, note, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)


def check_names(*names: str | None) -> None:
    """Refuse, before anything is made, names that no font on this machine prints (`InvalidInput`, naming the characters)."""
    fonts.fonts_for(_printable(name) for name in names)


def share_text(share: Share) -> str:
    """The share in SLIP-39's text form, as wallets read it: the words in lower case, separated by single spaces."""
    return " ".join(word.lower() for word in share.words)


def _passphrase_text(passphrase_protected: bool | None) -> str:
    if passphrase_protected is None:
        return PASSPHRASE_UNKNOWN
    return PASSPHRASE_NEEDED if passphrase_protected else PASSPHRASE_NONE


def _qr_code(pdf: FPDF, text: str, left: float, top: float) -> None:
    """`text` as a QR code, QR_WIDTH_MM square with its quiet zone, each row's dark runs drawn as filled rectangles."""
    import segno  # imported here, as fpdf2

    code = segno.make(text, error="m", micro=False)
    rows = [list(row) for row in code.matrix_iter(scale=1, border=QR_QUIET_ZONE_MODULES)]
    module = QR_WIDTH_MM / len(rows)
    pdf.set_fill_color(0, 0, 0)
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            pdf.rect(left + start * module, top + y * module, (x - start) * module, module, style="F")
    pdf.set_xy(left, top + QR_WIDTH_MM)
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(QR_WIDTH_MM, 3.5, "The QR code holds these same words: it is as secret as they are.", align="C")


def _word_grid(pdf: FPDF, words: tuple[str, ...], width: float, columns: int, row_height: float) -> None:
    """Numbered words (1-based), row by row, in boxes: a big monospace font to copy by hand."""
    column = width / columns
    number_width = 9.0
    left, top = pdf.get_x(), pdf.get_y()
    pdf.set_line_width(0.3)
    for position, word in enumerate(words):
        row, col = divmod(position, columns)
        x, y = left + col * column, top + row * row_height
        pdf.rect(x, y, column, row_height)
        pdf.set_xy(x, y)
        pdf.set_font("Helvetica", "", 11)
        pdf.cell(number_width, row_height, str(position + 1), align="R")
        pdf.set_font("Courier", "B", 15)
        pdf.cell(column - number_width, row_height, " " + word)
    rows = -(-len(words) // columns)
    pdf.set_xy(left, top + rows * row_height)


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
    """A name as the card prints it: control and other hidden characters shown escaped
    (`safe.text`, as on the screen), one line, cut to `MAX_NAME`."""
    if not text:
        return ""
    line = " ".join(safe.text(text).split())
    if len(line) > MAX_NAME:
        line = line[: MAX_NAME - 3] + "..."
    return line
