"""gort: Go's runtime, rebuilt in Python on greenlets.

This module only hands names on; the runtime lives in gort/sched (proc.go),
gort/time (time.go), gort/netpoll (netpoll.go), gort/net (internal/poll, net),
gort/sync and gort/context.

``import gort`` loads the core (scheduler, channels, select, gort.time and
gort.context).  Every other subpackage -- gort.net, gort.sync, gort.debug,
gort.trace, and any added later -- is an attribute too, imported on first
use by the module ``__getattr__`` below (PEP 562), so ``import gort`` stays
cheap and ``gort.sync.Mutex()`` works without its own import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .hchan import Chan, ClosedChannelError, chan, nilchan
from .sched import Deadlock, blocking, goexit, gomaxprocs, gosched, num_goroutine, run
from .sched import newproc as _newproc
from .sched.error import Panic
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


def __getattr__(name: str) -> Any:
    """PEP 562: ``gort.net``, ``gort.sync``, ... import the subpackage on
    first use (importlib then binds it here, so this runs once per name)."""
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise  # the subpackage exists but something it imports is missing
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    import pkgutil
    subs = {m.name for m in pkgutil.iter_modules(__path__)}
    return sorted(set(globals()) | subs)


__all__ = [
    "Deadlock", "Panic", "blocking", "go", "gomaxprocs", "gosched", "goexit", "num_goroutine",
    "run", "Chan", "ClosedChannelError", "chan", "nilchan", "recv", "select", "send",
    "context", "time", "from_thread",
]
