"""The fleet as Prometheus metrics: a text file for node_exporter's textfile collector (`fleet status --metrics`).

Pure: a `Fleet` (vault.core.fleet) and the time of the run in, the text exposition
format 0.0.4 out (HELP and TYPE lines per family, then its samples, in a fixed order so
that two runs on the same vaults give the same file). docs/monitoring.md says what each
metric means and gives alerting rules over them.

Durations are in seconds, Prometheus's base unit (`promtool check metrics` refuses
"days"); they are whole days counted from the fleet's as-of day, so each is a multiple
of 86400. Label values come from files other people wrote (a vault's name, a group's,
a custodian's, a path): each is shown as `safe.text` shows it (hidden characters, a
newline included, as visible escapes), then escaped as the format requires (backslash,
double quote, newline), so that no name can end a label, a line or the file early.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time

from vault.core.copies import Standing
from vault.core.drill import Readiness, ShareReadiness, State
from vault.core.fleet import Fleet, VaultStatus
from vault.core.text import safe
from vault.core.verdict import Verdict

SECONDS_PER_DAY = 86_400

Labels = tuple[tuple[str, str], ...]
Sample = tuple[Labels, int]


def render(fleet: Fleet, generated: datetime) -> str:
    """The whole file. `generated` (timezone-aware) is the run's time, the only value that is not a fact of the vaults."""
    if generated.tzinfo is None:
        raise ValueError("generated must be timezone-aware: the metrics file holds Unix time")
    lines: list[str] = []
    for name, help_text, samples in _families(fleet, generated):
        lines.append(f"# HELP {name} {_help(help_text)}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f"{name}{_labels(labels)} {value}" for labels, value in samples)
    return "\n".join(lines) + "\n"


def _families(fleet: Fleet, generated: datetime) -> Iterable[tuple[str, str, Sequence[Sample]]]:
    """Every metric family in order: the fleet's, each vault's, each unreadable place's, each share's."""
    vaults = fleet.vaults
    yield ("coldvault_fleet_last_run_timestamp_seconds", "When coldvault fleet status wrote this file (Unix time).",
           [((), int(generated.timestamp()))])
    yield ("coldvault_fleet_as_of_timestamp_seconds", "The day readiness was judged for (00:00 UTC, Unix time).",
           [((), _timestamp(fleet.as_of))])
    yield "coldvault_fleet_vaults", "Vaults read (the same vault found twice counts once).", [((), len(vaults))]
    yield "coldvault_fleet_recoverable_vaults", "Vaults recoverable from recently verified shares.", [((), fleet.recoverable)]
    yield "coldvault_fleet_retired_vaults", "Vaults superseded by another vault found (retired).", [((), fleet.count(Verdict.RETIRED))]
    yield "coldvault_fleet_conflict_vaults", "Vaults whose copies diverge (in conflict).", [((), fleet.count(Verdict.CONFLICT))]
    yield "coldvault_fleet_unreadable_vaults", "Places that name a vault coldvault could not read.", [((), len(fleet.unreadable))]

    def per_vault(value: Callable[[VaultStatus], int]) -> list[Sample]:
        return [(_vault_labels(vault), value(vault)) for vault in vaults]

    def per_judged(value: Callable[[Readiness], int]) -> list[Sample]:
        """Only the vaults judged from a place's readiness (not one in conflict)."""
        return [(_vault_labels(vault), value(vault.readiness)) for vault in vaults if vault.readiness is not None]

    yield ("coldvault_vault_recoverable", "1 if the vault is recoverable from shares verified within its drill interval and its drill log "
                                          "verifies, else 0 (0 in conflict; a retired vault's too is its readiness).",
           per_vault(lambda vault: int(vault.recoverable)))
    yield ("coldvault_vault_recoverable_remaining_seconds",
           "Time from the as-of day until the vault stops being recoverable unless a share is checked (whole days); 0 if not recoverable.",
           per_vault(lambda vault: _remaining_days(vault, fleet.as_of) * SECONDS_PER_DAY))
    yield ("coldvault_vault_recoverable_until_timestamp_seconds",
           "When the vault stops being recoverable unless a share is checked (00:00 UTC of that day, Unix time); only recoverable vaults.",
           [(_vault_labels(vault), _timestamp(until, days_after=1)) for vault in vaults
            if (until := vault.recoverable_until) is not None])
    yield ("coldvault_vault_retired", "1 if a vault found in the same run supersedes this one (rotate): no longer used, not an alert.",
           per_vault(lambda vault: int(vault.verdict is Verdict.RETIRED)))
    yield ("coldvault_vault_conflict", "1 if copies of the vault diverge (no place holds the whole history): not judged, an alert.",
           per_vault(lambda vault: int(vault.verdict is Verdict.CONFLICT)))
    yield ("coldvault_vault_stale_copies", "Places holding a stale copy of the vault (its history a prefix of another's): named, not judged.",
           per_vault(lambda vault: len(vault.copies.standing(Standing.STALE))))
    yield ("coldvault_vault_unpinned", "1 if --pins was given and the vault's key is not pinned in it; absent without --pins.",
           [(_vault_labels(vault), int(not vault.pinned)) for vault in vaults if vault.pinned is not None])
    yield ("coldvault_pin_missing", "1 for each vault pinned in --pins and not found.",
           [((("vault_key_sha256", pin.vault_key_sha256), ("label", pin.label)), 1) for pin in fleet.missing_pins])
    yield "coldvault_vault_groups_ready", "Groups with enough currently verified shares.", per_judged(lambda ready: sum(g.ready for g in ready.groups))
    yield "coldvault_vault_groups_needed", "Groups needed to recover the secret.", per_judged(lambda ready: ready.groups_needed)
    yield "coldvault_vault_shares", "Shares listed in the manifest.", per_judged(lambda ready: len(ready.shares))
    for state, words in ((State.FAILED, "whose latest check failed"), (State.OVERDUE, "whose last passed check no longer counts"),
                         (State.NEVER_VERIFIED, "never verified since they were made")):
        yield (f"coldvault_vault_{state.value.replace('-', '_')}_shares", f"Shares {words}.", per_judged(_counter(state)))
    yield ("coldvault_vault_tampered", "1 if lines of the drill log cannot be trusted (the log was tampered with; they are not counted), else 0.",
           per_judged(lambda ready: int(ready.tampered)))
    yield ("coldvault_vault_unattested", "1 if the manifest has no attestation keys (checks not proven to come from the shares), else 0.",
           per_judged(lambda ready: int(ready.unattested)))
    yield ("coldvault_unreadable_vault", "1 for each place that names a vault coldvault could not read (fleet status says why).",
           [((("path", unreadable.place),), 1) for unreadable in fleet.unreadable])

    def per_share(value: Callable[[ShareReadiness], int | None]) -> list[Sample]:
        return [(_share_labels(vault, share), number) for vault in vaults for share in (vault.readiness.shares if vault.readiness else ())
                if (number := value(share)) is not None]

    yield ("coldvault_share_verified_ever", "1 if the share was ever verified (the ceremony counts), else 0.",
           per_share(lambda share: int(share.last_verified is not None)))
    yield ("coldvault_share_last_verified_age_seconds",
           "Time from the share's last passed check to the as-of day (whole days); only shares ever verified.",
           per_share(lambda share: None if share.last_verified is None else (fleet.as_of - share.last_verified).days * SECONDS_PER_DAY))
    yield ("coldvault_share_current", "1 if the share's last passed check still counts and no check failed since, else 0.",
           per_share(lambda share: int(share.state is State.CURRENT)))


def _counter(state: State) -> Callable[[Readiness], int]:
    return lambda ready: sum(1 for share in ready.shares if share.state is state)


def _remaining_days(vault: VaultStatus, as_of: date) -> int:
    until = vault.recoverable_until
    return 0 if until is None else (until - as_of).days + 1


def _timestamp(day: date, days_after: int = 0) -> int:
    """Unix time of 00:00 UTC on `day` (plus whole days: the day after the last still-recoverable one)."""
    return int(datetime.combine(day, time(), UTC).timestamp()) + days_after * SECONDS_PER_DAY


def _vault_labels(vault: VaultStatus) -> Labels:
    """What identifies a vault to a person reading an alert: its name, its ceremony id, where it was found first."""
    return ("vault", vault.name), ("ceremony_id", vault.ceremony_id), ("path", vault.places[0])


def _share_labels(vault: VaultStatus, share: ShareReadiness) -> Labels:
    """The vault's labels, the group and the custodian; `share` keeps two unnamed shares of a group apart."""
    entry = share.entry
    group = next((g.name for g in vault.manifest.scheme.groups if g.index == entry.group_index), None)
    return (*_vault_labels(vault), ("group", group or f"group {entry.group_index + 1}"), ("custodian", entry.custodian or ""),
            ("share", f"{entry.group_index + 1}.{entry.member_index + 1}"))


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{label_value(value)}"' for name, value in labels) + "}"


def label_value(value: str) -> str:
    """A label value as the format requires: hidden characters shown (`safe.text`), then backslash, quote and newline escaped."""
    return safe.text(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help(text: str) -> str:
    """HELP text escapes backslash and newline (ours hold neither; kept for safety)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")
