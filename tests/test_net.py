"""gort.net: connections, listeners, datagrams, close semantics, errors, input checks.

Go's net/net_test.go (close and unblock behaviour), conn_test.go,
protoconn_test.go, and the fd lifetime rules of internal/poll/fd_mutex.go,
on real loopback sockets.  Every test runs on both netpoll backends
(epoll, edge-triggered; poll, level-triggered), switched in-process.
Deadline behaviour is in test_net_timeout.py.
"""

from __future__ import annotations

import array
import errno
import gc
import json
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import time

import psutil
import pytest
from testutil import wait_until

import gort
import gort.net as net
import gort.netpoll.netpoll as npmod
import gort.time as gtime
from gort.netpoll import pollcache
from gort.sched import _Gwaiting, getg
from gort.sync import WaitGroup

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ("epoll", "poll")
_proc = psutil.Process()


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAS_IPV6 = _has_ipv6()


@pytest.fixture(autouse=True)
def backend(each_netpoll_backend):
    """Every test runs on each netpoll backend, with fd and pollDesc leak
    checks (tests/conftest.py)."""
    return each_netpoll_backend


def run(fn, *args):
    return gort.run(fn, *args)


def tcp_pair(network="tcp", address="127.0.0.1:0"):
    """(listener, client conn, server conn); call from a goroutine."""
    ln = net.listen(network, address)
    c = net.dial(network, ln.addr)
    s = ln.accept()
    return ln, c, s


def close_all(*objs):
    for o in objs:
        o.close()


def read_exactly(c, n):
    out = b""
    while len(out) < n:
        d = c.read(n - len(out))
        if not d:
            break
        out += d
    return out


# ---------------------------------------------------------------------------
# Basic I/O


def test_echo_tcp_and_addresses():
    def main():
        ln, c, s = tcp_pair()
        assert isinstance(ln, net.TCPListener) and isinstance(c, net.TCPConn)
        assert isinstance(ln.addr, net.TCPAddr) and ln.addr.ip == "127.0.0.1" and ln.addr.port
        assert c.remote_addr == ln.addr == ("127.0.0.1", ln.addr.port)
        assert s.local_addr == ln.addr and s.remote_addr == c.local_addr
        assert str(c.remote_addr) == f"127.0.0.1:{ln.addr.port}"
        assert c.fileno() >= 0 and c.fileno() != s.fileno()
        sk = socket.socket(fileno=os.dup(c.fileno()))
        try:
            assert sk.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            assert sk.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        finally:
            sk.close()
        assert c.write(b"hello") == 5
        assert s.read(5) == b"hello"
        buf = bytearray(10)
        assert s.write(memoryview(b"world!")) == 6
        assert c.read_into(buf) == 6 and buf[:6] == b"world!"
        # A non-byte buffer is written as its bytes.
        arr = array.array("i", [1, 2, 3])
        assert c.write(arr) == arr.itemsize * 3
        assert read_exactly(s, arr.itemsize * 3) == arr.tobytes()
        close_all(c, s, ln)
        assert c.closed and c.fileno() == -1

    run(main)


def test_dial_forms_and_localhost():
    def main():
        ln = net.listen("tcp4", "127.0.0.1:0")
        port = ln.addr.port
        for addr in (f"127.0.0.1:{port}", ("127.0.0.1", port), ("127.0.0.1", str(port)),
                     f"localhost:{port}", f":{port}"):
            c = net.dial("tcp", addr, timeout=5)
            s = ln.accept()
            assert c.remote_addr.port == port
            c.write(b"x")
            assert s.read() == b"x"
            close_all(c, s)
        ln.close()

    run(main)


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback")
def test_tcp6_and_dual_stack():
    def main():
        ln = net.listen("tcp6", "[::1]:0")
        assert ln.addr.ip == "::1" and str(ln.addr) == f"[::1]:{ln.addr.port}"
        c = net.dial("tcp6", f"[::1]:{ln.addr.port}")
        s = ln.accept()
        c.write(b"v6")
        assert s.read() == b"v6"
        close_all(c, s, ln)
        # "tcp" on an empty host listens on [::] for IPv4 too, as Go does.
        ln = net.listen("tcp", ":0")
        assert str(ln.addr) == f"[::]:{ln.addr.port}"
        c = net.dial("tcp4", ("127.0.0.1", ln.addr.port))
        s = ln.accept()
        c.write(b"v4")
        assert s.read() == b"v4"
        assert s.remote_addr == c.local_addr  # IPv4-mapped shown as IPv4, as in Go
        close_all(c, s, ln)
        with pytest.raises(net.AddrError, match="no suitable address"):
            net.dial("tcp4", "[::1]:80")

    run(main)


def test_zero_byte_read_returns_at_once():
    # Go: TestZeroByteRead -- (0, nil) at once, no blocking.
    def main():
        ln, c, s = tcp_pair()
        t0 = time.monotonic()
        assert c.read(0) == b"" and s.read(0) == b""
        assert c.read_into(bytearray()) == 0
        assert time.monotonic() - t0 < 0.5
        close_all(c, s, ln)
        with pytest.raises(net.NetClosedError):
            c.read(0)

    run(main)


def test_large_write_is_complete():
    # write() writes everything, across many partial sends and waits.
    data = os.urandom(8 << 20)

    def main():
        ln, c, s = tcp_pair()
        got = []

        def reader():
            while True:
                d = s.read()
                if not d:
                    return
                got.append(d)

        wg = WaitGroup()
        wg.go(reader)
        assert c.write(data) == len(data)
        c.close_write()
        wg.wait()
        assert b"".join(got) == data
        close_all(c, s, ln)

    run(main)


def test_eof_and_close_write():
    # Go: TestCloseWrite.
    def main():
        ln, c, s = tcp_pair()
        c.write(b"abc")
        c.close_write()
        assert read_exactly(s, 3) == b"abc"
        assert s.read() == b""  # EOF
        assert s.read() == b""  # and again
        s.write(b"reply")
        s.close_write()
        with pytest.raises(net.ConnBrokenPipeError) as ei:
            s.write(b"more")
        assert isinstance(ei.value, BrokenPipeError) and ei.value.op == "write"
        assert "write: broken pipe" in str(ei.value)
        assert read_exactly(c, 5) == b"reply"
        assert c.read() == b""
        with pytest.raises(BrokenPipeError):
            c.write(b"x")
        close_all(c, s, ln)

    run(main)


def test_close_read():
    # Go: TestCloseRead -- a read after CloseRead returns EOF.
    def main():
        ln, c, s = tcp_pair()
        c.close_read()
        assert c.read() == b""
        close_all(c, s, ln)
        with pytest.raises(net.NetClosedError):
            c.close_read()

    run(main)


def test_peer_close_unblocks_read_with_eof():
    # Go: TestCloseUnblocksRead (issue 17695).
    def main():
        ln, c, s = tcp_pair()
        gort.go(lambda: (gtime.sleep(0.02), s.close()))
        t0 = time.monotonic()
        assert c.read() == b""
        assert time.monotonic() - t0 < 5
        close_all(c, ln)

    run(main)


def test_peer_reset_is_not_temporary():
    # Go: TestNotTemporaryRead (issue 24808): RST -> an error, not EOF.
    def main():
        ln, c, s = tcp_pair()
        s.set_linger(0)
        gort.go(lambda: (gtime.sleep(0.02), s.close()))
        with pytest.raises(net.ConnResetError) as ei:
            c.read()
        e = ei.value
        assert isinstance(e, ConnectionResetError) and isinstance(e, net.OpError)
        assert e.errno == errno.ECONNRESET and e.op == "read" and e.net == "tcp"
        assert not e.temporary() and not e.timeout()
        assert str(e) == (f"read tcp {c.local_addr}->{c.remote_addr}: "
                          "read: connection reset by peer")
        close_all(c, ln)

    run(main)


def test_concurrent_readers_are_serialized():
    # fdMutex: a second reader queues behind the first; both get data.
    def main():
        ln, c, s = tcp_pair()
        got = []
        wg = WaitGroup()
        for _ in range(3):
            wg.go(lambda: got.append(s.read(1)))
        # One reader holds the read lock (parked in netpoll), two wait for it.
        wait_until(lambda: s.fd.fdmu.state >> 23 & 0xFFFFF == 2, poll=0.001)
        c.write(b"abc")
        wg.wait()
        assert sorted(got) == [b"a", b"b", b"c"]
        close_all(c, s, ln)

    run(main)


def test_lazy_runtime_without_run():
    # gort.net works from a plain script, as gevent's sockets do.
    ln = net.listen("tcp", "127.0.0.1:0")

    def server():
        s = ln.accept()
        s.write(s.read().upper())
        s.close()

    gort.go(server)
    c = net.dial("tcp", ln.addr)
    c.write(b"lazy")
    assert c.read() == b"LAZY"
    close_all(c, ln)


def test_conn_outlives_a_run():
    # A conn made in one run works in the next (its pollDesc stays open).
    conns = run(tcp_pair)

    def main():
        ln, c, s = conns
        c.set_read_deadline(time.monotonic() + 10)
        s.write(b"again")
        assert c.read() == b"again"
        close_all(c, s, ln)

    run(main)


# ---------------------------------------------------------------------------
# Close: unblocks everything, closes the fd after the last user


@pytest.mark.parametrize("what", ["read", "write", "accept", "read_from"])
def test_close_unblocks_blocked_operation(what):
    # Go: TestReadTimeoutMustNotReturn's second half, TestListenerClose,
    # TestCloseUnblocksReadUDP (issue 72770, a zero-length ReadFrom).
    def main():
        ln, c, s = tcp_pair()
        pc = net.listen_packet("udp", "127.0.0.1:0")
        target = {"read": c, "write": c, "accept": ln, "read_from": pc}[what]
        res = {}

        def op():
            try:
                if what == "read":
                    c.read()
                elif what == "write":
                    while True:
                        c.write(b"x" * 65536)
                elif what == "accept":
                    ln.accept()
                else:
                    pc.read_from(0)
            except Exception as e:  # noqa: BLE001
                res["err"] = e
                res["t"] = time.monotonic()

        gp = []
        gort.go(lambda: (gp.append(getg()), op()))
        wait_until(lambda: gp and gp[0].status == _Gwaiting and gp[0].waitreason == "IO wait",
                   poll=0.001)
        fd = target.fileno()
        t0 = time.monotonic()
        target.close()
        if gort.gomaxprocs() > 1:
            # As in Go, close waits for the blocked op to drop its fd reference,
            # not to return: with several Ms it may still be on its way out.
            wait_until(lambda: "err" in res, poll=0.001)
        assert "err" in res, "close returned before the blocked operation left"
        e = res["err"]
        assert isinstance(e, net.NetClosedError), repr(e)
        assert not e.timeout() and not e.temporary()
        assert str(e).endswith("use of closed network connection")
        assert e.op == {"read_from": "read"}.get(what, what)
        assert res["t"] - t0 < 1.0
        # close() returned only after the fd was really closed.
        assert target.fileno() == -1
        with pytest.raises(OSError) as ei:
            os.fstat(fd)
        assert ei.value.errno == errno.EBADF
        close_all(c, s, ln, pc)

    run(main)


def test_fd_number_not_reused_under_blocked_reader():
    # The fd closes only after the blocked reader has left; a new socket that
    # gets the same number cannot feed the old reader.
    def main():
        ln, c, s = tcp_pair()
        res = []

        gp = []

        def reader():
            gp.append(getg())
            try:
                res.append(s.read())
            except net.NetClosedError as e:
                res.append(e)

        gort.go(reader)
        wait_until(lambda: gp and gp[0].status == _Gwaiting and gp[0].waitreason == "IO wait",
                   poll=0.001)
        old = s.fileno()
        s.close()
        if gort.gomaxprocs() > 1:
            # several Ms: the reader may still be on its way out
            wait_until(lambda: res, poll=0.001)
        assert len(res) == 1 and isinstance(res[0], net.NetClosedError)
        # The kernel hands out the lowest free number: the new sockets reuse it.
        c2 = net.dial("tcp", ln.addr)
        s2 = ln.accept()
        assert old in (c2.fileno(), s2.fileno())
        c2.write(b"new")
        s2.write(b"new")
        assert s2.read() == b"new" and c2.read() == b"new"
        assert len(res) == 1
        close_all(c, c2, s2, ln)

    run(main)


def test_use_after_close_raises_net_closed():
    def main():
        ln, c, s = tcp_pair()
        close_all(c, s, ln)
        c.close()  # closing twice is fine
        ln.close()
        for call, op in ((lambda: c.read(), "read"), (lambda: c.read_into(bytearray(4)), "read"),
                         (lambda: c.write(b"x"), "write"), (lambda: ln.accept(), "accept"),
                         (lambda: c.set_deadline(None), "set"),
                         (lambda: c.set_read_deadline(1.0), "set"),
                         (lambda: ln.set_deadline(None), "set"),
                         (lambda: c.close_write(), "close")):
            with pytest.raises(net.NetClosedError) as ei:
                call()
            assert ei.value.op == op and isinstance(ei.value, OSError)
        assert "closed" in repr(c) and "closed" in repr(ln)

    run(main)


def test_close_with_waiters_on_the_fd_mutex():
    # Readers queued on the fdMutex (not yet in netpoll) are woken by close too.
    def main():
        ln, c, s = tcp_pair()
        errs = []
        wg = WaitGroup()
        for _ in range(3):
            def rd():
                try:
                    s.read()
                except net.NetClosedError as e:
                    errs.append(e)
            wg.go(rd)
        wait_until(lambda: s.fd.fdmu.state >> 23 & 0xFFFFF == 2, poll=0.001)
        s.close()
        wg.wait()
        assert len(errs) == 3
        assert s.fd.fdmu.state == 1  # closed, no references, no waiters
        close_all(c, ln)

    run(main)


def test_conn_dropped_without_close_is_reaped():
    # Go closes a lost netFD from a finalizer; gort queues it from FD.__del__
    # and closes it at the next pollOpen (or at the end of the run).
    def main():
        ln, c, s = tcp_pair()
        fds = (c.fileno(), s.fileno())
        with pytest.warns(ResourceWarning, match="unclosed gort.net socket"):
            del c, s
            gc.collect()
        assert all(fd in npmod.pdbyfd for fd in fds)  # not yet: no safe point so far
        c2 = net.dial("tcp", ln.addr)  # pollOpen: a safe point
        s2 = ln.accept()
        for fd in fds:
            if fd not in (c2.fileno(), s2.fileno()):
                assert fd not in npmod.pdbyfd
                with pytest.raises(OSError):
                    os.fstat(fd)
        c2.write(b"ok")
        assert s2.read() == b"ok"
        close_all(c2, s2, ln)

    run(main)


# ---------------------------------------------------------------------------
# UDP and Unix sockets


def test_udp_packet_conn():
    def main():
        a = net.listen_packet("udp", "127.0.0.1:0")
        b = net.listen_packet("udp4", "127.0.0.1:0")
        assert isinstance(a, net.UDPConn) and isinstance(a, net.PacketConn)
        assert isinstance(a.local_addr, net.UDPAddr) and a.remote_addr is None
        assert b.write_to(b"ping", a.local_addr) == 4
        data, addr = a.read_from()
        assert data == b"ping" and addr == b.local_addr and isinstance(addr, net.UDPAddr)
        a.write_to(b"pong", str(addr))
        buf = bytearray(16)
        n, addr2 = b.read_from_into(buf)
        assert buf[:n] == b"pong" and addr2 == a.local_addr
        a.write_to(b"via tuple", ("127.0.0.1", b.local_addr.port))
        assert b.read_from()[0] == b"via tuple"
        # A datagram longer than n is cut (Go: the rest is discarded).
        a.write_to(b"0123456789", b.local_addr)
        assert b.read_from(4)[0] == b"0123"
        # An unconnected UDP socket cannot write() without an address.
        with pytest.raises(net.OpError) as ei:
            a.write(b"x")
        assert ei.value.errno == errno.EDESTADDRREQ
        # Dialed UDP: a connected socket.
        c = net.dial("udp", a.local_addr)
        assert isinstance(c, net.UDPConn) and c.remote_addr == a.local_addr
        c.write(b"connected")
        data, addr = a.read_from()
        assert data == b"connected" and addr == c.local_addr
        a.write_to(b"back", addr)
        assert c.read() == b"back"
        close_all(a, b, c)

    run(main)


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback")
def test_udp_dual_stack_write_to_ipv4():
    def main():
        a = net.listen_packet("udp", ":0")  # [::], takes IPv4 too
        b = net.listen_packet("udp4", "127.0.0.1:0")
        b.write_to(b"4to6", ("127.0.0.1", a.local_addr.port))
        data, addr = a.read_from()
        assert data == b"4to6" and addr == b.local_addr
        a.write_to(b"6to4", b.local_addr)  # an IPv4 address on a dual-stack socket
        assert b.read_from()[0] == b"6to4"
        close_all(a, b)

    run(main)


def test_unix_stream_listener_removes_its_file():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.sock")

        def main():
            ln = net.listen("unix", path)
            assert isinstance(ln, net.UnixListener) and ln.addr == path
            assert isinstance(ln.addr, net.UnixAddr) and ln.addr.network == "unix"
            c = net.dial("unix", path)
            s = ln.accept()
            assert isinstance(c, net.UnixConn)
            c.write(b"over unix")
            assert s.read() == b"over unix"
            s.close_write()
            assert c.read() == b""
            close_all(c, s)
            assert os.path.exists(path)
            ln.close()
            assert not os.path.exists(path)
            with pytest.raises(ConnectionRefusedError):
                open(path, "w").close()
                try:
                    net.dial("unix", path)
                finally:
                    os.unlink(path)

        run(main)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract unix names are Linux's")
def test_unix_abstract_and_unixgram():
    with tempfile.TemporaryDirectory() as d:
        def main():
            name = f"@gort-test-{os.getpid()}-{time.monotonic_ns()}"
            ln = net.listen("unix", name)
            assert ln.addr == name
            c = net.dial("unix", name)
            s = ln.accept()
            c.write(b"abstract")
            assert s.read() == b"abstract"
            close_all(c, s, ln)
            pa, pb = os.path.join(d, "a"), os.path.join(d, "b")
            a = net.listen_packet("unixgram", pa)
            b = net.listen_packet("unixgram", pb)
            assert isinstance(a, net.UnixConn) and a.local_addr == pa
            b.write_to(b"dgram", pa)
            data, addr = a.read_from()
            assert data == b"dgram" and addr == pb
            close_all(a, b)

        run(main)


# ---------------------------------------------------------------------------
# Load and leaks


def test_1000_concurrent_echo_connections_with_deadlines():
    N = 1000

    def main():
        ln = net.listen("tcp", "127.0.0.1:0")

        def handle(s):
            with s:
                while True:
                    s.set_deadline(time.monotonic() + 10)
                    d = s.read()
                    if not d:
                        return
                    s.write(d)

        def server():
            try:
                while True:
                    gort.go(handle, ln.accept())
            except net.NetClosedError:
                pass

        gort.go(server)
        ok = []
        wg = WaitGroup()

        def client(i):
            with net.dial("tcp", ln.addr, timeout=10) as c:
                c.set_deadline(time.monotonic() + 10)
                msg = b"msg %d " % i * 10
                for _ in range(3):
                    c.write(msg)
                    assert read_exactly(c, len(msg)) == msg
                ok.append(i)

        for i in range(N):
            wg.go(client, i)
        wg.wait()
        assert len(ok) == N
        ln.close()
        wait_until(lambda: gort.num_goroutine() == 1, poll=0.001)

    run(main)


def test_no_fd_leak_after_10000_dial_close_cycles():
    N = 10000

    def main():
        ln = net.listen("tcp", "127.0.0.1:0")
        ncache0 = pollcache.n
        fds0 = _proc.num_fds()
        addr = ln.addr
        for i in range(N):
            c = net.dial("tcp", addr)
            s = ln.accept()
            s.close()  # the server closes first: TIME_WAIT stays off the client's ports
            c.close()
            if i == 100:
                fds0 = _proc.num_fds()
        assert _proc.num_fds() == fds0
        assert len(npmod.pdbyfd) == 1  # only the listener
        assert pollcache.n - ncache0 <= 4, "pollDescs are not reused"
        ln.close()

    t0 = time.monotonic()
    run(main)
    assert time.monotonic() - t0 < 20


# ---------------------------------------------------------------------------
# Errors: types, messages, ops


def test_dial_refused_error():
    def main():
        ln = net.listen("tcp", "127.0.0.1:0")
        addr = ln.addr
        ln.close()
        with pytest.raises(net.ConnRefusedError) as ei:
            net.dial("tcp", addr)
        e = ei.value
        assert isinstance(e, ConnectionRefusedError) and isinstance(e, ConnectionError)
        assert e.errno == errno.ECONNREFUSED
        assert (e.op, e.net, e.source, e.addr) == ("dial", "tcp", None, addr)
        assert str(e) == f"dial tcp {addr}: connect: connection refused"
        assert not e.timeout()
        assert repr(e) == f"ConnRefusedError({str(e)!r})"
        e2 = pickle.loads(pickle.dumps(e))
        assert type(e2) is net.ConnRefusedError and str(e2) == str(e)
        with pytest.raises(FileNotFoundError):
            net.dial("unix", "/nonexistent/gort.sock")

    run(main)


def test_dns_error():
    def main():
        with pytest.raises(net.DNSError) as ei:
            net.dial("tcp", "nosuchhost.invalid:80", timeout=10)
        e = ei.value
        assert isinstance(e, socket.gaierror) and isinstance(e, OSError)
        assert e.op == "dial" and e.name == "nosuchhost.invalid"
        assert str(e).startswith("dial tcp: lookup nosuchhost.invalid")

    run(main)


def test_error_strings_like_go():
    def main():
        ln, c, s = tcp_pair()
        c.set_read_deadline(time.monotonic() - 1)
        with pytest.raises(net.DeadlineExceededError) as ei:
            c.read()
        e = ei.value
        assert str(e) == f"read tcp {c.local_addr}->{c.remote_addr}: i/o timeout"
        assert (e.op, e.net, e.source, e.addr) == ("read", "tcp", c.local_addr, c.remote_addr)
        assert isinstance(e, TimeoutError) and e.timeout() and e.temporary()
        ln.set_deadline(time.monotonic() - 1)
        with pytest.raises(TimeoutError) as ei:
            ln.accept()
        assert str(ei.value) == f"accept tcp {ln.addr}: i/o timeout"
        assert ei.value.source is None and ei.value.addr == ln.addr
        c.set_write_deadline(time.monotonic() - 1)
        with pytest.raises(net.DeadlineExceededError) as ei:
            c.write(b"x")
        assert ei.value.op == "write" and ei.value.n == 0
        close_all(c, s, ln)
        with pytest.raises(net.NetClosedError) as ei:
            c.write(b"x")
        assert str(ei.value) == (f"write tcp {c.local_addr}->{c.remote_addr}: "
                                 "use of closed network connection")

    run(main)


def test_bad_input_is_rejected_before_any_syscall():
    def main():
        ln, c, s = tcp_pair()
        fds = _proc.num_fds()
        with pytest.raises(net.UnknownNetworkError, match="dial tcpx: unknown network tcpx"):
            net.dial("tcpx", "127.0.0.1:80")
        with pytest.raises(ValueError, match="unknown network"):
            net.listen("udp", "127.0.0.1:0")  # listen is for stream networks
        with pytest.raises(ValueError, match="unknown network"):
            net.listen_packet("tcp", "127.0.0.1:0")
        with pytest.raises(TypeError, match="network must be a str"):
            net.dial(5, "127.0.0.1:80")
        for addr, msg in (("127.0.0.1", "missing port in address"),
                          ("127.0.0.1:99999", "invalid port"),
                          ("127.0.0.1:-1", "invalid port"),
                          ("[::1", "missing ']' in address"),
                          ("::1:80", "too many colons in address"),
                          ("[::1]80", "missing port in address"),
                          ("a]:80", "unexpected ']' in address"),
                          (("127.0.0.1", 70000), "invalid port"),
                          (("127.0.0.1", -5), "invalid port"),
                          ("127.0.0.1:nosuchservice", "unknown port")):
            with pytest.raises(net.AddrError, match=msg.replace("[", r"\[")) as ei:
                net.dial("tcp", addr)
            assert isinstance(ei.value, ValueError) and ei.value.op == "dial"
        assert str(pytest.raises(net.AddrError, net.dial, "tcp", "1.2.3.4:99999").value) == \
            "dial tcp: address 1.2.3.4:99999: invalid port"
        with pytest.raises(TypeError, match="address must be"):
            net.dial("tcp", 80)
        with pytest.raises(TypeError, match="port must be"):
            net.dial("tcp", ("127.0.0.1", 8.5))
        with pytest.raises(TypeError, match="timeout must be"):
            net.dial("tcp", ln.addr, timeout="1")
        with pytest.raises(ValueError, match="NaN"):
            net.dial("tcp", ln.addr, timeout=float("nan"))
        with pytest.raises(ValueError, match="backlog"):
            net.listen("tcp", "127.0.0.1:0", backlog=-1)
        for data in ("text", 5, None, [1, 2], 3.5):
            with pytest.raises(TypeError, match="bytes-like"):
                c.write(data)
            with pytest.raises(TypeError, match="bytes-like"):
                s.write(data)
        with pytest.raises(ValueError, match="negative size"):
            c.read(-1)
        with pytest.raises(TypeError, match="size must be an int"):
            c.read("10")
        with pytest.raises(TypeError, match="read-only"):
            c.read_into(b"immutable")
        with pytest.raises(TypeError, match="writable bytes-like"):
            c.read_into("str")
        for bad, exc in (("soon", TypeError), (True, TypeError), (float("nan"), ValueError),
                         ([1], TypeError)):
            for setter in (c.set_deadline, c.set_read_deadline, c.set_write_deadline,
                           c.SetDeadline, ln.set_deadline):
                with pytest.raises(exc):
                    setter(bad)
        pc = net.listen_packet("udp", "127.0.0.1:0")
        fds = _proc.num_fds()
        with pytest.raises(TypeError, match="bytes-like"):
            pc.write_to("str", ln.addr)
        with pytest.raises(net.AddrError):
            pc.write_to(b"x", "127.0.0.1")
        assert _proc.num_fds() == fds
        close_all(c, s, ln, pc)

    run(main)


def test_conn_classes_have_the_whole_contract():
    methods = ["read", "read_into", "write", "close", "close_write", "fileno", "set_deadline",
               "set_read_deadline", "set_write_deadline", "SetDeadline", "SetReadDeadline",
               "SetWriteDeadline"]
    classes = [getattr(net, n) for n in dir(net)
               if n.endswith("Conn") and isinstance(getattr(net, n), type)]
    assert {c.__name__ for c in classes} >= {"Conn", "TCPConn", "UDPConn", "UnixConn",
                                              "PacketConn"}
    for cls in classes:
        for m in methods:
            assert callable(getattr(cls, m)), f"{cls.__name__}.{m}"


# ---------------------------------------------------------------------------
# Processes: EMFILE back-off, the backend chosen by GORTNETPOLL, the samples


EMFILE_SCRIPT = r"""
import json, os, resource, runpy, sys
import gort, gort.net, gort.time
echo = runpy.run_path(os.path.join(sys.argv[1], "samples", "echo_server.py"))

def main():
    ln = gort.net.listen("tcp", "127.0.0.1:0")
    backoffs = []
    gort.go(echo["serve"], ln, 10.0, None,
            lambda e, d: backoffs.append((e.errno, e.op, e.temporary(), str(e), d)))
    nopen = len(os.listdir("/proc/self/fd"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (nopen + 12, hard))
    clients = []
    # Dial until the server's accept fails (the last client waits in the backlog).
    while not backoffs and len(clients) < 50:
        clients.append(gort.net.dial("tcp", ln.addr, timeout=2))
        gort.time.sleep(0.002)
    gort.time.sleep(0.08)          # a few back-off rounds: 5, 10, 20, 40 ms
    before = len(backoffs)
    for c in clients[:4]:          # free some fds: the next retry accepts
        c.close()
    last = clients[-1]
    last.set_deadline(gort.time.now() + 5)
    last.write(b"ping")
    got = last.read()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    for c in clients[4:]:
        c.close()
    ln.close()
    print(json.dumps({"backoffs": backoffs, "before": before, "echo": got.decode()}))

gort.run(main)
"""


def _run_py(code, *args, env=None, timeout=60):
    e = dict(os.environ)
    e.update(env or {})
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=e, timeout=timeout, cwd=ROOT)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_accept_emfile_backoff_in_subprocess(backend):
    r = _run_py(EMFILE_SCRIPT, ROOT, env={"GORTNETPOLL": backend})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    b = out["backoffs"]
    assert out["echo"] == "ping", out  # the waiting connection was served after the back-off
    assert len(b) >= 2, out
    assert all(x[0] in (errno.EMFILE, errno.ENFILE) and x[1] == "accept" and x[2] for x in b)
    assert "too many open files" in b[0][3]
    delays = [x[4] for x in b]
    assert delays[0] == 0.005
    assert all(d2 == min(d1 * 2, 1.0) for d1, d2 in zip(delays, delays[1:], strict=False))


def test_gortnetpoll_env_selects_the_backend(backend):
    code = ("import gort, gort.net, gort.netpoll.netpoll as np\n"
            "def main():\n"
            "    ln = gort.net.listen('tcp', '127.0.0.1:0'); c = gort.net.dial('tcp', ln.addr)\n"
            "    s = ln.accept(); c.write(b'hi'); assert s.read() == b'hi'\n"
            "    c.set_read_deadline(gort.time.now() + 0.02)\n"
            "    try: c.read()\n"
            "    except TimeoutError: pass\n"
            "    for x in (c, s, ln): x.close()\n"
            "    print(np._backendname())\n"
            "import gort.time\n"
            "gort.run(main)\n")
    r = _run_py(code, env={"GORTNETPOLL": backend})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == backend


@pytest.mark.parametrize("sample", ["echo_server.py", "http_hello.py", "dial_many.py"])
def test_sample_self_test(sample, backend):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "samples", sample), "--self-test"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT,
                       env=dict(os.environ, GORTNETPOLL=backend,
                                PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "self-test ok" in r.stdout
