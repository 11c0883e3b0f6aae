"""gort/netpoll: the integrated network poller (Go: src/runtime/netpoll*.go).

Exports Go's poll_runtime_* API, which gort/net builds its sockets on
(Go: internal/poll's runtime_poll* linknames):

    poll_runtime_pollOpen(fd) -> pollDesc
    poll_runtime_pollClose(pd)
    poll_runtime_pollReset(pd, mode) -> int          mode 'r' or 'w'
    poll_runtime_pollWait(pd, mode) -> int           mode 'r' or 'w'
    poll_runtime_pollSetDeadline(pd, d, mode)        d: monotonic time or None; 'r','w','rw'
    poll_runtime_pollUnblock(pd)
    pollNoError, pollErrClosing, pollErrTimeout, pollErrNotPollable

The backend is chosen once, at import: ``GORTNETPOLL=epoll`` (the default
where select.epoll exists: Linux) or ``GORTNETPOLL=poll`` (level-triggered
poll(2), armed per wait, as the founding commit's Solaris poller).  Importing
this package installs ``netpoll(delay)`` and ``netpollBreak()`` into the
scheduler (gort.sched.install_netpoll).
"""

from __future__ import annotations

import os
import select

from .netpoll import (
    _setbackend,
    netpollblock,
    netpollcheckerr,
    netpolldeadlineimpl,
    netpollinited,
    netpollIsPollDescriptor,
    netpollready,
    netpollunblock,
    pdNil,
    pdReady,
    pdWait,
    poll_runtime_pollClose,
    poll_runtime_pollOpen,
    poll_runtime_pollReset,
    poll_runtime_pollSetDeadline,
    poll_runtime_pollUnblock,
    poll_runtime_pollWait,
    pollcache,
    pollDesc,
    pollErrClosing,
    pollErrNotPollable,
    pollErrTimeout,
    pollNoError,
)

BACKENDS = ("epoll", "poll")


def newbackend(name: str):
    """A fresh, uninitialised poller of the named kind."""
    if name == "epoll":
        if not hasattr(select, "epoll"):
            raise ValueError("gort.netpoll: the epoll backend needs Linux (select.epoll); "
                             "use GORTNETPOLL=poll")
        from .netpoll_epoll import epollPoller
        return epollPoller()
    if name == "poll":
        if not hasattr(select, "poll"):
            raise ValueError("gort.netpoll: this platform has no select.poll")
        from .netpoll_poll import pollPoller
        return pollPoller()
    raise ValueError(f"gort.netpoll: unknown backend {name!r} (GORTNETPOLL must be "
                     f"one of {', '.join(BACKENDS)})")


def _defaultbackend() -> str:
    name = os.environ.get("GORTNETPOLL", "").strip().lower()
    if name:
        return name
    return "epoll" if hasattr(select, "epoll") else "poll"


_setbackend(newbackend(_defaultbackend()))

__all__ = [
    "netpollIsPollDescriptor", "netpollblock", "netpollcheckerr", "netpolldeadlineimpl",
    "netpollinited", "netpollready", "netpollunblock", "pdNil", "pdReady", "pdWait",
    "pollDesc", "pollErrClosing", "pollErrNotPollable", "pollErrTimeout", "pollNoError",
    "poll_runtime_pollClose", "poll_runtime_pollOpen", "poll_runtime_pollReset",
    "poll_runtime_pollSetDeadline", "poll_runtime_pollUnblock", "poll_runtime_pollWait",
    "pollcache",
]


def _afterfork() -> None:
    # A forked child shares the parent's epoll instance: its netpoll would
    # steal the parent's events.  Give the child its own poller (and break
    # fd); open pds are registered anew.
    from .netpoll import _backendname
    if _backendname():
        _setbackend(newbackend(_backendname()))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_afterfork)
