"""netpollBreak: wake a poller blocked in netpoll, from any thread.

Go: netpollBreak in src/runtime/netpoll_epoll.go (an eventfd since Go 1.21,
a pipe before; kqueue uses EVFILT_USER).  gort uses a non-blocking pipe,
Go's pre-1.21 choice, because the same pipe is the process's signal wakeup
fd (``signal.set_wakeup_fd``, set by the scheduler when the runtime starts
on the main thread): CPython's C-level handler writes the signal number as
one byte, which an eventfd (8-byte writes only) would refuse.  So a signal
wakes a poller blocked in netpoll, as Go's sighandler does with its
netpollBreak-like wake-up of the signal_recv goroutine.  netpollBreak
writes a zero byte; a drain that reads any other byte calls ``onsignal``
(the scheduler's sigwake), after the bytes are consumed.

The ``wakesig`` flag keeps wake-ups from piling up: only the first
netpollBreak after a drain writes.  Only a *blocking* netpoll drains (and
clears the flag): a non-blocking poll that happens to see the wake-up leaves
it armed, so the sleeper it was meant for still wakes.  Two threads racing
through the flag check can both write; that costs one extra byte (or count),
which one drain removes, never a lost wake-up.
"""

from __future__ import annotations

import os


class netpollBreaker:
    """The wake-up descriptor(s) a backend registers for reading."""

    breakrfd = -1  # the end the poller watches
    breakwfd = -1  # the end netpollBreak (and the signal wakeup) writes
    wakesig = False  # Go: netpollWakeSig

    def breakinit(self) -> None:
        r, w = os.pipe()  # non-inheritable (close-on-exec) by default
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        self.breakrfd, self.breakwfd = r, w
        self.wakesig = False

    def netpollBreak(self) -> None:
        """Interrupt a blocked netpoll; callable from any thread."""
        if self.wakesig:
            return  # a wake-up is already in flight
        self.wakesig = True
        try:
            os.write(self.breakwfd, b"\0")
        except BlockingIOError:
            pass  # pipe full: already signalled
        except OSError:
            # Only after netpolldestroy (a backend switch in tests, or exit).
            if self.breakwfd >= 0:
                raise

    def breakdrain(self) -> None:
        """Consume wake-ups (blocking netpoll only) and re-arm the flag."""
        fd = self.breakrfd
        sig = False
        try:
            while True:
                b = os.read(fd, 4096)
                if not sig and b.count(0) != len(b):
                    sig = True  # a signal number, written by CPython's handler
                if len(b) < 4096:
                    break  # a short read emptied the pipe: no second read (EAGAIN)
        except BlockingIOError:
            pass
        self.wakesig = False
        if sig:
            from gort.sched.proc import sigwake
            sigwake()

    def netpollreset(self) -> None:
        """End of a run: no wake-up may leak into the next one."""
        self.breakdrain()

    def breakclose(self) -> None:
        self.wakesig = True  # a late netpollBreak from another thread writes nothing
        r, w = self.breakrfd, self.breakwfd
        self.breakrfd = self.breakwfd = -1
        if r >= 0:
            os.close(r)
        if w >= 0 and w != r:
            os.close(w)
