"""gort.monkey's socket, DNS, time, select and selectors patches.

Each test patches in-process through the ``patched`` fixture and restores
the originals after it (gort.monkey.unpatch_all), so the other test files
of the same pytest process run unpatched.  patch_all() itself (which also
applies the thread and subprocess patches) runs in a fresh interpreter.
Real sockets on 127.0.0.1 and real threads only.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import gort
import gort.monkey as monkey

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def patched():
    """socket (with DNS), time, select; restored after the test."""
    import socket as stdsocket
    orig = stdsocket.socket
    monkey.patch_socket()
    monkey.patch_time()
    monkey.patch_select()
    try:
        yield
    finally:
        monkey.unpatch_all()
        assert stdsocket.socket is orig


def run(fn, *args):
    return gort.run(fn, *args)


def pair():
    import socket
    return socket.socketpair()


# --------------------------------------------------------------------------
# The framework


def test_registry_original_is_patched_unpatch():
    import select
    import socket
    import time as stdtime
    orig_sock, orig_sleep, orig_select = socket.socket, stdtime.sleep, select.select
    assert not monkey.is_patched("socket")
    try:
        monkey.patch_socket()
        monkey.patch_socket()  # twice: harmless
        monkey.patch_time()
        monkey.patch_select()
        assert socket.socket is not orig_sock and issubclass(socket.socket, orig_sock)
        assert monkey.is_patched("socket") and monkey.is_patched("dns")
        assert monkey.is_patched("socket.socket") and monkey.is_patched("time.sleep")
        assert not monkey.is_patched("ssl")
        assert monkey.original("socket", "socket") is orig_sock
        assert monkey.original(socket, "socket") is orig_sock
        assert monkey.original(stdtime, "sleep") is orig_sleep
        assert monkey.original(select, "select") is orig_select
        assert monkey.original("os", "getpid") is os.getpid  # never replaced: the current one
        with pytest.raises(AttributeError, match="no attribute 'nope'"):
            monkey.original("socket", "nope")
    finally:
        monkey.unpatch_all()
    assert socket.socket is orig_sock and stdtime.sleep is orig_sleep
    assert select.select is orig_select
    assert not monkey.is_patched("socket") and not monkey.is_patched("socket.socket")


def _script(code: str, timeout: float = 60) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-W", "always", "-c", textwrap.dedent(code)],
                       capture_output=True, text=True, timeout=timeout, env=env, cwd=str(ROOT))
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["stderr"] = p.stderr
    return out


def _patch_all_available() -> bool:
    for m in ("_thread", "_subprocess"):
        if not (ROOT / "gort" / "monkey" / f"{m}.py").exists():
            return False
    return True


def test_patch_all_twice_in_a_fresh_interpreter():
    kw = "" if _patch_all_available() else "subprocess=False, thread=False"
    out = _script(f"""
        import gort.monkey as monkey
        monkey.patch_all({kw})
        import socket, time, select, selectors, ssl
        first = (socket.socket, time.sleep, select.select, selectors.DefaultSelector,
                 ssl.SSLContext.sslsocket_class)
        monkey.patch_all({kw})
        second = (socket.socket, time.sleep, select.select, selectors.DefaultSelector,
                  ssl.SSLContext.sslsocket_class)
        import json
        print(json.dumps({{"same": first == second,
                          "orig_is_base": issubclass(socket.socket,
                                                     monkey.original("socket", "socket")),
                          "groups": [g for g in ("socket", "dns", "time", "select", "ssl")
                                     if monkey.is_patched(g)]}}))
    """)
    assert out["same"] and out["orig_is_base"]
    assert out["groups"] == ["socket", "dns", "time", "select", "ssl"]
    assert "MonkeyPatchWarning" not in out["stderr"]


def test_patch_all_warns_when_sockets_already_exist():
    out = _script("""
        import socket, json
        s = socket.socket()
        import gort.monkey as monkey
        monkey.patch_socket  # exists
        monkey.patch_all(subprocess=False, thread=False)
        s2 = socket.socket()
        print(json.dumps({"old": type(s).__name__, "new_patched": type(s2) is not type(s)}))
        s.close(); s2.close()
    """)
    assert "MonkeyPatchWarning" in out["stderr"]
    assert "1 socket object(s) already exist" in out["stderr"]
    assert out["new_patched"]


def test_patch_select_reaches_socketserver_imported_before_it():
    out = _script("""
        import socketserver, json, selectors
        before = socketserver._ServerSelector
        import gort.monkey as monkey
        monkey.patch_select()
        after = socketserver._ServerSelector
        print(json.dumps({"before": before.__module__, "after": after.__module__,
                          "orig": monkey.original(socketserver, "_ServerSelector") is before}))
    """)
    assert out["before"] == "selectors" and out["after"] == "gort.monkey._select"
    assert out["orig"]


def test_patch_thread_and_subprocess_are_reachable():
    # Until their modules exist they say so clearly instead of half-working.
    for fn, mod in ((monkey.patch_thread, "_thread"), (monkey.patch_subprocess, "_subprocess")):
        if (ROOT / "gort" / "monkey" / f"{mod}.py").exists():
            continue
        with pytest.raises(NotImplementedError, match=mod):
            fn()


# --------------------------------------------------------------------------
# socket: round trips, the stdlib helpers


def test_echo_create_server_create_connection(patched, each_netpoll_backend):
    import socket

    def main():
        ls = socket.create_server(("127.0.0.1", 0))
        assert isinstance(ls, socket.socket) and type(ls).__module__ == "gort.monkey._socket"
        port = ls.getsockname()[1]
        done = gort.chan(1)

        def serve():
            c, _ = ls.accept()
            assert type(c) is socket.socket
            with c:
                f = c.makefile("rwb")
                for line in f:
                    f.write(line.upper())
                    f.flush()
                f.close()
            done.send(True)

        gort.go(serve)
        with socket.create_connection(("localhost", port), timeout=5) as c:
            f = c.makefile("rwb")
            got = []
            for w in (b"one\n", b"two\n", b"three\n"):
                f.write(w)
                f.flush()
                got.append(f.readline())
            f.close()
            c.shutdown(socket.SHUT_WR)
        assert done.recv()
        ls.close()
        return got

    assert run(main) == [b"ONE\n", b"TWO\n", b"THREE\n"]


def test_socketpair_fromfd_dup_detach(patched, each_netpoll_backend):
    import socket

    def main():
        a, b = socket.socketpair()
        assert type(a) is socket.socket
        c = socket.fromfd(a.fileno(), a.family, a.type)
        d = b.dup()
        assert type(c) is socket.socket and type(d) is socket.socket
        c.sendall(b"via fromfd")
        assert d.recv(100) == b"via fromfd"
        fd = d.detach()
        assert d.fileno() == -1
        e = socket.socket(fileno=fd)
        a.sendall(b"after detach")
        assert e.recv(100) == b"after detach"
        for s in (a, b, c, e):
            s.close()
        d.close()  # detached: closing is harmless
        return True

    assert run(main)


def test_sendmsg_recvmsg_into_with_iterators_after_a_wait(patched):
    # The first try gets EAGAIN; the retry must still see the buffers.
    import socket

    def main():
        a, b = socket.socketpair()
        bufs = [bytearray(3), bytearray(5)]
        gort.go(lambda: (time.sleep(0.02), b.sendmsg(iter([b"abc", b"defgh"]))))
        n, _, _, _ = a.recvmsg_into(iter(bufs))
        a.close()
        b.close()
        return n, bytes(bufs[0] + bufs[1])

    assert run(main) == (8, b"abcdefgh")


def test_udp_sendto_recvfrom(patched, each_netpoll_backend):
    import socket

    def main():
        srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        srv.bind(("127.0.0.1", 0))
        cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

        def echo():
            data, addr = srv.recvfrom(100)
            srv.sendto(data[::-1], addr)

        gort.go(echo)
        cli.sendto(b"abc", ("localhost", srv.getsockname()[1]))  # a name: resolved on the pool
        buf = bytearray(10)
        n, _ = cli.recvfrom_into(buf)
        srv.close()
        cli.close()
        return bytes(buf[:n])

    assert run(main) == b"cba"


def test_connect_refused_and_connect_ex(patched):
    import socket

    def main():
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        port = ls.getsockname()[1]
        ls.close()  # nothing listens there now
        s = socket.socket()
        with pytest.raises(ConnectionRefusedError):
            s.connect(("127.0.0.1", port))
        s.close()
        s = socket.socket()
        err = s.connect_ex(("127.0.0.1", port))
        s.close()
        return err

    assert run(main) == errno.ECONNREFUSED


# --------------------------------------------------------------------------
# Timeouts: 0, None, negative, NaN, bad types; a timeout is per operation


def test_timeout_values(patched):
    import socket

    def main():
        a, b = socket.socketpair()
        assert a.gettimeout() is None and a.timeout is None and a.getblocking()
        a.settimeout(0)
        assert a.gettimeout() == 0.0 and not a.getblocking()
        with pytest.raises(BlockingIOError):
            a.recv(1)  # non-blocking: EAGAIN at once, as the stdlib
        a.settimeout(None)
        assert a.gettimeout() is None
        for bad in (-1, -0.5, float("-inf")):
            with pytest.raises(ValueError, match="Timeout value out of range"):
                a.settimeout(bad)
        with pytest.raises(ValueError, match="NaN"):
            a.settimeout(float("nan"))
        with pytest.raises(TypeError):
            a.settimeout("1")
        a.setblocking(False)
        assert a.gettimeout() == 0.0
        a.setblocking(True)
        assert a.gettimeout() is None
        a.settimeout(2)
        assert a.gettimeout() == 2.0 and isinstance(a.gettimeout(), float)
        # The fd itself stays non-blocking whatever the timeout (Go's way).
        assert not os.get_blocking(a.fileno())
        a.close()
        b.close()
        old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(1.5)
        try:
            s = socket.socket()
            assert s.gettimeout() == 1.5
            s.close()
        finally:
            socket.setdefaulttimeout(old)
        return True

    assert run(main)


def test_timeout_is_a_per_operation_deadline(patched, each_netpoll_backend):
    import socket

    def main():
        a, b = socket.socketpair()
        a.settimeout(0.15)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="timed out"):
            a.recv(1)
        took = time.monotonic() - t0
        assert 0.14 <= took < 1.0, took

        # Data every 0.1 s: each recv waits less than the timeout, so none
        # times out although all four take longer than it together.
        def feed():
            for _ in range(4):
                time.sleep(0.1)
                b.send(b"x")

        gort.go(feed)
        a.settimeout(0.5)
        got = b"".join(a.recv(1) for _ in range(4))
        assert got == b"xxxx"
        a.settimeout(0.05)
        with pytest.raises(TimeoutError):  # accept on a listener: same rule
            ls = socket.create_server(("127.0.0.1", 0))
            try:
                ls.settimeout(0.05)
                ls.accept()
            finally:
                ls.close()
        a.close()
        b.close()
        return True

    assert run(main)


def test_timeout_does_not_stall_other_goroutines(patched):
    import socket

    def main():
        a, b = socket.socketpair()
        a.settimeout(0.3)
        ticks = []

        def ticker():
            for _ in range(5):
                time.sleep(0.02)
                ticks.append(time.monotonic())

        gort.go(ticker)
        with pytest.raises(TimeoutError):
            a.recv(1)
        a.close()
        b.close()
        return len(ticks)

    assert run(main) == 5


# --------------------------------------------------------------------------
# close by another goroutine while one is blocked (Go's fdMutex + evict)


def test_close_wakes_blocked_recv(patched, each_netpoll_backend):
    import socket

    def main():
        a, b = socket.socketpair()
        res = gort.chan(1)

        def reader():
            try:
                a.recv(10)
                res.send("returned")
            except OSError as e:
                res.send(e)

        gort.go(reader)
        gort.gosched()
        time.sleep(0.05)  # bounded: the reader has certainly parked by now or not; both fine
        a.close()  # returns only once the reader has left and the fd is closed
        assert a.fileno() == -1
        e = res.recv()
        b.close()
        return e

    e = run(main)
    assert isinstance(e, OSError) and e.errno == errno.EBADF, e
    assert "closed" in str(e)


def test_close_wakes_blocked_accept_and_sendall(patched):
    import socket

    def main():
        ls = socket.create_server(("127.0.0.1", 0))
        a, b = socket.socketpair()
        res = gort.chan(2)

        def acceptor():
            try:
                ls.accept()
            except OSError as e:
                res.send(("accept", e.errno))

        def writer():
            try:
                a.sendall(b"x" * (32 << 20))  # far more than the socket buffers hold
            except OSError as e:
                res.send(("sendall", e.errno))

        gort.go(acceptor)
        gort.go(writer)
        time.sleep(0.1)
        ls.close()
        a.close()
        got = sorted([res.recv(), res.recv()])
        b.close()
        return got

    assert run(main) == [("accept", errno.EBADF), ("sendall", errno.EBADF)]


def test_operations_after_close_fail_as_stdlib(patched):
    import socket

    def main():
        a, b = socket.socketpair()
        a.close()
        a.close()  # twice: harmless
        errs = []
        for op in (lambda: a.recv(1), lambda: a.send(b"x")):
            try:
                op()
            except OSError as e:
                errs.append(e.errno)
        b.close()
        return errs

    assert run(main) == [errno.EBADF, errno.EBADF]


def test_unclosed_socket_leaves_the_poller(patched, each_netpoll_backend):
    # Dropped without close() after a parked read: the finalizer hands pd and
    # fd to gort.net's orphan list; nothing leaks (the fixture counts fds
    # and open pollDescs after the run).
    import gc
    import socket
    import warnings

    def main():
        a, b = socket.socketpair()
        gort.go(lambda: (time.sleep(0.02), b.send(b"x")))
        assert a.recv(1) == b"x"  # a's pollDesc is open now
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            del a
            gc.collect()
        b.close()
        c, d = socket.socketpair()  # the next pollOpen reaps the orphan
        gort.go(lambda: (time.sleep(0.02), d.send(b"y")))
        got = c.recv(1)
        c.close()
        d.close()
        return got, [str(x.message) for x in w if x.category is ResourceWarning]

    got, warned = run(main)
    assert got == b"y"
    assert any(m.startswith("unclosed <gort.monkey._socket.socket fd=") for m in warned), warned


# --------------------------------------------------------------------------
# sendall of 10 MB to a slow reader


def test_sendall_10mb_to_slow_reader(patched, each_netpoll_backend):
    import socket

    data = os.urandom(10 << 20)

    def main():
        a, b = socket.socketpair()
        a.settimeout(30)  # per sendall: all of it within 30 s
        h = hashlib.sha256()
        done = gort.chan(1)

        def slow_reader():
            n = 0
            while n < len(data):
                chunk = b.recv(256 << 10)
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
                time.sleep(0.002)  # slow: the writer must wait for room, many times
            done.send(n)

        gort.go(slow_reader)
        a.sendall(data)
        n = done.recv()
        a.close()
        b.close()
        return n

    assert run(main) == len(data)


def test_sendall_timeout_covers_the_whole_call(patched):
    import socket

    def main():
        a, b = socket.socketpair()
        a.settimeout(0.2)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            a.sendall(b"y" * (32 << 20))  # nobody reads
        took = time.monotonic() - t0
        a.close()
        b.close()
        return took

    took = run(main)
    assert 0.19 <= took < 1.5, took


# --------------------------------------------------------------------------
# EINTR: a signal handler runs while goroutines are parked; PEP 475 retries


def test_eintr_signals_during_parked_calls(patched):
    import select
    import socket
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread")
    hits = []
    old = signal.signal(signal.SIGALRM, lambda *a: hits.append(1))
    signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
    try:
        def main():
            a, b = socket.socketpair()

            def later():
                time.sleep(0.3)
                b.send(b"z")

            gort.go(later)
            assert select.select([a], [], [], 5)[0] == [a]
            assert a.recv(1) == b"z"
            gort.go(later)
            assert a.recv(1) == b"z"
            t0 = time.monotonic()
            time.sleep(0.2)
            assert time.monotonic() - t0 >= 0.19
            a.close()
            b.close()
            return True

        assert run(main)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, old)
    assert len(hits) >= 10  # the handler really ran, many times, meanwhile


# --------------------------------------------------------------------------
# Plain OS threads: patched objects block that thread, as the stdlib does


def test_plain_thread_keeps_blocking_semantics(patched, no_thread_leak):
    import select
    import socket
    out = {}

    def worker():
        a, b = socket.socketpair()
        a.settimeout(0.1)
        t0 = time.monotonic()
        try:
            a.recv(1)
        except TimeoutError:
            out["timeout"] = time.monotonic() - t0
        a.settimeout(None)
        threading.Timer(0.05, lambda: b.send(b"q")).start()
        out["blocking"] = a.recv(1)
        out["select"] = select.select([a], [], [], 0.05)
        t0 = time.monotonic()
        time.sleep(0.05)
        out["sleep"] = time.monotonic() - t0
        a.close()
        b.close()

    t = threading.Thread(target=worker)
    t.start()
    t.join(10)
    assert not t.is_alive()
    assert 0.09 <= out["timeout"] < 2
    assert out["blocking"] == b"q"
    assert out["select"] == ([], [], [])
    assert out["sleep"] >= 0.045


def test_plain_thread_and_goroutines_share_a_connection(patched, no_thread_leak):
    # A server goroutine, a client in a plain thread: the thread blocks,
    # the goroutines keep running.
    import socket

    def main():
        ls = socket.create_server(("127.0.0.1", 0))
        port = ls.getsockname()[1]
        result = {}

        def client():
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(b"ping")
                result["reply"] = c.recv(10)

        t = threading.Thread(target=client)
        t.start()
        c, _ = ls.accept()
        assert c.recv(4) == b"ping"
        time.sleep(0.05)
        c.sendall(b"pong")
        c.close()
        ls.close()
        deadline = time.monotonic() + 10
        while t.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        t.join(1)
        return result.get("reply")

    assert run(main) == b"pong"


# --------------------------------------------------------------------------
# time.sleep


def test_time_sleep_in_50_goroutines_runs_concurrently(patched):
    def main():
        done = gort.chan(50)
        t0 = time.monotonic()
        for _ in range(50):
            gort.go(lambda: (time.sleep(0.3), done.send(1)))
        for _ in range(50):
            done.recv()
        return time.monotonic() - t0

    took = run(main)
    assert took < 0.9, took  # 50 x 0.3 s = 15 s if each blocked the thread


@pytest.mark.one_m  # "other" must share main's M (no GIL: runqputspread deals it elsewhere)
def test_time_sleep_arguments(patched):
    def main():
        with pytest.raises(ValueError, match="non-negative"):
            time.sleep(-1)
        with pytest.raises(ValueError, match="NaN"):
            time.sleep(float("nan"))
        with pytest.raises(TypeError):
            time.sleep("1")
        order = []
        gort.go(lambda: order.append("other"))
        time.sleep(0)  # yields, as the stdlib's releases the GIL
        order.append("main")
        return order

    assert run(main) == ["other", "main"]


# --------------------------------------------------------------------------
# select / poll / epoll / selectors


def test_select_poll_epoll_selectors_wake_and_time_out(patched, each_netpoll_backend):
    import select
    import selectors
    import socket

    def main():
        a, b = socket.socketpair()

        def later():
            time.sleep(0.05)
            b.send(b"!")

        out = []
        # select.select
        gort.go(later)
        out.append(select.select([a], [], [], 5) == ([a], [], []))
        a.recv(1)
        out.append(select.select([a], [], [], 0) == ([], [], []))
        out.append(select.select([a], [b], [], None)[1] == [b])  # writable at once
        # select.poll: milliseconds; negative means forever
        p = select.poll()
        p.register(a, select.POLLIN)
        gort.go(later)
        out.append(p.poll(-1) == [(a.fileno(), select.POLLIN)])
        a.recv(1)
        t0 = time.monotonic()
        out.append(p.poll(50) == [] and time.monotonic() - t0 >= 0.045)
        # select.epoll
        ep = select.epoll()
        ep.register(a.fileno(), select.EPOLLIN)
        gort.go(later)
        out.append(ep.poll(5) == [(a.fileno(), select.EPOLLIN)])
        a.recv(1)
        out.append(ep.poll(0.05) == [])
        ep.close()
        # selectors.DefaultSelector
        with selectors.DefaultSelector() as sel:
            sel.register(a, selectors.EVENT_READ, "a")
            gort.go(later)
            ev = sel.select(5)
            out.append(len(ev) == 1 and ev[0][0].data == "a")
            a.recv(1)
            out.append(sel.select(0.05) == [])
        for bad in (-1, "x"):
            try:
                select.select([a], [], [], bad)
                out.append(False)
            except (ValueError, TypeError):
                out.append(True)
        a.close()
        b.close()
        return out

    assert run(main) == [True] * 11


def test_selects_in_20_goroutines_wait_concurrently(patched):
    import select
    import selectors
    import socket

    def main():
        a, b = socket.socketpair()
        done = gort.chan(20)

        def one(i):
            if i % 2:
                select.select([a], [], [], 0.3)
            else:
                with selectors.DefaultSelector() as s:
                    s.register(a, selectors.EVENT_READ)
                    s.select(0.3)
            done.send(i)

        t0 = time.monotonic()
        for i in range(20):
            gort.go(one, i)
        for _ in range(20):
            done.recv()
        took = time.monotonic() - t0
        a.close()
        b.close()
        return took

    took = run(main)
    assert 0.29 <= took < 0.9, took  # 6 s if each blocked the thread


# --------------------------------------------------------------------------
# DNS on the blocking pool


def test_dns_functions_give_the_stdlib_answers(patched):
    import socket
    orig_gai = monkey.original(socket, "getaddrinfo")

    def main():
        return (socket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM),
                socket.gethostbyname("localhost"),
                socket.getaddrinfo("127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM))

    a, b, c = run(main)
    assert a == orig_gai("localhost", 80, socket.AF_INET, socket.SOCK_STREAM)
    assert b == "127.0.0.1"
    assert c[0][4] == ("127.0.0.1", 80)
    with pytest.raises(socket.gaierror):
        run(lambda: socket.getaddrinfo("no-such-host.invalid", 80))


# --------------------------------------------------------------------------
# A whole stdlib stack: http.server + urllib.request in one process


def test_urlopen_against_http_server_in_the_same_process(patched):
    import http.server
    import socketserver
    import urllib.request

    class GoroutineMixIn(socketserver.ThreadingMixIn):
        # socketserver's ThreadingMixIn, one goroutine per request.
        def process_request(self, request, client_address):
            gort.go(self.process_request_thread, request, client_address)

    class Server(GoroutineMixIn, http.server.HTTPServer):
        pass

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(0.2)  # a slow backend
            body = self.path.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    def main():
        srv = Server(("127.0.0.1", 0), Handler)
        port = srv.server_address[1]
        stopped = gort.chan(1)
        stop = []
        srv.timeout = 0.05

        def serve():
            # Not serve_forever: its shutdown() waits on a threading.Event,
            # which only the thread patch makes goroutine-aware.
            while not stop:
                srv.handle_request()
            stopped.send(1)

        gort.go(serve)
        res = gort.chan(30)

        def get(i):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{i}", timeout=10) as r:
                res.send(r.read())

        t0 = time.monotonic()
        for i in range(30):
            gort.go(get, i)
        bodies = sorted(res.recv() for _ in range(30))
        took = time.monotonic() - t0
        stop.append(1)
        stopped.recv()
        srv.server_close()
        return bodies, took

    bodies, took = run(main)
    assert bodies == sorted(f"/{i}".encode() for i in range(30))
    assert took < 3.0, took  # 30 x 0.2 s = 6 s served one at a time


def test_lazy_runtime_without_gort_run(patched):
    # A plain script: patch, start a goroutine with gort.go (the calling
    # greenlet becomes the lazy runtime's main goroutine), then ordinary
    # blocking calls in the script park it and let the goroutine run.
    import socket
    ls = socket.create_server(("127.0.0.1", 0))
    assert not monkey.in_goroutine()

    def serve():
        c, _ = ls.accept()
        with c:
            c.sendall(c.recv(10).upper())

    gort.go(serve)
    assert monkey.in_goroutine()
    t0 = time.monotonic()
    time.sleep(0.05)
    with socket.create_connection(ls.getsockname(), timeout=5) as c:
        c.sendall(b"lazy")
        assert c.recv(10) == b"LAZY"
    ls.close()
    assert time.monotonic() - t0 < 5


def test_a_socket_outlives_its_run(patched, each_netpoll_backend):
    # A connection pool keeps sockets across gort.run calls (and between
    # them, in plain code): the pollDesc outlives the run, as a Conn's does.
    import socket
    a, b = socket.socketpair()

    def exchange(msg):
        gort.go(lambda: (time.sleep(0.02), b.send(msg)))
        return a.recv(10)

    assert run(exchange, b"one") == b"one"
    b.send(b"between")  # no runtime now: plain blocking calls
    assert a.recv(10) == b"between"
    assert run(exchange, b"two") == b"two"
    a.close()
    b.close()


def test_gort_net_keeps_working_under_the_patch(patched, each_netpoll_backend):
    # gort.net's own sockets are its poll layer's: the patch leaves them the
    # original socket.socket (a patched one would open a second pollDesc for
    # the fd and evict gort.net's).
    import socket

    import gort.net

    def main():
        ln = gort.net.listen("tcp", "127.0.0.1:0")

        def serve():
            c = ln.accept()
            with c:
                c.set_read_deadline(gort.time.now() + 5)
                c.write(c.read(100).upper())

        gort.go(serve)
        c = gort.net.dial("tcp", ln.addr, timeout=5)
        time.sleep(0.02)  # the server parks in read first
        c.write(b"net")
        got = c.read(100)
        c.close()
        ln.close()
        # A patched socket made non-blocking (as asyncio and gort.net use
        # them) never opens a pollDesc: EAGAIN comes straight back.
        a, b = socket.socketpair()
        a.setblocking(False)
        with pytest.raises(BlockingIOError):
            a.recv(1)
        assert a._pd is None
        a.close()
        b.close()
        return got

    assert run(main) == b"NET"
