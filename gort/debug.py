"""Goroutine dumps on demand (Go: runtime.Stack, runtime/debug, the SIGQUIT dump).

    gort.debug.dump()              # every goroutine, Go's format, to stderr
    text = gort.debug.stack(all=True)

Each goroutine prints as Go prints it::

    goroutine 7 [chan receive, 2 minutes]:
    worker(...)
    \t/path/prog.py:12
    created by main in goroutine 1
    \t/path/prog.py:30

Goroutine leaks (Go 1.27's ``goroutineleak`` profile)::

    for lk in gort.debug.leaked_goroutines():   # blocked forever
        print(lk.goid, lk.wait_reason); print(lk.stack)
    gort.debug.write_leak_profile(sys.stderr)

``GORTDEBUG`` settings (schedtrace, scheddetail, blockwarn, sigquit, trace,
leakcheck) are described in gort/sched/sysmon.py and docs/sched.md;
the leak detector in gort/sched/goroutineleak.py and docs/testing.md.
"""

from __future__ import annotations

import sys
from typing import TextIO

from .sched.goroutineleak import LeakedGoroutine, leaked, write_profile
from .sched.proc import getg, sched
from .sched.sysmon import schedtrace
from .sched.traceback import goroutine_dump, goroutine_stack

__all__ = ["dump", "stack", "schedtrace_line", "leaked_goroutines", "write_leak_profile",
           "LeakedGoroutine"]


def stack(all: bool = False) -> str:
    """The calling goroutine's stack, or every goroutine's (Go: runtime.Stack)."""
    if all:
        return goroutine_dump()
    return goroutine_stack(getg())


def dump(file: TextIO | None = None) -> None:
    """Print every goroutine, as Go does on SIGQUIT."""
    out = file if file is not None else sys.stderr
    out.write(goroutine_dump() + "\n")
    out.flush()


def schedtrace_line(detail: bool = False) -> str:
    """The schedtrace report GORTDEBUG=schedtrace would print right now."""
    return schedtrace(detail, sched.starttime)


def leaked_goroutines() -> list[LeakedGoroutine]:
    """The goroutines blocked forever: parked on a channel, select, sync
    object or semaphore that no goroutine that may still run can reach, nor
    any module global (Go 1.27: the goroutineleak profile).  By goid; empty
    when no runtime runs.  It walks every reachable object once: seconds
    with 100,000 parked goroutines, so it is a debugging and test tool."""
    if sched.m0 is None:
        return []
    return leaked(sched.allgs)


def write_leak_profile(file: TextIO | None = None) -> int:
    """Write the goroutineleak profile (a count, then each leak in the dump
    format) to file (default stderr); return how many leaked."""
    leaks = leaked_goroutines()
    write_profile(leaks, file if file is not None else sys.stderr)
    return len(leaks)
