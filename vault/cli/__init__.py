"""The `coldvault` command line: parse, call one flow, render. Nothing else lives here.

`main` first turns core dumps off for the whole process (`vault.edges.hygiene`): no secret
that is ever in memory can end up in a core file. It refuses arguments that are not
valid UTF-8 (exit 3) before anything else happens, so none is ever stored. Then it is
the one place that turns every `VaultError` into ``error:``/``hint:`` lines on stderr
and the spec's exit code. Those lines, and typer's own usage errors, are written
through `safe.text`: an argument or a name in a message is shown, never obeyed.
Tracebacks are never shown (they can hold secrets in their frames) unless
COLDVAULT_DEBUG=1, and typer's pretty exceptions never show locals.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence

import typer

from vault.cli.app import app
from vault.core.text import safe
from vault.edges import hygiene
from vault.errors import InvalidInput, VaultError

EXIT_INTERRUPTED = 130
EXIT_INTERNAL_ERROR = 70
"""Not in the spec's table: a bug in coldvault, not a user's mistake (BSD EX_SOFTWARE)."""


def main(argv: list[str] | None = None) -> None:
    try:
        hygiene.forbid_core_dumps()  # first, before any secret can exist
    except OSError as error:
        _report(f"cannot turn off core dumps ({error.strerror}); coldvault does not run without that", ())
        sys.exit(EXIT_INTERNAL_ERROR)
    debug = os.environ.get("COLDVAULT_DEBUG") == "1"
    args = sys.argv[1:] if argv is None else argv
    try:
        check_arguments(args)
        returned = app(args=args, prog_name="coldvault", standalone_mode=False)
    except VaultError as error:
        _report(error.message, error.hints)
        sys.exit(error.exit_code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.TyperException as error:  # typer's own usage errors (click's, which typer vendors): exit 2
        show = getattr(error, "show", None)
        if show is not None:
            shown = io.StringIO()
            show(file=shown)
            _write(shown.getvalue().splitlines())
        else:
            _report(error.format_message(), ())
        sys.exit(error.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        _interrupted()
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:
        if debug:
            raise
        _report(
            f"internal error ({type(error).__name__}); this is a bug in coldvault",
            ("run again with COLDVAULT_DEBUG=1 to see the traceback (it may show secrets: do not share it)",),
        )
        sys.exit(EXIT_INTERNAL_ERROR)
    # typer 0.28 catches Ctrl-C itself (and typer.Exit) and returns the exit code.
    if returned == EXIT_INTERRUPTED:
        _interrupted()
    if isinstance(returned, int) and returned:
        sys.exit(returned)


def check_arguments(args: Sequence[str]) -> None:
    """Refuse an argument that is not valid UTF-8, naming it.

    Python decodes argv with surrogateescape: each byte that is not UTF-8 becomes a lone
    surrogate U+DC80..U+DCFF, which no UTF-8 file can hold. Shown as the byte it was.
    """
    for position, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in arg)
            raise InvalidInput(f"argument {position} is not valid UTF-8: {shown}",
                               "give names, labels and paths in UTF-8; nothing was done") from None


def _interrupted() -> None:
    """Ctrl-C: the message on a line of its own. The terminal has just echoed "^C" where
    the cursor was (mid-prompt, mid-word), so on a terminal the line is ended first."""
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    _report("interrupted; nothing was written", ())


def _report(message: str, hints: tuple[str, ...] | list[str]) -> None:
    _write([f"error: {message}"] + [f"hint: {hint}" for hint in hints])


def _write(lines: list[str]) -> None:
    """Lines on stderr, each shown safely: the newlines between them are the only ones written."""
    print("\n".join(safe.text(line) for line in lines), file=sys.stderr, flush=True)
