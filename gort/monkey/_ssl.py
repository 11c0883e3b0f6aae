"""patch_ssl: SSL sockets whose handshake, reads and writes park the goroutine.

Go: crypto/tls.Conn over a net.Conn -- every record read and write is a
net.Conn Read/Write, so TLS waits on the netpoller with the conn's
deadlines.  gort does it gevent's way on the stdlib's own SSLSocket: the
patched socket's fd is non-blocking, so the C ``_sslobj`` raises
SSLWantReadError / SSLWantWriteError instead of blocking; the operation
then waits on the socket's pollDesc (the patched socket's ``_wait``: fdMutex,
deadline) and is retried.  The timeout is per operation, as for the plain
socket, and its expiry raises the stdlib's texts ("The read operation
timed out", ...).

The patch sets ``ssl.SSLContext.sslsocket_class``, so every context --
also one made before patching -- wraps sockets in the class below; it is a
subclass of both ssl.SSLSocket (isinstance checks hold) and the patched
socket (MRO: SSLSocket's ``super()`` calls land on the patched socket).

One SSL object is not safe to enter from two threads at once (OpenSSL),
and under M:N a reader and a writer goroutine of one socket may run on two
Ms, inside SSL_read and SSL_write at the same time (the _ssl module lets go
of the GIL there).  So each call into the SSL object holds a per-socket
thread lock -- only for the call, which never waits (the fd is
non-blocking), never across the wait for readiness.  The waits hold the
fdMutex read or write lock of the direction they wait for, so a read that
must write (TLS 1.2 renegotiation) queues behind a writer that is waiting
for room, and both go on when it comes.
"""

from __future__ import annotations

import _thread
import ssl as _stdssl
from typing import Any

from gort.net.fd_mutex import mutexClosed

from . import _replace, original
from ._socket import _closed_error
from ._socket import socket as _gsocket

_WantRead = _stdssl.SSLWantReadError
_WantWrite = _stdssl.SSLWantWriteError


# A real thread lock (never the thread patch's): it is held only for one
# non-blocking C call.
_allocate_lock = original(_thread, "allocate_lock")
_locklock = _allocate_lock()


class SSLSocket(_stdssl.SSLSocket, _gsocket):
    """ssl.SSLSocket on a goroutine-aware socket."""

    def _calllock(self) -> Any:
        lk = self.__dict__.get("_gort_calllock")
        if lk is None:
            with _locklock:
                lk = self.__dict__.setdefault("_gort_calllock", _allocate_lock())
        return lk

    def _retry(self, fn: Any, args: tuple, what: str, timeout: Any = False) -> Any:
        if timeout is False:
            timeout = self._timeout
        deadline = None
        msg = f"The {what} operation timed out"
        openatstart = not self._fdmu.state & mutexClosed
        lk = self._calllock()
        while True:
            try:
                with lk:
                    return fn(*args)
            except ValueError:
                # "Read on closed or unwrapped SSL socket": closed by another
                # goroutine while this one waited -- the plain socket's error.
                if openatstart and self._fdmu.state & mutexClosed:
                    raise _closed_error() from None
                raise
            except _WantRead:
                if timeout == 0.0:
                    raise
                read = True
            except _WantWrite:
                if timeout == 0.0:
                    raise
                read = False
            except BlockingIOError:
                # OpenSSL saw EAGAIN from the fd but reported SSL_ERROR_SYSCALL
                # (seen on 3.13t with a reader and a writer on two Ms inside
                # the SSL object at once, before the call lock): the same
                # "wait and retry", in the operation's own direction.
                if timeout == 0.0:
                    raise
                read = what != "write"
            deadline = self._wait(read, timeout, deadline, msg)

    def do_handshake(self, block: bool = False) -> None:
        timeout = self._timeout
        if timeout == 0.0 and block:
            timeout = None
        self._retry(super().do_handshake, (block,), "handshake", timeout)

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        return self._retry(super().read, (len, buffer), "read")

    def write(self, data: Any) -> int:
        return self._retry(super().write, (data,), "write")

    def send(self, data: Any, flags: int = 0) -> int:
        if self._sslobj is None:  # not (or no longer) TLS: the socket's send parks
            return super().send(data, flags)
        # ssl.SSLSocket.send calls _sslobj.write itself, not self.write.
        return self._retry(super().send, (data, flags), "write")

    def unwrap(self) -> Any:
        return self._retry(super().unwrap, (), "unwrap")


def patch() -> None:
    _replace(_stdssl.SSLContext, "sslsocket_class", SSLSocket, "ssl")
