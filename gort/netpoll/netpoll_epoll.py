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
"""

from __future__ import annotations

import select

from gort.sched.mnmode import mode
from gort.sched.proc import sched
from gort.sched.runtime2 import gList

from .netpoll import netpollWoken, pdbyfd, pdNil, pdReady, pdWait
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

_mn = mode.register(globals())  # more than one M: see the module docstring



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
        if _mn:
            return self._netpollmn(events, delay)
        get = pdbyfd.get
        head = None
        n = 0
        for fd, ev in events:
            pd = get(fd)
            if pd is None:
                if fd == self.breakrfd and delay != 0:
                    # netpollBreak; only a blocking poll consumes it.
                    self.breakdrain()
                # Else an fd unregistered since the kernel queued its event.
                continue
            # Go: pd.setEventErr -- true only when the mask is exactly EPOLLERR.
            pd.everr = ev == EPOLLERR
            # netpollready(&toRun, pd, mode), inlined (one call per event
            # saved); netpoll.netpollready is the same logic, spelled out.
            if ev & _EVREAD:
                old = pd.rg
                if old is not pdReady:
                    pd.rg = pdReady
                    if old is not pdNil and old is not pdWait:
                        old.schedlink = head
                        head = old
                        n += 1
            if ev & _EVWRITE:
                old = pd.wg
                if old is not pdReady:
                    pd.wg = pdReady
                    if old is not pdNil and old is not pdWait:
                        old.schedlink = head
                        head = old
                        n += 1
        if head is None:
            return None
        toRun = gList()
        toRun.head = head
        # Go applies the delta after injectglist; the caller injects this
        # list before it runs any goroutine, so nothing can see the gap.
        sched.netpollWaiters -= n
        return toRun

    def _netpollmn(self, events: list, delay: float) -> gList | None:
        """The event loop of netpoll in M:N mode: each pd's words change
        under pd.lock, and the Gs lower netpollWaiters themselves."""
        get = pdbyfd.get
        head = None
        for fd, ev in events:
            pd = get(fd)
            if pd is None:
                if fd == self.breakrfd and delay != 0:
                    self.breakdrain()
                continue
            with pd.lock:
                if get(fd) is not pd:
                    continue  # closed (maybe reused for another fd) since get()
                pd.everr = ev == EPOLLERR
                if ev & _EVREAD:
                    old = pd.rg
                    if old is not pdReady:
                        pd.rg = pdReady
                        if old is not pdNil and old is not pdWait:
                            old.param = netpollWoken
                            old.schedlink = head
                            head = old
                if ev & _EVWRITE:
                    old = pd.wg
                    if old is not pdReady:
                        pd.wg = pdReady
                        if old is not pdNil and old is not pdWait:
                            old.param = netpollWoken
                            old.schedlink = head
                            head = old
        if head is None:
            return None
        toRun = gList()
        toRun.head = head
        return toRun
