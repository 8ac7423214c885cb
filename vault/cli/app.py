"""The root `coldvault` command: a table of commands, each loaded only when it runs.

Every command lives in its own module of `vault.cli`, which defines a `typer.Typer`
named `app` (one command, or a group such as `drill`). The root lists the names and
one-line helps from `COMMANDS` without importing those modules, so `coldvault --help`
costs typer and this table, not every command's dependencies; `coldvault split ...`
imports `vault.cli.split` alone. tests/test_cli_app.py checks that each line here is
its command's own help, so the table cannot drift from the commands.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer import _click as click  # the click that typer vendors


@dataclass(frozen=True)
class Command:
    name: str
    module: str
    """The module of `vault.cli` whose `app` it is."""
    help: str
    """The first line of its help, as `coldvault --help` lists it."""


COMMANDS = (
    Command("ceremony", "ceremony", "Key ceremonies: write a plan template, rehearse it, run it end to end."),
    Command("split", "split", "Split a secret into SLIP-39 shares: DIR/manifest.json, DIR/shares/*.txt, DIR/transcript.jsonl."),
    Command("inspect", "inspect", "Show a share's identifier, group and thresholds, and its fingerprint."),
    Command("verify", "verify", "Check shares against the manifest and prove what every qualifying subset recovers."),
    Command("card", "card", "Write a one-page printable card for a share: its words, numbered, with its group and fingerprint."),
    Command("wrap", "wrap", "Seal a share to a token: its AES key (--token --key-label), or a custodian's public key (--recipient-pubkey; add --token to prove that token opens it)."),
    Command("unwrap", "unwrap", "Open an envelope with its token: the share's words go to --out (or stdout)."),
    Command("token", "token", "PKCS#11 tokens: list them, create keys on them, export public keys."),
    Command("drill", "drill", "Recovery drills: check shares without revealing the seed; readiness; reports."),
    Command("fleet", "fleet", "Many vaults at once: which are recoverable, and until when."),
    Command("transcript", "transcript", "The ceremony's tamper-evident transcript and drill log."),
    Command("extend", "extend", "Add members to one group, from a threshold of its shares, without the seed."),
    Command("rotate", "rotate", "Re-split the seed by a new plan, so that old shares never combine with new ones."),
    Command("recover", "recover", "Recover the secret from a quorum of shares."),
)
"""In the order a custody team uses them, which `coldvault --help` keeps (`LazyGroup.list_commands`;
click would sort them): the ceremony, or its single steps (split, inspect, verify, card, wrap,
unwrap) and the tokens they need; then the years after: drills, the fleet of vaults they keep ready, and the transcript they check,
changing custodians (extend, rotate), and last, recovery. tests/test_cli_app.py holds the help to it."""


def load(command: Command) -> click.Command:
    """The command's click object, from its module's `app` (importing the module)."""
    module = importlib.import_module(f"vault.cli.{command.module}")
    loaded = typer.main.get_command(module.app)
    loaded.name = command.name
    return loaded


class _Commands(Mapping[str, "click.Command"]):
    """The root's commands by name; a command's module is imported the first time it is looked up."""

    def __init__(self) -> None:
        self._table = {command.name: command for command in COMMANDS}
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            self._loaded[name] = load(self._table[name])
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


class LazyGroup(TyperGroup):
    """A typer group that lists `COMMANDS` from the table and loads only the one that runs."""

    def __init__(self, **attrs: object) -> None:
        super().__init__(**attrs)  # type: ignore[arg-type]
        self.commands = _Commands()  # type: ignore[assignment]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [command.name for command in COMMANDS]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their one-sentence summaries, from the table, whole (wrapped, never cut off with "...")."""
        with formatter.section("Commands"):
            formatter.write_dl([(command.name, command.help) for command in COMMANDS])


def new_app(help: str | None = None, **settings: Any) -> typer.Typer:
    """A command module's `app`, with the settings every coldvault command shares.

    `help` makes it a group of subcommands (`drill run|status|report`, and `transcript
    verify`, a group of one), shown when it is run without one; without it, the module
    defines one command.
    """
    made = typer.Typer(
        add_completion=False,
        # A traceback's local variables can hold a seed or a share: never print them.
        pretty_exceptions_show_locals=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        **settings,
    )
    if help is not None:
        made.callback(help=help, no_args_is_help=True)(_group)
    return made


def _group() -> None:
    """A group does nothing itself: its subcommands do."""


app = new_app(name="coldvault", cls=LazyGroup, no_args_is_help=True)


@app.callback()
def root() -> None:
    """Key ceremonies for cold-storage wallet seeds: SLIP-39 shares, sealed packets, recovery drills."""
