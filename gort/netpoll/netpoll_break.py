"""netpollBreak: wake a poller blocked in netpoll, from any thread.

Go: netpollBreak in src/runtime/netpoll_epoll.go (an eventfd since Go 1.21,
a pipe before; kqueue uses EVFILT_USER).  gort uses os.eventfd where the OS
has it (Linux), else a non-blocking pipe.

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
    breakwfd = -1  # the end netpollBreak writes (== breakrfd for an eventfd)
    wakesig = False  # Go: netpollWakeSig
    iseventfd = False

    def breakinit(self) -> None:
        if hasattr(os, "eventfd"):
            fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self.breakrfd = self.breakwfd = fd
            self.iseventfd = True
        else:
            r, w = os.pipe()  # non-inheritable (close-on-exec) by default
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            self.breakrfd, self.breakwfd = r, w
            self.iseventfd = False
        self.wakesig = False

    def netpollBreak(self) -> None:
        """Interrupt a blocked netpoll; callable from any thread."""
        if self.wakesig:
            return  # a wake-up is already in flight
        self.wakesig = True
        try:
            if self.iseventfd:
                os.eventfd_write(self.breakwfd, 1)
            else:
                os.write(self.breakwfd, b"\0")
        except BlockingIOError:
            pass  # counter full / pipe full: already signalled
        except OSError:
            # Only after netpolldestroy (a backend switch in tests, or exit).
            if self.breakwfd >= 0:
                raise

    def breakdrain(self) -> None:
        """Consume wake-ups (blocking netpoll only) and re-arm the flag."""
        fd = self.breakrfd
        try:
            if self.iseventfd:
                os.eventfd_read(fd)  # resets the counter to 0 (no EFD_SEMAPHORE)
            else:
                while os.read(fd, 512):
                    pass
        except BlockingIOError:
            pass
        self.wakesig = False

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
