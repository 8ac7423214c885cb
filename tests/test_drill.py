"""Recovery drills: `drill run` judges and records; `drill status` tells the truth about readiness.

End to end on a ceremony made by the real CLI (the template plan: Family, 2 of
Alice, Bob, Carol on paper), plus readiness over time in-process with drills on
chosen dates, where the boundary can be placed exactly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import shamir_mnemonic
from conftest import Run, run_cli
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vault.core.events import DRILL
from vault.core import drill as dr
from vault.core import evidence
from vault.core.backup import Holding, SplitOptions, describe, make_shares, new_ceremony
from vault.core.formats import drills, transcript
from vault.core.scheme import make_scheme
from vault.core.secret import Secret, SecretKind

SHARES = {name: f"vault/custodians/{name.lower()}/share.txt" for name in ("Alice", "Bob", "Carol")}


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    assert run_cli(tmp_path, "ceremony", "init", "plan.toml").returncode == 0
    made = run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", "--yes")
    assert made.returncode == 0, made.stderr
    return tmp_path


def drill(work: Path, *args: str, input: str | None = None) -> Run:
    return run_cli(work, "drill", "run", "--manifest", "vault/manifest.json", *args, input=input)


def log_events(work: Path) -> list[dict]:
    return [json.loads(line) for line in (work / "vault" / "drills.jsonl").read_text().splitlines()]


def words(work: Path, name: str) -> str:
    return [line for line in (work / SHARES[name]).read_text().splitlines() if not line.startswith("#")][0]


def test_the_manifest_hash_recorded_is_of_the_bytes_the_drill_read(vault: Path) -> None:
    """The manifest is read once: the SHA-256 a drill records is that of the very bytes it judged against.

    Here the manifest comes through a pipe that gives its bytes once, as `--manifest
    <(...)` does; a drill that read the file again to hash it would wait on the pipe for
    ever (this test's timeout), or, on a file changed in between, record another file's hash.
    """
    data = (vault / "vault" / "manifest.json").read_bytes()
    pipe = vault / "manifest.pipe"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_bytes(data), daemon=True)
    writer.start()
    done = subprocess.run(
        [sys.executable, "-m", "vault", "drill", "run", "--manifest", str(pipe), "--log", "vault/drills.jsonl", "--partial",
         SHARES["Alice"]], cwd=vault, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    [event] = log_events(vault)
    assert event["data"]["manifest_sha256"] == hashlib.sha256(data).hexdigest()


def test_a_quorum_drill_passes_and_is_recorded_with_custodians(vault: Path) -> None:
    result = drill(vault, SHARES["Alice"], SHARES["Carol"], "--operator", "Dana", "--witness", "Erin", "--json")
    assert result.returncode == 0, result.stderr
    [event] = log_events(vault)
    data = event["data"]
    assert event["event"] == "drill" and data["result"] == "passed" and data["kind"] == "quorum"
    assert data["operator"] == "Dana" and data["witnesses"] == ["Erin"]
    assert [(s["custodian"], s["result"]) for s in data["shares"]] == [("Alice", "passed"), ("Carol", "passed")]
    assert data["quorum"]["result"] == "passed"
    assert run_cli(vault, "transcript", "verify", "vault").returncode == 0


def test_an_interactive_drill_checks_typed_shares(vault: Path) -> None:
    typed = words(vault, "Bob") + "\n" + words(vault, "Carol") + "\n"
    result = drill(vault, "--interactive", input=typed)
    assert result.returncode == 0, result.stderr
    assert log_events(vault)[-1]["data"]["result"] == "passed"


@pytest.mark.parametrize("fault, reason", [
    ("wrong-passphrase", "wrong passphrase"),
    ("another-vault", "not a share of this vault"),
    ("off-polynomial", "do not lie on one polynomial"),
    ("group-short", "no quorum"),
])
def test_a_failing_drill_says_why_and_is_recorded_as_failed(vault: Path, fault: str, reason: str) -> None:
    args = [SHARES["Alice"], SHARES["Bob"]]
    if fault == "wrong-passphrase":
        (vault / "pass.txt").write_text("not the passphrase\n")
        args += ["--passphrase-file", "pass.txt"]
    elif fault == "another-vault":
        other = vault / "other"
        other.mkdir()
        assert run_cli(other, "ceremony", "init", "plan.toml").returncode == 0
        assert run_cli(other, "ceremony", "run", "plan.toml", "--out", "vault", "--yes").returncode == 0
        args.append(f"other/{SHARES['Carol']}")
    elif fault == "off-polynomial":
        (vault / "altered.txt").write_text(_altered(words(vault, "Carol")) + "\n")
        args.append("altered.txt")
    else:
        args = [SHARES["Alice"]]
    result = drill(vault, *args)
    assert result.returncode == 1
    assert reason in result.stderr and "Traceback" not in result.stderr
    data = log_events(vault)[-1]["data"]
    assert data["result"] == "failed" and any(reason in r for r in data["reasons"])


def test_a_partial_drill_checks_one_share_and_counts_toward_readiness(vault: Path) -> None:
    result = drill(vault, SHARES["Carol"], "--partial")
    assert result.returncode == 0, result.stderr
    data = log_events(vault)[-1]["data"]
    assert data["kind"] == "shares" and data["quorum"]["result"] == "not-attempted"
    status = run_cli(vault, "drill", "status", "--manifest", "vault/manifest.json", "--json").json()
    carol = next(s for s in status["shares"] if s["custodian"] == "Carol")
    assert carol["last_verified"] == datetime.now(timezone.utc).date().isoformat()


def test_status_flips_exactly_when_the_ceremony_checks_expire(vault: Path) -> None:
    manifest = json.loads((vault / "vault" / "manifest.json").read_text())
    due = date.fromisoformat(manifest["ceremony"]["created"][:10]) + timedelta(days=manifest["policy"]["drill_interval_days"])
    on_time = run_cli(vault, "drill", "status", "--manifest", "vault/manifest.json", "--as-of", due.isoformat())
    late = run_cli(vault, "drill", "status", "--manifest", "vault/manifest.json", "--as-of", (due + timedelta(days=1)).isoformat())
    assert on_time.returncode == 0 and "RECOVERABLE" in on_time.stdout
    assert late.returncode == 1 and "NOT RECOVERABLE" in late.stdout
    assert f"Alice overdue since {due + timedelta(days=1)}" in late.stdout


def test_a_tampered_drill_log_fails_verification_and_is_never_appended_to(vault: Path) -> None:
    for _ in range(3):
        assert drill(vault, SHARES["Alice"], SHARES["Bob"]).returncode == 0
    path = vault / "vault" / "drills.jsonl"
    good = path.read_text()
    lines = good.splitlines(keepends=True)
    tampered = {
        "changed": good.replace('"passed"', '"passeD"', 1),
        "removed": lines[0] + lines[2],
        "reordered": lines[1] + lines[0] + lines[2],
    }
    for how, text in tampered.items():
        path.write_text(text)
        checked = run_cli(vault, "transcript", "verify", "vault")
        assert checked.returncode == 1 and "drills.jsonl line" in checked.stderr, how
        appended = drill(vault, SHARES["Alice"], SHARES["Bob"])
        assert appended.returncode == 1 and path.read_text() == text, how
        assert run_cli(vault, "drill", "status", "--manifest", "vault/manifest.json").returncode == 1, how


def test_no_secret_and_no_share_words_in_the_log_or_the_output(vault: Path) -> None:
    runs = [drill(vault, SHARES["Alice"], SHARES["Bob"]), drill(vault, SHARES["Carol"], "--partial"),
            drill(vault, "--interactive", input=words(vault, "Alice") + "\n" + words(vault, "Carol") + "\n"),
            run_cli(vault, "drill", "status", "--manifest", "vault/manifest.json")]
    revealed = run_cli(vault, "recover", "--reveal", "--format", "hex", "--json", SHARES["Alice"], SHARES["Bob"]).json()["secret"]
    typed = runs[2]  # its stderr echoes the words as they are typed and completed, by design
    places = [(vault / "vault" / "drills.jsonl").read_text(), typed.stdout]
    places += [text for run in runs if run is not typed for text in (run.stdout, run.stderr)]
    for text in places:
        assert revealed not in text
        for name in SHARES:
            assert words(vault, name) not in text
            assert " ".join(words(vault, name).split()[:4]) not in text


def test_a_token_that_fails_is_recorded_as_that_share_failing(vault: Path, softhsm: dict[str, str]) -> None:
    """A forgotten PIN is what drills exist to find: it is recorded, not an abort."""
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "carol", "--pin", "1111", "--so-pin", "2222"],
                   env={**os.environ, **softhsm}, check=True, capture_output=True)
    (vault / "pin").write_text("1111\n")
    (vault / "wrong").write_text("9999\n")
    keygen = run_cli(vault, "token", "keygen", "--token", "carol", "--label", "k", "--type", "aes", "--pin-file", "carol=pin", env=softhsm)
    assert keygen.returncode == 0, keygen.stderr
    wrapped = run_cli(vault, "wrap", SHARES["Carol"], "--token", "carol", "--key", "k", "--out", "carol.envelope.json",
                      "--pin-file", "carol=pin", env=softhsm)
    assert wrapped.returncode == 0, wrapped.stderr
    result = run_cli(vault, "drill", "run", "--manifest", "vault/manifest.json", SHARES["Alice"], "carol.envelope.json",
                     "--pin-file", "carol=wrong", env=softhsm)
    assert result.returncode == 1 and "wrong PIN" in result.stderr
    data = log_events(vault)[-1]["data"]
    assert data["result"] == "failed"
    carol = next(s for s in data["shares"] if s["custodian"] == "Carol")
    assert carol["result"] == "failed" and "wrong PIN" in carol["reason"]
    status = run_cli(vault, "drill", "status", "--manifest", "vault/manifest.json", "--json").json()
    carol = next(s for s in status["shares"] if s["custodian"] == "Carol")
    assert not carol["current"] and carol["state"] == "failed" and "wrong PIN" in carol["failed"]["reason"]
    assert carol["due"] is not None  # within its interval: FAILED, not OVERDUE, all the same
    # the group (2 of 3) is still ready with Alice and Bob, and the failure is still a weak point, in words and in the report
    assert status["recoverable"] and any("Carol FAILED a check on" in s and "wrong PIN" in s for s in status["weakest"])
    text = run_cli(vault, "drill", "status", "--manifest", "vault/manifest.json").stdout
    assert "Carol: last verified" in text and "FAILED on" in text and "OVERDUE" not in text
    assert run_cli(vault, "drill", "report", "--manifest", "vault/manifest.json", "--out", "r.html").returncode == 0
    page = (vault / "r.html").read_text()
    assert "<strong>FAILED</strong> a check on" in page and "<p>none</p>" not in page


def test_an_envelope_that_does_not_open_is_recorded_as_the_share_its_header_claims(vault: Path, softhsm: dict[str, str]) -> None:
    """docs/drills.md: an envelope no token here can open is a failed check recorded with the share its header
    claims: the manifest's custodian and indices for a listed fingerprint, the header's indices otherwise."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()  # its token is not here: the store is empty
    (vault / "carol.pem").write_bytes(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    sealed = run_cli(vault, "wrap", SHARES["Carol"], "--recipient-pubkey", "carol.pem", "--out", "carol.envelope.json", env=softhsm)
    assert sealed.returncode == 0, sealed.stderr
    manifest = json.loads((vault / "vault" / "manifest.json").read_text())
    listed = {s["custodian"]: s for s in manifest["shares"]}
    header = json.loads((vault / "carol.envelope.json").read_text())
    assert header["share"]["share_fingerprint"] == listed["Carol"]["share_fingerprint"]
    as_bob = {**header, "share": {**header["share"], "share_fingerprint": listed["Bob"]["share_fingerprint"], "member_index": 7}}
    unlisted = {**header, "share": {**header["share"], "share_fingerprint": "0" * 32, "member_index": 5}}
    for name, document in (("as-bob", as_bob), ("unlisted", unlisted)):
        (vault / f"{name}.envelope.json").write_text(json.dumps(document))
    result = run_cli(vault, "drill", "run", "--manifest", "vault/manifest.json", "--partial", "carol.envelope.json",
                     "as-bob.envelope.json", "unlisted.envelope.json", env=softhsm)
    assert result.returncode == 1, result.stderr
    checks = {c["source"]: c for c in log_events(vault)[-1]["data"]["shares"]}
    claimed = {source: (c["custodian"], c["group_index"], c["member_index"], c["share_fingerprint"], c["result"])
               for source, c in checks.items()}
    carol, bob = listed["Carol"], listed["Bob"]
    assert claimed == {
        "carol.envelope.json": ("Carol", carol["group_index"], carol["member_index"], carol["share_fingerprint"], "failed"),
        "as-bob.envelope.json": ("Bob", bob["group_index"], bob["member_index"], bob["share_fingerprint"], "failed"),
        "unlisted.envelope.json": (None, header["share"]["group_index"], 5, "0" * 32, "failed"),
    }
    assert all("no token here holds the key this envelope is sealed to" in c["reason"] for c in checks.values()), checks
    status = run_cli(vault, "drill", "status", "--manifest", "vault/manifest.json", "--json").json()
    states = {s["custodian"]: s["state"] for s in status["shares"]}
    assert states["Carol"] == "failed" and states["Bob"] == "failed" and states["Alice"] == "current"


def _documented_status_fields() -> dict[str, str]:
    """docs/drills.md's `drill status --json` table: each field named in its first column, and its row."""
    page = (Path(__file__).parent.parent / "docs" / "drills.md").read_text()
    section = page.split("### `drill status --json`", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name: row for row in rows for name in re.findall(r"`([^`]+)`", row.split(" | ")[0])}


def test_every_field_of_drill_status_json_is_documented(vault: Path) -> None:
    """docs/drills.md has a row for every field `drill status --json` gives (and for each group's, share's and the
    anchor's): a field added to the code without its row fails here."""
    assert drill(vault, "--partial", SHARES["Carol"]).returncode == 0
    status = run_cli(vault, "drill", "status", "--manifest", "vault/manifest.json", "--json").json()
    given = {key + "[]" if isinstance(value, list) and key != "weakest" else key for key, value in status.items()}
    given |= {f"groups[].{k}" for k in status["groups"][0]} | {f"shares[].{k}" for k in status["shares"][0]}
    documented = _documented_status_fields()
    assert given - set(documented) == set(), "add these to docs/drills.md"
    assert set(documented) - given <= {"copies[]"}, "documented, but drill status --json does not give them"  # copies: several places
    assert all(f"`{key}`" in documented["anchor"] for key in status["anchor"])


# ---------------------------------------------------------------- readiness in-process

SECRET = Secret(SecretKind.MASTER_SECRET, bytes(range(16)))
CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)
READ_AT = datetime(2026, 6, 1, tzinfo=timezone.utc)
"""The reader's clock: after every check these tests record."""


def _manifest(interval: int = 30):
    scheme = make_scheme(2, [(2, 3), (3, 5)], ["Board", "Officers"])
    options = SplitOptions(iteration_exponent=0, drill_interval_days=interval)
    shares = make_shares(SECRET, scheme, b"", options)
    names = ["Ada", "Ben", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal"]
    holdings = [Holding(name, f"custodians/{name.lower()}/share.txt") for name in names]
    manifest = describe(new_ceremony("test", CREATED), SECRET, scheme, False, options, shares, holdings)
    VAULT_SHARES[manifest.ceremony.id] = shares
    return manifest


VAULT_SHARES: dict[str, tuple] = {}
"""Each test vault's shares, by ceremony id: drills sign their checks with keys derived from them."""


def _checks(manifest, *checks: tuple[date, list[str], str]) -> tuple[transcript.Event, ...]:
    """A drill log of partial drills: on each day, these custodians' shares checked with this result."""
    chain = transcript.start()
    for number, (day, custodians, result) in enumerate(checks):
        shares = [{"source": f"share {e.member_index + 1}", "share_fingerprint": e.share_fingerprint, "custodian": e.custodian,
                   "group_index": e.group_index, "member_index": e.member_index, "result": result, "reason": "checked"}
                  for e in manifest.shares if e.custodian in custodians]
        data = {"drill_id": f"drill-{number}", "kind": "shares", "ceremony_id": manifest.ceremony.id, "manifest_sha256": "0" * 64,
                "operator": None, "witnesses": [], "shares": shares,
                "quorum": {"result": "not-attempted", "reason": "a partial drill", "qualifying_subsets": 0},
                "result": result, "reasons": [] if result == "passed" else ["a share failed"]}
        when = datetime.combine(day, datetime.min.time(), timezone.utc)
        unsigned = transcript.append(chain, DRILL, data, when).events[-1]
        record = drills.from_event(unsigned)
        keys = evidence.signing_keys(record, manifest, VAULT_SHARES[manifest.ceremony.id], None)
        chain = transcript.append(chain, DRILL, drills.to_data(evidence.sign(record, unsigned, keys)), when)
    return chain.events


def test_readiness_flips_on_the_day_after_a_check_expires() -> None:
    manifest = _manifest(interval=30)
    checked = date(2026, 3, 1)
    events = _checks(manifest, (checked, ["Ada", "Ben", "Dee", "Eve", "Fay"], "passed"))
    last_day = checked + timedelta(days=30)
    assert dr.readiness(manifest, events, last_day, now=READ_AT).recoverable
    after = dr.readiness(manifest, events, last_day + timedelta(days=1), now=READ_AT)
    assert not after.recoverable
    assert any("Board" in s and "needs 2, only 0 verified within 30 days" in s and "Ada overdue since 2026-04-01" in s for s in after.weakest)


def test_failed_checks_and_later_checks_do_not_count() -> None:
    manifest = _manifest(interval=30)
    events = _checks(manifest, (date(2026, 1, 20), ["Ada", "Ben", "Dee", "Eve", "Fay"], "failed"),
                     (date(2026, 3, 1), ["Ada", "Ben", "Dee", "Eve", "Fay"], "passed"))
    as_of = date(2026, 2, 15)  # the ceremony's checks lapsed on 2026-02-01; the passing drill is later
    ready = dr.readiness(manifest, events, as_of, now=READ_AT)
    assert not ready.recoverable
    assert all(not s.current for s in ready.shares)


def test_one_group_short_names_its_missing_custodians() -> None:
    manifest = _manifest(interval=30)
    events = _checks(manifest, (date(2026, 3, 1), ["Ada", "Ben", "Dee", "Eve"], "passed"))
    ready = dr.readiness(manifest, events, date(2026, 3, 10), now=READ_AT)
    assert not ready.recoverable
    officers = next(s for s in ready.weakest if "Officers" in s)
    assert "needs 3, only 2 verified" in officers and "Fay overdue since 2026-02-01" in officers


def _altered(mnemonic: str) -> str:
    share = shamir_mnemonic.Share.from_mnemonic(mnemonic)
    value = bytearray(share.value)
    value[0] ^= 0x5A
    return dataclasses.replace(share, value=bytes(value)).mnemonic()


def test_a_failed_check_after_a_pass_makes_the_share_not_current() -> None:
    manifest = _manifest(interval=30)
    everyone = ["Ada", "Ben", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal"]
    events = _checks(manifest, (date(2026, 3, 1), everyone, "passed"), (date(2026, 3, 5), ["Ada", "Ben"], "failed"))
    ready = dr.readiness(manifest, events, date(2026, 3, 10), now=READ_AT)
    assert not ready.recoverable  # Board needs 2 and only Cy's share stands
    board = next(s for s in ready.weakest if "Board" in s)
    assert "Ada FAILED a check on 2026-03-05 (checked)" in board and "only 1 verified" in board
    assert dr.readiness(manifest, events, date(2026, 3, 4), now=READ_AT).recoverable  # before the failures
