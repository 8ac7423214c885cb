"""Property-based tests of the core's promises, over random SLIP-39 schemes.

Schemes of 1..16 groups of 1..16 members with every legal threshold, secrets of
16..32 bytes (even), printable-ASCII passphrases (empty included), iteration
exponents 0..3, extendable or not. What a custody team relies on:

- any quorum, in any order, recovers exactly the secret, and `verify` proves it;
- Trezor's reference library agrees with coldvault, in both directions;
- fewer than a quorum never recovers anything, and says what is missing;
- a wrong passphrase never passes the fingerprint check;
- what a share says about itself survives parsing, white space and capitals.

Every example replays exactly: the split's randomness (identifier, ceremony id and
the reference's polynomial coefficients) comes from a seed that hypothesis draws,
so a failure shrinks and reproduces like any other. There is no example database,
so a CI run depends on nothing left behind by an earlier one.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import random
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

import pytest
import shamir_mnemonic
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from shamir_mnemonic import rs1024
from shamir_mnemonic import shamir as reference_shamir
from shamir_mnemonic.constants import CUSTOMIZATION_STRING_EXTENDABLE, CUSTOMIZATION_STRING_ORIG

from vault.core import proof as pf
from vault.core.backup import SHARES_DIR, Backup, SplitOptions, make_backup
from vault.core.formats import manifest as mf
from vault.core.formats import sharefile
from vault.core.formats.manifest import Manifest
from vault.core.scheme import MAX_GROUP_COUNT, MAX_MEMBER_COUNT, make_scheme
from vault.core.secret import BIP39_WORD_COUNTS, Secret, SecretKind
from vault.core.slip39.recovery import Entry, ShareSet, recover
from vault.core.slip39.share import Share, check_passphrase, parse_share
from vault.core.verification import check_secret, check_share
from vault.core.wordlists import SLIP39_WORDS
from vault.edges import entry, sources
from vault.errors import CheckFailed, InvalidInput, ShareError

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)

PROPERTIES = settings(
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""No database and no deadline (PBKDF2 at exponent 3 and 256-share schemes are slow by design).
Budgets per test below keep the whole file at about 25 s on two cores."""

Pick = tuple[int, int]
"""(group index, member index), 0-based as SLIP-39 counts."""


# =========================================================================== strategies


def member_counts() -> st.SearchStrategy[int]:
    """1..16, small groups more often: big ones are slow and rarely find more."""
    return st.one_of(st.integers(1, 5), st.integers(1, MAX_MEMBER_COUNT))


def group_counts() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(1, 4), st.integers(1, MAX_GROUP_COUNT))


@st.composite
def valid_groups(draw: st.DrawFn) -> tuple[int, int]:
    """T-of-N with every threshold SLIP-39 allows: 1-of-1, or 2..N of N."""
    count = draw(member_counts())
    threshold = 1 if count == 1 else draw(st.integers(2, count))
    return threshold, count


@st.composite
def schemes(draw: st.DrawFn) -> tuple[int, tuple[tuple[int, int], ...]]:
    """(group threshold, groups): 1..16 groups, any group threshold from 1 to their number."""
    count = draw(group_counts())
    groups = tuple(draw(st.lists(valid_groups(), min_size=count, max_size=count)))
    return draw(st.integers(1, count)), groups


BIP39_ENTROPY_BYTES = {words * 32 // 3 // 8 for words in BIP39_WORD_COUNTS}
"""BIP-39: a mnemonic of W words holds W*32/3 bits of entropy."""


@st.composite
def secrets_to_split(draw: st.DrawFn) -> Secret:
    """16..32 bytes, even; BIP-39 entropy too where the length is a BIP-39 one."""
    length = 2 * draw(st.integers(8, 16))
    value = draw(st.binary(min_size=length, max_size=length))
    kinds = [SecretKind.MASTER_SECRET] + ([SecretKind.BIP39_ENTROPY] if length in BIP39_ENTROPY_BYTES else [])
    return Secret(draw(st.sampled_from(kinds)), value)


def passphrases() -> st.SearchStrategy[bytes]:
    """SLIP-39 passphrases: printable ASCII, empty included, accepted by coldvault's own check."""
    return st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20).map(check_passphrase)


@dataclass(frozen=True)
class Case:
    """One split: scheme, secret, passphrase, options, and the seed of all its randomness."""

    group_threshold: int
    groups: tuple[tuple[int, int], ...]
    secret: Secret
    passphrase: bytes
    iteration_exponent: int
    extendable: bool
    seed: int


@st.composite
def cases(draw: st.DrawFn) -> Case:
    group_threshold, groups = draw(schemes())
    return Case(
        group_threshold,
        groups,
        draw(secrets_to_split()),
        draw(passphrases()),
        draw(st.integers(0, 3)),
        draw(st.booleans()),
        draw(st.integers(0, 2**32 - 1)),
    )


@st.composite
def quorums(draw: st.DrawFn, case: Case) -> list[Pick]:
    """A minimal qualifying subset in random order: exactly group-threshold random groups,
    and in each exactly its member threshold of random members."""
    chosen = draw(st.permutations(range(len(case.groups))))[: case.group_threshold]
    picks = [
        (group, member)
        for group in chosen
        for member in draw(st.permutations(range(case.groups[group][1])))[: case.groups[group][0]]
    ]
    return draw(st.permutations(picks))


@st.composite
def cases_with_quorum(draw: st.DrawFn) -> tuple[Case, list[Pick]]:
    case = draw(cases())
    return case, draw(quorums(case))


LARGEST = Case(
    group_threshold=MAX_GROUP_COUNT,
    groups=((MAX_MEMBER_COUNT, MAX_MEMBER_COUNT),) * MAX_GROUP_COUNT,
    secret=Secret(SecretKind.MASTER_SECRET, bytes(range(32))),
    passphrase=bytes(range(32, 127)),  # every printable ASCII character
    iteration_exponent=3,
    extendable=False,
    seed=0,
)
LARGEST_QUORUM = [(group, member) for group in reversed(range(MAX_GROUP_COUNT)) for member in reversed(range(MAX_MEMBER_COUNT))]
"""The far corner, always tried: 16 groups of 16-of-16, all 256 shares needed, 256 bits, exponent 3."""


# =========================================================================== helpers


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[Callable[[int], bytes]]:
    """Every random byte of a split drawn from `seed`: coldvault's `random_bytes` (yielded:
    identifier, ceremony id) and the reference's polynomial coefficients, so examples replay."""
    rng = random.Random(seed)
    with mock.patch.object(reference_shamir, "RANDOM_BYTES", rng.randbytes):
        yield rng.randbytes


def make(case: Case, names: Sequence[str] = (), ceremony_name: str = "property test") -> Backup:
    """The backup coldvault makes for `case` (shares, share files, manifest)."""
    scheme = make_scheme(case.group_threshold, list(case.groups), list(names))
    options = SplitOptions(
        iteration_exponent=case.iteration_exponent, extendable=case.extendable, ceremony_name=ceremony_name
    )
    with seeded(case.seed) as random_bytes:
        return make_backup(case.secret, scheme, case.passphrase, options, NOW, random_bytes)


def share_texts(backup: Backup) -> dict[Pick, str]:
    """Each share file's text (comments and all), by (group, member): what a custodian brings."""
    texts = {file.path: file.content for file in backup.files}
    return {
        (share.group_index, share.member_index): texts[f"{SHARES_DIR}/{sharefile.share_filename(share)}"]
        for share in backup.shares
    }


def collect(texts: Sequence[str], manifest: Manifest | None = None) -> ShareSet:
    """A share set built one file at a time, as `coldvault recover` does (with the manifest's thresholds)."""
    thresholds = tuple(group.member_threshold for group in manifest.scheme.groups) if manifest else ()
    share_set = ShareSet(member_thresholds=thresholds)
    for number, text in enumerate(texts, start=1):
        share_set = share_set.add(Entry(f"share {number}", sharefile.parse(text)))
    return share_set


def prove(texts: Sequence[str], manifest: Manifest, passphrase: bytes | None) -> pf.Proof:
    """`coldvault verify`'s proof over these share files."""
    given_ = [pf.Given(f"share {number}", sharefile.parse(text)) for number, text in enumerate(texts, start=1)]
    return pf.prove(given_, manifest, passphrase)


def everything_said(error: InvalidInput | CheckFailed) -> str:
    return " ".join([error.message, *error.hints])


def minimal_qualifying_subsets(present: dict[int, int], case: Case) -> int:
    """By enumeration: ways to pick group-threshold groups and, in each, exactly its threshold of
    the members present."""
    return sum(
        math.prod(math.comb(present.get(group, 0), case.groups[group][0]) for group in chosen)
        for chosen in itertools.combinations(range(len(case.groups)), case.group_threshold)
    )


# =========================================================================== 1. split, recover, verify


@settings(PROPERTIES, max_examples=60)
@given(case_and_quorum=cases_with_quorum())
@example(case_and_quorum=(LARGEST, LARGEST_QUORUM))
def test_any_quorum_in_any_order_recovers_the_secret_and_verify_proves_it(case_and_quorum):
    """Exactly group-threshold groups, each with exactly its threshold of members, handed over in
    any order: recovery gives the secret byte for byte, its fingerprint matches the manifest, and
    verify proves that very subset."""
    case, quorum = case_and_quorum
    backup = make(case)
    texts = share_texts(backup)
    chosen = [texts[pick] for pick in quorum]

    share_set = collect(chosen, backup.manifest)
    recovered = recover(share_set, case.passphrase)
    assert recovered == case.secret.value
    assert share_set.unused() == []  # a minimal quorum: every share was needed
    check_secret(Secret(case.secret.kind, recovered), backup.manifest, passphrase_given=bool(case.passphrase))

    proof = prove(chosen, backup.manifest, case.passphrase)
    assert proof.ok
    assert proof.secret_status == pf.SecretStatus.MATCHES
    assert proof.qualifying_subsets == 1  # a minimal quorum holds one minimal quorum: itself
    assert {share.status for share in proof.shares} == {pf.ShareStatus.OK}


@settings(PROPERTIES, max_examples=30)
@given(case=cases(), data=st.data())
def test_shares_recover_exactly_when_they_hold_a_quorum_and_verify_counts_every_subset(case, data):
    """Any set of a vault's shares, surplus and partial groups included: a quorum recovers the
    secret and verify proves every minimal qualifying subset in it; no quorum recovers nothing."""
    backup = make(case)
    texts = share_texts(backup)
    present = {
        group: data.draw(st.integers(0, count), label=f"shares of group {group + 1}")
        for group, (_, count) in enumerate(case.groups)
    }
    picks = [(group, member) for group, count in present.items() for member in range(count)]
    chosen = [texts[pick] for pick in data.draw(st.permutations(picks), label="order")]
    complete = sum(count >= case.groups[group][0] for group, count in present.items())
    has_quorum = complete >= case.group_threshold

    proof = prove(chosen, backup.manifest, case.passphrase)
    assert proof.ok  # untouched shares: nothing to report either way
    assert proof.qualifying_subsets == minimal_qualifying_subsets(present, case)
    if has_quorum:
        assert recover(collect(chosen), case.passphrase) == case.secret.value
        assert proof.secret_status == pf.SecretStatus.MATCHES
    else:
        with pytest.raises(InvalidInput, match="too few shares|no shares given"):
            recover(collect(chosen), case.passphrase)
        assert proof.secret_status == pf.SecretStatus.UNVERIFIED


@settings(PROPERTIES, max_examples=25)
@given(case_and_quorum=cases_with_quorum(), data=st.data())
def test_a_share_given_twice_in_any_capitals_is_noted_and_changes_nothing(case_and_quorum, data):
    """A custodian's file handed over twice (or retyped in capitals) at a drill or a recovery:
    `recover` notes it and goes on, `verify` marks it a duplicate and proves the same."""
    case, quorum = case_and_quorum
    backup = make(case)
    texts = share_texts(backup)
    twice = data.draw(st.lists(st.sampled_from(quorum), min_size=1, unique=True), label="given twice")
    given_texts = [texts[pick] for pick in quorum] + [texts[pick].upper() for pick in twice]
    order = data.draw(st.permutations(range(len(given_texts))), label="order")
    given_texts = [given_texts[i] for i in order]

    with tempfile.TemporaryDirectory() as directory:
        paths = [Path(directory, f"given-{number}.txt") for number in range(len(given_texts))]
        for path, text in zip(paths, given_texts):
            path.write_text(text)
        notes: list[str] = []
        share_set = sources.collect_shares(paths, notes.append, ())
    assert len(share_set.entries) == len(quorum)
    assert len(notes) == len(twice) and all("the same share as" in note for note in notes)
    assert recover(share_set, case.passphrase) == case.secret.value

    proof = prove(given_texts, backup.manifest, case.passphrase)
    assert proof.ok and proof.secret_status == pf.SecretStatus.MATCHES
    assert proof.qualifying_subsets == 1
    assert sum(share.status == pf.ShareStatus.DUPLICATE for share in proof.shares) == len(twice)


# =========================================================================== 2. interop with the reference


@PROPERTIES
@given(case_and_quorum=cases_with_quorum())
@example(case_and_quorum=(LARGEST, LARGEST_QUORUM))
def test_the_reference_library_recovers_coldvault_shares(case_and_quorum):
    """Shares are standard SLIP-39: Trezor's library recovers the secret from coldvault's quorum."""
    case, quorum = case_and_quorum
    backup = make(case)
    by_pick = {(share.group_index, share.member_index): share.mnemonic for share in backup.shares}
    mnemonics = [by_pick[pick] for pick in quorum]
    assert shamir_mnemonic.combine_mnemonics(mnemonics, case.passphrase) == case.secret.value


@PROPERTIES
@given(case_and_quorum=cases_with_quorum())
@example(case_and_quorum=(LARGEST, LARGEST_QUORUM))
def test_coldvault_recovers_shares_made_by_the_reference_library(case_and_quorum):
    """A vault split by another SLIP-39 tool can be recovered with coldvault."""
    case, quorum = case_and_quorum
    with seeded(case.seed):
        groups = shamir_mnemonic.generate_mnemonics(
            case.group_threshold, list(case.groups), case.secret.value, case.passphrase,
            case.extendable, case.iteration_exponent,
        )
    chosen = [groups[group][member] for group, member in quorum]
    for mnemonic, (group, member) in zip(chosen, quorum):
        share = parse_share(mnemonic)
        assert (share.group_index, share.member_index) == (group, member)
        assert (share.extendable, share.iteration_exponent) == (case.extendable, case.iteration_exponent)
    assert recover(collect(chosen), case.passphrase) == case.secret.value


# =========================================================================== 3. fewer than a quorum


@settings(PROPERTIES, max_examples=60)
@given(case_and_quorum=cases_with_quorum(), data=st.data())
def test_one_share_short_of_a_quorum_never_recovers_and_says_what_is_missing(case_and_quorum, data):
    """A quorum minus one share, plus any shares of other groups that stay below their thresholds."""
    case, quorum = case_and_quorum
    backup = make(case)
    texts = share_texts(backup)
    dropped = data.draw(st.integers(0, len(quorum) - 1), label="dropped share")
    picks = quorum[:dropped] + quorum[dropped + 1:]
    for group, (threshold, count) in enumerate(case.groups):
        if all(pick[0] != group for pick in quorum):
            extra = data.draw(st.integers(0, threshold - 1), label=f"extra shares of group {group + 1}")
            picks += [(group, member) for member in range(count - extra, count)]
    picks = data.draw(st.permutations(picks), label="order")
    chosen = [texts[pick] for pick in picks]
    present = {group: sum(pick[0] == group for pick in picks) for group in range(len(case.groups))}

    share_set = collect(chosen, backup.manifest)
    with pytest.raises(InvalidInput) as raised:
        recover(share_set, case.passphrase)
    error = raised.value
    assert error.exit_code == 3
    if not picks:
        assert "no shares" in error.message
    else:
        assert f"{case.group_threshold - 1} of {case.group_threshold} needed groups complete" in error.message
        for group, (threshold, _) in enumerate(case.groups):
            line = next(hint for hint in error.hints if hint.startswith(f"group {group + 1} of {len(case.groups)}:"))
            if present[group] == 0:
                assert f"no shares yet ({threshold} needed)" in line
            elif present[group] < threshold:
                assert f"{threshold - present[group]} more needed" in line
            else:
                assert line.endswith("complete")
    with pytest.raises(shamir_mnemonic.MnemonicError):  # the reference refuses too
        shamir_mnemonic.combine_mnemonics([sharefile.parse(text).mnemonic for text in chosen], case.passphrase)

    proof = prove(chosen, backup.manifest, case.passphrase)
    assert proof.secret_status == pf.SecretStatus.UNVERIFIED
    assert proof.qualifying_subsets == 0
    assert proof.ok  # nothing is wrong with the shares given; verify claims nothing more


# =========================================================================== 4. wrong passphrase


@PROPERTIES
@given(case_and_quorum=cases_with_quorum(), wrong=passphrases())
def test_a_wrong_passphrase_never_passes_the_fingerprint_check(case_and_quorum, wrong):
    """SLIP-39 decrypts with any passphrase and quietly gives another secret: coldvault's
    fingerprint check must catch every wrong one, say it is probably the passphrase, and
    show neither secret."""
    case, quorum = case_and_quorum
    assume(wrong != case.passphrase)
    backup = make(case)
    texts = share_texts(backup)
    chosen = [texts[pick] for pick in quorum]

    recovered = recover(collect(chosen), wrong)  # SLIP-39 itself cannot tell
    assert recovered != case.secret.value
    with pytest.raises(CheckFailed) as raised:
        check_secret(Secret(case.secret.kind, recovered), backup.manifest, passphrase_given=bool(wrong))
    said = everything_said(raised.value)
    assert raised.value.exit_code == 1
    assert "passphrase" in " ".join(raised.value.hints)
    assert case.secret.value.hex() not in said and recovered.hex() not in said

    proof = prove(chosen, backup.manifest, wrong)
    assert not proof.ok
    assert proof.secret_status == pf.SecretStatus.MISMATCH
    assert "passphrase" in proof.secret_detail
    assert proof.qualifying_subsets == 0


# =========================================================================== 5. shares, schemes, passphrases


@settings(PROPERTIES, max_examples=30)
@given(case=cases())
def test_every_share_says_the_same_about_itself_after_parsing_messy_text(case):
    """White space, line breaks and capitals change nothing; the header matches the scheme,
    the reference's parser and the manifest."""
    backup = make(case)
    texts = share_texts(backup)
    rng = random.Random(case.seed)
    manifest = backup.manifest
    for share in backup.shares:
        group, member = share.group_index, share.member_index
        messy = "".join(rng.choice((" ", "  ", "\n", "\t ", " \r\n ")) + rng.choice((str.lower, str.upper, str.title))(word)
                        for word in share.words) + rng.choice(("", "\n", "  \n"))
        parsed = parse_share(messy)
        assert parsed == share and parsed.fingerprint == share.fingerprint
        assert sharefile.parse(texts[(group, member)]) == share

        reference = shamir_mnemonic.Share.from_mnemonic(share.mnemonic)
        assert (parsed.identifier, parsed.extendable, parsed.iteration_exponent) == (
            reference.identifier, reference.extendable, reference.iteration_exponent)
        assert (parsed.group_index, parsed.group_threshold, parsed.group_count, parsed.member_index,
                parsed.member_threshold) == (
            reference.group_index, reference.group_threshold, reference.group_count, reference.index,
            reference.member_threshold)
        assert parsed.value == reference.value
        assert (parsed.group_threshold, parsed.group_count, parsed.member_threshold) == (
            case.group_threshold, len(case.groups), case.groups[group][0])
        assert (parsed.extendable, parsed.iteration_exponent) == (case.extendable, case.iteration_exponent)
        assert parsed.identifier == manifest.scheme.identifier

        entry = check_share(parsed, manifest)
        assert entry is not None and (entry.group_index, entry.member_index) == (group, member)
    assert sorted((s.group_index, s.member_index) for s in backup.shares) == sorted(
        (group, member) for group, (_, count) in enumerate(case.groups) for member in range(count))


@settings(PROPERTIES, max_examples=30)
@given(case=cases(), data=st.data())
def test_one_wrong_word_in_any_share_is_located_and_corrected(case, data):
    """RS1024 corrects one wrong word: coldvault names its position and the right word."""
    backup = make(case)
    share = data.draw(st.sampled_from(backup.shares), label="share")
    position = data.draw(st.integers(0, len(share.words) - 1), label="position")
    delta = data.draw(st.integers(1, len(SLIP39_WORDS) - 1), label="xor")
    words = list(share.words)
    original = words[position]
    words[position] = SLIP39_WORDS[SLIP39_WORDS.index(original) ^ delta]
    with pytest.raises(ShareError) as raised:
        parse_share(" ".join(words))
    assert f'word {position + 1} is probably wrong; did you mean "{original}"?' in raised.value.message


@settings(PROPERTIES, max_examples=300)
@given(data=st.lists(st.integers(0, len(SLIP39_WORDS) - 1), min_size=17, max_size=60))
def test_any_words_with_a_valid_checksum_are_read_as_slip39_reads_them_or_refused(data):
    """Whatever words a person types, if RS1024 accepts them coldvault either reads the share
    exactly as the reference does or refuses it with a share error (exit 3): never a crash."""
    extendable = bool(data[1] & (1 << 4))  # the extendable flag: bit 4 of the second word
    customization = CUSTOMIZATION_STRING_EXTENDABLE if extendable else CUSTOMIZATION_STRING_ORIG
    words = [SLIP39_WORDS[index] for index in data + rs1024.create_checksum(data, customization)]
    try:
        reference = shamir_mnemonic.Share.from_mnemonic(" ".join(words))
    except shamir_mnemonic.MnemonicError:
        with pytest.raises(ShareError):
            parse_share(" ".join(words))
    else:
        assert parse_share(" ".join(words)) == Share.from_reference(reference, tuple(words))


@settings(PROPERTIES, max_examples=200)
@given(
    group_threshold=st.integers(-1, MAX_GROUP_COUNT + 1),
    groups=st.lists(st.tuples(st.integers(-1, MAX_MEMBER_COUNT + 1), st.integers(-1, MAX_MEMBER_COUNT + 1)),
                    max_size=MAX_GROUP_COUNT + 1),
)
def test_a_scheme_is_refused_exactly_when_the_reference_would_refuse_it(group_threshold, groups):
    """coldvault validates a scheme before any secret exists; it must refuse what SLIP-39 refuses
    (exit 3), and nothing else."""
    encrypted = shamir_mnemonic.EncryptedMasterSecret(0, True, 0, bytes(16))
    try:
        reference_shamir.split_ems(group_threshold, groups, encrypted)
    except ValueError:
        reference_refuses = True
    else:
        reference_refuses = False
    try:
        scheme = make_scheme(group_threshold, groups)
    except InvalidInput as error:
        assert reference_refuses, error.message
        assert error.exit_code == 3
    else:
        assert not reference_refuses
        assert [(g.member_threshold, g.member_count) for g in scheme.groups] == groups


@settings(PROPERTIES, max_examples=100)
@given(scheme=schemes(), data=st.data())
def test_a_one_of_n_group_is_refused_naming_the_group(scheme, data):
    """SLIP-39 forbids 1-of-N with N > 1 (use 1-of-1): the error names the group and the fix."""
    group_threshold, groups = scheme
    where = data.draw(st.integers(0, len(groups) - 1), label="group")
    count = data.draw(st.integers(2, MAX_MEMBER_COUNT), label="members")
    bad = list(groups)
    bad[where] = (1, count)
    with pytest.raises(InvalidInput) as raised:
        make_scheme(group_threshold, bad)
    assert raised.value.exit_code == 3
    assert raised.value.message.startswith(f"group {where + 1} (1of{count}):")
    assert "threshold 1" in raised.value.message
    assert "1of1" in " ".join(raised.value.hints)
    with pytest.raises(ValueError):  # the reference agrees
        shamir_mnemonic.generate_mnemonics(group_threshold, bad, bytes(16), iteration_exponent=0)
    assert make_scheme(group_threshold, list(groups)).share_count == sum(count for _, count in groups)


@settings(PROPERTIES, max_examples=200)
@given(passphrase=st.text(max_size=30))
def test_passphrases_are_printable_ascii_and_a_refusal_names_the_first_bad_character(passphrase):
    """Refused before any share exists, so no vault ever depends on a passphrase another tool
    would reject or encode differently."""
    bad = [position for position, char in enumerate(passphrase, start=1) if not 32 <= ord(char) <= 126]
    if not bad:
        assert check_passphrase(passphrase) == passphrase.encode("ascii")
        return
    with pytest.raises(InvalidInput) as raised:
        check_passphrase(passphrase)
    assert raised.value.message.startswith(f"character {bad[0]} of the passphrase ")
    assert passphrase not in everything_said(raised.value)


@settings(PROPERTIES, max_examples=60)
@given(
    secret=secrets_to_split(),
    seed=st.integers(0, 2**32 - 1),
    custodian=st.text(max_size=40),
    group_name=st.text(max_size=40),
    ceremony_name=st.text(max_size=40),
)
def test_names_in_a_share_file_never_change_its_share(secret, seed, custodian, group_name, ceremony_name):
    """Custodian, group and ceremony names go into comment lines: whatever they contain (line
    breaks, '#', share words), the file still holds exactly one share, the same one."""
    share = make(Case(1, ((1, 1),), secret, b"", 0, True, seed)).shares[0]
    text = sharefile.render(share, ceremony_name=ceremony_name, ceremony_id="id", group_name=group_name,
                            member_count=1, custodian=custodian)
    assert sharefile.parse(text) == share
    assert sharefile.strip_comments(text).split() == list(share.words)


@settings(PROPERTIES, max_examples=30)
@given(case_and_quorum=cases_with_quorum())
def test_typed_shares_recover_from_four_letter_prefixes_in_any_case_and_spacing(case_and_quorum):
    """`recover --interactive`: any prefix of four letters or more, any capitals, any number of
    words per line; entry stops asking as soon as the shares typed make a quorum."""
    case, quorum = case_and_quorum
    backup = make(case)
    shares = {(share.group_index, share.member_index): share for share in backup.shares}
    rng = random.Random(case.seed)
    lines = []
    for pick in quorum:
        typed = [rng.choice((str.lower, str.upper, str.title))(word[: rng.randint(4, len(word))])
                 for word in shares[pick].words]
        while typed:
            count = rng.randint(1, 8)
            lines.append(rng.choice(("", " ", "\t")) + rng.choice((" ", "  ", "\t")).join(typed[:count]))
            typed = typed[count:]
    unread = "never read: the quorum is already complete"
    feed = iter(lines + [unread])
    said: list[str] = []

    share_set = entry.enter_shares(
        ShareSet(), lambda prompt: next(feed, None), said.append, lambda share: check_share(share, backup.manifest)
    )
    assert list(feed) == [unread]
    assert [(e.share.group_index, e.share.member_index) for e in share_set.entries] == quorum
    assert not any("not accepted" in line for line in said)
    assert recover(share_set, case.passphrase) == case.secret.value


@settings(PROPERTIES, max_examples=30)
@given(case=cases(), names=st.lists(st.text(max_size=20), max_size=MAX_GROUP_COUNT), ceremony_name=st.text(max_size=40))
def test_the_manifest_reads_back_exactly_as_written_and_holds_no_secret(case, names, ceremony_name):
    """`verify`, `recover --manifest` and drills read the manifest `split` wrote: whatever the
    group and ceremony names, it must read back field for field."""
    backup = make(case, names[: len(case.groups)], ceremony_name)
    text = mf.to_json(backup.manifest)
    assert mf.from_json(text) == backup.manifest
    assert case.secret.value.hex() not in text.lower()
