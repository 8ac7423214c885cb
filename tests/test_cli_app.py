"""The command table: `coldvault --help` lists every command with its own help, and loads none of them.

`vault/cli/app.py` names each command and its one-line help so that the list can be
printed without importing the commands (start-up time: benchmarks/startup.py). These
tests keep the table true to the commands it stands for.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from vault.cli.app import COMMANDS, load

CLI = Path(__file__).resolve().parent.parent / "vault" / "cli"


def _first_paragraph(text: str | None) -> str:
    return " ".join((text or "").split("\n\n")[0].split())


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_each_commands_line_in_the_list_is_its_own_help(command) -> None:
    loaded = load(command)
    assert _first_paragraph(loaded.help) == command.help


def test_every_command_module_is_in_the_table() -> None:
    """A module that defines a command (`app = new_app(...)`) but is not listed would be unreachable."""
    defining = set()
    for path in CLI.glob("*.py"):
        tree = ast.parse(path.read_text())
        if any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "app" for t in node.targets) for node in tree.body):
            defining.add(path.stem)
    defining.discard("app")  # the root
    assert defining == {command.module for command in COMMANDS}


def test_the_list_is_in_the_order_a_team_uses_the_commands(cli) -> None:
    """The table's order (its docstring says why) is the help's: click's own listing would sort them."""
    assert [c.name for c in COMMANDS] == [
        "ceremony", "split", "inspect", "verify", "card", "wrap", "unwrap", "token", "drill", "fleet", "transcript", "extend", "rotate", "recover",
    ]
    section = cli("--help").stdout.split("Commands:")[1]
    listed = [line.split()[0] for line in section.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert listed == [c.name for c in COMMANDS]


LOADED_BY_HELP = """
import json, sys
from vault.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def test_help_loads_no_command_and_nothing_heavy() -> None:
    done = subprocess.run([sys.executable, "-c", LOADED_BY_HELP], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout.splitlines()[-1])
    ours = [name for name in loaded if name.startswith("vault.")]
    # vault.core.text.safe: the rule every error and output line is written through (a few lines, standard library only)
    assert ours == ["vault.cli", "vault.cli.app", "vault.core", "vault.core.text", "vault.core.text.safe",
                    "vault.edges", "vault.edges.hygiene", "vault.errors"]
    heavy = [name for name in loaded if name.split(".")[0] in {"cryptography", "pkcs11", "fpdf", "shamir_mnemonic", "mnemonic"}]
    assert heavy == []


def test_a_group_of_one_stays_a_group(cli) -> None:
    """`transcript` has one subcommand; it must still be `coldvault transcript verify`."""
    result = cli("transcript", "--help")
    assert result.returncode == 0
    assert "verify" in result.stdout.split("Commands:")[1]


def test_a_mistyped_command_is_a_usage_error_that_suggests_the_right_one(cli) -> None:
    result = cli("splt")
    assert result.returncode == 2
    assert "No such command 'splt'. Did you mean 'split'?" in result.stderr


def test_commands_share_the_roots_settings() -> None:
    """No shell-completion flags, no rich boxes, no local variables in tracebacks: in every command."""
    for command in COMMANDS:
        loaded = load(command)
        names = {option for param in loaded.params for option in param.opts}
        assert "--install-completion" not in names, command.name
    assert isinstance(load(COMMANDS[0]), typer.core.TyperGroup)
