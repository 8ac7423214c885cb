"""End to end: every example plan runs as a scripted ceremony on real SoftHSM2 tokens.

For each plan in ceremony/ (and the template `ceremony init` writes): the tokens
and keys it names are made (scripts/softhsm_kit.py), the real CLI runs it in a
subprocess, and then, as an auditor and the custodians would: the transcript
verifies, every packet verifies against the manifest, every envelope opens with its
own custodian's token, a quorum recovers the fingerprinted secret, and nothing
secret is anywhere it should not be.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
import softhsm_kit  # scripts/, on the path through conftest
from conftest import Run, run_cli, softhsm_module

from vault.core.formats import plan as plans

ROOT = Path(__file__).resolve().parent.parent

PASSPHRASE = "ceremony passphrase 42"
BIP39_24 = (  # a BIP-39 test vector with irregular entropy, 68a79eac...
    "hamster diagram private dutch cause delay private meat slide toddler razor book "
    "happy fancy gospel tennis maple dilemma loan word shrug inflict delay length"
)
BIP39_12 = "scheme spot photo card baby mountain device kick cradle pact join borrow"
PLANS = sorted(p.name for p in (ROOT / "ceremony").glob("*.toml")) + ["template"]


@dataclass
class Ceremony:
    work: Path
    plan: plans.Plan
    kit: softhsm_kit.Kit
    run: Run
    bip39: str | None

    @property
    def out(self) -> Path:
        return self.work / "vault"

    def cli(self, *args: str, input: str | None = None) -> Run:
        return run_cli(self.work, *args, input=input, env=self.kit.env)

    def manifest(self) -> dict:
        return json.loads((self.out / "manifest.json").read_text())

    def own_token(self, custodian: str) -> str:
        delivery = next(c.delivery for _, _, c in self.plan.custodians() if c.name == custodian)
        return delivery.token or self.kit.home_tokens[custodian]


def _need_softhsm() -> None:
    if softhsm_module() is None or shutil.which("softhsm2-util") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("SoftHSM2 is not installed")
        pytest.skip("SoftHSM2 is not installed")


def run_plan(work: Path, name: str, *extra: str, input: str | None = None) -> Ceremony:
    """Copy a plan into `work`, make its tokens, run it scripted."""
    _need_softhsm()
    plan_path = work / "plan.toml"
    if name == "template":
        assert run_cli(work, "ceremony", "init", "plan.toml").returncode == 0
    else:
        shutil.copy(ROOT / "ceremony" / name, plan_path)
    plan = plans.parse(plan_path.read_text(), "plan.toml")
    kit = softhsm_kit.provision(plan_path, work)
    args = ["ceremony", "run", "plan.toml", "--out", "vault", *kit.pin_args(), *extra]
    if "--yes" not in extra and input is None:
        args.append("--yes")
    bip39 = None
    if plan.secret_source == plans.SecretSource.BIP39:
        bip39 = BIP39_24 if plan.secret_bits == 256 else BIP39_12
        (work / "seed.txt").write_text(bip39 + "\n")
        args += ["--bip39-file", "seed.txt"]
    if plan.passphrase:
        (work / "passphrase.txt").write_text(PASSPHRASE + "\n")
        args += ["--passphrase-file", "passphrase.txt"]
    result = run_cli(work, *args, input=input, env=kit.env)
    return Ceremony(work, plan, kit, result, bip39)


@pytest.fixture(scope="module", params=PLANS)
def ceremony(request, tmp_path_factory) -> Ceremony:
    done = run_plan(tmp_path_factory.mktemp(request.param.replace(".", "-")), request.param)
    assert done.run.returncode == 0, done.run.stderr
    return done


def passphrase_args(ceremony: Ceremony) -> list[str]:
    return ["--passphrase-file", "passphrase.txt"] if ceremony.plan.passphrase else []


def test_the_ceremony_directory_holds_what_the_plan_promised(ceremony: Ceremony) -> None:
    out = ceremony.out
    manifest = ceremony.manifest()
    assert {p.name for p in out.iterdir()} >= {"manifest.json", "transcript.jsonl", "runbook.md", "custodians"}
    assert (out / "transcript.sig.json").exists() == (ceremony.plan.signing is not None)
    custodians = [c for _, _, c in ceremony.plan.custodians()]
    assert [s["custodian"] for s in manifest["shares"]] == [c.name for c in custodians]
    records = ["transcript.jsonl"] + (["transcript.sig.json"] if ceremony.plan.signing is not None else [])
    for entry, custodian in zip(manifest["shares"], custodians):
        folder = out / "custodians" / custodian.folder
        assert (folder / "README.md").exists() and (folder / "manifest.json").read_text() == (out / "manifest.json").read_text()
        assert entry["file"].startswith(f"custodians/{custodian.folder}/")
        if custodian.delivery.sealed:
            assert entry["wrapping"] == custodian.delivery.kind
            assert sorted(p.name for p in folder.iterdir()) == sorted(["README.md", "manifest.json", "share.envelope.json", *records])
        else:
            assert entry["wrapping"] is None
            assert sorted(p.name for p in folder.iterdir()) == sorted(["README.md", "card.pdf", "manifest.json", "share.txt", *records])
            for secret_file in ("share.txt", "card.pdf"):
                assert stat.S_IMODE((folder / secret_file).stat().st_mode) == 0o600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name in records:  # the packet's copy of what anchors its manifest copy
            assert (folder / name).read_bytes() == (out / name).read_bytes()
    assert manifest["policy"]["drill_interval_days"] == ceremony.plan.drill_interval_days
    assert manifest["scheme"]["passphrase_protected"] == ceremony.plan.passphrase


def test_transcript_verifies_and_its_head_is_the_one_printed(ceremony: Ceremony) -> None:
    checked = ceremony.cli("transcript", "verify", "vault", "--json")
    assert checked.returncode == 0, checked.stderr
    head = [line.strip() for line in ceremony.run.stdout.splitlines() if len(line.strip()) == 64][0]
    assert head in (ceremony.out / "runbook.md").read_text()
    lines = (ceremony.out / "transcript.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["hash"] == head
    events = [json.loads(line)["event"] for line in lines]
    assert events[0] == "ceremony-started" and events[-2:] == ["ceremony-completed", "sealed"], "the vault key seals the ceremony"
    assert events.count("packet-made") == len(ceremony.manifest()["shares"])


def test_every_packet_verifies_and_every_qualifying_subset_recovers(ceremony: Ceremony) -> None:
    packets = [f"vault/{s['file']}" for s in ceremony.manifest()["shares"]]
    # No --token: each envelope's token is found by its public key, also those the plan does not name.
    result = ceremony.cli("verify", "--manifest", "vault/manifest.json", *passphrase_args(ceremony), *packets,
                          *ceremony.kit.pin_args(), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    proof = result.json()
    assert proof["ok"] and proof["secret_status"] == "matches"
    assert all(share["status"] == "ok" for share in proof["shares"])


def test_every_envelope_opens_with_its_own_custodians_token(ceremony: Ceremony) -> None:
    for entry in [s for s in ceremony.manifest()["shares"] if s["wrapping"]]:
        own = ceremony.own_token(entry["custodian"])
        opened = ceremony.cli("unwrap", f"vault/{entry['file']}", "--token", own, *ceremony.kit.pin_args([own]), "--json")
        assert opened.returncode == 0, opened.stderr
        assert opened.json()["share_fingerprint"] == entry["share_fingerprint"]


def test_a_quorum_recovers_the_fingerprinted_secret(ceremony: Ceremony) -> None:
    manifest = ceremony.manifest()
    quorum = _quorum(manifest)
    result = ceremony.cli("recover", "--manifest", "vault/manifest.json", *passphrase_args(ceremony), *quorum,
                          *ceremony.kit.pin_args(), "--json")
    assert result.returncode == 0, result.stderr
    assert result.json()["secret_fingerprint"] == manifest["secret"]["secret_fingerprint"]
    if ceremony.bip39:
        revealed = ceremony.cli("recover", "--manifest", "vault/manifest.json", *quorum, *ceremony.kit.pin_args(), "--reveal", "--json")
        assert revealed.json()["secret"] == ceremony.bip39


def test_nothing_secret_outside_paper_packets(ceremony: Ceremony) -> None:
    """No share words outside paper custodians' share.txt and card.pdf; no seed, passphrase or PIN anywhere."""
    manifest = ceremony.manifest()
    mnemonics = [_share_words(ceremony, entry) for entry in manifest["shares"]]
    secret = _reveal(ceremony, _quorum(manifest))
    forbidden = [*mnemonics, secret, PASSPHRASE, *(p.read_text().strip() for p in ceremony.kit.pins.values())]
    if ceremony.bip39:
        forbidden.append(ceremony.bip39)
    paper = {ceremony.out / s["file"] for s in manifest["shares"] if not s["wrapping"]}
    paper |= {path.parent / "card.pdf" for path in paper}
    places = {"stdout": ceremony.run.stdout, "stderr": ceremony.run.stderr}
    for path in ceremony.out.rglob("*"):
        if path.is_file() and path not in paper:
            places[str(path)] = path.read_bytes().decode("latin-1")
    for where, text in places.items():
        for item in forbidden:
            assert item.lower() not in text.lower(), f"a secret is in {where}"
    for path in paper:
        if path.suffix == ".txt":
            assert any(m in path.read_text() for m in mnemonics)


def test_guided_run_asks_each_witness_by_name_and_records_it(tmp_path: Path) -> None:
    names = "Erin\nFrank\n" * 3
    assert run_cli(tmp_path, "ceremony", "init", "plan.toml").returncode == 0
    guided = run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", input=names)
    assert guided.returncode == 0, guided.stderr
    assert "Erin, to confirm that you are present, type your name" in guided.stderr
    events = [json.loads(line) for line in (tmp_path / "vault" / "transcript.jsonl").read_text().splitlines()]
    confirmations = [e["data"]["confirmed"] for e in events if "confirmed" in e["data"]]
    assert len(confirmations) == 3
    assert all("Erin, Frank" in c and "not a terminal" in c for c in confirmations)


def test_a_witness_who_does_not_confirm_stops_the_ceremony_and_nothing_is_written(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "ceremony", "init", "plan.toml").returncode == 0
    refused = run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", input="Erin\nnobody\nnobody\nnobody\n")
    assert refused.returncode == 1
    assert "Frank did not confirm" in refused.stderr and "Traceback" not in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.toml"]


def test_a_scripted_run_is_recorded_as_not_witnessed(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "ceremony", "init", "plan.toml").returncode == 0
    assert run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", "--yes").returncode == 0
    first_lines = (tmp_path / "vault" / "transcript.jsonl").read_text().splitlines()[1]
    assert "scripted run (--yes)" in json.loads(first_lines)["data"]["confirmed"]


def test_a_signed_transcript_without_its_signature_fails(tmp_path: Path) -> None:
    done = run_plan(tmp_path, "demo.toml")
    assert done.run.returncode == 0, done.run.stderr
    (done.out / "transcript.sig.json").unlink()
    checked = done.cli("transcript", "verify", "vault")
    assert checked.returncode == 1 and "transcript.sig.json is missing" in checked.stderr


def _quorum(manifest: dict) -> list[str]:
    """The first member-threshold shares of the first group-threshold groups."""
    chosen = []
    for group in manifest["scheme"]["groups"][: manifest["scheme"]["group_threshold"]]:
        members = [s for s in manifest["shares"] if s["group_index"] == group["index"]]
        chosen += [f"vault/{s['file']}" for s in members[: group["member_threshold"]]]
    return chosen


def _share_words(ceremony: Ceremony, entry: dict) -> str:
    if not entry["wrapping"]:
        return [line for line in (ceremony.out / entry["file"]).read_text().splitlines() if not line.startswith("#")][0]
    own = ceremony.own_token(entry["custodian"])
    opened = ceremony.cli("unwrap", f"vault/{entry['file']}", "--token", own, *ceremony.kit.pin_args([own]), "--json")
    return opened.json()["mnemonic"]


def _reveal(ceremony: Ceremony, quorum: list[str]) -> str:
    result = ceremony.cli("recover", *passphrase_args(ceremony), *quorum, *ceremony.kit.pin_args(),
                          "--format", "hex", "--reveal", "--json")
    assert result.returncode == 0, result.stderr
    return result.json()["secret"]
