"""Interactive share entry: word by word, each share checked the moment it is complete.

The I/O is passed in (`read_line`, `say`), so the same loop runs on a terminal, on a
pipe, and in unit tests. Rules a person meets:

- a unique 4-letter prefix completes a word (the completed word is shown);
- several words may be typed on one line;
- shares already given (as files) count: only the rest is asked for;
- a share is checked the moment its last word is typed: its first two words name its
  set, and a set known (from the manifest, or a share already given) says how many
  words its shares have. A share of an unknown set is complete when its checksum
  holds at a valid length. An empty line asks for the check early (to see what is wrong);
- a wrong word can be corrected by number without retyping the share;
- after each share: duplicate or not, which set, and what each group still needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

from vault.core import wordlists
from vault.core.slip39.recovery import Entry, ShareSet
from vault.core.slip39.share import SHARE_WORDS_128_BIT, SHARE_WORDS_256_BIT, Share, identifier_of, parse_share
from vault.core.wordlists import SLIP39_WORDS
from vault.errors import ShareError, VaultError

ReadLine = Callable[[str], "str | None"]
Say = Callable[[str], None]
Check = Callable[[Share], object]
LengthOf = Callable[[list[str]], "int | None"]

INSTRUCTIONS = (
    "Type each share's words in order; a unique 4-letter prefix is enough, and several "
    "words per line are fine. Each share is checked as soon as it is complete. "
    "An empty line checks the share early. End of input (Ctrl-D) stops."
)


class EndOfInput(Exception):
    """The person (or the pipe) stopped typing."""


def enter_shares(
    share_set: ShareSet, read_line: ReadLine, say: Say, check: Check | None = None, lengths: Mapping[int, int] | None = None
) -> ShareSet:
    """Add typed shares to `share_set` (the shares given as files) until it can recover, or input ends.

    `check` (e.g. "belongs to this manifest's vault") runs on each share before it is
    accepted; a `VaultError` from it refuses that share and entry goes on. `lengths`:
    the words of the shares of a set, by its identifier, known before any is typed
    (a manifest's vault).
    """
    if _complete(share_set):
        say("The shares given are enough: none to type.")
        return share_set
    say(INSTRUCTIONS)
    if share_set.entries:
        say(f"Given already: {len(share_set.entries)} share(s).")
        for line in share_set.progress().lines():
            say(f"  {line}")
    number = len(share_set.entries) + 1
    while not _complete(share_set):
        say(f"Share {number}:")
        try:
            share = _enter_one(read_line, say, partial(_length_of, share_set=share_set, lengths=lengths or {}))
        except EndOfInput:
            return share_set
        share_set = _accept(share_set, share, f"typed share {number}", say, check)
        number += 1
    return share_set


def _complete(share_set: ShareSet) -> bool:
    return bool(share_set.entries) and share_set.progress().complete


def _length_of(words: list[str], share_set: ShareSet, lengths: Mapping[int, int]) -> int | None:
    """The words the share being typed has, once its first words name a set whose length is known."""
    identifier = identifier_of(words)
    if identifier is None:
        return None
    given = (len(item.share.words) for item in share_set.entries if item.share.identifier == identifier)
    return next(given, lengths.get(identifier))


def _accept(share_set: ShareSet, share: Share, source: str, say: Say, check: Check | None) -> ShareSet:
    duplicate = share_set.find(share)
    if duplicate:
        say(f"  this share was already given ({duplicate.source}); ignored")
        return share_set
    try:
        if check is not None:
            check(share)
        share_set = share_set.add(Entry(source, share))
    except VaultError as error:
        say(f"  not accepted: {error.message}")
        return share_set
    say(f"  accepted: group {share.group_index + 1}, share {share.member_index + 1}")
    for line in share_set.progress().lines():
        say(f"  {line}")
    return share_set


def _enter_one(read_line: ReadLine, say: Say, length_of: LengthOf) -> Share:
    """One share, checked at the length its first words announce (`length_of`), when known."""
    words: list[str] = []
    while True:
        line = read_line(f"  word {len(words) + 1}: ")
        if line is None:
            raise EndOfInput
        tokens = line.split()
        words.extend(_complete_tokens(tokens, say))
        expected = length_of(words)
        if (not tokens and words) or (expected is not None and len(words) >= expected):
            return _check_or_correct(words, read_line, say, length_of)
        if expected is None and len(words) >= SHARE_WORDS_128_BIT:
            try:
                return parse_share(" ".join(words))
            except ShareError:  # not complete yet, or wrong: an empty line shows which
                if len(words) in (SHARE_WORDS_128_BIT, SHARE_WORDS_256_BIT):
                    say(f"  not a valid share at {len(words)} words: if this share has {len(words)}, "
                        "one is wrong (an empty line finds it); if it has more, type the next")


def _complete_tokens(tokens: list[str], say: Say) -> list[str]:
    """Complete each token; stop at the first that names no word (the rest is retyped)."""
    completed = []
    for token in tokens:
        word = wordlists.complete(token.lower(), SLIP39_WORDS)
        if word is None:
            nearest = ", ".join(wordlists.nearest(token.lower(), SLIP39_WORDS)) or "none"
            say(f'  "{token}" is not a SLIP-39 word or a unique prefix (nearest: {nearest}); type it again')
            break
        if word != token.lower():
            say(f"  -> {word}")
        completed.append(word)
    return completed


def _check_or_correct(words: list[str], read_line: ReadLine, say: Say, length_of: LengthOf) -> Share:
    """Check the share now; on an error, let the person fix one word by number."""
    while True:
        try:
            return parse_share(" ".join(words))
        except ShareError as error:
            say(f"  {error.message}")
        answer = read_line(f"  number of the word to correct (1-{len(words)}), or Enter to start this share again: ")
        if answer is None:
            raise EndOfInput
        if not answer.strip():
            return _enter_one(read_line, say, length_of)
        if not answer.strip().isdigit() or not 1 <= int(answer) <= len(words):
            say("  not a word number")
            continue
        position = int(answer)
        replacement = read_line(f"  word {position}: ")
        if replacement is None:
            raise EndOfInput
        fixed = _complete_tokens(replacement.split()[:1], say)
        if fixed:
            words[position - 1] = fixed[0]
