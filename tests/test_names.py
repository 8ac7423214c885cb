"""Names as people write them: any script, folders in readable ASCII, one rule for "the same name".

Through the real CLI: a plan whose custodians write their names in Chinese, Polish,
German, Danish, Russian, Greek and Arabic runs and gives the folders docs/plan.md
promises; two names equal once case and accents are set aside are refused on the
plan's line and by `extend`; a witness typing her name without its accent at a real
pseudo-terminal confirms, and the transcript keeps the name as the plan writes it.
Then the rule itself (`vault.core.names`): the fold, the folder, the fallback, the suffixes.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path

import pytest
from conftest import run_cli
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from test_hostile_strings import assert_shown_safely, on_screen

from vault.core import names
from vault.errors import InvalidInput

CUSTODIANS = {
    "李伟 (Li Wei)": "li-wei-li-wei",
    "Łucja Żółć": "lucja-zolc",
    "Zoë Müller": "zoe-muller",
    "Ærin Ødegård": "aerin-odegard",
    "Иван Петров": "ivan-petrov",
    "Σοφία": "sofia",
    "محمد علي": "mhmd-ly",
    "李伟": "li-wei",
    "黎伟": "li-wei-2",  # another person: folds to another name, transliterates to the same folder
}
"""Each custodian's name as the plan writes it, and the folder docs/plan.md says it gets."""


SEALED = {"محمد علي"}
"""Delivered sealed to a public key: a card cannot yet lay out Arabic (docs/plan.md, "Names on cards")."""


def plan_text(custodians: list[str], witnesses: list[str] | None = None) -> str:
    members = "".join(
        f'\n  [[group.custodian]]\n  name = "{name}"\n'
        + ('  delivery = "ecdh-p256"\n  public_key = "key.pem"\n' if name in SEALED else '  delivery = "paper"\n')
        for name in custodians
    )
    return f"""format = "coldvault-plan/1"

[ceremony]
name = "Família Ødegård"
operator = "Olga"
witnesses = {json.dumps(witnesses or ["Wendy"], ensure_ascii=False)}

[secret]
source = "generate"
bits = 128

[slip39]
iteration_exponent = 0

[[group]]
name = "Família"
threshold = 2
{members}"""


def shares(vault: Path) -> list[dict]:
    return json.loads((vault / "manifest.json").read_text(encoding="utf-8"))["shares"]


def test_names_in_any_script_run_and_get_readable_ascii_folders(tmp_path):
    (tmp_path / "plan.toml").write_text(plan_text(list(CUSTODIANS)), encoding="utf-8")
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    (tmp_path / "key.pem").write_bytes(key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    done = run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", "--yes")
    assert done.returncode == 0, done.stderr
    vault = tmp_path / "vault"
    assert sorted(p.name for p in (vault / "custodians").iterdir()) == sorted(CUSTODIANS.values())
    listed = {entry["custodian"]: entry["file"] for entry in shares(vault)}
    assert listed == {name: f"custodians/{folder}/{'share.envelope.json' if name in SEALED else 'share.txt'}"
                      for name, folder in CUSTODIANS.items()}  # names as written
    readme = (vault / "custodians" / "lucja-zolc" / "README.md").read_text(encoding="utf-8")
    assert "Łucja Żółć" in readme


def test_two_names_equal_once_accents_are_set_aside_are_refused_naming_the_line(tmp_path):
    (tmp_path / "plan.toml").write_text(plan_text(["Zoë Müller", "Anna", "Zoé Müller"]), encoding="utf-8")
    done = run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", "--yes")
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines()[0] == (
        'error: plan.toml line 28: duplicate custodian "Zoé Müller": the same name as "Zoë Müller" (line 20) '
        "once case, accents, width and punctuation are set aside")
    assert not (tmp_path / "vault").exists()


def test_a_witness_typing_her_name_without_its_accent_confirms_and_the_transcript_keeps_the_plans(tmp_path):
    """A US keyboard has no "á": "Tomas Ortega" typed at a real terminal confirms "Tomás Ortega"."""
    (tmp_path / "plan.toml").write_text(plan_text(["Zoë Müller", "李伟"], witnesses=["Tomás Ortega"]), encoding="utf-8")
    code, screen = on_screen(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", typed="tomas  ORTEGA\n" * 12)
    shown = screen.decode(errors="replace")
    assert code == 0, shown
    assert_shown_safely(screen)
    assert "Tomás Ortega, to confirm that you are present, type your name: " in shown
    assert "that is not" not in shown
    events = [json.loads(line) for line in (tmp_path / "vault" / "transcript.jsonl").read_text(encoding="utf-8").splitlines()]
    present = next(event["data"] for event in events if event["event"] == "witnesses-present")
    assert present["witnesses"] == ["Tomás Ortega"]
    assert present["confirmed"].endswith(": Tomás Ortega")


def test_a_witness_typing_another_name_is_asked_again(tmp_path):
    """Folding sets accents aside, not letters: "Tomas Ortiga" is not "Tomás Ortega"."""
    (tmp_path / "plan.toml").write_text(plan_text(["Ann", "Bo"], witnesses=["Tomás Ortega"]), encoding="utf-8")
    code, screen = on_screen(tmp_path, "ceremony", "run", "plan.toml", "--out", "vault", typed="Tomas Ortiga\n" * 3)
    assert code == 1, screen
    assert screen.count(b'that is not "Tom\xc3\xa1s Ortega"; try again') == 3
    assert not (tmp_path / "vault").exists()


def test_extend_uses_the_same_rule_and_gives_a_newcomer_a_folder_of_their_own(tmp_path):
    (tmp_path / "plan.toml").write_text(plan_text(["Zoë Müller", "李伟"]), encoding="utf-8")
    assert run_cli(tmp_path, "ceremony", "run", "plan.toml", "--out", "v1", "--yes").returncode == 0
    basis = [str(tmp_path / "v1" / "custodians" / folder / "share.txt") for folder in ("zoe-muller", "li-wei")]
    base = ["extend", "--manifest", "v1/manifest.json", "--group", "1", *basis]
    refused = run_cli(tmp_path, *base, "--custodian", "ZOE MULLER", "--out", "refused")
    assert refused.returncode == 3, refused.stderr
    assert ('error: "ZOE MULLER" is already a custodian of this vault ("Zoë Müller", the same name once case, accents, '
            "width and punctuation are set aside)") in refused.stderr
    assert not (tmp_path / "refused").exists()
    done = run_cli(tmp_path, *base, "--custodian", "黎伟", "--out", "v2")
    assert done.returncode == 0, done.stderr
    assert {entry["custodian"]: entry["file"] for entry in shares(tmp_path / "v2")}["黎伟"] == "custodians/li-wei-2/share.txt"
    assert (tmp_path / "v2" / "custodians" / "li-wei-2" / "share.txt").exists()


# ---------------------------------------------------------------- the rule itself


@pytest.mark.parametrize(("one", "other"), [
    ("Tomás Ortega", "Tomas Ortega"), ("Zoé Müller", "Zoë Müller"), ("Zoë Müller", "ZOE  MULLER"), ("Łucja", "Lucja"),
    ("Ærin Ødegård", "AErin Odegard"), ("Σοφία", "ΣΟΦΙΑ"), ("Jean-Luc", "jean luc"), ("Ｂob", "Bob"),
    ("Rene\u0301e", "Renée"), ("O’Neil", "O'Neil"), ("Straße", "STRASSE"),
])
def test_names_equal_once_case_accents_width_and_punctuation_are_set_aside_are_one(one, other):
    assert names.same(one, other) and names.twin(one, ["Bob", other]) == other


@pytest.mark.parametrize(("one", "other"), [
    ("李伟", "黎伟"), ("Ivan", "lvan"), ("Anna", "Ana"), ("はやし", "ばやし"), ("Li Wei", "LiWei"), ("李伟", "Li Wei"), ("\u0294a", "a"),
])
def test_names_that_differ_in_letters_are_two(one, other):
    assert not names.same(one, other)


def test_a_folder_is_safe_everywhere_and_the_same_on_every_run():
    assert names.folder("Carol O'Neil-Smith") == "carol-o-neil-smith"
    assert names.folder("김민준") == "gim-min-jun" and names.folder("すずき") == "suzuki"
    fallback = names.folder("\U00020002")  # a rare Han character (Japanese names) that anyascii does not spell
    assert fallback == "name-" + hashlib.sha256("\U00020002".encode()).hexdigest()[:12]
    long = names.folder("李" * 64)
    assert len(long) <= names.MAX_FOLDER_LENGTH and not long.endswith("-")
    assert names.folders(["Con", "aux", "Bob", "bob!", "Bob"], taken=["bob"]) == ("con-2", "aux-2", "bob-2", "bob-3", "bob-4")


@pytest.mark.parametrize("name", ["李伟", "Σοφία", "محمد علي", "ⵜⴰⵎⴰⵣⵉⵖⵜ", "देवनागरी", "Ærin Ødegård"])
def test_every_folder_is_lower_case_ascii_letters_digits_and_hyphens(name):
    folder = names.folder(name)
    assert folder and folder.isascii() and folder == folder.lower() and not folder.startswith(("-", "."))
    assert all(c.isalnum() or c == "-" for c in folder) and ".." not in folder


def test_a_name_needs_a_letter_or_a_digit_of_some_script():
    assert names.check(unicodedata.normalize("NFD", "李伟")) == "李伟"
    with pytest.raises(InvalidInput, match="at least one letter or digit"):
        names.check("- . -")
