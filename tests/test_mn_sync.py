"""sync, context and the runtime semaphores under M:N (GOMAXPROCS > 1).

Every test runs with 1 P (the lock-free path), 2 and 4 (each P its own M,
an OS thread), and "2-chaos".  main calls gort.gomaxprocs(n) first; the
goroutines it starts are stolen by the other Ms (``spread`` makes sure
of it).  The GIL's switch interval is cut to 10 us for these tests.

On a GIL build that is not enough to expose a missing lock: CPython only
switches threads at calls and backward jumps, so ``if self.state == 0:
self.state = 1`` is atomic there by accident.  The chaos mode installs a
trace function in the modules under test (gort/sync, sema, context) that
sleeps 20 us on one line in ten, releasing the GIL *between lines*: the
other Ms then run in the middle of every read-modify-write.  With any one
module's M:N locking switched off, its tests fail (lost updates, "unlock of
unlocked mutex", lost wake-ups reported as Deadlock) in this mode.  On a
free-threaded build every mode interleaves at bytecode level anyway.

Test bookkeeping that several Ms touch (counts of goroutines inside a
critical section, threads seen) is kept under a threading.Lock of the test
(never held across a gort call), so that the checks measure the primitive
under test, not the test's own races.
"""

from __future__ import annotations

import threading
from time import monotonic

import pytest
from mnutil import Book, Chaos, fast_switching, is_chaos, spread, start_book

import gort
import gort.sched.sema
import gort.sync
import gort.time
from gort import context
from gort.sched import Sema, semacquire, semrelease
from gort.sync import Cond, Mutex, Once, RWMutex, WaitGroup
from gort.sync.mutex import mutexStarving
from gort.time.timers import numtimers

PROCS = [1, 2, 4, pytest.param(2, id="2-chaos")]
pytestmark = pytest.mark.timeout(60)

CHAOS = Chaos(gort.sched.sema, gort.sync.mutex, gort.sync.rwmutex, gort.sync.waitgroup,
              gort.sync.once, gort.sync.cond, context, cut=4)


@pytest.fixture(autouse=True)
def _fast_switching(request, no_thread_leak):
    with fast_switching(1e-5, CHAOS if is_chaos(request) else None):
        yield


def _check_threads(book: Book, procs: int) -> None:
    if procs == 1:
        assert book.threads == {threading.get_ident()}
    else:
        # (Not "<= procs": sysmon may hand a busy M's P to a new M.)
        assert len(book.threads) > 1, book.threads


# --------------------------------------------------------------------------
# Mutex


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_guarded_increments_are_exact(procs):
    G, N = 16, CHAOS.n(500)

    def main():
        book = start_book(procs)
        mu = Mutex()
        wg = WaitGroup()
        counter = [0]

        def worker():
            book.seen()
            for _ in range(N):
                mu.lock()
                if book.add("inside") != 1:
                    book.error("two goroutines inside the Mutex")
                v = counter[0]
                gort.gosched()  # others run (here and on the other Ms) meanwhile
                counter[0] = v + 1
                book.add("inside", -1)
                mu.unlock()
            wg.done()

        wg.add(G)
        for _ in range(G):
            gort.go(worker)
        spread(book, procs=procs)
        wg.wait()
        return counter[0], book, mu

    count, book, mu = gort.run(main)
    assert not book.errors
    assert count == G * N
    assert mu.state == 0 and not mu.locked()
    _check_threads(book, procs)


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_starvation_mode_hands_off_and_stays_exact(procs):
    # Holders keep the lock > 1 ms without parking, so waiters on the other
    # Ms wait past starvationThreshold and switch the Mutex to starvation
    # mode; try_lock from bystanders must never get in meanwhile.
    G, N = 6, 12

    def main():
        book = start_book(procs)
        mu = Mutex()
        wg = WaitGroup()
        counter = [0]

        def worker():
            book.seen("worker")
            for _ in range(N):
                with mu:
                    if book.add("inside") != 1:
                        book.error("two goroutines inside the Mutex")
                    if mu.state & mutexStarving:
                        book.add("starving")
                    v = counter[0]
                    t = monotonic() + 0.0012
                    while monotonic() < t:
                        pass
                    counter[0] = v + 1
                    book.add("inside", -1)
                gort.gosched()
            wg.done()

        def bystander():
            while not done[0]:
                # Seen from outside too: a waiter that is the last one leaves
                # starvation mode as it takes the lock (Go), before a worker
                # could see the bit inside.
                if mu.state & mutexStarving:
                    book.add("starving")
                if mu.try_lock():
                    if book.add("inside") != 1:
                        book.error("try_lock got in while the Mutex was held")
                    counter[0] += 1
                    book.add("inside", -1)
                    book.add("trylocks")
                    mu.unlock()
                gort.gosched()
            bwg.done()

        done = [False]
        bwg = WaitGroup()
        bwg.add(2)
        gort.go(bystander)
        gort.go(bystander)
        wg.add(G + 1)
        for _ in range(G):
            gort.go(worker)
        # A worker (not just a bystander) on another M: workers on one M
        # never wait for each other, and starvation mode needs a waiter
        # (free-threaded build: once all six started on main's M).
        spread(book, "worker", procs=procs)
        # main works too: a worker on main's M for sure, so that workers on
        # two Ms wait for each other (without a GIL the other M may have
        # started all six; on one M a waiter is seldom beaten to the lock).
        worker()
        wg.wait()
        done[0] = True
        bwg.wait()
        return counter[0], book, mu

    count, book, mu = gort.run(main)
    assert not book.errors
    assert count == (G + 1) * N + book.get("trylocks")
    assert mu.state == 0
    _check_threads(book, procs)
    if procs > 1:
        assert book.get("starving") > 0, f"starvation mode never seen: {book.n} {book.bytag}"


# --------------------------------------------------------------------------
# RWMutex


@pytest.mark.parametrize("procs", PROCS)
def test_rwmutex_readers_and_writers_exclude(procs):
    W, WN, R, RN = 4, 100, 12, 150

    def main():
        book = start_book(procs)
        rw = RWMutex()
        wg = WaitGroup()
        data = {"a": 0, "b": 0}  # a writer keeps a == b; readers must see that

        def writer():
            book.seen()
            for i in range(WN):
                locked = rw.try_lock() if i % 10 == 0 else False
                if not locked:
                    rw.lock()
                if book.add("writers") != 1 or book.get("readers"):
                    book.error("writer not alone")
                data["a"] += 1
                gort.gosched()
                data["b"] += 1
                book.add("writers", -1)
                rw.unlock()
            wg.done()

        def reader():
            book.seen()
            for i in range(RN):
                if i % 10 == 0:
                    if not rw.try_rlock():
                        rw.rlock()
                else:
                    rw.rlock()
                book.add("readers")
                if book.get("writers"):
                    book.error("reader inside with a writer")
                a = data["a"]
                gort.gosched()
                if data["a"] != a or data["b"] != a:
                    book.error("data changed under a read lock")
                book.add("readers", -1)
                rw.runlock()
            wg.done()

        wg.add(W + R)
        for i in range(W + R):
            gort.go(writer if i % 4 == 0 else reader)
        spread(book, procs=procs)
        wg.wait()
        return data, book, rw

    data, book, rw = gort.run(main)
    assert not book.errors
    assert data == {"a": W * WN, "b": W * WN}
    assert book.max.get("readers", 0) > 1  # readers did share the lock
    assert rw.readerCount == 0 and rw.readerWait == 0 and rw.w.state == 0
    _check_threads(book, procs)


# --------------------------------------------------------------------------
# WaitGroup


@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_add_done_across_goroutines(procs):
    G, N = 8, CHAOS.n(1000)

    def main():
        book = start_book(procs)
        wg = WaitGroup()
        outer = WaitGroup()

        def child():
            book.seen()
            book.add("children")
            wg.done()

        def spawner():
            book.seen()
            for i in range(N):
                wg.add(1)
                if i % 2:
                    gort.go(child)
                else:
                    wg.done()
            book.add("spawners_done")
            wg.done()

        def waiter():
            wg.wait()
            if book.get("spawners_done") != G or book.get("children") != G * N // 2:
                book.error("wait returned before the counter reached zero")
            book.add("waiters")
            outer.done()

        wg.add(G)
        outer.add(3)
        for _ in range(3):
            gort.go(waiter)
        for _ in range(G):
            gort.go(spawner)
        spread(book, procs=procs)
        wg.wait()
        outer.wait()
        return wg, outer, book

    wg, outer, book = gort.run(main)
    assert not book.errors
    assert book.get("children") == G * N // 2
    assert book.get("waiters") == 3
    assert (wg.v, wg.w, outer.v, outer.w) == (0, 0, 0, 0)
    assert wg.sema.count == 0 and wg.sema.nwait == 0
    _check_threads(book, procs)


# --------------------------------------------------------------------------
# Once


@pytest.mark.parametrize("procs", PROCS)
def test_once_runs_exactly_once_with_64_racers(procs):
    G, ROUNDS = 64, 10

    def main():
        book = start_book(procs)
        for r in range(ROUNDS):
            once = Once()
            wg = WaitGroup()
            ran = []

            def f(r=r, ran=ran):
                book.add(f"calls{r}")
                gort.gosched()  # the others pile up on the Once meanwhile
                ran.append(True)

            def racer(once=once, ran=ran, wg=wg, r=r):
                book.seen(str(r))
                once.do(f)
                if not ran:
                    book.error("do returned before f finished")
                wg.done()

            wg.add(G)
            for _ in range(G):
                gort.go(racer)
            spread(book, str(r), procs=procs)  # each round runs on several Ms
            wg.wait()
        return book

    book = gort.run(main)
    assert not book.errors
    for r in range(ROUNDS):
        assert book.get(f"calls{r}") == 1
    _check_threads(book, procs)


# --------------------------------------------------------------------------
# Cond


@pytest.mark.parametrize("procs", PROCS)
def test_cond_broadcast_wakes_every_waiter(procs):
    G = 32

    def main():
        book = start_book(procs)
        c = Cond()
        wg = WaitGroup()
        state = {"go": False}

        def waiter():
            book.seen()
            with c:
                while not state["go"]:
                    c.wait()
                book.add("woken")
            wg.done()

        wg.add(G)
        for _ in range(G):
            gort.go(waiter)
        spread(book, procs=procs)
        # Wait until every waiter holds a ticket (it is parked, or on its way).
        deadline = monotonic() + 10
        while True:
            with c:
                n = c.notify.wait - c.notify.notify
            if n == G:
                break
            assert monotonic() < deadline, f"only {n} of {G} waiters got to wait"
            gort.time.sleep(0.0005)
        with c:
            state["go"] = True
            c.broadcast()
        wg.wait()
        return book

    book = gort.run(main)
    assert book.get("woken") == G
    _check_threads(book, procs)


@pytest.mark.parametrize("procs", PROCS)
def test_cond_signal_queue_delivers_every_item(procs):
    P, C, N = 4, 4, 250

    def main():
        book = start_book(procs)
        mu = Mutex()
        notempty = Cond(mu)
        q: list[int] = []
        closed = [0]
        got: list[int] = []
        wg = WaitGroup()

        def producer(k):
            book.seen()
            for i in range(N):
                with mu:
                    q.append(k * N + i)
                    notempty.signal()
                if i % 16 == 0:
                    gort.gosched()
            with mu:
                closed[0] += 1
                notempty.broadcast()
            wg.done()

        def consumer():
            book.seen()
            while True:
                with mu:
                    while not q and closed[0] < P:
                        notempty.wait()
                    if not q:
                        break
                    got.append(q.pop())
            wg.done()

        wg.add(P + C)
        for _ in range(C):
            gort.go(consumer)
        for k in range(P):
            gort.go(producer, k)
        spread(book, procs=procs)
        wg.wait()
        return sorted(got), book

    got, book = gort.run(main)
    assert got == list(range(P * N))
    _check_threads(book, procs)


# --------------------------------------------------------------------------
# Semaphores


@pytest.mark.parametrize("procs", PROCS)
def test_sema_counts_and_bounds_holders(procs):
    G, N, K = 16, 200, 3

    def main():
        book = start_book(procs)
        s = Sema(K)
        wg = WaitGroup()

        def worker(k):
            book.seen()
            for i in range(N):
                semacquire(s, lifo=(i % 7 == 0))
                if book.add("holders") > K:
                    book.error(f"more than {K} holders")
                gort.gosched()
                book.add("holders", -1)
                book.add("ops")
                semrelease(s, handoff=(k % 2 == 1))
            wg.done()

        wg.add(G)
        for k in range(G):
            gort.go(worker, k)
        spread(book, procs=procs)
        wg.wait()
        return s, book

    s, book = gort.run(main)
    assert not book.errors
    assert book.get("ops") == G * N
    assert book.max["holders"] == K  # the bound was reached, never passed
    assert s.count == K and s.nwait == 0 and not s.waiters
    _check_threads(book, procs)


@pytest.mark.parametrize("procs", PROCS)
def test_sema_release_acquire_pairs_balance(procs):
    # Releasers and acquirers on different goroutines (and Ms): every count
    # released is acquired exactly once, none is lost or made up.
    G, N = 4, 500

    def main():
        book = start_book(procs)
        s = Sema(0)
        wg = WaitGroup()

        def releaser():
            book.seen()
            for i in range(N):
                semrelease(s, handoff=(i % 3 == 0))
                if i % 8 == 0:
                    gort.gosched()
            wg.done()

        def acquirer():
            book.seen()
            for _ in range(N):
                semacquire(s)
                book.add("acquired")
            wg.done()

        wg.add(2 * G)
        for _ in range(G):
            gort.go(acquirer)
            gort.go(releaser)
        spread(book, procs=procs)
        wg.wait()
        return s, book

    s, book = gort.run(main)
    assert book.get("acquired") == G * N
    assert s.count == 0 and s.nwait == 0 and not s.waiters
    _check_threads(book, procs)


# --------------------------------------------------------------------------
# context


@pytest.mark.parametrize("procs", PROCS)
def test_context_tree_canceled_from_many_goroutines(procs):
    # A three-level tree (some nodes with a far deadline); goroutines wait on
    # every leaf, others cancel random inner nodes while new children are
    # still being derived from the root, then the root is canceled.  Every
    # context must end canceled, with no child left registered and no
    # deadline timer left pending.
    B = 6

    def main():
        book = start_book(procs)
        root, cancel_root = context.with_cancel(context.background())
        nodes = []
        cancels = []
        for i in range(B):
            if i % 2:
                c, cf = context.with_timeout(root, 60)
            else:
                c, cf = context.with_cancel(root)
            nodes.append(c)
            cancels.append(cf)
            for j in range(B):
                cc, ccf = context.with_cancel(c) if j % 3 else context.with_timeout(c, 60)
                nodes.append(cc)
                cancels.append(ccf)
        wg = WaitGroup()
        late = []

        def leafwaiter(ctx):
            book.seen()
            ctx.done().recv()
            if ctx.err() is None:
                book.error("done closed but err() is None")
            book.add("woken")
            wg.done()

        def canceler(k):
            book.seen()
            for i in range(k, len(cancels), 5):
                cancels[i]()
                gort.gosched()
            wg.done()

        def deriver():
            book.seen()
            # Races propagateCancel against the root's cancel.
            for _ in range(40):
                c, cf = context.with_cancel(root) if len(late) % 2 else \
                    context.with_timeout(root, 60)
                late.append((c, cf))
                gort.gosched()
            wg.done()

        wg.add(len(nodes) + 5 + 4)
        for n in nodes:
            gort.go(leafwaiter, n)
        for _ in range(4):
            gort.go(deriver)
        for k in range(5):
            gort.go(canceler, k)
        spread(book, procs=procs)
        gort.gosched()
        cancel_root()
        wg.wait()
        return root, nodes, late, book, numtimers()

    root, nodes, late, book, ntimers = gort.run(main)
    assert not book.errors
    assert ntimers == 0, "deadline timers left pending after every context was canceled"
    assert book.get("woken") == len(nodes)
    assert root.err() is context.Canceled
    assert root._children is None
    for c in nodes:
        assert c.err() is context.Canceled
        assert c._children is None
    for c, _ in late:
        assert c.err() is context.Canceled, "a child derived during the cancel was missed"
        assert getattr(c, "_timer", None) is None, "a deadline timer was left behind"
    for c in nodes:
        assert getattr(c, "_timer", None) is None, "a deadline timer was left behind"
    _check_threads(book, procs)


@pytest.mark.parametrize("procs", PROCS)
def test_context_derive_and_cancel_race(procs):
    # Round after round: goroutines on several Ms derive children and
    # grandchildren (propagateCancel), cancel some of them (removeChild)
    # while another cancels the root (the cascade).  No child may escape the
    # root's cancel, and no deadline timer may stay behind.
    ROUNDS, D, K = 30, 3, 8

    def main():
        book = start_book(procs)
        made = []
        for r in range(ROUNDS):
            root, cancel_root = context.with_cancel(context.background())
            wg = WaitGroup()

            def deriver(j, root=root, wg=wg, r=r):
                book.seen(str(r))
                for i in range(K):
                    parent = root if i % 2 == 0 or not made else made[-1][0]
                    if (i + j) % 3 == 0:
                        c, cf = context.with_timeout(parent, 60)
                    else:
                        c, cf = context.with_cancel(parent)
                    made.append((c, cf))  # list.append: one atomic C call
                    if i % 3 == 1:
                        cf()
                    gort.gosched()
                wg.done()

            def canceler(root=root, cancel_root=cancel_root, wg=wg, r=r):
                book.seen(str(r))
                for _ in range(r % 4):
                    gort.gosched()
                cancel_root()
                wg.done()

            wg.add(D + 1)
            for j in range(D):
                gort.go(deriver, j)
            gort.go(canceler)
            spread(book, str(r), procs=procs)
            wg.wait()
            for c, _ in made:
                if c.err() is None:
                    book.error(f"round {r}: a child escaped the root's cancel: {c!r}")
            if root._children is not None:
                book.error(f"round {r}: the canceled root still has children")
            made.clear()
        return book, numtimers()

    book, ntimers = gort.run(main)
    assert not book.errors
    assert ntimers == 0, "deadline timers left pending after every context was canceled"
    _check_threads(book, procs)


@pytest.mark.parametrize("procs", PROCS)
def test_context_deadlines_expire_across_ms(procs):
    # Deadline timers fire (on timerproc's M) and cancel subtrees whose
    # waiters sit on other Ms; a parent's cancel races the children's timers.
    G = 24

    def main():
        book = start_book(procs)
        parent, cancel = context.with_timeout(context.background(), 0.2)
        wg = WaitGroup()

        def waiter(i):
            book.seen()
            ctx, cf = context.with_timeout(parent, 0.001 + 0.002 * (i % 5))
            dl, ok = ctx.deadline()
            ctx.done().recv()
            if monotonic() < dl:
                book.error("canceled before its deadline")
            if ctx.err() is not context.DeadlineExceeded:
                book.error(f"err() is {ctx.err()!r}")
            book.add("expired")
            cf()
            wg.done()

        wg.add(G)
        for i in range(G):
            gort.go(waiter, i)
        spread(book, procs=procs)
        wg.wait()
        cancel()
        return parent, book, numtimers()

    parent, book, ntimers = gort.run(main)
    assert not book.errors
    assert book.get("expired") == G
    assert parent.err() is context.Canceled
    assert parent._children is None
    assert ntimers == 0
    _check_threads(book, procs)
