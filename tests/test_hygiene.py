"""Secret hygiene: no core dumps, secrets zeroed when dropped, no secret in a `repr` or
an error, and nothing secret anywhere after a whole life cycle on SoftHSM2 tokens.

The life cycle is the one a custody team lives: a ceremony (demo plan: paper, AES,
EC and RSA deliveries, a passphrase, a signed transcript), `transcript verify`,
`verify`, a quorum drill, `drill status`, `drill report`, and a recovery to a file.
Then every byte it left under its directory (token store included) and everything
every command printed is searched for the seed (hex and BIP-39 words), the
passphrase, every PIN, and every share (all its words, and any 4 words in a row).
Only a paper custodian's own share.txt and card.pdf hold their own share, and only
the recovery's --out file holds the seed.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import pkgutil
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import softhsm_kit  # scripts/, on the path through conftest
from conftest import Run, run_cli, softhsm_module
from mnemonic import Mnemonic
from test_leaks import Secrets, share_words

import vault
from vault.core import backup, proof
from vault.core.delivery import Holder, Packet
from vault.core.scheme import make_scheme
from vault.core.secret import Secret, SecretBytes, SecretKind, from_bip39, from_hex
from vault.core.slip39.recovery import Entry, ShareSet
from vault.core.slip39.share import check_passphrase, parse_share
from vault.core.verification import check_secret
from vault.edges import sources
from vault.errors import VaultError

ROOT = Path(__file__).resolve().parent.parent
SECRET_HEX = "c0ffee0ddba11e55b0a710ad5ca1ab1e0123456789abcdeffedcba9876543210"
PASSPHRASE = "violet tortoise 88"
BIP39 = (  # a BIP-39 test vector (24 words)
    "hamster diagram private dutch cause delay private meat slide toddler razor book "
    "happy fancy gospel tennis maple dilemma loan word shrug inflict delay length"
)
TIMEOUT = 60


# --------------------------------------------------------------------------- core dumps


def started(args: list[str], cwd: Path, preexec_fn: Callable[[], None] | None, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=preexec_fn)


def wait_for(process: subprocess.Popen, line: str) -> None:
    """Until `line` is on the process's stderr (it then sleeps, paused)."""
    assert process.stderr is not None
    seen = ""
    deadline = time.monotonic() + TIMEOUT
    while line not in seen.splitlines():
        ready = select.select([process.stderr], [], [], max(0.0, deadline - time.monotonic()))[0]
        chunk = os.read(process.stderr.fileno(), 65536) if ready else b""
        if not chunk:
            process.kill()
            pytest.fail(f"no {line!r} on stderr:\n{seen}")
        seen += chunk.decode()


def dumpable(pid: int) -> bool:
    """Linux gives a process that is not dumpable /proc files owned by root:root
    (task_dump_owner); a dumpable one's belong to its own effective uid and gid."""
    status = Path(f"/proc/{pid}/status")
    text = status.read_text()
    uid = int(re.search(r"^Uid:\s+\d+\s+(\d+)", text, re.M).group(1))
    gid = int(re.search(r"^Gid:\s+\d+\s+(\d+)", text, re.M).group(1))
    assert (uid, gid) != (0, 0), "run as root:root, dumpable and not dumpable look alike"
    owner = status.stat()
    return (owner.st_uid, owner.st_gid) == (uid, gid)


def not_root_root() -> None:
    """preexec_fn: as root, take another group (and keep root's rights), so /proc can tell."""
    if os.geteuid() == 0:
        os.setgid(65534)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")
def test_a_ceremony_holding_the_secret_cannot_dump_core(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "ceremony", "init", "plan.toml").returncode == 0
    held = started([sys.executable, str(ROOT / "tests" / "paused_cli.py"), "secret", "ceremony", "run", "plan.toml", "--out", "vault", "--yes"],
                   tmp_path, not_root_root)
    control = started([sys.executable, "-c", "import sys, time; print('ready', file=sys.stderr, flush=True); time.sleep(60)"],
                      tmp_path, not_root_root)
    try:
        wait_for(held, "paused at secret")
        wait_for(control, "ready")
        limits = Path(f"/proc/{held.pid}/limits").read_text()
        assert re.search(r"^Max core file size\s+0\s+0\s", limits, re.M), limits
        assert dumpable(control.pid), "the control (plain Python) should be dumpable: /proc cannot tell here"
        assert not dumpable(held.pid), "coldvault holds a secret and could dump core"
    finally:
        for process in (held, control):
            process.kill()
            process.wait()
    assert not (tmp_path / "vault").exists()


# --------------------------------------------------------------------------- zeroed when dropped

FREED = """
import ctypes
from vault.core.secret import SecretBytes

SIZE = 4096  # malloc'ed (not in Python's small-object pools) and below the mmap threshold: stays mapped when freed

def left_after_free(kind):
    buffer = kind(b"\\xa5" * SIZE)
    view = (ctypes.c_char * SIZE).from_buffer(buffer)
    address = ctypes.addressof(view)
    del view, buffer
    return ctypes.string_at(address + 64, SIZE - 128).count(0xA5)  # malloc reuses the first bytes for its lists

print(left_after_free(bytearray), left_after_free(SecretBytes))
"""


def test_a_secret_buffer_is_zeroed_when_it_is_freed() -> None:
    """Read the heap where a buffer was, after it was freed (in a subprocess: this is not
    something to do in the test runner). A plain bytearray leaves its bytes there."""
    done = subprocess.run([sys.executable, "-c", FREED], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    plain, secret = map(int, done.stdout.split())
    if plain == 0:
        pytest.skip("this allocator clears freed memory itself: nothing to compare with")
    assert secret == 0


def test_secrets_and_passphrases_are_held_in_buffers_that_can_be_wiped(tmp_path: Path) -> None:
    secret = from_hex(SECRET_HEX)
    assert isinstance(secret.value, SecretBytes) and secret.value.hex() == SECRET_HEX
    (tmp_path / "pass.txt").write_text(PASSPHRASE + "\n")
    passphrase = sources.read_passphrase(tmp_path / "pass.txt", prompt=False, confirm=False)
    assert isinstance(passphrase, SecretBytes) and passphrase == PASSPHRASE.encode()
    assert isinstance(from_bip39(BIP39).value, SecretBytes)
    passphrase.wipe()
    assert passphrase == bytes(len(PASSPHRASE))


# --------------------------------------------------------------------------- repr and errors


def split_in_memory() -> tuple[Secret, SecretBytes, backup.Backup]:
    secret = from_hex(SECRET_HEX)
    passphrase = SecretBytes(check_passphrase(PASSPHRASE))
    made = backup.make_backup(secret, make_scheme(1, [(2, 3)]), passphrase, backup.SplitOptions(iteration_exponent=0),
                              datetime(2024, 1, 1, tzinfo=timezone.utc))
    return secret, passphrase, made


def watched(made: backup.Backup) -> Secrets:
    secrets = Secrets()
    secrets.add_hex("secret", SECRET_HEX)
    secrets.add_text("passphrase", PASSPHRASE)
    for share in made.shares:
        secrets.add_words(f"share {share.member_index + 1}", list(share.words))
    return secrets


def test_no_repr_or_str_shows_a_secret_a_passphrase_or_a_share() -> None:
    secret, passphrase, made = split_in_memory()
    share = made.shares[0]
    holder = Holder(0, 0, "Alice", "alice", None)
    holders = [
        secret, secret.value, passphrase, made, *made.files, *made.shares,
        Entry("share.txt", share), ShareSet((Entry("share.txt", share),)), proof.Given("share.txt", share),
        holder, Packet(holder, share, "custodians/alice/share.txt", None, True),
    ]
    secrets = watched(made)
    assert secrets.found(made.files[1].content), "the scanner sees a share when there is one"
    for holder in holders:
        for shown in (repr(holder), str(holder)):
            assert not secrets.found(shown), f"{type(holder).__name__}: {shown}"


SECRET_FIELD_NAMES = {"words", "mnemonic", "passphrase", "pin", "seed", "entropy", "master_secret", "plaintext", "value", "text"}
"""Field names that hold secret material when their type is text or bytes."""


def test_every_dataclass_field_named_like_a_secret_is_left_out_of_its_repr() -> None:
    """For dataclasses added later: `words: tuple[str, ...]` without repr=False fails here."""
    shown = []
    for module in pkgutil.walk_packages(vault.__path__, "vault."):
        if module.name == "vault.__main__":
            continue
        for name, value in vars(importlib.import_module(module.name)).items():
            if not (isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module.name):
                continue
            for field in dataclasses.fields(value):
                carrier = re.search(r"\b(str|bytes|bytearray|SecretBytes)\b", str(field.type))
                if field.name in SECRET_FIELD_NAMES and carrier and field.repr:
                    shown.append(f"{module.name}.{name}.{field.name}: {field.type}")
    assert shown == []


def windows(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(len(text) - size + 1) if text[i:i + size].strip()]


def word_pairs(text: str) -> list[str]:
    words = text.split()
    return [f"{a} {b}" for a, b in zip(words, words[1:])]


def _bip39_with_bad_word() -> str:
    return BIP39.replace("toddler", "toddlr")


def _bip39_with_two_words_swapped() -> str:
    words = BIP39.split()
    words[0], words[1] = words[1], words[0]
    return " ".join(words)


ERROR_PATHS = {
    "hex with a bad digit": (lambda: from_hex(SECRET_HEX[:30] + "x" + SECRET_HEX[31:]), windows(SECRET_HEX, 6)),
    "hex of an odd length": (lambda: from_hex(SECRET_HEX[:-1]), windows(SECRET_HEX, 6)),
    "BIP-39 with a word not in the list": (lambda: from_bip39(_bip39_with_bad_word()), word_pairs(BIP39)),
    "BIP-39 with a wrong checksum": (lambda: from_bip39(_bip39_with_two_words_swapped()), word_pairs(BIP39)),
    "a passphrase that is not ASCII": (lambda: check_passphrase(PASSPHRASE + "\u00e9"), windows(PASSPHRASE, 5)),
}


@pytest.mark.parametrize("case", ERROR_PATHS, ids=list(ERROR_PATHS))
def test_errors_about_a_secret_do_not_repeat_it(case: str) -> None:
    call, fragments = ERROR_PATHS[case]
    with pytest.raises(VaultError) as raised:
        call()
    said = " ".join([raised.value.message, *raised.value.hints, str(raised.value)]).lower()
    assert [f for f in fragments if f.lower() in said] == [], said


def test_a_wrong_secret_or_a_mistyped_share_is_reported_without_the_secret() -> None:
    _, _, made = split_in_memory()
    other = Secret(SecretKind.MASTER_SECRET, bytes(32))
    with pytest.raises(VaultError) as mismatch:
        check_secret(other, made.manifest, passphrase_given=True)
    words = list(made.shares[0].words)
    words[9] = "zzzz"  # a typo
    with pytest.raises(VaultError) as typo:
        parse_share(" ".join(words))
    secrets = watched(made)
    for error in (mismatch.value, typo.value):
        assert not secrets.found(" ".join([error.message, *error.hints])), error.message


# --------------------------------------------------------------------------- a whole life cycle on tokens


@dataclass
class LifeCycle:
    work: Path
    runs: dict[str, Run]
    shares: dict[str, list[str]]
    """Custodian -> their share's words (sealed ones opened with their token after the fact)."""
    paper: dict[str, Path]
    """Paper custodian -> their folder."""
    inputs: set[Path]
    recovered: Path


def _need(tool_missing: bool, message: str) -> None:
    if tool_missing:
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def life_cycle(tmp_path_factory) -> LifeCycle:
    _need(softhsm_module() is None or shutil.which("softhsm2-util") is None, "SoftHSM2 is not installed")
    work = tmp_path_factory.mktemp("life-cycle")
    plan = (ROOT / "ceremony" / "demo.toml").read_text().replace('source = "generate"', 'source = "bip39"')
    assert 'source = "bip39"' in plan
    (work / "plan.toml").write_text(plan)
    kit = softhsm_kit.provision(work / "plan.toml", work)
    (work / "seed.txt").write_text(BIP39 + "\n")
    (work / "passphrase.txt").write_text(PASSPHRASE + "\n")
    inputs = {work / "seed.txt", work / "passphrase.txt", *kit.pins.values()}

    def cli(*args: str) -> Run:
        return run_cli(work, *args, env=kit.env)

    manifest, with_pass, pins = "vault/manifest.json", ("--passphrase-file", "passphrase.txt"), kit.pin_args()
    runs = {"ceremony run": cli("ceremony", "run", "plan.toml", "--out", "vault", "--yes", "--bip39-file", "seed.txt", *with_pass, *pins)}
    assert runs["ceremony run"].returncode == 0, runs["ceremony run"].stderr
    entries = manifest_shares(work / manifest)
    packets = [f"vault/{e['file']}" for e in entries]
    quorum = quorum_of(work / manifest)
    runs["transcript verify"] = cli("transcript", "verify", "vault")
    runs["verify"] = cli("verify", "--manifest", manifest, *with_pass, *packets, *pins)
    runs["drill run"] = cli("drill", "run", "--manifest", manifest, *with_pass, "--operator", "Dana", "--witness", "Erin", *quorum, *pins)
    runs["drill status"] = cli("drill", "status", "--manifest", manifest)
    runs["drill report"] = cli("drill", "report", "--manifest", manifest, "--out", "report.html")
    runs["recover"] = cli("recover", "--manifest", manifest, *with_pass, *quorum, *pins, "--out", "recovered.txt")
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}: exit {run.returncode}\n{run.stderr}"

    shares, paper = {}, {}
    for entry in entries:
        path = work / "vault" / entry["file"]
        if entry["wrapping"]:  # opened here, after the life cycle: this run prints the words on purpose
            opened = cli("unwrap", str(path), "--json", *pins)
            assert opened.returncode == 0, opened.stderr
            shares[entry["custodian"]] = opened.json()["mnemonic"].split()
        else:
            shares[entry["custodian"]] = share_words(path)
            paper[entry["custodian"]] = path.parent
    return LifeCycle(work, runs, shares, paper, inputs, work / "recovered.txt")


def manifest_shares(manifest: Path) -> list[dict]:
    return json.loads(manifest.read_text())["shares"]


def quorum_of(manifest: Path) -> list[str]:
    """The first member-threshold shares of the first group-threshold groups."""
    document = json.loads(manifest.read_text())
    chosen = []
    for group in document["scheme"]["groups"][: document["scheme"]["group_threshold"]]:
        members = [s for s in document["shares"] if s["group_index"] == group["index"]]
        chosen += [f"vault/{s['file']}" for s in members[: group["member_threshold"]]]
    return chosen


def everything_secret(life: LifeCycle) -> Secrets:
    """Labels: "seed ...", "passphrase", "PIN <token>", "share <custodian> (...)"."""
    secrets = Secrets()
    secrets.add_hex("seed", Mnemonic("english").to_entropy(BIP39.split()).hex())
    secrets.add_text("seed (BIP-39 words)", BIP39)
    secrets.add_words("seed", BIP39.split())
    secrets.add_text("passphrase", PASSPHRASE)
    for pin in life.inputs - {life.work / "seed.txt", life.work / "passphrase.txt"}:
        secrets.add_text(f"PIN {pin.stem}", pin.read_text().strip())
    for custodian, words in life.shares.items():
        secrets.add_words(f"share {custodian}", words)
    return secrets


def pdf_text(path: Path) -> str:
    found = shutil.which("pdftotext")
    _need(found is None, "pdftotext is not installed (Debian package poppler-utils; `make test` installs it)")
    return subprocess.run([found, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.softhsm
def test_the_life_cycle_prints_nothing_secret(life_cycle: LifeCycle) -> None:
    secrets = everything_secret(life_cycle)
    leaks = {f"{name} {stream}": secrets.found(getattr(run, stream))
             for name, run in life_cycle.runs.items() for stream in ("stdout", "stderr")}
    assert {where: hits for where, hits in leaks.items() if hits} == {}


@pytest.mark.softhsm
def test_the_life_cycle_writes_nothing_secret_outside_the_packets_and_the_recovered_file(life_cycle: LifeCycle) -> None:
    secrets = everything_secret(life_cycle)
    allowed = {life_cycle.recovered} | {folder / name for folder in life_cycle.paper.values() for name in ("share.txt", "card.pdf")}
    scanned, leaks = [], {}
    for path in sorted(p for p in life_cycle.work.rglob("*") if p.is_file()):
        if path in life_cycle.inputs or path in allowed:
            continue
        scanned.append(path.relative_to(life_cycle.work))
        hits = secrets.found(path.read_bytes().decode("latin-1"))
        if hits:
            leaks[str(path.relative_to(life_cycle.work))] = hits
    assert leaks == {}
    # The scanner sees what it looks for: every input (seed, passphrase, PINs) is found.
    assert all(secrets.found(path.read_text()) for path in life_cycle.inputs)
    # What was searched: the ceremony, the drill log and report, and the token store.
    names = {str(p) for p in scanned}
    assert {"vault/manifest.json", "vault/transcript.jsonl", "vault/drills.jsonl", "report.html"} <= names
    assert any(p.parts[0] == "softhsm-tokens" for p in scanned)


@pytest.mark.softhsm
def test_each_paper_packet_holds_its_own_share_and_nothing_else_secret(life_cycle: LifeCycle) -> None:
    secrets = everything_secret(life_cycle)
    assert life_cycle.paper, "the plan has paper custodians"
    for custodian, folder in life_cycle.paper.items():
        own = f"share {custodian} ("
        for name, text in (("share.txt", (folder / "share.txt").read_text()), ("card.pdf", pdf_text(folder / "card.pdf"))):
            hits = secrets.found(text)
            assert f"share {custodian} (all words)" in hits, f"{custodian}'s {name} does not show their share"
            assert [h for h in hits if not h.startswith(own)] == [], f"{custodian}'s {name}"
        # The PDF's own bytes (compressed or not) hold nothing else either.
        raw = [h for h in secrets.found((folder / "card.pdf").read_bytes().decode("latin-1")) if not h.startswith(own)]
        assert raw == [], f"{custodian}'s card.pdf"


@pytest.mark.softhsm
def test_the_recovered_file_holds_the_seed_and_nothing_else(life_cycle: LifeCycle) -> None:
    assert life_cycle.recovered.read_text() == BIP39 + "\n"
    assert oct(life_cycle.recovered.stat().st_mode & 0o777) == "0o600"
    hits = everything_secret(life_cycle).found(life_cycle.recovered.read_text())
    assert "seed (all words)" in hits
    assert [h for h in hits if not h.startswith("seed")] == []
