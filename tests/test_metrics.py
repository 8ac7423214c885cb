"""`fleet status --metrics` and `--html`: the renderers, read back by real readers.

Real vaults made by `coldvault split` (one named with a quote, a backslash and a
newline, its group likewise), one place that cannot be read (in a directory whose name
holds the same characters), read as `drill status` reads them, summed up by
vault.core.fleet. The metrics file must pass `promtool check metrics` (Debian package
`prometheus`) and say the facts the readiness says; the alert rules in
docs/monitoring.md must pass `promtool check rules` and fire on sample series
(`promtool test rules`); the HTML page must name every vault in the fleet's order and
render every hostile string inert. When CI=true a missing promtool fails the test.
"""

from __future__ import annotations

import re
import stat
import subprocess
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import run_cli

from vault.core import fleet as fl
from vault.core.text import fleet_report, metrics, safe
from vault.edges import fsio
from vault.flows import fleet as flow

HOSTILE = 'Treasury "cold" \\ 2024\nfake{label="x"} 1 <script>alert(1)</script>'
DOCS = Path(__file__).resolve().parent.parent / "docs" / "monitoring.md"
GENERATED = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two vaults made by split (one hostile name and group name) and one broken manifest, under one directory."""
    root = tmp_path_factory.mktemp("vaults")
    (root / "secret.hex").write_text("000102030405060708090a0b0c0d0e0f")
    for out, args in (("plain", ("--scheme", "2of3", "--name", "Desk A")),
                      ("hostile", ("--group-threshold", "1", "--group", "2of3", "--group-name", HOSTILE, "--name", HOSTILE))):
        made = run_cli(root, "split", "--secret-file", "secret.hex", *args, "--out", out, "--iteration-exponent", "0")
        assert made.returncode == 0, made.stderr
    broken = root / 'broken "dir" \\\nx'
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    return root


def read_fleet(root: Path, as_of: date) -> fl.Fleet:
    """As `fleet status` reads the tree: every vault, and the place that cannot be read with its error."""
    return flow.status([root], as_of)


def made_day(root: Path) -> date:
    return date.fromisoformat(read_fleet(root, date.today()).vaults[0].manifest.ceremony.created[:10])


def samples(text: str) -> list[tuple[str, dict[str, str], str]]:
    """Every sample line read back as the format defines it: name, label values unescaped, value."""
    label = re.compile(r'([a-z_][a-z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
    found = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.fullmatch(r'([a-z_]+)(?:\{((?:[a-z_][a-z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (-?\d+)', line)
        assert match, f"not a sample line: {line!r}"
        values = {name: re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)
                  for name, value in label.findall(match.group(2) or "")}
        found.append((match.group(1), values, match.group(3)))
    return found


def check_metrics(promtool: str, text: str) -> None:
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr


def test_metrics_of_real_vaults_pass_promtool_and_say_the_readiness(tree: Path, promtool: str) -> None:
    as_of = made_day(tree) + timedelta(days=10)
    fleet = read_fleet(tree, as_of)
    assert len(fleet.vaults) == 2 and len(fleet.unreadable) == 1
    text = metrics.render(fleet, GENERATED)
    check_metrics(promtool, text)
    read = samples(text)
    for vault in fleet.vaults:
        mine = {name: value for name, labels, value in read if labels.get("ceremony_id") == vault.ceremony_id and "share" not in labels}
        assert mine["coldvault_vault_recoverable"] == "1"
        assert vault.recoverable_until is not None
        days = (vault.recoverable_until - as_of).days + 1
        assert int(mine["coldvault_vault_recoverable_remaining_seconds"]) == days * 86400 and days == 171  # 180-day interval, 10 gone
        assert mine["coldvault_vault_overdue_shares"] == mine["coldvault_vault_failed_shares"] == "0"
        ages = [int(value) for name, labels, value in read
                if name == "coldvault_share_last_verified_age_seconds" and labels["ceremony_id"] == vault.ceremony_id]
        assert ages == [10 * 86400] * 3
    assert ("coldvault_fleet_last_run_timestamp_seconds", {}, str(int(GENERATED.timestamp()))) in read
    assert ("coldvault_fleet_unreadable_vaults", {}, "1") in read
    assert ("coldvault_unreadable_vault", {"path": safe.text(fleet.unreadable[0].place)}, "1") in read


def test_hostile_names_stay_inside_their_label(tree: Path, promtool: str) -> None:
    """A quote, a backslash, a newline and braces in a name or a path: one label value each, shown as safe.text shows them."""
    text = metrics.render(read_fleet(tree, made_day(tree)), GENERATED)
    check_metrics(promtool, text)
    read = samples(text)
    hostile = [labels for name, labels, _ in read if name == "coldvault_share_current" and labels["vault"] != "Desk A"]
    assert len(hostile) == 3
    assert {labels["vault"] for labels in hostile} == {labels["group"] for labels in hostile} == {safe.text(HOSTILE)}
    assert "\n" not in safe.text(HOSTILE) and "\\x0a" in safe.text(HOSTILE)
    assert not [line for line in text.splitlines() if line.startswith("fake")]
    assert metrics.label_value('a"b\\c\nd') == 'a\\"b\\\\c\\\\x0ad'


def test_a_vault_past_its_checks_is_not_recoverable_with_no_time_left(tree: Path, promtool: str) -> None:
    as_of = made_day(tree) + timedelta(days=181)
    fleet = read_fleet(tree, as_of)
    text = metrics.render(fleet, GENERATED)
    check_metrics(promtool, text)
    read = samples(text)
    by_name: dict[str, list[str]] = {}
    for name, _, value in read:
        by_name.setdefault(name, []).append(value)
    assert by_name["coldvault_vault_recoverable"] == ["0", "0"]
    assert by_name["coldvault_vault_recoverable_remaining_seconds"] == ["0", "0"]
    assert by_name["coldvault_vault_overdue_shares"] == ["3", "3"]
    assert "coldvault_vault_recoverable_until_timestamp_seconds" not in by_name
    assert by_name["coldvault_share_current"] == ["0"] * 6
    assert by_name["coldvault_fleet_recoverable_vaults"] == ["0"]


def test_metrics_are_deterministic_and_in_the_fleets_order(tree: Path) -> None:
    fleet = read_fleet(tree, made_day(tree))
    text = metrics.render(fleet, GENERATED)
    assert text == metrics.render(read_fleet(tree, made_day(tree)), GENERATED)
    order = [labels["ceremony_id"] for name, labels, _ in samples(text) if name == "coldvault_vault_recoverable"]
    assert order == [vault.ceremony_id for vault in fleet.vaults]
    with pytest.raises(ValueError, match="timezone-aware"):
        metrics.render(fleet, GENERATED.replace(tzinfo=None))


def test_replace_file_publishes_metrics_over_the_old_file_readable_by_the_collector(tmp_path: Path) -> None:
    target = tmp_path / "coldvault.prom"
    target.write_text("old\n")
    fsio.replace_file(target, b"new\n", fsio.PUBLIC_FILE_MODE)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coldvault.prom"]  # no temporary left behind


def rules_block() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    return blocks[0]


RULE_TESTS = """
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1h
    input_series:
      - series: 'coldvault_vault_recoverable{vault="Soon",ceremony_id="a",path="a/manifest.json"}'
        values: '1x4'
      - series: 'coldvault_vault_recoverable_remaining_seconds{vault="Soon",ceremony_id="a",path="a/manifest.json"}'
        values: '864000x4'
      - series: 'coldvault_vault_recoverable{vault="Fine",ceremony_id="b",path="b/manifest.json"}'
        values: '1x4'
      - series: 'coldvault_vault_recoverable_remaining_seconds{vault="Fine",ceremony_id="b",path="b/manifest.json"}'
        values: '8640000x4'
      - series: 'coldvault_vault_recoverable{vault="Gone",ceremony_id="c",path="c/manifest.json"}'
        values: '0x4'
      - series: 'coldvault_vault_recoverable_remaining_seconds{vault="Gone",ceremony_id="c",path="c/manifest.json"}'
        values: '0x4'
      - series: 'coldvault_vault_retired{vault="Gone",ceremony_id="c",path="c/manifest.json"}'
        values: '0x4'
      - series: 'coldvault_vault_conflict{vault="Gone",ceremony_id="c",path="c/manifest.json"}'
        values: '0x4'
      - series: 'coldvault_unreadable_vault{path="d/manifest.json"}'
        values: '1x4'
      - series: 'coldvault_vault_recoverable{vault="Old",ceremony_id="e",path="e/manifest.json"}'
        values: '0x4'
      - series: 'coldvault_vault_recoverable_remaining_seconds{vault="Old",ceremony_id="e",path="e/manifest.json"}'
        values: '0x4'
      - series: 'coldvault_vault_retired{vault="Old",ceremony_id="e",path="e/manifest.json"}'
        values: '1x4'
      - series: 'coldvault_vault_recoverable{vault="OldSoon",ceremony_id="f",path="f/manifest.json"}'
        values: '1x4'
      - series: 'coldvault_vault_recoverable_remaining_seconds{vault="OldSoon",ceremony_id="f",path="f/manifest.json"}'
        values: '86400x4'
      - series: 'coldvault_vault_retired{vault="OldSoon",ceremony_id="f",path="f/manifest.json"}'
        values: '1x4'
      - series: 'coldvault_vault_recoverable{vault="Split",ceremony_id="g",path="g/manifest.json"}'
        values: '0x4'
      - series: 'coldvault_vault_conflict{vault="Split",ceremony_id="g",path="g/manifest.json"}'
        values: '1x4'
      - series: 'coldvault_vault_unpinned{vault="Stray",ceremony_id="h",path="h/manifest.json"}'
        values: '1x4'
      - series: 'coldvault_vault_unpinned{vault="Soon",ceremony_id="a",path="a/manifest.json"}'
        values: '0x4'
      - series: 'coldvault_pin_missing{vault_key_sha256="abab",label="Gone vault"}'
        values: '1x4'
      - series: 'coldvault_fleet_last_run_timestamp_seconds'
        values: '0x72'
    alert_rule_test:
      - eval_time: 2h
        alertname: ColdvaultVaultRecoverableEndsSoon
        exp_alerts:
          - exp_labels: {severity: warning, vault: Soon, ceremony_id: a, path: a/manifest.json}
            exp_annotations:
              summary: "Vault Soon stops being recoverable within 14 days"
              description: "a/manifest.json stops being recoverable in 10 days unless a custodian checks a share."
      - eval_time: 2h
        alertname: ColdvaultVaultNotRecoverable
        exp_alerts:
          - exp_labels: {severity: critical, vault: Gone, ceremony_id: c, path: c/manifest.json}
            exp_annotations:
              summary: "Vault Gone is not recoverable"
              description: "c/manifest.json (ceremony c) is not recoverable from recently verified shares. Run `coldvault drill status --manifest c/manifest.json` and hold a drill."
      - eval_time: 2h
        alertname: ColdvaultVaultConflict
        exp_alerts:
          - exp_labels: {severity: critical, vault: Split, ceremony_id: g, path: g/manifest.json}
            exp_annotations:
              summary: "Copies of vault Split diverge"
              description: "No place holds the whole history of g/manifest.json (ceremony g): run `coldvault fleet status` to see which copies diverge and where."
      - eval_time: 2h
        alertname: ColdvaultVaultNotPinned
        exp_alerts:
          - exp_labels: {severity: warning, vault: Stray, ceremony_id: h, path: h/manifest.json}
            exp_annotations:
              summary: "Vault Stray is not pinned"
              description: "h/manifest.json was found but its vault key is not in the pins file: pin it, or find out who put it there."
      - eval_time: 2h
        alertname: ColdvaultPinnedVaultMissing
        exp_alerts:
          - exp_labels: {severity: critical, vault_key_sha256: abab, label: Gone vault}
            exp_annotations:
              summary: "Pinned vault Gone vault was not found"
              description: "No vault with key SHA-256 abab was found: was it moved, deleted, or left out of the paths searched?"
      - eval_time: 2h
        alertname: ColdvaultVaultUnreadable
        exp_alerts:
          - exp_labels: {severity: critical, path: d/manifest.json}
            exp_annotations:
              summary: "coldvault could not read the vault at d/manifest.json"
              description: "Run `coldvault fleet status` to see why (a broken manifest, a tampered transcript, a missing file)."
      - eval_time: 47h
        alertname: ColdvaultMetricsStale
        exp_alerts: []
      - eval_time: 49h
        alertname: ColdvaultMetricsStale
        exp_alerts:
          - exp_labels: {severity: warning}
            exp_annotations:
              summary: "coldvault fleet status has not run for more than 2 days"
              description: "The readiness metrics are old: check the timer or cron job and its logs."
"""


def test_the_documented_alert_rules_pass_promtool_and_fire(tmp_path: Path, promtool: str) -> None:
    """Each alert fires on its series, and only there: a retired vault (Old, OldSoon) fires none, a vault in conflict
    (Split) fires ColdvaultVaultConflict and not ColdvaultVaultNotRecoverable."""
    (tmp_path / "rules.yml").write_text(rules_block())
    checked = subprocess.run([promtool, "check", "rules", "rules.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 8 rules found" in checked.stdout
    (tmp_path / "tests.yml").write_text(RULE_TESTS)
    tested = subprocess.run([promtool, "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_documented_metrics_are_the_ones_written(tree: Path) -> None:
    text = metrics.render(read_fleet(tree, made_day(tree)), GENERATED)
    written = set(re.findall(r"^# TYPE (\S+) gauge$", text, re.M))
    documented = set(re.findall(r"`(coldvault_[a-z_]+)", DOCS.read_text(encoding="utf-8")))
    assert written == documented


# ---------------------------------------------------------------- the HTML page


class _Page(HTMLParser):
    """Tags, attributes and the text of each table row, as a browser builds them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append("")

    def handle_data(self, data: str) -> None:
        if self.rows:
            self.rows[-1] += data + " "


def parsed(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def test_the_fleet_page_lists_vaults_by_urgency_and_the_unreadable_with_their_error(tree: Path) -> None:
    as_of = made_day(tree) + timedelta(days=181)
    fleet = read_fleet(tree, as_of)
    place = fleet.vaults[0].places[0]
    page = parsed(fleet_report.render(fleet, {place: 'rel "dir"\\javascript:x#y/report.html'}))
    rows = [" ".join(row.split()) for row in page.rows]
    vault_rows = [row for row in rows if "NOT RECOVERABLE" in row]
    assert len(vault_rows) == 2 and "3 OVERDUE" in vault_rows[0]
    unreadable = next(row for row in rows if "broken" in row)
    assert unreadable.startswith(" ".join(safe.text(fleet.unreadable[0].place).split()))
    assert " ".join(fleet.unreadable[0].error.splitlines()[0].split()) in unreadable
    links = [attrs["href"] for tag, attrs in page.tags if tag == "a"]
    assert links == ["rel%20%22dir%22%5Cjavascript%3Ax%23y/report.html"]
    readable = fl.Fleet(as_of - timedelta(days=181), read_fleet(tree, as_of - timedelta(days=181)).vaults, ())
    assert "ALL RECOVERABLE</strong>: 2 of 2 vaults recoverable." in fleet_report.render(readable, {})


def test_the_fleet_page_is_self_contained_and_hostile_names_are_text(tree: Path) -> None:
    fleet = read_fleet(tree, made_day(tree))
    page = fleet_report.render(fleet, {})
    tags = {tag for tag, _ in parsed(page).tags}
    assert tags <= {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "strong", "section", "table",
                    "colgroup", "col", "thead", "tbody", "tr", "th", "td", "br", "span", "bdi", "a"}
    assert "script" not in tags
    for forbidden in ("http://", "https://", "<script", "<link", "src=", "@import", "url("):
        assert forbidden not in page.lower()
    assert safe.html(HOSTILE) in page and "\\x0a" in safe.html(HOSTILE)
    assert "ATTENTION NEEDED" in page  # a vault could not be read: the verdict says so in words
    assert page.index("Desk A") > 0 and "@media print" in page
