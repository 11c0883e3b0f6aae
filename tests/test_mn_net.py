"""gort.net and gort.netpoll under M:N (GOMAXPROCS > 1).

Every test runs with 2 and 4 Ps (each P its own M, an OS thread) and on
both netpoll backends (epoll, edge-triggered; poll, level-triggered with
interest armed per wait), with the fd and pollDesc leak checks of
tests/conftest.py and a thread leak check.  main calls gort.gomaxprocs(n)
first.  The GIL's switch interval is cut to 20 us, so that the Ms
interleave between bytecodes far more often than by default: a
read-modify-write of shared state (an rg/wg word, the fdMutex state,
netpollWaiters, the poll backend's interest set) that is not under its lock
loses updates or trips one of the runtime's own consistency checks here.

Where a test needs two goroutines on different Ms, main holds its own M
(no gort call) until a goroutine it started has been stolen and run by
another M, then plays the other side itself: a started goroutine is pinned
to its M, so the two then stay on different threads.

Test bookkeeping that several Ms touch is kept under a threading.Lock of
the test (never held across a gort call).
"""

from __future__ import annotations

import socket
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic

import pytest
from mnutil import Book, fast_switching, hold_until, start, wait_until

import gort
import gort.net as net
import gort.time as gtime
from gort.net.conn import Conn
from gort.net.fd_mutex import mutexRMask, mutexRWait
from gort.net.fd_poll import FD
from gort.netpoll import netpoll as npmod
from gort.sched import proc
from gort.sched.runtime2 import G, _Gwaiting
from gort.sync import WaitGroup

PROCS = [2, 4]
pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_thread_leak")]


@pytest.fixture(autouse=True)
def backend(each_netpoll_backend):
    return each_netpoll_backend


@pytest.fixture(autouse=True)
def _fast_switching():
    with fast_switching(2e-5):
        yield


def stolen_go(book: Book, tag: str, fn, *args) -> int:
    """Start fn(*args) in a goroutine that runs on another M than the
    caller's; returns that M's thread id.  fn must call book.seen(tag)
    first.  main holds its M until another M has stolen and started it."""
    me = threading.get_ident()
    gort.go(fn, *args)
    hold_until(lambda: book.threads_of(tag) - {me}, f"goroutine {tag!r} stolen by another M")
    (tid,) = book.threads_of(tag)
    return tid


@contextmanager
def reported(book: Book, wg: WaitGroup | None, who: str = "") -> Iterator[None]:
    """The body of a goroutine: an exception it raises becomes one of book's
    errors (who, the exception, its traceback) instead of ending the run,
    and wg.done() is called at the end, whatever happens."""
    try:
        yield
    except BaseException as e:  # noqa: BLE001 - reported by the test
        book.error((f"{who}: {e!r}\n" if who else f"{e!r}\n") + traceback.format_exc())
    finally:
        if wg is not None:
            wg.done()


def socketpair_conns() -> tuple[Conn, Conn]:
    """A Unix socketpair as two gort.net Conns (gort.net has no socketpair())."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return Conn(FD(a), "unix", None, None), Conn(FD(b), "unix", None, None)


def read_exactly(c: Conn, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        d = c.read(n - len(buf))
        if not d:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += d
    return bytes(buf)


def parked_in_io(gp) -> bool:
    return isinstance(gp, G) and gp.status == _Gwaiting and gp.waitreason == "IO wait"


# --------------------------------------------------------------------------
# Echo: 100 clients, 50 round trips each, deadlines on every operation


@pytest.mark.parametrize("procs", PROCS)
def test_echo_100_clients_with_deadlines(procs):
    NC, NR = 100, 50
    book = Book()

    def handler(c, wg):
        with reported(book, wg, "server"):
            tid = book.seen("server")
            with c:
                while True:
                    c.set_read_deadline(gtime.now() + 20)
                    d = c.read(4096)
                    if not d:
                        break
                    c.set_write_deadline(gtime.now() + 20)
                    c.write(d)
            if threading.get_ident() != tid:
                book.error("a server goroutine moved to another M")
            book.add("served")

    def server(ln, wg):
        try:
            while True:
                try:
                    c = ln.accept()
                except net.NetClosedError:
                    return
                wg.add(1)
                gort.go(handler, c, wg)
        finally:
            wg.done()

    def client(addr, i, wg):
        with reported(book, wg, f"client {i}"):
            tid = book.seen("client")
            with net.dial("tcp", addr, timeout=20) as c:
                for r in range(NR):
                    msg = (b"%d.%d;" % (i, r)) * (1 + r % 9)
                    c.set_deadline(gtime.now() + 20)
                    c.write(msg)
                    got = read_exactly(c, len(msg))
                    if got != msg:
                        book.error(f"client {i} round {r}: got {got!r}, sent {msg!r}")
                        return
            if threading.get_ident() != tid:
                book.error("a client goroutine moved to another M")
            book.add("ok")

    def main():
        start(procs)
        ln = net.listen("tcp", "127.0.0.1:0")
        swg = WaitGroup()
        swg.add(1)
        gort.go(server, ln, swg)
        cwg = WaitGroup()
        cwg.add(NC)
        for i in range(NC):
            gort.go(client, ln.addr, i, cwg)
        cwg.wait()
        ln.close()
        swg.wait()
        # Every goroutine that waited for I/O has run again since: the count
        # is back to zero exactly (no update lost between Ms).
        assert proc.sched.netpollWaiters == 0

    gort.run(main)
    assert not book.errors, book.errors[:5]
    assert book.get("ok") == NC
    assert book.get("served") == NC
    assert len(book.threads_of("client", "server")) > 1, "everything ran on one M"


@pytest.mark.parametrize("procs", PROCS)
@pytest.mark.one_m  # starts with one M on purpose
def test_going_mn_while_goroutines_wait_for_io(procs):
    """Readers park in IO wait with one M; then the run goes M:N and their
    data arrives: they wake (readied by whichever M polls), read it, and
    netpollWaiters comes back to exactly zero -- a G parked before the
    switch finishes its wait the M:N way."""
    NR = 4
    book = Book()

    def reader(c, wg):
        with reported(book, wg):
            if c.read(10) != b"x":
                book.error("bad data")

    def main():
        assert gort.gomaxprocs() == 1
        pairs = [socketpair_conns() for _ in range(NR)]
        try:
            wg = WaitGroup()
            wg.add(NR)
            for a, _ in pairs:
                gort.go(reader, a, wg)
            wait_until(lambda: all(parked_in_io(a.fd.pd.rg) for a, _ in pairs),
                       "readers parked")
            assert proc.sched.netpollWaiters == NR
            start(procs)
            for _, b in pairs:
                b.write(b"x")
            wg.wait()
            assert proc.sched.netpollWaiters == 0
        finally:
            for a, b in pairs:
                a.close()
                b.close()

    gort.run(main)
    assert not book.errors, book.errors


# --------------------------------------------------------------------------
# Deadlines racing data, deadline changes and close


@pytest.mark.parametrize("procs", PROCS)
def test_read_deadlines_fire_while_data_races_in(procs):
    """Readers with 5 ms read deadlines, writers on other Ms sending bursts
    with 30 ms pauses: deadlines fire (never early) between the bursts, and
    not one byte is lost or reordered."""
    NPAIRS, CHUNKS, SIZE = 6, 60, 300
    book = Book()

    def writer(c, k, wg):
        with reported(book, wg, f"writer {k}"):
            book.seen("writer")
            for j in range(CHUNKS):
                c.set_write_deadline(gtime.now() + 20)
                c.write(bytes([(k * 31 + j) % 256]) * SIZE)
                if j % 15 == 14:
                    gtime.sleep(0.03)
            c.close_write()

    def reader(c, k, wg):
        with reported(book, wg, f"reader {k}"):
            book.seen("reader")
            got = bytearray()
            while True:
                dl = gtime.now() + 0.005
                c.set_read_deadline(dl)
                try:
                    d = c.read(65536)
                except net.DeadlineExceededError:
                    if gtime.now() < dl:
                        book.error(f"reader {k}: deadline fired {dl - gtime.now():.6f} s early")
                    book.add("timeouts")
                    continue
                if not d:
                    break
                got += d
            want = b"".join(bytes([(k * 31 + j) % 256]) * SIZE for j in range(CHUNKS))
            if got != want:
                book.error(f"reader {k}: {len(got)} bytes, want {len(want)}, or out of order")

    def main():
        start(procs)
        wg = WaitGroup()
        wg.add(2 * NPAIRS)
        conns = []
        for k in range(NPAIRS):
            a, b = socketpair_conns()
            conns += (a, b)
            gort.go(reader, a, k, wg)
            gort.go(writer, b, k, wg)
        wg.wait()
        for c in conns:
            c.close()

    gort.run(main)
    assert not book.errors, book.errors[:5]
    # Each reader waits out at least three 30 ms pauses with 5 ms deadlines.
    assert book.get("timeouts") >= NPAIRS


@pytest.mark.parametrize("procs", PROCS)
def test_deadline_set_from_another_m_wakes_a_blocked_reader(procs):
    """A reader blocks (no deadline); a goroutine on another M moves its read
    deadline to 20 ms from now: the reader wakes with DeadlineExceededError,
    not before that time."""
    ROUNDS = 10
    book = Book()
    times: list[tuple[float, float]] = []

    def reader(c):
        book.seen("reader")
        for _ in range(ROUNDS):
            book.add("ready")
            try:
                c.read(10)
            except net.DeadlineExceededError:
                with book.mu:
                    times.append((gtime.now(), book.n["dl"]))
            else:
                book.error("read returned without a deadline")
            c.set_read_deadline(None)
        book.add("done")

    def main():
        start(procs)
        a, b = socketpair_conns()
        tid = stolen_go(book, "reader", reader, a)
        assert tid != threading.get_ident()
        for k in range(1, ROUNDS + 1):
            wait_until(lambda k=k: book.get("ready") >= k and parked_in_io(a.fd.pd.rg),
                       "reader parked in IO wait")
            dl = gtime.now() + 0.02
            with book.mu:
                book.n["dl"] = dl
            a.set_read_deadline(dl)
        wait_until(lambda: book.get("done"), "reader finished")
        a.close()
        b.close()

    gort.run(main)
    assert not book.errors, book.errors
    assert len(times) == ROUNDS
    for woke, dl in times:
        assert woke >= dl, f"woke {dl - woke:.6f} s before the deadline"


@pytest.mark.parametrize("procs", PROCS)
def test_close_races_a_firing_deadline(procs):
    """A reader on one M whose 2 ms deadline fires while another M closes
    the conn: the reader gets one of the two errors, the fd is closed once,
    and neither the timer nor the close trips a consistency check."""
    ROUNDS = 40
    book = Book()

    def reader(c, wg):
        with reported(book, wg):
            try:
                book.seen("reader")
                c.set_read_deadline(gtime.now() + 0.002)
                c.read(10)
                book.error("read returned data")
            except net.DeadlineExceededError:
                book.add("timeout")
            except net.NetClosedError:
                book.add("closed")

    def closer(c, wg):
        with reported(book, wg):
            book.seen("closer")
            gtime.sleep(0.002)
            c.close()

    def main():
        start(procs)
        for _ in range(ROUNDS):
            a, b = socketpair_conns()
            wg = WaitGroup()
            wg.add(2)
            gort.go(reader, a, wg)
            gort.go(closer, a, wg)
            wg.wait()
            assert a.fileno() == -1
            b.close()

    gort.run(main)
    assert not book.errors, book.errors[:5]
    assert book.get("timeout") + book.get("closed") == ROUNDS


@pytest.mark.parametrize("procs", PROCS)
def test_close_wakes_every_blocked_reader(procs, monkeypatch):
    """Six goroutines read one conn (one parked in IO wait, five queued on
    the fdMutex); a goroutine on another M closes it: every reader gets
    NetClosedError, close returns after the fd is closed, and the FD is
    destroyed exactly once."""
    ROUNDS, READERS = 10, 6
    book = Book()
    destroyed: list[FD] = []  # keeps each FD alive, so no two are the same object
    orig = FD.destroy

    def counting_destroy(self):
        with book.mu:
            destroyed.append(self)
        orig(self)

    monkeypatch.setattr(FD, "destroy", counting_destroy)

    def reader(c, wg):
        with reported(book, wg):
            try:
                book.seen("reader")
                c.read(10)
                book.error("read returned")
            except net.NetClosedError:
                book.add("closed")

    def closer(c, fdobj, wg):
        with reported(book, wg):
            book.seen("closer")
            c.close()
            # close() returns only once the last reader has left and the fd
            # is closed (Go's csema).
            if c.fileno() != -1 or fdobj.sock is not None:
                book.error("close returned before the fd was closed")

    def main():
        start(procs)
        me = threading.get_ident()
        for r in range(ROUNDS):
            a, b = socketpair_conns()
            fdobj = a.fd
            wg = WaitGroup()
            wg.add(READERS + 1)
            for _ in range(READERS):
                gort.go(reader, a, wg)
            # One reader in pollWait, the others waiting for the read lock.
            wait_until(lambda f=fdobj: parked_in_io(f.pd.rg)
                       and (f.fdmu.state & mutexRMask) // mutexRWait == READERS - 1,
                       "readers blocked")
            if r == 0:
                stolen_go(book, "closer", closer, a, fdobj, wg)
            else:
                gort.go(closer, a, fdobj, wg)
            wg.wait()
            assert sum(x is fdobj for x in destroyed) == 1
            b.close()
        assert book.threads_of("closer") - {me} or book.threads_of("reader") - {me}

    gort.run(main)
    assert not book.errors, book.errors[:5]
    assert book.get("closed") == ROUNDS * READERS
    assert len(destroyed) == len({id(x) for x in destroyed}) == 2 * ROUNDS


# --------------------------------------------------------------------------
# Ping-pong between goroutines pinned to different Ms


@pytest.mark.parametrize("procs", PROCS)
def test_socketpair_ping_pong_across_ms(procs):
    """main (on its M) and a goroutine stolen by another M ping-pong 1 byte
    over a socketpair, 2,000 times; 6 more pairs ping-pong beside them,
    wherever the scheduler puts them.  Each wake-up crosses Ms: the reader
    parks on one M while the other M's netpoll (or the writer's M) readies it."""
    N = 2000
    EXTRA = 6
    book = Book()

    def ping(c, n, tag, wg):
        with reported(book, wg, tag):
            tid = book.seen(tag)
            for i in range(n):
                c.write(bytes([i & 0xFF]))
                d = read_exactly(c, 1)
                if d[0] != (i + 1) & 0xFF:
                    book.error(f"{tag}: round {i}: got {d[0]}")
                    return
            if threading.get_ident() != tid:
                book.error(f"{tag} moved to another M")

    def pong(c, n):
        for _ in range(n):
            d = read_exactly(c, 1)
            c.write(bytes([(d[0] + 1) & 0xFF]))

    def pong_g(c, n, wg):
        with reported(book, wg, "pong"):
            book.seen("pong")
            pong(c, n)

    def main():
        start(procs)
        me = book.seen("main")
        a, b = socketpair_conns()
        wg = WaitGroup()
        wg.add(1 + 2 * EXTRA)
        other = stolen_go(book, "ping", ping, a, N, "ping", wg)
        assert other != me
        extra = []
        for _ in range(EXTRA):
            x, y = socketpair_conns()
            extra += (x, y)
            gort.go(ping, x, N // 4, "xping", wg)
            gort.go(pong_g, y, N // 4, wg)
        pong(b, N)
        wg.wait()
        if threading.get_ident() != me:
            book.error("main moved to another M")
        for c in (a, b, *extra):
            c.close()

    gort.run(main)
    assert not book.errors, book.errors[:5]
    assert book.threads_of("main") != book.threads_of("ping")


# --------------------------------------------------------------------------
# gort.blocking from several Ms at once


@pytest.mark.parametrize("procs", PROCS)
def test_blocking_from_several_ms_at_once(procs):
    """8 goroutines call gort.blocking at once: all 8 calls run at the same
    time on pool threads (a barrier of 8 proves it), each result comes back
    to its own goroutine, on the M it is pinned to."""
    NG = 8
    book = Book()
    barrier = threading.Barrier(NG, timeout=10)

    def call(i):
        barrier.wait()
        return i * i, threading.get_ident()

    def g(i, wg):
        with reported(book, wg, str(i)):
            tid = book.seen("caller")
            v, worker = gort.blocking(call, i)
            if v != i * i:
                book.error(f"{i}: got {v}")
            if worker == tid:
                book.error(f"{i}: the call ran on the goroutine's own M")
            if threading.get_ident() != tid:
                book.error(f"{i}: came back on another M")
            # And once more, each with its own exception.
            try:
                gort.blocking(lambda: 1 // 0)
            except ZeroDivisionError:
                book.add("raised")

    def main():
        start(procs)
        me = threading.get_ident()
        wg = WaitGroup()
        wg.add(NG)
        stolen_go(book, "first", lambda: (book.seen("first"), g(0, wg)))
        for i in range(1, NG):
            gort.go(g, i, wg)
        wg.wait()
        assert proc.sched.nsyscall == 0
        assert book.threads_of("caller") - {me}

    t0 = monotonic()
    gort.run(main)
    assert not book.errors, book.errors
    assert book.get("raised") == NG
    assert monotonic() - t0 < 30


# --------------------------------------------------------------------------
# The pollDesc layer directly: pollcache reuse from several Ms


@pytest.mark.parametrize("procs", PROCS)
def test_open_close_churn_from_several_ms(procs):
    """Goroutines on several Ms open, use and close socketpairs as fast as
    they can: pollcache alloc/free, pdbyfd and the backends' registrations
    race; nothing leaks (the fixture checks fds and open pollDescs) and the
    cache reuses descriptors rather than growing without bound."""
    NG, ROUNDS = 8, 60
    book = Book()

    def churn(k, wg):
        with reported(book, wg, str(k)):
            book.seen("churn")
            for r in range(ROUNDS):
                a, b = socketpair_conns()
                try:
                    a.set_read_deadline(gtime.now() + 10)
                    b.write(b"%d" % r)
                    if a.read(16) != b"%d" % r:
                        book.error(f"{k}: bad data")
                finally:
                    a.close()
                    b.close()

    def main():
        start(procs)
        n0 = npmod.pollcache.n
        wg = WaitGroup()
        wg.add(NG)
        for k in range(NG):
            gort.go(churn, k, wg)
        wg.wait()
        # At most 2 per goroutine alive at once, plus what other tests made.
        assert npmod.pollcache.n - n0 <= 2 * NG
        assert not npmod.pdbyfd

    gort.run(main)
    assert not book.errors, book.errors[:5]


# --------------------------------------------------------------------------
# A busy M leaves the network to the M blocked in netpoll


@pytest.mark.parametrize("procs", PROCS)
def test_busy_m_leaves_polling_to_the_blocked_poller(procs, monkeypatch):
    """Go's findRunnable polls without blocking only while no M is blocked in
    netpoll (lastpoll != 0).  gort's busy M used to poll every 1 ms anyway;
    under the GIL each poll woke the poller M just in time to restart its
    5 ms wait for the GIL, so the readiness it held could wait 100s of ms.
    main keeps its M busy for 0.3 s with a reader parked on a socket; it must
    not poll while another M is the poller (a handful of races allowed), and
    the reader still gets its byte."""
    calls = {"busy": 0, "all": 0}
    mu = threading.Lock()
    real = proc.sched.netpoll

    def counting(delay):
        s = proc.sched
        pm = s.pollerm
        with mu:
            calls["all"] += 1
            if delay == 0 and pm is not None and pm is not proc._tls.m:
                calls["busy"] += 1
        return real(delay)

    monkeypatch.setattr(proc.sched, "netpoll", counting)
    got = []

    def main():
        start(procs)
        a, b = socketpair_conns()
        g = []
        gort.go(lambda: (g.append(proc.getg()), got.append(a.read(1))))
        wait_until(lambda: g and parked_in_io(g[0]), "reader parked in IO wait")
        wait_until(lambda: proc.sched.pollerm is not None, "an M blocked in netpoll")
        end = monotonic() + 0.3
        while monotonic() < end:
            gort.gosched()
        b.write(b"!")
        wait_until(lambda: got, "reader woken")
        a.close()
        b.close()

    gort.run(main)
    assert got == [b"!"]
    assert calls["all"] > 0, "the runtime's netpoll hook was never called"
    assert calls["busy"] <= 10, calls


# --------------------------------------------------------------------------
# Closing an fd that a blocked poll(2) holds


@pytest.mark.parametrize("procs", PROCS)
@pytest.mark.one_m
def test_close_on_one_m_reaches_the_peer_while_another_m_polls(procs):
    """poll(2) holds a reference to every file in its array while it sleeps,
    so a socket closed on another M stayed open in the kernel (no FIN, no EOF
    for its peer) until the poll returned -- here never, since the poll was
    waiting for that EOF.  netpollclose breaks the poll (netpoll_poll.py).
    epoll holds no such reference; the test runs on both backends.  No timer
    is involved: a timer M's bounded sleep would have hidden the hang."""
    # Starts with one M on purpose (see main), whatever the default: on a
    # free-threaded build without GORTMAXPROCS it is the CPU count.
    book = Book()

    def main():
        # Both readers park while the run has one M, so they are pinned to
        # main's M: a's fd is closed there, never on the poller's own M
        # (which would close it between two polls).
        a, b = socketpair_conns()
        ga, gb = [], []

        def reader(c, gs, tag):
            gs.append(proc.getg())
            try:
                book.seen(tag)
                book.add(tag + ":" + repr(c.read(1)))
            except net.NetClosedError:
                book.add(tag + ":closed")

        gort.go(reader, a, ga, "a")
        gort.go(reader, b, gb, "b")
        wait_until(lambda: ga and gb and parked_in_io(ga[0]) and parked_in_io(gb[0]),
                   "both readers parked in IO wait")
        start(procs)
        wait_until(lambda: proc.sched.pollerm is not None, "an M blocked in netpoll")
        a.close()  # wakes a's reader; the last one out closes a's fd
        wait_until(lambda: book.get("b:b''"), "EOF for b's reader", timeout=5.0)
        b.close()

    gort.run(main)
    assert book.get("a:closed") == 1 and book.get("b:b''") == 1, book.n
    assert len(book.threads) == 1, "the readers ran on more than one M"


# --------------------------------------------------------------------------
# One source, two forms (issue 14)


@pytest.mark.parametrize("procs", PROCS)
def test_netpoll_runs_its_mn_forms_under_mn(procs):
    """netpollblock, netpollblockcommit, netpollready, netpollAdjustWaiters
    and the backend's netpoll are each one source with two forms
    (gort.sched.mnmode.specialise): while the run is M:N each runs its M:N
    form, wake-ups across Ms keep netpollWaiters exact, and the one-M forms
    are back once the run has ended."""
    from gort.sched.mnmode import mode

    fns = [npmod.netpollblock, npmod.netpollblockcommit, npmod.netpollready,
           npmod.netpollAdjustWaiters, type(npmod._backend).netpoll]
    N = 300
    book = Book()

    def ping(c, wg):
        with reported(book, wg, "ping"):
            book.seen("ping")
            for i in range(N):
                c.write(bytes([i & 0xFF]))
                if read_exactly(c, 1)[0] != (i + 1) & 0xFF:
                    book.error(f"round {i}: bad byte")
                    return

    def main():
        start(procs)
        if not mode.on:
            book.error("not M:N after gomaxprocs")
        for f in fns:
            if f.__code__ is not mode.codes(f)[1]:
                book.error(f"{f.__qualname__} does not run its M:N form")
        a, b = socketpair_conns()
        try:
            wg = WaitGroup()
            wg.add(1)
            stolen_go(book, "ping", ping, a, wg)
            for _ in range(N):
                d = read_exactly(b, 1)
                b.write(bytes([(d[0] + 1) & 0xFF]))
            wg.wait()
            # Every G that netpoll woke has taken itself off the count.
            wait_until(lambda: proc.sched.netpollWaiters == 0, "netpollWaiters back to 0")
        finally:
            a.close()
            b.close()

    gort.run(main)
    assert not book.errors, book.errors[:5]
    assert not mode.on
    for f in fns:
        assert f.__code__ is mode.codes(f)[0], f.__qualname__
