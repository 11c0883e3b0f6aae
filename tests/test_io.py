"""gort.io.copy and copy_n (Go: io.Copy, io.CopyN) on real loopback
connections and real files: the splice path (socket to socket), the
sendfile path (file to socket), the read/write loop, exact
counts, deadlines and close during a copy.  Every test runs on both netpoll
backends with fd and pollDesc leak checks (the splice pipe must be closed),
and checks that no goroutine is left behind.
"""

from __future__ import annotations

import hashlib
import io
import os

import pytest

import gort
import gort.bufio as bufio
import gort.io as gio
import gort.net as net
import gort.time as gtime
from gort.net import splice as nsplice
from gort.sync import WaitGroup


@pytest.fixture(autouse=True)
def backend(each_netpoll_backend):
    return each_netpoll_backend


@pytest.fixture
def syscalls(monkeypatch):
    """Count the real os.splice / os.sendfile calls (they still run)."""
    n = {"splice": 0, "sendfile": 0}
    real_splice, real_sendfile = os.splice, os.sendfile

    def splice(*a, **k):
        n["splice"] += 1
        return real_splice(*a, **k)

    def sendfile(*a, **k):
        n["sendfile"] += 1
        return real_sendfile(*a, **k)
    monkeypatch.setattr(os, "splice", splice)
    monkeypatch.setattr(os, "sendfile", sendfile)
    return n


def pair():
    ln = net.listen("tcp", "127.0.0.1:0")
    c = net.dial("tcp", ln.addr)
    s = ln.accept()
    ln.close()
    return c, s


def no_goroutines_left():
    assert gort.num_goroutine() == 1, gort.num_goroutine()


def feed(wg, conn, data, close=True, errs=None):
    """Write data to conn in a goroutine, then shut its write side; an
    OSError goes to errs if given."""
    def run():
        mv = memoryview(data)
        try:
            for i in range(0, len(data), 100_000):
                conn.write(mv[i:i + 100_000])
        except OSError as e:
            if errs is None:
                raise
            errs.append(e)
            return
        if close:
            conn.close_write()
    wg.go(run)


def drain(wg, conn, out):
    """Read conn to EOF in a goroutine into the bytearray out."""
    def run():
        while True:
            d = conn.read(1 << 20)
            if not d:
                return
            out.extend(d)
    wg.go(run)


def test_copy_between_connections_splices(syscalls):
    data = os.urandom(8 << 20)

    def main():
        a, a2 = pair()  # source: feed a, copy from a2
        b, b2 = pair()  # destination: copy to b, drain b2
        wg = WaitGroup()
        got = bytearray()
        feed(wg, a, data)
        drain(wg, b2, got)
        n = gio.copy(b, a2)
        b.close_write()
        wg.wait()
        assert n == len(data) and hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        for x in (a, a2, b, b2):
            x.close()
        no_goroutines_left()
    gort.run(main)
    assert syscalls["splice"] >= 2  # the kernel path, not the loop


def test_copy_between_unix_connections_splices(tmp_path, syscalls):
    data = os.urandom(3 << 20)

    def main():
        ln = net.listen("unix", str(tmp_path / "s"))
        a, a2 = net.dial("unix", ln.addr), ln.accept()
        b, b2 = net.dial("unix", ln.addr), ln.accept()
        ln.close()
        wg = WaitGroup()
        got = bytearray()
        feed(wg, a, data)
        drain(wg, b2, got)
        assert gio.copy(b, a2) == len(data)
        b.close_write()
        wg.wait()
        assert got == data
        for x in (a, a2, b, b2):
            x.close()
        no_goroutines_left()
    gort.run(main)
    assert syscalls["splice"] >= 2


def test_many_copies_at_once(syscalls):
    """Twelve proxies copying both ways at once (each a pair of copies),
    on however many Ms GORTMAXPROCS gives."""
    def main():
        wg = WaitGroup()
        results = []
        conns = []
        for i in range(12):
            a, a2 = pair()  # client a -> proxy a2
            b, b2 = pair()  # proxy b -> server b2
            conns += [a, a2, b, b2]
            up = os.urandom(100_000 + i)
            down = os.urandom(50_000 + i)

            def proxy(x, y):
                gio.copy(y, x)
                y.close_write()

            def server(b2=b2, up=up, down=down):
                got = bytearray()
                while len(got) < len(up):
                    got += b2.read()
                b2.write(down)
                b2.close_write()
                results.append(got == up and b2.read() == b"")

            def client(a=a, up=up, down=down):
                a.write(up)
                a.close_write()
                got = bytearray()
                while True:
                    d = a.read()
                    if not d:
                        break
                    got += d
                results.append(got == down)
            wg.go(proxy, a2, b)
            wg.go(proxy, b, a2)
            wg.go(server)
            wg.go(client)
        wg.wait()
        assert results == [True] * 24
        for x in conns:
            x.close()
        no_goroutines_left()
    gort.run(main)
    assert syscalls["splice"] >= 48


def test_copy_n_exact_between_connections(syscalls):
    data = os.urandom(3 << 20)

    def main():
        a, a2 = pair()
        b, b2 = pair()
        wg = WaitGroup()
        got = bytearray()
        feed(wg, a, data)
        drain(wg, b2, got)
        for n in (1, 1000, (1 << 20) + 7, 0):  # copy_n never takes more than n
            assert gio.copy_n(b, a2, n) == n
        rest = a2.read(10)  # the bytes after them are still in the source
        assert gio.copy_n(b, a2, len(data)) == len(data) - 1000 - (1 << 20) - 8 - 10
        b.close_write()
        wg.wait()
        k = 1 + 1000 + (1 << 20) + 7
        assert got[:k] == data[:k] and rest == data[k:k + 10] and got[k:] == data[k + 10:]
        for x in (a, a2, b, b2):
            x.close()
        no_goroutines_left()
    gort.run(main)
    assert syscalls["splice"] > 0


def test_copy_file_to_connection_sendfile(tmp_path, syscalls):
    data = os.urandom((5 << 20) + 123)
    p = tmp_path / "blob"
    p.write_bytes(data)

    def main():
        c, s = pair()
        wg = WaitGroup()
        got = bytearray()
        drain(wg, s, got)
        with open(p, "rb") as f:
            assert f.read(10) == data[:10]  # the buffered file read ahead of its fd
            assert gio.copy_n(c, f, 1 << 20) == 1 << 20
            assert f.tell() == 10 + (1 << 20)
            assert gio.copy(c, f) == len(data) - 10 - (1 << 20)
            assert f.read() == b""
        c.close_write()
        wg.wait()
        assert got == data[10:]
        c.close()
        s.close()
        no_goroutines_left()
    gort.run(main)
    assert syscalls["sendfile"] >= 2 and syscalls["splice"] == 0


def test_copy_connection_to_file(tmp_path, syscalls):
    data = os.urandom(2 << 20)
    p = tmp_path / "out"

    def main():
        c, s = pair()
        wg = WaitGroup()
        feed(wg, c, data)
        with open(p, "wb") as f:
            f.write(b"head")  # still in the file object's buffer: goes first
            assert gio.copy(f, s) == len(data)
            assert f.tell() == 4 + len(data)
            f.write(b"tail")
        wg.wait()
        c.close()
        s.close()
        no_goroutines_left()
    gort.run(main)
    assert p.read_bytes() == b"head" + data + b"tail"
    assert syscalls["splice"] == 0  # the loop: splice into a file measured slower


def test_copy_loop_when_not_both_fds(syscalls):
    data = os.urandom(1 << 20)

    def main():
        c, s = pair()
        wg = WaitGroup()
        got = bytearray()
        drain(wg, s, got)
        assert gio.copy(c, io.BytesIO(data)) == len(data)
        assert gio.copy_n(c, io.BytesIO(data), 12345) == 12345
        assert gio.copy_n(c, io.BytesIO(b"short"), 100) == 5  # src ended first
        c.close_write()
        wg.wait()
        assert got == data + data[:12345] + b"short"
        out = io.BytesIO()
        feed(wg, c, b"", close=False)
        wg.wait()
        c2, s2 = pair()
        feed(wg, c2, data)
        assert gio.copy(out, s2) == len(data) and out.getvalue() == data
        wg.wait()
        for x in (c, s, c2, s2):
            x.close()
        no_goroutines_left()
    gort.run(main)
    assert syscalls["splice"] == 0 and syscalls["sendfile"] == 0


def test_copy_through_bufio_reader_and_writer(syscalls):
    data = b"HEADER\n" + os.urandom(1 << 20)

    def main():
        a, a2 = pair()
        b, b2 = pair()
        wg = WaitGroup()
        got = bytearray()
        feed(wg, a, data)
        drain(wg, b2, got)
        r = bufio.Reader(a2)
        assert r.read_line() == b"HEADER"
        w = bufio.Writer(b)
        w.write(b"pre:")
        # The Reader's buffered bytes go first, then the rest is spliced;
        # the Writer is flushed first.
        assert gio.copy(w, r) == len(data) - 7
        assert w.buffered() == 0
        b.close_write()
        wg.wait()
        assert got == b"pre:" + data[7:]
        for x in (a, a2, b, b2):
            x.close()
        no_goroutines_left()
    gort.run(main)
    assert syscalls["splice"] > 0


def test_copy_read_deadline_on_source():
    def main():
        a, a2 = pair()
        b, b2 = pair()
        a.write(b"x" * 1000)
        d = gtime.now() + 0.1
        a2.set_read_deadline(d)
        with pytest.raises(net.DeadlineExceededError) as ei:
            gio.copy(b, a2)
        assert gtime.now() >= d  # never before the deadline
        assert ei.value.op == "read" and ei.value.n == 1000
        assert b2.read(2000) == b"x" * 1000
        for x in (a, a2, b, b2):
            x.close()
        no_goroutines_left()
    gort.run(main)


def test_copy_write_deadline_on_destination(tmp_path):
    p = tmp_path / "blob"
    p.write_bytes(os.urandom(32 << 20))

    def main():
        a, a2 = pair()
        b, b2 = pair()  # b2 never reads
        b.set_write_buffer(64 * 1024)
        wg = WaitGroup()
        errs = []
        feed(wg, a, b"y" * (32 << 20), close=False, errs=errs)
        b.set_write_deadline(gtime.now() + 0.2)
        with pytest.raises(net.DeadlineExceededError) as ei:
            gio.copy(b, a2)  # splice
        assert ei.value.op == "write" and 0 < ei.value.n < 32 << 20
        a2.close()  # a feeder still blocked in write is ended by the reset
        wg.wait()
        assert len(errs) <= 1
        with open(p, "rb") as f:
            with pytest.raises(net.DeadlineExceededError) as ei:
                gio.copy(b, f)  # sendfile: the deadline is still expired
            assert ei.value.op == "write"
        for x in (a, b, b2):
            x.close()
        no_goroutines_left()
    gort.run(main)


def test_close_during_copy_wakes_it():
    def main():
        a, a2 = pair()
        b, b2 = pair()
        wg = WaitGroup()
        errs = []

        def copier():
            try:
                gio.copy(b, a2)
            except net.NetClosedError as e:
                errs.append(e)
        wg.go(copier)
        a.write(b"abc")
        assert b2.read(3) == b"abc"
        a2.close()  # the copier is parked in spliceDrain's pollWait
        wg.wait()
        assert len(errs) == 1 and errs[0].n == 3
        for x in (a, b, b2):
            x.close()
        no_goroutines_left()
    gort.run(main)


def test_subclass_with_its_own_bytes_is_not_spliced(syscalls):
    """A Conn subclass that transforms its bytes (as tls.Conn does) must go
    through its read_into/write, never splice on its fd."""
    class Rot13Conn(net.TCPConn):
        __slots__ = ()

        def write(self, data):
            return super().write(bytes(x ^ 1 for x in bytes(data)))

    def main():
        a, a2 = pair()
        b, b2 = pair()
        x = Rot13Conn(b.fd, b.net, b.local_addr, b.remote_addr)
        assert not nsplice.stream_conn(x) and nsplice.stream_conn(b)
        a.write(b"\x00\x01")
        a.close_write()
        assert gio.copy(x, a2) == 2
        assert b2.read(2) == b"\x01\x00"
        for y in (a, a2, b, b2):
            y.close()
        no_goroutines_left()
    gort.run(main)
    assert syscalls["splice"] == 0


def test_bad_input():
    with pytest.raises(ValueError, match="negative"):
        gio.copy_n(io.BytesIO(), io.BytesIO(), -1)
    with pytest.raises(TypeError, match="int"):
        gio.copy_n(io.BytesIO(), io.BytesIO(), 1.5)
    with pytest.raises(TypeError, match="binary"):
        gio.copy(io.BytesIO(), io.StringIO("text"))
    with pytest.raises(TypeError, match="write"):
        gio.copy(object(), io.BytesIO(b"x"))
    with pytest.raises(TypeError, match="read"):
        gio.copy(io.BytesIO(), object())
    assert gio.copy_n(io.BytesIO(), io.BytesIO(b"abc"), 0) == 0
