"""fdMutex: the lifetime lock of a file descriptor.

Go: src/internal/poll/fd_mutex.go, same state layout and algorithm.

The mutex serialises readers with readers and writers with writers (so at
most one goroutine waits per direction in the pollDesc, which netpoll
requires), and counts every operation in flight.  ``increfAndClose`` marks
the FD closed, so later operations fail at once; the FD is destroyed (its
pollDesc freed, its fd closed) by whoever drops the *last* reference -- the
closer itself if nothing was in flight, else the last operation to leave.
So an fd number is never closed, and reused by the kernel, under an
operation that is still running.

State word (Go's, bit for bit)::

    bit 0      mutexClosed
    bit 1      mutexRLock      read lock held
    bit 2      mutexWLock      write lock held
    bits 3-22  references      (read + write + misc)
    bits 23-42 read waiters
    bits 43-62 write waiters

Where gort differs: Go updates the word with compare-and-swap loops, since
goroutines on several threads may race on it.  gort runs all goroutines of
a process on one M under the GIL and only switches greenlets at gopark, so
a plain read-modify-write of the int is atomic here; the CAS loops become
straight-line code.  M:N scheduling on a free-threaded Python would need a
lock around the word again (a later issue, with the rest of the M:N work).
"""

from __future__ import annotations

from gort.sched.sema import Sema, semacquire, semrelease

mutexClosed = 1 << 0
mutexRLock = 1 << 1
mutexWLock = 1 << 2
mutexRef = 1 << 3
mutexRefMask = ((1 << 20) - 1) << 3
mutexRWait = 1 << 23
mutexRMask = ((1 << 20) - 1) << 23
mutexWWait = 1 << 43
mutexWMask = ((1 << 20) - 1) << 43

class fdMutex:
    """Go: poll.fdMutex.  Read ops use rwlock(True)/rwunlock(True), write ops
    rwlock(False)/rwunlock(False), everything else (setsockopt, deadlines)
    incref/decref, and Close increfAndClose/decref.  Every method that drops
    a reference returns True when it dropped the last one of a closed FD:
    the caller must then destroy the FD."""

    __slots__ = ("state", "rsema", "wsema")

    def __init__(self) -> None:
        self.state = 0
        self.rsema = Sema(0)
        self.wsema = Sema(0)

    def incref(self) -> bool:
        """Add a reference; False if the FD is closed."""
        old = self.state
        if old & mutexClosed:
            return False
        new = old + mutexRef
        if new & mutexRefMask == 0:
            raise RuntimeError("inconsistent poll.fdMutex")
        self.state = new
        return True

    def increfAndClose(self) -> bool:
        """Mark closed and add a reference; False if already closed.
        Wakes every goroutine waiting for the read or write lock: they see
        the closed bit and fail."""
        old = self.state
        if old & mutexClosed:
            return False
        new = (old | mutexClosed) + mutexRef
        if new & mutexRefMask == 0:
            raise RuntimeError("inconsistent poll.fdMutex")
        new &= ~(mutexRMask | mutexWMask)
        self.state = new
        while old & mutexRMask:
            old -= mutexRWait
            semrelease(self.rsema)
        while old & mutexWMask:
            old -= mutexWWait
            semrelease(self.wsema)
        return True

    def decref(self) -> bool:
        """Drop a reference; True if it was the last one of a closed FD."""
        old = self.state
        if old & mutexRefMask == 0:
            raise RuntimeError("inconsistent poll.fdMutex")
        new = old - mutexRef
        self.state = new
        return new & (mutexClosed | mutexRefMask) == mutexClosed

    def rwlock(self, read: bool) -> bool:
        """Take the read (or write) lock plus a reference, waiting while
        another goroutine holds it; False if the FD is or gets closed."""
        if read:
            bit, wait, mask, sema = mutexRLock, mutexRWait, mutexRMask, self.rsema
        else:
            bit, wait, mask, sema = mutexWLock, mutexWWait, mutexWMask, self.wsema
        while True:
            old = self.state
            if old & mutexClosed:
                return False
            if old & bit == 0:
                new = (old | bit) + mutexRef
                if new & mutexRefMask == 0:
                    raise RuntimeError("inconsistent poll.fdMutex")
                self.state = new
                return True
            new = old + wait
            if new & mask == 0:
                raise RuntimeError("inconsistent poll.fdMutex")
            self.state = new
            semacquire(sema)
            # The signaller has subtracted our wait count; retry.

    def rwunlock(self, read: bool) -> bool:
        """Release the read (or write) lock and its reference, handing the
        lock to one waiter; True if that was the last reference of a closed FD."""
        if read:
            bit, wait, mask, sema = mutexRLock, mutexRWait, mutexRMask, self.rsema
        else:
            bit, wait, mask, sema = mutexWLock, mutexWWait, mutexWMask, self.wsema
        old = self.state
        if old & bit == 0 or old & mutexRefMask == 0:
            raise RuntimeError("inconsistent poll.fdMutex")
        new = (old & ~bit) - mutexRef
        if old & mask:
            new -= wait
        self.state = new
        if old & mask:
            semrelease(sema)
        return new & (mutexClosed | mutexRefMask) == mutexClosed
