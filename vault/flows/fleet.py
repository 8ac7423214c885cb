"""`coldvault fleet status`: every vault under the places given, each read as `drill status` reads it.

A place is a manifest, or a directory searched for vaults: a `manifest.json` with
its `transcript.jsonl` beside it. The search never enters hidden directories (an
interrupted run's `.NAME.coldvault-staging-*` among them), never follows a link to a
directory (no loops, no vault counted through a second road), and does not enter a
vault's `custodians/` directory: the packets there carry copies of the vault's
manifest and transcript for each custodian, the same vault, not another one.

Each vault is read once, in this process, by `vault.flows.drill.status`: the manifest
anchored by its transcript, readiness from the drill log's end. A vault that cannot
be read is `Unreadable` with the error `drill status` would give, and the search goes
on; the model (vault.core.fleet) merges a vault found at two places. A directory with
no vault under it is unreadable too: a monitoring job pointed at the wrong directory
must fail, not report an empty fleet as healthy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

from vault.core import fleet as fl
from vault.core.formats import transcript
from vault.core.layout import MANIFEST_FILE, PACKETS_DIR, REPORT_FILE
from vault.core.text import fleet_report, metrics
from vault.edges import fsio
from vault.errors import InvalidInput, VaultError
from vault.flows import drill
from vault.flows.drill import Clock



def status(paths: Sequence[Path], as_of: date | None, clock: Clock = drill.utc_now) -> fl.Fleet:
    """Every vault at or under `paths`, its readiness as of a day (default: today, UTC)."""
    day = drill.as_of_day(as_of, clock)  # a day too late is the whole command's mistake, refused before any vault is read
    vaults: list[fl.VaultStatus] = []
    unreadable: list[fl.Unreadable] = []
    read: set[str] = set()
    for path in paths:
        refused = len(unreadable)
        manifests = list(_manifests(path, unreadable))
        if not manifests and len(unreadable) == refused:
            unreadable.append(_unreadable(path, InvalidInput(
                f"{path}: no vault found under it", f"a vault is a {MANIFEST_FILE} with its {transcript.TRANSCRIPT_FILE} beside it")))
        for manifest in manifests:
            real = os.path.realpath(manifest)  # never raises, not even on a loop of links (Path.resolve does)
            if real in read:
                continue  # the same file named twice (a manifest under a directory also given): one place, read once
            read.add(real)
            try:
                found = drill.status(manifest, day, None, clock)
            except VaultError as error:
                unreadable.append(_unreadable(manifest, error))
                continue
            vaults.append(fl.VaultStatus((str(manifest),), found.manifest, found.anchor, found.readiness))
    return fl.fleet(day, vaults, unreadable)


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
    """The manifest `path` names, or the vaults' manifests under the directory `path`, in name order."""
    if not path.is_dir():
        yield path  # a manifest (or nothing there: reading it says so)
        return

    def refused(error: OSError) -> None:
        where = Path(error.filename) if error.filename else path
        unreadable.append(_unreadable(where, InvalidInput(f"{where}: cannot list it ({error.strerror})")))

    for directory, subdirectories, files in os.walk(path, onerror=refused, followlinks=False):
        is_vault = MANIFEST_FILE in files and transcript.TRANSCRIPT_FILE in files
        subdirectories[:] = sorted(name for name in subdirectories
                                   if not name.startswith(".") and not (is_vault and name == PACKETS_DIR))
        if is_vault:
            yield Path(directory) / MANIFEST_FILE


def _unreadable(place: Path, error: VaultError) -> fl.Unreadable:
    return fl.Unreadable(str(place), "\n".join((error.message, *(f"hint: {hint}" for hint in error.hints))), error.exit_code)
