"""Cards for the people in the room: names in their own scripts, a QR code that scans, the passphrase said.

Everything goes through the real CLI. What a card shows is read back as a printer
would put it on paper: Poppler's `pdftotext` for the text, and `pdftoppm`'s picture
of the page decoded by zbar's `zbarimg`, an ordinary QR reader we did not write. When
CI=true a missing tool fails the test: CI must never pass by skipping.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import run_cli, tool

from vault.core.formats import sharefile

FAST = ("--iteration-exponent", "0")
PEOPLE = ("李伟 (Li Wei)", "Łucja Żółć", "Σοφία Παπαδοπούλου", "Иван Петров")
NO_FONT = "Ahmose 𓀀"
"""An Egyptian hieroglyph (U+13000): a letter no font installed by scripts/ensure-os-deps has."""
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def reader() -> "Reader":
    return Reader(tool("pdftotext", "poppler-utils"), tool("pdftoppm", "poppler-utils"), tool("zbarimg", "zbar-tools"))


class Reader:
    """The card as paper: its text, and what a QR reader finds on its picture."""

    def __init__(self, pdftotext: str, pdftoppm: str, zbarimg: str) -> None:
        self.pdftotext, self.pdftoppm, self.zbarimg = pdftotext, pdftoppm, zbarimg

    def text(self, pdf: Path) -> str:
        return " ".join(subprocess.run([self.pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split())

    def picture(self, pdf: Path, png: Path, dpi: int = 100) -> Path:
        subprocess.run([self.pdftoppm, "-r", str(dpi), "-png", "-singlefile", str(pdf), str(png.with_suffix(""))], check=True)
        return png

    def qr_codes(self, pdf: Path) -> list[str]:
        """Every QR code zbar decodes on the page, at 100 dpi (a plain scan)."""
        png = self.picture(pdf, pdf.with_suffix(".png"))
        run = subprocess.run([self.zbarimg, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(png)], capture_output=True, text=True)
        assert run.returncode in (0, 4), run.stderr  # 4: no code found
        return [line for line in run.stdout.splitlines() if line]


def ok(run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"


def words_of(path: Path) -> str:
    """The share in SLIP-39's text form: its words, lower case, separated by single spaces."""
    return " ".join(sharefile.parse(path.read_text()).words)


# --------------------------------------------------------------------------- coldvault card


@pytest.mark.parametrize("person", PEOPLE)
def test_a_card_prints_the_name_as_written_and_its_qr_code_is_the_share(cli, tmp_path, reader, person):
    ok(cli("split", "--generate", "256", "--scheme", "2of3", "--out", "vault", *FAST))
    share = tmp_path / "vault/shares/group1-share2.txt"
    ok(cli("card", share, "--custodian", person, "--qr", "--out", "card.pdf"))
    text = reader.text(tmp_path / "card.pdf")
    assert f"Custodian {person}" in text
    assert "?" not in text
    assert reader.qr_codes(tmp_path / "card.pdf") == [words_of(share)]
    assert "The QR code holds these same" in text and "it is as secret as they are." in text  # beside the words, between rows


def test_without_qr_no_code_is_printed(cli, tmp_path, reader):
    ok(cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault", *FAST))
    ok(cli("card", "vault/shares/group1-share1.txt", "--out", "card.pdf"))
    assert reader.qr_codes(tmp_path / "card.pdf") == []
    assert "QR" not in reader.text(tmp_path / "card.pdf")


def test_a_name_no_font_shows_is_refused_with_exit_3_naming_the_letter_and_nothing_written(cli, tmp_path):
    ok(cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault", *FAST))
    run = cli("card", "vault/shares/group1-share1.txt", "--custodian", NO_FONT, "--out", "card.pdf")
    assert run.returncode == 3, run.stderr
    assert run.stderr.splitlines()[0] == f'error: --custodian "{NO_FONT}": no font on this machine shows 𓀀 (U+13000)'
    assert "hint: install a font that has it" in run.stderr
    assert not (tmp_path / "card.pdf").exists()


def test_a_right_to_left_name_is_refused_rather_than_printed_backwards(cli, tmp_path):
    ok(cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault", *FAST))
    run = cli("card", "vault/shares/group1-share1.txt", "--custodian", "דוד", "--out", "card.pdf")
    assert run.returncode == 3, run.stderr
    assert "cards cannot yet lay out" in run.stderr and "U+05D3, Hebrew" in run.stderr
    assert not (tmp_path / "card.pdf").exists()


@pytest.mark.parametrize("passphrase, says", [
    (True, "Passphrase needed too. These words alone recover a different, empty wallet, with no error. "
           "The passphrase is not on this card; the vault's operator knows where it is kept."),
    (False, "Passphrase none: with enough shares, these words are all that is needed"),
])
def test_the_card_says_whether_a_passphrase_is_needed_too_and_never_shows_it(cli, tmp_path, reader, passphrase, says):
    (tmp_path / "pass.txt").write_text(PASSPHRASE + "\n")
    with_passphrase = ("--passphrase-file", "pass.txt") if passphrase else ()
    ok(cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault", *with_passphrase, *FAST))
    ok(cli("card", "vault/shares/group1-share1.txt", "--manifest", "vault/manifest.json", "--out", "card.pdf"))
    text = reader.text(tmp_path / "card.pdf")
    assert says in text
    assert "horse" not in text
    ok(cli("card", "vault/shares/group1-share2.txt", "--out", "bare.pdf"))  # without the manifest it cannot know
    assert "Passphrase not known: this card was made without the vault's manifest" in reader.text(tmp_path / "bare.pdf")


# --------------------------------------------------------------------------- a ceremony's cards


def plan_text(template: str, *custodians: str, qr: bool = True) -> str:
    """The template with a Greek ceremony name, a Cyrillic group, `custodians` on paper, a passphrase, and QR codes."""
    text = template.replace('name = "Example family vault"', 'name = "Ταμείο Παπαδόπουλου"', 1)
    text = text.replace('name = "Family"', 'name = "Семья"', 1)
    text = text.replace("passphrase = false", "passphrase = true", 1).replace("iteration_exponent = 1", "iteration_exponent = 0", 1)
    text = text.replace("qr = false", f"qr = {'true' if qr else 'false'}", 1)
    head = text.split("  [[group.custodian]]", 1)[0]
    people = "".join(f'  [[group.custodian]]\n  name = "{name}"\n  delivery = "paper"\n\n' for name in custodians)
    return head + people


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> str:
    work = tmp_path_factory.mktemp("init")
    ok(run_cli(work, "ceremony", "init", "plan.toml"))
    return (work / "plan.toml").read_text()


def test_a_ceremony_prints_every_name_as_written_with_a_qr_code_and_the_passphrase_rule(tmp_path, template, reader):
    people = ("李伟 (Li Wei)", "Łucja Żółć", "Bob")
    (tmp_path / "plan.toml").write_text(plan_text(template, *people))
    (tmp_path / "pass.txt").write_text(PASSPHRASE + "\n")
    ok(run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", "--yes", "--passphrase-file", "pass.txt"))

    cards = {}
    for card in sorted((tmp_path / "vault/custodians").glob("*/card.pdf")):
        text = reader.text(card)
        owner = next(name for name in people if f"Custodian {name}" in text)
        cards[owner] = card
        assert "Ceremony Ταμείο Παπαδόπουλου" in text
        assert "group 1 of 1 (Семья)" in text
        assert "Passphrase needed too." in text and "horse" not in text
        assert reader.qr_codes(card) == [words_of(card.parent / "share.txt")]
        readme = (card.parent / "README.md").read_text()
        assert "Passphrase: **needed too.** Enough shares without the vault's passphrase recover a different, empty" in readme
        assert "the vault's\n  operator knows where it is kept." in readme and "horse" not in readme
    assert sorted(cards) == sorted(people)


def test_a_vault_without_a_passphrase_says_so_in_the_readme(tmp_path, template):
    text = plan_text(template, "Alice", "Bob", qr=False).replace("passphrase = true", "passphrase = false")
    (tmp_path / "plan.toml").write_text(text)
    ok(run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", "--yes"))
    readme = (tmp_path / "vault/custodians/alice/README.md").read_text()
    assert "- Passphrase: none. Enough shares recover the vault; nothing else is needed." in readme


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_name_no_font_shows_is_refused_before_the_secret_naming_the_custodian(tmp_path, template, command):
    text = plan_text(template, "Bob", NO_FONT)
    (tmp_path / "plan.toml").write_text(text)
    line = text.splitlines().index(f'  name = "{NO_FONT}"')  # the [[group.custodian]] header is the line before
    extra = ("--out", "vault", "--yes", "--passphrase-file", "missing.txt") if command == "run" else ()
    run = run_cli(tmp_path, "ceremony", command, "plan.toml", *extra)
    assert run.returncode == 3, run.stderr
    error = next(said for said in run.stderr.splitlines() if said.startswith("error: "))
    assert error == f'error: plan.toml line {line}: custodian "{NO_FONT}": no font on this machine shows 𓀀 (U+13000)'
    assert "hint: install a font that has it" in run.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["plan.toml"]  # no secret was asked: the passphrase file is not read


def test_a_group_or_ceremony_name_no_font_shows_is_refused_for_paper_custodians_only(tmp_path, template):
    text = plan_text(template, "Bob", "Carol").replace('name = "Семья"', 'name = "Group 𓀀"')
    (tmp_path / "plan.toml").write_text(text)
    run = run_cli(tmp_path, "ceremony", "check", "plan.toml")
    assert run.returncode == 3 and 'group "Group 𓀀" (on the card of custodian "Bob"): no font on this machine shows 𓀀' in run.stderr


def test_extend_refuses_a_new_paper_custodian_no_font_shows_before_reading_any_share(cli, tmp_path):
    ok(cli("split", "--generate", "128", "--scheme", "2of3", "--out", "vault", *FAST))
    run = cli("extend", "--manifest", "vault/manifest.json", "--group", "1", "--custodian", NO_FONT, "--out", "v2",
              "vault/shares/group1-share1.txt", "no-such-share.txt")
    assert run.returncode == 3, run.stderr
    assert f'custodian "{NO_FONT}": no font on this machine shows 𓀀 (U+13000)' in run.stderr
    assert not (tmp_path / "v2").exists()
