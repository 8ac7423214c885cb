"""The readiness report: one self-contained HTML page a custodian can read and an auditor can file.

Pure: the manifest, a `Readiness` (vault.core.drill) and the drill log's events in, text out.
The page loads nothing (no script, no link, no external asset: it must open on an
offline machine and leak nothing when opened), and it prints in black and white, so
every meaning is carried by words, shapes, line styles or bold, never by colour.
Every string that came from a person (names, reasons, paths) passes through `_e`.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from vault.core import drill as dr
from vault.core import verdict as vd
from vault.core.formats.drills import DrillKind
from vault.core.formats.manifest import Manifest, ShareEntry
from vault.core.scheme import describe_group
from vault.core.text import safe

MIN_SPAN_DAYS = 28
"""The timeline is at least four weeks wide, so that a fresh vault's marks are not piled up."""
WIDTH, LABEL_WIDTH, RIGHT, TOP, LANE = 960, 200, 40, 34, 34
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
STYLE = """
body{font:14px/1.45 system-ui,"Segoe UI","Noto Sans",sans-serif;color:#000;background:#fff;max-width:62em;margin:1.5em auto;padding:0 1em}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px solid #000}
h1,p,li,td,th{overflow-wrap:break-word}
.meta{margin:.2em 0}.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85em}.id{font-size:.72em;overflow-wrap:anywhere}
.verdict{border:3px solid #000;padding:.5em .8em;margin:.8em 0;font-size:1.15em}.verdict.bad{border:6px double #000}
table{width:100%;border-collapse:collapse;table-layout:fixed}
th,td{text-align:left;vertical-align:top;padding:.25em .45em;border-bottom:1px solid #888}
thead th{border-bottom:2px solid #000}tr.group th{border-top:2px solid #000;background:#eee;font-weight:normal}
.note{font-size:.9em}svg{width:100%;height:auto;display:block}
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt}table{font-size:9pt}@page{size:A4;margin:14mm}
h2{break-after:avoid}tr,li,.verdict,svg{break-inside:avoid}tr.group th{background:none}}
"""


def render(manifest: Manifest, readiness: dr.Readiness, anchor: str | None = None, judged: vd.Judgement | None = None) -> str:
    """The whole page. Deterministic: the only date is `readiness.as_of`, so a report can be re-made and compared.

    `anchor` says what the manifest was checked against (vault.core.anchor.describe), for the reader to compare;
    `judged` is the vault's verdict (vault.core.verdict), judged from `readiness` alone when not given.
    """
    drills = readiness.drills
    checks = _checks_by_share(drills)
    title = f"{manifest.ceremony.name}: readiness as of {readiness.as_of}"
    body = [_header(manifest, readiness, anchor, judged or vd.judge(readiness)), _weak_points(readiness), _table(manifest, readiness, checks),
            _timeline(manifest, readiness, checks), _drill_list(drills, readiness.logged)]
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{_e(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _header(manifest: Manifest, ready: dr.Readiness, anchor: str | None, judged: vd.Judgement) -> str:
    """Name, id and the verdict in words: what a custodian needs from the first line; what anchored the manifest."""
    count = sum(g.ready for g in ready.groups)
    groups = f"{count} {'group' if count == 1 else 'groups'} ready, {ready.groups_needed} needed"
    retired = f'<p class="verdict"><strong>{_e(judged.headline)}</strong>.</p>\n' if judged.verdict is vd.Verdict.RETIRED else ""
    return (f"<header><h1>Readiness report: {_e(manifest.ceremony.name)}</h1>\n"
            f'<p class="meta">ceremony <span class="mono">{_e(manifest.ceremony.id)}</span>, made {_e(manifest.ceremony.created[:10])}; '
            f"wallet fingerprint <span class=\"mono\">{_e(manifest.secret.wallet_fingerprint)}</span></p>\n"
            f'<p class="meta"><strong>as of {ready.as_of}</strong>; a check counts for {ready.interval_days} days; '
            f"last quorum drill: {ready.last_quorum_drill or 'never'}</p>\n"
            + (f'<p class="meta mono">{_e(anchor)}</p>\n' if anchor else "")
            + retired + f'<p class="verdict{" bad" if judged.alert else ""}"><strong>{"RECOVERABLE" if judged.recoverable else "NOT RECOVERABLE"}'
            f"</strong> from shares verified within {ready.interval_days} days: {groups}"
            + (f"; until {judged.until}" if judged.until else "") + ".</p>"
            + (f'<p class="verdict bad"><strong>TAMPERED</strong>: {len(ready.findings)} line(s) of the drill log cannot be trusted '
               "and are not counted (see the weak points).</p>" if ready.tampered else "")
            + ('<p class="meta">Checks are <strong>unattested</strong>: this manifest has no attestation keys.</p>'
               if ready.unattested else "") + "</header>")


def _weak_points(ready: dr.Readiness) -> str:
    """drill.readiness's sentences, worst first: what to fix before the next drill."""
    items = "".join(f"<li>{_e(s)}</li>" for s in ready.weakest)
    return "<section><h2>Weak points</h2>" + (f"<ul>{items}</ul>" if items else "<p>none</p>") + "</section>"


Checks = dict[str, list[tuple[date, bool]]]
"""(day, passed) for every check of each share, by fingerprint, oldest first (same-day checks keep log order)."""


def _table(manifest: Manifest, ready: dr.Readiness, checks: Checks) -> str:
    """Per group, then per custodian: the facts the verdict is computed from."""
    count = len(manifest.scheme.groups)
    rows = []
    for group in ready.groups:
        answer = "yes" if group.ready else "<strong>NO</strong>"
        rows.append(f'<tr class="group"><th colspan="5"><strong>{_e(describe_group(group.index, count, group.name))}</strong>: '
                    f"needs {group.needed}, verified now {group.current}; ready: {answer}</th></tr>")
        rows += [_share_row(manifest, share, checks) for share in ready.shares if share.entry.group_index == group.index]
    head = "".join(f"<th>{h}</th>" for h in ("Custodian", "Share", "Last verified", "Counts until (due)", "Status"))
    return ('<section><h2>Readiness per group and custodian</h2><table><colgroup><col style="width:24%"><col style="width:24%">'
            f'<col style="width:19%"><col style="width:18%"><col style="width:15%"></colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>\n<p class=\"note\">The ceremony that made the shares counts as every share's "
            f"first check. A check counts through its due date; the day after, the share is OVERDUE until it is checked again.</p></section>")


def _share_row(manifest: Manifest, share: dr.ShareReadiness, checks: Checks) -> str:
    """One custodian; "(ceremony)" when no drill has checked the share since it was made."""
    entry = share.entry
    group = manifest.group(entry.group_index)
    where = (f"group {entry.group_index + 1} of {len(manifest.scheme.groups)}, "
             f"share {entry.member_index + 1} of {group.member_count if group else '?'}")
    last = "never"
    if share.last_verified:
        by_drill = any(day == share.last_verified and passed for day, passed in checks.get(entry.share_fingerprint, []))
        last = f"{share.last_verified}{'' if by_drill else ' (extended)' if entry.issued else ' (ceremony)'}"
    status = (f"replaced on {_e(entry.replaced[:10])}" if entry.replaced else "current" if share.current else f"<strong>FAILED</strong> a check on {share.failed.day}: {_e(share.failed.reason)}"
              if share.failed else "<strong>OVERDUE</strong>" if share.due else "<strong>NEVER VERIFIED</strong>")
    return (f"<tr><td><bdi>{_e(_who(entry))}</bdi></td><td>{where}</td><td>{last}</td>"
            f"<td>{share.due or '-'}</td><td>{status}</td></tr>")


def _timeline(manifest: Manifest, ready: dr.Readiness, checks: Checks) -> str:
    """One lane per custodian, from the ceremony to the as-of date: checks as shapes, currency as line style."""
    made = date.fromisoformat(manifest.ceremony.created[:10])
    start, days = min(made, ready.as_of), max((ready.as_of - made).days, MIN_SPAN_DAYS)

    def x(day: date) -> float:
        return LABEL_WIDTH + (day - start).days / days * (WIDTH - LABEL_WIDTH - RIGHT)

    bottom = TOP + LANE * len(ready.shares)
    parts = [f'<line x1="{x(d):.1f}" y1="{TOP - 6}" x2="{x(d):.1f}" y2="{bottom}" stroke="#999" stroke-dasharray="1 3"/>'
             f'<text x="{x(d):.1f}" y="{bottom + 16}" text-anchor="middle" font-size="13">{label}</text>'
             for d, label in _ticks(start, start + timedelta(days=days))]
    parts += [_lane(share, checks.get(share.entry.share_fingerprint, []), dr.issued_day(manifest, share.entry), ready, x, TOP + LANE * row + LANE // 2)
              for row, share in enumerate(ready.shares)]
    asof = x(ready.as_of)
    parts.append(f'<line x1="{asof:.1f}" y1="{TOP - 14}" x2="{asof:.1f}" y2="{bottom + 4}" stroke="#000" stroke-width="2"/>'
                 f'<text x="{asof:.1f}" y="{TOP - 18}" text-anchor="end" font-size="14" font-weight="bold">as of {ready.as_of}</text>')
    parts.append(_legend(bottom + 44))
    svg = (f'<svg viewBox="0 0 {WIDTH} {bottom + 80}" role="img" '
           f'aria-label="timeline of checks per custodian"><defs><clipPath id="labels"><rect x="0" y="0" '
           f'width="{LABEL_WIDTH - 12}" height="{bottom}"/></clipPath></defs>{"".join(parts)}</svg>')
    return f"<section><h2>Timeline of checks per custodian</h2>{svg}</section>"


def _lane(share: dr.ShareReadiness, checks: list[tuple[date, bool]], made: date, ready: dr.Readiness, x: Callable[[date], float],
          y: int) -> str:
    """A custodian's lane from the day its share was made: solid while a check counts, dashed while overdue; then the marks."""
    made_marks = [made] if made <= ready.as_of else []
    timeline = [(day, True) for day in made_marks] + checks
    parts = [f'<line x1="{x(a):.1f}" y1="{y}" x2="{x(b):.1f}" y2="{y}" stroke="#000" '
             + ('stroke-width="4"/>' if solid else 'stroke-width="1.5" stroke-dasharray="6 4"/>')
             for a, b, solid in _segments(timeline, min(made, ready.as_of), ready.as_of, ready.interval_days)]
    marks = [(day, "ceremony") for day in made_marks] + [(day, "pass" if passed else "fail") for day, passed in checks]
    for i, (day, kind) in enumerate(marks):
        same = [k for k, (d, _) in enumerate(marks) if d == day]  # same-day marks side by side, centred on the day
        parts.append(_mark(kind, x(day) + 12 * (same.index(i) - (len(same) - 1) / 2), y))
    return (f'<g><text x="6" y="{y + 4}" font-size="15" clip-path="url(#labels)">{_e(_clip(_who(share.entry), 21))}</text>'
            f'{"".join(parts)}</g>')


def _mark(kind: str, cx: float, cy: int) -> str:
    """Shapes, not colours: a square for the ceremony, a filled circle for a pass, an X for a failure."""
    if kind == "ceremony":
        return f'<rect x="{cx - 5:.1f}" y="{cy - 5}" width="10" height="10" fill="#000"/>'
    if kind == "pass":
        return f'<circle cx="{cx:.1f}" cy="{cy}" r="5" fill="#000"/>'
    return (f'<path d="M{cx - 5:.1f} {cy - 5}L{cx + 5:.1f} {cy + 5}M{cx - 5:.1f} {cy + 5}L{cx + 5:.1f} {cy - 5}" '
            'stroke="#000" stroke-width="2.5" fill="none"/>')


def _legend(y: int) -> str:
    """Every symbol in words, two rows of three, below the lanes."""
    cy = y - 4
    items = [
        (_mark("ceremony", 12, cy), "ceremony (the first check)"), (_mark("pass", 12, cy), "share checked: passed"),
        (_mark("fail", 12, cy), "share checked: FAILED"),
        (f'<line x1="0" y1="{cy}" x2="24" y2="{cy}" stroke="#000" stroke-width="4"/>', "solid: last check still counts"),
        (f'<line x1="0" y1="{cy}" x2="24" y2="{cy}" stroke="#000" stroke-width="1.5" stroke-dasharray="6 4"/>',
         "dashed: OVERDUE or never verified"),
        (f'<line x1="12" y1="{cy - 9}" x2="12" y2="{cy + 9}" stroke="#000" stroke-width="2"/>', "vertical line: the as-of date"),
    ]
    return "".join(f'<g transform="translate({10 + (i % 3) * 310} {(i // 3) * 26})">{shape}'
                   f'<text x="32" y="{y}" font-size="14">{words}</text></g>' for i, (shape, words) in enumerate(items))


def _drill_list(drills: Sequence[dr.Drill], logged: int) -> str:
    """Every drill of this vault up to the as-of date, newest first: what the auditor checks against the log."""
    rows = []
    for event, record in sorted(drills, key=lambda drill: (drill[0].time, drill[0].seq), reverse=True):
        kind = "partial" if record.kind is DrillKind.SHARES else _e(record.kind)
        result = "passed" if record.passed else "<strong>FAILED</strong>"
        reasons = record.reasons or (record.quorum.reason,)
        checked = [f"{_names([check.custodian or check.source])}: {_e(check.result)}" for check in record.shares]
        cells = [f"{_e(event.time[:10])} {_e(event.time[11:16])} UTC<br><span class=\"mono id\">{_e(record.drill_id)}</span>",
                 kind, _names([record.operator]), _names(record.witnesses), result,
                 "; ".join(checked) or "-", "<br>".join(_e(r) for r in reasons)]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("Date", "Kind", "Operator", "Witnesses", "Result", "Shares checked", "Reasons"))
    hidden = logged - len(drills)
    note = f'<p class="note">{hidden} other entries in the log (other vaults, or after the as-of date) are not shown.</p>' if hidden else ""
    table = (f'<table><colgroup><col style="width:15%"><col style="width:9%"><col style="width:12%"><col style="width:12%">'
             f'<col style="width:9%"><col style="width:17%"><col style="width:26%"></colgroup><thead><tr>{head}</tr></thead>'
             f"<tbody>{''.join(rows)}</tbody></table>") if rows else "<p>No drill recorded yet.</p>"
    return f"<section><h2>Drills, newest first</h2>{table}{note}</section>"


def _names(names: Sequence[object]) -> str:
    """People's names, each isolated (<bdi>) so that a right-to-left name cannot reorder the text around it."""
    return ", ".join(f"<bdi>{_e(name)}</bdi>" for name in names if name) or "-"


def _checks_by_share(drills: Sequence[dr.Drill]) -> Checks:
    """Every share's checks, in one pass over the drills (not one per share: a log may hold 100,000)."""
    return {fingerprint: sorted(((check.day, check.passed) for check in checks), key=lambda check: check[0])
            for fingerprint, checks in dr.checks_by_share(drills).items()}


def _segments(checks: Sequence[tuple[date, bool]], start: date, end: date, interval: int) -> list[tuple[date, date, bool]]:
    """Split start..end into spans where the latest check passed and still counts (True), and where not (False).

    As in readiness: a failed check ends the span at once, whatever the last pass's due date.
    """
    spans: list[tuple[date, date, bool]] = []
    cursor, until = start, start

    def advance(to: date) -> None:
        counts_to = max(cursor, min(until, to))
        spans.extend([(cursor, counts_to, True), (counts_to, to, False)])

    for day, passed in sorted(checks, key=lambda check: check[0]):  # stable: same-day checks keep log order
        day = min(max(day, start), end)
        advance(day)
        cursor, until = day, day + timedelta(days=interval) if passed else day
    advance(end)
    return [span for span in spans if span[1] > span[0]]


def _ticks(start: date, end: date) -> list[tuple[date, str]]:
    """Weekly ticks for a short span, else month starts (every 1 to 120 months, or decades beyond), at most about eight labels."""
    days = (end - start).days
    if days <= 70:
        step = 7 * max(1, -(-days // 56))
        return [(start + timedelta(n), (start + timedelta(n)).isoformat()) for n in range(0, days + 1, step)]
    wanted = days / 30.4 / 8
    months = next((m for m in (1, 2, 3, 6, 12, 24, 60, 120) if wanted <= m), 120 * math.ceil(wanted / 120))
    ticks, tick = [], date(start.year, start.month, 1)
    while tick <= end:
        if tick >= start:
            ticks.append((tick, f"{MONTHS[tick.month - 1]} {tick.year}"))
        total = tick.year * 12 + tick.month - 1 + months
        if total // 12 > date.max.year:
            break
        tick = date(total // 12, total % 12 + 1, 1)
    return ticks


def _clip(text: str, columns: int) -> str:
    """At most `columns` wide (East Asian wide characters count two), so a long name stays out of its lane."""
    used = 0
    for end, char in enumerate(text):
        used += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used > columns:
            return text[:end - 1] + "…"
    return text


def _who(entry: ShareEntry) -> str:
    return entry.custodian or f"share {entry.member_index + 1} (no custodian named)"


def _e(value: object) -> str:
    """Text in HTML: hidden characters shown escaped, markup characters as entities (`safe.html`)."""
    return safe.html(value)
