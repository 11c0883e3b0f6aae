"""Go 1.21's once_func/once_value/once_values and x/sync's errgroup,
semaphore and singleflight on gort (cases ported from Go's
src/sync/oncefunc_test.go and golang.org/x/sync's errgroup_test.go,
semaphore_test.go and singleflight_test.go).

The concurrency tests run at GOMAXPROCS 1, 2 and 4.  Waits are bounded:
``wait_until`` polls with gosched (or a short sleep) and gives up after
10 s; a goroutine that should park is waited for by the state it leaves
(a waiter queued, a duplicate counted), never by sleeping.
"""

from __future__ import annotations

import gc
import random
import threading
import traceback
import weakref

import pytest
from mnutil import Chaos, fast_switching, is_chaos, spread, start_book, wait_until

import gort
import gort.sched.sema
import gort.sync.errgroup
import gort.sync.semaphore
import gort.sync.singleflight
import gort.time
from gort import context
from gort.sync import SyncError, WaitGroup, once_func, once_value, once_values
from gort.sync.atomic import Int32
from gort.sync.errgroup import Group, with_context
from gort.sync.semaphore import Weighted
from gort.sync.singleflight import Group as SFGroup
from gort.sync.singleflight import Result

pytestmark = pytest.mark.timeout(120)
PROCS = [1, 2, 4]
# "2-chaos": GOMAXPROCS 2 with tests/mnutil.py's chaos tracer on these
# modules and the primitives under them (the GIL dropped between lines).
PROCS_CHAOS = [1, 2, 4, pytest.param(2, id="2-chaos")]
CHAOS = Chaos(gort.sync.errgroup, gort.sync.semaphore, gort.sync.singleflight,
              gort.sync.mutex, gort.sync.waitgroup, gort.sync.once, gort.sched.sema, cut=4)
ms = 1e-3


def _switching(request):
    return fast_switching(1e-5, CHAOS if is_chaos(request) else None)


# ==========================================================================
# once_func, once_value, once_values (Go: oncefunc_test.go)


def test_once_func():
    calls = [0]

    def f():
        calls[0] += 1
        return "ignored"

    g = once_func(f)
    for _ in range(10):
        assert g() is None  # Go: func()
    assert calls[0] == 1


def test_once_value():
    calls = [0]

    def f():
        calls[0] += 1
        return calls[0]

    g = once_value(f)
    assert [g() for _ in range(10)] == [1] * 10
    assert calls[0] == 1


def test_once_values():
    calls = [0]

    def f():
        calls[0] += 1
        return calls[0], calls[0] + 1

    g = once_values(f)
    assert [g() for _ in range(10)] == [(1, 2)] * 10
    assert calls[0] == 1


def _check_panics_same(g, calls, exc_type=ValueError):
    # Go: testOncePanicWith -- every call panics with the same value, and
    # the underlying function is called once.
    seen = []
    for _ in ("first time", "second time", "third time"):
        with pytest.raises(exc_type) as ei:
            g()
        seen.append(ei.value)
    assert seen[0] is seen[1] is seen[2]
    assert calls[0] == 1
    return seen[0]


@pytest.mark.parametrize("make", [once_func, once_value, once_values])
def test_once_panic_reraised_on_every_call(make):
    calls = [0]

    def f():
        calls[0] += 1
        raise ValueError("x")

    _check_panics_same(make(f), calls)


def _once_func_panic():
    raise ValueError("x")


def test_once_panic_traceback_reaches_f_and_does_not_grow():
    # Go: TestOnceFuncPanicTraceback -- the stack goes to the panic's origin,
    # on the first call and (gort) on later ones, without growing.
    g = once_func(_once_func_panic)
    lens = []
    for _ in range(5):
        try:
            g()
        except ValueError as e:
            tb = traceback.extract_tb(e.__traceback__)
            assert tb[-1].name == "_once_func_panic"
            lens.append(len(tb))
    assert lens[1] == lens[2] == lens[3] == lens[4]


def test_once_values_needs_a_pair():
    calls = [0]

    def f():
        calls[0] += 1
        return 1

    g = once_values(f)
    e = _check_panics_same(g, calls, TypeError)
    assert "two values" in str(e)


def test_once_func_goexit():
    # Go: TestOnceFuncGoexit -- results unspecified, but f is called once;
    # gort: a later caller gets a RuntimeError, not an exit of its own.
    calls = [0]
    out = []

    def f():
        calls[0] += 1
        gort.goexit()

    g = once_func(f)

    def main():
        wg = WaitGroup()
        for _ in range(2):
            def caller():
                try:
                    g()
                    out.append("returned")
                except RuntimeError as e:
                    out.append(str(e))
            wg.go(caller)
            wg.wait()

    gort.run(main)
    assert calls[0] == 1
    assert out == ["once_func: f did not return (_Goexit)"]  # the first caller exited


@pytest.mark.parametrize("name,make,panics", [
    ("OnceFunc", once_func, False), ("OnceValue", once_value, False),
    ("OnceValues", once_values, False),
])
def test_once_x_gc(name, make, panics):
    # Go: TestOnceXGC -- f (and what it holds) is not kept alive after the
    # first call.  Go's panic cases are not ported: a saved Python exception
    # keeps its traceback, whose frames keep their function (docs/sync.md).
    class Buf:
        pass

    buf = Buf()
    ref = weakref.ref(buf)

    def f(buf=buf):
        buf.x = 1
        if panics:
            raise ValueError("test panic")
        return None, None

    g = make(f)
    del f, buf
    gc.collect()
    assert ref() is not None, "wrapped function garbage collected too early"
    try:
        g()
    except ValueError:
        pass
    gc.collect()
    assert ref() is None, "wrapped function should be garbage collected, but still live"
    try:
        g()
    except ValueError:
        pass


def test_once_not_callable():
    for make in (once_func, once_value, once_values):
        with pytest.raises(TypeError, match="not callable"):
            make(42)


@pytest.mark.parametrize("procs", PROCS)
def test_once_value_concurrent_callers_wait_for_f(procs):
    # Every caller returns f's value, after f has returned; f runs once
    # even though it parks (the others arrive meanwhile, on every M).
    G = 16

    def main():
        book = start_book(procs)
        calls = Int32()

        def f():
            calls.add(1)
            gort.time.sleep(0.02)
            return "v"

        g = once_value(f)
        got = []
        mu = threading.Lock()
        wg = WaitGroup()

        def caller():
            book.seen()
            v = g()
            with mu:
                got.append(v)

        for _ in range(G):
            wg.go(caller)
        spread(book, procs=procs)
        wg.wait()
        return calls.load(), got

    calls, got = gort.run(main)
    assert calls == 1
    assert got == ["v"] * G


# ==========================================================================
# errgroup (Go: errgroup_test.go)


def _errs(*names):
    return [None if n is None else ValueError(n) for n in names]


def _fn(err):
    def f():
        if err is not None:
            raise err
    return f


def test_errgroup_zero_group():
    # Go: TestZeroGroup -- wait raises the first error, on every call.
    err1, err2 = ValueError("errgroup_test: 1"), ValueError("errgroup_test: 2")
    cases = [[], [None], [err1], [err1, None], [err1, None, err2]]

    def main():
        for errs in cases:
            g = Group()
            first = None
            for err in errs:
                g.go(_fn(err))
                if first is None and err is not None:
                    first = err
                try:
                    g.wait()
                    got = None
                except ValueError as e:
                    got = e
                assert got is first, (errs, got, first)

    gort.run(main)


def test_errgroup_with_context():
    # Go: TestWithContext -- the context is cancelled when wait returns.
    doom = ValueError("group_test: doomed")
    cases = [([], None), ([None], None), ([doom], doom), ([doom, None], doom)]

    def main():
        for errs, want in cases:
            g, ctx = with_context(context.background())
            for err in errs:
                g.go(_fn(err))
            try:
                g.wait()
                got = None
            except ValueError as e:
                got = e
            assert got is want
            i, _, _ = gort.select(gort.recv(ctx.done()), default=True)
            assert i == 0, "ctx.done() was not closed"
            assert ctx.err() is not None

    gort.run(main)


@pytest.mark.skipif(not hasattr(context, "cause"), reason="gort.context has no cause() yet")
def test_errgroup_cancel_cause():
    # Go: TestCancelCause -- the context's cause is the first error, or
    # Canceled when wait returns without one.
    doom = ValueError("group_test: doomed")
    cases = [([], None), ([None], None), ([doom], doom), ([doom, None], doom)]

    def main():
        for errs, want in cases:
            g, ctx = with_context(context.background())
            for err in errs:
                g.try_go(_fn(err))
            try:
                g.wait()
                got = None
            except ValueError as e:
                got = e
            assert got is want
            assert context.cause(ctx) is (want if want is not None else context.Canceled)

    gort.run(main)


def test_errgroup_try_go():
    # Go: TestTryGo.
    def main():
        g = Group()
        n = 42
        g.set_limit(42)
        ch = gort.chan()

        def fn():
            ch.send(None)

        for i in range(n):
            assert g.try_go(fn), f"TryGo should succeed but got fail at {i}-th call."
        assert not g.try_go(fn), "TryGo is expected to fail but succeeded."

        def drain(k):
            for _ in range(k):
                ch.recv()

        gort.go(drain, n)
        g.wait()
        assert g.try_go(fn), "TryGo should succeed after all goroutines."
        gort.go(drain, 1)
        g.wait()

        g.set_limit(1)  # switch limit
        assert g.try_go(fn)
        assert not g.try_go(fn)
        gort.go(drain, 1)
        g.wait()

        g.set_limit(0)  # block all calls
        for _ in range(1 << 10):
            assert not g.try_go(fn)
        g.wait()

    gort.run(main)


@pytest.mark.parametrize("procs", PROCS_CHAOS)
def test_errgroup_go_limit(procs, request):
    # Go: TestGoLimit -- never more than limit members active.
    limit = 10

    def main():
        book = start_book(procs)
        g = Group()
        g.set_limit(limit)
        active = Int32()

        def member():
            book.seen()
            n = active.add(1)
            if n > limit:
                raise AssertionError(f"saw {n} active goroutines; want <= {limit}")
            gort.time.sleep(1e-6)  # others get a chance to increment active
            active.add(-1)

        for _ in range(CHAOS.n((1 << 10) + 1)):
            g.go(member)
        g.wait()
        return book

    with _switching(request):
        book = gort.run(main)
    if procs == 1:
        assert len(book.threads) == 1


def test_errgroup_set_limit_while_active_panics():
    def main():
        g = Group()
        g.set_limit(2)
        ch = gort.chan()
        g.go(ch.recv)
        g.go(ch.recv)
        with pytest.raises(SyncError,
                           match="errgroup: modify limit while 2 goroutines in the "
                                 "group are still active"):
            g.set_limit(5)
        ch.close()
        g.wait()
        g.set_limit(5)  # fine once they are done
        g.set_limit(-1)  # no limit
        for _ in range(20):
            g.go(lambda: None)
        g.wait()
        with pytest.raises(TypeError):
            g.set_limit(1.5)

    gort.run(main)


def test_errgroup_first_error_cancels_the_rest_and_is_raised_once():
    # One member fails; the others, parked on ctx.done(), are released by
    # the cancellation; wait raises the first error (later ones dropped).
    def main():
        g, ctx = with_context(context.background())
        released = Int32()

        def waiter():
            ctx.done().recv()
            released.add(1)
            raise RuntimeError("late error: dropped")

        for _ in range(5):
            g.go(waiter)
        wait_until(lambda: gort.num_goroutine() >= 6)

        def fail():
            raise KeyError("first")

        g.go(fail)
        with pytest.raises(KeyError, match="first") as ei:
            g.wait()
        assert released.load() == 5
        assert isinstance(ctx.err(), context.CanceledError)
        # Go's Wait returns the same error again; gort raises it again,
        # with the same traceback length.
        n = len(traceback.extract_tb(ei.value.__traceback__))
        with pytest.raises(KeyError) as ei2:
            g.wait()
        assert ei2.value is ei.value
        assert len(traceback.extract_tb(ei2.value.__traceback__)) == n

    gort.run(main)


def test_errgroup_returned_exception_is_an_error():
    # Go's "return err": a member may return its error (e.g. a semaphore's).
    def main():
        g = Group()
        err = context.Canceled
        g.go(lambda: None)
        g.go(lambda: err)
        g.go(lambda: 42)  # not an exception: ignored, as Go ignores nothing else
        with pytest.raises(context.CanceledError):
            g.wait()

    gort.run(main)


def test_errgroup_goexit_member_counts_as_done():
    def main():
        g, ctx = with_context(context.background())
        g.go(gort.goexit)
        g.go(lambda: None)
        g.wait()  # returns: goexit is not an error
        assert ctx.err() is context.Canceled

    gort.run(main)


def test_errgroup_parallel_example():
    # Go: ExampleGroup_parallel -- "Google Search 2.0" with a context.
    def fake(kind):
        def search(ctx, query):
            gort.time.sleep(random.random() * 5 * ms)
            return f'{kind} result for "{query}"'
        return search

    def google(ctx, query):
        g, ctx = with_context(ctx)
        searches = [fake("web"), fake("image"), fake("video")]
        results = [None] * len(searches)
        for i, search in enumerate(searches):
            def member(i=i, search=search):
                results[i] = search(ctx, query)
            g.go(member)
        g.wait()
        return results

    out = gort.run(google, context.background(), "golang")
    assert out == ['web result for "golang"', 'image result for "golang"',
                   'video result for "golang"']


def test_errgroup_member_exception_is_not_an_uncaught_panic(capfd):
    def main():
        g = Group()
        g.go(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            g.wait()
        return "ok"

    assert gort.run(main) == "ok"
    assert "ZeroDivisionError" not in capfd.readouterr().err


# ==========================================================================
# semaphore (Go: semaphore_test.go)


def _hammer_weighted(sem, n, loops):
    for _ in range(loops):
        assert sem.acquire(context.background(), n) is None
        gort.time.sleep(random.random() * ms)
        sem.release(n)


@pytest.mark.parametrize("procs", PROCS_CHAOS)
def test_weighted(procs, request):
    # Go: TestWeighted, plus a check that the weights held never exceed
    # the size.
    n = 4
    loops = CHAOS.n(200) // n

    def main():
        book = start_book(procs)
        sem = Weighted(n)
        held = Int32()
        most = Int32()
        wg = WaitGroup()

        def worker(i):
            book.seen()
            for _ in range(loops):
                assert sem.acquire(context.background(), i) is None
                h = held.add(i)
                while True:
                    m = most.load()
                    if h <= m or most.compare_and_swap(m, h):
                        break
                gort.time.sleep(random.random() * ms)
                held.add(-i)
                sem.release(i)
            wg.done()

        wg.add(n + 1)
        for i in range(n + 1):  # weights 0..n
            gort.go(worker, i)
        spread(book, procs=procs)
        wg.wait()
        return sem.cur, most.load()

    with _switching(request):
        cur, most = gort.run(main)
    assert cur == 0
    assert 0 < most <= n


def test_weighted_panic():
    # Go: TestWeightedPanic.
    def main():
        w = Weighted(1)
        with pytest.raises(SyncError, match="semaphore: released more than held"):
            w.release(1)
        assert w.cur == 0  # gort: unchanged (Go has already subtracted)
        assert w.try_acquire(1)

    gort.run(main)


def test_weighted_try_acquire():
    # Go: TestWeightedTryAcquire.
    def main():
        ctx = context.background()
        sem = Weighted(2)
        tries = []
        sem.acquire(ctx, 1)
        tries.append(sem.try_acquire(1))
        tries.append(sem.try_acquire(1))
        sem.release(2)
        tries.append(sem.try_acquire(1))
        sem.acquire(ctx, 1)
        tries.append(sem.try_acquire(1))
        return tries

    assert gort.run(main) == [True, False, True, False]


def test_weighted_acquire():
    # Go: TestWeightedAcquire -- acquire with a 10 ms timeout.
    def main():
        ctx = context.background()
        sem = Weighted(2)

        def try_acquire(n):
            c, cancel = context.with_timeout(ctx, 10 * ms)
            try:
                return sem.acquire(c, n) is None
            finally:
                cancel()

        tries = []
        sem.acquire(ctx, 1)
        tries.append(try_acquire(1))
        tries.append(try_acquire(1))
        sem.release(2)
        tries.append(try_acquire(1))
        sem.acquire(ctx, 1)
        tries.append(try_acquire(1))
        return tries, sem.cur, len(sem.waiters)

    tries, cur, nw = gort.run(main)
    assert tries == [True, False, True, False]
    assert cur == 2 and nw == 0


def test_weighted_doesnt_block_if_too_big():
    # Go: TestWeightedDoesntBlockIfTooBig -- a request bigger than the size
    # waits on its context alone and does not hold up the queue.
    n = 2

    def main():
        sem = Weighted(n)
        big_ctx, cancel = context.with_cancel(context.background())
        out = []
        gort.go(lambda: out.append(sem.acquire(big_ctx, n + 1)))
        g, ctx = with_context(context.background())
        for _ in range(n * 3):
            def member():
                err = sem.acquire(ctx, 1)
                if err is None:
                    gort.time.sleep(1 * ms)
                    sem.release(1)
                return err
            g.go(member)
        g.wait()  # raises if any member failed
        cancel()
        wait_until(lambda: out)
        return out[0], sem.cur

    err, cur = gort.run(main)
    assert isinstance(err, context.CanceledError)
    assert cur == 0


@pytest.mark.parametrize("procs", PROCS)
def test_large_acquire_doesnt_starve(procs):
    # Go: TestLargeAcquireDoesntStarve -- returning at all is the test.
    def main():
        book = start_book(procs)
        ctx = context.background()
        n = 4
        sem = Weighted(n)
        running = [True]
        wg = WaitGroup()
        wg.add(n)

        def worker():
            book.seen()
            try:
                while running[0]:
                    gort.time.sleep(1 * ms)
                    sem.release(1)
                    sem.acquire(ctx, 1)
            finally:
                sem.release(1)
                wg.done()

        for _ in range(n):
            sem.acquire(ctx, 1)
            gort.go(worker)
        assert sem.acquire(ctx, n) is None
        running[0] = False
        sem.release(n)
        wg.wait()
        return sem.cur

    assert gort.run(main) == 0


def test_alloc_cancel_doesnt_starve():
    # Go: TestAllocCancelDoesntStarve -- a small waiter queued behind a big
    # one that gives up is served when the big one leaves the queue.
    def main():
        sem = Weighted(10)
        sem.acquire(context.background(), 1)  # hold 1 "read lock"
        big = []
        # Go gives up after 300 ms; here main cancels once the reader has
        # queued behind the writer (no race with a busy machine's clock).
        wctx, wcancel = context.with_cancel(context.background())

        def writer():
            big.append(sem.acquire(wctx, 10))

        gort.go(writer)
        wait_until(lambda: len(sem.waiters) == 1)
        done = gort.chan()

        def reader():
            assert sem.acquire(context.background(), 1) is None
            sem.release(1)
            done.close()

        gort.go(reader)
        wait_until(lambda: len(sem.waiters) == 2)
        wcancel()
        i, _, _ = gort.select(gort.recv(done), gort.recv(gort.time.after(5)))
        assert i == 0, "the reader queued behind a cancelled writer was never served"
        wait_until(lambda: big)
        assert big[0] is context.Canceled
        return sem.cur, len(sem.waiters)

    assert gort.run(main) == (1, 0)


def test_weighted_fifo_big_head_blocks_smaller_ones():
    # Go's notifyWaiters: the queue is served in order, and a head that does
    # not fit stops it, even for a waiter behind it that would fit.
    def main():
        sem = Weighted(4)
        ctx = context.background()
        assert sem.acquire(ctx, 3) is None
        order = []

        def w(name, n):
            assert sem.acquire(ctx, n) is None
            order.append(name)

        gort.go(w, "big3", 3)
        wait_until(lambda: len(sem.waiters) == 1)
        gort.go(w, "small1", 1)  # 1 token is free, but big3 is ahead
        wait_until(lambda: len(sem.waiters) == 2)
        assert not sem.try_acquire(1)  # nor can anyone barge
        for _ in range(50):
            gort.gosched()
        assert order == [] and sem.cur == 3
        sem.release(2)  # 3 free: big3 gets them, small1 (behind it) still waits
        wait_until(lambda: order)
        assert order == ["big3"]
        assert sem.cur == 4 and len(sem.waiters) == 1
        sem.release(1)  # main's last token: small1's turn
        wait_until(lambda: len(order) == 2)
        assert order == ["big3", "small1"] and sem.cur == 4 and not sem.waiters
        sem.release(4)
        return sem.cur

    assert gort.run(main) == 0


def test_weighted_cancel_while_waiting_takes_nothing():
    def main():
        sem = Weighted(2)
        bg = context.background()
        assert sem.acquire(bg, 2) is None
        ctx, cancel = context.with_cancel(bg)
        out = []
        gort.go(lambda: out.append(sem.acquire(ctx, 1)))
        wait_until(lambda: len(sem.waiters) == 1)
        cancel()
        wait_until(lambda: out)
        assert out[0] is context.Canceled
        assert sem.cur == 2 and not sem.waiters
        # A context that is already done fails even with tokens free.
        sem.release(2)
        assert sem.acquire(ctx, 1) is context.Canceled
        assert sem.cur == 0
        # Timeout: DeadlineExceeded, nothing held.
        assert sem.acquire(bg, 2) is None
        tctx, tcancel = context.with_timeout(bg, 20 * ms)
        assert isinstance(sem.acquire(tctx, 1), context.DeadlineExceededError)
        tcancel()
        assert sem.cur == 2 and not sem.waiters
        sem.release(2)

    gort.run(main)


def test_weighted_tokens_granted_as_ctx_is_cancelled_are_given_back():
    # Go: "Acquired the semaphore after we were canceled ... put the tokens
    # back."  With one M this order is exact: cancel() readies the waiter
    # (its select woke on done), then release() grants it the tokens before
    # it runs; it must return ctx's error and give them back.  With more Ms
    # the waiter may run first and simply leave the queue: same outcome.
    def main():
        sem = Weighted(2)
        bg = context.background()
        assert sem.acquire(bg, 2) is None
        ctx, cancel = context.with_cancel(bg)
        out = []
        gort.go(lambda: out.append(sem.acquire(ctx, 2)))
        wait_until(lambda: len(sem.waiters) == 1)
        cancel()
        sem.release(2)
        wait_until(lambda: out)
        assert out[0] is context.Canceled
        wait_until(lambda: sem.cur == 0)
        assert not sem.waiters
        assert sem.try_acquire(2)  # every token is back
        sem.release(2)

    gort.run(main)


def test_weighted_cancel_at_front_wakes_the_ones_behind():
    # Go: "If we're at the front and there're extra tokens left, notify
    # other waiters."
    def main():
        sem = Weighted(3)
        bg = context.background()
        assert sem.acquire(bg, 2) is None
        ctx, cancel = context.with_cancel(bg)
        out = []
        gort.go(lambda: out.append(("big", sem.acquire(ctx, 3))))
        wait_until(lambda: len(sem.waiters) == 1)
        gort.go(lambda: out.append(("small", sem.acquire(bg, 1))))
        wait_until(lambda: len(sem.waiters) == 2)
        cancel()
        wait_until(lambda: len(out) == 2)
        assert sorted(out, key=lambda r: r[0]) == [("big", context.Canceled), ("small", None)]
        assert sem.cur == 3
        sem.release(3)

    gort.run(main)


def test_weighted_bad_weights():
    def main():
        sem = Weighted(2)
        with pytest.raises(ValueError, match="negative weight"):
            sem.acquire(context.background(), -1)
        with pytest.raises(TypeError, match="int weight"):
            sem.try_acquire(1.0)
        with pytest.raises(ValueError, match="negative weight"):
            sem.release(-1)
        with pytest.raises(TypeError):
            Weighted("2")
        assert sem.cur == 0

    gort.run(main)


def test_weighted_too_big_with_background_deadlocks():
    # Go: <-ctx.Done() on a nil channel blocks forever; with nothing else
    # to run, that is a deadlock.
    def main():
        Weighted(1).acquire(context.background(), 2)

    with pytest.raises(gort.Deadlock):
        gort.run(main)


# ==========================================================================
# singleflight (Go: singleflight_test.go)


def test_singleflight_do():
    # Go: TestDo.
    def main():
        g = SFGroup()
        return g.do("key", lambda: "bar")

    assert gort.run(main) == ("bar", False)


def test_singleflight_do_err():
    # Go: TestDoErr.
    some = ValueError("Some error")

    def main():
        g = SFGroup()

        def fn():
            raise some

        with pytest.raises(ValueError) as ei:
            g.do("key", fn)
        assert ei.value is some
        assert not g.m

    gort.run(main)


@pytest.mark.parametrize("procs", PROCS_CHAOS)
def test_singleflight_do_dup_suppress(procs, request):
    # Go: TestDoDupSuppress -- n callers, fn runs once while they all wait.
    n = 10

    def main():
        book = start_book(procs)
        g = SFGroup()
        c = gort.chan()
        calls = Int32()
        results = []
        mu = threading.Lock()

        def fn():
            calls.add(1)
            return c.recv()  # block until released

        wg = WaitGroup()

        def caller():
            book.seen()
            v, shared = g.do("key", fn)
            with mu:
                results.append((v, shared))

        for _ in range(n):
            wg.go(caller)
        spread(book, procs=procs)
        wait_until(lambda: "key" in g.m and g.m["key"].dups == n - 1)
        c.send("bar")
        wg.wait()
        return calls.load(), results

    with _switching(request):
        calls, results = gort.run(main)
    assert calls == 1
    assert results == [("bar", True)] * n


def test_singleflight_forget():
    # Go: TestForget -- after forget, a new call runs fn even while the
    # first is still in flight.
    def main():
        g = SFGroup()
        first_started = gort.chan()
        first_finished = gort.chan()

        def first_fn():
            first_started.close()
            first_finished.recv()
            return 1

        out = []
        gort.go(lambda: out.append(g.do("key", first_fn)))
        first_started.recv()
        g.forget("key")
        assert g.do("key", lambda: 2) == (2, False)
        first_finished.close()
        wait_until(lambda: out)
        assert out == [(1, False)]
        assert g.do("key", lambda: 3) == (3, False)
        assert not g.m

    gort.run(main)


def test_singleflight_do_chan():
    # Go: TestDoChan.
    def main():
        g = SFGroup()
        ch = g.do_chan("key", lambda: "bar")
        r = ch.recv()
        assert r == Result("bar", None, False)
        assert isinstance(r, tuple) and r.val == "bar" and r.err is None and not r.shared

        def boom():
            raise KeyError("k")

        r = g.do_chan("key2", boom).recv()
        assert isinstance(r.err, KeyError) and r.val is None

    gort.run(main)


def test_singleflight_shared_between_do_and_do_chan():
    # Go: TestPanicDoSharedByDoChan's sharing, with an error instead of a
    # panic: do's caller raises it, the do_chan caller receives it.
    def main():
        g = SFGroup()
        blocked = gort.chan()
        unblock = gort.chan()

        def fn():
            blocked.close()
            unblock.recv()
            raise RuntimeError("Panicking")

        out = []

        def runner():
            try:
                g.do("", fn)
            except RuntimeError as e:
                out.append(e)

        gort.go(runner)
        blocked.recv()
        ch = g.do_chan("", fn)
        unblock.close()
        r = ch.recv()
        wait_until(lambda: out)
        assert r.err is out[0] and r.shared

    gort.run(main)


def test_singleflight_panic_do_reaches_every_caller():
    # Go: TestPanicDo -- every caller sees fn's panic.
    n = 5

    def main():
        g = SFGroup()
        c = gort.chan()
        seen = []

        def fn():
            c.recv()
            raise ValueError("invalid memory address or nil pointer dereference")

        wg = WaitGroup()

        def caller():
            try:
                g.do("key", fn)
            except ValueError as e:
                seen.append(e)

        for _ in range(n):
            wg.go(caller)
        wait_until(lambda: "key" in g.m and g.m["key"].dups == n - 1)
        c.close()
        wg.wait()
        return seen, g.m

    seen, m = gort.run(main)
    assert len(seen) == n and all(e is seen[0] for e in seen)
    assert not m


def test_singleflight_goexit_do():
    # Go: TestGoexitDo -- fn calls Goexit: every caller's goroutine exits.
    n = 5

    def main():
        g = SFGroup()
        c = gort.chan()
        returned = Int32()
        wg = WaitGroup()

        def fn():
            c.recv()
            gort.goexit()

        def caller():
            try:
                g.do("key", fn)
                returned.add(1)
            finally:
                wg.done()

        wg.add(n)
        for _ in range(n):
            gort.go(caller)
        wait_until(lambda: "key" in g.m and g.m["key"].dups == n - 1)
        c.close()
        wg.wait()
        return returned.load(), g.m

    returned, m = gort.run(main)
    assert returned == 0 and not m

