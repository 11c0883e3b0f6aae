"""patch_select: select.select, select.poll, select.epoll and selectors park
the goroutine on the netpoller.

Go has no select(2) for users: a goroutine per fd, each blocked in
internal/poll's pollDesc.wait, is Go's way.  A Python caller hands one call
many fds, and gort's pollDesc has one waiter per mode and fd (the fd may
belong to a patched socket that is itself waited on), so a wait here does
not register the caller's fds with the netpoller.  Instead:

1. ask the kernel without waiting (the original call with timeout 0):
   anything ready, or a zero timeout, returns at once;
2. otherwise put the fds, level-triggered, into a private epoll instance,
   and park on *that* epoll's fd, which the netpoller reports readable
   when any of them is ready (Go: netpollblock on one pollDesc, with the
   call's timeout as its read deadline);
3. on wake-up ask again without waiting (readiness is a hint; the call is
   the truth, as in internal/poll).

An ``epoll`` object is waited on the same way (its fd nested in a private
epoll), so two goroutines may poll one object at once.  The cost per
waiting call is one epoll_create and one epoll_ctl per fd: the kernel's own
select/poll is O(fds) too.  Where select.epoll does not exist the wait runs
on the blocking pool.  On a plain OS thread every call is the original.
"""

from __future__ import annotations

import errno as _errno
import math
import select as _stdselect
import selectors as _stdselectors
import sys
from time import monotonic
from typing import Any

from gort.netpoll import (
    poll_runtime_pollClose,
    poll_runtime_pollOpen,
    poll_runtime_pollSetDeadline,
    poll_runtime_pollUnblock,
    poll_runtime_pollWait,
    pollNoError,
)
from gort.sched import blocking

from . import _replace, in_goroutine

_origselect = _stdselect.select
_origpoll = _stdselect.poll
_origepoll = getattr(_stdselect, "epoll", None)
_EPOLLIN = getattr(_stdselect, "EPOLLIN", 1)
_EPOLLOUT = getattr(_stdselect, "EPOLLOUT", 4)
_EPOLLPRI = getattr(_stdselect, "EPOLLPRI", 2)
# poll(2) event bits that epoll understands (same values on Linux)
_POLLMASK = 0
for _n in ("POLLIN", "POLLPRI", "POLLOUT", "POLLRDHUP", "POLLRDNORM", "POLLRDBAND",
           "POLLWRNORM", "POLLWRBAND"):
    _POLLMASK |= getattr(_stdselect, _n, 0)


_ingoroutine = in_goroutine


def _fileno(obj: Any) -> int:
    if isinstance(obj, int):
        fd = obj
    else:
        fd = obj.fileno()
        if not isinstance(fd, int):
            raise TypeError("fileno() returned a non-integer")
    if fd < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
    return fd


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else monotonic() + timeout


def _waitfd(fd: int, deadline: float | None) -> bool:
    """Park until fd is readable (True) or the deadline passes (False).
    fd is private to the caller: it gets a pollDesc of its own."""
    pd = poll_runtime_pollOpen(fd)
    try:
        if deadline is not None:
            poll_runtime_pollSetDeadline(pd, deadline, "r")
        return poll_runtime_pollWait(pd, "r") == pollNoError
    finally:
        poll_runtime_pollUnblock(pd)
        poll_runtime_pollClose(pd)


def waitmany(fdevents: dict[int, int], deadline: float | None) -> bool:
    """Park the goroutine until one of ``fdevents`` (fd -> epoll events) is
    ready, or until ``deadline`` (monotonic; None: no limit).  False on
    timeout.  True may be spurious: the caller asks again."""
    if _origepoll is None:  # no epoll: let a pool thread block in poll(2)
        p = _origpoll()
        for fd, ev in fdevents.items():
            p.register(fd, ev)
        left = None if deadline is None else max(0, math.ceil((deadline - monotonic()) * 1000))
        return bool(blocking(p.poll, left))
    ep = _origepoll()
    try:
        for fd, ev in fdevents.items():
            try:
                ep.register(fd, ev)
            except FileExistsError:
                ep.modify(fd, ev)  # the same fd twice: select's lists may overlap
            except OSError as e:
                if e.errno in (_errno.EPERM, _errno.EBADF):
                    return True  # a regular file is always ready; a bad fd: let the call say
                raise
        return _waitfd(ep.fileno(), deadline)
    finally:
        ep.close()


# --------------------------------------------------------------------------
# select.select


def _selecttimeout(timeout: Any) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, float):
        t = timeout
    elif isinstance(timeout, int):
        t = float(timeout)
    else:
        try:
            t = float(timeout)
        except (TypeError, ValueError):
            raise TypeError("timeout must be a float or None") from None
    if t != t:
        raise ValueError("Invalid value NaN (not a number)")
    if t < 0:
        raise ValueError("timeout must be non-negative")
    return t


def select(rlist: Any, wlist: Any, xlist: Any, timeout: Any = None) -> tuple[list, list, list]:
    """select.select: on a goroutine, park it on the netpoller."""
    if not _ingoroutine():
        return _origselect(rlist, wlist, xlist, timeout)
    t = _selecttimeout(timeout)
    res = _origselect(rlist, wlist, xlist, 0)
    if res[0] or res[1] or res[2] or t == 0:
        return res
    evs: dict[int, int] = {}
    for objs, ev in ((rlist, _EPOLLIN), (wlist, _EPOLLOUT), (xlist, _EPOLLPRI)):
        for o in objs:
            fd = _fileno(o)
            evs[fd] = evs.get(fd, 0) | ev
    deadline = _deadline(t)
    while True:
        woke = waitmany(evs, deadline)
        res = _origselect(rlist, wlist, xlist, 0)
        if res[0] or res[1] or res[2] or not woke:
            return res
        if deadline is not None and monotonic() >= deadline:
            return res


select.__doc__ = _origselect.__doc__


# --------------------------------------------------------------------------
# select.poll


def _polltimeout(timeout: Any) -> float | None:
    """poll.poll's timeout (milliseconds; None or negative: forever) in seconds."""
    if timeout is None:
        return None
    if not isinstance(timeout, (int, float)):
        try:
            timeout = float(timeout)
        except (TypeError, ValueError):
            raise TypeError("timeout must be an integer or None") from None
    if timeout < 0:
        return None
    return math.ceil(timeout) / 1000.0


class _Poll:
    """select.poll(): the original poll object, whose poll() parks."""

    __slots__ = ("_p", "_fds")

    def __new__(cls, *args: Any, **kwargs: Any) -> _Poll:
        # Only select.poll() makes one, as with the C type.
        raise TypeError(f"cannot create '{cls.__module__}.{cls.__qualname__}' instances")

    @classmethod
    def _make(cls) -> _Poll:
        self = object.__new__(cls)
        self._p = _origpoll()
        self._fds = {}
        return self

    def register(self, fd: Any, eventmask: int = _stdselect.POLLIN | _stdselect.POLLPRI
                 | _stdselect.POLLOUT) -> None:
        self._p.register(fd, eventmask)
        self._fds[_fileno(fd)] = eventmask

    def modify(self, fd: Any, eventmask: int) -> None:
        self._p.modify(fd, eventmask)
        self._fds[_fileno(fd)] = eventmask

    def unregister(self, fd: Any) -> None:
        self._p.unregister(fd)
        del self._fds[_fileno(fd)]

    def poll(self, timeout: Any = None) -> list[tuple[int, int]]:
        if not _ingoroutine():
            return self._p.poll(timeout)
        t = _polltimeout(timeout)
        res = self._p.poll(0)
        if res or t == 0:
            return res
        evs = {fd: ev & _POLLMASK for fd, ev in self._fds.items()}
        deadline = _deadline(t)
        while True:
            woke = waitmany(evs, deadline)
            res = self._p.poll(0)
            if res or not woke or (deadline is not None and monotonic() >= deadline):
                return res


def poll() -> _Poll:
    """select.poll(): a polling object whose poll() parks the goroutine."""
    return _Poll._make()


# --------------------------------------------------------------------------
# select.epoll

if _origepoll is not None:
    class epoll:
        """select.epoll whose poll() parks the goroutine (the C type cannot
        be subclassed: this wraps one)."""

        __slots__ = ("_ep", "__weakref__")

        def __init__(self, sizehint: int = -1, flags: int = 0) -> None:
            self._ep = _origepoll(sizehint, flags)

        @classmethod
        def fromfd(cls, fd: int) -> epoll:
            self = cls.__new__(cls)
            self._ep = _origepoll.fromfd(fd)
            return self

        @property
        def closed(self) -> bool:
            return self._ep.closed

        def close(self) -> None:
            self._ep.close()

        def fileno(self) -> int:
            return self._ep.fileno()

        def register(self, fd: Any, eventmask: int = _EPOLLIN | _EPOLLOUT | _EPOLLPRI) -> None:
            self._ep.register(fd, eventmask)

        def modify(self, fd: Any, eventmask: int) -> None:
            self._ep.modify(fd, eventmask)

        def unregister(self, fd: Any) -> None:
            self._ep.unregister(fd)

        def __enter__(self) -> epoll:
            self._ep.__enter__()
            return self

        def __exit__(self, *exc: Any) -> None:
            self._ep.__exit__(*exc)

        def poll(self, timeout: Any = None, maxevents: int = -1) -> list[tuple[int, int]]:
            ep = self._ep
            if not _ingoroutine():
                return ep.poll(timeout, maxevents)
            res = ep.poll(0, maxevents)  # also checks the arguments
            t = None if timeout is None else float(timeout)
            if res or t == 0:
                return res
            if t is not None and t < 0:
                t = None
            deadline = _deadline(t)
            evs = {ep.fileno(): _EPOLLIN}
            while True:
                woke = waitmany(evs, deadline)
                res = ep.poll(0, maxevents)
                if res or not woke or (deadline is not None and monotonic() >= deadline):
                    return res

    class EpollSelector(_stdselectors.EpollSelector):
        _selector_cls = epoll
else:  # pragma: no cover - not Linux
    epoll = None  # type: ignore[assignment, misc]
    EpollSelector = None  # type: ignore[assignment, misc]


class PollSelector(_stdselectors.PollSelector):
    _selector_cls = staticmethod(poll)  # a function: not a method of the selector


def patch() -> None:
    _replace(_stdselect, "select", select, "select")
    _replace(_stdselect, "poll", poll, "select")
    if epoll is not None:
        _replace(_stdselect, "epoll", epoll, "select")
    # selectors bound the originals in its classes; SelectSelector looks
    # select.select up at each call, so it needs nothing.
    _replace(_stdselectors, "PollSelector", PollSelector, "select")
    if EpollSelector is not None:
        _replace(_stdselectors, "EpollSelector", EpollSelector, "select")
    default = _stdselectors.DefaultSelector
    for cls in (EpollSelector, PollSelector):
        if cls is not None and default.__name__ == cls.__name__:
            _replace(_stdselectors, "DefaultSelector", cls, "select")
            break
    # Stdlib modules that copied a selector class at import: when imported
    # before the patch, point them at the patched one.
    for modname, attr in (("socketserver", "_ServerSelector"), ("subprocess", "_PopenSelector")):
        mod = sys.modules.get(modname)
        cur = getattr(mod, attr, None)
        if cur is not None and cur.__module__ == "selectors":
            new = getattr(_stdselectors, cur.__name__, None)
            if new is not None and new is not cur:
                _replace(mod, attr, new, "select")
