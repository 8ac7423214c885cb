"""The ceremony's voice in the room: announce each step, ask each witness to confirm by name.

An edge (the terminal). A scripted run (`--yes`) announces the same steps but asks
no one, and says so in the transcript: an auditor must be able to tell a witnessed
ceremony from a scripted one.
"""

from __future__ import annotations

from collections.abc import Sequence

from vault.core import names
from vault.edges import terminal
from vault.errors import CheckFailed, InvalidInput

MAX_TRIES = 3
SCRIPTED = "not asked: scripted run (--yes)"


class TerminalGuide:
    def __init__(self, operator: str, witnesses: Sequence[str], scripted: bool) -> None:
        self.people = list(witnesses) or [operator]
        self.scripted = scripted

    def step(self, title: str, lines: Sequence[str] = ()) -> None:
        terminal.info()
        terminal.info(f"== {title}")
        for line in lines:
            terminal.info(f"   {line}")

    def confirm(self, what: str) -> str:
        """Each witness types their own name to confirm `what`; a refusal stops the ceremony.

        The typed name is compared folded (`names.same`), as the plan's names are compared with each
        other: "Tomas Ortega" typed on a keyboard without accents confirms "Tomás Ortega".
        """
        if self.scripted:
            return SCRIPTED
        for name in self.people:
            self._ask(name, what)
        where = "at the terminal" if terminal.interactive() else "on standard input (not a terminal)"
        return f"typed their names {where}: {', '.join(self.people)}"

    def _ask(self, name: str, what: str) -> None:
        for _ in range(MAX_TRIES):
            answer = terminal.read_line(f"{name}, to confirm {what}, type your name: ")
            if answer is None:
                raise InvalidInput(
                    "the input ended before every witness confirmed; nothing was written",
                    "run at a terminal, or give --yes for a scripted run",
                )
            if names.same(answer, name):
                return
            terminal.info(f'   that is not "{name}"; try again')
        raise CheckFailed(f"{name} did not confirm {what}; the ceremony stopped and nothing was written")
