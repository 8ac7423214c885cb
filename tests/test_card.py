"""`coldvault card`: the printed card a custodian keeps, read back as a person would.

The real CLI runs in a subprocess (the `cli` fixture); the PDF is read back with
Poppler's `pdftotext -layout`, so what is checked is the text a printer would put
on paper: every word with its number, the fingerprint, the custodian, the group.
When CI=true a missing pdftotext fails the test: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import tool

from vault.core.formats import sharefile
from vault.core.names import MAX_NAME_LENGTH
from vault.edges.card import render_card

FAST = ("--iteration-exponent", "0")
GROUPS = ("--group-threshold", "2", "--group", "2of3", "--group", "2of3", "--group", "1of1",
          "--group-name", "Founders", "--group-name", "Officers", "--group-name", "Lawyer")


@pytest.fixture
def pdftotext() -> str:
    return tool("pdftotext", "poppler-utils")


def pdf_text(pdftotext: str, path: Path) -> str:
    return subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def flat(text: str) -> str:
    """White space runs as one space: a sentence reads the same however the layout spaced it."""
    return " ".join(text.split())


def share_words(path: Path) -> list[str]:
    return list(sharefile.parse(path.read_text()).words)


def assert_words_on_card(text: str, words: list[str]) -> None:
    """Each word right after its 1-based number, as a person copies them."""
    for number, word in enumerate(words, start=1):
        assert re.search(rf"(?<!\d){number}\s+{word}\b", text), f"word {number} ({word}) is not on the card"


def assert_ok(run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"


def split(cli, out: str, *args: str) -> Path:
    run = cli("split", *args, "--out", out, *FAST)
    assert_ok(run)
    return Path(out)


# --------------------------------------------------------------------------- what the card says


@pytest.mark.parametrize("bits, count", [(128, 20), (256, 33)])
def test_the_card_shows_every_numbered_word_the_fingerprint_the_custodian_and_the_group(cli, tmp_path, pdftotext, bits, count):
    split(cli, "vault", "--generate", str(bits), *GROUPS)
    share = tmp_path / "vault/shares/group2-share1.txt"
    run = cli("card", share, "--manifest", "vault/manifest.json", "--custodian", "Alice Example", "--out", "card.pdf", "--json")
    assert_ok(run)
    fingerprint = cli("inspect", share, "--json").json()["share_fingerprint"]
    assert run.json() == {"out": "card.pdf", "share_fingerprint": fingerprint, "anchor": run.json()["anchor"]}
    assert run.json()["anchor"]["kind"] == "sealed-transcript" and run.json()["anchor"]["transcript"] == "vault/transcript.jsonl"

    text = pdf_text(pdftotext, tmp_path / "card.pdf")
    vault_key = run.json()["anchor"]["vault_key_sha256"]
    assert " ".join(vault_key[i:i + 4] for i in range(0, 32, 4)) in text, "the vault key, in the groups read aloud"
    words = share_words(share)
    assert len(words) == count
    assert_words_on_card(text, words)
    assert fingerprint in text
    assert "Alice Example" in text
    assert "group 2 of 3 (Officers), share 1 of 3; 2 needed" in flat(text)
    assert "2 of the 3 groups are needed to recover" in flat(text)
    assert "SECRET: with enough shares anyone can take the funds" in flat(text)
    assert "signature" in text


def test_without_a_manifest_the_card_still_says_what_the_share_knows(cli, tmp_path, pdftotext):
    split(cli, "vault", "--generate", "128", "--scheme", "2of3")
    assert_ok(cli("card", "vault/shares/group1-share3.txt", "--out", "card.pdf"))
    text = flat(pdf_text(pdftotext, tmp_path / "card.pdf"))
    assert "group 1 of 1, share 3; 2 needed" in text
    assert "groups are needed" not in text  # one group: nothing to say about groups


def test_the_manifest_custodian_is_printed_unless_overridden(cli, tmp_path, pdftotext):
    split(cli, "vault", "--generate", "128", "--scheme", "2of3", "--name", "Family vault 2025")
    assert_ok(cli("card", "vault/shares/group1-share1.txt", "--manifest", "vault/manifest.json", "--out", "card.pdf"))
    text = flat(pdf_text(pdftotext, tmp_path / "card.pdf"))
    assert "Family vault 2025" in text
    assert "share 1 of 3; 2 needed" in text


def test_a_name_outside_latin_1_is_printed_as_written(cli, tmp_path, pdftotext):
    split(cli, "vault", "--generate", "128", "--scheme", "2of3")
    refused = cli("card", "vault/shares/group1-share1.txt", "--custodian", "Zoë 李\x07Wong", "--out", "card.pdf")
    assert refused.returncode == 3 and "U+0007" in refused.stderr  # a name holds no control character (vault.core.names)
    run = cli("card", "vault/shares/group1-share1.txt", "--custodian", "Zoë 李 Wong", "--out", "card.pdf")
    assert_ok(run)
    assert "Zoë 李 Wong" in flat(pdf_text(pdftotext, tmp_path / "card.pdf"))


def test_the_fullest_card_still_fits_its_one_page(cli, tmp_path, pdftotext):
    """33 words beside a QR code, two groups, a signing key, the passphrase rule and names of the longest kind."""
    split(cli, "vault", "--generate", "256", *GROUPS)
    share = sharefile.parse((tmp_path / "vault/shares/group1-share1.txt").read_text())
    long_name = ("李" * 30 + " Łucja Żółć Σοφία Иван " * 3)[:MAX_NAME_LENGTH]
    pdf = render_card(share, ceremony_name=long_name, ceremony_id="c-1", custodian=long_name, group_name=long_name,
                      member_count=3, signing_key_sha256="ab" * 32, passphrase_protected=True, qr=True)
    (tmp_path / "card.pdf").write_bytes(pdf)
    text = pdf_text(pdftotext, tmp_path / "card.pdf")
    assert "\f" not in text.rstrip("\f")  # one page
    assert_words_on_card(text, list(share.words))
    assert "Custodian's signature" in text and "Date" in text


# --------------------------------------------------------------------------- a card is a plaintext share


def spoken(run) -> set[str]:
    """The lower-case words a run printed, on stdout and stderr."""
    return set(re.sub(r"[^a-z]+", " ", (run.stdout + run.stderr).lower()).split())


def test_the_card_is_mode_0600_and_nothing_printed_holds_the_words(cli, tmp_path):
    """Two vaults' shares with the same file names: what the command says for one
    and not the other is about that share, and must hold none of its words."""
    for name in ("a", "b"):
        split(cli, name, "--generate", "256", "--scheme", "2of3")
    runs = {}
    for name in ("a", "b"):
        share = f"{name}/shares/group1-share1.txt"
        runs[name] = [
            cli("card", share, "--out", f"{name}.pdf"),
            cli("card", share, "--out", f"{name}-json.pdf", "--json"),
            cli("card", share, "--out", f"{name}.pdf"),  # refused: it exists
        ]
        assert [run.returncode for run in runs[name]] == [0, 0, 5]
        for out in (f"{name}.pdf", f"{name}-json.pdf"):
            assert stat.S_IMODE((tmp_path / out).stat().st_mode) == 0o600

    words = set(share_words(tmp_path / "a/shares/group1-share1.txt"))
    for mine, other in zip(runs["a"], runs["b"]):
        assert not words & (spoken(mine) - spoken(other)), (mine.stdout, mine.stderr)


def test_an_existing_out_is_refused_with_exit_5_and_left_alone(cli, tmp_path):
    split(cli, "vault", "--generate", "128", "--scheme", "2of3")
    (tmp_path / "card.pdf").write_bytes(b"someone's earlier card")
    run = cli("card", "vault/shares/group1-share1.txt", "--out", "card.pdf")
    assert run.returncode == 5
    assert run.stderr.startswith("error: ")
    assert (tmp_path / "card.pdf").read_bytes() == b"someone's earlier card"


def test_a_share_not_in_the_manifest_is_refused_with_exit_3_and_nothing_written(cli, tmp_path):
    split(cli, "vault", "--generate", "128", "--scheme", "2of3")
    split(cli, "other", "--generate", "128", "--scheme", "2of3")
    run = cli("card", "other/shares/group1-share1.txt", "--manifest", "vault/manifest.json", "--out", "card.pdf")
    assert run.returncode == 3
    assert "not listed in the manifest" in run.stderr
    assert not (tmp_path / "card.pdf").exists()


def test_an_envelope_is_opened_with_its_token_and_carded(cli, tmp_path, softhsm, pdftotext):
    split(cli, "vault", "--generate", "128", "--scheme", "2of3")
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "cust", "--pin", "1234", "--so-pin", "5678"],
                   env={**os.environ, **softhsm}, capture_output=True, check=True)
    (tmp_path / "pin.txt").write_text("1234\n")
    pin = ("--pin-file", "cust=pin.txt")
    assert_ok(cli("token", "keygen", "--token", "cust", "--label", "k", "--type", "aes", *pin, env=softhsm))
    assert_ok(cli("wrap", "vault/shares/group1-share2.txt", "--token", "cust", "--key", "k", *pin,
                  "--out", "share.envelope.json", env=softhsm))
    assert_ok(cli("card", "share.envelope.json", *pin, "--out", "card.pdf", env=softhsm))
    assert_words_on_card(pdf_text(pdftotext, tmp_path / "card.pdf"), share_words(tmp_path / "vault/shares/group1-share2.txt"))


# --------------------------------------------------------------------------- the core


def test_render_card_gives_the_same_bytes_for_the_same_inputs(cli, tmp_path):
    split(cli, "vault", "--generate", "256", "--scheme", "2of3")
    share = sharefile.parse((tmp_path / "vault/shares/group1-share1.txt").read_text())
    names = dict(ceremony_name="Zoë's vault", ceremony_id="c-1", custodian="李", group_name="Board", member_count=3)
    first = render_card(share, **names)
    assert first.startswith(b"%PDF-")
    assert render_card(share, **names) == first
    created = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert render_card(share, **names, created=created) == render_card(share, **names, created=created) != first
