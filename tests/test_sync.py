"""gort.sync: Mutex, RWMutex, WaitGroup, Once, Cond (Go's package sync)."""

import threading
import time

import pytest
from testutil import wait_until

import gort
from gort.sched import goroutine_dump, proc
from gort.sched.runtime2 import _Gwaiting
from gort.sync import Cond, Locker, Mutex, Once, RWMutex, SyncError, WaitGroup
from gort.sync.mutex import mutexLocked, mutexStarving, mutexWaiterShift, mutexWoken


def _busy(d):
    """Hold the thread for d seconds without yielding (as a CPU-bound holder would)."""
    end = time.monotonic() + d
    while time.monotonic() < end:
        pass


def _nwaiting(reason=None):
    return sum(1 for g in list(proc.sched.allgs)
               if g.status == _Gwaiting and not g.system
               and (reason is None or g.waitreason == reason))


# --------------------------------------------------------------------------
# Mutex


def _yielding_worker(inside, most, counter):
    """A worker that yields inside its critical section under m."""
    def worker(m, n):
        for _ in range(n):
            with m:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                v = counter[0]
                gort.gosched()  # another goroutine runs inside our critical section
                counter[0] = v + 1
                inside[0] -= 1

    return worker


def test_mutex_mutual_exclusion_with_yields():
    inside = [0]
    most = [0]
    counter = [0]
    worker = _yielding_worker(inside, most, counter)

    def main():
        m = Mutex()
        wg = WaitGroup()
        for _ in range(16):
            wg.go(worker, m, 500)
        wg.wait()
        return m

    m = gort.run(main)
    assert counter[0] == 16 * 500
    assert most[0] == 1
    assert m.state == 0


@pytest.mark.one_m
def test_mutex_mutual_exclusion_control_without_the_lock():
    # The same program as test_mutex_mutual_exclusion_with_yields without the
    # lock loses updates: that test can fail.  The control interleaves by
    # gosched, a one-M order: with several Ms on a free-threaded build each
    # worker may have its M to itself, its gosched returns at once, and the
    # window for a lost update is tiny.
    counter = [0]
    worker = _yielding_worker([0], [0], counter)

    class NoLock:
        def __enter__(self):
            pass

        def __exit__(self, *a):
            pass

    def main2():
        wg = WaitGroup()
        for _ in range(4):
            wg.go(worker, NoLock(), 50)
        wg.wait()

    gort.run(main2)
    assert counter[0] < 4 * 50


def test_mutex_lock_unlock_try_lock():
    m = Mutex()
    assert isinstance(m, Locker)
    assert not m.locked()
    assert m.try_lock()
    assert m.locked() and m.state == mutexLocked
    assert not m.try_lock()
    m.unlock()
    assert m.state == 0
    m.lock()
    assert not m.try_lock()
    m.unlock()
    with m:
        assert m.locked()
    assert not m.locked()
    with pytest.raises(ValueError):
        with m:
            raise ValueError("boom")
    assert m.state == 0  # the with block unlocked on the way out
    # In starvation mode the lock belongs to the first waiter even while
    # mutexLocked is clear (the hand-off window): TryLock must fail.
    m.state = mutexStarving | (1 << mutexWaiterShift)
    assert not m.try_lock() and m.locked()


def test_mutex_unlock_of_unlocked():
    m = Mutex()
    with pytest.raises(SyncError, match="^sync: unlock of unlocked mutex$") as ei:
        m.unlock()
    assert isinstance(ei.value, RuntimeError)
    assert m.state == 0  # left as it was
    m.lock()
    m.unlock()
    with pytest.raises(SyncError, match="unlock of unlocked mutex"):
        m.__exit__(None, None, None)
    # Unlocked but with waiters and the woken flag: still an error, state kept.
    m.state = mutexWoken | (2 << mutexWaiterShift)
    with pytest.raises(SyncError, match="unlock of unlocked mutex"):
        m.unlock()
    assert m.state == mutexWoken | (2 << mutexWaiterShift)


@pytest.mark.one_m
def test_mutex_try_lock_try_again_while_contended():
    # One M: "before w runs" is one M's order; with several, the woken w runs
    # on its own M at once (and main read the state as w still held it).

    def main():
        m = Mutex()
        got = []

        def w():
            m.lock()
            got.append(1)
            m.unlock()

        m.lock()
        gort.go(w)
        wait_until(lambda: m.state >> mutexWaiterShift == 1)
        assert not m.try_lock()
        assert m.state == mutexLocked | (1 << mutexWaiterShift)
        m.unlock()  # wakes w (normal mode), sets mutexWoken
        assert m.state & mutexWoken and not m.state & mutexLocked
        assert m.try_lock()  # a running goroutine may take it before w runs
        m.unlock()
        wait_until(lambda: got)
        assert m.state == 0

    gort.run(main)


def test_mutex_unlocked_by_another_goroutine():
    # As in Go, a locked Mutex is not tied to a goroutine.
    def main():
        m = Mutex()
        m.lock()
        gort.go(m.unlock)
        m.lock()  # parks until the other goroutine unlocks
        m.unlock()
        return m.state

    assert gort.run(main) == 0


@pytest.mark.one_m
def test_mutex_normal_mode_newcomer_barges():
    # One M: "the running goroutine wins" is one M's order; with several, the
    # woken waiter runs on its own M at once and may take the lock first.
    order = []

    def main():
        m = Mutex()

        def waiter():
            m.lock()
            order.append("waiter")
            m.unlock()

        m.lock()
        gort.go(waiter)
        wait_until(lambda: m.state >> mutexWaiterShift == 1)
        m.unlock()  # wakes the waiter; it does not own the lock
        m.lock()  # the running goroutine wins (normal mode)
        order.append("main")
        assert not m.state & mutexStarving
        m.unlock()
        wait_until(lambda: len(order) == 2)
        assert m.state == 0

    gort.run(main)
    assert order == ["main", "waiter"]


@pytest.mark.one_m
def test_mutex_starvation_mode_fifo_handoff():
    # main holds the lock for 1.5 ms at a stretch and re-takes it after each
    # unlock (it is running, the woken waiter is not).  Every waiter has then
    # waited > 1 ms when it next runs, so the first one to wake switches the
    # mutex to starvation mode; from then on Unlock hands the lock to the
    # waiters in queue order, and a newcomer queues at the tail.
    # One M: main's barging back in (before the woken waiter runs) is one
    # M's order; with several, the waiter may take the lock in normal mode.
    hold = 0.0015
    queued, order = [], []
    log = {}

    def main():
        m = Mutex()

        def waiter(name):
            queued.append(name)
            m.lock()
            order.append(name)
            m.unlock()

        def newcomer():
            log["newcomer_state"] = m.state
            m.lock()
            order.append("newcomer")
            m.unlock()

        m.lock()
        for name in ("a", "b", "c"):
            gort.go(waiter, name)
        wait_until(lambda: len(queued) == 3)
        for i in range(20):
            _busy(hold)
            if m.state & mutexStarving:
                log["starving_after"] = i
                break
            m.unlock()
            m.lock()  # barge back in (normal mode)
            assert not order
            # Let the woken waiter run and find out it lost (it clears mutexWoken).
            wait_until(lambda: not m.state & mutexWoken)
        else:
            raise AssertionError(f"starvation mode never engaged: {m!r}")
        assert m.state >> mutexWaiterShift == 3
        gort.go(newcomer)
        wait_until(lambda: "newcomer_state" in log)
        assert log["newcomer_state"] & mutexStarving
        assert m.state >> mutexWaiterShift == 4  # the newcomer queued, did not take it
        assert not m.try_lock()
        m.unlock()  # hands the lock to the first waiter, and yields to it
        # Lock again at once: the semaphore count went to the first waiter
        # (hand-off), so we cannot take it; we queue behind everybody.
        m.lock()
        order.append("main")
        m.unlock()
        log["final_state"] = m.state

    gort.run(main)
    assert log["starving_after"] == 1  # engaged on the first wake-up after a long wait
    assert order == queued + ["newcomer", "main"], order
    assert log["final_state"] == 0  # starvation mode ended with the last waiter


def test_mutex_wait_reason_and_deadlock():
    def main():
        m = Mutex()
        m.lock()
        m.lock()  # never returns

    with pytest.raises(gort.Deadlock) as ei:
        gort.run(main)
    assert "all goroutines are asleep - deadlock!" in str(ei.value)
    assert "[sync.Mutex.Lock]" in ei.value.dump


def test_sync_wait_reasons_in_goroutine_dump():
    def main():
        m, rw, wg, c = Mutex(), RWMutex(), WaitGroup(), Cond()
        m.lock()
        rw.rlock()
        wg.add(1)
        gort.go(m.lock)
        gort.go(rw.lock)  # waits for our read lock: sync.RWMutex.Lock
        wait_until(lambda: rw.readerCount < 0)
        gort.go(rw.rlock)  # a writer is pending: sync.RWMutex.RLock
        gort.go(rw.lock)  # queued behind the first writer on rw.w: Go says sync.Mutex.Lock
        gort.go(wg.wait)

        def cw():
            with c:
                c.wait()

        gort.go(cw)
        wait_until(lambda: _nwaiting() == 6)
        dump = goroutine_dump()
        reasons = sorted(line.split("[")[1].split("]")[0]
                         for line in dump.splitlines() if line.startswith("goroutine "))
        # Let everybody go, so that run() ends cleanly.
        m.unlock()
        rw.runlock()
        wg.done()
        c.signal()
        return reasons

    reasons = gort.run(main)
    assert reasons == sorted(["running", "sync.Mutex.Lock", "sync.RWMutex.Lock",
                              "sync.RWMutex.RLock", "sync.Mutex.Lock", "sync.WaitGroup.Wait",
                              "sync.Cond.Wait"]), reasons


# --------------------------------------------------------------------------
# RWMutex


@pytest.mark.one_m
def test_rwmutex_readers_share_writers_exclude():
    # One M: readers share the lock here because a gosched inside the read
    # section runs the next reader.  With several Ms on a free-threaded
    # build each short reader may run alone on its M (most_readers stayed
    # 1 at GOMAXPROCS 2 and 4); test_mn_sync's readers_and_writers_exclude
    # checks sharing and exclusion across Ms.
    readers = [0]
    most_readers = [0]
    writer_in = [False]
    pair = [0, 0]
    bad = []

    book = threading.Lock()  # readers on several Ms update the counts together

    def reader(rw, n):
        for _ in range(n):
            rw.rlock()
            with book:
                readers[0] += 1
                most_readers[0] = max(most_readers[0], readers[0])
            if writer_in[0] or pair[0] != pair[1]:
                bad.append("reader saw a writer")
            gort.gosched()
            if writer_in[0] or pair[0] != pair[1]:
                bad.append("reader saw a writer")
            with book:
                readers[0] -= 1
            rw.runlock()
            gort.gosched()

    def writer(rw, n):
        for _ in range(n):
            with rw:
                if readers[0] or writer_in[0]:
                    bad.append("writer not alone")
                writer_in[0] = True
                pair[0] += 1
                gort.gosched()
                pair[1] += 1
                writer_in[0] = False

    def main():
        rw = RWMutex()
        wg = WaitGroup()
        for _ in range(6):
            wg.go(reader, rw, 200)
        for _ in range(3):
            wg.go(writer, rw, 100)
        wg.wait()
        return rw

    rw = gort.run(main)
    assert not bad, bad[:3]
    assert most_readers[0] > 1
    assert pair == [300, 300]
    assert rw.readerCount == 0 and rw.readerWait == 0 and rw.w.state == 0


def test_rwmutex_writer_preference():
    order = []

    def main():
        rw = RWMutex()

        def writer():
            rw.lock()
            order.append("writer")
            rw.unlock()

        def late_reader(i):
            rw.rlock()
            order.append(f"reader{i}")
            rw.runlock()

        rw.rlock()  # an active reader
        gort.go(writer)
        wait_until(lambda: _nwaiting("sync.RWMutex.Lock") == 1)
        assert order == []  # the writer waits for our read lock
        gort.go(late_reader, 1)
        gort.go(late_reader, 2)
        wait_until(lambda: _nwaiting("sync.RWMutex.RLock") == 2)
        # Only readers hold the lock, yet new readers wait: a writer is pending.
        assert order == []
        assert not rw.try_rlock()
        assert not rw.try_lock()
        rw.runlock()  # the last departing reader lets the writer in
        # A reader records itself before its runlock: at GOMAXPROCS > 1 it
        # may still be between the two on another M (issue 17's off-by-one
        # readerCount was this read, not a lost update).
        wait_until(lambda: len(order) == 3 and rw.readerCount == 0)
        assert rw.w.state == 0

    gort.run(main)
    assert order[0] == "writer"
    assert sorted(order[1:]) == ["reader1", "reader2"]


def test_rwmutex_try_lock_try_rlock():
    rw = RWMutex()
    assert rw.try_rlock() and rw.try_rlock()
    assert not rw.try_lock()
    assert rw.w.state == 0  # the failed try_lock gave the writer mutex back
    rw.runlock()
    rw.runlock()
    assert rw.try_lock()
    assert not rw.try_rlock() and not rw.try_lock()
    rw.unlock()
    assert rw.readerCount == 0 and rw.w.state == 0
    with rw:
        assert not rw.try_rlock()
    with rw.rlocker():
        assert rw.readerCount == 1 and rw.try_rlock()
        rw.runlock()
    assert rw.readerCount == 0
    assert isinstance(rw.rlocker(), Locker)


def test_rwmutex_misuse():
    rw = RWMutex()
    with pytest.raises(SyncError, match="^sync: RUnlock of unlocked RWMutex$"):
        rw.runlock()
    with pytest.raises(SyncError, match="^sync: Unlock of unlocked RWMutex$"):
        rw.unlock()
    assert rw.readerCount == 0
    rw.rlock()
    with pytest.raises(SyncError, match="Unlock of unlocked RWMutex"):
        rw.unlock()  # read-locked is not write-locked
    rw.runlock()
    rw.lock()
    with pytest.raises(SyncError, match="RUnlock of unlocked RWMutex"):
        rw.runlock()  # write-locked is not read-locked
    rw.unlock()
    assert rw.readerCount == 0 and rw.readerWait == 0 and rw.w.state == 0


# --------------------------------------------------------------------------
# WaitGroup


def test_waitgroup_add_done_wait_many_waiters():
    woke = []

    def main():
        wg = WaitGroup()
        done = []
        wg.add(5)

        def worker(i):
            gort.gosched()
            done.append(i)
            wg.done()

        for i in range(5):
            gort.go(worker, i)

        def waiter(i):
            wg.wait()
            woke.append((i, len(done)))

        for i in range(3):
            gort.go(waiter, i)
        wg.wait()
        assert len(done) == 5
        wait_until(lambda: len(woke) == 3)
        assert wg.v == 0 and wg.w == 0
        return gort.num_goroutine()

    assert gort.run(main) == 1
    assert sorted(woke) == [(0, 5), (1, 5), (2, 5)]


@pytest.mark.one_m
def test_waitgroup_go_with_args():
    # One M: "v == 10 right after the loop" holds only while no other M can
    # steal and finish a task meanwhile.
    got = []

    def main():
        wg = WaitGroup()

        def task(a, b, *, c):
            gort.gosched()
            got.append((a, b, c))

        for i in range(10):
            wg.go(task, i, i * 2, c=-i)
        assert wg.v == 10
        wg.wait()
        assert wg.v == 0
        dump_lines = []
        wg.go(lambda: dump_lines.append(goroutine_dump()))
        wg.wait()
        return dump_lines[0]

    dump = gort.run(main)
    assert sorted(got) == [(i, i * 2, -i) for i in range(10)]
    assert "created by test_waitgroup_go_with_args.<locals>.main in goroutine 1" in dump


def test_waitgroup_wait_with_zero_counter_does_not_park():
    ran = []

    def main():
        wg = WaitGroup()
        gort.go(ran.append, 1)  # runnable; would run if wait() parked
        wg.wait()
        assert ran == []
        wg.add(1)
        wg.done()
        wg.wait()
        assert ran == []

    gort.run(main)


def test_waitgroup_negative_counter():
    wg = WaitGroup()
    with pytest.raises(SyncError, match="^sync: negative WaitGroup counter$"):
        wg.done()
    assert wg.v == 0
    wg.add(2)
    with pytest.raises(SyncError, match="negative WaitGroup counter"):
        wg.add(-3)
    assert wg.v == 2
    wg.add(-2)
    assert wg.v == 0
    with pytest.raises(TypeError, match="delta must be an int"):
        wg.add(1.0)
    with pytest.raises(TypeError, match="delta must be an int"):
        wg.add(True)
    with pytest.raises(TypeError, match="not callable"):
        wg.go(42)
    assert wg.v == 0


def test_waitgroup_reused_before_wait_returned():
    def main():
        wg = WaitGroup()
        wg.add(1)

        def worker():
            wg.done()  # wakes main, but main has not run yet...
            wg.add(1)  # ...when the next round starts: misuse

        gort.go(worker)
        wg.wait()

    with pytest.raises(SyncError, match="WaitGroup is reused before previous Wait has returned"):
        gort.run(main)


def test_waitgroup_go_exception_is_not_done():
    returned = []

    def main():
        wg = WaitGroup()

        def bad():
            raise KeyError("task failed")

        wg.go(bad)
        wg.wait()  # must not return: the exception ends the program
        returned.append(True)

    with pytest.raises(KeyError, match="task failed"):
        gort.run(main)
    assert returned == []


def test_waitgroup_go_goexit_is_done():
    def main():
        wg = WaitGroup()
        after = []

        def quits():
            gort.goexit()
            after.append(1)

        wg.go(quits)
        wg.wait()
        return after, wg.v

    assert gort.run(main) == ([], 0)


def test_waitgroup_deadlock_names_reason():
    def main():
        wg = WaitGroup()
        wg.add(1)
        wg.wait()

    with pytest.raises(gort.Deadlock) as ei:
        gort.run(main)
    assert "[sync.WaitGroup.Wait]" in ei.value.dump


def test_sync_in_lazy_runtime():
    # No gort.run: the test's own greenlet becomes the main goroutine.
    m = Mutex()
    wg = WaitGroup()
    n = [0]

    def w():
        for _ in range(10):
            with m:
                v = n[0]
                gort.gosched()
                n[0] = v + 1

    for _ in range(5):
        wg.go(w)
    wg.wait()
    assert n[0] == 50 and gort.num_goroutine() == 1


# --------------------------------------------------------------------------
# Once


def test_once_concurrent_callers_wait_for_first():
    calls = []
    finished = []
    seen = []

    def main():
        once = Once()

        def f():
            calls.append(1)
            for _ in range(5):
                gort.gosched()  # the others call do() meanwhile
            finished.append(1)

        def caller():
            once.do(f)
            seen.append(len(finished))  # f must be over when do returns

        wg = WaitGroup()
        for _ in range(10):
            wg.go(caller)
        wg.wait()
        once.do(f)
        assert once.done

    gort.run(main)
    assert calls == [1]
    assert seen == [1] * 10


def test_once_exception_counts_as_done():
    def main():
        once = Once()
        calls = []
        results = []

        def f():
            calls.append(1)
            # A second caller comes and waits on the Once's Mutex meanwhile.
            wait_until(lambda: _nwaiting("sync.Mutex.Lock") == 1)
            raise ValueError("init failed")

        def second():
            once.do(lambda: calls.append("second"))
            results.append("second returned")

        def first():
            try:
                once.do(f)
            except ValueError as e:
                results.append(str(e))
            else:
                results.append("first returned")

        gort.go(first)
        wait_until(lambda: calls == [1])  # first is inside f
        gort.go(second)
        wait_until(lambda: len(results) == 2)
        once.do(lambda: calls.append("third"))
        return calls, sorted(results), once.done, once.m.state

    assert gort.run(main) == ([1], ["init failed", "second returned"], True, 0)
    with pytest.raises(TypeError, match="not callable"):
        Once().do(None)


def test_once_recursive_do_deadlocks():
    def main():
        once = Once()
        once.do(lambda: once.do(lambda: None))

    with pytest.raises(gort.Deadlock) as ei:
        gort.run(main)
    assert "[sync.Mutex.Lock]" in ei.value.dump


# --------------------------------------------------------------------------
# Cond


def _start_waiters(c, n, waiting, woke):
    def w(i):
        with c:
            waiting.append(i)
            c.wait()
            woke.append(i)

    for i in range(n):
        gort.go(w, i)
    wait_until(lambda: len(waiting) == n)
    # ... and parked in c.wait (several Ms: a waiter may still be on its way).
    wait_until(lambda: _nwaiting("sync.Cond.Wait") == n)


def test_cond_signal_wakes_in_wait_order():
    def main():
        c = Cond(Mutex())
        waiting, woke = [], []
        _start_waiters(c, 6, waiting, woke)
        for k in range(6):
            c.signal()
            wait_until(lambda k=k: len(woke) == k + 1)
            gort.gosched()
            assert len(woke) == k + 1  # one signal, one wake-up
        c.signal()  # nobody left: no effect
        return waiting, woke

    waiting, woke = gort.run(main)
    assert woke == waiting


def test_cond_broadcast_wakes_all():
    def main():
        c = Cond()
        waiting, woke = [], []
        _start_waiters(c, 8, waiting, woke)
        c.broadcast()
        wait_until(lambda: len(woke) == 8)
        c.broadcast()  # nobody waits: no effect
        return sorted(woke), c.l.state, gort.num_goroutine()

    assert gort.run(main) == (list(range(8)), 0, 1)


def test_cond_signal_before_wait_is_not_remembered():
    def main():
        c = Cond()
        c.signal()
        c.broadcast()
        waiting, woke = [], []
        _start_waiters(c, 1, waiting, woke)
        for _ in range(10):
            gort.gosched()
        assert woke == []  # the earlier signals did not carry over
        dump = goroutine_dump()
        assert "[sync.Cond.Wait]" in dump
        c.signal()
        wait_until(lambda: woke == [0])

    gort.run(main)


@pytest.mark.one_m
def test_cond_signal_between_unlock_and_park_is_not_lost():
    # Wait takes its ticket before unlocking L; a signal that comes while L
    # is being unlocked (here the Locker yields in unlock) is for that ticket,
    # and Wait returns without parking.  One M: the yield inside unlock must
    # be the only way the signaller gets to run.
    class YieldingLocker:
        def __init__(self):
            self.m = Mutex()

        def lock(self):
            self.m.lock()

        def unlock(self):
            self.m.unlock()
            gort.gosched()

    def main():
        c = Cond(YieldingLocker())
        woke = []
        parked_at_signal = []

        def waiter():
            c.l.lock()
            c.wait()
            woke.append(1)
            c.l.unlock()

        def signaller():
            wait_until(lambda: c.notify.wait == 1)  # the waiter holds a ticket
            parked_at_signal.append(c.notify.head is not None)
            c.signal()

        gort.go(waiter)
        gort.go(signaller)
        wait_until(lambda: woke == [1])
        return parked_at_signal

    # The signal came inside the window (the waiter had not parked yet).
    assert gort.run(main) == [False]


def test_cond_wait_without_lock_and_bad_locker():
    def main():
        c = Cond()
        with pytest.raises(SyncError, match="unlock of unlocked mutex"):
            c.wait()
        # The ticket was given back: the next signal is not spent on it.
        waiting, woke = [], []
        _start_waiters(c, 1, waiting, woke)
        c.signal()
        wait_until(lambda: woke == [0])

    gort.run(main)
    with pytest.raises(TypeError, match="not a Locker"):
        Cond(object())


def test_cond_with_rwmutex_rlocker():
    def main():
        rw = RWMutex()
        c = Cond(rw.rlocker())
        ready = [False]
        woke = []

        def reader(i):
            with c:
                while not ready[0]:
                    c.wait()
                woke.append(i)

        for i in range(3):
            gort.go(reader, i)
        gort.gosched()
        with rw:  # the writer sets the condition
            ready[0] = True
        c.broadcast()
        # Each reader records itself inside `with c:` (holding the read
        # lock): wait for the runlocks too, which at GOMAXPROCS > 1 may
        # still be running on other Ms.
        wait_until(lambda: len(woke) == 3 and rw.readerCount == 0)
        return rw.readerCount

    assert gort.run(main) == 0


def test_cond_waiter_state_is_waiting():
    def main():
        c = Cond()
        waiting, woke = [], []
        _start_waiters(c, 1, waiting, woke)
        gs = [g for g in list(proc.sched.allgs) if g.waitreason == "sync.Cond.Wait"]
        assert len(gs) == 1 and gs[0].status == _Gwaiting
        c.broadcast()
        wait_until(lambda: woke == [0])

    gort.run(main)
