"""The poll FD: a non-blocking socket plus its pollDesc.

Go: src/internal/poll/fd_unix.go (FD: Read, Write, ReadFrom, WriteTo,
Accept, Close, destroy), src/internal/poll/fd_poll_runtime.go (pollDesc:
init, prepare, wait, evict, convertErr, setDeadlineImpl),
src/internal/poll/fd_mutex.go (readLock/writeLock/incref, see fd_mutex.py)
and the connect loop of src/net/fd_unix.go (netFD.connect).

Every I/O method has Go's shape::

    readLock                      fdMutex: one reader at a time, counted
    prepare        pollReset      an expired deadline or a close fails now,
                                  even when data is ready; stale readiness
                                  from an earlier operation is dropped
    loop: syscall                 try first: with edge-triggered epoll the
          EAGAIN -> pollWait      only safe time to sleep is after EAGAIN
    readUnlock                    the last reference of a closed FD
                                  destroys it

``pollWait`` parks the goroutine in netpollblock until netpoll reports the
fd ready (then the loop retries the syscall), a deadline timer fires
(pollErrTimeout -> errDeadlineExceeded, "i/o timeout"), or ``close()``
unblocks it (pollErrClosing -> errNetClosing, "use of closed network
connection").

Where gort differs from Go, and why:

* The fd is held by a Python ``socket.socket`` (set non-blocking), and the
  syscalls are its ``recv``/``recv_into``/``send``/``_accept`` methods:
  they are C calls, retry EINTR themselves (PEP 475) and raise
  BlockingIOError on EAGAIN.  ``read`` returns a new ``bytes`` (Python's
  ``recv``); ``read_into`` fills a caller's buffer (Go's Read).
* The fdMutex fast paths (uncontended lock/unlock) are inlined into the hot
  methods: one int read-modify-write instead of a call.  That is atomic
  only with one M, where goroutines switch only inside gopark (see
  fd_mutex.py).  In M:N mode (``_mn``, set by the run's mode, gort.sched.mnmode) the
  hot methods take the fdMutex methods instead, whose CAS holds a lock: a
  reader and a writer of one FD run on different Ms and change the same
  word.  Single-M cost: one global load and branch per lock and unlock.

Shared state and its locks: the fdMutex ``state`` word (fd_mutex.py); the
pollDesc (gort/netpoll); ``_orphans``, a list of FDs collected without
close() -- appended by ``__del__`` on whichever thread runs the GC and
drained by ``reap_orphans`` with ``pop()``, each one C call, so two Ms
draining at once each get different entries.  The rest of an FD is written
only by ``__init__`` and by ``destroy``, which the fdMutex runs exactly once,
after every operation has left.
* ``Close`` waits on ``csema`` like Go, so it returns only after the fd is
  really closed; when other goroutines are still inside an operation, they
  are woken first (pollUnblock) and the last one out closes the fd.
"""

from __future__ import annotations

import errno as _errno
import os
import socket
import warnings as _warnings
from collections.abc import Callable
from typing import Any

from gort.netpoll import (
    poll_runtime_pollClose,
    poll_runtime_pollOpen,
    poll_runtime_pollReset,
    poll_runtime_pollSetDeadline,
    poll_runtime_pollUnblock,
    poll_runtime_pollWait,
    pollErrClosing,
    pollErrTimeout,
)
from gort.sched import add_teardown_hook
from gort.sched.mnmode import mode
from gort.sched.sema import Sema, semacquire, semrelease

from .errors import errDeadlineExceeded, errNetClosing, errNotPollable
from .fd_mutex import (
    fdMutex,
    mutexClosed,
    mutexRef,
    mutexRLock,
    mutexRMask,
    mutexWLock,
    mutexWMask,
)

# Go: maxRW.  Linux and the BSDs cap a single read/write below 2 GiB;
# 1 GiB keeps reads aligned.
maxRW = 1 << 30

MSG_NOSIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)  # EPIPE, never SIGPIPE
_EINPROGRESS = (_errno.EINPROGRESS, _errno.EALREADY, _errno.EINTR)

_RLOCKED = mutexClosed | mutexRLock  # state bits that send rwlock(read) to the slow path
_WLOCKED = mutexClosed | mutexWLock
_RSLOW = mutexClosed | mutexRMask  # ... and rwunlock(read): closed, or someone waiting
_WSLOW = mutexClosed | mutexWMask
_RDELTA = mutexRLock | mutexRef  # (state | RLock) + Ref == state + RLock + Ref when RLock is 0
_WDELTA = mutexWLock | mutexRef


_mn = mode.register(globals())  # more than one M: the fdMutex fast paths are off


# (pollDesc, socket) of FDs collected without close(): see FD.__del__.
_orphans: list[tuple[Any, Any]] = []


def reap_orphans() -> None:
    """Close the pollDescs and sockets of FDs that were garbage collected
    without close() (Go: the netFD finalizer's Close)."""
    while _orphans:
        try:
            pd, sock = _orphans.pop()
        except IndexError:  # another M took the last one
            return
        if not pd.closing:
            poll_runtime_pollUnblock(pd)
        poll_runtime_pollClose(pd)
        if sock is not None:
            sock.close()


add_teardown_hook(reap_orphans)


def convertErr(res: int) -> OSError:
    """Go: poll.convertErr (pollNoError is never passed here)."""
    if res == pollErrClosing:
        return errNetClosing()
    if res == pollErrTimeout:
        return errDeadlineExceeded()
    return errNotPollable()


class FD:
    """Go: poll.FD (+ the parts of net.netFD that touch the fd).

    ``sock`` is the socket (None once destroyed), ``sysfd`` its number
    (-1 once destroyed), ``pd`` the netpoll pollDesc (None until ``init`` and
    after destroy), ``fdmu`` the fdMutex, ``csema`` the semaphore Close waits on.
    """

    __slots__ = ("fdmu", "sysfd", "sock", "pd", "csema", "isStream", "family", "sotype",
                 "_recv", "_recv_into", "_send", "__weakref__")

    def __init__(self, sock: socket.socket, pollable: bool = True) -> None:
        self.fdmu = fdMutex()
        self.sock = sock
        self.sysfd = sock.fileno()
        self.family = sock.family
        self.sotype = sock.type
        self.isStream = sock.type == socket.SOCK_STREAM
        self.csema = Sema(0)
        self.pd: Any = None
        # Bound once: saves an attribute lookup + bound-method allocation per op.
        self._recv = sock.recv
        self._recv_into = sock.recv_into
        self._send = sock.send
        if pollable:
            self.init()

    def init(self) -> None:
        """Go: FD.Init -> pollDesc.init -> runtime_pollOpen."""
        if _orphans:
            reap_orphans()
        self.pd = poll_runtime_pollOpen(self.sysfd)

    def __del__(self) -> None:
        # Go: runtime.SetFinalizer(netFD, (*netFD).Close) -- an FD dropped
        # without close() still gets its pollDesc freed and its fd closed.
        # A finalizer can run in the middle of any code (a GC pass starts at
        # any allocation, netpoll's included), so it only queues the pd and
        # the socket; reap_orphans closes them at a safe point: the next
        # pollOpen, or the end of the run.  No operation can be in flight: a
        # goroutine inside one holds a reference to this FD.
        pd = self.pd
        if pd is not None and not self.fdmu.state & mutexClosed:
            self.fdmu.state |= mutexClosed
            self.pd = None
            _orphans.append((pd, self.sock))
            try:
                _warnings.warn(f"unclosed gort.net socket fd={self.sysfd}", ResourceWarning,
                               stacklevel=1)
            except Exception:  # noqa: BLE001 - e.g. at interpreter shutdown
                pass

    def __repr__(self) -> str:
        return f"<gort.net.FD sysfd={self.sysfd} state={self.fdmu.state:#x}>"

    # ------------------------------------------------------------------
    # Lifetime

    def destroy(self) -> None:
        """Close the fd; called by whoever drops the last reference of a
        closed FD (Go: FD.destroy).  The pollDesc goes first, so the poller
        forgets the fd before its number can be reused."""
        pd, self.pd = self.pd, None
        if pd is not None:
            poll_runtime_pollClose(pd)
        sock, self.sock = self.sock, None
        self.sysfd = -1
        self._recv = self._recv_into = self._send = None
        try:
            if sock is not None:
                sock.close()
        finally:
            semrelease(self.csema)

    def close(self) -> None:
        """Go: FD.Close.  Fails with errNetClosing if already closed.

        Marks the fdMutex closed (new operations fail at once), wakes every
        blocked operation (pollUnblock -> they return errNetClosing), and
        waits until the last of them has left and the fd is closed."""
        if not self.fdmu.increfAndClose():
            raise errNetClosing()
        pd = self.pd
        if pd is not None:
            poll_runtime_pollUnblock(pd)  # Go: pd.evict()
        if self.fdmu.decref():
            self.destroy()
        semacquire(self.csema)

    def incref(self) -> None:
        if not self.fdmu.incref():
            raise errNetClosing()

    def decref(self) -> None:
        if self.fdmu.decref():
            self.destroy()

    def readUnlock(self) -> None:
        if self.fdmu.rwunlock(True):
            self.destroy()

    def writeUnlock(self) -> None:
        if self.fdmu.rwunlock(False):
            self.destroy()

    # ------------------------------------------------------------------
    # Reads.  The fdMutex fast path is inlined with one M: see the module
    # docstring.

    def read(self, n: int) -> bytes:
        """Go: FD.Read, returning a new bytes (b"" at EOF)."""
        fdmu = self.fdmu
        st = fdmu.state
        if st & _RLOCKED or _mn:
            if not fdmu.rwlock(True):
                raise errNetClosing()
        else:
            fdmu.state = st + _RDELTA
        try:
            pd = self.pd
            res = poll_runtime_pollReset(pd, "r")
            if res:
                raise convertErr(res)
            if n > maxRW and self.isStream:
                n = maxRW
            recv = self._recv
            while True:
                try:
                    return recv(n)
                except BlockingIOError:
                    res = poll_runtime_pollWait(pd, "r")
                    if res:
                        raise convertErr(res) from None
        finally:
            st = fdmu.state
            if st & _RSLOW or _mn:
                self.readUnlock()
            else:
                fdmu.state = st - _RDELTA

    def read_into(self, buf: Any, nbytes: int = 0) -> int:
        """Go: FD.Read into a caller's writable buffer; returns the count."""
        fdmu = self.fdmu
        st = fdmu.state
        if st & _RLOCKED or _mn:
            if not fdmu.rwlock(True):
                raise errNetClosing()
        else:
            fdmu.state = st + _RDELTA
        try:
            pd = self.pd
            res = poll_runtime_pollReset(pd, "r")
            if res:
                raise convertErr(res)
            recv_into = self._recv_into
            while True:
                try:
                    return recv_into(buf, nbytes)
                except BlockingIOError:
                    res = poll_runtime_pollWait(pd, "r")
                    if res:
                        raise convertErr(res) from None
        finally:
            st = fdmu.state
            if st & _RSLOW or _mn:
                self.readUnlock()
            else:
                fdmu.state = st - _RDELTA

    def _readloop(self, name: str, args: tuple, accept: bool = False) -> Any:
        """The read loop for the less hot calls (recvfrom, accept): the
        socket method ``name`` is looked up only once the lock is held (a
        destroyed FD has no socket)."""
        if not self.fdmu.rwlock(True):
            raise errNetClosing()
        try:
            call = getattr(self.sock, name)
            pd = self.pd
            res = poll_runtime_pollReset(pd, "r")
            if res:
                raise convertErr(res)
            while True:
                try:
                    return call(*args)
                except BlockingIOError:
                    res = poll_runtime_pollWait(pd, "r")
                    if res:
                        raise convertErr(res) from None
                except ConnectionAbortedError:
                    # Go (FD.Accept): a connection on the listen queue was
                    # closed before we accepted it; silly, try again.
                    if not accept:
                        raise
        finally:
            self.readUnlock()

    def recvfrom(self, n: int) -> tuple[bytes, Any]:
        """Go: FD.ReadFrom."""
        return self._readloop("recvfrom", (n,))

    def recvfrom_into(self, buf: Any, nbytes: int = 0) -> tuple[int, Any]:
        """Go: FD.ReadFrom into a caller's buffer."""
        return self._readloop("recvfrom_into", (buf, nbytes))

    def accept(self) -> tuple[int, Any]:
        """Go: FD.Accept.  Returns (new fd, peer sockaddr).  EMFILE and the
        like are raised to the caller, which decides whether to back off."""
        return self._readloop("_accept", (), True)

    # ------------------------------------------------------------------
    # Writes

    def write(self, data: Any) -> int:
        """Go: FD.Write: writes all of ``data`` (a bytes-like whose len() is
        its size in bytes) or raises; on an error after a partial write the
        exception's ``n`` says how many bytes went out."""
        fdmu = self.fdmu
        st = fdmu.state
        if st & _WLOCKED or _mn:
            if not fdmu.rwlock(False):
                raise errNetClosing()
        else:
            fdmu.state = st + _WDELTA
        try:
            pd = self.pd
            res = poll_runtime_pollReset(pd, "w")
            if res:
                raise convertErr(res)
            total = len(data)
            try:
                nn = self._send(data, MSG_NOSIGNAL)
            except BlockingIOError:
                nn = 0
            if nn == total:
                return nn
            return self._write_rest(data, nn, total)
        finally:
            st = fdmu.state
            if st & _WSLOW or _mn:
                self.writeUnlock()
            else:
                fdmu.state = st - _WDELTA

    def _write_rest(self, data: Any, nn: int, total: int) -> int:
        # The slow path of write: the socket buffer is full; wait for room.
        pd = self.pd
        send = self._send
        with memoryview(data) as mv:
            while True:
                if nn == total:
                    return nn
                try:
                    end = total if total - nn <= maxRW else nn + maxRW
                    nn += send(mv[nn:end], MSG_NOSIGNAL)
                    continue
                except BlockingIOError:
                    pass
                except OSError as e:
                    e.n = nn  # type: ignore[attr-defined]
                    raise
                res = poll_runtime_pollWait(pd, "w")
                if res:
                    err = convertErr(res)
                    err.n = nn  # type: ignore[attr-defined]
                    raise err

    def sendto(self, data: Any, sa: Any) -> int:
        """Go: FD.WriteTo (one datagram)."""
        if not self.fdmu.rwlock(False):
            raise errNetClosing()
        try:
            pd = self.pd
            res = poll_runtime_pollReset(pd, "w")
            if res:
                raise convertErr(res)
            sendto = self.sock.sendto  # type: ignore[union-attr]
            while True:
                try:
                    return sendto(data, MSG_NOSIGNAL, sa)
                except BlockingIOError:
                    res = poll_runtime_pollWait(pd, "w")
                    if res:
                        raise convertErr(res) from None
        finally:
            self.writeUnlock()

    # ------------------------------------------------------------------
    # connect (Go: net/fd_unix.go netFD.connect)

    def connect(self, sa: Any, deadline: float | None,
                onwait: Callable[[], None] | None = None) -> None:
        """Start a non-blocking connect and wait for it, at most until
        ``deadline``.  The pollDesc is opened here, as Go opens it after
        connect(2) has started.  ``onwait`` is called once the connect is
        in progress and the pollDesc open, before the first wait: a
        context's interrupter is armed there (Go: the goroutine netFD.connect
        starts for ctx.Done, which sets a write deadline in the past)."""
        sock = self.sock
        err = sock.connect_ex(sa)  # type: ignore[union-attr]
        if err not in _EINPROGRESS and err not in (0, _errno.EISCONN):
            raise OSError(err, os.strerror(err))
        if self.pd is None:
            self.init()
        if err in (0, _errno.EISCONN):
            return
        pd = self.pd
        if deadline is not None:
            poll_runtime_pollSetDeadline(pd, deadline, "w")
        if onwait is not None:
            onwait()
        try:
            while True:
                # Go: fd.pfd.WaitWrite() -- no pollReset: the readiness that
                # arrived since connect(2) started is exactly what we wait for.
                res = poll_runtime_pollWait(pd, "w")
                if res:
                    raise convertErr(res)
                nerr = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # type: ignore
                if nerr in _EINPROGRESS:
                    continue
                if nerr == _errno.EISCONN:
                    return
                if nerr == 0:
                    # The poller can wake us spuriously (Go issues 14548,
                    # 19289): make sure we are really connected.
                    try:
                        sock.getpeername()  # type: ignore[union-attr]
                        return
                    except OSError:
                        continue
                raise OSError(nerr, os.strerror(nerr))
        finally:
            if deadline is not None and self.pd is not None:
                poll_runtime_pollSetDeadline(pd, None, "w")

    # ------------------------------------------------------------------
    # Misc operations hold a reference (Go: incref/decref), so a concurrent
    # Close cannot close the fd under them.

    def shutdown(self, how: int) -> None:
        """Go: FD.Shutdown."""
        self.incref()
        try:
            self.sock.shutdown(how)  # type: ignore[union-attr]
        finally:
            self.decref()

    def setsockopt(self, level: int, opt: int, value: int) -> None:
        self.incref()
        try:
            self.sock.setsockopt(level, opt, value)  # type: ignore[union-attr]
        finally:
            self.decref()

    def getsockname(self) -> Any:
        self.incref()
        try:
            return self.sock.getsockname()  # type: ignore[union-attr]
        finally:
            self.decref()

    def SetDeadline(self, t: float | None, mode: str) -> None:
        """Go: setDeadlineImpl.  ``t`` is absolute on time.monotonic() or
        None; the caller has validated it."""
        self.incref()
        try:
            poll_runtime_pollSetDeadline(self.pd, t, mode)
        finally:
            self.decref()
