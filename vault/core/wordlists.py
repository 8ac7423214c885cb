"""Word lookups shared by the SLIP-39 and BIP-39 paths: completion and suggestions.

Both standard word lists are built so that the first four letters of every word are
unique, which is what lets a person type a 4-letter prefix and what lets us suggest
the word they probably meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from vault.core.slip39.reference import WORDLIST

SLIP39_WORDS: tuple[str, ...] = WORDLIST
"""SLIP-39's 1024 words, in order."""

UNIQUE_PREFIX_LETTERS = 4
"""Both SLIP-39 and the English BIP-39 list are unique in their first four letters."""

SUGGESTION_COUNT = 3


def complete(prefix: str, wordlist: Sequence[str]) -> str | None:
    """The one word of `wordlist` that `prefix` names, or None.

    A whole word names itself; otherwise a prefix of at least four letters names the
    word it begins, when exactly one word begins with it.
    """
    if prefix in wordlist:
        return prefix
    if len(prefix) < UNIQUE_PREFIX_LETTERS:
        return None
    matches = [word for word in wordlist if word.startswith(prefix)]
    return matches[0] if len(matches) == 1 else None


def nearest(word: str, wordlist: Sequence[str]) -> list[str]:
    """Up to three valid words a person who typed `word` most likely meant."""
    by_prefix = [w for w in wordlist if w.startswith(word[:UNIQUE_PREFIX_LETTERS])]
    by_spelling = difflib.get_close_matches(word, wordlist, n=SUGGESTION_COUNT, cutoff=0.6)
    suggestions = list(dict.fromkeys(by_prefix[:1] + by_spelling))
    return suggestions[:SUGGESTION_COUNT]


def describe_unknown(position: int, word: str, wordlist: Sequence[str], list_name: str) -> str:
    """'word 5 ("acadmic") is not in the SLIP-39 word list; nearest: academic, ...'."""
    message = f'word {position} ("{word}") is not in the {list_name} word list'
    suggestions = nearest(word, wordlist)
    if suggestions:
        message += "; nearest: " + ", ".join(suggestions)
    return message
