"""`coldvault ARGS...` as a user runs it, but paused at one step of a ceremony: the crash and hygiene tests' driver.

    python tests/paused_cli.py STEP ARGS...

`vault.flows.ceremony.run` calls its `checkpoint` callback at each of `CHECKPOINTS`;
the CLI passes none. This driver passes one that, at STEP, prints "paused at STEP" on
stderr and sleeps, so that a test can kill the run there or look at the process.
Nothing in coldvault itself reads an environment variable or pauses for tests.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable

from vault.flows import ceremony

PAUSE_SECONDS = 3600


def pause_at(step: str) -> Callable[[str], None]:
    def checkpoint(name: str) -> None:
        if name == step:
            print(f"paused at {step}", file=sys.stderr, flush=True)
            time.sleep(PAUSE_SECONDS)

    return checkpoint


if __name__ == "__main__":
    step, args = sys.argv[1], sys.argv[2:]
    if step not in ceremony.CHECKPOINTS:
        sys.exit(f"no checkpoint {step!r}; the ceremony's are {', '.join(ceremony.CHECKPOINTS)}")
    ceremony.run = functools.partial(ceremony.run, checkpoint=pause_at(step))  # type: ignore[assignment]

    from vault.cli import main

    main(args)
