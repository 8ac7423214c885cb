"""`coldvault fleet status`: every vault under the places given, each judged as `drill status` judges it.

A path given is a manifest, or a directory searched for vaults: every `manifest.json`
under it, each with its `transcript.jsonl` beside it (one without is named as
unreadable: nothing anchors it, and a vault a timer should watch must not vanish
silently). The search never enters hidden directories (an interrupted run's
`.NAME.coldvault-staging-*` among them), never follows a link to a directory (no
loops), and does not enter the `custodians/` directory beside a manifest: the packets
there carry copies of the vault's manifest and transcript for each custodian.

Every place is read in this process (vault.flows.copies): its manifest anchored by
its transcript. The places of one vault (vault.core.copies.identity) are judged as
branches; the judged place's readiness is read from its drill log's end, as `drill
status` reads it. A place that cannot be read is `Unreadable` with the error `drill
status` would give, and the search goes on. A directory with no vault under it is
unreadable too: a monitoring job pointed at the wrong directory must fail, not report
an empty fleet as healthy. The model (vault.core.fleet) retires the vaults another
one supersedes and matches the pins.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

from vault.core import copies as cp
from vault.core import fleet as fl
from vault.core.formats import pins
from vault.core.layout import MANIFEST_FILE, PACKETS_DIR, REPORT_FILE, TRANSCRIPT_FILE
from vault.core.text import fleet_report, metrics
from vault.edges import fsio
from vault.errors import InvalidInput, VaultError
from vault.flows import copies, drill
from vault.flows.drill import Clock
from vault.flows.vaults import exists



def status(paths: Sequence[Path], as_of: date | None, clock: Clock = drill.utc_now, pins_file: Path | None = None) -> fl.Fleet:
    """Every vault at or under `paths`, its readiness as of a day (default: today, UTC); `pins_file` names the vaults expected."""
    day = drill.as_of_day(as_of, clock)  # a day too late is the whole command's mistake, refused before any vault is read
    found_pins = pins.parse(fsio.read_text(pins_file), str(pins_file)) if pins_file is not None else None  # so is a bad pins file
    unreadable: list[fl.Unreadable] = []
    manifests: list[Path] = []
    for path in paths:
        refused = len(unreadable)
        under = list(_manifests(path, unreadable))
        if not under and len(unreadable) == refused:
            unreadable.append(_unreadable(path, InvalidInput(
                f"{path}: no vault found under it", f"a vault is a {MANIFEST_FILE} with its {TRANSCRIPT_FILE} beside it")))
        manifests += under
    vaults: dict[str, list[copies.Read]] = {}
    with fsio.bulk_reading():  # one pause of the cycle collector for every vault, not one a vault (a tenth of the time)
        for manifest in copies.distinct(manifests):  # a place named twice (a manifest under a directory also given) is read once
            read = _read(manifest, unreadable)
            if read is not None:
                vaults.setdefault(read.place.identity, []).append(read)
        now = clock()
        found = [vault for reads in vaults.values() if (vault := _judged(reads, day, now, unreadable)) is not None]
    return fl.fleet(day, found, unreadable, found_pins, str(pins_file) if pins_file is not None else None)


def _read(manifest: Path, unreadable: list[fl.Unreadable]) -> copies.Read | None:
    """One place, its manifest anchored by the transcript beside it; None (and the place named) when it cannot be read."""
    try:
        if exists(manifest) and not exists(manifest.parent / TRANSCRIPT_FILE):
            raise InvalidInput(f"{manifest}: no {TRANSCRIPT_FILE} beside it: nothing anchors it, and anyone could have edited it",
                               f"put the vault's {TRANSCRIPT_FILE} beside it, or move the manifest out of the places searched")
        return copies.read_place(manifest)
    except VaultError as error:
        unreadable.append(_unreadable(manifest, error))
        return None


def _judged(reads: list[copies.Read], day: date, now: datetime, unreadable: list[fl.Unreadable]) -> fl.Found | None:
    """One vault's places judged as branches, and the judged place's readiness; None when none of them can be read."""
    histories: list[cp.History] = []
    if len(reads) > 1:
        kept = []
        for read in reads:
            try:
                histories.append(copies.history(read))
                kept.append(read)
            except VaultError as error:
                unreadable.append(_unreadable(read.path, error))
        reads = kept
    if not reads:
        return None
    found = copies.arranged(reads, histories if len(reads) > 1 else None)
    place = found.judged
    if place is None:
        return fl.Found(found, None)
    try:
        ready = drill.readiness_of(place.manifest, copies.drill_log(place), day, now)
    except VaultError as error:
        unreadable.append(_unreadable(Path(place.path), error))
        return None
    return fl.Found(found, ready, copies.successor_noted(place))


def write_metrics(fleet: fl.Fleet, out: Path, clock: Clock = drill.utc_now) -> None:
    """The fleet as Prometheus metrics in `out`, replaced whole (a temporary file beside it, then a rename), as
    node_exporter's textfile collector requires: it never reads half a file."""
    fsio.replace_file(out, metrics.render(fleet, clock()).encode("utf-8"), fsio.PUBLIC_FILE_MODE)


def write_page(fleet: fl.Fleet, out: Path) -> None:
    """The fleet's page in `out` (replaced whole), linking to each vault's own `report.html` where there is one."""
    links = {}
    for vault in fleet.vaults:
        for place in vault.places:
            report = Path(place).parent / REPORT_FILE
            if report.is_file():
                links[place] = os.path.relpath(report.absolute(), out.absolute().parent)
    fsio.replace_file(out, fleet_report.render(fleet, links).encode("utf-8"), fsio.PUBLIC_FILE_MODE)


def _manifests(path: Path, unreadable: list[fl.Unreadable]) -> Iterator[Path]:
    """The manifest `path` names, or every manifest under the directory `path` (but in a vault's packets), in name order."""
    if not path.is_dir():
        yield path  # a manifest (or nothing there: reading it says so)
        return

    def refused(error: OSError) -> None:
        where = Path(error.filename) if error.filename else path
        unreadable.append(_unreadable(where, InvalidInput(f"{where}: cannot list it ({error.strerror})")))

    for directory, subdirectories, files in os.walk(path, onerror=refused, followlinks=False):
        is_vault = MANIFEST_FILE in files  # with its transcript or not: one without is named, never skipped
        subdirectories[:] = sorted(name for name in subdirectories
                                   if not name.startswith(".") and not (is_vault and name == PACKETS_DIR))
        if is_vault:
            yield Path(directory) / MANIFEST_FILE


def _unreadable(place: Path, error: VaultError) -> fl.Unreadable:
    return fl.Unreadable(str(place), (error.message, *(f"hint: {hint}" for hint in error.hints)), error.exit_code)
