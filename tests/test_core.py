"""The pure core, as a user meets it: precise share errors, split/recover round trips
(and interop with Trezor's reference library), share sets, passphrases, schemes,
secret parsing, the manifest, and that secrets never leak into reprs or messages.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timezone

import pytest
import shamir_mnemonic
from mnemonic import Mnemonic

from vault.core.backup import SplitOptions, make_backup
from vault.core.fingerprint import secret_fingerprint
from vault.core.formats import manifest as mf
from vault.core.scheme import make_scheme, parse_t_of_n
from vault.core.secret import Secret, SecretKind, from_bip39, from_hex
from vault.core.slip39.recovery import Entry, ShareSet, recover
from vault.core.slip39.share import Share, check_passphrase, parse_share, split
from vault.core.verification import check_secret
from vault.core.wordlists import SLIP39_WORDS
from vault.errors import CheckFailed, InvalidInput, ShareError

NOW = datetime(2024, 5, 17, 12, 30, 45, tzinfo=timezone.utc)
SECRET_16 = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
SECRET_18 = bytes.fromhex("00112233445566778899aabbccddeeff4242")
SECRET_32 = bytes(range(0x20, 0x40))
WORD_INDEX = {word: index for index, word in enumerate(SLIP39_WORDS)}


def fixed_id(identifier: int):
    """A `random_bytes` for `split` that fixes the set's identifier."""
    return lambda n: identifier.to_bytes(n, "big")


def make_shares(secret=SECRET_16, groups=((2, 3),), group_threshold=1, passphrase=b"", identifier=None,
                exponent=0, extendable=True):
    scheme = make_scheme(group_threshold, [tuple(g) for g in groups])
    kwargs = {"random_bytes": fixed_id(identifier)} if identifier is not None else {}
    return split(secret, scheme, passphrase, exponent, extendable, **kwargs)


def share_set_of(shares, prefix="share"):
    share_set = ShareSet()
    for number, share in enumerate(shares, start=1):
        share_set = share_set.add(Entry(f"{prefix} {number}", parse_share(share.mnemonic)))
    return share_set


def everything_said(error: Exception) -> str:
    return " ".join([error.message, *error.hints])


@pytest.fixture(scope="module")
def share_20(slip39_vectors) -> str:
    return slip39_vectors[0][1][0]  # "1. Valid mnemonic without sharing (128 bits)"


@pytest.fixture(scope="module")
def share_33(slip39_vectors) -> str:
    return slip39_vectors[19][1][0]  # "20. Valid mnemonic without sharing (256 bits)"


@pytest.fixture(scope="module")
def extendable_shares(slip39_vectors) -> dict[str, str]:
    # "42./44. Valid extendable mnemonic without sharing (128/256 bits)"
    return {"20-word-extendable": slip39_vectors[41][1][0], "33-word-extendable": slip39_vectors[43][1][0]}


# =========================================================================== parse_share


def test_vector_shares_have_the_lengths_the_tests_rely_on(share_20, share_33):
    assert len(share_20.split()) == 20 and len(share_33.split()) == 33
    assert parse_share(share_20).words == tuple(share_20.split())


def test_unknown_word_names_its_position_and_suggests_the_right_word(share_20):
    words = share_20.split()
    original = words[4]
    misspelt = original[:2] + original[3:]  # one letter dropped
    assert misspelt not in SLIP39_WORDS
    words[4] = misspelt
    with pytest.raises(ShareError) as raised:
        parse_share(" ".join(words))
    message = raised.value.message
    assert "word 5 " in message
    assert misspelt in message
    assert original in message.split("nearest:")[1].replace(",", " ").split()


@pytest.mark.parametrize("position", [1, 2, 10, 20])
def test_unknown_word_at_any_position_is_located(share_20, position):
    words = share_20.split()
    original = words[position - 1]
    words[position - 1] = original[:-1] + "q"  # a typo in the last letter
    assert words[position - 1] not in SLIP39_WORDS
    with pytest.raises(ShareError) as raised:
        parse_share(" ".join(words))
    assert f"word {position} (" in raised.value.message
    assert original in raised.value.message.split("nearest:")[1]


def _wrong_valid_words(original: str) -> list[str]:
    """Three valid SLIP-39 words that differ from `original` in one, a few, or all ten bits."""
    index = WORD_INDEX[original]
    return [SLIP39_WORDS[index ^ delta] for delta in (0x001, 0x2A5, 0x3FF)]


@pytest.mark.parametrize("which", ["20-word", "33-word", "20-word-extendable", "33-word-extendable"])
def test_valid_word_substitution_is_located_at_every_position(share_20, share_33, extendable_shares, which):
    mnemonic = {"20-word": share_20, "33-word": share_33, **extendable_shares}[which]
    words = mnemonic.split()
    assert len(words) == int(which[:2])
    assert parse_share(mnemonic).extendable is which.endswith("extendable")
    failures = []
    for position in range(1, len(words) + 1):
        original = words[position - 1]
        for wrong in _wrong_valid_words(original):
            changed = list(words)
            changed[position - 1] = wrong
            try:
                parse_share(" ".join(changed))
            except ShareError as error:
                message = error.message
                if f"word {position} is probably wrong" not in message or f'"{original}"' not in message:
                    failures.append((position, wrong, message))
            else:
                failures.append((position, wrong, "accepted"))
    assert not failures, failures


@pytest.mark.parametrize("count", [19, 21])
def test_wrong_word_count_is_reported(share_20, share_33, count):
    words = share_20.split()
    words = words[:count] if count < 20 else words + share_33.split()[: count - 20]
    with pytest.raises(ShareError) as raised:
        parse_share(" ".join(words))
    assert f"{count} words" in raised.value.message
    assert "20" in everything_said(raised.value)


def test_short_and_empty_shares(share_20):
    with pytest.raises(ShareError, match="no share words"):
        parse_share("  \n\t ")
    with pytest.raises(ShareError, match="3 words"):
        parse_share(" ".join(share_20.split()[:3]))


@pytest.mark.parametrize("index", range(0, 24, 3))
def test_bip39_mnemonic_given_as_share_gets_a_bip39_hint(bip39_vectors, index):
    mnemonic = bip39_vectors["english"][index][1]
    with pytest.raises(ShareError) as raised:
        parse_share(mnemonic)
    assert "BIP-39" in everything_said(raised.value)


def test_abandon_about_given_as_share_gets_a_bip39_hint():
    with pytest.raises(ShareError) as raised:
        parse_share("abandon " * 11 + "about")
    assert "BIP-39" in everything_said(raised.value)
    assert "word 1 " in raised.value.message


def test_white_space_newlines_and_capitals_are_accepted(share_33):
    words = share_33.split()
    messy = "\n\n   " + "\n".join(
        "  ".join(w.upper() if i % 3 == 0 else w.title() for i, w in enumerate(words[k:k + 4]))
        for k in range(0, len(words), 4)
    ) + "\t\r\n  "
    assert parse_share(messy) == parse_share(share_33)
    assert parse_share(messy).words == tuple(words)


def test_parsed_share_header(share_33):
    share = parse_share(share_33)
    reference = shamir_mnemonic.Share.from_mnemonic(share_33)
    assert (share.identifier, share.group_index, share.member_index, share.member_threshold) == (
        reference.identifier, reference.group_index, reference.index, reference.member_threshold)
    assert share.mnemonic == share_33


# =========================================================================== split + recover


ROUND_TRIPS = [
    # (group_threshold, groups, secret, passphrase, extendable, exponent)
    (1, [(2, 3)], SECRET_16, b"", True, 0),
    (1, [(2, 3)], SECRET_18, b"TREZOR", False, 0),
    (1, [(3, 5)], SECRET_32, b"correct horse", True, 2),
    (1, [(1, 1)], SECRET_32, b"", False, 2),
    (1, [(1, 1)], SECRET_18, b"~ !", True, 0),
    (2, [(2, 3), (3, 5), (1, 1)], SECRET_16, b"", False, 0),
    (2, [(2, 3), (3, 5), (1, 1)], SECRET_32, b"TREZOR", True, 0),
    (3, [(2, 2), (1, 1), (2, 4)], SECRET_18, b"", True, 2),
    (1, [(2, 2), (2, 3)], SECRET_16, b"pass phrase", False, 2),
    (2, [(2, 3), (2, 3)], SECRET_18, b"", True, 0),
]


# SLIP-39: 7 words of metadata and checksum, plus ceil(8 * bytes / 10) value words.
WORDS_FOR_SECRET_BYTES = {16: 20, 18: 22, 32: 33}


@pytest.mark.parametrize(
    ("group_threshold", "groups", "secret", "passphrase", "extendable", "exponent"),
    ROUND_TRIPS,
    ids=[f"{gt}of{len(g)}-{len(s)}B-{'pp' if p else 'nopp'}-{'ext' if e else 'noext'}-e{x}"
         for gt, g, s, p, e, x in ROUND_TRIPS],
)
def test_split_then_recover_round_trip(group_threshold, groups, secret, passphrase, extendable, exponent):
    scheme = make_scheme(group_threshold, groups)
    shares = split(secret, scheme, passphrase, exponent, extendable)
    assert [len(group) for group in shares] == [count for _, count in groups]
    identifiers = {share.identifier for group in shares for share in group}
    assert len(identifiers) == 1
    for group_index, group in enumerate(shares):
        for member_index, share in enumerate(group):
            assert (share.group_index, share.member_index) == (group_index, member_index)
            assert share.extendable is extendable
            assert share.iteration_exponent == exponent
            assert share.group_threshold == group_threshold and share.group_count == len(groups)
            assert share.member_threshold == groups[group_index][0]
            assert len(share.words) == WORDS_FOR_SECRET_BYTES[len(secret)]
            assert parse_share(share.mnemonic) == share

    # two different qualifying subsets: the first and the last members / groups
    for pick in (lambda seq, n: seq[:n], lambda seq, n: seq[-n:]):
        chosen_groups = pick(list(range(len(groups))), group_threshold)
        quorum = [s for g in chosen_groups for s in pick(shares[g], groups[g][0])]
        assert recover(share_set_of(quorum), passphrase) == secret
        # and the reference library agrees: our shares -> theirs
        assert shamir_mnemonic.combine_mnemonics([s.mnemonic for s in quorum], passphrase) == secret


@pytest.mark.parametrize(
    ("group_threshold", "groups", "secret", "passphrase", "extendable", "exponent"),
    [
        (1, [(2, 3)], SECRET_16, b"", True, 0),
        (1, [(3, 4)], SECRET_32, b"TREZOR", False, 2),
        (2, [(1, 1), (2, 3), (3, 5)], SECRET_18, b"x", True, 0),
        (2, [(2, 2), (2, 3)], SECRET_32, b"", False, 0),
    ],
    ids=["1g-2of3", "1g-3of4-pp", "2of3-groups", "2of2-groups"],
)
def test_reference_shares_recover_with_coldvault(group_threshold, groups, secret, passphrase, extendable, exponent):
    mnemonics = shamir_mnemonic.generate_mnemonics(
        group_threshold, groups, secret, passphrase, extendable, exponent
    )
    # every share of every group: surplus is fine, coldvault picks a quorum
    everything = ShareSet()
    for g, group in enumerate(mnemonics):
        for m, mnemonic in enumerate(group):
            share = parse_share(mnemonic)
            assert (share.group_index, share.member_index, share.extendable) == (g, m, extendable)
            everything = everything.add(Entry(f"ref g{g} m{m}", share))
    assert recover(everything, passphrase) == secret
    # a minimal quorum from the last groups and members
    last = ShareSet()
    for g in range(len(groups) - group_threshold, len(groups)):
        for mnemonic in mnemonics[g][-groups[g][0]:]:
            last = last.add(Entry("ref", parse_share(mnemonic)))
    assert not last.unused()
    assert recover(last, passphrase) == secret


def test_share_word_counts_match_secret_length():
    """A split share's word count is SLIP-39's: 20 words at 128 bits, 33 at 256."""
    assert len(make_shares(SECRET_16)[0][0].words) == 20
    assert len(make_shares(SECRET_32)[0][0].words) == 33


# =========================================================================== ShareSet


def test_shares_of_two_sets_are_refused_naming_the_other_source():
    first = make_shares(identifier=1001)
    second = make_shares(identifier=2002)
    share_set = ShareSet().add(Entry("alice.txt", first[0][0]))
    with pytest.raises(ShareError) as raised:
        share_set.add(Entry("bob.txt", second[0][1]))
    assert "alice.txt" in raised.value.message
    assert "another share set" in raised.value.message
    assert len(share_set.entries) == 1  # the set is unchanged


def test_same_member_with_different_words_is_refused():
    # same identifier and scheme, different split: member 1 of each has different words
    first = make_shares(identifier=777)
    second = make_shares(identifier=777)
    assert first[0][0].set_id == second[0][0].set_id
    assert first[0][0].words != second[0][0].words
    share_set = ShareSet().add(Entry("alice.txt", first[0][0]))
    with pytest.raises(ShareError) as raised:
        share_set.add(Entry("carol.txt", second[0][0]))
    message = raised.value.message
    assert "alice.txt" in message
    assert "share 1 of group 1" in message


def test_find_detects_a_duplicate():
    shares = make_shares()[0]
    share_set = ShareSet().add(Entry("alice.txt", shares[0]))
    again = parse_share("  " + shares[0].mnemonic.upper())
    found = share_set.find(again)
    assert found is not None and found.source == "alice.txt"
    assert share_set.find(shares[1]) is None


def test_quorum_with_too_few_shares_says_per_group_what_is_missing():
    groups = make_shares(groups=((2, 3), (3, 5), (2, 2)), group_threshold=2)
    share_set = share_set_of([groups[0][0], groups[1][2]])
    with pytest.raises(InvalidInput) as raised:
        share_set.quorum()
    error = raised.value
    assert "too few shares" in error.message
    assert "0 of 2" in error.message
    by_group = {hint.split(":")[0]: hint for hint in error.hints if hint.startswith("group ")}
    assert set(by_group) == {"group 1 of 3", "group 2 of 3", "group 3 of 3"}
    assert "1 more needed" in by_group["group 1 of 3"]
    assert "2 more needed" in by_group["group 2 of 3"]
    assert "shares 3" in by_group["group 2 of 3"]
    assert "no shares yet" in by_group["group 3 of 3"]
    with pytest.raises(InvalidInput):
        recover(share_set, b"")


def test_quorum_of_an_empty_set_is_invalid_input():
    with pytest.raises(InvalidInput):
        ShareSet().quorum()


def test_surplus_shares_and_groups_are_fine_and_listed_as_unused():
    groups = make_shares(SECRET_32, groups=((2, 3), (2, 3), (1, 1)), group_threshold=2)
    everything = [share for group in groups for share in group]
    share_set = share_set_of(everything)
    quorum = share_set.quorum()
    assert sorted(quorum) == [0, 1]
    assert [s.member_index for s in quorum[0]] == [0, 1]
    unused = share_set.unused()
    assert {(e.share.group_index, e.share.member_index) for e in unused} == {(0, 2), (1, 2), (2, 0)}
    assert all(e.source.startswith("share ") for e in unused)
    assert recover(share_set, b"") == SECRET_32

    # a surplus share in an incomplete group does not block recovery either
    partial = share_set_of([groups[0][2], groups[1][0], groups[2][0], groups[0][1]])
    assert recover(partial, b"") == SECRET_32
    assert [(e.share.group_index, e.share.member_index) for e in partial.unused()] == [(1, 0)]


def _altered(share: Share) -> Share:
    """The same share with one byte of its value changed and a valid checksum."""
    reference = shamir_mnemonic.Share.from_mnemonic(share.mnemonic)
    value = bytearray(reference.value)
    value[3] ^= 0x5A
    altered = dataclasses.replace(reference, value=bytes(value)).mnemonic()
    parsed = parse_share(altered)  # the checksum holds: parsing alone cannot tell
    assert parsed.words != share.words
    return parsed


@pytest.mark.parametrize("altered_first", [True, False], ids=["altered-first", "altered-second"])
def test_altered_share_with_valid_checksum_fails_recovery_naming_the_group(altered_first):
    shares = make_shares(SECRET_16, groups=((2, 3),))[0]
    bad, good = _altered(shares[0]), shares[1]
    entries = [Entry("altered.txt", bad), Entry("good.txt", good)]
    share_set = ShareSet()
    for entry in entries if altered_first else entries[::-1]:
        share_set = share_set.add(entry)
    with pytest.raises(ShareError) as raised:
        recover(share_set, b"")
    assert "group 1" in raised.value.message


def test_altered_share_in_second_group_names_group_2():
    groups = make_shares(SECRET_32, groups=((2, 3), (2, 3)), group_threshold=2)
    share_set = share_set_of([groups[0][0], groups[0][1], _altered(groups[1][2]), groups[1][0]])
    with pytest.raises(ShareError) as raised:
        recover(share_set, b"")
    assert "group 2" in raised.value.message
    assert "group 1" not in raised.value.message


# =========================================================================== passphrase


def test_wrong_passphrase_gives_another_secret_and_the_check_says_passphrase():
    secret = Secret(SecretKind.MASTER_SECRET, SECRET_32)
    scheme = make_scheme(1, [(2, 3)])
    backup = make_backup(secret, scheme, b"right passphrase", SplitOptions(), now=NOW)
    assert backup.manifest.scheme.passphrase_protected is True
    share_set = share_set_of(backup.shares[:2])

    right = recover(share_set, b"right passphrase")
    assert right == SECRET_32
    check_secret(Secret(SecretKind.MASTER_SECRET, right), backup.manifest, passphrase_given=True)

    wrong = recover(share_set, b"wrong passphrase")  # no error: SLIP-39's design
    assert wrong != SECRET_32 and len(wrong) == len(SECRET_32)
    for given in (True, False):
        with pytest.raises(CheckFailed) as raised:
            check_secret(Secret(SecretKind.MASTER_SECRET, wrong), backup.manifest, passphrase_given=given)
        assert "passphrase" in " ".join(raised.value.hints)
        assert raised.value.exit_code == 1
        assert wrong.hex() not in everything_said(raised.value)
        assert SECRET_32.hex() not in everything_said(raised.value)

    # forgetting the passphrase entirely is the same kind of mistake
    empty = recover(share_set, b"")
    with pytest.raises(CheckFailed) as raised:
        check_secret(Secret(SecretKind.MASTER_SECRET, empty), backup.manifest, passphrase_given=False)
    assert "passphrase" in " ".join(raised.value.hints)


def test_check_secret_accepts_the_right_bip39_secret():
    secret = from_bip39("abandon " * 11 + "about")
    backup = make_backup(secret, make_scheme(1, [(2, 3)]), b"", SplitOptions(iteration_exponent=0), now=NOW)
    assert backup.manifest.secret.wallet_fingerprint == "73c5da0a"
    recovered = recover(share_set_of(backup.shares[1:]), b"")
    check_secret(Secret(SecretKind.BIP39_ENTROPY, recovered), backup.manifest, passphrase_given=False)


# =========================================================================== schemes


@pytest.mark.parametrize(
    ("group_threshold", "groups"),
    [
        (1, [(4, 3)]),
        (1, [(0, 3)]),
        (0, [(2, 3)]),
        (1, [(1, 1)] * 17),
        (1, [(2, 17)]),
        (1, [(1, 3)]),
        (2, [(2, 3), (1, 2)]),
        (3, [(2, 3), (2, 3)]),
        (1, []),
    ],
    ids=["threshold-above-count", "member-threshold-0", "group-threshold-0", "17-groups", "17-members",
         "1-of-3", "1-of-2-in-group-2", "group-threshold-above-groups", "no-groups"],
)
def test_make_scheme_refusals(group_threshold, groups):
    with pytest.raises(InvalidInput) as raised:
        make_scheme(group_threshold, groups)
    assert raised.value.exit_code == 3


def test_make_scheme_refusals_name_the_group():
    with pytest.raises(InvalidInput, match="group 2"):
        make_scheme(1, [(2, 3), (1, 3)])
    with pytest.raises(InvalidInput, match="16"):
        make_scheme(1, [(2, 17)])


def test_make_scheme_limits_accepted():
    scheme = make_scheme(16, [(1, 1)] * 16)
    assert scheme.group_threshold == 16 and len(scheme.groups) == 16
    scheme = make_scheme(1, [(16, 16)], names=["Officers"])
    assert scheme.groups[0].name == "Officers" and scheme.share_count == 16
    assert make_scheme(1, [(1, 1), (1, 1)]).group_threshold == 1  # group threshold 1 of 2 is allowed


@pytest.mark.parametrize(("text", "expected"), [("2of3", (2, 3)), ("3 of 5", (3, 5)), ("2/3", (2, 3)),
                                                 ("2-of-3", (2, 3)), (" 10OF16 ", (10, 16))])
def test_parse_t_of_n(text, expected):
    assert parse_t_of_n(text) == expected


@pytest.mark.parametrize("text", ["", "2", "two of three", "2of", "of3", "2of3of4", "-2of3", "2.5of3", "2x3"])
def test_parse_t_of_n_refuses_bad_text(text):
    with pytest.raises(InvalidInput):
        parse_t_of_n(text)


# =========================================================================== secrets


def test_from_hex_accepts_upper_case_and_surrounding_space():
    assert from_hex("  " + SECRET_32.hex().upper() + "\n").value == SECRET_32
    secret = from_hex(SECRET_18.hex())
    assert secret.kind is SecretKind.MASTER_SECRET and secret.bits == 144


def test_from_hex_refuses_odd_length():
    with pytest.raises(InvalidInput, match="odd"):
        from_hex(SECRET_16.hex() + "a")


def test_from_hex_non_hex_character_names_position_without_the_secret():
    text = SECRET_32.hex()[:40] + "g" + SECRET_32.hex()[41:]
    with pytest.raises(InvalidInput) as raised:
        from_hex(text)
    said = everything_said(raised.value)
    assert "41" in raised.value.message
    assert text not in said
    # not even a fragment of the secret text: no 6 consecutive characters of it
    assert not any(text[i:i + 6] in said for i in range(len(text) - 5))
    assert '"g"' not in said and "'g'" not in said


@pytest.mark.parametrize(("length", "fragment"), [(15, "128"), (17, "even"), (0, "empty")])
def test_from_hex_refuses_bad_lengths(length, fragment):
    with pytest.raises(InvalidInput) as raised:
        from_hex(bytes(range(1, length + 1)).hex())
    assert fragment in raised.value.message


def test_from_hex_refuses_more_than_bip32_allows():
    with pytest.raises(InvalidInput):
        from_hex("ab" * 66)
    assert from_hex("ab" * 64).bits == 512


def test_from_bip39_unknown_word_names_the_position_but_not_the_word():
    words = ("legal winner thank year wave sausage worth useful legal winner thank yellow").split()
    assert from_bip39(" ".join(words)).value == bytes.fromhex("7f" * 16)
    words[2] = "thnak"
    with pytest.raises(InvalidInput) as raised:
        from_bip39(" ".join(words))
    said = everything_said(raised.value)
    assert "word 3" in raised.value.message
    # the words are the seed itself: neither the typo, nor the word it stands for, nor its neighbours
    for word in ("thnak", "thank", "winner", "year"):
        assert word not in said


def test_from_bip39_refuses_bad_checksum_and_bad_word_count():
    with pytest.raises(InvalidInput, match="checksum"):
        from_bip39("abandon " * 12)
    with pytest.raises(InvalidInput, match="11 words"):
        from_bip39("abandon " * 10 + "about")


@pytest.mark.parametrize(
    "passphrase", ["café", "Qz7\tXw9k", "Jv4q\nline", "nul\x00Kp", "Wm3\x7f", "€uroZx"],
    ids=["accent", "tab", "newline", "nul", "del", "euro"],
)
def test_check_passphrase_refuses_non_printable_ascii_without_echoing_it(passphrase):
    with pytest.raises(InvalidInput) as raised:
        check_passphrase(passphrase)
    said = everything_said(raised.value)
    assert passphrase not in said
    # no fragment of it either (the distinctive parts before and after the bad character)
    for part in re.split(r"[^\x21-\x7e]", passphrase):
        if len(part) >= 3:
            assert part not in said
    assert "character" in raised.value.message


def test_check_passphrase_accepts_printable_ascii():
    text = "".join(chr(c) for c in range(32, 127))
    assert check_passphrase(text) == text.encode("ascii")
    assert check_passphrase("") == b""


# =========================================================================== manifest


@pytest.fixture(scope="module")
def backup():
    secret = Secret(SecretKind.MASTER_SECRET, SECRET_32)
    scheme = make_scheme(2, [(2, 3), (3, 5)], names=["Officers", "Family"])
    return make_backup(secret, scheme, b"", SplitOptions(iteration_exponent=0), now=NOW)


def test_manifest_round_trips(backup):
    text = mf.to_json(backup.manifest)
    assert mf.from_json(text) == backup.manifest
    assert mf.to_json(mf.from_json(text)) == text
    document = json.loads(text)
    assert document["format"] == "coldvault-manifest/2"
    assert document["attestation"]["algorithm"] == "ed25519-hkdf-sha256"
    assert all(s["proven"] is True and len(s["attestation_public_key"]) == 44 for s in document["shares"])
    assert document["ceremony"]["created"] == "2024-05-17T12:30:45Z"
    assert document["secret"] == {
        "kind": "master-secret",
        "bits": 256,
        "secret_fingerprint": secret_fingerprint(Secret(SecretKind.MASTER_SECRET, SECRET_32)),
        "wallet_fingerprint": backup.manifest.secret.wallet_fingerprint,
    }
    assert [g["name"] for g in document["scheme"]["groups"]] == ["Officers", "Family"]
    assert len(document["shares"]) == 8
    assert {s["share_fingerprint"] for s in document["shares"]} == {s.fingerprint for s in backup.shares}


def _broken(backup, change) -> str:
    document = json.loads(mf.to_json(backup.manifest))
    change(document)
    return json.dumps(document)


def _set(path, value):
    def change(document):
        *parents, last = path
        target = document
        for key in parents:
            target = target[key]
        target[last] = value
    return change


def _delete(path):
    def change(document):
        *parents, last = path
        target = document
        for key in parents:
            target = target[key]
        del target[last]
    return change


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (_set(["format"], "coldvault-manifest/3"), "format"),
        (_delete(["format"]), "manifest.format is missing"),
        (_delete(["scheme", "identifier"]), "manifest.scheme.identifier is missing"),
        (_delete(["secret"]), "manifest.secret is missing"),
        (_delete(["shares", 1, "member_index"]), "manifest.shares[1].member_index is missing"),
        (_set(["scheme", "identifier"], "1234"), "manifest.scheme.identifier"),
        (_set(["secret", "bits"], True), "manifest.secret.bits"),
        (_set(["scheme", "extendable"], 1), "manifest.scheme.extendable"),
        (_set(["scheme", "groups"], {}), "manifest.scheme.groups"),
        (_set(["secret", "kind"], "seed"), "secret.kind"),
        (_set(["shares", 0, "share_fingerprint"], None), "manifest.shares[0].share_fingerprint"),
        (_set(["policy"], 180), "manifest.policy"),
    ],
    ids=["unknown-format", "no-format", "no-identifier", "no-secret", "no-member-index", "identifier-string",
         "bits-bool", "extendable-int", "groups-object", "unknown-kind", "null-fingerprint", "policy-number"],
)
def test_manifest_reader_rejects_bad_documents_naming_the_field(backup, change, fragment):
    with pytest.raises(InvalidInput) as raised:
        mf.from_json(_broken(backup, change))
    assert fragment in raised.value.message


@pytest.mark.parametrize(
    "path",
    [["secret", "secret_fingerprint"], ["secret", "wallet_fingerprint"], ["shares", 0, "share_fingerprint"]],
)
def test_manifest_reader_rejects_upper_case_and_short_hex(backup, path):
    document = json.loads(mf.to_json(backup.manifest))
    target = document
    for key in path[:-1]:
        target = target[key]
    value = target[path[-1]]
    assert any(c in "abcdef" for c in value)
    for bad in (value.upper(), value[:-1], value + "0"):
        target[path[-1]] = bad
        with pytest.raises(InvalidInput) as raised:
            mf.from_json(json.dumps(document))
        assert path[-1] in raised.value.message


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2", "null", "[]", "\"manifest\""])
def test_manifest_reader_rejects_non_json_and_non_objects(text):
    with pytest.raises(InvalidInput):
        mf.from_json(text)


def _word_pairs(words) -> set[str]:
    return {f"{a} {b}" for a, b in zip(words, words[1:])}


def test_manifest_never_holds_the_secret_or_share_words(backup):
    text = next(f.content for f in backup.files if f.path == "manifest.json")
    assert text == mf.to_json(backup.manifest)
    assert not next(f for f in backup.files if f.path == "manifest.json").secret
    lowered = text.lower()
    assert SECRET_32.hex() not in lowered
    assert SECRET_32.hex()[:16] not in lowered
    for share in backup.shares:
        assert share.mnemonic not in lowered
        assert not any(pair in lowered for pair in _word_pairs(share.words))
    # and the share files do hold their share, marked secret
    share_files = [f for f in backup.files if f.path != "manifest.json"]
    assert len(share_files) == 8 and all(f.secret for f in share_files)
    for share, file in zip(backup.shares, share_files):
        assert parse_share("\n".join(line for line in file.content.splitlines() if not line.startswith("#"))) == share


def test_bip39_manifest_never_holds_the_words_or_entropy():
    words = Mnemonic("english").to_mnemonic(SECRET_32)
    secret = from_bip39(words)
    result = make_backup(secret, make_scheme(1, [(2, 3)]), b"", SplitOptions(iteration_exponent=0), now=NOW)
    text = mf.to_json(result.manifest)
    assert result.manifest.secret.kind is SecretKind.BIP39_ENTROPY
    assert SECRET_32.hex() not in text.lower()
    assert not any(pair in text for pair in _word_pairs(words.split()))
    for share in result.shares:
        assert not any(pair in text for pair in _word_pairs(share.words))


# =========================================================================== repr never reveals


def test_repr_of_secret_hides_the_value():
    for secret in (Secret(SecretKind.MASTER_SECRET, SECRET_32), from_bip39("abandon " * 11 + "about"),
                   from_hex(SECRET_18.hex())):
        for text in (repr(secret), str(secret)):
            assert secret.value.hex() not in text.lower()
            assert repr(secret.value) not in text
            assert "master-secret" in text or "bip39-entropy" in text


def test_repr_of_share_hides_the_words(backup):
    for share in backup.shares:
        for text in (repr(share), str(share), repr(Entry("alice.txt", share))):
            assert share.mnemonic not in text
            assert not any(pair in text for pair in _word_pairs(share.words))
            assert not any(f"'{word}'" in text for word in share.words)
    assert "group_index" in repr(backup.shares[0])
    assert not any(share.mnemonic in repr(backup) for share in backup.shares)


@pytest.mark.parametrize(
    "path, value, field_name",
    [
        (("scheme", "group_threshold"), 0, "scheme.group_threshold"),
        (("scheme", "identifier"), -5, "scheme.identifier"),
        (("scheme", "identifier"), 1 << 15, "scheme.identifier"),
        (("secret", "bits"), 7, "secret.bits"),
        (("scheme", "iteration_exponent"), 99, "scheme.iteration_exponent"),
        (("scheme", "groups"), [], "scheme.groups"),
        (("policy", "drill_interval_days"), 0, "policy.drill_interval_days"),
    ],
)
def test_manifest_reader_refuses_values_no_split_can_have(path, value, field_name):
    document = json.loads(mf.to_json(_small_backup().manifest))
    document[path[0]][path[1]] = value
    with pytest.raises(InvalidInput, match=re.escape(f"manifest.{field_name} is out of range")):
        mf.from_json(json.dumps(document))


def test_adding_the_same_share_twice_says_so():
    share = _small_backup().shares[0]
    with pytest.raises(ShareError, match="is the same share as a.txt"):
        ShareSet().add(Entry("a.txt", share)).add(Entry("b.txt", share))


def _small_backup():
    return make_backup(
        Secret(SecretKind.MASTER_SECRET, bytes(range(16))),
        make_scheme(1, [(2, 3)]),
        b"",
        SplitOptions(iteration_exponent=0),
        now=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )


def test_manifest_reader_refuses_a_key_given_twice_and_hostile_nesting():
    text = mf.to_json(_small_backup().manifest)
    doubled = text.replace('"format":', '"format": "coldvault-manifest/9", "format":', 1)
    with pytest.raises(InvalidInput, match='the key "format" appears twice'):
        mf.from_json(doubled)
    with pytest.raises(InvalidInput, match="nested too deeply"):
        mf.from_json('{"format": ' + "[" * 100_000 + "]" * 100_000 + "}")
