"""The portable backend: level-triggered poll(2), interest armed per wait.

Go: the founding commit's Solaris poller (netpoll_solaris.c, later
src/runtime/netpoll_solaris.go: event ports are one-shot, so interest is
armed per wait).  The same design on poll(2):

* netpollopen registers nothing; ``pd.user`` holds the events armed for
  the fd (POLLIN for a waiting reader, POLLOUT for a waiting writer);
* poll_runtime_pollWait calls ``netpollarm(pd, mode)`` before it parks,
  which adds that event under pd.lock (``netpollupdate``);
* when netpoll reports an event, the events it answered are disarmed
  again (under netpolllock/netpollunlock -- the pair whose unlock the
  founding commit got wrong), so a level-triggered fd that stays ready
  with nobody waiting is reported once, not on every poll.

Costs: select.poll rebuilds its pollfd array after any register/unregister,
so each poll after arming is O(armed fds).  Fine as the portable fallback
and for testing the level-triggered path on Linux (GORTNETPOLL=poll).

Error handling: POLLNVAL (an fd closed behind the poller's back) unregisters
the fd and wakes both directions, whose syscalls then report EBADF; POLLERR
alone sets ``everr`` like epoll.  A poll(2) failure is fatal, as in Go.
"""

from __future__ import annotations

import math
import os
import select

from gort.sched.proc import sched
from gort.sched.runtime2 import gList

from .netpoll import netpolllock, netpollready, netpollunlock, pdbyfd, pollDesc
from .netpoll_break import netpollBreaker

POLLIN = select.POLLIN
POLLOUT = select.POLLOUT
POLLERR = select.POLLERR
POLLHUP = select.POLLHUP
POLLNVAL = select.POLLNVAL

_EVREAD = POLLIN | POLLHUP | POLLERR | POLLNVAL
_EVWRITE = POLLOUT | POLLHUP | POLLERR | POLLNVAL
_MAXWAITMS = 1_000_000_000  # Go's cap: 1e9 ms


class pollPoller(netpollBreaker):
    name = "poll"
    levelTriggered = True

    def __init__(self) -> None:
        self.p: select.poll | None = None

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
        try:
            self.p.unregister(fd)
        except KeyError:
            pass  # nothing armed

    def netpollarm(self, pd: pollDesc, mode: str) -> None:
        netpolllock(pd)
        try:
            self.netpollupdate(pd, POLLIN if mode == "r" else POLLOUT, 0)
        finally:
            netpollunlock(pd)

    def netpollupdate(self, pd: pollDesc, set: int, clear: int) -> None:
        """Arm ``set`` and disarm ``clear`` for pd's fd; caller holds pd.lock.

        A closing pd is never armed (Go: netpollupdate returns when closing),
        but it is disarmed: unlike Solaris event ports, which are one-shot, a
        poll(2) registration persists, and a closing fd that stays ready
        would otherwise be reported on every poll until pollClose.
        """
        if set and pd.closing:
            return
        old = pd.user
        events = (old & ~clear) | set
        if old == events:
            return
        if events:
            self.p.register(pd.fd, events)  # modifies an existing registration
        else:
            try:
                self.p.unregister(pd.fd)
            except KeyError:
                pass
        pd.user = events

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
        try:
            events = self.p.poll(timeout)
        except OSError as e:
            raise RuntimeError(f"runtime: netpoll failed: poll: {e}") from e
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
                # Armed for a pd that has gone: never report it again.
                try:
                    self.p.unregister(fd)
                except KeyError:
                    pass
                continue
            mode = ""
            clear = 0
            if ev & _EVREAD:
                mode = "r"
                clear = POLLIN
            if ev & _EVWRITE:
                mode += "w"
                clear |= POLLOUT
            if not mode:
                continue
            netpolllock(pd)
            if ev & POLLNVAL:
                # Closed behind our back: drop the registration, or poll(2)
                # would report it forever.
                try:
                    self.p.unregister(fd)
                except KeyError:
                    pass
                pd.user = 0
            else:
                # Disarm what was answered: level-triggered readiness that
                # nobody waits for must not be reported again and again.
                self.netpollupdate(pd, 0, clear)
            netpollunlock(pd)
            pd.everr = ev == POLLERR
            delta += netpollready(toRun, pd, mode)
        if toRun.head is None:
            return None
        sched.netpollWaiters += delta
        return toRun
