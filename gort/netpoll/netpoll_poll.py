"""The portable backend: level-triggered poll(2), interest armed per wait.

Go: the founding commit's Solaris poller (netpoll_solaris.c, later
src/runtime/netpoll_solaris.go: event ports are one-shot, so interest is
armed per wait).  The same design on poll(2):

* netpollopen registers nothing; ``pd.user`` holds the events armed for
  the fd (POLLIN for a waiting reader, POLLOUT for a waiting writer);
* poll_runtime_pollWait calls ``netpollarm(pd, mode)`` before it parks,
  which adds that event under pd.lock (``netpollupdate``);
* when netpoll reports an event, the events it answered are disarmed
  again, so a level-triggered fd that stays ready with nobody waiting is
  reported once, not on every poll (netpollarm arms under netpolllock/
  netpollunlock -- the pair whose unlock the founding commit got wrong).

Costs: each poll(2) is O(armed fds) in the kernel (event ports report only
what is ready).  Arming is per fd (one dict update); select.poll refreshes
its C pollfd array before the next call, which measures as nothing next to
the kernel's scan (docs/netpoll.md: 422 us for 5,000 fds either way).
Fine as the portable fallback and for testing the level-triggered path on
Linux (GORTNETPOLL=poll); next to thousands of idle fds, epoll.

Error handling: POLLNVAL (an fd closed behind the poller's back) unregisters
the fd and wakes both directions, whose syscalls then report EBADF; POLLERR
alone sets ``everr`` like epoll.  A poll(2) failure is fatal, as in Go.

M:N (more than one M; the locks are taken only then):

* ``pollmu``: one ``poll()`` call at a time -- select.poll raises
  "concurrent poll() invocation" otherwise.  The M that blocks waits for
  it (a delay-0 poll holds it briefly); a delay-0 poll that finds it taken
  returns nothing: the poll in progress reports what is ready.
* ``mu`` guards the select.poll object's registrations (register/
  unregister, i.e. pd.user's image in the kernel's view) and ``polling``,
  which says an M is blocked in poll().  poll(2) sees the interest set as
  it was when the call began, so a wait armed on another M while the
  poller sleeps would go unseen: netpollarm breaks the blocked poll when
  it changed a registration and ``polling`` was set.  Both are read and
  written under ``mu``, and the poller sets ``polling`` before it calls
  poll(): either the registration is in place when poll() builds its
  array, or the arming M sees ``polling`` and breaks it.  (That poll()
  builds its array from the registrations atomically with respect to a
  register on another thread is select.poll's own guarantee: the GIL, or
  the object's critical section on a free-threaded build.)
* A blocked poll(2) holds a reference to the file of every fd in its array
  (Linux's poll table), so a socket closed on another M stays open -- no
  FIN, no EOF for its peer -- until that poll returns.  netpollclose breaks
  the poll when it unregisters an fd that the poll may hold (docs/netpoll.md).
* pd.user and rg/wg change under pd.lock: netpoll calls netpollready
  with it held.  netpollarm takes it with one M too (it is not hot); the
  one-M form of netpoll, made by ``@specialise`` from the same source,
  drops it with the other locks.
* Lock order: pd.lock -> mu.  The Gs netpoll readies get
  ``param = netpollWoken`` and lower netpollWaiters themselves (netpoll.py).
"""

from __future__ import annotations

import math
import os
import select
import threading

from gort.sched.mnmode import lock, specialise, unlock
from gort.sched.mnmode import mode as runmode
from gort.sched.runtime2 import gList

from .netpoll import (
    netpollAdjustWaiters,
    netpolllock,
    netpollready,
    netpollunlock,
    pdbyfd,
    pollDesc,
)
from .netpoll_break import netpollBreaker

POLLIN = select.POLLIN
POLLOUT = select.POLLOUT
POLLERR = select.POLLERR
POLLHUP = select.POLLHUP
POLLNVAL = select.POLLNVAL

_EVREAD = POLLIN | POLLHUP | POLLERR | POLLNVAL
_EVWRITE = POLLOUT | POLLHUP | POLLERR | POLLNVAL
_MAXWAITMS = 1_000_000_000  # Go's cap: 1e9 ms

_mn = runmode.register(globals())  # more than one M: see the module docstring


class pollPoller(netpollBreaker):
    name = "poll"
    levelTriggered = True

    def __init__(self) -> None:
        self.p: select.poll | None = None
        self.mu = threading.Lock()  # M:N: the registrations and polling
        self.pollmu = threading.Lock()  # M:N: one poll() call at a time
        self.polling = False  # M:N: an M is blocked in poll() (under mu)

    def netpollinit(self) -> None:
        self.p = select.poll()
        self.breakinit()
        self.p.register(self.breakrfd, POLLIN)

    def netpolldestroy(self) -> None:
        self.breakclose()
        self.p = None

    def netpollIsPollDescriptor(self, fd: int) -> bool:
        return fd == self.breakrfd or fd == self.breakwfd

    def netpollopen(self, fd: int, pd: pollDesc) -> None:
        # Nothing is armed until someone waits (netpollarm), but a bad fd
        # fails here, as epoll_ctl would.
        os.fstat(fd)
        pd.user = 0

    def netpollclose(self, fd: int) -> None:
        if not _mn:
            self._unregister(fd)
            return
        with self.mu:
            brk = self._unregister(fd) and self.polling
        if brk:
            # An M blocked in poll(2) holds a reference to every file in its
            # array (the kernel's poll table), so closing this fd now would
            # not close the socket -- no FIN, no EOF for the peer -- until
            # that poll returned, which may be never.  Make it return.
            self.netpollBreak()

    def _unregister(self, fd: int) -> bool:
        try:
            self.p.unregister(fd)
        except KeyError:
            return False  # nothing armed
        return True

    def netpollarm(self, pd: pollDesc, mode: str) -> None:
        ev = POLLIN if mode == "r" else POLLOUT
        netpolllock(pd)
        try:
            if not _mn:
                self.netpollupdate(pd, ev, 0)
                return
            with self.mu:
                brk = self.netpollupdate(pd, ev, 0) and self.polling
        finally:
            netpollunlock(pd)
        if brk:
            # The M blocked in poll() watches the old interest set: wake it
            # so that it polls again with this fd armed.
            self.netpollBreak()

    def netpollupdate(self, pd: pollDesc, set: int, clear: int) -> bool:
        """Arm ``set`` and disarm ``clear`` for pd's fd; caller holds pd.lock
        (and, in M:N mode, mu).  Returns whether the registration changed.

        A closing pd is never armed (Go: netpollupdate returns when closing),
        but it is disarmed: unlike Solaris event ports, which are one-shot, a
        poll(2) registration persists, and a closing fd that stays ready
        would otherwise be reported on every poll until pollClose.
        """
        if set and pd.closing:
            return False
        old = pd.user
        events = (old & ~clear) | set
        if old == events:
            return False
        if events:
            self.p.register(pd.fd, events)  # modifies an existing registration
        else:
            self._unregister(pd.fd)
        pd.user = events
        return True

    @specialise
    def netpoll(self, delay: float) -> gList | None:
        """Poll the network: delay < 0 blocks, 0 polls, > 0 waits at most
        delay seconds.  Returns the goroutines made ready, linked through
        schedlink, or None."""
        if delay < 0:
            timeout = None
        elif delay == 0:
            timeout = 0
        else:
            timeout = min(math.ceil(delay * 1000.0), _MAXWAITMS)  # ms, rounded up
        if _mn:
            # One poll() at a time.  A delay-0 poll that finds another M in
            # poll() returns nothing: that poll reports what is ready.
            if not self.pollmu.acquire(delay != 0):
                return None
            if delay != 0:
                lock(self.mu)
                self.polling = True  # netpollarm and netpollclose break us
                unlock(self.mu)
        try:
            events = self.p.poll(timeout)
        except OSError as e:
            raise RuntimeError(f"runtime: netpoll failed: poll: {e}") from e
        finally:
            if _mn:
                self.polling = False
                self.pollmu.release()
        if not events:
            return None
        get = pdbyfd.get
        toRun = gList()
        delta = 0
        for fd, ev in events:
            pd = get(fd)
            if pd is None:
                if fd == self.breakrfd:
                    if delay != 0:
                        self.breakdrain()
                    continue
                # Armed for a pd that has gone: never report it again --
                # unless (M:N) the fd number has been reused since get() and
                # its new pd has armed it.  Checked under mu, which every arm
                # takes: unregistering a new pd's interest loses its wake-up.
                lock(self.mu)
                if not _mn or get(fd) is None:
                    self._unregister(fd)
                unlock(self.mu)
                continue
            # Go: mode += 'r' / 'w'; and the events answered, to disarm.
            if ev & _EVREAD:
                if ev & _EVWRITE:
                    mode, clear = "rw", POLLIN | POLLOUT
                else:
                    mode, clear = "r", POLLIN
            elif ev & _EVWRITE:
                mode, clear = "w", POLLOUT
            else:
                continue
            lock(pd.lock)
            # M:N: is pd still the one open on fd?  It may have been closed,
            # even reused for another fd, since get().
            if not _mn or get(fd) is pd:
                lock(self.mu)
                if ev & POLLNVAL:
                    # Closed behind our back: drop the registration, or
                    # poll(2) would report it forever.
                    self._unregister(fd)
                    pd.user = 0
                else:
                    # Disarm what was answered: level-triggered readiness
                    # that nobody waits for must not be reported again and again.
                    self.netpollupdate(pd, 0, clear)
                unlock(self.mu)
                pd.everr = ev == POLLERR
                delta += netpollready(toRun, pd, mode)
            unlock(pd.lock)
        if toRun.head is None:
            return None
        netpollAdjustWaiters(delta)  # M:N: 0, the Gs lower it themselves
        return toRun
