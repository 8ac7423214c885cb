"""Extend and rotate end to end on real SoftHSM2 tokens, from the demo ceremony.

The demo vault (ceremony/demo.toml): 2 of {Board 2-of-3: Alice (AES on her token),
Bob (EC P-256), Carol (paper); Officers 3-of-5: Dave (RSA), Erin..Heidi (paper);
Escrow 1-of-1: Ivan (paper)}, with a passphrase and a signed transcript.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import softhsm_kit  # scripts/, on the path through conftest
from conftest import Run
from test_ceremony import PASSPHRASE, Ceremony, run_plan

NEW_PASSPHRASE = "after the rotation 7"
ALICE = "vault/custodians/alice/share.envelope.json"
BOB = "vault/custodians/bob/share.envelope.json"
DAVE = "vault/custodians/dave/share.envelope.json"
PAPER = {name: f"vault/custodians/{name}/share.txt" for name in ("carol", "erin", "frank", "grace", "heidi", "ivan")}

ROTATION_PLAN = """format = "coldvault-plan/1"

[ceremony]
name = "demo, rotated"
operator = "Demo Operator"
witnesses = ["Demo Witness"]

[secret]
source = "master-secret"
bits = 256

[slip39]
group_threshold = 1
passphrase = true
iteration_exponent = 0

[[group]]
name = "Family"
threshold = 2

  [[group.custodian]]
  name = "Alice"
  delivery = "pkcs11-aes-gcm"
  token = "alice"
  key = "coldvault"

  [[group.custodian]]
  name = "Carol"
  delivery = "paper"

  [[group.custodian]]
  name = "Zed"
  delivery = "paper"
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Ceremony:
    """The demo ceremony, plus two new custodians' tokens: Judy's with an AES key, Kurt's with an EC key."""
    done = run_plan(tmp_path_factory.mktemp("custody"), "demo.toml")
    assert done.run.returncode == 0, done.run.stderr
    (done.work / "passphrase.txt").write_text(PASSPHRASE + "\n")
    (done.work / "new-passphrase.txt").write_text(NEW_PASSPHRASE + "\n")
    softhsm_kit.token_with_key(done.kit, done.work, "judy", "aes")
    softhsm_kit.token_with_key(done.kit, done.work, "kurt", "ec")
    exported = done.cli("token", "pubkey", "--token", "kurt", "--label", "coldvault", "--out", "kurt.pem", *done.kit.pin_args(["kurt"]))
    assert exported.returncode == 0, exported.stderr
    return done


def revision_one(demo: Ceremony, name: str) -> str:
    """A copy of the vault's public records as they were before it was extended (the vault's own folder says it was:
    docs/history.md, "Successors"): for the refusals that need a revision nobody has extended or rotated yet."""
    folder = demo.work / name
    if not folder.exists():
        folder.mkdir()
        for record in ("manifest.json", "transcript.jsonl", "transcript.sig.json"):
            shutil.copy(demo.work / "vault" / record, folder / record)
    return f"{name}/manifest.json"


def ok(result: Run) -> Run:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def extended(demo: Ceremony) -> Ceremony:
    """Board extended from two envelopes, sealed to Judy's AES key; then Officers extended from an RSA envelope
    and two cards, sealed to Kurt's EC public key."""
    ok(demo.cli("extend", "--manifest", "vault/manifest.json", "--group", "1", ALICE, BOB, "--custodian", "Judy",
                "--token", "judy", "--key", "coldvault", "--out", "v2", *demo.kit.pin_args()))
    ok(demo.cli("extend", "--manifest", "v2/manifest.json", "--group", "2", DAVE, PAPER["erin"], PAPER["frank"],
                "--custodian", "Kurt", "--recipient-pubkey", "kurt.pem", "--token", "kurt", "--out", "v3", *demo.kit.pin_args()))
    return demo


def test_new_shares_are_sealed_to_the_new_custodians_and_open_with_their_tokens(extended: Ceremony) -> None:
    manifest = json.loads((extended.work / "v3/manifest.json").read_text())
    judy, kurt = manifest["shares"][-2:]
    assert (judy["custodian"], judy["group_index"], judy["member_index"], judy["wrapping"]) == ("Judy", 0, 3, "pkcs11-aes-gcm")
    assert (kurt["custodian"], kurt["group_index"], kurt["member_index"], kurt["wrapping"]) == ("Kurt", 1, 5, "ecdh-p256")
    for entry, folder, token in ((judy, "v2", "judy"), (kurt, "v3", "kurt")):
        opened = ok(extended.cli("unwrap", f"{folder}/{entry['file']}", "--token", token, *extended.kit.pin_args([token]), "--json"))
        assert opened.json()["share_fingerprint"] == entry["share_fingerprint"]
    assert manifest["revision"]["number"] == 3


def test_the_signed_transcript_is_carried_over_and_the_extensions_are_chained_after_it(extended: Ceremony) -> None:
    result = ok(extended.cli("transcript", "verify", "v3", "--json")).json()["transcript"]
    assert result["signed_seq"] is not None and result["signed_seq"] < result["manifest_seq"] == result["head_seq"] - 1
    events = [json.loads(line) for line in (extended.work / "v3/transcript.jsonl").read_text().splitlines()]
    original = (extended.work / "vault/transcript.jsonl").read_text().splitlines()
    assert (extended.work / "v3/transcript.jsonl").read_text().splitlines()[: len(original)] == original
    assert [e["event"] for e in events[len(original):]] == ["extend", "sealed", "extend", "sealed"]
    assert events[-2]["data"]["shares"][0]["proven_opens"] is True


def test_a_quorum_with_both_new_shares_proves_the_vault(extended: Ceremony) -> None:
    shares = ["v2/custodians/judy/share.envelope.json", PAPER["carol"], "v3/custodians/kurt/share.envelope.json",
              PAPER["grace"], PAPER["heidi"]]
    result = ok(extended.cli("verify", "--manifest", "v3/manifest.json", *shares, "--passphrase-file", "passphrase.txt",
                             *extended.kit.pin_args(), "--json"))
    assert result.json()["secret_status"] == "matches"
    drill = ok(extended.cli("drill", "run", "--manifest", "v3/manifest.json", *shares, "--passphrase-file", "passphrase.txt",
                            *extended.kit.pin_args(), "--json"))
    assert drill.json()["result"] == "passed"
    assert {s["custodian"] for s in drill.json()["shares"]} == {"Judy", "Carol", "Kurt", "Grace", "Heidi"}


def test_the_one_of_one_escrow_group_cannot_be_extended(demo: Ceremony) -> None:
    result = demo.cli("extend", "--manifest", revision_one(demo, "r1"), "--group", "3", PAPER["ivan"], "--custodian", "Jan", "--out", "nope")
    assert result.returncode == 3 and "1-of-1" in result.stderr and "coldvault rotate" in result.stderr
    assert not (demo.work / "nope").exists()


@pytest.fixture(scope="module")
def rotated(extended: Ceremony) -> Ceremony:
    """The latest revision (v3) rotated to a new plan."""
    demo = extended
    (demo.work / "rotation.toml").write_text(ROTATION_PLAN)
    ok(demo.cli("rotate", "--manifest", "v3/manifest.json", ALICE, PAPER["carol"], PAPER["erin"], PAPER["frank"], PAPER["grace"],
                "--plan", "rotation.toml", "--out", "rotated", "--yes", "--passphrase-file", "passphrase.txt",
                "--new-passphrase-file", "new-passphrase.txt", *demo.kit.pin_args()))
    return demo


def test_the_rotated_vault_holds_the_same_seed_under_a_new_identifier(rotated: Ceremony) -> None:
    old = json.loads((rotated.work / "v3/manifest.json").read_text())
    new = json.loads((rotated.work / "rotated/manifest.json").read_text())
    assert new["secret"] == {**old["secret"]}, "same seed, same fingerprints"
    assert new["ceremony"]["id"] != old["ceremony"]["id"]
    assert new["supersedes"] == {
        "ceremony_id": old["ceremony"]["id"],
        "manifest_sha256": hashlib.sha256((rotated.work / "v3/manifest.json").read_bytes()).hexdigest(),
    }
    recovered = ok(rotated.cli("recover", "--manifest", "rotated/manifest.json", "rotated/custodians/alice/share.envelope.json",
                               "rotated/custodians/zed/share.txt", "--passphrase-file", "new-passphrase.txt",
                               *rotated.kit.pin_args(), "--json"))
    assert recovered.json()["secret_fingerprint"] == old["secret"]["secret_fingerprint"]


def test_the_rotation_is_recorded_and_the_transcript_verifies(rotated: Ceremony) -> None:
    ok(rotated.cli("transcript", "verify", "rotated"))
    events = [json.loads(line) for line in (rotated.work / "rotated/transcript.jsonl").read_text().splitlines()]
    rotation = next(e for e in events if e["event"] == "rotation")
    old = json.loads((rotated.work / "v3/manifest.json").read_text())
    assert rotation["data"]["supersedes"]["ceremony_id"] == old["ceremony"]["id"]
    assert {s["custodian"] for s in rotation["data"]["shares_used"]} <= {"Alice", "Carol", "Erin", "Frank", "Grace"}
    secret_ready = next(e for e in events if e["event"] == "secret-ready")
    assert secret_ready["data"]["source"] == f"recovered from ceremony {old['ceremony']['id']}"
    runbook = (rotated.work / "rotated/runbook.md").read_text()
    assert "Superseded vault: destroy its shares" in runbook
    assert all(s["share_fingerprint"] in runbook for s in old["shares"])


def test_old_and_new_shares_never_combine(rotated: Ceremony) -> None:
    result = rotated.cli("recover", "rotated/custodians/zed/share.txt", PAPER["carol"], "--format", "hex")
    assert result.returncode == 3
    assert "belongs to another share set" in result.stderr and "Traceback" not in result.stderr


def test_a_wrong_old_passphrase_stops_the_rotation_before_anything_is_written(demo: Ceremony) -> None:
    (demo.work / "rotation.toml").write_text(ROTATION_PLAN)
    (demo.work / "wrong.txt").write_text("not the passphrase\n")
    result = demo.cli("rotate", "--manifest", revision_one(demo, "r1"), ALICE, PAPER["carol"], PAPER["erin"], PAPER["frank"], PAPER["grace"],
                      "--plan", "rotation.toml", "--out", "wrong", "--yes", "--passphrase-file", "wrong.txt",
                      "--new-passphrase-file", "new-passphrase.txt", *demo.kit.pin_args())
    assert result.returncode == 1, result.stderr
    assert "does not match the manifest" in result.stderr and "wrong passphrase" in result.stderr
    assert not (demo.work / "wrong").exists()
    assert not list(demo.work.glob(".wrong*"))


def test_a_plan_for_another_kind_of_secret_is_refused_before_any_share_is_read(demo: Ceremony) -> None:
    (demo.work / "bip39.toml").write_text(ROTATION_PLAN.replace('source = "master-secret"', 'source = "bip39"'))
    result = demo.cli("rotate", "--manifest", revision_one(demo, "r1"), "missing.txt", "--plan", "bip39.toml", "--out", "nope", "--yes")
    assert result.returncode == 3
    assert "the vault being rotated holds master-secret, 256 bits" in result.stderr


def test_too_few_old_shares_are_refused_naming_what_is_missing(demo: Ceremony) -> None:
    (demo.work / "rotation.toml").write_text(ROTATION_PLAN)
    result = demo.cli("rotate", "--manifest", revision_one(demo, "r1"), PAPER["carol"], PAPER["erin"], "--plan", "rotation.toml",
                      "--out", "nope", "--yes", "--passphrase-file", "passphrase.txt", "--new-passphrase-file", "new-passphrase.txt")
    assert result.returncode == 3, result.stderr
    assert "too few shares to recover" in result.stderr and "group 2 of 3: 1 of 3 needed" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (demo.work / "nope").exists()


def test_the_new_packets_hold_no_secret_outside_paper(rotated: Ceremony, extended: Ceremony) -> None:
    """No passphrase, PIN or seed in any file extend or rotate wrote, except the new paper custodians' own share files."""
    pins = [p.read_text().strip() for p in rotated.kit.pins.values()]
    forbidden = [PASSPHRASE, NEW_PASSPHRASE, *pins]
    for folder in ("v2", "v3", "rotated"):
        for path in (rotated.work / folder).rglob("*"):
            if path.is_file():
                text = path.read_bytes().decode("latin-1")
                assert not any(item in text for item in forbidden), path
                if path.name in ("share.txt", "card.pdf"):
                    assert path.stat().st_mode & 0o777 == 0o600


def test_an_envelope_not_proven_when_made_counts_only_once_a_drill_opens_it(demo: Ceremony) -> None:
    """Sealed to Kurt's public key without his token in the room: the share is listed as not proven, readiness
    says it was never verified (a weak point, not a check), until a drill opens it on his token."""
    ok(demo.cli("extend", "--manifest", revision_one(demo, "r1-lena"), "--group", "2", DAVE, PAPER["erin"], PAPER["frank"],
                "--custodian", "Lena", "--recipient-pubkey", "kurt.pem", "--out", "v-unproven", *demo.kit.pin_args()))
    manifest = json.loads((demo.work / "v-unproven" / "manifest.json").read_text())
    assert next(s for s in manifest["shares"] if s["custodian"] == "Lena")["proven"] is False

    def lena() -> tuple[dict, list[str]]:
        status = demo.cli("drill", "status", "--manifest", "v-unproven/manifest.json", "--json")
        payload = json.loads(status.stdout)
        return next(s for s in payload["shares"] if s["custodian"] == "Lena"), payload["weakest"]

    share, weakest = lena()
    assert (share["state"], share["current"], share["last_verified"]) == ("never-verified", False, None)
    assert any("Lena never verified: its envelope was not opened when it was made" in s for s in weakest), weakest
    ok(demo.cli("drill", "run", "--manifest", "v-unproven/manifest.json", "--partial", "v-unproven/custodians/lena/share.envelope.json",
                "--token", "kurt", *demo.kit.pin_args(["kurt"])))
    share, weakest = lena()
    assert (share["state"], share["current"]) == ("current", True)
    assert not any("Lena" in s for s in weakest)
