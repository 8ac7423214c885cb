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
- A name holds at least one letter or digit, of any script.
- Two names are the same name when they are equal folded (`fold`): case, accents,
  width and punctuation set aside, so a witness typing "Tomas Ortega" on a US keyboard
  confirms "Tomás Ortega", and "Zoé Müller" beside "Zoë Müller" is one person twice.
- Two names of the same kind (custodians, witnesses, groups) may not look the same:
  their UTS #39 confusable skeletons, of the name and of its case-folded form, differ.
  "Alice" and "ALICE", "Ivan" and "lvan", are one name twice.
- A custodian's folder is the name in ASCII letters (`folder`: anyascii's
  transliteration, "Ærin Ødegård" is `aerin-odegard`, "李伟" is `li-wei`), made unique
  in the vault by a suffix (`folders`).

The skeleton's data is Unicode's confusables.txt (`vault.core.confusables`); the
scripts come from fontTools' copy of Unicode's Scripts and ScriptExtensions data; the
transliteration is anyascii's table (pure data, ISC licence).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence

from anyascii import anyascii
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
_ACCENTED = frozenset(("Latn", "Grek", "Cyrl"))
"""Scripts whose combining marks are accents a keyboard may lack ("Tomás" typed "Tomas"): `fold` drops them.
Elsewhere a mark changes the letter (kana's voicing marks, Indic vowel signs) and is kept."""
_SYLLABIC = frozenset(("Hani", "Hang"))
"""Scripts of one syllable per character: their transliterations are hyphenated in folder names ("li-wei")."""
SAME_NAME_RULE = "once case, accents, width and punctuation are set aside"
"""How `same` compares, for the messages that refuse a name twice."""
MAX_FOLDER_LENGTH = 40
"""Characters of a folder's name before a suffix: short enough for any file system and for Windows' path limit."""
_FALLBACK_FOLDER = "name-"
"""A folder for a name with no ASCII transliteration: this, then 12 hex digits of the SHA-256 of the NFC name."""
_RESERVED_FOLDERS = frozenset(("con", "prn", "aux", "nul", *(f"{device}{n}" for device in ("com", "lpt") for n in range(10))))
"""Names Windows gives to devices: a folder so named cannot be opened there."""


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
    if not fold(text):
        raise InvalidInput("a name needs at least one letter or digit (of any script)")
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


@functools.lru_cache(maxsize=4096)
def fold(name: str) -> str:
    """What a name is compared by: its words of letters, digits and marks, folded for case, accents and width.

    NFKD (a fullwidth "Ａ" is "A", "é" is "e" and an accent), the accents of Latin, Greek
    and Cyrillic letters dropped, case-folded, NFKC again; a Latin letter with no
    decomposition ("ø", "ł", "æ", "ß") as anyascii spells it ("o", "l", "ae", "ss"); every
    run of spaces and punctuation one space. "Tomás  Ortega", "TOMAS ORTEGA" and
    "Tomas Ortega" are one name; "李伟" and "黎伟" are two. Cached: a plan compares each pair.
    """
    kept: list[str] = []
    accented = False
    for char in unicodedata.normalize("NFKD", name):
        if unicodedata.category(char).startswith("M"):
            if accented:
                continue
        else:
            accented = not _ACCENTED.isdisjoint(unicode_scripts.script_extension(char))
        kept.append(char)
    folded = unicodedata.normalize("NFKC", "".join(kept).casefold())
    spelled = "".join(_latin_in_ascii(char) for char in folded)
    return " ".join("".join(char if _in_word(char) else " " for char in spelled).split())


def same(one: str, other: str) -> bool:
    """Whether two names are the same name folded (`fold`): a witness's typed name and the plan's, two custodians'."""
    return fold(one) == fold(other)


def twin(name: str, others: Iterable[str]) -> str | None:
    """The first of `others` that is the same name as `name` folded (`same`), or None."""
    return next((other for other in others if same(name, other)), None)


def lookalike(name: str, others: Iterable[str]) -> str | None:
    """The first of `others` that is the same name folded or looks the same as `name` (case ignored), or None."""
    keys = _keys(name)
    return next((other for other in others if keys & _keys(other)), None)


def folder(name: str) -> str:
    """A folder's name for `name`, safe on any file system: lower-case ASCII letters, digits and hyphens.

    anyascii's transliteration ("Zoë Müller" is `zoe-muller`, "Иван Петров" `ivan-petrov`),
    each Han or Hangul character a syllable of its own ("李伟" is `li-wei`, not `liwei`:
    pinyin run together can be read two ways, as "xian" and "xi-an"); at most
    `MAX_FOLDER_LENGTH` characters. A name anyascii cannot spell gets `name-` and 12 hex
    digits of its SHA-256, the same on every run. Not unique: `folders` makes them so.
    """
    text = unicodedata.normalize("NFC", name.strip())
    spelled = "".join(f" {anyascii(char)} " if _syllabic(char) else anyascii(char) for char in text)
    slug = re.sub(r"[^0-9a-z]+", "-", spelled.lower()).strip("-")[:MAX_FOLDER_LENGTH].strip("-")
    return slug or _FALLBACK_FOLDER + hashlib.sha256(text.encode()).hexdigest()[:12]


def folders(custodians: Sequence[str], taken: Iterable[str] = ()) -> tuple[str, ...]:
    """Each custodian's `folder`, in order, unique among themselves and `taken` (the vault's folders so far).

    A folder already taken, or one Windows reserves for a device (`con`, `aux`, `com1`...),
    gets the first free suffix `-2`, `-3`...: "李伟" and then "黎伟" are `li-wei` and
    `li-wei-2`. The same list gives the same folders on every run.
    """
    used = set(_RESERVED_FOLDERS) | set(taken)
    chosen: list[str] = []
    for name in custodians:
        base = candidate = folder(name)
        suffix = 2
        while candidate in used:
            candidate, suffix = f"{base}-{suffix}", suffix + 1
        used.add(candidate)
        chosen.append(candidate)
    return tuple(chosen)


@functools.lru_cache(maxsize=4096)
def _keys(name: str) -> frozenset[tuple[str, str]]:
    """A name as compared: folded, and its skeleton as written and case-folded (cached: a plan compares each pair)."""
    return frozenset((("fold", fold(name)), ("skeleton", skeleton(name)), ("skeleton", skeleton(name.casefold()))))


def _latin_in_ascii(char: str) -> str:
    """A Latin letter as anyascii spells it in ASCII letters ("ø" is "o", "æ" "ae"); any other character as it is."""
    if char.isascii() or not unicodedata.category(char).startswith("L") or "Latn" not in unicode_scripts.script_extension(char):
        return char
    spelled = anyascii(char).casefold()
    return spelled if spelled.isalnum() else char  # "ʔ" is spelled "'": kept, or it would vanish from the name


def _in_word(char: str) -> bool:
    """Letters, digits and marks make words; everything else (spaces, punctuation, symbols) separates them."""
    return unicodedata.category(char)[0] in "LNM"


def _syllabic(char: str) -> bool:
    return not _SYLLABIC.isdisjoint(unicode_scripts.script_extension(char))


def _ignorable(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _DEFAULT_IGNORABLE)
