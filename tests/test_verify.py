"""`verify`: the algebraic proof agrees with brute force, and says precisely what is proven.

The oracle is the reference library: every minimal qualifying subset of the shares
given is combined with `shamir_mnemonic.combine_mnemonics`. Whatever `verify` calls
PROVEN, every one of those subsets must recover the manifest's secret, and `verify`
must count them exactly, without trying any; untouched shares with a quorum must
always be proven; an altered or foreign share must always be reported.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import secrets
from datetime import datetime, timezone

import pytest
import shamir_mnemonic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault.core import proof as pf
from vault.core.backup import SplitOptions, make_backup
from vault.core.proof import Given
from vault.core.scheme import make_scheme
from vault.core.secret import Secret, SecretKind
from vault.core.slip39.share import parse_share

SECRET = Secret(SecretKind.MASTER_SECRET, bytes.fromhex("bb54aac4b89dc868ba37d9cc21b2cece"))
NOW = datetime(2026, 11, 21, tzinfo=timezone.utc)


def backup(groups, group_threshold, passphrase=b"", secret=SECRET, identifier=None):
    """A split at iteration exponent 0; `identifier` fixes the SLIP-39 identifier (for a distinct set)."""
    random_bytes = secrets.token_bytes
    if identifier is not None:
        chunks = [identifier.to_bytes(2, "big")]
        random_bytes = lambda n: chunks.pop(0) if chunks else secrets.token_bytes(n)  # noqa: E731
    options = SplitOptions(iteration_exponent=0)
    return make_backup(secret, make_scheme(group_threshold, groups), passphrase, options, NOW, random_bytes)


def altered(mnemonic: str, byte: int = 0) -> str:
    """The same share with one value byte changed, re-encoded with a valid checksum."""
    share = shamir_mnemonic.Share.from_mnemonic(mnemonic)
    value = bytearray(share.value)
    value[byte % len(value)] ^= 0x5A
    return dataclasses.replace(share, value=bytes(value)).mnemonic()


def given_of(mnemonics: list[str]) -> list[Given]:
    return [Given(f"share-{i}", parse_share(m)) for i, m in enumerate(mnemonics)]


def oracle(mnemonics: list[str], manifest, passphrase: bytes) -> tuple[int, int]:
    """(minimal qualifying subsets, how many of them recover the manifest's secret) by brute force."""
    by_group: dict[int, list[str]] = {}
    for m in mnemonics:
        by_group.setdefault(shamir_mnemonic.Share.from_mnemonic(m).group_index, []).append(m)
    thresholds = {g.index: g.member_threshold for g in manifest.scheme.groups}
    total = good = 0
    for groups in itertools.combinations(sorted(by_group), manifest.scheme.group_threshold):
        choices = [itertools.combinations(by_group[g], thresholds[g]) for g in groups]
        for picked in itertools.product(*choices):
            total += 1
            try:
                secret = shamir_mnemonic.combine_mnemonics([m for group in picked for m in group], passphrase)
            except shamir_mnemonic.MnemonicError:
                continue
            good += secret == SECRET.value
    return total, good


# Small schemes: up to 3 groups of up to 4 members, every legal threshold.
group_specs = st.integers(1, 4).flatmap(lambda n: st.tuples(st.integers(2, n) if n > 1 else st.just(1), st.just(n)))
schemes = st.lists(group_specs, min_size=1, max_size=3).flatmap(
    lambda groups: st.tuples(st.just(groups), st.integers(1, len(groups)))
)
faults = st.sampled_from(["none", "altered", "foreign", "wrong-passphrase"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scheme=schemes, fault=faults, data=st.data())
def test_verify_agrees_with_combining_every_subset(scheme, fault, data):
    groups, group_threshold = scheme
    made = backup(groups, group_threshold, passphrase=b"TREZOR")
    words = [share.mnemonic for share in made.shares]
    present = data.draw(st.lists(st.sampled_from(words), min_size=1, unique=True), label="present")
    passphrase = b"TREZOR"
    if fault == "altered":
        index = data.draw(st.integers(0, len(present) - 1), label="altered share")
        present[index] = altered(present[index], data.draw(st.integers(0, 15), label="byte"))
    elif fault == "foreign":
        other_secret = Secret(SecretKind.MASTER_SECRET, bytes(16))
        stranger = backup(groups, group_threshold, b"TREZOR", other_secret, identifier=made.manifest.scheme.identifier ^ 1)
        index = data.draw(st.integers(0, len(present) - 1), label="replaced share")
        present[index] = stranger.shares[words.index(present[index])].mnemonic
    elif fault == "wrong-passphrase":
        passphrase = b"TREZOR!"

    result = pf.prove(given_of(present), made.manifest, passphrase)
    total, good = oracle(present, made.manifest, passphrase)

    proven = result.ok and result.secret_status == pf.SecretStatus.MATCHES
    if proven:  # sound: whatever verify proves, brute force confirms, subset for subset
        assert total > 0 and good == total
        assert result.qualifying_subsets == total
    if fault == "none":  # complete: untouched shares with a quorum are always proven
        assert proven == (total > 0)
    if fault in ("altered", "foreign"):  # the changed share is reported by itself, quorum or not
        assert not result.ok
    if fault == "wrong-passphrase":
        assert result.ok == (total == 0)
        assert good == 0


def test_non_qualifying_subsets_never_recover():
    """SLIP-39's own promise, checked on the reference: fewer than a threshold gives nothing."""
    made = backup([(2, 3), (3, 5)], 2)
    words = [s.mnemonic for s in made.shares]
    board, officers = words[:3], words[3:]
    for short in ([board[0], officers[0], officers[1], officers[2]], [board[0], board[1], officers[0], officers[1]]):
        with pytest.raises(shamir_mnemonic.MnemonicError):
            shamir_mnemonic.combine_mnemonics(short)


def test_all_shares_of_a_two_level_scheme_are_proven_with_the_subset_count():
    made = backup([(2, 3), (3, 5), (1, 1)], 2)
    result = pf.prove(given_of([s.mnemonic for s in made.shares]), made.manifest, None)
    assert result.ok and result.secret_status == pf.SecretStatus.MATCHES
    assert [g.qualifying_subsets for g in result.groups] == [3, 10, 1]
    assert result.qualifying_subsets == 3 * 10 + 3 * 1 + 10 * 1


def test_a_single_share_is_checked_alone_and_nothing_more_is_claimed():
    made = backup([(2, 3), (3, 5)], 2)
    result = pf.prove(given_of([made.shares[4].mnemonic]), made.manifest, None)
    assert result.ok
    assert [s.status for s in result.shares] == [pf.ShareStatus.OK]
    assert [g.status for g in result.groups] == [pf.GroupStatus.UNVERIFIED, pf.GroupStatus.UNVERIFIED]
    assert result.secret_status == pf.SecretStatus.UNVERIFIED
    assert result.qualifying_subsets == 0


def test_an_altered_share_is_named_when_threshold_plus_two_are_present():
    made = backup([(3, 5)], 1)
    words = [s.mnemonic for s in made.shares]
    words[3] = altered(words[3])
    result = pf.prove(given_of(words), made.manifest, None)
    assert not result.ok
    by_source = {s.source: s.status for s in result.shares}
    assert by_source["share-3"] == pf.ShareStatus.OFF_POLYNOMIAL
    assert result.groups[0].status == pf.GroupStatus.INCONSISTENT
    assert "share-3 does not lie on the group's polynomial" in result.groups[0].detail


def test_with_threshold_plus_one_the_group_is_named_but_not_the_share():
    made = backup([(3, 5)], 1)
    words = [s.mnemonic for s in made.shares][:4]
    words[1] = altered(words[1])
    result = pf.prove(given_of(words), made.manifest, None)
    assert result.groups[0].status == pf.GroupStatus.INCONSISTENT
    assert "at least 2 more than the threshold" in result.groups[0].detail
    assert pf.ShareStatus.OFF_POLYNOMIAL not in {s.status for s in result.shares}


def test_an_altered_share_at_exactly_the_threshold_fails_the_digest():
    made = backup([(3, 5)], 1)
    words = [s.mnemonic for s in made.shares][:3]
    words[2] = altered(words[2])
    result = pf.prove(given_of(words), made.manifest, None)
    assert result.groups[0].status == pf.GroupStatus.INCONSISTENT
    assert "digest" in result.groups[0].detail
    assert not result.ok


def test_an_altered_share_is_also_not_listed_in_the_manifest():
    made = backup([(2, 3)], 1)
    words = [s.mnemonic for s in made.shares]
    result = pf.prove(given_of([altered(words[0])]), made.manifest, None)
    assert [s.status for s in result.shares] == [pf.ShareStatus.UNLISTED]
    assert not result.ok


def test_a_share_of_another_vault_is_foreign():
    made = backup([(2, 3)], 1)
    other = backup([(2, 3)], 1, identifier=made.manifest.scheme.identifier ^ 1)
    result = pf.prove(given_of([made.shares[0].mnemonic, other.shares[1].mnemonic]), made.manifest, None)
    assert [s.status for s in result.shares] == [pf.ShareStatus.OK, pf.ShareStatus.FOREIGN]
    assert not result.ok


def test_a_wrong_passphrase_is_a_mismatch_and_a_missing_one_is_named():
    made = backup([(2, 3)], 1, passphrase=b"right")
    words = [s.mnemonic for s in made.shares]
    wrong = pf.prove(given_of(words), made.manifest, b"wrong")
    assert wrong.secret_status == pf.SecretStatus.MISMATCH and not wrong.ok
    assert "passphrase" in wrong.secret_detail
    missing = pf.prove(given_of(words), made.manifest, None)
    assert missing.secret_status == pf.SecretStatus.NO_PASSPHRASE and not missing.ok
    right = pf.prove(given_of(words), made.manifest, b"right")
    assert right.secret_status == pf.SecretStatus.MATCHES and right.ok


def test_two_shares_claiming_one_member_index_are_inconsistent():
    made = backup([(2, 3)], 1)
    words = [s.mnemonic for s in made.shares]
    result = pf.prove(given_of([words[0], altered(words[0]), words[1]]), made.manifest, None)
    assert result.groups[0].status == pf.GroupStatus.INCONSISTENT
    assert "both say they are share 1" in result.groups[0].detail


def test_sixteen_groups_of_sixteen_are_proven_in_one_pass():
    groups = [(t, 16) for t in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 8)]
    made = backup(groups, 8)
    result = pf.prove(given_of([s.mnemonic for s in made.shares]), made.manifest, None)
    assert result.ok and result.secret_status == pf.SecretStatus.MATCHES
    counts = [math.comb(16, t) for t, _ in groups]
    assert [g.qualifying_subsets for g in result.groups] == counts
    expected = sum(math.prod(c) for c in itertools.combinations(counts, 8))
    assert result.qualifying_subsets == expected


def test_cli_verify_passes_fails_and_reports(cli, tmp_path):
    (tmp_path / "pass.txt").write_text("TREZOR\n")
    (tmp_path / "wrong.txt").write_text("TREZOR?\n")
    split = cli("split", "--generate", "128", "--scheme", "3of5", "--passphrase-file", "pass.txt",
                "--iteration-exponent", "0", "--out", "v", "--json")
    assert split.returncode == 0, split.stderr
    shares = [f"v/shares/group1-share{i}.txt" for i in range(1, 6)]

    ok = cli("verify", "--manifest", "v/manifest.json", *shares, "--passphrase-file", "pass.txt", "--json")
    assert ok.returncode == 0, ok.stderr
    report = ok.json()
    assert report["ok"] and report["secret_status"] == "matches"
    assert report["qualifying_subsets"] == 10
    assert report["summary"].startswith("PROVEN")

    wrong = cli("verify", "--manifest", "v/manifest.json", *shares, "--passphrase-file", "wrong.txt")
    assert wrong.returncode == 1
    anchor, error = wrong.stderr.split("\n", 1)
    assert anchor.startswith("anchor: v/manifest.json is the one recorded at v/transcript.jsonl"), wrong.stderr
    assert error.startswith("error: verification failed")
    assert "passphrase" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    alone = cli("verify", "--manifest", "v/manifest.json", shares[2])
    assert alone.returncode == 0, alone.stderr
    assert "not proven without a quorum" in alone.stdout

    text = (tmp_path / shares[1]).read_text().splitlines()
    (tmp_path / "altered.txt").write_text(altered(text[-1]) + "\n")
    bad = cli("verify", "--manifest", "v/manifest.json", shares[0], "altered.txt", shares[2], shares[3], shares[4],
              "--passphrase-file", "pass.txt", "--json")
    assert bad.returncode == 1
    statuses = {s["source"]: s["status"] for s in bad.json()["shares"]}
    assert statuses["altered.txt"] in ("off-polynomial", "unlisted")
    assert "altered.txt" in bad.stderr

    words = text[-1].split()
    (tmp_path / "typo.txt").write_text(" ".join(words[:4] + ["zzzz"] + words[5:]) + "\n")  # word 5, even if it repeats
    typo = cli("verify", "--manifest", "v/manifest.json", "typo.txt")
    assert typo.returncode == 1
    assert "word 5" in typo.stdout

    missing = cli("verify", "--manifest", "v/manifest.json", "nope.txt")
    assert missing.returncode == 3
    assert missing.stderr.startswith("error: nope.txt: no such file")
