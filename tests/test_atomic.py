"""gort.sync.atomic (Go: sync/atomic's typed API; cases ported from
src/sync/atomic/atomic_test.go and value_test.go).

The concurrency tests count every update: goroutines spread over 1, 2 and
4 Ms and plain OS threads bump one counter, and the total must be exact.
``test_free_threaded_mode_*`` loads a second copy of the module in its
no-GIL mode and runs both copies under an opcode-level tracer that drops
the GIL *inside* lines: the stand-in for a free-threaded CPython (none on
this machine), where a lock-free read-modify-write loses updates.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import threading
import time

import pytest
from mnutil import Chaos, fast_switching, spread, start_book

import gort
from gort.sync import SyncError, WaitGroup, atomic
from gort.sync.atomic import Bool, Int32, Int64, Uint32, Uint64, Value

pytestmark = pytest.mark.timeout(120)

INTS = [(Int32, 32, True), (Int64, 64, True), (Uint32, 32, False), (Uint64, 64, False)]
INT_IDS = [t.__name__ for t, _, _ in INTS]


# --------------------------------------------------------------------------
# Sized integers: Go's TestAdd*/TestSwap*/TestCompareAndSwap*/TestAnd*/TestOr*


@pytest.mark.parametrize("T,bits,signed", INTS, ids=INT_IDS)
def test_add_doubling_deltas(T, bits, signed):
    # Go: TestAddInt32 -- delta doubles until x+delta would overflow.
    hi = (1 << (bits - 1 if signed else bits)) - 1
    x = T()
    j = 0
    delta = 1
    while j + delta <= hi:
        k = x.add(delta)
        j += delta
        assert x.load() == j and k == j, (delta, x.load(), k, j)
        delta += delta


@pytest.mark.parametrize("T,bits,signed", INTS, ids=INT_IDS)
def test_add_wraps_around(T, bits, signed):
    M = (1 << bits) - 1
    if signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        x = T(hi)
        assert x.add(1) == lo  # Go: MaxInt32 + 1 == MinInt32
        assert x.add(-1) == hi
        assert x.add(M + 1) == hi  # a delta of 2^bits changes nothing
    else:
        x = T(M)
        assert x.add(1) == 0
        assert x.add(-1) == M  # Go: AddUint32(&x, ^uint32(0))
        assert x.add(-(M + 1) * 3) == M
    assert x.load() == (hi if signed else M)


@pytest.mark.parametrize("T,bits,signed", INTS, ids=INT_IDS)
def test_swap(T, bits, signed):
    # Go: TestSwapInt32 -- each swap returns the previous value.
    x = T()
    j = 0
    delta = 1
    hi = (1 << (bits - 1 if signed else bits)) - 1
    while j + delta <= hi:
        k = x.swap(delta)
        assert x.load() == delta and k == j, (delta, x.load(), k, j)
        j = delta
        delta += delta


@pytest.mark.parametrize("T,bits,signed", INTS, ids=INT_IDS)
def test_compare_and_swap(T, bits, signed):
    # Go: TestCompareAndSwapInt32.
    x = T()
    val = 1
    hi = (1 << (bits - 1 if signed else bits)) - 1
    while val + val <= hi:
        x.store(val)
        assert x.compare_and_swap(val, val + 1)
        assert x.load() == val + 1
        x.store(val + 1)
        assert not x.compare_and_swap(val, val + 2)
        assert x.load() == val + 1
        val += val
    if signed:
        x.store(-5)
        assert x.compare_and_swap(-5, -(1 << (bits - 1)))
        assert x.load() == -(1 << (bits - 1))


@pytest.mark.parametrize("T,bits,signed", INTS, ids=INT_IDS)
def test_and_or_return_old_value(T, bits, signed):
    # Go 1.23: TestAndInt32/TestOrInt32 -- clear (then set) one bit at a
    # time; each call returns the value before it.  Masks are taken modulo
    # 2^bits: ~(1 << i) is Go's ^(1 << i), and 1 << 31 is Int32's sign bit.
    M = (1 << bits) - 1
    B = 1 << (bits - 1) if signed else 0

    def wrap(v):
        return ((v + B) & M) - B

    allones = wrap(M)
    x = T(allones)
    expect = allones
    for i in range(bits):
        assert x.and_(~(1 << i)) == expect
        expect = wrap(expect & ~(1 << i))
        assert x.load() == expect
    assert expect == 0
    for i in range(bits):
        assert x.or_(1 << i) == expect
        expect = wrap(expect | (1 << i))
        assert x.load() == expect
    assert x.load() == allones


@pytest.mark.parametrize("T,bits,signed", INTS, ids=INT_IDS)
def test_bad_values_raise_and_change_nothing(T, bits, signed):
    x = T(7)
    for f in (lambda: x.add(1.5), lambda: x.add("1"), lambda: x.store(2.0),
              lambda: x.swap(None), lambda: x.compare_and_swap(7.0, 1),
              lambda: x.and_(1.0), lambda: x.or_([1]), lambda: T(0.5)):
        with pytest.raises(TypeError, match=rf"{T.__name__}\.\w+: expected an int"):
            f()
    too_big = 1 << (bits - 1 if signed else bits)
    too_small = -(1 << (bits - 1)) - 1 if signed else -1
    for v in (too_big, too_small):
        with pytest.raises(OverflowError, match="out of range"):
            x.store(v)
        with pytest.raises(OverflowError, match="out of range"):
            x.swap(v)
        with pytest.raises(OverflowError, match="out of range"):
            x.compare_and_swap(7, v)
    assert x.load() == 7
    assert x.compare_and_swap(True, 1) is False  # True is 1: compared as an int
    assert x.add(True) == 8
    assert repr(x) == f"<gort.sync.atomic.{T.__name__} 8>"


def test_bool():
    b = Bool()
    assert b.load() is False
    b.store(True)
    assert b.load() is True
    assert b.swap(False) is True and b.load() is False
    assert not b.compare_and_swap(True, False)
    assert b.compare_and_swap(False, True) and b.load() is True
    for f in (lambda: b.store(1), lambda: b.swap(None), lambda: Bool(0),
              lambda: b.compare_and_swap(1, False)):
        with pytest.raises(TypeError, match="expected a bool"):
            f()
    assert b.load() is True


# --------------------------------------------------------------------------
# Value: Go's value_test.go


def test_value():
    # Go: TestValue, TestValueLarge.
    v = Value()
    assert v.load() is None
    v.store(42)
    assert v.load() == 42
    v.store(84)
    assert v.load() == 84
    s = Value()
    s.store("foo")
    s.store("barbaz")
    assert s.load() == "barbaz"


def test_value_panic():
    # Go: TestValuePanic.
    nil_err = "sync/atomic: store of nil value into Value"
    bad_err = "sync/atomic: store of inconsistently typed value into Value"
    v = Value()
    with pytest.raises(SyncError, match=nil_err):
        v.store(None)
    v.store(42)
    with pytest.raises(SyncError, match=bad_err):
        v.store("foo")
    with pytest.raises(SyncError, match=bad_err):
        v.store(True)  # bool is not int, as in Go
    with pytest.raises(SyncError, match=nil_err):
        v.store(None)
    assert v.load() == 42


@pytest.mark.parametrize("init,new,want,err", [
    # Go: Value_SwapTests.
    (None, None, None, "sync/atomic: swap of nil value into Value"),
    (None, True, None, None),
    (True, "", None, "sync/atomic: swap of inconsistently typed value into Value"),
    (True, False, True, None),
])
def test_value_swap(init, new, want, err):
    v = Value()
    if init is not None:
        v.store(init)
    if err is not None:
        with pytest.raises(SyncError, match=err):
            v.swap(new)
        assert v.load() is init
        return
    assert v.swap(new) is want
    assert v.load() is new


class _S:
    """Go's struct{ uint }: equal by value, not by identity."""

    def __init__(self, u):
        self.u = u

    def __eq__(self, other):
        return type(other) is _S and other.u == self.u

    __hash__ = None


@pytest.mark.parametrize("init,new,old,want,err", [
    # Go: Value_CompareAndSwapTests.
    (None, None, None, False, "sync/atomic: compare and swap of nil value into Value"),
    (None, True, "", False, "sync/atomic: compare and swap of inconsistently typed values"),
    (None, True, True, False, None),
    (None, True, None, True, None),
    (True, "", None, False,
     "sync/atomic: compare and swap of inconsistently typed value into Value"),
    (True, True, False, False, None),
    (True, True, True, True, None),
    (_S(0), _S(1), _S(0), True, None),  # heapA vs heapB: equal values, two objects
])
def test_value_compare_and_swap(init, new, old, want, err):
    v = Value()
    if init is not None:
        v.store(init)
    if err is not None:
        with pytest.raises(SyncError, match=err):
            v.compare_and_swap(old, new)
        assert v.load() is init
        return
    assert v.compare_and_swap(old, new) is want
    assert v.load() is (new if want else init)


# --------------------------------------------------------------------------
# Concurrency: every update counted, on 1, 2 and 4 Ms and plain threads


def _threads(n: int, fn, *args) -> list[threading.Thread]:
    ts = [threading.Thread(target=fn, args=args, daemon=True) for _ in range(n)]
    for t in ts:
        t.start()
    return ts


def _join(ts: list[threading.Thread]) -> None:
    for t in ts:
        t.join(60)
        assert not t.is_alive()


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_counter_goroutines_on_many_ms_and_plain_threads(procs, no_thread_leak):
    # Go: TestHammer32/64's add hammer, plus Go 1.23 And/Or and a CAS loop:
    # G goroutines (spread over the Ms) and T plain threads each do N of
    # every operation on the same atomics; nothing may be lost.
    G, T, N = 8, 3, 3000

    def hammer(c64: Int64, u32: Uint32, cas: Int32, bits: Uint64, who: int) -> None:
        for i in range(N):
            c64.add(1)
            u32.add(-1)  # wraps: unsigned decrement
            while True:  # Go's CAS increment loop
                old = cas.load()
                if cas.compare_and_swap(old, old + 1):
                    break
            bit = 1 << (who % 60)
            if i % 2 == 0:
                bits.or_(bit)
            else:
                bits.and_(~bit)

    def main():
        book = start_book(procs)
        c64, u32, cas, bits = Int64(), Uint32(), Int32(), Uint64()
        wg = WaitGroup()

        def g(who):
            book.seen()
            hammer(c64, u32, cas, bits, who)
            wg.done()

        wg.add(G)
        ts = _threads(T, hammer, c64, u32, cas, bits, 59)
        for who in range(G):
            gort.go(g, who)
        spread(book, procs=procs)
        wg.wait()
        _join(ts)
        return c64.load(), u32.load(), cas.load(), bits.load(), book

    with fast_switching(1e-5):
        c, u, k, b, book = gort.run(main)
    total = (G + T) * N
    assert c == total
    assert u == (-total) % (1 << 32)
    assert k == total
    assert b == 0  # each worker's last op (N even) cleared its own bit
    if procs > 1:
        assert len(book.threads) > 1, book.threads


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_value_swap_concurrent_sums(procs, no_thread_leak):
    # Go: TestValueSwapConcurrent -- every value swapped in is swapped out
    # exactly once (or is the last one left): the sum is exact.
    G, N = 8, 1000

    def main():
        book = start_book(procs)
        v = Value()
        total = Int64()
        wg = WaitGroup()

        def g(i):
            book.seen()
            c = 0
            for new in range(i, i + N):
                old = v.swap(new)
                if old is not None:
                    c += old
                if new % 50 == 0:
                    gort.gosched()
            total.add(c)
            wg.done()

        wg.add(G)
        for i in range(0, G * N, N):
            gort.go(g, i)
        spread(book, procs=procs)
        wg.wait()
        return total.load() + v.load()

    with fast_switching(1e-5):
        got = gort.run(main)
    m = G * N
    assert got == (m - 1) * m // 2


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_value_compare_and_swap_concurrent(procs, no_thread_leak):
    # Go: TestValueCompareAndSwapConcurrent -- goroutine i owns the steps
    # i, i+m, i+2m...; the value reaches m*n only if no CAS is lost.
    m, n = 20, 30

    def main():
        start_book(procs)
        v = Value()
        v.store(0)
        wg = WaitGroup()

        def g(i):
            j = i
            while j < m * n:
                if v.compare_and_swap(j, j + 1):
                    j += m
                gort.gosched()
            wg.done()

        wg.add(m)
        for i in range(m):
            gort.go(g, i)
        wg.wait()
        return v.load()

    with fast_switching(1e-5):
        assert gort.run(main) == m * n


def test_value_concurrent_loads_see_only_stored_values(no_thread_leak):
    # Go: TestValueConcurrent, with plain threads.
    tests = [[0, 0xFFFF, 1 + (2 << 8), 3 + (4 << 8)], [0j, 1 + 2j, 3 + 4j, 5 + 6j]]
    for vals in tests:
        v = Value()
        bad = []

        def hammer(vals=vals, v=v, bad=bad):
            r = random.Random()
            for _ in range(2000):
                v.store(r.choice(vals))
                if v.load() not in vals:
                    bad.append(v.load())

        with fast_switching(1e-5):
            _join(_threads(4, hammer))
        assert not bad


def test_first_store_race_fixes_one_type(no_thread_leak):
    # Go's Value.Store: two first stores of different types race; exactly
    # one type wins and every store of the other type panics.
    for _ in range(20):
        v = Value()
        go = threading.Barrier(2)
        errs: list[BaseException] = []

        def put(x, v=v, go=go, errs=errs):
            go.wait()
            for _ in range(50):
                try:
                    v.store(x)
                except SyncError as e:
                    errs.append(e)
                    return

        ts = [threading.Thread(target=put, args=(x,)) for x in (1, "one")]
        for t in ts:
            t.start()
        _join(ts)
        assert len(errs) == 1
        assert type(v.load()) in (int, str)


# --------------------------------------------------------------------------
# The free-threaded mode (module docstring)


def _load_atomic(monkeypatch, gil: bool):
    """A fresh copy of gort/sync/atomic.py, made as if sys._is_gil_enabled()
    said gil."""
    spec = importlib.util.spec_from_file_location("gort.sync._atomic_copy", atomic.__file__)
    mod = importlib.util.module_from_spec(spec)
    with monkeypatch.context() as mp:
        mp.setattr(sys, "_is_gil_enabled", lambda: gil, raising=False)
        spec.loader.exec_module(mod)
    assert mod._GIL is gil
    return mod


def _opcode_chaos(frame, event, arg):
    # Trace only atomic.py's frames, opcode by opcode, and drop the GIL on
    # one opcode in four: other threads then run *inside* a line, as they
    # can at any bytecode on a free-threaded build.
    if frame.f_code.co_filename != atomic.__file__:
        return None
    frame.f_trace_opcodes = True

    def local(frame, event, arg):
        if event == "opcode" and random.random() < 0.25:
            time.sleep(0)
        return local

    return local


def _chaos_count(mod, threads: int = 4, n: int = 300) -> tuple[int, int, int]:
    x, k, u = mod.Int64(), mod.Int32(), mod.Uint64()

    def hammer():
        sys.settrace(_opcode_chaos)
        try:
            for _ in range(n):
                x.add(1)
                u.or_(1)  # idempotent: only checks it does not crash
                while not k.compare_and_swap(old := k.load(), old + 1):
                    pass
        finally:
            sys.settrace(None)

    with fast_switching(1e-6):
        _join(_threads(threads, hammer))
    return x.load(), k.load(), u.load()


def test_free_threaded_mode_locks_every_write(monkeypatch, no_thread_leak):
    ft = _load_atomic(monkeypatch, gil=False)
    x = ft.Int64()
    assert isinstance(x._mu, type(threading.Lock()))
    assert ft.Int64.add.__wrapped__ is not None  # _rmw wrapped it
    assert _chaos_count(ft, n=150) == (4 * 150, 4 * 150, 1)


def test_free_threaded_interleaving_breaks_the_lock_free_mode(monkeypatch, no_thread_leak):
    # The same run on the GIL mode's bodies: the chaos tracer must make it
    # lose updates, or the test above proves nothing.
    gil = _load_atomic(monkeypatch, gil=True)
    assert not hasattr(gil.Int64.add, "__wrapped__")
    lost = False
    for _ in range(3):
        got, _, _ = _chaos_count(gil)
        if got < 4 * 300:
            lost = True
            break
    assert lost, "the opcode tracer never interleaved a read-modify-write"


def test_with_the_gil_one_line_adds_are_exact_in_plain_threads(no_thread_leak):
    # The GIL mode's claim: a read-modify-write written on one line is never
    # interrupted, however often the threads switch (and under a line
    # tracer, which runs only between lines).
    if not atomic._GIL:
        pytest.skip("free-threaded build: the locked mode is in use")
    x = Int64()
    y = Uint32()

    def hammer():
        for _ in range(20000):
            x.add(1)
            y.add(3)

    with fast_switching(1e-6):
        _join(_threads(6, hammer))
    assert x.load() == 6 * 20000
    assert y.load() == 6 * 20000 * 3


def test_with_the_gil_adds_are_exact_under_a_line_tracer(no_thread_leak):
    # A line tracer (coverage, a debugger; here mnutil's chaos tracer, which
    # sleeps between lines one time in ten) may switch threads between any
    # two lines of atomic.py: every read-modify-write is on one line, so
    # nothing is lost.  (A two-line "v = x + 1; self.x = v" would be.)
    if not atomic._GIL:
        pytest.skip("free-threaded build: the locked mode is in use")
    chaos = Chaos(atomic, cut=1)
    x, k, v = Int64(), Int32(), Value()
    v.store(0)

    def hammer():
        for _ in range(400):
            x.add(1)
            while not k.compare_and_swap(old := k.load(), old + 1):
                pass
            while not v.compare_and_swap(old := v.load(), old + 1):
                pass

    with fast_switching(1e-5, chaos):
        _join(_threads(4, hammer))
    assert (x.load(), k.load(), v.load()) == (1600, 1600, 1600)
