"""`coldvault drill report`: the readiness page a custodian reads and an auditor files.

A real ceremony and real drills (a quorum that passes, a partial check, a quorum
drill that fails for want of shares) through the CLI, then the report as of today
and as of a day after every check has expired. The page must say what `drill
status --json` says, name every custodian with their last check, load nothing from
anywhere, and hold no share word.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from vault.core import drill as dr
from vault.core.formats.manifest import Ceremony, GroupInfo, Manifest, Policy, SchemeInfo, SecretInfo, ShareEntry
from vault.core.formats.transcript import Event
from vault.core.secret import SecretKind
from vault.core.text import report

MANIFEST = "vault/manifest.json"
SHARE = "vault/custodians/{}/share.txt"


class _Rows(HTMLParser):
    """The text of every table row, cell by cell: what a reader sees on one line."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.in_cell = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self.rows[-1].append("")
            self.in_cell = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "tr"):
            self.in_cell = False

    def handle_data(self, data: str) -> None:
        if self.in_cell:
            self.rows[-1][-1] += data


def rows(page: str) -> list[list[str]]:
    parser = _Rows()
    parser.feed(page)
    return [[" ".join(cell.split()) for cell in row] for row in parser.rows]


def text(page: str) -> str:
    """The page as words, tags dropped and entities kept as they are (none in these tests' names)."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def words(content: str) -> list[str]:
    return re.findall(r"[a-z]+", content.lower())


@pytest.fixture
def drilled(cli, tmp_path: Path) -> Path:
    """A vault (Alice, Bob, Carol; 2 of 3) after three drills: quorum passed, partial passed, quorum failed."""
    assert cli("ceremony", "init", "plan.toml").returncode == 0
    made = cli("ceremony", "run", "plan.toml", "--out", "vault", "--yes")
    assert made.returncode == 0, made.stderr
    quorum = cli("drill", "run", "--manifest", MANIFEST, SHARE.format("alice"), SHARE.format("bob"),
                 "--operator", "Dana", "--witness", "Erin", "--witness", "Frank")
    assert quorum.returncode == 0, quorum.stderr
    assert cli("drill", "run", "--manifest", MANIFEST, "--partial", SHARE.format("carol")).returncode == 0
    assert cli("drill", "run", "--manifest", MANIFEST, SHARE.format("carol")).returncode == 1
    return tmp_path


def expired(root: Path) -> str:
    """A day after every check (the ceremony's and today's drills) stopped counting."""
    created = json.loads((root / MANIFEST).read_text())["ceremony"]["created"]
    return (date.fromisoformat(created[:10]) + timedelta(days=200)).isoformat()


def report_and_status(cli, root: Path, *as_of: str) -> tuple[str, dict]:
    out = f"report{'-'.join(('',) + as_of)}.html"
    made = cli("drill", "report", "--manifest", MANIFEST, "--out", out, *as_of)
    assert made.returncode == 0, made.stderr
    status = cli("drill", "status", "--manifest", MANIFEST, "--json", *as_of)
    return (root / out).read_text(encoding="utf-8"), status.json()


def test_report_today_says_recoverable_and_names_every_custodian(cli, drilled: Path) -> None:
    page, status = report_and_status(cli, drilled)
    assert status["recoverable"] is True
    assert "RECOVERABLE from shares verified within 180 days" in text(page)
    assert "NOT RECOVERABLE" not in page
    table = rows(page)
    for share in status["shares"]:
        row = next(r for r in table if r and r[0] == share["custodian"])
        assert share["last_verified"] in row[2] and row[-1] == "current"
    assert "Weak points none" in text(page)


def test_report_after_checks_expire_says_not_recoverable_and_overdue(cli, drilled: Path) -> None:
    as_of = expired(drilled)
    page, status = report_and_status(cli, drilled, "--as-of", as_of)
    assert status["recoverable"] is False
    assert f"as of {as_of}" in text(page)
    assert "NOT RECOVERABLE from shares verified within 180 days" in text(page)
    table = rows(page)
    for share in status["shares"]:
        row = next(r for r in table if r and r[0] == share["custodian"])
        assert share["last_verified"] in row[2] and share["due"] == row[3] and row[-1] == "OVERDUE"
    for sentence in status["weakest"]:
        assert sentence in text(page)
    drills = [r for r in table if r and re.match(r"\d{4}-\d{2}-\d{2} ", r[0])]
    assert [r[1] for r in drills] == ["quorum", "partial", "quorum"]  # newest first
    assert [r[4] for r in drills] == ["FAILED", "passed", "passed"]
    assert drills[2][2:4] == ["Dana", "Erin, Frank"]


def test_report_is_self_contained_and_holds_no_share_word(cli, drilled: Path) -> None:
    page, _ = report_and_status(cli, drilled, "--as-of", expired(drilled))
    for forbidden in ("http://", "https://", "<script", "<link", "src=", "@import", "url(http"):
        assert forbidden not in page.lower()
    assert "<svg" in page and "@media print" in page
    # A share word may appear only as a word of the page's own template or of its public inputs
    # (SLIP-39's list has words such as "group" or "check"); never two share words in a row.
    allowed = set(words(Path(report.__file__).read_text() + (drilled / MANIFEST).read_text()
                        + (drilled / "vault/drills.jsonl").read_text()))
    seen = words(text(page))
    pairs = {" ".join(pair) for pair in zip(seen, seen[1:])}
    shares = sorted((drilled / "vault/custodians").glob("*/share.txt"))
    assert len(shares) == 3
    for path in shares:
        mnemonic = [w for line in path.read_text().splitlines() if not line.startswith("#") for w in line.split()]
        assert len(mnemonic) >= 20
        assert not (set(mnemonic) & set(seen)) - allowed, path
        assert not {" ".join(pair) for pair in zip(mnemonic, mnemonic[1:])} & pairs, path


def test_report_refuses_an_existing_out(cli, drilled: Path) -> None:
    (drilled / "report.html").write_text("keep me")
    refused = cli("drill", "report", "--manifest", MANIFEST, "--out", "report.html")
    assert refused.returncode == 5
    assert refused.stderr.startswith("error:")
    assert (drilled / "report.html").read_text() == "keep me"


def _manifest(custodian: str, name: str = "Vault") -> Manifest:
    return Manifest(
        Ceremony("c0ffee00-0000-4000-8000-000000000000", name, "2025-01-10T09:00:00Z"),
        SecretInfo(SecretKind.MASTER_SECRET, 128, "0" * 32, "0" * 8),
        SchemeInfo(1, True, 1, 1, False, (GroupInfo(0, "Family", 1, 2),)),
        (ShareEntry(0, 0, custodian, "a" * 32, "a/share.txt", None), ShareEntry(0, 1, "Bob", "b" * 32, "b/share.txt", None)),
        Policy(180),
    )


def test_user_strings_are_escaped_in_process() -> None:
    hostile = '<b>"x"&'
    manifest = _manifest(hostile, name="<script>alert(1)</script>")
    data = {"drill_id": "d1", "kind": "quorum", "ceremony_id": manifest.ceremony.id, "manifest_sha256": "0" * 64, "operator": hostile,
            "witnesses": [hostile], "result": "failed", "reasons": [hostile],
            "quorum": {"result": "failed", "reason": hostile, "qualifying_subsets": 0},
            "shares": [{"share_fingerprint": "a" * 32, "custodian": hostile, "group_index": 0, "member_index": 0,
                        "result": "failed", "reason": hostile, "source": hostile}]}
    events = [Event(0, "2025-03-01T10:00:00Z", "drill", data, "0" * 64, "1" * 64)]
    ready = dr.readiness(manifest, events, date(2025, 9, 1), now=datetime(2025, 9, 1, tzinfo=timezone.utc))
    page = report.render(manifest, ready)
    assert hostile not in page and "<script" not in page and "<b>" not in page
    assert "&lt;b&gt;&quot;x&quot;&amp;" in page
    assert page == report.render(manifest, ready)  # deterministic: no clock inside


def test_long_and_non_ascii_names_are_kept_whole_in_the_table_and_clipped_in_the_timeline() -> None:
    long_name = "Ægir Þórsson-Øvrebø 山田太郎 " * 4
    manifest = _manifest(long_name)
    page = report.render(manifest, dr.readiness(manifest, [], date(2025, 2, 1), now=datetime(2025, 2, 1, tzinfo=timezone.utc)))
    assert any(row[0] == " ".join(long_name.split()) for row in rows(page))
    assert "\u2026</text>" in page
