"""`coldvault extend` on paper vaults made by `split`: new members of a group, no seed needed.

The SoftHSM2 side (envelopes in, sealed shares out, a signed transcript carried over)
is in tests/test_custody_tokens.py.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import shamir_mnemonic
from conftest import Run, run_cli

from vault.core.formats import sharefile

SECRET_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PASSPHRASE = "correct horse"


def split(work: Path, *groups: str, group_threshold: int = 2, passphrase: bool = True) -> Path:
    """A split vault in work/v: shares/groupG-shareM.txt, manifest.json."""
    (work / "secret.hex").write_text(SECRET_HEX + "\n")
    args = ["split", "--secret-file", "secret.hex", "--group-threshold", str(group_threshold), "--out", "v", "--iteration-exponent", "0"]
    for group in groups:
        args += ["--group", group]
    if passphrase:
        (work / "pass.txt").write_text(PASSPHRASE + "\n")
        args += ["--passphrase-file", "pass.txt"]
    result = run_cli(work, *args)
    assert result.returncode == 0, result.stderr
    return work / "v"


def share(vault: Path, group: int, member: int) -> str:
    return str(vault / "shares" / f"group{group}-share{member}.txt")


def words(path: str | Path) -> str:
    return sharefile.parse(Path(path).read_text()).mnemonic


def extend(work: Path, manifest: Path, group: int, shares: list[str], names: list[str], out: str, *extra: str) -> Run:
    args = ["extend", "--manifest", str(manifest), "--group", str(group), *shares, "--out", out, *extra]
    for name in names:
        args += ["--custodian", name]
    return run_cli(work, *args)


def assert_refused(result: Run, code: int, *says: str) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for text in says:
        assert text in result.stderr, result.stderr


@pytest.fixture(scope="module")
def extended(tmp_path_factory) -> tuple[Path, Path]:
    """A 2-of-{2-of-3, 2-of-3} vault, and its group 1 extended by two custodians from shares 1 and 3."""
    work = tmp_path_factory.mktemp("extend")
    vault = split(work, "2of3", "2of3")
    result = extend(work, vault / "manifest.json", 1, [share(vault, 1, 1), share(vault, 1, 3)], ["Dora", "Eve"], "v2")
    assert result.returncode == 0, result.stderr
    return work, vault


def test_the_new_shares_sit_at_unused_member_indices_and_are_listed_with_their_custodians(extended):
    work, vault = extended
    manifest = json.loads((work / "v2/manifest.json").read_text())
    group = manifest["scheme"]["groups"][0]
    assert (group["member_threshold"], group["member_count"]) == (2, 5)
    new = manifest["shares"][-2:]
    assert [(s["group_index"], s["member_index"], s["custodian"]) for s in new] == [(0, 3, "Dora"), (0, 4, "Eve")]
    for entry in new:
        text = (work / "v2" / entry["file"]).read_text()
        assert sharefile.parse(text).fingerprint == entry["share_fingerprint"]
        assert (work / "v2" / entry["file"]).stat().st_mode & 0o777 == 0o600
        assert entry["issued"] == manifest["revision"]["created"]
    old = json.loads((vault / "manifest.json").read_text())
    assert manifest["shares"][:6] == old["shares"], "existing shares are carried over unchanged"
    assert "issued" not in old["shares"][0] and "revision" not in old, "a first manifest has exactly the spec's fields"


def test_the_revised_manifest_names_its_predecessor_by_hash(extended):
    work, vault = extended
    manifest = json.loads((work / "v2/manifest.json").read_text())
    assert manifest["revision"]["number"] == 2
    assert manifest["revision"]["predecessor_sha256"] == hashlib.sha256((vault / "manifest.json").read_bytes()).hexdigest()
    assert manifest["ceremony"] == json.loads((vault / "manifest.json").read_text())["ceremony"], "the same vault"


def test_extended_shares_recover_with_old_ones_in_every_qualifying_combination(extended):
    work, vault = extended
    group1 = [share(vault, 1, m) for m in (1, 2, 3)] + [str(work / "v2/custodians/dora/share.txt"), str(work / "v2/custodians/eve/share.txt")]
    group2 = [share(vault, 2, m) for m in (1, 2, 3)]
    result = run_cli(work, "verify", "--manifest", "v2/manifest.json", *group1, *group2, "--passphrase-file", "pass.txt")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"PROVEN: every one of the {10 * 3} minimal qualifying subsets" in result.stdout
    # The reference implementation agrees, pair by pair of group 1, with a pair of group 2.
    for pair in itertools.combinations(group1, 2):
        recovered = shamir_mnemonic.combine_mnemonics([words(p) for p in (*pair, *group2[:2])], PASSPHRASE.encode())
        assert recovered.hex() == SECRET_HEX, pair


def test_a_new_share_alone_with_too_few_of_its_group_does_not_recover(extended):
    work, vault = extended
    result = run_cli(work, "recover", "--manifest", "v2/manifest.json", "v2/custodians/dora/share.txt",
                     share(vault, 2, 1), share(vault, 2, 2), "--passphrase-file", "pass.txt")
    assert_refused(result, 3, "group 1")


def test_the_transcript_records_the_extension_and_verifies_against_the_revised_manifest(extended):
    work, _ = extended
    result = run_cli(work, "transcript", "verify", "v2")
    assert result.returncode == 0, result.stderr
    *_, event, seal = (json.loads(line) for line in (work / "v2/transcript.jsonl").read_text().splitlines())
    assert event["event"] == "extend" and seal["event"] == "sealed", "the revision, sealed by its group's key"
    data = event["data"]
    assert seal["data"]["signer"] == "group" and seal["data"]["group_index"] == data["group_index"] and seal["data"]["signed_hash"] == event["hash"]
    assert data["manifest_sha256"] == hashlib.sha256((work / "v2/manifest.json").read_bytes()).hexdigest()
    assert [s["custodian"] for s in data["shares"]] == ["Dora", "Eve"]
    assert [b["member_index"] for b in data["basis"]] == [0, 2]


def test_a_second_extension_chains_to_the_first(extended):
    work, vault = extended
    result = extend(work, work / "v2/manifest.json", 2, [share(vault, 2, 2), share(vault, 2, 3)], ["Finn"], "v3")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((work / "v3/manifest.json").read_text())
    assert manifest["revision"]["number"] == 3
    assert manifest["revision"]["predecessor_sha256"] == hashlib.sha256((work / "v2/manifest.json").read_bytes()).hexdigest()
    assert [s["custodian"] for s in manifest["shares"][-3:]] == ["Dora", "Eve", "Finn"]
    events = [json.loads(line) for line in (work / "v3/transcript.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["ceremony-started", "secret-ready", "shares-made", "ceremony-completed", "sealed",
                                            "extend", "sealed", "extend", "sealed"]
    assert run_cli(work, "transcript", "verify", "v3").returncode == 0


def test_extending_with_one_group_only_never_needs_the_seed(tmp_path):
    """Group threshold 2: one group's shares cannot recover the seed, yet extend works, and no passphrase is asked."""
    vault = split(tmp_path, "2of3", "3of5")
    result = extend(tmp_path, vault / "manifest.json", 2, [share(vault, 2, m) for m in (1, 4, 5)], ["Gus"], "v2")
    assert result.returncode == 0, result.stderr
    gus = tmp_path / "v2/custodians/gus/share.txt"
    assert sharefile.parse(gus.read_text()).member_index == 5
    combo = [words(share(vault, 2, 2)), words(share(vault, 2, 3)), words(gus), words(share(vault, 1, 1)), words(share(vault, 1, 2))]
    assert shamir_mnemonic.combine_mnemonics(combo, PASSPHRASE.encode()).hex() == SECRET_HEX


def test_the_extend_path_never_decrypts_and_computes_only_its_own_groups_secret(tmp_path, monkeypatch):
    """In process: decryption and recovery are made to fail; interpolation is watched. The extended group's own
    secret (x = 255, checked by the digest at x = 254) is computed once, for the group's key; nothing else is."""
    from shamir_mnemonic import EncryptedMasterSecret

    from vault.core.slip39 import polynomial, recovery
    from vault.flows.extend import extend
    from vault.flows.packets import Sealing
    from vault.flows.tokens import TokenOptions

    vault = split(tmp_path, "2of3", "2of3")

    def forbidden(*args, **kwargs):
        raise AssertionError("extend touched the seed")

    monkeypatch.setattr(EncryptedMasterSecret, "decrypt", forbidden)
    monkeypatch.setattr(recovery, "recover", forbidden)
    monkeypatch.setattr(recovery, "recover_encrypted", forbidden)
    evaluated: list[int] = []
    real = polynomial.interpolate
    monkeypatch.setattr(polynomial, "interpolate", lambda points, x: evaluated.append(x) or real(points, x))

    done = extend(
        vault / "manifest.json", 1, [Path(share(vault, 1, 2)), Path(share(vault, 1, 3))], ["Hal"], tmp_path / "v2", Sealing(), TokenOptions(),
    )
    assert evaluated == [255, 254, 3], "the group's secret and digest once (for its key), then the new member's index only"
    assert done.manifest.revision is not None and done.manifest.revision.number == 2


@pytest.mark.parametrize(
    ("group", "members", "names", "code", "says"),
    [
        pytest.param(3, [(1, 1), (1, 2)], ["Ivy"], 3, ["there is no group 3", "a group cannot be added", "coldvault rotate"], id="adding-a-group"),
        pytest.param(1, [(1, 1)], ["Ivy"], 3, ["needs 2 of its shares to be extended; 1 given"], id="fewer-than-threshold"),
        pytest.param(1, [(1, 1), (2, 1)], ["Ivy"], 3, ["group2-share1.txt: a share of group 2 of 2, not of group 1 of 2"], id="another-group"),
        pytest.param(1, [(1, 1), (1, 1)], ["Ivy"], 3, ["share 1 of group 1 of 2 was given twice"], id="the-same-share-twice"),
        pytest.param(1, [(1, 1), (1, 2)], ["Ivy", "ivy"], 3, ['"ivy" is already a custodian'], id="duplicate-new-custodian"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_written(tmp_path, group, members, names, code, says):
    vault = split(tmp_path, "2of3", "2of3")
    result = extend(tmp_path, vault / "manifest.json", group, [share(vault, g, m) for g, m in members], names, "v2")
    assert_refused(result, code, *says)
    assert not (tmp_path / "v2").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_no_custodian_is_a_usage_error(tmp_path):
    vault = split(tmp_path, "2of3", "2of3")
    result = extend(tmp_path, vault / "manifest.json", 1, [share(vault, 1, 1), share(vault, 1, 2)], [], "v2")
    assert result.returncode == 2 and "Missing option '--custodian'" in result.stderr
    assert not (tmp_path / "v2").exists()


def test_shares_of_another_vault_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = split(tmp_path / "a", "2of3", "2of3")
    other = split(tmp_path / "b", "2of3", "2of3")
    result = extend(tmp_path, first / "manifest.json", 1, [share(first, 1, 1), share(other, 1, 2)], ["Ivy"], "v2")
    assert_refused(result, 3, "group1-share2.txt: not a share of this vault (identifier")
    assert not (tmp_path / "v2").exists()


def test_a_full_group_is_refused_and_points_to_rotate(tmp_path):
    vault = split(tmp_path, "2of15", "2of3")
    result = extend(tmp_path, vault / "manifest.json", 1, [share(vault, 1, 1), share(vault, 1, 2)], ["Ivy", "Jo"], "v2")
    assert_refused(result, 3, "has 15 members and SLIP-39 allows 16: 1 more can be added, not 2", "rotate")
    result = extend(tmp_path, vault / "manifest.json", 1, [share(vault, 1, 1), share(vault, 1, 2)], ["Ivy"], "v2")
    assert result.returncode == 0, result.stderr
    result = extend(tmp_path, tmp_path / "v2/manifest.json", 1, [share(vault, 1, 1), share(vault, 1, 2)], ["Jo"], "v3")
    assert_refused(result, 3, "has 16 members and SLIP-39 allows 16: the group is full")


def test_a_one_of_one_group_cannot_get_a_second_share(tmp_path):
    vault = split(tmp_path, "2of3", "1of1")
    result = extend(tmp_path, vault / "manifest.json", 2, [share(vault, 2, 1)], ["Ivy"], "v2")
    assert_refused(result, 3, "is 1-of-1: SLIP-39 allows no second share in a group whose threshold is 1", "coldvault rotate")


def test_replacing_a_lost_share_warns_that_it_stays_valid(tmp_path):
    vault = split(tmp_path, "2of3", "2of3")
    # split's shares have no custodian names: a first extension names one, who then "loses" the share.
    assert extend(tmp_path, vault / "manifest.json", 1, [share(vault, 1, 1), share(vault, 1, 2)], ["Kim"], "v2").returncode == 0
    result = extend(tmp_path, tmp_path / "v2/manifest.json", 1, [share(vault, 1, 1), share(vault, 1, 2)], ["Lee"], "v3",
                    "--replaces", "Kim")
    assert result.returncode == 0, result.stderr
    assert "WARNING: extending does not revoke anything: the share of Kim stays valid" in result.stdout
    assert "coldvault rotate" in result.stdout
    last = json.loads((tmp_path / "v3/transcript.jsonl").read_text().splitlines()[-2])
    assert last["event"] == "extend" and last["data"]["replaces"] == "Kim"
    unknown = extend(tmp_path, tmp_path / "v3/manifest.json", 1, [share(vault, 1, 1), share(vault, 1, 2)], ["Max"], "v4",
                     "--replaces", "Nobody")
    assert_refused(unknown, 3, '--replaces "Nobody": no custodian of this vault with a share in use has that name')


def test_an_existing_output_is_refused_before_any_share_is_read(tmp_path):
    vault = split(tmp_path, "2of3", "2of3")
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "keep.txt").write_text("mine")
    result = extend(tmp_path, vault / "manifest.json", 1, ["missing-1.txt", "missing-2.txt"], ["Ivy"], "v2")
    assert_refused(result, 5, "v2")
    assert (tmp_path / "v2" / "keep.txt").read_text() == "mine"


def test_drill_status_counts_new_shares_from_the_day_they_were_issued(tmp_path):
    vault = split(tmp_path, "2of3", "2of3")
    assert extend(tmp_path, vault / "manifest.json", 1, [share(vault, 1, 1), share(vault, 1, 2)], ["Ivy"], "v2").returncode == 0
    manifest = json.loads((tmp_path / "v2/manifest.json").read_text())
    issued = date.fromisoformat(manifest["shares"][-1]["issued"][:10])
    due = issued + timedelta(days=manifest["policy"]["drill_interval_days"])
    on_time = run_cli(tmp_path, "drill", "status", "--manifest", "v2/manifest.json", "--as-of", due.isoformat(), "--json")
    late = run_cli(tmp_path, "drill", "status", "--manifest", "v2/manifest.json", "--as-of", (due + timedelta(days=1)).isoformat(), "--json")
    ivy = [s for s in on_time.json()["shares"] if s["custodian"] == "Ivy"][0]
    assert ivy["current"] and ivy["last_verified"] == issued.isoformat()
    assert not [s for s in late.json()["shares"] if s["custodian"] == "Ivy"][0]["current"]


def test_a_drill_across_revisions_uses_old_and_new_shares_and_its_log_is_carried_on(tmp_path):
    vault = split(tmp_path, "2of3", "2of3")
    first = run_cli(tmp_path, "drill", "run", "--manifest", "v/manifest.json", share(vault, 1, 1), share(vault, 1, 2),
                    share(vault, 2, 1), share(vault, 2, 2), "--passphrase-file", "pass.txt")
    assert first.returncode == 0, first.stderr
    assert extend(tmp_path, vault / "manifest.json", 1, [share(vault, 1, 1), share(vault, 1, 2)], ["Ivy"], "v2").returncode == 0
    assert (tmp_path / "v2/drills.jsonl").read_bytes() == (vault / "drills.jsonl").read_bytes()
    second = run_cli(tmp_path, "drill", "run", "--manifest", "v2/manifest.json", "v2/custodians/ivy/share.txt", share(vault, 1, 3),
                     share(vault, 2, 3), share(vault, 2, 1), "--passphrase-file", "pass.txt")
    assert second.returncode == 0, second.stdout + second.stderr
    events = [json.loads(line) for line in (tmp_path / "v2/drills.jsonl").read_text().splitlines()]
    assert [e["data"]["result"] for e in events] == ["passed", "passed"]
    assert run_cli(tmp_path, "transcript", "verify", "v2").returncode == 0


def test_a_share_newer_than_the_manifest_is_refused_as_not_listed(extended, tmp_path):
    """Dora's share exists from revision 2 on: extending revision 1 with it is refused (the manifest cannot vouch for it)."""
    work, vault = extended
    copy = tmp_path / "revision-1"  # the vault's folder says it was extended already: a copy of revision 1 that does not
    shutil.copytree(vault, copy, ignore=shutil.ignore_patterns("successor.json"))
    result = extend(work, copy / "manifest.json", 1, [share(vault, 1, 1), str(work / "v2/custodians/dora/share.txt")], ["Ola"],
                    str(tmp_path / "out"))
    assert_refused(result, 3, "dora/share.txt: not listed in the manifest")
    assert not (tmp_path / "out").exists()


def test_sealing_flags_with_several_new_custodians_are_refused(tmp_path):
    vault = split(tmp_path, "2of3", "2of3")
    result = extend(tmp_path, vault / "manifest.json", 1, [share(vault, 1, 1), share(vault, 1, 2)], ["Ivy", "Jo"], "v2",
                    "--recipient-pubkey", "ivy.pem")
    assert_refused(result, 3, "extend one sealed custodian at a time")
    assert not (tmp_path / "v2").exists()
