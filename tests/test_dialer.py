"""gort.net.Dialer and gort.net.ListenConfig (Go: net.Dialer, net.ListenConfig;
cases after Go's dial_test.go: TestDialerLocalAddr, TestDialerKeepAlive,
TestDialContextCancelRace/TestCancelAfterDial's in-progress cancel,
TestListenConfigControl).  Loopback only: a connect "in progress" is one to
a listener whose backlog is full and that never accepts."""

from __future__ import annotations

import socket

import pytest

import gort
import gort.net as net
import gort.time as gtime
from gort import context

_TCP_KEEPIDLE = getattr(socket, "TCP_KEEPIDLE", None)


@pytest.fixture(autouse=True)
def backend(each_netpoll_backend):
    return each_netpoll_backend


def _full_listener():
    """A listener with a full backlog that never accepts: a further connect
    stays in progress (the kernel drops its SYNs).  Returns (ln, fillers)."""
    ln = net.listen("tcp", "127.0.0.1:0", backlog=0)
    fillers = []
    for _ in range(16):
        try:
            fillers.append(net.dial("tcp", ln.addr, timeout=0.2))
        except net.DeadlineExceededError:
            return ln, fillers
    raise AssertionError("the backlog never filled up")


def _close(*xs):
    for x in xs:
        x.close()


@pytest.mark.parametrize("procs", [1, 4])
def test_dial_context_cancel_aborts_connect_in_progress(procs):
    def main():
        gort.gomaxprocs(procs)
        ln, fillers = _full_listener()
        d = net.Dialer()
        ctx, cancel = context.with_cancel(context.background())
        t0 = gtime.now()  # before the timer is armed: took is then >= 0.05
        gtime.after_func(0.05, cancel)
        with pytest.raises(net.CanceledOpError) as ei:
            d.dial_context(ctx, "tcp", ln.addr)
        took = gtime.now() - t0
        e = ei.value
        assert 0.04 <= took < 2.0
        assert isinstance(e, OSError) and isinstance(e, context.CanceledError)
        assert str(e) == f"dial tcp {ln.addr}: operation was canceled"
        assert e.op == "dial"
        # A context deadline is an i/o timeout, as Go maps it.
        t0 = gtime.now()
        ctx2, cancel2 = context.with_timeout(context.background(), 0.05)
        with pytest.raises(net.DeadlineExceededError, match="i/o timeout"):
            d.dial_context(ctx2, "tcp", ln.addr)
        assert 0.04 <= gtime.now() - t0 < 2.0
        cancel2()
        _close(*fillers, ln)

    gort.run(main)


def test_dial_context_already_canceled_fails_before_connecting():
    def main():
        ln = net.listen("tcp", "127.0.0.1:0")
        ctx, cancel = context.with_cancel(context.background())
        cancel()
        with pytest.raises(net.CanceledOpError):
            net.Dialer().dial_context(ctx, "tcp", ln.addr)
        ln.set_deadline(gtime.now() + 0.02)
        with pytest.raises(net.DeadlineExceededError):
            ln.accept()  # nothing connected
        ln.close()

    gort.run(main)


def test_dial_context_success_leaves_no_interrupt_behind():
    # A cancel after the connect succeeded must not touch the conn (Go
    # waits for the interrupter; gort's finish() shuts it out).
    def main():
        ln = net.listen("tcp", "127.0.0.1:0")
        ctx, cancel = context.with_cancel(context.background())
        c = net.Dialer(timeout=5).dial_context(ctx, "tcp", ln.addr)
        s = ln.accept()
        cancel()
        gort.gosched()
        assert c.write(b"ok") == 2  # no write deadline in the past was set
        assert s.read(2) == b"ok"
        # And a context that can never be canceled is just a plain dial.
        c2 = net.Dialer().dial_context(context.background(), "tcp", ln.addr)
        s2 = ln.accept()
        _close(c, s, c2, s2, ln)

    gort.run(main)


def test_dialer_timeout_and_deadline():
    def main():
        ln, fillers = _full_listener()
        for mk in (lambda: net.Dialer(timeout=0.05),
                   lambda: net.Dialer(deadline=gtime.now() + 0.05)):
            d = mk()
            t0 = gtime.now()
            with pytest.raises(net.DeadlineExceededError):
                d.dial("tcp", ln.addr)
            assert 0.04 <= gtime.now() - t0 < 2.0
        # The earliest of timeout, deadline and ctx's deadline wins.
        ctx, cancel = context.with_timeout(context.background(), 0.05)
        t0 = gtime.now()
        with pytest.raises(net.DeadlineExceededError):
            net.Dialer(timeout=30).dial_context(ctx, "tcp", ln.addr)
        assert gtime.now() - t0 < 2.0
        cancel()
        _close(*fillers, ln)

    gort.run(main)


def test_dialer_local_addr():
    # Go: TestDialerLocalAddr
    def main():
        ln = net.listen("tcp", "127.0.0.1:0")
        probe = net.listen("tcp", "127.0.0.1:0")
        lport = probe.addr.port
        probe.close()
        for laddr in (f"127.0.0.1:{lport}", ("127.0.0.1", 0), net.TCPAddr("127.0.0.1", 0)):
            c = net.Dialer(local_addr=laddr).dial("tcp", ln.addr)
            s = ln.accept()
            assert c.local_addr.ip == "127.0.0.1"
            if isinstance(laddr, str):
                assert c.local_addr.port == lport
            assert s.remote_addr == c.local_addr
            _close(c, s)
        with pytest.raises(net.AddrError, match="mismatched local address type"):
            net.Dialer(local_addr="[::1]:0").dial("tcp", ln.addr)
        ln.close()

    gort.run(main)


def test_dialer_keep_alive_and_control():
    # Go: TestDialerKeepAlive, TestDialerControl
    def main():
        ln = net.listen("tcp", "127.0.0.1:0")
        seen = []

        def control(network, address, sock):
            seen.append((network, address, sock.fileno() >= 0))

        c = net.Dialer(keep_alive=42, control=control).dial("tcp", ln.addr)
        s = ln.accept()
        assert seen == [("tcp", str(ln.addr), True)]
        sock = c.fd.sock
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        if _TCP_KEEPIDLE is not None:
            assert sock.getsockopt(socket.IPPROTO_TCP, _TCP_KEEPIDLE) == 42
        _close(c, s)
        c = net.Dialer(keep_alive=-1).dial("tcp", ln.addr)
        s = ln.accept()
        assert c.fd.sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        _close(c, s)

        def bad(network, address, sock):
            raise PermissionError("control says no")
        with pytest.raises(OSError, match="control says no"):
            net.Dialer(control=bad).dial("tcp", ln.addr)
        with pytest.raises(TypeError, match="keep_alive must be None or a number"):
            net.Dialer(keep_alive="15s").dial("tcp", ln.addr)
        with pytest.raises(TypeError, match="ctx must be a gort.context Context"):
            net.Dialer().dial_context(None, "tcp", ln.addr)
        ln.close()

    gort.run(main)


def test_listen_config_control_keep_alive_and_context():
    # Go: TestListenConfigControl
    def main():
        seen = []

        def control(network, address, sock):
            seen.append((network, address))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)

        lc = net.ListenConfig(control=control, keep_alive=33)
        ln = lc.listen(context.background(), "tcp", "127.0.0.1:0")
        assert seen == [("tcp", "127.0.0.1:0")]
        c = net.dial("tcp", ln.addr)
        s = ln.accept()
        if _TCP_KEEPIDLE is not None:
            assert s.fd.sock.getsockopt(socket.IPPROTO_TCP, _TCP_KEEPIDLE) == 33
        _close(c, s, ln)
        ln = net.ListenConfig(keep_alive=-1).listen(context.background(), "tcp", "127.0.0.1:0")
        c = net.dial("tcp", ln.addr)
        s = ln.accept()
        assert s.fd.sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        _close(c, s, ln)
        pc = net.ListenConfig(control=control).listen_packet(context.background(), "udp",
                                                             "127.0.0.1:0")
        assert seen[-1] == ("udp", "127.0.0.1:0")
        pc.close()
        ctx, cancel = context.with_cancel(context.background())
        cancel()
        with pytest.raises(net.CanceledOpError, match="listen tcp"):
            net.ListenConfig().listen(ctx, "tcp", "127.0.0.1:0")

    gort.run(main)


def test_listen_config_reuse_port_shares_a_port():
    if not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("no SO_REUSEPORT")

    def main():
        lc = net.ListenConfig(reuse_port=True)
        a = lc.listen(context.background(), "tcp", "127.0.0.1:0")
        b = lc.listen(context.background(), "tcp", f"127.0.0.1:{a.addr.port}")
        assert a.addr == b.addr
        # Without it, the second bind fails as usual.
        with pytest.raises(OSError):
            net.ListenConfig().listen(context.background(), "tcp", str(a.addr))
        # Each listener gets some of the connections; both are usable.
        conns = [net.dial("tcp", a.addr) for _ in range(16)]
        got = 0
        for ln in (a, b):
            ln.set_deadline(gtime.now() + 0.2)
            while True:
                try:
                    s = ln.accept()
                except net.DeadlineExceededError:
                    break
                got += 1
                s.close()
        assert got == 16
        _close(*conns, a, b)

    gort.run(main)


@pytest.mark.parametrize("procs", [1, 4])
def test_many_dials_in_progress_one_cancel(procs):
    # 16 goroutines connect to a full backlog at once; one cancel of their
    # shared parent aborts every connect, with nothing left behind.
    def main():
        gort.gomaxprocs(procs)
        ln, fillers = _full_listener()
        parent, cancel = context.with_cancel(context.background())
        results = gort.chan(16)
        d = net.Dialer(timeout=30)

        def dialer():
            ctx, c2 = context.with_cancel(parent)
            try:
                d.dial_context(ctx, "tcp", ln.addr).close()
                results.send("connected")
            except net.CanceledOpError:
                results.send("canceled")
            except BaseException as e:  # reported, not lost
                results.send(repr(e))
            finally:
                c2()

        for _ in range(16):
            gort.go(dialer)
        gtime.sleep(0.05)
        t0 = gtime.now()
        cancel()
        got = [results.recv() for _ in range(16)]
        assert got == ["canceled"] * 16, got
        assert gtime.now() - t0 < 5.0
        _close(*fillers, ln)

    gort.run(main)
