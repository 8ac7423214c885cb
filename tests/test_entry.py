"""Interactive share entry, driven by scripted lines (the loop takes its I/O as arguments)."""

from __future__ import annotations

import shamir_mnemonic

from vault.core.slip39.recovery import Entry, ShareSet, recover
from vault.core.slip39.share import parse_share
from vault.core.wordlists import SLIP39_WORDS
from vault.edges.entry import enter_shares

SECRET = bytes(range(16))


def make_shares(threshold: int = 2, count: int = 3) -> list[str]:
    groups = shamir_mnemonic.generate_mnemonics(1, [(threshold, count)], SECRET, b"", True, 0)
    return groups[0]


def drive(lines: list[str], share_set: ShareSet | None = None) -> tuple[ShareSet, list[str]]:
    """Run the entry loop on `lines`; returns the set and everything it said."""
    pending = list(lines)
    said: list[str] = []

    def read_line(prompt: str) -> str | None:
        said.append(prompt)
        return pending.pop(0) if pending else None

    result = enter_shares(share_set or ShareSet(), read_line, said.append)
    return result, said


def prefixes(mnemonic: str) -> list[str]:
    """Each word typed as its first four letters, as a person would."""
    return [word[:4] for word in mnemonic.split()]


def test_whole_shares_one_per_line_recover_the_secret():
    shares = make_shares()
    share_set, said = drive([shares[0], shares[2]])
    assert recover(share_set, b"") == SECRET
    assert any("1 of 1 needed groups complete" in line for line in said)


def test_four_letter_prefixes_complete_words_and_the_completion_is_shown():
    shares = make_shares()
    share_set, said = drive(prefixes(shares[0]) + prefixes(shares[1]))
    assert recover(share_set, b"") == SECRET
    long_word = next(w for w in shares[0].split() if len(w) > 4)
    assert f"  -> {long_word}" in said


def test_a_prefix_shared_by_several_words_is_not_guessed():
    ambiguous = next(
        p
        for p in sorted({w[:3] for w in SLIP39_WORDS})
        if p not in SLIP39_WORDS and sum(w.startswith(p) for w in SLIP39_WORDS) > 1
    )
    shares = make_shares()
    share_set, said = drive([ambiguous] + shares[0].split() + shares[1].split())
    assert any(f'"{ambiguous}" is not a SLIP-39 word or a unique prefix' in line for line in said)
    assert recover(share_set, b"") == SECRET


def test_a_mistyped_word_is_refused_and_typed_again():
    shares = make_shares()
    words = shares[0].split()
    typo = words[3][:-1] + "q"  # not a word, nor a prefix of one
    lines = words[:3] + [typo, words[3]] + words[4:] + [shares[1]]
    share_set, said = drive(lines)
    assert any(f'"{typo}"' in line and "type it again" in line for line in said)
    assert recover(share_set, b"") == SECRET


def test_a_wrong_word_is_located_and_corrected_by_number():
    shares = make_shares()
    words = shares[1].split()
    wrong = words.copy()
    wrong[6] = next(w for w in SLIP39_WORDS if w != words[6])
    # The first share fixes the length (20), so the second is checked at its 20th word.
    lines = [shares[0]] + wrong + ["7", words[6]]
    share_set, said = drive(lines)
    assert any("word 7 is probably wrong" in line for line in said)
    assert recover(share_set, b"") == SECRET


def test_a_duplicate_share_is_reported_and_ignored():
    shares = make_shares()
    share_set, said = drive([shares[0], shares[0], shares[1]])
    assert any("already given" in line for line in said)
    assert len(share_set.entries) == 2


def test_a_share_of_another_set_is_not_accepted_and_entry_goes_on():
    shares = make_shares()
    stranger = make_shares()[0]
    share_set, said = drive([shares[0], stranger, shares[1]])
    assert any("not accepted" in line and "another share set" in line for line in said)
    assert recover(share_set, b"") == SECRET


def test_end_of_input_stops_with_what_was_entered():
    shares = make_shares()
    share_set, _ = drive([shares[0]])
    assert len(share_set.entries) == 1
    assert not share_set.progress().complete


def test_progress_names_what_each_group_still_needs():
    groups = shamir_mnemonic.generate_mnemonics(2, [(2, 3), (3, 5)], SECRET, b"", True, 0)
    share_set, said = drive([groups[1][0], groups[0][0], groups[0][1], groups[1][4], groups[1][2]])
    assert any("group 2 of 2: 1 of 3 needed (shares 1): 2 more needed" in line for line in said)
    assert any("group 1 of 2: 2 of 2 needed (shares 1, 2): complete" in line for line in said)
    assert recover(share_set, b"") == SECRET


def test_with_known_thresholds_progress_says_what_an_untouched_group_needs():
    groups = shamir_mnemonic.generate_mnemonics(2, [(2, 3), (3, 5)], SECRET, b"", True, 0)
    share_set, said = drive([groups[0][0]], ShareSet(member_thresholds=(2, 3)))
    assert any("group 2 of 2: no shares yet (3 needed)" in line for line in said)
    assert not share_set.progress().complete


def test_a_check_refuses_a_share_before_it_joins_and_entry_goes_on():
    from vault.errors import ShareError

    shares = make_shares()
    refused = shares[2]

    def check(share):
        if share.mnemonic == refused:
            raise ShareError("not a share of this vault")

    pending = [refused, shares[0], shares[1]]
    said: list[str] = []
    share_set = enter_shares(ShareSet(), lambda prompt: pending.pop(0) if pending else None, said.append, check)
    assert any("not accepted: not a share of this vault" in line for line in said)
    assert [entry.share.mnemonic for entry in share_set.entries] == [shares[0], shares[1]]


def wrong_at(mnemonic: str, index: int) -> list[str]:
    words = mnemonic.split()
    words[index] = next(w for w in SLIP39_WORDS if w != words[index])
    return words


def test_a_share_of_a_known_set_is_checked_at_its_last_word():
    """The first two words name the set; its length known (a manifest's vault), the last word ends the share."""
    shares = make_shares()
    first = parse_share(shares[0])
    lines = wrong_at(shares[0], 6) + ["7", shares[0].split()[6], shares[1]]
    pending = list(lines)
    said: list[str] = []

    def read_line(prompt: str) -> str | None:
        said.append(prompt)
        return pending.pop(0) if pending else None

    share_set = enter_shares(ShareSet(), read_line, said.append, lengths={first.identifier: len(first.words)})
    assert any("word 7 is probably wrong" in line for line in said)
    assert "  word 21: " not in said
    assert recover(share_set, b"") == SECRET


def test_without_a_known_length_a_wrong_share_says_at_20_words_how_to_find_the_wrong_word():
    shares = make_shares()
    _, said = drive(wrong_at(shares[0], 6))
    assert any("not a valid share at 20 words" in line and "an empty line finds it" in line for line in said)
    assert "  word 21: " in said  # it may be a longer share: entry goes on


def test_shares_given_already_count_and_only_the_rest_is_asked_for():
    shares = make_shares()
    given = ShareSet().add(Entry("share1.txt", parse_share(shares[0])))
    share_set, said = drive([shares[2]], given)
    assert "Given already: 1 share(s)." in said
    assert "Share 2:" in said and "Share 1:" not in said and "Share 3:" not in said
    assert recover(share_set, b"") == SECRET


def test_a_quorum_given_already_asks_for_nothing():
    shares = make_shares()
    given = ShareSet().add(Entry("a", parse_share(shares[0]))).add(Entry("b", parse_share(shares[1])))
    share_set, said = drive([], given)
    assert said == ["The shares given are enough: none to type."]
    assert share_set is given
