"""gort.nilchan, Go's nil channel (issue 16), and the gort.Panic family.

Go's spec: a send or receive on a nil channel blocks forever, close of a
nil channel panics, len and cap are 0, a select case on it is never
ready.  Go's runtime: the wait reasons "chan receive (nil chan)" and
"chan send (nil chan)" (chan_test.go, TestNilChan-like checks)."""

import pickle

import pytest

import gort
import gort.time as gtime
from gort import context
from gort.hchan import chanrecv, chansend, closechan
from gort.sched.proc import sched


def _waitreason_of(fn):
    """Start fn in a goroutine, let it park, return its wait reason."""
    def main():
        gort.go(fn)
        end = gtime.now() + 5  # bounded: at GOMAXPROCS > 1 another M may start it
        while True:
            gort.gosched()
            gs = [g for g in list(sched.allgs) if g.waitreason.endswith("(nil chan)")]
            if gs or gtime.now() > end:
                break
        assert len(gs) == 1
        return gs[0].waitreason
    return main


def test_nilchan_basics():
    n = gort.nilchan
    assert isinstance(n, gort.Chan)
    assert len(n) == 0 and n.cap == 0
    assert not n  # "if ch" means "not the nil channel"
    assert gort.chan() and gort.chan(0)
    assert repr(n) == "gort.nilchan"
    assert type(n)() is n  # one nil channel
    assert pickle.loads(pickle.dumps(n)) is n
    with pytest.raises(gort.ClosedChannelError, match="^close of nil channel$"):
        n.close()
    with pytest.raises(gort.ClosedChannelError, match="^close of nil channel$"):
        closechan(n)
    # The non-blocking forms fail at once, as Go's selectnbsend/selectnbrecv.
    assert chansend(n, 1, False) is False
    assert chanrecv(n, False) == (False, None, False)


@pytest.mark.parametrize("op,reason", [
    ("recv", "chan receive (nil chan)"),
    ("recv_ok", "chan receive (nil chan)"),
    ("iter", "chan receive (nil chan)"),
    ("send", "chan send (nil chan)"),
])
def test_nilchan_blocks_forever_with_gos_wait_reason(op, reason):
    fns = {"recv": gort.nilchan.recv, "recv_ok": gort.nilchan.recv_ok,
           "iter": lambda: next(iter(gort.nilchan)), "send": lambda: gort.nilchan.send(1)}
    assert gort.run(_waitreason_of(fns[op])) == reason


def test_nilchan_recv_is_a_deadlock_with_a_dump():
    def main():
        gort.nilchan.recv()

    with pytest.raises(gort.Deadlock) as ei:
        gort.run(main)
    assert "[chan receive (nil chan)]" in ei.value.dump


def test_select_never_picks_nilchan():
    def main():
        c = gort.chan(1)
        c.send("x")
        for _ in range(50):
            i, v, ok = gort.select(gort.recv(gort.nilchan), gort.send(gort.nilchan, 1),
                                   gort.recv(c), default=True)
            assert (i, v, ok) == (2, "x", True)
            c.send("x")
        assert gort.select(gort.recv(gort.nilchan), default=True) == (-1, None, False)
        assert gort.select(gort.send(gort.nilchan, 1), default=True) == (-1, None, False)
        assert gort.select(gort.recv(gort.nilchan), gort.send(None, 1),
                           default=True) == (-1, None, False)
        # Blocking: the nil cases never win, the timer does.
        i, _, _ = gort.select(gort.recv(gort.nilchan), gort.send(gort.nilchan, 2),
                              gort.recv(gtime.after(0.01)))
        assert i == 2
        i, _, _ = gort.select(gort.recv(None), gort.recv(gtime.after(0.01)))
        assert i == 1  # None is still the nil channel

    gort.run(main)


def test_select_only_nil_cases_blocks_forever():
    def main():
        gort.select(gort.recv(gort.nilchan), gort.send(gort.nilchan, 1))

    with pytest.raises(gort.Deadlock, match="deadlock"):
        gort.run(main)


def test_background_done_is_nilchan():
    for ctx in (context.background(), context.todo(),
                context.with_value(context.background(), "k", 1)):
        assert ctx.done() is gort.nilchan

    def main():
        context.background().done().recv()  # Go: <-ctx.Done() blocks forever

    with pytest.raises(gort.Deadlock):
        gort.run(main)


def test_panics_are_one_family():
    assert issubclass(gort.Panic, RuntimeError)
    assert issubclass(gort.ClosedChannelError, gort.Panic)
    assert issubclass(gort.sync.SyncError, gort.Panic)
    assert not issubclass(gort.Deadlock, gort.Panic)  # a fatal error, not a panic
    c = gort.chan()
    c.close()
    for f in (c.close, lambda: c.send(1), gort.nilchan.close, gort.sync.Mutex().unlock,
              lambda: gort.sync.WaitGroup().add(-1), gort.sync.RWMutex().unlock,
              gort.sync.RWMutex().runlock):
        with pytest.raises(gort.Panic):
            f()


def test_makechan_size_out_of_range():
    with pytest.raises(ValueError, match="makechan: size out of range"):
        gort.chan(2**100)
    with pytest.raises(ValueError, match="makechan: size out of range"):
        gort.chan(1 << 45)
    with pytest.raises(ValueError, match="makechan: size out of range"):
        gort.chan(-1)
    assert gort.chan((1 << 45) - 1).cap == (1 << 45) - 1  # the largest is accepted
    assert gort.chan(0).cap == 0 and gort.chan(1).cap == 1
