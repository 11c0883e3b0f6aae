"""Name resolution: getaddrinfo on a worker thread, bounded by a deadline.

Go: src/net/lookup.go (Resolver.lookupIPAddr: the lookup runs in its own
goroutine and the caller selects on its result and ctx.Done()) and
src/net/ipsock.go (internetAddrList).

gort has no pure-Python resolver: ``getaddrinfo`` blocks, so it runs through
``gort.blocking`` (Go's cgo resolver path: entersyscall on another thread).
A blocking call cannot be interrupted, so a lookup with a deadline runs in a
helper goroutine while the caller parks until that goroutine finishes or a
runtime timer fires; on a timeout the lookup is abandoned and finishes in
the background, as Go abandons a cgo lookup whose context is done.
Literal IPs never get here (addr.literal_sockaddr parses them in place).

The caller, the lookup goroutine and the timeout (on timerproc) may run on
three different Ms: ``_lookuplock`` guards every ``_lookupWait``'s
``parked``/``done``/``timedout`` (always taken: a lookup costs a thread
hop, a lock is noise), so exactly one of the two wakers readies the caller,
and the caller parks only if neither has come yet (gopark's unlockf drops
the lock).
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from gort.sched import blocking, getg, gopark, goready, newproc
from gort.time.timers import addtimer, deltimer, timer

from .errors import DeadlineExceededError, DNSError, errDeadlineExceeded

waitReasonLookup = "IO wait"  # Go's caller waits in select on the lookup's channel
_lookuplock = threading.Lock()


class _lookupWait:
    """The rendezvous of a caller and its lookup goroutine (Go: the result
    channel of lookupGroup.DoChan plus ctx.Done())."""

    __slots__ = ("g", "parked", "done", "timedout", "result", "exc")

    def __init__(self) -> None:
        self.g: Any = None
        self.parked = False
        self.done = False
        self.timedout = False
        self.result: Any = None
        self.exc: BaseException | None = None


def _wake(w: _lookupWait, done: bool) -> None:
    with _lookuplock:
        if done:
            w.done = True
        else:
            w.timedout = True
        if not w.parked:
            return
        w.parked = False
    goready(w.g)


def _lookupWorker(w: _lookupWait, fn: Any, args: tuple) -> None:
    try:
        w.result = blocking(fn, *args)
    except Exception as e:  # noqa: BLE001 - handed to the caller
        w.exc = e
    _wake(w, True)


def _lookupTimeout(w: _lookupWait, seq: int) -> None:
    # Runs on timerproc: must not block, only ready the caller.
    _wake(w, False)


def _parkLookup(gp: Any, w: _lookupWait) -> bool:
    # Called with _lookuplock held (gopark's unlockf): drop it.
    try:
        if w.done or w.timedout:
            return False
        w.parked = True
        return True
    finally:
        _lookuplock.release()


def blocking_until(deadline: float | None, fn: Any, *args: Any) -> Any:
    """``gort.blocking(fn, *args)``, but give up at ``deadline`` (absolute,
    time.monotonic()) with errDeadlineExceeded."""
    if deadline is None:
        return blocking(fn, *args)
    w = _lookupWait()
    w.g = getg()
    newproc(_lookupWorker, (w, fn, args))
    t = timer(deadline, 0, _lookupTimeout, w, 0)
    addtimer(t)
    _lookuplock.acquire()
    try:
        gopark(_parkLookup, w, waitReasonLookup)
    finally:
        deltimer(t)
        with _lookuplock:
            w.parked = False
            done = w.done
    if done:
        if w.exc is not None:
            raise w.exc
        return w.result
    raise errDeadlineExceeded()


def lookup_sockaddrs(op: str, net: str, host: str, port: int, family: int, socktype: int,
                     deadline: float | None) -> list[tuple[int, Any]]:
    """Resolve host to [(family, sockaddr)], in getaddrinfo's (RFC 6724)
    order, without duplicates.  Raises DNSError or DeadlineExceededError."""
    try:
        infos = blocking_until(deadline, socket.getaddrinfo, host, port, family, socktype)
    except errDeadlineExceeded:
        raise DeadlineExceededError(op, net, None, None,
                                    f"lookup {host}: i/o timeout") from None
    except socket.gaierror as e:
        raise DNSError(op, net, None, None, e, name=host) from None
    seen = set()
    out = []
    for fam, _, _, _, sa in infos:
        if fam not in (socket.AF_INET, socket.AF_INET6):
            continue
        key = (fam, sa[0], sa[1])
        if key in seen:
            continue
        seen.add(key)
        out.append((fam, sa))
    if not out:
        raise DNSError(op, net, None, None, "no suitable address found", name=host)
    return out
