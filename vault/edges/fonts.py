"""The fonts on this machine that can print a name on a card: found through fontconfig, checked with fontTools.

A card must never print "?" (or an empty box) where a person's name has a letter.
Latin-1 text is printed with the PDF's built-in fonts, which need nothing from the
machine. Any other character needs a font file that has a glyph for it; fpdf2 embeds
(a subset of) each file chosen here. Fontconfig (`fc-list`, `fc-match`) says which
files claim a character and which the machine prefers; the file's own character map
(fontTools) decides, because fontconfig's answer can be stale or approximate.

Scripts that need text shaping (right-to-left, or letters that join or reorder, as in
Arabic, Hebrew and the Indic scripts) are refused: without a shaping engine fpdf2 would
print their letters in the wrong order or unjoined, which is worse than not printing.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from fontTools import unicodedata as ucd

from vault.errors import InvalidInput

BUILT_IN_LAST_CODE_POINT = 0xFF
"""The PDF's built-in fonts (Helvetica, Courier) print Latin-1 only."""
FONT_SUFFIXES = (".ttf", ".otf")
"""Files fpdf2 embeds as they are (a collection, .ttc, would need its face number)."""
FONTCONFIG_TIMEOUT_SECONDS = 30
SHAPED_SCRIPTS = frozenset((
    "Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Adlm", "Mand", "Samr",  # right to left
    "Deva", "Beng", "Guru", "Gujr", "Orya", "Taml", "Telu", "Knda", "Mlym", "Sinh",  # Indic: letters join and reorder
    "Mymr", "Khmr", "Tibt", "Mong", "Java", "Bali",
))
"""Scripts (ISO 15924) whose text is wrong without a shaping engine, which fpdf2 needs a compiled library for."""
FONT_HELP = 'see docs/plan.md, "Names on cards"'


def needs_font(text: str) -> bool:
    """Whether `text` has a character the built-in fonts cannot print."""
    return any(ord(char) > BUILT_IN_LAST_CODE_POINT for char in text)


def fonts_for(texts: Iterable[str]) -> tuple[Path, ...]:
    """The font files that together print every character of `texts` outside Latin-1, the machine's preferred first.

    Empty when `texts` need no font. Raises `InvalidInput` naming the characters that
    no font on this machine shows, or that cards cannot lay out.
    """
    wanted = sorted({char for text in texts if needs_font(text) for char in text})  # a space must print too
    if not wanted:
        return ()
    _refuse_shaped(wanted)
    chosen: list[Path] = []
    missing: list[str] = []
    remaining = wanted
    while remaining:
        char = remaining[0]
        font = next((path for path in _claiming(char) if ord(char) in _cmap(path)), None)
        if font is None:
            missing.append(char)
            remaining = remaining[1:]
            continue
        chosen.append(font)
        remaining = [other for other in remaining if ord(other) not in _cmap(font)]
    if missing:
        shown = ", ".join(f"{char} ({_code(char)})" for char in missing)
        raise InvalidInput(f"no font on this machine shows {shown}", f"install a font that has {'it' if len(missing) == 1 else 'them'} ({FONT_HELP})")
    return tuple(chosen)


def _refuse_shaped(chars: Iterable[str]) -> None:
    shaped = [char for char in chars if unicodedata.bidirectional(char) in ("R", "AL") or ucd.script(char) in SHAPED_SCRIPTS]
    if shaped:
        shown = ", ".join(f"{char} ({_code(char)}, {ucd.script_name(ucd.script(char))})" for char in shaped)
        raise InvalidInput(
            f"cards cannot yet lay out {shown}: it needs right-to-left or joined letters",
            f"deliver this share sealed to a token (no card), or name the person in another script ({FONT_HELP})",
        )


def _code(char: str) -> str:
    return f"U+{ord(char):04X}"


def _claiming(char: str) -> list[Path]:
    """The font files fontconfig says have `char`, in the machine's order of preference for sans-serif text."""
    listed = _fontconfig("fc-list", "--format=%{file}\n", f":charset={ord(char):x}")
    files = {Path(line) for line in listed if line.lower().endswith(FONT_SUFFIXES)}
    order = {path: rank for rank, path in enumerate(_preferred())}
    return sorted(files, key=lambda path: (order.get(path, len(order)), str(path)))


@functools.cache
def _preferred() -> tuple[Path, ...]:
    """Every font file, as fontconfig ranks them for regular sans-serif text (DejaVu Sans before DejaVu Sans Bold)."""
    return tuple(Path(line) for line in _fontconfig("fc-match", "--sort", "--format=%{file}\n", "sans-serif:style=Regular"))


def _fontconfig(*command: str) -> list[str]:
    """A fontconfig tool's output lines; none when fontconfig is not installed (then no font is found, and the check says so)."""
    program = shutil.which(command[0])
    if program is None:
        return []
    try:
        run = subprocess.run([program, *command[1:]], capture_output=True, text=True, timeout=FONTCONFIG_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line for line in run.stdout.splitlines() if line] if run.returncode == 0 else []


@functools.cache
def _cmap(path: Path) -> frozenset[int]:
    """The code points `path` has glyphs for; empty when it cannot be read as a font."""
    from fontTools.ttLib import TTFont, TTLibError  # imported here: only cards with such names pay for it

    try:
        with TTFont(path, lazy=True) as font:
            cmap = font.getBestCmap()
    except (OSError, TTLibError, KeyError, AssertionError):
        return frozenset()
    return frozenset(cmap) if cmap else frozenset()
