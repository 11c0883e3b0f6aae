"""gort: Go's runtime, rebuilt in Python on greenlets.

This module only hands names on; the runtime lives in gort/sched (proc.go),
gort/time (time.go), gort/netpoll (netpoll.go), gort/net (internal/poll, net),
gort/sync and gort/context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .chan import Chan, ClosedChannelError, chan
from .sched import Deadlock, blocking, goexit, gomaxprocs, gosched, num_goroutine, run
from .sched import newproc as _newproc
from .sched.proc import from_thread
from .selectgo import recv, select, send

# isort: split
# After chan: gort.time and gort.context build on it.
from . import context, time

__version__ = "0.1.0"


def go(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Start ``fn(*args, **kwargs)`` in a new goroutine (Go: the go statement).

    The goroutine gets a copy of the caller's contextvars context.  Like Go's
    newproc, it goes into the caller's runnext slot: it runs next.
    """
    _newproc(fn, args, kwargs or None)


__all__ = [
    "Deadlock", "blocking", "go", "gomaxprocs", "gosched", "goexit", "num_goroutine", "run",
    "Chan", "ClosedChannelError", "chan", "recv", "select", "send", "context", "time",
    "from_thread",
]
