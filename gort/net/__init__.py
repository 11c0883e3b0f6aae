"""gort.net: sockets with Go's deadline semantics, on gort's netpoll.

Go: the net package over internal/poll.  Layers, bottom up:

* ``fd_mutex.py``  fdMutex (internal/poll/fd_mutex.go): one reader and one
  writer at a time, reference counting, close-after-last-user;
* ``fd_poll.py``   FD (internal/poll/fd_unix.go, fd_poll_runtime.go): the
  non-blocking socket + its netpoll pollDesc; try the syscall, on EAGAIN
  park in pollWait; deadlines and close wake the parked goroutine;
* ``conn.py``      Conn/TCPConn/UDPConn/UnixConn/PacketConn and the
  listeners (net/net.go, tcpsock.go, udpsock.go, unixsock.go);
* ``dial.py``      dial, listen, listen_packet, Dialer, ListenConfig
                   (net/dial.go, sock_posix.go, fd_unix.go's connect);
* ``lookup.py``    getaddrinfo on a worker thread, bounded by the dial deadline;
* ``addr.py``      "host:port" parsing and the Addr types (net/ipsock.go);
* ``errors.py``    OpError and friends (net/net.go, internal/poll/fd.go).

docs/net.md follows one read through all of them.

Example::

    import gort, gort.net, gort.time

    def handle(c):
        with c:
            while True:
                c.set_deadline(gort.time.now() + 30)    # idle timeout
                data = c.read()
                if not data:
                    return
                c.write(data)

    def main():
        ln = gort.net.listen("tcp", "127.0.0.1:8000")
        while True:
            gort.go(handle, ln.accept())

    gort.run(main)
"""

from __future__ import annotations

from .addr import TCPAddr, UDPAddr, UnixAddr, join_host_port, split_host_port
from .conn import (
    Conn,
    Listener,
    PacketConn,
    TCPConn,
    TCPListener,
    UDPConn,
    UnixConn,
    UnixListener,
)
from .dialer import CanceledOpError, Dialer, ListenConfig, dial, listen, listen_packet
from .errors import (
    AddrError,
    ConnAbortedError,
    ConnBrokenPipeError,
    ConnRefusedError,
    ConnResetError,
    DeadlineExceededError,
    DNSError,
    NetClosedError,
    OpError,
    UnknownNetworkError,
)

__all__ = [
    "AddrError", "CanceledOpError", "ConnAbortedError", "ConnBrokenPipeError", "ConnRefusedError",
    "ConnResetError", "Conn", "DNSError", "DeadlineExceededError", "Dialer", "ListenConfig",
    "Listener",
    "NetClosedError", "OpError", "PacketConn", "TCPAddr", "TCPConn", "TCPListener",
    "UDPAddr", "UDPConn", "UnixAddr", "UnixConn", "UnixListener", "UnknownNetworkError",
    "dial", "join_host_port", "listen", "listen_packet", "split_host_port",
]
