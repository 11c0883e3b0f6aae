"""patch_socket: socket.socket on gort's netpoller, DNS on the blocking pool.

Go: src/internal/poll/fd_unix.go (FD.Read/Write/Accept/Close, fdMutex,
pollDesc.prepare/wait) under src/net/fd_unix.go (netFD.connect), which
is what every Go socket is; CPython: Modules/socketmodule.c's sock_call_ex
(the loop "try the syscall; on EAGAIN wait, at most until the deadline").

The patched class keeps the stdlib's *blocking-mode* semantics, and maps
them onto Go's model:

* The fd is non-blocking at the OS level (the C timeout is 0.0), as every
  Go fd is.  The Python-level timeout lives in ``_timeout``:
  ``None`` blocks, ``0.0`` is non-blocking (``BlockingIOError`` as the
  stdlib raises), ``t > 0`` is a **per-operation deadline**: the first time
  an operation has to wait, its pollDesc deadline is set to now + t (Go's
  SetReadDeadline), and cleared when the operation returns.  That is
  gevent's rule and CPython's (sock_call_ex starts the deadline at the
  first wait).  ``sendall`` is one operation: its deadline covers all of
  it, as CPython's has since 3.5.  An expiry raises ``TimeoutError("timed
  out")`` (socket.timeout).
* Every operation holds the fdMutex read or write lock (Go's
  ``fd.readLock``/``fd.writeLock``); ``close`` is Go's ``FD.Close``: mark
  closed, wake every blocked operation (pollUnblock: they raise
  ``OSError(EBADF)``), and close the fd only when the last one has left
  (so its number is never reused under a running operation).  The
  goroutine calling ``close`` waits for that, as Go's Close does.
* The pollDesc is opened on the first operation that runs on a goroutine
  (most sockets of a plain thread never need one).
* On a plain OS thread (not a goroutine) an operation blocks that thread,
  as the stdlib does: try the call, on EAGAIN ``poll(2)`` the fd with what
  is left of the timeout.  No fdMutex there: a plain thread cannot park,
  and the stdlib gives no close-wakes-recv guarantee either.
* A hostname in ``connect``/``connect_ex``/``sendto`` addresses is resolved
  on the blocking pool first (the C call would run getaddrinfo on the M).

Where gort differs from Go: Go's netFD owns a raw fd; here the fd belongs
to the ``_socket.socket`` object, and the syscalls are its C methods
called unbound (``_socket.socket.recv(self, ...)``), so the subclass's
own overrides are not re-entered.
"""

from __future__ import annotations

import _socket
import errno as _errno
import math
import operator
import os
import select as _select
import socket as _stdlib
import sys
import threading
import types
import warnings as _warnings
from time import monotonic
from typing import Any

from greenlet import getcurrent

from gort.net.fd_mutex import fdMutex, mutexClosed
from gort.net.fd_poll import _orphans, reap_orphans
from gort.netpoll import (
    poll_runtime_pollClose,
    poll_runtime_pollOpen,
    poll_runtime_pollReset,
    poll_runtime_pollSetDeadline,
    poll_runtime_pollUnblock,
    poll_runtime_pollWait,
    pollErrTimeout,
)
from gort.sched import blocking
from gort.sched.proc import _tls as _mtls
from gort.sched.sema import Sema, semacquire, semrelease

from . import _replace, in_goroutine, original

_ss = _socket.socket
_basesocket = _stdlib.socket  # the stdlib class, captured before patching
_SOL_SOCKET = _socket.SOL_SOCKET
_SO_ERROR = _socket.SO_ERROR
_POLLIN = _select.POLLIN
_POLLOUT = _select.POLLOUT
_INPROGRESS = (_errno.EINPROGRESS, _errno.EALREADY, _errno.EINTR, _errno.EAGAIN)
_DONTWAIT = getattr(_socket, "MSG_DONTWAIT", 0)
_initlock = threading.Lock()  # the lazy pollOpen of a socket (two Ms may race)


def _closed_error() -> OSError:
    # The stdlib's error for an operation on a closed socket; the text adds
    # Go's, for the case the stdlib cannot have (closed while blocked).
    return OSError(_errno.EBADF, "Bad file descriptor (use of closed network connection)")


def _timeout_error(msg: str = "timed out") -> TimeoutError:
    return TimeoutError(msg)


def _validtimeout(value: Any) -> float | None:
    """CPython's socket_parse_timeout: None, or a number >= 0 (floats as
    given, anything else through __index__)."""
    if value is None:
        return None
    if isinstance(value, float):
        t = value
    else:
        t = float(operator.index(value))  # TypeError: "... cannot be interpreted as an integer"
    if t != t:
        raise ValueError("Invalid value NaN (not a number)")
    if t < 0:
        raise ValueError("Timeout value out of range")
    return t


def wait_plain(fd: int, read: bool, deadline: float | None, msg: str = "timed out") -> None:
    """Block this (plain) thread until fd is ready or the deadline passes
    (CPython: sock_call_ex's internal_select).  Raises TimeoutError."""
    p = original(_select, "poll")()
    p.register(fd, _POLLIN if read else _POLLOUT)
    if deadline is None:
        p.poll()
        return
    left = deadline - monotonic()
    if left <= 0 or not p.poll(math.ceil(left * 1000)):
        raise _timeout_error(msg)


def _flagsarg(args: tuple, i: int) -> int:
    f = args[i] if len(args) > i else 0
    return f if isinstance(f, int) else 0


def _numeric(host: Any) -> bool:
    if not isinstance(host, str):
        return True  # bytes/int/None: let the C call decide (no DNS for them here)
    if host in ("", "<broadcast>", "localhost"):
        return True
    for fam in (_socket.AF_INET, _socket.AF_INET6):
        try:
            _socket.inet_pton(fam, host.partition("%")[0])
            return True
        except (OSError, ValueError):
            pass
    return False


class socket(_basesocket):
    """socket.socket, goroutine-aware (see the module docstring)."""

    __slots__ = ("_timeout", "_fdmu", "_pd", "_csema", "_detaching")

    def __init__(self, family: int = -1, type: int = -1, proto: int = -1,
                 fileno: int | None = None) -> None:
        super().__init__(family, type, proto, fileno)
        self._fdmu = fdMutex()
        self._pd: Any = None
        self._csema = Sema(0)
        self._detaching = False
        # What the stdlib chose (the default timeout) is ours; the fd itself
        # is non-blocking from now on.
        self._timeout = _ss.gettimeout(self)
        _ss.settimeout(self, 0.0)

    # ------------------------------------------------------------------
    # Timeouts

    def settimeout(self, value: float | None) -> None:
        t = _validtimeout(value)
        # The stdlib sets the fd's mode here (one ioctl), so a bad fd fails
        # here; gort's fd stays non-blocking whatever the timeout.
        _ss.setblocking(self, False)
        self._timeout = t

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        _ss.setblocking(self, False)
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    @property
    def timeout(self) -> float | None:  # type: ignore[override]
        return self._timeout

    # ------------------------------------------------------------------
    # The I/O loop (CPython's sock_call_ex; Go's FD.Read shape)

    def __del__(self) -> None:
        # Go: the netFD finalizer (runtime.SetFinalizer(fd, (*netFD).Close)).
        # A socket dropped without close() whose fd is registered with the
        # poller must leave the poller before its fd number can be reused:
        # hand pd and fd to gort.net's orphan list, which closes both at a
        # safe point (the next pollOpen, or the end of the run), as an
        # unclosed gort.net FD does.  Otherwise the stdlib's finalizer.
        pd = getattr(self, "_pd", None)
        if pd is not None and not self._fdmu.state & mutexClosed:
            try:
                r = repr(self)
            except Exception:  # noqa: BLE001 - a half-made object
                r = object.__repr__(self)
            self._fdmu.state |= mutexClosed
            self._pd = None
            fd = _ss.detach(self)
            if fd >= 0:
                _orphans.append((pd, _ss(fileno=fd)))
                try:
                    _warnings.warn(f"unclosed {r}", ResourceWarning, stacklevel=1)
                except Exception:  # noqa: BLE001 - e.g. at interpreter shutdown
                    pass
            return
        _ss.__del__(self)

    def _pdinit(self) -> Any:
        if _orphans:
            reap_orphans()
        with _initlock:
            pd = self._pd
            if pd is None:
                pd = self._pd = poll_runtime_pollOpen(_ss.fileno(self))
        return pd

    def _call(self, read: bool, fn: Any, args: tuple, deadline: float | None = None,
              flags: int = 0) -> Any:
        """Run ``fn(self, *args)``, a non-blocking C call, until it does not
        raise BlockingIOError, waiting for readiness in between.  The wait
        ends at ``deadline`` if given, else at now + timeout from the first
        wait.  A non-blocking socket, or MSG_DONTWAIT in ``flags``, raises
        the BlockingIOError instead."""
        if self._timeout == 0.0 or flags & _DONTWAIT:
            # Non-blocking (asyncio, gort.net's own FD over this socket): the
            # stdlib's call as it is; no pollDesc, no wait.
            return fn(self, *args)
        if getattr(_mtls, "m", None) is None or getattr(getcurrent(), "gort_g", None) is None:
            return self._callplain(read, fn, args, deadline)
        fdmu = self._fdmu
        if not fdmu.rwlock(read):
            raise _closed_error()
        mode = "r" if read else "w"
        pd = None
        dl = False
        try:
            timeout = self._timeout
            pd = self._pd or self._pdinit()
            res = poll_runtime_pollReset(pd, mode)
            if res:
                raise _timeout_error() if res == pollErrTimeout else _closed_error()
            while True:
                try:
                    return fn(self, *args)
                except BlockingIOError:
                    if self._timeout == 0.0:  # made non-blocking meanwhile
                        raise
                if not dl:
                    if deadline is None and timeout is not None:
                        deadline = monotonic() + timeout
                    if deadline is not None:
                        poll_runtime_pollSetDeadline(pd, deadline, mode)
                        dl = True
                res = poll_runtime_pollWait(pd, mode)
                if res:
                    raise _timeout_error() if res == pollErrTimeout else _closed_error()
        finally:
            if dl:
                poll_runtime_pollSetDeadline(pd, None, mode)
            if fdmu.rwunlock(read):
                self._destroy()

    def _callplain(self, read: bool, fn: Any, args: tuple, deadline: float | None) -> Any:
        timeout = self._timeout
        while True:
            try:
                return fn(self, *args)
            except BlockingIOError:
                if self._timeout == 0.0:
                    raise
            if deadline is None and timeout is not None:
                deadline = monotonic() + timeout
            wait_plain(_ss.fileno(self), read, deadline)

    def _wait(self, read: bool, timeout: float | None, deadline: float | None,
              msg: str) -> float | None:
        """Wait once for readiness (for callers whose C call cannot be
        retried by _call, as ssl's).  Returns the deadline, to pass back in
        on the next wait of the same operation."""
        if deadline is None and timeout is not None:
            deadline = monotonic() + timeout
        if not in_goroutine():
            wait_plain(_ss.fileno(self), read, deadline, msg)
            return deadline
        fdmu = self._fdmu
        if not fdmu.rwlock(read):
            raise _closed_error()
        mode = "r" if read else "w"
        pd = None
        try:
            pd = self._pd or self._pdinit()
            if deadline is not None:
                poll_runtime_pollSetDeadline(pd, deadline, mode)
            # No pollReset: readiness that came since the failed call is
            # exactly what we wait for (a stale one costs one more retry).
            res = poll_runtime_pollWait(pd, mode)
            if res:
                raise _timeout_error(msg) if res == pollErrTimeout else _closed_error()
        finally:
            if deadline is not None and pd is not None:
                poll_runtime_pollSetDeadline(pd, None, mode)
            if fdmu.rwunlock(read):
                self._destroy()
        return deadline

    # ------------------------------------------------------------------
    # Reads

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        return self._call(True, _ss.recv, (bufsize, flags), None, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        return self._call(True, _ss.recv_into, (buffer, nbytes, flags), None, flags)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        return self._call(True, _ss.recvfrom, (bufsize, flags), None, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        return self._call(True, _ss.recvfrom_into, (buffer, nbytes, flags), None, flags)

    if hasattr(_ss, "recvmsg"):
        def recvmsg(self, *args: Any) -> Any:
            return self._call(True, _ss.recvmsg, args, None, _flagsarg(args, 2))

        def recvmsg_into(self, buffers: Any, *args: Any) -> Any:
            # A retry after EAGAIN must see the buffers again: an iterator
            # would be used up by the first try.
            args = (list(buffers), *args)
            return self._call(True, _ss.recvmsg_into, args, None, _flagsarg(args, 2))

    def _accept(self) -> tuple[int, Any]:
        return self._call(True, _ss._accept, ())

    def accept(self) -> tuple[socket, Any]:
        fd, addr = self._accept()
        # Always the plain patched class (an SSL listener wraps it itself).
        sock = socket(self.family, self.type, self.proto, fileno=fd)
        if _stdlib.getdefaulttimeout() is None and self.gettimeout():
            sock.setblocking(True)
        return sock, addr

    # ------------------------------------------------------------------
    # Writes

    def send(self, data: Any, flags: int = 0) -> int:
        return self._call(False, _ss.send, (data, flags), None, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        timeout = self._timeout
        deadline = None if not timeout else monotonic() + timeout
        with memoryview(data) as view, view.cast("B") as mv:
            n = len(mv)
            sent = self._call(False, _ss.send, (mv, flags), deadline, flags)
            while sent < n:
                sent += self._call(False, _ss.send, (mv[sent:], flags), deadline, flags)

    def sendto(self, data: Any, *args: Any) -> int:
        if len(args) not in (1, 2):
            raise TypeError(f"sendto() takes 2 or 3 arguments ({len(args) + 1} given)")
        args = (*args[:-1], self._resolve(args[-1]))
        return self._call(False, _ss.sendto, (data, *args), None, args[0] if len(args) == 2 else 0)

    if hasattr(_ss, "sendmsg"):
        def sendmsg(self, buffers: Any, *args: Any) -> int:
            args = (list(buffers), *args)  # as recvmsg_into: tried more than once
            return self._call(False, _ss.sendmsg, args, None, _flagsarg(args, 2))

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        # os.sendfile's wait would use a selector on this thread: send()
        # parks properly (gevent does the same).
        return self._sendfile_use_send(file, offset, count)

    # ------------------------------------------------------------------
    # connect (Go: netFD.connect)

    def _resolve(self, address: Any) -> Any:
        if (self.family in (_socket.AF_INET, _socket.AF_INET6) and isinstance(address, tuple)
                and len(address) >= 2 and not _numeric(address[0])
                and in_goroutine()):
            gai = original(_stdlib, "getaddrinfo")
            res = blocking(gai, address[0], address[1], self.family, self.type, self.proto)
            if res:
                sa = res[0][4]
                return (sa[0], *address[1:]) if len(address) > 2 else sa
        return address

    def _connect(self, address: Any) -> int:
        """Start a connect and wait for it; the errno, or 0.  Raises
        TimeoutError when the timeout passes first."""
        address = self._resolve(address)
        started = False

        def step(sock: socket) -> int:
            nonlocal started
            if not started:
                started = True
                err = _ss.connect_ex(sock, address)
                if err in _INPROGRESS:
                    raise BlockingIOError(err, os.strerror(err))
                return err  # 0, or an error (EISCONN too, as the stdlib's)
            err = _ss.getsockopt(sock, _SOL_SOCKET, _SO_ERROR)
            if err == 0:
                # The poller may wake us spuriously (Go issues 14548,
                # 19289): make sure we are really connected.
                try:
                    _ss.getpeername(sock)
                except OSError:
                    raise BlockingIOError(_errno.EINPROGRESS, "in progress") from None
            return err

        return self._call(False, step, ())

    def connect(self, address: Any) -> None:
        err = self._connect(address)
        if err:
            raise OSError(err, os.strerror(err))

    def connect_ex(self, address: Any) -> int:
        try:
            return self._connect(address)
        except TimeoutError:
            return _errno.EWOULDBLOCK
        except BlockingIOError as e:
            return e.errno or _errno.EINPROGRESS

    # ------------------------------------------------------------------
    # Lifetime (Go: FD.Close, destroy)

    def _destroy(self) -> None:
        """The last reference of a closed socket left: free the pollDesc,
        then close the fd (Go: FD.destroy)."""
        pd, self._pd = self._pd, None
        if pd is not None:
            poll_runtime_pollClose(pd)
        try:
            if not self._detaching:
                _ss.close(self)
        finally:
            semrelease(self._csema)

    def _fdclose(self) -> bool:
        """Go: FD.Close.  False if it was closed already."""
        fdmu = self._fdmu
        if not fdmu.increfAndClose():
            return False
        pd = self._pd
        if pd is not None:
            poll_runtime_pollUnblock(pd)
        if fdmu.decref():
            self._destroy()
        elif in_goroutine():
            semacquire(self._csema)
        # A plain thread cannot park: the last operation out closes the fd.
        return True

    def _real_close(self, _ss: Any = _ss) -> None:
        if not self._fdclose():
            _ss.close(self)  # closed twice, or detached: harmless, as in the stdlib

    def detach(self) -> int:
        self._closed = True
        if self._fdmu.state & mutexClosed:  # already closed or detached
            return _ss.detach(self)
        self._detaching = True
        fd = _ss.fileno(self)
        self._fdclose()
        _ss.detach(self)
        return fd


# --------------------------------------------------------------------------
# DNS on the blocking pool (Go: the cgo resolver runs getaddrinfo on a
# thread that entersyscall has let go of; the pure-Go resolver uses the
# netpoller, which gort does not reimplement)


def _unbox(box: list) -> Any:
    # No locals: a frame kept alive by a traceback must not hold the call's
    # arguments either.
    return box.pop(0)(*box.pop(0), **box.pop(0))


def _dnsfn(name: str) -> Any:
    orig = getattr(_stdlib, name)

    def f(*args: Any, **kwargs: Any) -> Any:
        if not in_goroutine():
            return orig(*args, **kwargs)
        if name == "getaddrinfo" and args and _numeric(args[0]) and args[0] != "localhost":
            return orig(*args, **kwargs)  # no lookup: not worth a thread hop
        # Through a box the call empties: an idle pool worker keeps its last
        # task's locals until its next task, and must not keep the caller's
        # arguments alive (CPython's testRefCountGetNameInfo counts them).
        box = [orig, args, kwargs]
        del args, kwargs  # not kept alive by this frame in a traceback either
        try:
            return blocking(_unbox, box)
        except Exception as e:
            raise e.with_traceback(None) from None

    f.__name__ = f.__qualname__ = name
    f.__doc__ = orig.__doc__
    f.__wrapped__ = orig  # type: ignore[attr-defined]
    return f


_DNS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo")


class _RuntimeSocketModule(types.ModuleType):
    """The socket module as gort's own modules see it under the patch: the
    original socket.socket, everything else forwarded.  gort.net's FD *is*
    the poll layer for its sockets; a patched socket under it would open a
    second pollDesc for the fd (patch_thread shields the runtime from the
    thread patch the same way)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_stdlib, name)


def patch() -> None:
    view = _RuntimeSocketModule("socket")
    view.socket = _basesocket  # type: ignore[attr-defined]
    for name, mod in list(sys.modules.items()):
        if (name.startswith("gort.") and not name.startswith("gort.monkey")
                and getattr(mod, "socket", None) is _stdlib):
            _replace(mod, "socket", view, "socket")
    _replace(_stdlib, "socket", socket, "socket")


def patch_dns() -> None:
    for name in _DNS:
        _replace(_stdlib, name, _dnsfn(name), "dns")
