"""Process hygiene for a program that holds seeds: no core dumps, no peeking by peers.

A core dump is a copy of the process's memory written to disk. With a seed in
memory, a crash (or `kill -QUIT`, or `gcore`) would leave the seed in a file that
nobody meant to keep. coldvault turns dumps off for the whole process on the first
line of `main`, before any secret can exist, rather than around each secret: it is
simpler, and Python leaves copies of secrets in freed memory long after the objects
that held them are gone, so "while a secret is in memory" means "until exit".
"""

from __future__ import annotations

import resource
import sys

PR_SET_DUMPABLE = 4
"""<linux/prctl.h>; 0 makes the process not dumpable."""


def forbid_core_dumps() -> None:
    """No core file, on any path the kernel knows; raises OSError if that cannot be had.

    - RLIMIT_CORE 0, soft and hard: the process (and anything it starts) cannot raise it
      again. The kernel enforces it for core files it writes itself; when
      /proc/sys/kernel/core_pattern pipes dumps to a helper (systemd-coredump, apport),
      it does not, and the helper decides.
    - Linux: PR_SET_DUMPABLE 0. A process that is not dumpable gets no core dump at all,
      piped or not; other processes of the same user cannot ptrace it or read its memory
      through /proc/<pid>/mem, and its /proc/<pid> files belong to root.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        import ctypes  # about 2 ms of start-up; there is no prctl in Python 3.11's os module

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            number = ctypes.get_errno()
            raise OSError(number, f"prctl(PR_SET_DUMPABLE, 0) failed (errno {number})")
