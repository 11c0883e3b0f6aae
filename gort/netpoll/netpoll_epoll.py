"""The epoll backend: edge-triggered, one registration per fd for its lifetime.

Go: src/runtime/netpoll_epoll.go.  Same registration (EPOLLIN|EPOLLOUT|
EPOLLRDHUP|EPOLLET), same event-to-mode mapping, same 128-event batches,
same timeout rounding (sub-millisecond waits round *up* to 1 ms; waits are
capped at about 11.5 days); netpollBreak is a pipe (netpoll_break.py: it
doubles as the signal wakeup fd).

Differences: Python's select.epoll reports the fd, not a data word, so an
event finds its pollDesc through ``pdbyfd`` instead of a tagged pointer
(see netpoll.py).  EINTR is retried by CPython itself (PEP 475), with the
timeout recomputed.  Any other epoll_wait error is fatal, as Go's
``throw("runtime: netpoll failed")``: it is raised once and ends the run
rather than being spun on.

M:N: the kernel lets epoll_wait run on several threads at once (one M
blocks in netpoll, others poll with delay 0) and epoll_ctl run beside them;
each edge goes to one caller.  The Python side has no state of its own but
the break flag (netpoll_break.py).  What an event does to a pollDesc --
everr, and rg/wg moving to pdReady -- happens under pd.lock in M:N mode
(Go's CAS, see netpoll.py), after checking that the pd is still the one open on
the fd (it may have been closed, even reused, since the lookup).
The Gs get ``param = netpollWoken`` and lower netpollWaiters themselves
once they run, after the scheduler has queued them (Go 1.22's order).

netpoll is written once, in Go's shape: it calls netpollready for every
event, as Go does; ``@specialise`` (gort.sched.mnmode) drops its
``lock(pd.lock)`` and the fd re-check for the one-M form.  Calling
netpollready (and its two netpollunblocks) instead of inlining them costs
three Python calls a ready fd: about 5% of the instructions of an echo
round trip at GOMAXPROCS 1 (docs/netpoll.md).
"""

from __future__ import annotations

import select

from gort.sched.mnmode import lock, specialise, unlock
from gort.sched.mnmode import mode as runmode
from gort.sched.runtime2 import gList

from .netpoll import netpollAdjustWaiters, netpollready, pdbyfd
from .netpoll_break import netpollBreaker

EPOLLIN = select.EPOLLIN
EPOLLOUT = select.EPOLLOUT
EPOLLERR = select.EPOLLERR
EPOLLHUP = select.EPOLLHUP
EPOLLRDHUP = select.EPOLLRDHUP
EPOLLET = select.EPOLLET

_EVREAD = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR  # wakes the reader
_EVWRITE = EPOLLOUT | EPOLLHUP | EPOLLERR  # wakes the writer
_MAXEVENTS = 128
_MAXWAIT = 1e6  # seconds; Go caps epoll_wait at 1e9 ms

_mn = runmode.register(globals())  # more than one M: see the module docstring


class epollPoller(netpollBreaker):
    name = "epoll"
    levelTriggered = False

    def __init__(self) -> None:
        self.ep: select.epoll | None = None
        self.epfd = -1

    def netpollinit(self) -> None:
        self.ep = select.epoll()  # EPOLL_CLOEXEC
        self.epfd = self.ep.fileno()
        try:
            self.breakinit()
            # Level-triggered: a non-blocking poll that sees a wake-up
            # leaves it for the blocking poll it was meant for.
            self.ep.register(self.breakrfd, EPOLLIN)
        except BaseException:
            self.netpolldestroy()
            raise

    def netpolldestroy(self) -> None:
        self.breakclose()
        if self.ep is not None:
            self.ep.close()
            self.ep = None
            self.epfd = -1

    def netpollIsPollDescriptor(self, fd: int) -> bool:
        return fd == self.epfd or fd == self.breakrfd or fd == self.breakwfd

    def netpollopen(self, fd: int, pd: object) -> None:
        # Both directions, edge-triggered, once for the fd's lifetime.  An fd
        # that is ready now reports one edge at once.
        self.ep.register(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

    def netpollclose(self, fd: int) -> None:
        try:
            self.ep.unregister(fd)
        except OSError:
            pass  # already closed, so the kernel dropped it (EBADF/ENOENT)

    def netpollarm(self, pd: object, mode: str) -> None:
        raise RuntimeError("runtime: unused")  # edge-triggered: never armed per wait

    @specialise
    def netpoll(self, delay: float) -> gList | None:
        """Poll the network: delay < 0 blocks, 0 polls, > 0 waits at most
        delay seconds.  Returns the goroutines made ready, linked through
        schedlink, or None."""
        if delay < 0:
            timeout = -1.0
        elif delay == 0:
            timeout = 0.0
        elif delay < 0.001:
            timeout = 0.001  # round sub-millisecond waits up, never down to a spin
        elif delay < _MAXWAIT:
            timeout = delay  # CPython rounds up to whole milliseconds
        else:
            timeout = _MAXWAIT
        try:
            events = self.ep.poll(timeout, _MAXEVENTS)
        except OSError as e:
            raise RuntimeError(f"runtime: netpoll failed: epoll_wait on fd {self.epfd}: {e}") from e
        if not events:
            return None
        get = pdbyfd.get
        toRun = gList()
        delta = 0
        for fd, ev in events:
            pd = get(fd)
            if pd is None:
                if fd == self.breakrfd and delay != 0:
                    # netpollBreak; only a blocking poll consumes it.
                    self.breakdrain()
                # Else an fd unregistered since the kernel queued its event.
                continue
            # Go: mode += 'r' / 'w'; constant strings (no concatenation).
            if ev & _EVREAD:
                mode = "rw" if ev & _EVWRITE else "r"
            elif ev & _EVWRITE:
                mode = "w"
            else:
                continue
            lock(pd.lock)
            # M:N: is pd still the one open on fd?  It may have been closed,
            # even reused, since get() (Go: pd.fdseq == tag).
            if not _mn or get(fd) is pd:
                # Go: pd.setEventErr -- true only when the mask is exactly EPOLLERR.
                pd.everr = ev == EPOLLERR
                delta += netpollready(toRun, pd, mode)
            unlock(pd.lock)
        if toRun.head is None:
            return None
        # Go applies the delta after injectglist; with one M the caller
        # injects this list before it runs any goroutine, so nothing can see
        # the gap (in M:N mode it is 0: the Gs lower the count themselves).
        netpollAdjustWaiters(delta)
        return toRun
