"""The fleet's readiness page: every vault's verdict on one self-contained HTML page (`fleet status --html`).

Pure: a `Fleet` (vault.core.fleet) and the links to each vault's own readiness report
in, text out. As the single-vault report (vault.core.text.report, whose style it
shares): it loads nothing (no script, no link element, no external asset), it prints
in black and white (every verdict is a word, the bad ones in capitals and bold, never
a colour alone), and every string from a file (names, paths, errors) passes through
`safe.html`. Vaults come in the fleet's order: the most urgent first.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import ascii_letters, digits

from vault.core.drill import State
from vault.core.fleet import Fleet, Unreadable, VaultStatus
from vault.core.text import safe
from vault.core.text.report import STYLE
from vault.core.verdict import Verdict

_e = safe.html
_PATH_SAFE = frozenset(ascii_letters + digits + "-._~/")
FLEET_STYLE = STYLE + ".verdict.ok{border-width:3px}td.bad{font-weight:bold}\n"


def render(fleet: Fleet, links: Mapping[str, str]) -> str:
    """The whole page. `links` maps a vault's place to the relative path of its `drill report` page, where there is one.

    A link is a path relative to the page (as the flow found it, not URL-encoded): it
    is percent-encoded here, so a directory named `javascript:x` or `a#b` stays a path.
    """
    title = f"Fleet readiness as of {fleet.as_of}"
    body = [_header(fleet), _vaults(fleet, links), _unreadable(fleet.unreadable), _missing(fleet)]
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{_e(title)}</title>\n'
            f"<style>{FLEET_STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _header(fleet: Fleet) -> str:
    """The fleet's verdict in one sentence: how many vaults are recoverable, retired, in conflict, could not be read, pinned."""
    count = len(fleet.vaults)
    words = f"{fleet.recoverable} of {count} {'vault' if count == 1 else 'vaults'} recoverable"
    if fleet.count(Verdict.RETIRED):
        words += f"; {fleet.count(Verdict.RETIRED)} retired"
    for number, what in ((fleet.count(Verdict.CONFLICT), "in CONFLICT"), (len(fleet.unreadable), "could not be read"),
                         (len(fleet.unpinned), "NOT PINNED"), (len(fleet.missing_pins), "pinned and NOT FOUND")):
        if number:
            words += f"; <strong>{number} {what}</strong>"
    verdict = "ALL RECOVERABLE" if fleet.ok else "ATTENTION NEEDED"
    return (f"<header><h1>Fleet readiness</h1>\n<p class=\"meta\"><strong>as of {fleet.as_of}</strong>; most urgent first. "
            "A vault stays recoverable until the day shown unless someone checks a share before then.</p>\n"
            f'<p class="verdict {"ok" if fleet.ok else "bad"}"><strong>{verdict}</strong>: {words}.</p></header>')


def _vaults(fleet: Fleet, links: Mapping[str, str]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("Vault", "Verdict", "Recoverable through (last day)", "Groups ready", "Shares", "Weakest point"))
    rows = "".join(_row(vault, fleet, links) for vault in fleet.vaults)
    table = (f'<table><colgroup><col style="width:24%"><col style="width:14%"><col style="width:14%"><col style="width:10%">'
             f'<col style="width:14%"><col style="width:24%"></colgroup><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
             if rows else "<p>No vault found.</p>")
    return f"<section><h2>Vaults</h2>{table}</section>"


def _row(vault: VaultStatus, fleet: Fleet, links: Mapping[str, str]) -> str:
    """One vault: its name (linked to its own report when there is one), id, key and places; its verdict and dates in words."""
    judged, ready = vault.judgement, vault.readiness
    link = next((links[place] for place in vault.places if place in links), None)
    name = f"<bdi>{_e(vault.name)}</bdi>"
    if link is not None:
        name = f'<a href="{_e(quote(link))}">{name}</a>'
    places = "<br>".join(f'<span class="mono">{_e(copy.describe())}</span>' for copy in vault.copies.copies)
    key = f"vault key SHA256 {vault.vault_key_sha256}" if vault.vault_key_sha256 else "no vault key"
    pin = {None: "", True: f"<br>pinned: <bdi>{_e(vault.pin_label)}</bdi>", False: "<br><strong>NOT PINNED</strong>"}[vault.pinned]
    who = f'{name}<br><span class="mono id">{_e(vault.ceremony_id)}</span><br><span class="mono id">{_e(key)}</span>{pin}<br>{places}'
    verdict = "recoverable" if judged.verdict is Verdict.RECOVERABLE else f"<strong>{_e(judged.headline)}</strong>"
    if ready is not None and ready.tampered:
        verdict += "<br><strong>TAMPERED</strong> drill log"
    until = vault.recoverable_until
    when = "-" if until is None else f"{until} ({(until - fleet.as_of).days + 1} days left)"
    groups = "-" if ready is None else f"{sum(1 for g in ready.groups if g.ready)} of {ready.groups_needed} needed"
    counts = [(len(vault.shares_in(state)), word) for state, word in
              ((State.FAILED, "FAILED"), (State.OVERDUE, "OVERDUE"), (State.NEVER_VERIFIED, "NEVER VERIFIED"))]
    shares = "-" if ready is None else "; ".join(f"<strong>{n} {word}</strong>" for n, word in counts if n) or f"all {len(ready.shares)} current"
    sentences = ready.weakest if ready is not None and judged.verdict is not Verdict.RETIRED else judged.reasons
    weakest = _e(sentences[0]) if sentences else "none"
    cells = [(who, ""), (verdict, "bad" if judged.alert else ""), (when, ""), (groups, ""), (shares, ""), (weakest, "")]
    return "<tr>" + "".join(f'<td class="{css}">{cell}</td>' if css else f"<td>{cell}</td>" for cell, css in cells) + "</tr>"


def _unreadable(unreadable: tuple[Unreadable, ...]) -> str:
    """Places that name a vault coldvault could not read, each with the error `drill status` would give."""
    if not unreadable:
        return "<section><h2>Could not be read</h2><p>none</p></section>"
    rows = "".join(f'<tr><td class="mono">{_e(item.place)}</td><td>{"<br>".join(_e(line) for line in item.lines)}'
                   f"</td></tr>" for item in unreadable)
    return ('<section><h2>Could not be read</h2><table><colgroup><col style="width:35%"><col style="width:65%"></colgroup>'
            f"<thead><tr><th>Place</th><th>Error</th></tr></thead><tbody>{rows}</tbody></table></section>")


def _missing(fleet: Fleet) -> str:
    """Pinned vaults not found: their key, label and line; nothing without --pins."""
    if fleet.pins_file is None:
        return ""
    rows = "".join(f'<tr><td class="mono">{pin.vault_key_sha256}</td><td><bdi>{_e(pin.label)}</bdi> ({_e(fleet.pins_file)} line {pin.line})'
                   "</td></tr>" for pin in fleet.missing_pins)
    return ("<section><h2>Pinned and not found</h2>" + ('<table><colgroup><col style="width:50%"><col style="width:50%"></colgroup>'
            f"<thead><tr><th>Vault key SHA256</th><th>Pin</th></tr></thead><tbody>{rows}</tbody></table>" if rows else "<p>none</p>")
            + "</section>")


def quote(path: str) -> str:
    """A relative path as a URL path: every byte but unreserved characters and "/" percent-encoded (RFC 3986).

    So a ":" cannot make a scheme (`javascript:`), nor "#" or "?" a fragment or query.
    """
    return "".join(chr(byte) if chr(byte) in _PATH_SAFE else f"%{byte:02X}" for byte in path.encode("utf-8", "surrogatepass"))
