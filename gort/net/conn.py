"""Conn, PacketConn and Listener: the user-facing sockets.

Go: src/net/net.go (conn: Read, Write, Close, SetDeadline...),
src/net/tcpsock.go + tcpsockopt_unix.go (TCPConn, TCPListener, keep-alive),
src/net/udpsock.go (UDPConn: ReadFrom, WriteTo), src/net/unixsock.go
(UnixConn, UnixListener, unlink on close) and src/net/fd_unix.go (netFD).

Each method calls the poll FD (gort/net/fd_poll.py) and wraps what goes
wrong in an OpError with the op, the network and both addresses, as Go's
``conn`` methods do::

    Conn.read -> FD.read -> [pollReset, recv, EAGAIN -> pollWait] -> bytes
                     \\-> errDeadlineExceeded -> DeadlineExceededError("read", "tcp", laddr, raddr)

Where gort differs from Go, and why:

* ``read(n)`` returns ``bytes`` (``b""`` at EOF) like a Python socket or
  file; ``read_into(buf)`` is Go's ``Read(p)``.  EOF is not an exception.
* ``write(data)`` writes all of it or raises (Go's Write does the same and
  returns the count with the error; here the exception's ``n`` has it).
* ``close()`` is idempotent, as Python's ``socket.close`` and
  ``file.close`` are; Go's second Close returns ErrClosed.  Every other use
  of a closed Conn raises NetClosedError.
* Deadlines are absolute times on ``gort.time.now()``'s clock
  (``time.monotonic()``), or None; Go's zero ``time.Time`` is None here.
"""

from __future__ import annotations

import math
import numbers
import os
import socket
from datetime import datetime
from time import monotonic
from typing import Any

from gort.time import _WALLCLOCK_GUARD, _wallclock_mistake, from_datetime

from .addr import (
    AF_INET,
    AF_INET6,
    AF_UNIX,
    AF_UNSPEC,
    UDPAddr,
    literal_sockaddr,
    sockaddr_to_addr,
    split_address,
    unix_sockaddr,
)
from .errors import errNetClosing, wrap_error
from .fd_mutex import mutexClosed
from .fd_poll import FD

__all__ = ["Conn", "Listener", "PacketConn", "TCPConn", "TCPListener", "UDPConn", "UnixConn",
           "UnixListener"]

_INF = math.inf
_INT_MAX = (1 << 31) - 1  # a setsockopt int
# A deadline further away than this is "no deadline": a float that large
# would only overflow the poller's timeout arithmetic (Go clamps huge
# durations to the far future the same way, TestDialTimeoutMaxDuration).
_FAR_FUTURE = float(1 << 40)

DEFAULT_KEEPALIVE = 15.0  # Go: defaultTCPKeepAlive (dial and accept turn keep-alive on)
_TCP_KEEPIDLE = getattr(socket, "TCP_KEEPIDLE", getattr(socket, "TCP_KEEPALIVE", None))
_TCP_KEEPINTVL = getattr(socket, "TCP_KEEPINTVL", None)


def check_deadline(t: Any, what: str) -> float | None:
    """Validate a deadline: None, a datetime, or a real number on
    gort.time.now()'s (time.monotonic()'s) clock.  A huge value means no
    deadline; a float more than a year past now() is refused as a wall-clock
    time."""
    if t is None:
        return None
    tp = type(t)
    if tp is not float and tp is not int:
        if isinstance(t, datetime):
            return from_datetime(t)
        if isinstance(t, bool) or not isinstance(t, numbers.Real):
            raise TypeError(f"gort.net: {what}: deadline must be None, a datetime or a time "
                            f"on gort.time.now()'s clock (a number), not {type(t).__name__}")
    try:
        t = float(t)
    except OverflowError:  # an int beyond a float's range
        return None if t > 0 else -_FAR_FUTURE
    if t != t:
        raise ValueError(f"gort.net: {what}: deadline is NaN")
    if t >= _FAR_FUTURE:
        return None
    if t == -_INF:
        return -_FAR_FUTURE
    if t - monotonic() > _WALLCLOCK_GUARD:  # cheap first test; the guard has the rest
        err = _wallclock_mistake(t, f"gort.net: {what}")
        if err is not None:
            raise err
    return t


def check_size(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        try:
            n = n.__index__()
        except (AttributeError, TypeError):
            raise TypeError(f"gort.net: {what}: size must be an int, "
                            f"not {type(n).__name__}") from None
    if n < 0:
        raise ValueError(f"gort.net: {what}: negative size {n}")
    return n


def as_bytes_like(data: Any, what: str) -> Any:
    """bytes and bytearray pass; other buffers become a flat byte memoryview."""
    cls = data.__class__
    if cls is bytes or cls is bytearray:
        return data
    if isinstance(data, str):
        raise TypeError(f"gort.net: {what}: data must be bytes-like (bytes, bytearray, "
                        "memoryview), not str; encode it first")
    try:
        mv = memoryview(data)
    except TypeError:
        raise TypeError(f"gort.net: {what}: data must be bytes-like (bytes, bytearray, "
                        f"memoryview), not {type(data).__name__}") from None
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


class _FDOwner:
    """What Conn and Listener share: an FD (``self.fd``) and its lifetime."""

    __slots__ = ()
    fd: FD

    def fileno(self) -> int:
        """The OS fd, -1 once closed.  Do not read or write it directly."""
        return self.fd.sysfd

    @property
    def closed(self) -> bool:
        return bool(self.fd.fdmu.state & mutexClosed)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Conn(_FDOwner):
    """A connected socket: TCP, UDP or Unix (Go: net.Conn / *net.conn).

    Reads and writes park only the calling goroutine.  One reader and one
    writer may run at once; more readers queue on the fdMutex.  Deadlines
    fail the next (and any blocked) operation of their direction with
    DeadlineExceededError; ``close()`` from another goroutine wakes blocked
    operations with NetClosedError.
    """

    __slots__ = ("fd", "net", "_laddr", "_raddr", "__weakref__")

    def __init__(self, fd: FD, net: str, laddr: Any, raddr: Any) -> None:
        self.fd = fd
        self.net = net
        self._laddr = laddr
        self._raddr = raddr

    def __repr__(self) -> str:
        state = "closed" if self.fd.fdmu.state & mutexClosed else f"fd={self.fd.sysfd}"
        return f"<gort.net.{type(self).__name__} {self.net} {self._laddr}->{self._raddr} {state}>"

    def _err(self, op: str, e: BaseException, syscall: str = "") -> BaseException:
        return wrap_error(op, self.net, self._laddr, self._raddr, e, syscall)

    # -- I/O ---------------------------------------------------------------

    def read(self, n: int = 65536) -> bytes:
        """Read up to n bytes; b"" at EOF (the peer closed or shut down its
        write side).  read(0) returns b"" at once."""
        if n.__class__ is not int or n <= 0:
            n = check_size(n, "read")
            if n == 0:
                if self.fd.fdmu.state & mutexClosed:
                    raise self._err("read", errNetClosing())
                return b""
        try:
            return self.fd.read(n)
        except OSError as e:
            raise self._err("read", e, "read") from None

    def read_into(self, buf: Any) -> int:
        """Read into a writable buffer (bytearray, memoryview...); returns the
        number of bytes read, 0 at EOF (Go: Read(p))."""
        try:
            if len(buf) == 0:
                if self.fd.fdmu.state & mutexClosed:
                    raise self._err("read", errNetClosing())
                return 0
            return self.fd.read_into(buf)
        except OSError as e:
            raise self._err("read", e, "read") from None
        except TypeError:
            try:
                mv = memoryview(buf)
            except TypeError:
                raise TypeError("gort.net: read_into: buf must be a writable bytes-like object, "
                                f"not {type(buf).__name__}") from None
            if mv.readonly:
                raise TypeError("gort.net: read_into: buf is read-only "
                                f"({type(buf).__name__})") from None
            raise

    def write(self, data: Any) -> int:
        """Write all of data (bytes-like); returns len(data) in bytes.

        Raises DeadlineExceededError, NetClosedError, ConnResetError,
        ConnBrokenPipeError...; ``err.n`` is the count written before it."""
        if data.__class__ is not bytes:
            data = as_bytes_like(data, "write")
        try:
            return self.fd.write(data)
        except OSError as e:
            w = self._err("write", e, "write")
            w.n = getattr(e, "n", 0)  # type: ignore[union-attr]
            raise w from None

    def close(self) -> None:
        """Close the connection.  Blocked reads and writes in other goroutines
        fail with NetClosedError; the fd is closed once they have left.
        Closing twice is allowed."""
        try:
            self.fd.close()
        except errNetClosing:
            pass
        except OSError as e:
            raise self._err("close", e, "close") from None

    def _shutdown(self, how: int, op: str) -> None:
        try:
            self.fd.shutdown(how)
        except OSError as e:
            raise self._err(op, e, "shutdown") from None

    def close_read(self) -> None:
        """Shut down the reading side (Go: CloseRead); later reads return b""."""
        self._shutdown(socket.SHUT_RD, "close")

    def close_write(self) -> None:
        """Shut down the writing side (Go: CloseWrite): the peer reads EOF;
        later writes here fail (BrokenPipeError)."""
        self._shutdown(socket.SHUT_WR, "close")

    # -- addresses, fd ------------------------------------------------------

    @property
    def local_addr(self) -> Any:
        """The local address (TCPAddr, UDPAddr or UnixAddr)."""
        return self._laddr

    @property
    def remote_addr(self) -> Any:
        """The peer's address (TCPAddr, UDPAddr or UnixAddr; None if unconnected)."""
        return self._raddr

    # -- deadlines ------------------------------------------------------------

    def _set_deadline(self, t: Any, mode: str, what: str) -> None:
        d = check_deadline(t, what)
        try:
            self.fd.SetDeadline(d, mode)
        except OSError as e:
            raise wrap_error("set", self.net, None, self._laddr, e) from None

    def set_deadline(self, t: float | None) -> None:
        """Set the read and write deadlines: an absolute time on
        gort.time.now()'s clock, or None for none.  A time in the past fails
        blocked and future operations at once, even when data is ready.
        Each deadline stays until changed; it is not an idle timeout --
        extend it after each successful operation for that."""
        self._set_deadline(t, "rw", "set_deadline")

    def set_read_deadline(self, t: float | None) -> None:
        """Set the deadline for reads only (see set_deadline)."""
        self._set_deadline(t, "r", "set_read_deadline")

    def set_write_deadline(self, t: float | None) -> None:
        """Set the deadline for writes only (see set_deadline)."""
        self._set_deadline(t, "w", "set_write_deadline")

    # Go's spellings.
    SetDeadline = set_deadline
    SetReadDeadline = set_read_deadline
    SetWriteDeadline = set_write_deadline

    # -- socket options -----------------------------------------------------

    def _setsockopt(self, level: int, opt: int, value: int) -> None:
        if value > _INT_MAX:
            # A C int: the kernel caps buffer sizes (rmem_max) anyway, and an
            # option it cannot take fails with EINVAL, an OpError.
            value = _INT_MAX
        try:
            self.fd.setsockopt(level, opt, value)
        except OSError as e:
            raise wrap_error("set", self.net, None, self._laddr, e, "setsockopt") from None

    def set_read_buffer(self, n: int) -> None:
        """SO_RCVBUF (Go: SetReadBuffer)."""
        self._setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, check_size(n, "set_read_buffer"))

    def set_write_buffer(self, n: int) -> None:
        """SO_SNDBUF (Go: SetWriteBuffer)."""
        self._setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF,
                         check_size(n, "set_write_buffer"))

    # -- file objects -------------------------------------------------------

    def makefile(self, mode: str = "rb", buffering: int | None = None, *,
                 encoding: str | None = None, errors: str | None = None,
                 newline: str | None = None) -> Any:
        """A standard io file object on the connection (Python:
        socket.makefile), for code that takes files: mode "rb", "wb", "rwb"
        (io.BufferedReader, BufferedWriter, BufferedRWPair), "r", "w", "rw"
        (io.TextIOWrapper over those); ``buffering=0`` gives the raw ConnIO
        (gort/net/connio.py; binary only).  It reads with read_into and writes with write, so a
        subclass (tls.Conn) gets files that speak its protocol.

        Deadlines apply: a read or write past one raises
        DeadlineExceededError through the file, and after a read timed out
        the file refuses further reads (socket.SocketIO's rule: Python's
        buffered reader drops the partial line it held).  Closing the file
        leaves the Conn open; ``close()`` of the Conn closes it at once,
        files or not (socket.socket waits for its files: see ConnIO)."""
        from .connio import makefile  # not at the top: connio imports this module
        return makefile(self, mode, buffering, encoding, errors, newline)


class TCPConn(Conn):
    """A TCP connection (Go: *net.TCPConn).  TCP_NODELAY is on and keep-alive
    probes start after 15 s idle, as in Go."""

    __slots__ = ()

    def set_nodelay(self, on: bool = True) -> None:
        """TCP_NODELAY: on (the default) sends small writes at once."""
        self._setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if on else 0)

    def set_keepalive(self, on: bool = True, period: float | None = None) -> None:
        """Turn TCP keep-alive probes on or off; ``period`` (seconds) sets the
        idle time before the first probe and between probes (Go:
        SetKeepAlive + SetKeepAlivePeriod)."""
        self._setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1 if on else 0)
        if on and period is not None:
            set_keepalive_period(self, period)

    def set_linger(self, sec: int | None) -> None:
        """SO_LINGER (Go: SetLinger): None = the default (close returns at
        once, the OS sends the rest); 0 = discard unsent data and reset the
        connection on close; >0 = linger up to sec seconds."""
        import struct
        if sec is None or (not isinstance(sec, bool) and isinstance(sec, int) and sec < 0):
            val = struct.pack("ii", 0, 0)
        else:
            sec = check_size(sec, "set_linger")
            if sec > _INT_MAX:
                raise ValueError(f"gort.net: set_linger: {sec} seconds is more than the "
                                 f"socket option holds ({_INT_MAX})")
            val = struct.pack("ii", 1, sec)
        try:
            self.fd.incref()
            try:
                self.fd.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, val)  # type: ignore
            finally:
                self.fd.decref()
        except OSError as e:
            raise wrap_error("set", self.net, None, self._laddr, e, "setsockopt") from None


def set_keepalive_period(c: Conn, period: Any) -> None:
    if isinstance(period, bool) or not isinstance(period, (int, float)) or not period > 0:
        raise ValueError(f"gort.net: set_keepalive: period must be a positive number of "
                         f"seconds, not {period!r}")
    # Go: roundDurationUp(d, time.Second); a C int (an inf period too: the
    # kernel then refuses it with EINVAL, an OpError).
    secs = max(1, int(min(math.ceil(period), _INT_MAX)) if period != math.inf else _INT_MAX)
    if _TCP_KEEPIDLE is not None:
        c._setsockopt(socket.IPPROTO_TCP, _TCP_KEEPIDLE, secs)
    if _TCP_KEEPINTVL is not None:
        c._setsockopt(socket.IPPROTO_TCP, _TCP_KEEPINTVL, secs)


class PacketConn(Conn):
    """A datagram (or Unix) socket that can also address each packet
    (Go: net.PacketConn).  UDPConn and UnixConn are PacketConns."""

    __slots__ = ()

    def read_from(self, n: int = 65536) -> tuple[bytes, Any]:
        """Receive one datagram of at most n bytes (the rest of a longer one
        is lost); returns (data, sender address)."""
        n = check_size(n, "read_from")
        try:
            data, sa = self.fd.recvfrom(n)
        except OSError as e:
            raise self._err("read", e, "recvfrom") from None
        return data, sockaddr_to_addr(self.fd.family, self.fd.sotype, sa, self.net)

    def read_from_into(self, buf: Any) -> tuple[int, Any]:
        """Receive one datagram into buf; returns (count, sender address)."""
        try:
            n, sa = self.fd.recvfrom_into(buf)
        except OSError as e:
            raise self._err("read", e, "recvfrom") from None
        return n, sockaddr_to_addr(self.fd.family, self.fd.sotype, sa, self.net)

    def write_to(self, data: Any, addr: Any) -> int:
        """Send data as one datagram to addr (a UDPAddr, a (host, port) tuple,
        "host:port", or a Unix path); returns len(data)."""
        if data.__class__ is not bytes:
            data = as_bytes_like(data, "write_to")
        sa = self._sockaddr(addr)
        try:
            return self.fd.sendto(data, sa)
        except OSError as e:
            raise wrap_error("write", self.net, self._laddr, addr, e, "sendto") from None

    def _sockaddr(self, addr: Any) -> Any:
        fam = self.fd.family
        if fam == AF_UNIX:
            if not isinstance(addr, str):
                raise TypeError("gort.net: write_to: a unix address is a path str, "
                                f"not {type(addr).__name__}")
            return unix_sockaddr(addr)
        if addr.__class__ is UDPAddr and fam == AF_INET:
            return addr
        host, port = split_address(addr, self.net, "write", self.net)
        lit = literal_sockaddr(host, port, AF_UNSPEC)
        if lit is None:
            from .lookup import lookup_sockaddrs
            sas = lookup_sockaddrs("write", self.net, host, port, fam, socket.SOCK_DGRAM, None)
            lit = sas[0]
        lfam, sa = lit
        if lfam == AF_INET and fam == AF_INET6:
            return ("::ffff:" + sa[0], sa[1], 0, 0)  # Go: IPv4 on a dual-stack socket
        return sa


class UDPConn(PacketConn):
    """A UDP socket (Go: *net.UDPConn), from dial("udp") (connected: read and
    write) or listen_packet("udp") (read_from and write_to)."""

    __slots__ = ()


class UnixConn(PacketConn):
    """A Unix domain socket (Go: *net.UnixConn): "unix" (stream),
    "unixgram" (datagrams) or "unixpacket"."""

    __slots__ = ()


# --------------------------------------------------------------------------
# Listeners


class Listener(_FDOwner):
    """A listening socket (Go: net.Listener / *net.TCPListener)."""

    __slots__ = ("fd", "net", "_laddr", "_conncls", "_keepalive", "__weakref__")

    def __init__(self, fd: FD, net: str, laddr: Any, conncls: type[Conn]) -> None:
        self.fd = fd
        self.net = net
        self._laddr = laddr
        self._conncls = conncls
        self._keepalive: float | None = None  # ListenConfig.keep_alive for accepted conns

    def __repr__(self) -> str:
        state = "closed" if self.fd.fdmu.state & mutexClosed else f"fd={self.fd.sysfd}"
        return f"<gort.net.{type(self).__name__} {self.net} {self._laddr} {state}>"

    @property
    def addr(self) -> Any:
        """The address the listener is bound to (with the real port after ":0")."""
        return self._laddr

    def accept(self) -> Conn:
        """Wait for and return the next connection.

        Raises DeadlineExceededError after set_deadline's time, NetClosedError
        once the listener is closed, and OpError for resource errors such as
        EMFILE (too many open files): ``err.temporary()`` is True for those,
        and a server should back off and retry (see samples/echo_server.py).
        """
        fd = self.fd
        try:
            newfd, rsa = fd.accept()
        except OSError as e:
            raise wrap_error("accept", self.net, None, self._laddr, e, "accept") from None
        try:
            sock = socket.socket(fd.family, fd.sotype, 0, newfd)
        except OSError:
            os.close(newfd)
            raise
        try:
            sock.setblocking(False)
            if fd.family != AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                _keepalive(sock, self._keepalive)
            nfd = FD(sock)
            laddr = sockaddr_to_addr(fd.family, fd.sotype, sock.getsockname(), self.net)
        except OSError as e:
            sock.close()
            raise wrap_error("accept", self.net, None, self._laddr, e, "accept") from None
        raddr = sockaddr_to_addr(fd.family, fd.sotype, rsa, self.net)
        return self._conncls(nfd, self.net, laddr, raddr)

    def close(self) -> None:
        """Stop listening; a blocked accept fails with NetClosedError.
        Closing twice is allowed."""
        try:
            self.fd.close()
        except errNetClosing:
            pass
        except OSError as e:
            raise wrap_error("close", self.net, None, self._laddr, e, "close") from None

    def set_deadline(self, t: float | None) -> None:
        """Deadline for accept (absolute, on gort.time.now()'s clock; None clears)."""
        d = check_deadline(t, "set_deadline")
        try:
            self.fd.SetDeadline(d, "r")
        except OSError as e:
            raise wrap_error("set", self.net, None, self._laddr, e) from None

    SetDeadline = set_deadline


class TCPListener(Listener):
    """Go: *net.TCPListener; accept() returns TCPConn."""

    __slots__ = ()


class UnixListener(Listener):
    """Go: *net.UnixListener; removes its socket file on close (Go's
    unlinkOnClose), unless the name is abstract ("@name")."""

    __slots__ = ("_unlink",)

    def __init__(self, fd: FD, net: str, laddr: Any, conncls: type[Conn], unlink: bool) -> None:
        super().__init__(fd, net, laddr, conncls)
        self._unlink = unlink

    def close(self) -> None:
        path = str(self._laddr) if self._laddr is not None else ""
        if self._unlink and path and not path.startswith("@"):
            self._unlink = False
            try:
                os.unlink(path)
            except OSError:
                pass
        super().close()


def _keepalive(sock: socket.socket, period: float | None = None) -> None:
    """Keep-alive on a new TCP conn (Go: setKeepAlive/setKeepAlivePeriod
    in dial and accept).  period: None (or 0) is Go's default 15 s, a
    negative one leaves keep-alive off (Go's Dialer/ListenConfig.KeepAlive)."""
    if period is not None and period < 0:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    secs = int(DEFAULT_KEEPALIVE) if not period else max(1, int(min(math.ceil(period),
                                                                   _INT_MAX)))
    if _TCP_KEEPIDLE is not None:
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_KEEPIDLE, secs)
    if _TCP_KEEPINTVL is not None:
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_KEEPINTVL, secs)

