"""dial, listen, listen_packet: making sockets.

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
"""

from __future__ import annotations

import socket
from time import monotonic
from typing import Any

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

__all__ = ["dial", "listen", "listen_packet"]

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
    """
    family, sotype, net = parse_network("dial", network, DIAL_NETWORKS)
    d = _dial_deadline(timeout, deadline)
    if family == AF_UNIX:
        if not isinstance(address, str):
            raise TypeError("gort.net.dial: a unix address is a path str, "
                            f"not {type(address).__name__}")
        if address == "":
            raise AddrError("dial", net, address, "missing address")
        if d is not None and monotonic() >= d:
            raise DeadlineExceededError("dial", net, None, address)
        return _dial_one("dial", net, AF_UNIX, sotype, unix_sockaddr(address), d, address)
    addrs = _resolve("dial", net, family, sotype, address, d, passive=False)
    first: BaseException | None = None
    n = len(addrs)
    for i, (fam, sa) in enumerate(addrs):
        now = monotonic()
        if d is not None and now >= d:
            if first is None:
                first = DeadlineExceededError("dial", net, None, sockaddr_to_addr(fam, sotype, sa))
            break
        try:
            return _dial_one("dial", net, fam, sotype, sa, partialDeadline(now, d, n - i))
        except OpError as e:
            if first is None:
                first = e
    assert first is not None
    raise first


def _dial_one(op: str, net: str, family: int, sotype: int, sa: Any, deadline: float | None,
              raddr: Any = None) -> Conn:
    """Go: sock_posix.go socket() + netFD.dial for one address."""
    if raddr is None:
        raddr = sockaddr_to_addr(family, sotype, sa, net)
    try:
        sock = _newsocket(family, sotype)
    except OSError as e:
        raise wrap_error(op, net, None, raddr, e, "socket") from None
    fd = None
    try:
        fd = FD(sock, pollable=False)
        fd.connect(sa, deadline)
        if family != AF_UNIX:
            if sotype == socket.SOCK_STREAM:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                _keepalive(sock)
        laddr = sockaddr_to_addr(family, sotype, sock.getsockname(), net)
    except BaseException as e:
        _abandon(fd, sock)
        if isinstance(e, OSError):
            raise wrap_error(op, net, None, raddr, e, "connect") from None
        raise
    return _conncls(family, sotype)(fd, net, laddr, raddr)


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
            sock.bind(sa)
            sock.listen(backlog)
            fd = FD(sock)
        except OSError as e:
            sock.close()
            raise wrap_error("listen", net, None, address, e, "bind") from None
        laddr = sockaddr_to_addr(AF_UNIX, sotype, sock.getsockname(), net)
        return UnixListener(fd, net, laddr, UnixConn, unlink=not address.startswith("@"))
    ((fam, sa),) = _resolve("listen", net, family, sotype, address, None, passive=True)
    sock = _newsocket(fam, sotype)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if fam == AF_INET6:
            # Go (ipv6only): "tcp" on [::] takes IPv4 too; "tcp6" only IPv6.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if family == AF_INET6 else 0)
        sock.bind(sa)
        sock.listen(backlog)
        fd = FD(sock)
    except OSError as e:
        sock.close()
        raise wrap_error("listen", net, None, sockaddr_to_addr(fam, sotype, sa), e,
                         "bind") from None
    laddr = sockaddr_to_addr(fam, sotype, sock.getsockname(), net)
    return TCPListener(fd, net, laddr, TCPConn)


def listen_packet(network: str, address: Any) -> PacketConn:
    """Open a datagram socket bound to ``address``: "udp", "udp4", "udp6"
    ("host:port", ":0"...) or "unixgram" (a path).  Use read_from and
    write_to on it."""
    family, sotype, net = parse_network("listen", network, PACKET_NETWORKS)
    if family == AF_UNIX:
        if not isinstance(address, str) or address == "":
            raise AddrError("listen", net, address, "a unix address is a non-empty path str")
        sock = _newsocket(AF_UNIX, sotype)
        try:
            sock.bind(unix_sockaddr(address))
            fd = FD(sock)
        except OSError as e:
            sock.close()
            raise wrap_error("listen", net, None, address, e, "bind") from None
        laddr = sockaddr_to_addr(AF_UNIX, sotype, sock.getsockname(), net)
        return UnixConn(fd, net, laddr, None)
    ((fam, sa),) = _resolve("listen", net, family, sotype, address, None, passive=True)
    sock = _newsocket(fam, sotype)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)  # Go: setDefaultSockopts
        if fam == AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if family == AF_INET6 else 0)
        sock.bind(sa)
        fd = FD(sock)
    except OSError as e:
        sock.close()
        raise wrap_error("listen", net, None, sockaddr_to_addr(fam, sotype, sa), e,
                         "bind") from None
    laddr = sockaddr_to_addr(fam, sotype, sock.getsockname(), net)
    return UDPConn(fd, net, laddr, None)
