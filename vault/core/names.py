"""People's and groups' names: one form for each name, and no two names that look the same.

Witnesses compare names on a screen and on paper with the people in the room, so a
name must mean what it shows:

- Names are NFC-normalized, so the same letters typed on two keyboards (a precomposed
  "é" or "e" and a combining accent) are the same name.
- A name holds printable characters only (no control, format or other invisible
  character, UTS #39's Default_Ignorable_Code_Point included), 1 to `MAX_NAME_LENGTH`.
- Each word of a name is written in one script (UTS #39's resolved script set of the
  word is not empty): Latin "Alice" with a Cyrillic "А" is refused. Han with Hiragana or
  Katakana (Japanese), with Hangul (Korean) or with Bopomofo count as one script, as in
  UTS #39; digits and punctuation go with any script.
- Two names of the same kind (custodians, witnesses, groups) may not look the same:
  their UTS #39 confusable skeletons, of the name and of its case-folded form, differ.
  "Alice" and "ALICE", "Ivan" and "lvan", are one name twice.

The skeleton's data is Unicode's confusables.txt (`vault.core.confusables`); the
scripts come from fontTools' copy of Unicode's Scripts and ScriptExtensions data.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Sequence

from fontTools import unicodedata as unicode_scripts

from vault.core.confusables import PROTOTYPES
from vault.errors import InvalidInput

MAX_NAME_LENGTH = 64
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
"""Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters that show nothing."""
_ANY_SCRIPT = frozenset(("Zyyy", "Zinh"))
"""Common and Inherited: digits, punctuation, combining marks; they go with any script."""
_AUGMENTED = {"Hani": ("Hanb", "Jpan", "Kore"), "Hira": ("Jpan",), "Kana": ("Jpan",), "Hang": ("Kore",), "Bopo": ("Hanb",)}
"""UTS #39 5.1: the writing systems that mix scripts (Japanese, Korean, Han with Bopomofo) as one."""


def check(name: str) -> str:
    """`name` without surrounding spaces, NFC-normalized, if a person can read it and tell it apart; else InvalidInput.

    The caller puts what the name is (a plan's line, a flag) in front of the message
    (`VaultError.with_context`). An invisible character is named by its code point.
    """
    text = unicodedata.normalize("NFC", name.strip())
    if not text or len(text) > MAX_NAME_LENGTH:
        raise InvalidInput(f"a name must be 1 to {MAX_NAME_LENGTH} characters")
    for char in text:
        if not char.isprintable() or _ignorable(char):
            what = unicodedata.name(char, "a control or unassigned character")
            raise InvalidInput(f"a name must be printable characters on one line; this one holds U+{ord(char):04X} ({what})")
    for word in text.split():
        if scripts := mixed_scripts(word):
            raise InvalidInput(f'the word "{word}" mixes scripts ({" and ".join(scripts)}), so it can look like another name',
                               "write each word of a name in one script")
    return text


def flag(value: str, option: str) -> str:
    """A name given on the command line (`--witness`), checked; an error names the option and the value."""
    try:
        return check(value)
    except InvalidInput as error:
        raise error.with_context(f'{option} "{value}"') from None


def witnessed(operator: str | None, witnesses: Sequence[str]) -> tuple[str | None, tuple[str, ...]]:
    """`--operator` and `--witness` of a drill or an extension, checked; no witness twice, none two that look the same."""
    checked = tuple(flag(witness, "--witness") for witness in witnesses)
    for index, witness in enumerate(checked):
        if (twin := lookalike(witness, checked[:index])) is not None:
            raise InvalidInput(f'--witness "{witness}" is given twice: it looks the same as "{twin}"', "name each witness once")
    return (None if operator is None else flag(operator, "--operator")), checked


def mixed_scripts(word: str) -> tuple[str, ...]:
    """The scripts a word mixes (their English names, sorted), or () when it is written in one."""
    resolved: set[str] | None = None
    seen: set[str] = set()
    for char in word:
        scripts = set(unicode_scripts.script_extension(char))
        if scripts <= _ANY_SCRIPT:
            continue
        seen |= scripts - _ANY_SCRIPT
        for script in list(scripts):
            scripts.update(_AUGMENTED.get(script, ()))
        resolved = scripts if resolved is None else resolved & scripts
    if resolved is None or resolved:
        return ()
    return tuple(sorted(unicode_scripts.script_name(script) for script in seen))


def skeleton(text: str) -> str:
    """UTS #39's skeleton: NFD, each character to its prototype (confusables.txt), NFD again.

    Two strings with the same skeleton look the same; a skeleton is for comparing, never for showing.
    """
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(PROTOTYPES.get(char, char) for char in decomposed))


def lookalike(name: str, others: Iterable[str]) -> str | None:
    """The first of `others` that looks the same as `name` (case ignored), or None."""
    keys = _keys(name)
    return next((other for other in others if keys & _keys(other)), None)


@functools.lru_cache(maxsize=4096)
def _keys(name: str) -> frozenset[str]:
    """What a name looks like: its skeleton as written and case-folded (cached: a plan compares each pair of names)."""
    return frozenset((skeleton(name), skeleton(name.casefold())))


def _ignorable(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _DEFAULT_IGNORABLE)
