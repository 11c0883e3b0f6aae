"""Issue 16 (errors you can catch as a family; deadlines a user can write)
and issue 12 item 10 (errors that leaked internals).  Real sockets on
loopback, on both netpoll backends."""

from __future__ import annotations

import datetime
import pickle
import socket
import time

import pytest

import gort
import gort.net as net
import gort.time as gtime


@pytest.fixture(autouse=True)
def backend(each_netpoll_backend):
    return each_netpoll_backend


def _pair():
    ln = net.listen("tcp", "127.0.0.1:0")
    c = net.dial("tcp", ln.addr)
    s = ln.accept()
    return ln, c, s


def _close(*xs):
    for x in xs:
        x.close()


# -- every gort.net error is an OSError ------------------------------------

@pytest.mark.parametrize("network,address", [
    ("tcp", "127.0.0.1:notaport"),
    ("tcp", "127.0.0.1:99999"),
    ("tcp", "127.0.0.1"),            # missing port
    ("tcp", "[::1:80"),              # missing ']'
    ("tcpx", "127.0.0.1:1"),         # unknown network
])
def test_bad_address_is_an_oserror(network, address):
    def main():
        with pytest.raises(OSError) as ei:
            net.dial(network, address)
        e = ei.value
        assert isinstance(e, ValueError)  # as before, too
        assert isinstance(e, (net.AddrError, net.UnknownNetworkError))
        assert e.errno is None and not e.timeout() and not e.temporary()
        assert str(e).startswith("dial ")
        assert str(pickle.loads(pickle.dumps(e))) == str(e)

    gort.run(main)


def test_every_dial_failure_is_caught_by_except_oserror():
    def main():
        ln = net.listen("tcp", "127.0.0.1:0")
        port = ln.addr.port
        ln.close()
        for addr in ("127.0.0.1:notaport", f"127.0.0.1:{port}"):
            try:
                net.dial("tcp", addr, timeout=5)
            except OSError:
                pass
            else:
                raise AssertionError(f"dial {addr} did not fail")

    gort.run(main)


# -- issue 12 item 10 -------------------------------------------------------

def test_sockopt_values_out_of_range():
    def main():
        ln, c, s = _pair()
        with pytest.raises(ValueError, match="set_linger: 1099511627776 seconds is more"):
            c.set_linger(2**40)
        c.set_linger(5)
        c.set_linger(None)
        # Buffer sizes clamp to what a C int holds (the kernel caps them).
        c.set_read_buffer(2**40)
        c.set_write_buffer(2**40)
        assert c.fd.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) > 0
        # A keep-alive period the kernel cannot take is its EINVAL, an OpError.
        with pytest.raises(net.OpError, match="setsockopt: invalid argument"):
            c.set_keepalive(True, 1e12)
        c.set_keepalive(True, 30)
        with pytest.raises(ValueError, match="period must be a positive number"):
            c.set_keepalive(True, 0)
        _close(c, s, ln)

    gort.run(main)


def test_listen_backlog_out_of_range():
    def main():
        ln = net.listen("tcp", "127.0.0.1:0", backlog=2**40)  # capped, as Go caps it
        c = net.dial("tcp", ln.addr)
        s = ln.accept()
        _close(c, s, ln)
        with pytest.raises(ValueError, match="non-negative"):
            net.listen("tcp", "127.0.0.1:0", backlog=-1)
        with pytest.raises(TypeError, match="backlog must be an int"):
            net.listen("tcp", "127.0.0.1:0", backlog="8")

    gort.run(main)


def test_split_and_join_host_port_bad_types():
    with pytest.raises(TypeError, match="split_host_port: hostport must be a 'host:port' str"):
        net.split_host_port(None)
    with pytest.raises(TypeError, match="join_host_port: host must be a str"):
        net.join_host_port(None, None)
    with pytest.raises(TypeError, match="join_host_port: port must be an int or a str"):
        net.join_host_port("h", None)
    assert net.join_host_port("::1", 80) == "[::1]:80"
    assert net.split_host_port("[::1%lo]:80") == ("::1%lo", "80")


def test_since_and_until_bad_types():
    with pytest.raises(TypeError, match="gort.time.since: t must be a time"):
        gtime.since("x")
    with pytest.raises(TypeError, match="gort.time.until: t must be a time"):
        gtime.until(None)
    t = gtime.now()
    assert 0 <= gtime.since(t) < 1
    assert gtime.since(datetime.datetime.now() - datetime.timedelta(seconds=10)) == \
        pytest.approx(10, abs=0.5)


def test_dial_ipv6_zone_name():
    # Go accepts a zone name as well as an index: "[::1%lo]" like "[::1%1]".
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    lo = socket.if_indextoname(1) if hasattr(socket, "if_indextoname") else "lo"

    def main():
        try:
            ln = net.listen("tcp6", "[::1]:0")
        except OSError:
            pytest.skip("no IPv6 loopback")
        port = ln.addr.port
        for zone in (lo, "1"):
            c = net.dial("tcp", f"[::1%{zone}]:{port}", timeout=5)
            s = ln.accept()
            assert c.remote_addr.port == port
            _close(c, s)
        ln.close()
        # The unknown port is still the port's error, with the address as written.
        with pytest.raises(net.AddrError, match=r"address \[::1%lo\]:p: unknown port"):
            net.dial("tcp", "[::1%lo]:p")

    gort.run(main)


# -- deadlines: datetimes, wall-clock floats, huge values ---------------------

def test_set_read_deadline_huge_means_no_deadline():
    # docs/net.md: huge values mean no deadline (it was an OverflowError).
    def main():
        ln, c, s = _pair()
        c.set_read_deadline(2**2000)
        s.write(b"x")
        assert c.read(1) == b"x"
        c.set_read_deadline(-2**2000)  # hugely in the past: expired
        with pytest.raises(net.DeadlineExceededError):
            c.read(1)
        _close(c, s, ln)

    gort.run(main)


def test_deadline_wall_clock_float_is_refused():
    def main():
        ln, c, s = _pair()
        for f in (c.set_read_deadline, c.set_write_deadline, c.set_deadline, ln.set_deadline):
            with pytest.raises(ValueError, match=r"wall-clock time \(time.time\(\)\).*"
                               r"gort.time.now\(\) \+ seconds"):
                f(time.time() + 0.05)
        # The idiom, and far-future deadlines, are fine.
        c.set_read_deadline(gtime.now() + 0.05)
        with pytest.raises(net.DeadlineExceededError):
            c.read(1)
        c.set_read_deadline(gtime.now() + 300 * 365 * 86400.0)
        c.set_read_deadline(None)
        _close(c, s, ln)

    gort.run(main)


def test_deadline_takes_a_datetime():
    def main():
        ln, c, s = _pair()
        t0 = gtime.now()
        c.set_read_deadline(datetime.datetime.now() + datetime.timedelta(seconds=0.05))
        with pytest.raises(net.DeadlineExceededError):
            c.read(1)
        assert 0.03 <= gtime.now() - t0 < 2
        aware = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
        c.set_read_deadline(aware)
        s.write(b"y")
        assert c.read(1) == b"y"
        c.set_deadline(datetime.datetime(2000, 1, 1))  # the past: expired at once
        with pytest.raises(net.DeadlineExceededError):
            c.write(b"z")
        _close(c, s, ln)

    gort.run(main)
