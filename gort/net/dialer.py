"""dial, listen, listen_packet, Dialer, ListenConfig: making sockets.

Go: src/net/dial.go (Dialer.DialContext, dialSerial, partialDeadline,
ListenConfig.Listen/ListenPacket), src/net/sock_posix.go (socket: create,
set options, bind/listen or connect), src/net/sockopt_posix.go +
sockopt_linux.go (SO_REUSEADDR, SO_BROADCAST, IPV6_V6ONLY), src/net/
sock_linux.go (maxListenerBacklog) and src/net/ipsock_posix.go (favoriteAddrFamily).

Where gort differs from Go, and why:

* Go races IPv6 and IPv4 ("Happy Eyeballs", dialParallel) when a name has
  both; gort tries the addresses one after the other in getaddrinfo's order
  (Go's dialSerial), each with a fair share of the time left
  (partialDeadline, at least 2 s each when there is that much).
* ``timeout`` is relative seconds; ``timeout <= 0`` has expired already and
  fails before any syscall (Go: a negative Dialer.Timeout).  ``None`` is no
  timeout (Go's zero).  ``deadline`` is Go's Dialer.Deadline, absolute on
  time.monotonic(); the earlier of the two wins.
* A name is resolved with getaddrinfo on a worker thread (see lookup.py);
  literal IPs are parsed in place, without a thread or a syscall.
* ``Dialer.dial_context``: Go's netFD.connect starts a goroutine per dial
  that waits for ctx.Done() and then sets a write deadline in the past;
  gort arms ``context.after_func`` once the connect is in progress
  (``_interrupter``), so a goroutine is started only if ctx is done in
  time.  A cancel during a name lookup is seen when the lookup returns.
* ``ListenConfig.reuse_port`` is gort's: Go sets SO_REUSEPORT in Control.
"""

from __future__ import annotations

import numbers
import socket
import threading
from collections.abc import Callable
from time import monotonic
from typing import Any

from gort.context import CanceledError, Context

from .addr import (
    AF_INET,
    AF_INET6,
    AF_UNIX,
    literal_sockaddr,
    parse_network,
    sockaddr_to_addr,
    split_address,
    unix_sockaddr,
)
from .conn import (
    Conn,
    Listener,
    PacketConn,
    TCPConn,
    TCPListener,
    UDPConn,
    UnixConn,
    UnixListener,
    _keepalive,
    check_deadline,
)
from .errors import AddrError, DeadlineExceededError, OpError, wrap_error
from .fd_poll import FD
from .lookup import lookup_sockaddrs

__all__ = ["CanceledOpError", "Dialer", "ListenConfig", "dial", "listen", "listen_packet"]

_SOCK_FLAGS = getattr(socket, "SOCK_NONBLOCK", 0) | getattr(socket, "SOCK_CLOEXEC", 0)
DIAL_NETWORKS = ("tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix", "unixgram", "unixpacket")
LISTEN_NETWORKS = ("tcp", "tcp4", "tcp6", "unix", "unixpacket")
PACKET_NETWORKS = ("udp", "udp4", "udp6", "unixgram")
_SANE_MINIMUM = 2.0  # Go: partialDeadline's saneMinimum
_MAX_TIMEOUT = float(1 << 40)  # beyond this a timeout is "none" (it could only overflow)


def _newsocket(family: int, sotype: int) -> socket.socket:
    """Go: sysSocket: a non-blocking, close-on-exec socket in one syscall."""
    s = socket.socket(family, sotype | _SOCK_FLAGS)
    if not _SOCK_FLAGS:
        s.setblocking(False)
    return s


def _conncls(family: int, sotype: int) -> type[Conn]:
    if family == AF_UNIX:
        return UnixConn
    return TCPConn if sotype == socket.SOCK_STREAM else UDPConn


_somaxconn: int | None = None


def maxListenerBacklog() -> int:
    """Go: maxListenerBacklog reads /proc/sys/net/core/somaxconn (Linux)."""
    global _somaxconn
    if _somaxconn is None:
        n = socket.SOMAXCONN
        try:
            with open("/proc/sys/net/core/somaxconn") as f:
                n = int(f.read().strip())
        except (OSError, ValueError):
            pass
        _somaxconn = max(1, min(n, 65535))
    return _somaxconn


def _check_backlog(backlog: Any) -> int:
    if isinstance(backlog, bool) or not isinstance(backlog, int):
        raise TypeError(f"gort.net.listen: backlog must be an int, not {type(backlog).__name__}")
    if backlog < 0:
        raise ValueError(f"gort.net.listen: backlog must be a non-negative int, not {backlog}")
    # Go (maxListenerBacklog) caps it at 65535: the kernel caps it at somaxconn.
    return min(backlog, 65535)


def _dial_deadline(timeout: Any, deadline: Any) -> float | None:
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError("gort.net.dial: timeout must be None or a number of seconds, "
                            f"not {type(timeout).__name__}")
        if timeout != timeout:
            raise ValueError("gort.net.dial: timeout is NaN")
    d = check_deadline(deadline, "dial")
    if timeout is not None and timeout < _MAX_TIMEOUT:
        t = monotonic() + timeout
        if d is None or t < d:
            d = t
    return d


def partialDeadline(now: float, deadline: float | None, addrsRemaining: int) -> float | None:
    """Go: partialDeadline: share the time left among the addresses left,
    but give each at least 2 s when there is that much."""
    if deadline is None:
        return None
    left = deadline - now
    timeout = left / addrsRemaining
    if timeout < _SANE_MINIMUM:
        timeout = left if left < _SANE_MINIMUM else _SANE_MINIMUM
    return now + timeout


def _resolve(op: str, net: str, family: int, sotype: int, address: Any,
             deadline: float | None, passive: bool) -> list[tuple[int, Any]]:
    """Go: internetAddrList for one "host:port" (or tuple) -> [(family, sockaddr)]."""
    host, port = split_address(address, net, op, net)
    if host == "":
        if passive:
            if family == AF_INET:
                return [(AF_INET, ("0.0.0.0", port))]
            if family == AF_INET6 or socket.has_dualstack_ipv6():
                return [(AF_INET6, ("::", port, 0, 0))]
            return [(AF_INET, ("0.0.0.0", port))]
        # Go: an empty host dials the local system.
        if family == AF_INET6:
            return [(AF_INET6, ("::1", port, 0, 0))]
        return [(AF_INET, ("127.0.0.1", port))]
    lit = literal_sockaddr(host, port, socket.AF_UNSPEC)
    if lit is not None:
        if family != socket.AF_UNSPEC and lit[0] != family:
            raise AddrError(op, net, host, "no suitable address")
        return [lit]
    if deadline is not None and monotonic() >= deadline:
        raise DeadlineExceededError(op, net, None, None, f"lookup {host}: i/o timeout")
    addrs = lookup_sockaddrs(op, net, host, port, family, sotype, deadline)
    if passive:
        # Go (ListenConfig.Listen): listen on the first IPv4 address, if any.
        for a in addrs:
            if a[0] == AF_INET:
                return [a]
        return addrs[:1]
    return addrs


# --------------------------------------------------------------------------
# dial


def dial(network: str, address: Any, *, timeout: float | None = None,
         deadline: float | None = None) -> Conn:
    """Connect to ``address`` on ``network`` and return a Conn.

    network: "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix",
    "unixgram" or "unixpacket".  address: "host:port", "[::1]:80", a
    (host, port) tuple, or a path for the unix networks.  A host name is
    resolved (on a worker thread), and each of its addresses is tried in
    turn until one connects.

    ``timeout`` (seconds) bounds resolution and connecting together; when it
    passes, dial raises DeadlineExceededError (op "dial").  Nobody listening:
    ConnRefusedError.  TCP conns have TCP_NODELAY on and 15 s keep-alive.
    For a local address, keep-alive settings, a control hook or a context
    that can cancel the dial, use a Dialer.
    """
    family, sotype, net = parse_network("dial", network, DIAL_NETWORKS)
    d = _dial_deadline(timeout, deadline)
    return _dialctx(None, family, sotype, net, address, d, None, None, None)


def _dialctx(ctx: Any, family: int, sotype: int, net: str, address: Any, d: float | None,
             laddr: Any, keepalive: float | None, control: Any) -> Conn:
    """Go: Dialer.DialContext after its checks: resolve, then dialSerial."""
    if ctx is not None:
        cd, ok = ctx.deadline()
        if ok and cd is not None and (d is None or cd < d):
            d = cd
        if ctx.err() is not None:
            raise _ctxerr(ctx, net, address)
    if family == AF_UNIX:
        if not isinstance(address, str):
            raise TypeError("gort.net.dial: a unix address is a path str, "
                            f"not {type(address).__name__}")
        if address == "":
            raise AddrError("dial", net, address, "missing address")
        if d is not None and monotonic() >= d:
            raise DeadlineExceededError("dial", net, None, address)
        lsa = None
        if laddr is not None:
            if not isinstance(laddr, str) or laddr == "":
                raise AddrError("dial", net, laddr, "a unix local address is a non-empty "
                                "path str")
            lsa = unix_sockaddr(laddr)
        return _dial_one("dial", net, AF_UNIX, sotype, unix_sockaddr(address), d, address,
                         lsa, keepalive, control, ctx)
    addrs = _resolve("dial", net, family, sotype, address, d, passive=False)
    lsa = None
    if laddr is not None:
        ((lfam, lsa),) = _resolve("dial", net, family, sotype, laddr, d, passive=True)
        # Go (dialSerial, filterAddrList): only remote addresses of the
        # local address's family.
        addrs = [a for a in addrs if a[0] == lfam]
        if not addrs:
            raise AddrError("dial", net, address, f"mismatched local address type {laddr}")
    first: BaseException | None = None
    n = len(addrs)
    for i, (fam, sa) in enumerate(addrs):
        now = monotonic()
        if ctx is not None and ctx.err() is not None:
            raise _ctxerr(ctx, net, address)
        if d is not None and now >= d:
            if first is None:
                first = DeadlineExceededError("dial", net, None, sockaddr_to_addr(fam, sotype, sa))
            break
        try:
            return _dial_one("dial", net, fam, sotype, sa, partialDeadline(now, d, n - i),
                             None, lsa, keepalive, control, ctx)
        except OpError as e:
            if first is None:
                first = e
            if isinstance(e, CanceledOpError):
                break
    assert first is not None
    raise first


def _dial_one(op: str, net: str, family: int, sotype: int, sa: Any, deadline: float | None,
              raddr: Any = None, lsa: Any = None, keepalive: float | None = None,
              control: Any = None, ctx: Any = None) -> Conn:
    """Go: sock_posix.go socket() + netFD.dial for one address."""
    if raddr is None:
        raddr = sockaddr_to_addr(family, sotype, sa, net)
    try:
        sock = _newsocket(family, sotype)
    except OSError as e:
        raise wrap_error(op, net, None, raddr, e, "socket") from None
    fd = None
    intr = None
    try:
        fd = FD(sock, pollable=False)
        if control is not None:
            control(net, str(raddr), sock)  # Go: Dialer.Control, before bind/connect
        if lsa is not None:
            if family != AF_UNIX:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(lsa)
        if ctx is not None:
            done = ctx.done()
            if done is not None and done:  # not the nil channel: ctx can be canceled
                intr = _interrupter(fd, ctx)
        fd.connect(sa, deadline, None if intr is None else intr.arm)
        if intr is not None and intr.finish():
            raise _ctxerr(ctx, net, raddr)  # canceled as the connect completed
        if family != AF_UNIX:
            if sotype == socket.SOCK_STREAM:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                _keepalive(sock, keepalive)
        laddr = sockaddr_to_addr(family, sotype, sock.getsockname(), net)
    except BaseException as exc:
        fired = intr is not None and intr.finish()  # stops the interrupter too
        _abandon(fd, sock)
        if isinstance(exc, OSError):
            if fired and not isinstance(exc, CanceledOpError):
                # Go: mapErr(ctx.Err()) instead of the i/o timeout it caused
                raise _ctxerr(ctx, net, raddr) from None
            raise wrap_error(op, net, None, raddr, exc, "connect") from None
        raise
    return _conncls(family, sotype)(fd, net, laddr, raddr)


class _interrupter:
    """Go: the goroutine netFD.connect starts when ctx.Done() is not nil:
    when ctx is done, set the write deadline far in the past, which wakes
    the parked connect with a timeout.  gort uses context.after_func (one
    goroutine, started only if ctx is done in time) and a lock, so that
    once the connect has finished (``finish``) the deadline can no longer
    be set on a conn handed out."""

    __slots__ = ("fd", "ctx", "mu", "over", "fired", "stop")

    def __init__(self, fd: FD, ctx: Any) -> None:
        self.fd = fd
        self.ctx = ctx
        self.mu = threading.Lock()
        self.over = False
        self.fired = False
        self.stop: Any = None

    def arm(self) -> None:
        from gort.context import after_func
        self.stop = after_func(self.ctx, self.fire)

    def fire(self) -> None:
        with self.mu:
            if self.over:
                return
            self.fired = True
            try:
                # Go: fd.pfd.SetWriteDeadline(aLongTimeAgo)
                self.fd.SetDeadline(-1.0, "w")
            except OSError:
                pass  # closed meanwhile: the connect has failed anyway

    def finish(self) -> bool:
        """The connect is over: True if ctx interrupted it (or was done by now)."""
        with self.mu:
            first = not self.over
            self.over = True
            fired = self.fired
        if first and self.stop is not None:
            self.stop()
        return fired


class CanceledOpError(OpError, CanceledError):
    """A dial canceled through its context (Go: an *OpError whose Err is
    errCanceled, "operation was canceled", which errors.Is matches to
    context.Canceled).  An OSError, and a gort.context.CanceledError."""


_errCanceled = "operation was canceled"


def _ctxerr(ctx: Any, net: str, addr: Any) -> OpError:
    """Go: mapErr(ctx.Err()) inside the dial's OpError."""
    err = ctx.err()
    if isinstance(err, TimeoutError):  # context.DeadlineExceeded
        return DeadlineExceededError("dial", net, None, addr)
    return CanceledOpError("dial", net, None, addr, _errCanceled)


def _abandon(fd: FD | None, sock: socket.socket) -> None:
    """Close a socket that never became a Conn."""
    if fd is not None and fd.pd is not None:
        fd.close()
    else:
        sock.close()


# --------------------------------------------------------------------------
# listen


def listen(network: str, address: Any, *, backlog: int | None = None,
           reuse_port: bool = False) -> Listener:
    """Listen on ``address`` ("host:port", ":8080" for every interface,
    "127.0.0.1:0" for any free port, or a path for "unix").  Returns a
    Listener whose ``addr`` has the real port.

    TCP listeners set SO_REUSEADDR (as Go does), so a restarted server can
    bind at once; ``reuse_port=True`` sets SO_REUSEPORT too, so several
    processes can share the port.  ``backlog`` defaults to the system's
    somaxconn.  A unix listener removes its socket file on close.
    """
    return _listen(network, address, backlog, reuse_port, None, None, None)


def _listen(network: str, address: Any, backlog: Any, reuse_port: Any, control: Any,
            keepalive: float | None, deadline: float | None) -> Listener:
    family, sotype, net = parse_network("listen", network, LISTEN_NETWORKS)
    if backlog is None:
        backlog = maxListenerBacklog()
    else:
        backlog = _check_backlog(backlog)
    if not isinstance(reuse_port, bool):
        raise TypeError("gort.net.listen: reuse_port must be a bool")
    if family == AF_UNIX:
        if not isinstance(address, str) or address == "":
            raise AddrError("listen", net, address, "a unix address is a non-empty path str")
        sa = unix_sockaddr(address)
        sock = _newsocket(AF_UNIX, sotype)
        try:
            if control is not None:
                control(net, address, sock)
            sock.bind(sa)
            sock.listen(backlog)
            fd = FD(sock)
        except BaseException as e:
            sock.close()
            if isinstance(e, OSError):
                raise wrap_error("listen", net, None, address, e, "bind") from None
            raise
        laddr = sockaddr_to_addr(AF_UNIX, sotype, sock.getsockname(), net)
        return UnixListener(fd, net, laddr, UnixConn, unlink=not address.startswith("@"))
    ((fam, sa),) = _resolve("listen", net, family, sotype, address, deadline, passive=True)
    sock = _newsocket(fam, sotype)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if fam == AF_INET6:
            # Go (ipv6only): "tcp" on [::] takes IPv4 too; "tcp6" only IPv6.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if family == AF_INET6 else 0)
        if control is not None:
            # Go: ListenConfig.Control, after the default options, before bind.
            control(net, str(sockaddr_to_addr(fam, sotype, sa)), sock)
        sock.bind(sa)
        sock.listen(backlog)
        fd = FD(sock)
    except BaseException as e:
        sock.close()
        if isinstance(e, OSError):
            raise wrap_error("listen", net, None, sockaddr_to_addr(fam, sotype, sa), e,
                             "bind") from None
        raise
    laddr = sockaddr_to_addr(fam, sotype, sock.getsockname(), net)
    ln = TCPListener(fd, net, laddr, TCPConn)
    ln._keepalive = keepalive
    return ln


def listen_packet(network: str, address: Any) -> PacketConn:
    """Open a datagram socket bound to ``address``: "udp", "udp4", "udp6"
    ("host:port", ":0"...) or "unixgram" (a path).  Use read_from and
    write_to on it."""
    return _listen_packet(network, address, False, None, None)


def _listen_packet(network: str, address: Any, reuse_port: bool, control: Any,
                   deadline: float | None) -> PacketConn:
    family, sotype, net = parse_network("listen", network, PACKET_NETWORKS)
    if family == AF_UNIX:
        if not isinstance(address, str) or address == "":
            raise AddrError("listen", net, address, "a unix address is a non-empty path str")
        sock = _newsocket(AF_UNIX, sotype)
        try:
            if control is not None:
                control(net, address, sock)
            sock.bind(unix_sockaddr(address))
            fd = FD(sock)
        except BaseException as e:
            sock.close()
            if isinstance(e, OSError):
                raise wrap_error("listen", net, None, address, e, "bind") from None
            raise
        laddr = sockaddr_to_addr(AF_UNIX, sotype, sock.getsockname(), net)
        return UnixConn(fd, net, laddr, None)
    ((fam, sa),) = _resolve("listen", net, family, sotype, address, deadline, passive=True)
    sock = _newsocket(fam, sotype)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)  # Go: setDefaultSockopts
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if fam == AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if family == AF_INET6 else 0)
        if control is not None:
            control(net, str(sockaddr_to_addr(fam, sotype, sa)), sock)
        sock.bind(sa)
        fd = FD(sock)
    except BaseException as e:
        sock.close()
        if isinstance(e, OSError):
            raise wrap_error("listen", net, None, sockaddr_to_addr(fam, sotype, sa), e,
                             "bind") from None
        raise
    laddr = sockaddr_to_addr(fam, sotype, sock.getsockname(), net)
    return UDPConn(fd, net, laddr, None)


# --------------------------------------------------------------------------
# Dialer and ListenConfig (Go: net.Dialer, net.ListenConfig)

Control = Callable[[str, str, socket.socket], Any]


def _check_ctx(ctx: Any, what: str) -> None:
    if not isinstance(ctx, Context):
        raise TypeError(f"gort.net.{what}: ctx must be a gort.context Context, "
                        f"not {type(ctx).__name__}")


def _check_keepalive(k: Any, what: str) -> float | None:
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, numbers.Real) or k != k:
        raise TypeError(f"gort.net.{what}: keep_alive must be None or a number of seconds, "
                        f"not {k!r}")
    return float(k)


def _check_control(c: Any, what: str) -> Any:
    if c is not None and not callable(c):
        raise TypeError(f"gort.net.{what}: control must be callable, not {type(c).__name__}")
    return c


class Dialer:
    """Options for connecting (Go: net.Dialer).  Attributes, as in Go:

    * ``timeout``: seconds for the whole dial (resolution included); None
      for none.
    * ``deadline``: an absolute time on gort.time.now()'s clock (or a
      datetime); the earliest of timeout, deadline and the context's
      deadline wins.
    * ``local_addr``: the local address to bind before connecting
      ("127.0.0.1:0", a (host, port) tuple, a path for unix); None lets
      the OS pick.  Only remote addresses of its family are tried.
    * ``keep_alive``: TCP keep-alive period in seconds; None or 0 is Go's
      default (15 s), a negative value turns keep-alive off.
    * ``control``: ``control(network, address, sock)`` called with the new
      socket.socket before bind and connect, to set options (Go:
      Dialer.Control with a RawConn).

    ``dial_context(ctx, network, address)``: canceling ctx aborts the dial,
    a connect in progress included (it raises CanceledOpError, an OpError
    that is also a gort.context.CanceledError; a ctx whose deadline passed
    raises DeadlineExceededError, "i/o timeout", as in Go).
    """

    __slots__ = ("timeout", "deadline", "local_addr", "keep_alive", "control")

    def __init__(self, *, timeout: float | None = None, deadline: Any = None,
                 local_addr: Any = None, keep_alive: float | None = None,
                 control: Control | None = None) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.local_addr = local_addr
        self.keep_alive = keep_alive
        self.control = control

    def dial(self, network: str, address: Any) -> Conn:
        """Connect with these options (Go: Dialer.Dial)."""
        return self._dial(None, network, address, "Dialer.dial")

    def dial_context(self, ctx: Context, network: str, address: Any) -> Conn:
        """Connect with these options until ctx is done (Go: Dialer.DialContext)."""
        _check_ctx(ctx, "Dialer.dial_context")
        return self._dial(ctx, network, address, "Dialer.dial_context")

    def _dial(self, ctx: Any, network: str, address: Any, what: str) -> Conn:
        family, sotype, net = parse_network("dial", network, DIAL_NETWORKS)
        d = _dial_deadline(self.timeout, self.deadline)
        keepalive = _check_keepalive(self.keep_alive, what)
        control = _check_control(self.control, what)
        return _dialctx(ctx, family, sotype, net, address, d, self.local_addr, keepalive,
                        control)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__
                           if getattr(self, k) is not None)
        return f"gort.net.Dialer({fields})"


class ListenConfig:
    """Options for listening (Go: net.ListenConfig).  Attributes:

    * ``control``: ``control(network, address, sock)`` called with the new
      socket.socket after gort's default options and before bind (Go:
      ListenConfig.Control) -- e.g. to set SO_RCVBUF before listen(2).
    * ``keep_alive``: keep-alive period for accepted TCP conns; None or 0
      is Go's default (15 s), a negative value leaves it off.
    * ``reuse_port``: set SO_REUSEPORT, so that several processes can each
      listen on the same port and the kernel spreads the connections over
      them: the multi-process way to use more cores under the GIL (see
      docs/net.md and samples/reuse_port_server.py).  Go has no field for
      it (one sets it in Control); gort has one because it is the common
      case.

    ``listen(ctx, network, address, backlog=None)`` and
    ``listen_packet(ctx, network, address)``: ctx bounds the name
    resolution (a done ctx fails at once), as in Go.
    """

    __slots__ = ("control", "keep_alive", "reuse_port")

    def __init__(self, *, control: Control | None = None, keep_alive: float | None = None,
                 reuse_port: bool = False) -> None:
        self.control = control
        self.keep_alive = keep_alive
        self.reuse_port = reuse_port

    def _ctxdeadline(self, ctx: Any, net: str, address: Any, what: str) -> float | None:
        _check_ctx(ctx, what)
        e = ctx.err()
        if e is not None:
            if isinstance(e, TimeoutError):
                raise DeadlineExceededError("listen", net, None, address)
            raise CanceledOpError("listen", net, None, address, _errCanceled)
        d, ok = ctx.deadline()
        return d if ok else None

    def listen(self, ctx: Context, network: str, address: Any, *,
               backlog: int | None = None) -> Listener:
        """Go: ListenConfig.Listen."""
        d = self._ctxdeadline(ctx, network, address, "ListenConfig.listen")
        return _listen(network, address, backlog, self.reuse_port,
                       _check_control(self.control, "ListenConfig.listen"),
                       _check_keepalive(self.keep_alive, "ListenConfig.listen"), d)

    def listen_packet(self, ctx: Context, network: str, address: Any) -> PacketConn:
        """Go: ListenConfig.ListenPacket."""
        d = self._ctxdeadline(ctx, network, address, "ListenConfig.listen_packet")
        if not isinstance(self.reuse_port, bool):
            raise TypeError("gort.net.ListenConfig.listen_packet: reuse_port must be a bool")
        return _listen_packet(network, address, self.reuse_port,
                              _check_control(self.control, "ListenConfig.listen_packet"), d)

    def __repr__(self) -> str:
        return (f"gort.net.ListenConfig(control={self.control!r}, "
                f"keep_alive={self.keep_alive!r}, reuse_port={self.reuse_port!r})")
