"""The typer application object, shared by the command modules."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="coldvault",
    help="Key ceremonies for cold-storage wallet seeds: SLIP-39 shares, sealed packets, recovery drills.",
    no_args_is_help=True,
    add_completion=False,
    # A traceback's local variables can hold a seed or a share: never print them.
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
