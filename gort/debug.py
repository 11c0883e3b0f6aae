"""Goroutine dumps on demand (Go: runtime.Stack, runtime/debug, the SIGQUIT dump).

    gort.debug.dump()              # every goroutine, Go's format, to stderr
    text = gort.debug.stack(all=True)

Each goroutine prints as Go prints it::

    goroutine 7 [chan receive, 2 minutes]:
    worker(...)
    \t/path/prog.py:12
    created by main in goroutine 1
    \t/path/prog.py:30

``GORTDEBUG`` settings (schedtrace, scheddetail, blockwarn, sigquit) are
described in gort/sched/sysmon.py and docs/sched.md.
"""

from __future__ import annotations

import sys
from typing import TextIO

from .sched.proc import getg, sched
from .sched.sysmon import schedtrace
from .sched.traceback import goroutine_dump, goroutine_stack

__all__ = ["dump", "stack", "schedtrace_line"]


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
