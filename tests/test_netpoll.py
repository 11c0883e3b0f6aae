"""gort/netpoll: the pollDesc state machine, deadlines, the pollcache, both
backends (epoll edge-triggered, poll level-triggered + netpollarm) on real
pipes and socketpairs, netpollBreak, and the scheduler integration.

Go: src/runtime/netpoll.go, netpoll_epoll.go, netpoll_solaris.go.
"""

import os
import resource
import select
import socket
import subprocess
import sys
import threading
import time
from time import monotonic

import psutil
import pytest
from testutil import wait_until

import gort
from gort.netpoll import (
    BACKENDS,
    newbackend,
    pdNil,
    pdReady,
    pdWait,
    poll_runtime_pollClose,
    poll_runtime_pollOpen,
    poll_runtime_pollReset,
    poll_runtime_pollSetDeadline,
    poll_runtime_pollUnblock,
    poll_runtime_pollWait,
    pollcache,
    pollErrClosing,
    pollErrNotPollable,
    pollErrTimeout,
    pollNoError,
)
from gort.netpoll import netpoll as np
from gort.sched import proc
from gort.sched.runtime2 import G, _Gwaiting, gList

# --------------------------------------------------------------------------
# helpers


def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def close_pd(pd):
    poll_runtime_pollUnblock(pd)
    poll_runtime_pollClose(pd)


def read_some(pd, sock, n=65536):
    """internal/poll's FD.Read: reset, try the syscall, wait only on EAGAIN.
    Returns bytes, or the poll error code."""
    err = poll_runtime_pollReset(pd, "r")
    if err:
        return err
    while True:
        try:
            return sock.recv(n)
        except BlockingIOError:
            err = poll_runtime_pollWait(pd, "r")
            if err:
                return err


def write_all(pd, sock, data):
    err = poll_runtime_pollReset(pd, "w")
    if err:
        return err
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view):]
        except BlockingIOError:
            err = poll_runtime_pollWait(pd, "w")
            if err:
                return err
    return pollNoError


def fill(sock):
    """Write until the socket buffer is full (EAGAIN)."""
    chunk = b"x" * 65536
    n = 0
    while True:
        try:
            n += sock.send(chunk)
        except BlockingIOError:
            return n


def drain(sock):
    n = 0
    while True:
        try:
            d = sock.recv(1 << 20)
        except BlockingIOError:
            return n
        if not d:
            return n
        n += len(d)


class Done:
    """Park the caller (no busy wait, so the scheduler really blocks in
    netpoll) until n goroutines have called done()."""

    def __init__(self, n):
        self.n = n
        self.g = None

    def done(self):
        self.n -= 1
        if self.n == 0 and self.g is not None:
            g, self.g = self.g, None
            proc.goready(g)

    def wait(self):
        if self.n > 0:
            self.g = proc.getg()
            proc.gopark(None, None, "test wait")


def parked_in_io(gp):
    return isinstance(gp, G) and gp.status == _Gwaiting and gp.waitreason == "IO wait"


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run the test on each backend: switch the poller, restore the default."""
    name = request.param
    default = np._backendname()
    np._setbackend(newbackend(name))
    try:
        yield name
    finally:
        np._setbackend(newbackend(default))


@pytest.fixture
def sockets():
    """Socketpairs made by the test, closed at its end."""
    made = []

    def make():
        a, b = pair()
        made.extend((a, b))
        return a, b

    yield make
    for s in made:
        s.close()


# --------------------------------------------------------------------------
# The pollDesc state machine, driven directly


def test_error_codes_and_states_are_gos():
    assert (pollNoError, pollErrClosing, pollErrTimeout, pollErrNotPollable) == (0, 1, 2, 3)
    assert (pdNil, pdReady, pdWait) == (0, 1, 2)


def test_ready_before_wait_is_consumed_without_parking(sockets):
    a, _ = sockets()
    pd = poll_runtime_pollOpen(a.fileno())
    try:
        toRun = gList()
        assert np.netpollready(toRun, pd, "r") == 0  # nobody parked: delta 0
        assert toRun.empty() and pd.rg is pdReady and pd.wg is pdNil
        # netpollblock consumes pdReady and returns at once.
        assert np.netpollblock(pd, "r", False) is True
        assert pd.rg is pdNil
        # A second event while pdReady is pending changes nothing.
        np.netpollready(toRun, pd, "rw")
        np.netpollready(toRun, pd, "rw")
        assert pd.rg is pdReady and pd.wg is pdReady and toRun.empty()
        # pollReset throws stale readiness away.
        assert poll_runtime_pollReset(pd, "r") == pollNoError
        assert pd.rg is pdNil and pd.wg is pdReady
    finally:
        close_pd(pd)


@pytest.mark.one_m
def test_park_then_ready_wakes_exactly_that_g(sockets):
    # One M: it drives netpollready by hand, which another M's poller would race.
    a, _ = sockets()
    res = []

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        pd.rg = pd.wg = pdNil  # forget the registration edge
        gort.go(lambda: res.append(poll_runtime_pollWait(pd, "r")))
        gort.gosched()
        gp = pd.rg
        assert parked_in_io(gp)
        assert proc.sched.netpollWaiters == 1
        # A timeout/close on another direction does not touch it.
        assert np.netpollunblock(pd, "w", False) is None and pd.rg is gp
        toRun = gList()
        assert np.netpollready(toRun, pd, "r") == -1
        assert list(toRun) == [gp] and gp.schedlink is None
        assert pd.rg is pdReady  # the G will consume it
        np.netpollAdjustWaiters(-1)
        proc.injectglist(toRun)
        wait_until(lambda: res)
        assert res == [pollNoError]
        assert pd.rg is pdNil and proc.sched.netpollWaiters == 0
        close_pd(pd)

    gort.run(main)


def _schedlinked(glist, limit=8):
    """The Gs of a gList from netpoll, read through schedlink as injectglist
    would pop them (bounded: a cycle fails, not hangs)."""
    out = []
    gp = glist.head if glist is not None else None
    while gp is not None:
        assert len(out) < limit, f"schedlink cycle or runaway list: {out}"
        out.append(gp)
        gp = gp.schedlink
    return out


@pytest.mark.one_m
@pytest.mark.parametrize("order", ["r,w", "w,r", "rw"])
def test_backend_netpoll_returns_exactly_the_woken_gs(backend, sockets, order):
    """The backend's own netpoll(0), called where the scheduler calls it
    (proc._pollnow: on the M, then injectglist), with a reader and a writer
    parked on one pollDesc of a real socketpair: each poll returns a gList,
    linked through schedlink, of exactly the Gs its events wake, still
    waiting (injectglist readies them); their rg/wg are pdReady (Go's
    netpollready -> netpollunblock(pd, mode, ioready=true)) and the other
    direction's parked G is left alone.  Once injected, each woken G takes
    pdReady back to pdNil (netpollblock) and its pollWait returns
    pollNoError.  ``order``: which directions become ready, poll by poll.

    One M: between making the fd ready and the direct call nothing yields,
    so no scheduler poll can take the events first."""
    a, b = sockets()
    fill(a)  # a cannot write (its buffer is full), and has nothing to read
    res = {}

    def main():
        poller = np._backend
        assert poller.name == backend
        pd = poll_runtime_pollOpen(a.fileno())

        def waiter(mode):
            res[mode] = poll_runtime_pollWait(pd, mode)

        gort.go(waiter, "r")
        gort.go(waiter, "w")
        wait_until(lambda: parked_in_io(pd.rg) and parked_in_io(pd.wg),
                   "a reader and a writer parked on pd")
        parked = {"r": pd.rg, "w": pd.wg}
        assert parked["r"] is not parked["w"]
        word = {"r": lambda: pd.rg, "w": lambda: pd.wg}
        pending = {"r", "w"}
        for step in order.split(","):
            # Make the step's directions ready, with plain socket calls.
            if "r" in step:
                b.send(b"x")
            if "w" in step:
                drain(b)
            glist = poller.netpoll(0)
            woken = _schedlinked(glist)
            assert len(woken) == len(step), (step, woken)
            assert set(woken) == {parked[m] for m in step}, (step, woken)
            assert all(gp.status == _Gwaiting for gp in woken)
            pending -= set(step)
            for m in step:
                assert word[m]() is pdReady, (m, word[m]())
            for m in pending:
                assert word[m]() is parked[m], (m, word[m]())
                assert m not in res
            # What the scheduler does next: inject the list; the Gs run.
            proc.injectglist(glist)
            wait_until(lambda s=step: all(m in res for m in s), f"the {step} waiter(s) to return")
            for m in step:
                assert res[m] == pollNoError
                assert word[m]() is pdNil, (m, word[m]())
            for m in pending:
                assert word[m]() is parked[m] and m not in res
        assert not pending and set(res) == {"r", "w"}
        close_pd(pd)

    gort.run(main)


def test_commit_fails_when_event_or_timeout_wins_the_window(sockets):
    a, _ = sockets()

    def main():
        gp = proc.getg()
        pd = poll_runtime_pollOpen(a.fileno())
        # pdWait published, then an event arrives before the park commits.
        pd.rg = pdWait
        assert np.netpollunblock(pd, "r", True) is None
        assert pd.rg is pdReady
        assert np.netpollblockcommit(gp, (pd, 0)) is False
        # pdWait published, then a timeout/close clears it: commit fails too.
        pd.wg = pdWait
        assert np.netpollunblock(pd, "w", False) is None
        assert pd.wg is pdNil
        assert np.netpollblockcommit(gp, (pd, 1)) is False
        assert proc.sched.netpollWaiters == 0
        # A timeout finding pdNil never creates pdReady.
        assert np.netpollunblock(pd, "w", False) is None and pd.wg is pdNil
        pd.rg = pdNil
        close_pd(pd)

    gort.run(main)


def test_double_wait_is_an_error(sockets):
    a, _ = sockets()
    errs = []

    def second(pd):
        try:
            poll_runtime_pollWait(pd, "r")
        except RuntimeError as e:
            errs.append(str(e))

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        pd.rg = pdNil
        gort.go(poll_runtime_pollWait, pd, "r")
        wait_until(lambda: parked_in_io(pd.rg))  # several Ms: it may run on another
        gort.go(second, pd)
        wait_until(lambda: errs)
        assert errs == ["runtime: double wait"]
        close_pd(pd)

    gort.run(main)


def test_close_while_waiting_both_directions(sockets):
    a, _ = sockets()
    res = {}

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        fill(a)
        pd.rg = pd.wg = pdNil
        gort.go(lambda: res.setdefault("r", poll_runtime_pollWait(pd, "r")))
        gort.go(lambda: res.setdefault("w", poll_runtime_pollWait(pd, "w")))
        wait_until(lambda: parked_in_io(pd.rg) and parked_in_io(pd.wg))  # M:N: may run elsewhere
        assert proc.sched.netpollWaiters == 2
        poll_runtime_pollUnblock(pd)
        wait_until(lambda: len(res) == 2)
        assert res == {"r": pollErrClosing, "w": pollErrClosing}
        assert proc.sched.netpollWaiters == 0
        # Every later operation fails the same way, data or not.
        assert poll_runtime_pollReset(pd, "r") == pollErrClosing
        assert poll_runtime_pollWait(pd, "w") == pollErrClosing
        poll_runtime_pollSetDeadline(pd, monotonic() - 1, "rw")  # ignored when closing
        assert pd.rd == 0 and not pd.rrun
        with pytest.raises(RuntimeError, match="unblock on closing polldesc"):
            poll_runtime_pollUnblock(pd)
        poll_runtime_pollClose(pd)

    gort.run(main)


def test_close_protocol_errors(sockets):
    a, _ = sockets()
    pd = poll_runtime_pollOpen(a.fileno())
    with pytest.raises(RuntimeError, match="close polldesc w/o unblock"):
        poll_runtime_pollClose(pd)
    poll_runtime_pollUnblock(pd)
    g = proc.G()
    pd.rg = g  # as if someone were still parked
    with pytest.raises(RuntimeError, match="blocked read on closing polldesc"):
        poll_runtime_pollClose(pd)
    pd.rg = pdNil
    poll_runtime_pollClose(pd)
    with pytest.raises(RuntimeError, match="freed polldesc"):
        poll_runtime_pollClose(pd)


def test_deadline_in_the_past_while_waiting_and_sticky(sockets):
    a, b = sockets()
    res = []

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        gort.go(lambda: res.append(read_some(pd, a)))
        wait_until(lambda: parked_in_io(pd.rg))  # M:N: another M may start it
        t0 = monotonic()
        poll_runtime_pollSetDeadline(pd, monotonic() - 5, "r")
        assert pd.rd == -1
        wait_until(lambda: res)
        assert res == [pollErrTimeout] and monotonic() - t0 < 0.5
        assert proc.sched.netpollWaiters == 0
        # Sticky: fails at once even with data ready, again and again.
        b.send(b"data")
        for _ in range(2):
            assert poll_runtime_pollReset(pd, "r") == pollErrTimeout
            assert poll_runtime_pollWait(pd, "r") == pollErrTimeout
        # The write side has its own deadline.
        assert poll_runtime_pollReset(pd, "w") == pollNoError
        # Clearing it lets the data through.
        poll_runtime_pollSetDeadline(pd, None, "r")
        assert read_some(pd, a) == b"data"
        close_pd(pd)

    gort.run(main)


def test_deadline_timer_fires_never_early(sockets):
    a, _ = sockets()

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        for d in (0.001, 0.03, 0.08):
            dl = monotonic() + d
            poll_runtime_pollSetDeadline(pd, dl, "r")
            assert pd.rrun and pd.rt.f is np.netpollReadDeadline
            assert read_some(pd, a) == pollErrTimeout
            now = monotonic()
            assert now >= dl, "deadline fired early"
            assert now - dl < 0.5
            assert pd.rd == -1 or now >= pd.rd
        assert proc.sched.netpollWaiters == 0
        close_pd(pd)

    gort.run(main)


def test_extend_deadline_while_waiting(sockets):
    a, _ = sockets()
    out = []

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        t0 = monotonic()
        poll_runtime_pollSetDeadline(pd, t0 + 0.05, "r")
        seq0 = pd.rseq
        gort.go(lambda: out.append((read_some(pd, a), monotonic())))
        gort.gosched()
        gort.blocking(time.sleep, 0.01)
        assert not out
        poll_runtime_pollSetDeadline(pd, t0 + 0.25, "r")  # moved while it waits
        assert pd.rseq == seq0 + 1 and pd.rrun  # modtimer in place, old firing stale
        wait_until(lambda: out, timeout=5)
        code, t = out[0]
        assert code == pollErrTimeout
        assert t - t0 >= 0.25, f"woke at {t - t0:.3f}s, before the moved deadline"
        # Shorten it while waiting: wakes at the earlier time.
        out.clear()
        t1 = monotonic()
        poll_runtime_pollSetDeadline(pd, t1 + 10, "r")
        gort.go(lambda: out.append((read_some(pd, a), monotonic())))
        gort.gosched()
        poll_runtime_pollSetDeadline(pd, t1 + 0.05, "r")
        wait_until(lambda: out, timeout=5)
        assert out[0][0] == pollErrTimeout and 0.05 <= out[0][1] - t1 < 2
        close_pd(pd)

    gort.run(main)


@pytest.mark.one_m
def test_timer_fired_but_deadline_reset_before_waiter_runs(sockets):
    """Go's pollWait loop: netpollblock returns false, no error any more
    (the deadline was moved before the waiter ran): wait again."""
    # One M: the window between the ready and the waiter running is this M's
    # to hold; another M would run the readied waiter at once.
    a, b = sockets()
    out = []

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        poll_runtime_pollSetDeadline(pd, monotonic() + 100, "r")
        gort.go(lambda: out.append(read_some(pd, a)))
        gort.gosched()
        gp = pd.rg
        assert parked_in_io(gp)
        # The read timer fires (as timerproc would call it) ...
        np.netpolldeadlineimpl(pd, pd.rseq, True, False)
        assert pd.rd == -1 and pd.rg is pdNil and gp.status != _Gwaiting
        # ... and before the waiter runs, the deadline moves to the future.
        poll_runtime_pollSetDeadline(pd, monotonic() + 100, "r")
        wait_until(lambda: parked_in_io(pd.rg))  # it waits again
        assert pd.rg is gp and not out
        b.send(b"late")
        wait_until(lambda: out)
        assert out == [b"late"]
        close_pd(pd)

    gort.run(main)


def test_stale_timer_seq_ignored_after_change_and_after_reuse(sockets):
    a, _ = sockets()
    c, _ = sockets()
    out = []

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        poll_runtime_pollSetDeadline(pd, monotonic() + 100, "r")
        old = pd.rseq
        poll_runtime_pollSetDeadline(pd, monotonic() + 200, "r")
        gort.go(lambda: out.append(read_some(pd, a)))
        gort.gosched()
        gp = pd.rg
        np.netpolldeadlineimpl(pd, old, True, False)  # stale: deadline moved
        assert pd.rd > 0 and pd.rg is gp and not out
        poll_runtime_pollUnblock(pd)
        wait_until(lambda: out)
        assert out == [pollErrClosing]
        reuse_seq = pd.rseq
        wseq = pd.wseq
        poll_runtime_pollClose(pd)
        # The pollcache hands the same descriptor out again (type-stable) ...
        pd2 = poll_runtime_pollOpen(c.fileno())
        assert pd2 is pd and pd2.fd == c.fileno() and not pd2.closing
        assert pd2.rseq > reuse_seq and pd2.wseq > wseq
        # ... and a timer armed under the old owner cannot touch the new one.
        out.clear()
        gort.go(lambda: out.append(read_some(pd2, c)))
        gort.gosched()
        gp2 = pd2.rg
        np.netpolldeadlineimpl(pd2, reuse_seq, True, True)
        assert pd2.rd == 0 and pd2.wd == 0 and pd2.rg is gp2 and not out
        close_pd(pd2)
        wait_until(lambda: out)

    gort.run(main)


def test_stale_readiness_discarded_on_reuse(sockets):
    a, _ = sockets()
    pd = poll_runtime_pollOpen(a.fileno())
    close_pd(pd)
    pd.rg = pdReady  # an event that raced the close
    pd.wg = pdReady
    fdseq = pd.fdseq
    pd2 = poll_runtime_pollOpen(a.fileno())
    assert pd2 is pd and pd.rg is pdNil and pd.wg is pdNil and pd.fdseq == fdseq
    close_pd(pd2)
    assert pd2.fdseq == fdseq + 1


def test_combined_timer_when_read_and_write_deadlines_match(sockets):
    a, _ = sockets()
    out = {}

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        fill(a)
        t0 = monotonic()
        d = t0 + 0.06
        poll_runtime_pollSetDeadline(pd, d, "rw")
        assert pd.rrun and not pd.wrun and pd.rt.f is np.netpollDeadline
        # Clearing one direction splits the combination ...
        poll_runtime_pollSetDeadline(pd, None, "w")
        assert pd.rrun and not pd.wrun and pd.rt.f is np.netpollReadDeadline
        poll_runtime_pollSetDeadline(pd, d + 1, "w")
        assert pd.wrun and pd.wt.f is np.netpollWriteDeadline
        # ... and setting the same time one direction at a time combines again.
        poll_runtime_pollSetDeadline(pd, d, "w")
        assert pd.rrun and not pd.wrun and pd.rt.f is np.netpollDeadline
        pd.rg = pd.wg = pdNil
        gort.go(lambda: out.setdefault("r", (poll_runtime_pollWait(pd, "r"), monotonic())))
        gort.go(lambda: out.setdefault("w", (poll_runtime_pollWait(pd, "w"), monotonic())))
        wait_until(lambda: len(out) == 2)
        (rc, rt), (wc, wt) = out["r"], out["w"]
        assert rc == wc == pollErrTimeout
        assert rt >= d and wt >= d
        assert pd.rd == -1 and pd.wd == -1 and not pd.rrun and not pd.wrun
        # Split again: two timers.
        poll_runtime_pollSetDeadline(pd, monotonic() + 10, "r")
        poll_runtime_pollSetDeadline(pd, monotonic() + 20, "w")
        assert pd.rrun and pd.wrun and pd.rt.f is np.netpollReadDeadline
        close_pd(pd)
        assert not pd.rrun and not pd.wrun

    gort.run(main)


@pytest.mark.one_m
def test_lazy_expiry_without_the_timer_running(sockets):
    """A goroutine that never yields still sees its deadline (digest §7)."""
    # One M: "timerproc cannot run" holds only while this M is the only one.
    a, b = sockets()

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        poll_runtime_pollSetDeadline(pd, monotonic() + 0.02, "r")
        b.send(b"x" * 10)
        assert read_some(pd, a, 1) == b"x"  # before the deadline: fine
        time.sleep(0.03)  # hold the thread: timerproc cannot run
        assert pd.rd > 0  # the timer has not fired ...
        assert read_some(pd, a, 1) == pollErrTimeout  # ... yet it is expired
        assert poll_runtime_pollWait(pd, "r") == pollErrTimeout
        close_pd(pd)

    gort.run(main)


def test_event_error_reported_to_readers_only(sockets):
    a, _ = sockets()
    pd = poll_runtime_pollOpen(a.fileno())
    pd.everr = True
    assert poll_runtime_pollReset(pd, "r") == pollErrNotPollable
    assert poll_runtime_pollReset(pd, "w") == pollNoError
    close_pd(pd)
    pd2 = poll_runtime_pollOpen(a.fileno())
    assert not pd2.everr
    close_pd(pd2)


def test_netpollunlock_releases_the_lock(sockets):
    # The founding commit's netpollunlock took the lock a second time.
    a, _ = sockets()
    pd = poll_runtime_pollOpen(a.fileno())
    np.netpolllock(pd)
    assert pd.lock.locked()
    np.netpollunlock(pd)
    assert not pd.lock.locked()
    close_pd(pd)


def test_bad_input_is_refused_clearly(sockets):
    a, _ = sockets()
    with pytest.raises(TypeError, match="fd must be an int"):
        poll_runtime_pollOpen("3")
    with pytest.raises(TypeError, match="fd must be an int"):
        poll_runtime_pollOpen(True)
    with pytest.raises(ValueError, match="fd must be >= 0"):
        poll_runtime_pollOpen(-1)
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    n = pollcache.n
    with pytest.raises(OSError):
        poll_runtime_pollOpen(r)  # closed fd
    assert r not in np.pdbyfd and pollcache.first is not None and pollcache.n <= n + 1
    pd = poll_runtime_pollOpen(a.fileno())
    with pytest.raises(ValueError, match="mode must be 'r' or 'w'"):
        poll_runtime_pollWait(pd, "x")
    with pytest.raises(ValueError, match="mode must be 'r' or 'w'"):
        poll_runtime_pollReset(pd, "rw")
    with pytest.raises(ValueError, match="'r', 'w' or 'rw'"):
        poll_runtime_pollSetDeadline(pd, None, "read")
    with pytest.raises(TypeError, match="deadline must be a float"):
        poll_runtime_pollSetDeadline(pd, "soon", "r")
    with pytest.raises(TypeError, match="deadline must be a float"):
        poll_runtime_pollSetDeadline(pd, True, "r")
    with pytest.raises(ValueError, match="NaN"):
        poll_runtime_pollSetDeadline(pd, float("nan"), "r")
    poll_runtime_pollSetDeadline(pd, float("inf"), "rw")  # never == none
    assert pd.rd == 0 and pd.wd == 0 and not pd.rrun
    poll_runtime_pollSetDeadline(pd, 0, "w")  # long past
    assert pd.wd == -1
    close_pd(pd)


def test_reopen_of_an_fd_closed_behind_the_pollers_back_evicts(sockets):
    a, _ = sockets()
    fd = a.fileno()
    out = []

    def main():
        pd = poll_runtime_pollOpen(fd)
        gort.go(lambda: out.append(read_some(pd, a)))
        gort.gosched()
        pd2 = poll_runtime_pollOpen(fd)  # no pollClose of pd in between
        assert pd2 is not pd and np.pdbyfd[fd] is pd2
        wait_until(lambda: out)
        assert out == [pollErrClosing] and pd.closing
        poll_runtime_pollClose(pd)  # its owner's late close leaves pd2 alone
        assert np.pdbyfd[fd] is pd2
        close_pd(pd2)
        assert fd not in np.pdbyfd

    gort.run(main)


def test_teardown_leaves_open_pds_clean_and_rearms_deadlines(sockets):
    a, _ = sockets()
    pd = poll_runtime_pollOpen(a.fileno())

    def first():
        poll_runtime_pollSetDeadline(pd, monotonic() + 0.15, "r")
        gort.go(read_some, pd, a)
        wait_until(lambda: parked_in_io(pd.rg))  # M:N: another M may start it
        # main returns with the reader still parked: run() kills it.

    gort.run(first)
    assert pd.rg is pdNil and proc.sched.netpollWaiters == 0
    assert not pd.rrun and pd.rd > 0 and pd.rearm

    def second():
        t0 = monotonic()
        code = read_some(pd, a)
        return code, monotonic() - t0

    code, took = gort.run(second)
    assert code == pollErrTimeout and took < 2  # the dropped timer was re-armed
    assert not pd.rearm
    close_pd(pd)


# --------------------------------------------------------------------------
# Both backends, real fds


def test_readiness_wakes_exactly_the_waiting_g(backend, sockets):
    pairs = [sockets() for _ in range(8)]
    got = {}

    def main():
        pds = [poll_runtime_pollOpen(a.fileno()) for a, _ in pairs]
        for i, ((a, _), pd) in enumerate(zip(pairs, pds, strict=True)):
            gort.go(lambda i=i, a=a, pd=pd: got.setdefault(i, read_some(pd, a)))
        gort.gosched()
        wait_until(lambda: all(parked_in_io(pd.rg) for pd in pds))
        assert proc.sched.netpollWaiters == 8
        for k in (5, 2, 7):
            pairs[k][1].send(b"%d" % k)
            wait_until(lambda k=k: k in got)
            assert got[k] == b"%d" % k
            others = [i for i in range(8) if i not in got]
            assert all(parked_in_io(pds[i].rg) for i in others)
            assert proc.sched.netpollWaiters == len(others)
        for pd in pds:
            close_pd(pd)
        wait_until(lambda: len(got) == 8)
        assert sorted(v for k, v in got.items() if k not in (5, 2, 7)) == [pollErrClosing] * 5
        assert proc.sched.netpollWaiters == 0

    gort.run(main)


def test_readiness_is_reported_once_per_edge(backend, sockets):
    """epoll: EPOLLET reports a new edge once; poll: the answered interest is
    disarmed.  Either way an fd that stays readable is not reported again."""
    a, b = sockets()
    be = np._backend
    pd = poll_runtime_pollOpen(a.fileno())
    try:
        be.netpoll(0)
        pd.rg = pd.wg = pdNil
        if be.levelTriggered:
            assert pd.user == 0  # nothing armed until someone waits
            be.netpollarm(pd, "r")
            assert pd.user == select.POLLIN
        b.send(b"1")
        be.netpoll(0)
        assert pd.rg is pdReady
        if be.levelTriggered:
            assert pd.user == 0  # disarmed after the event
        pd.rg = pdNil
        for _ in range(3):
            be.netpoll(0)
            assert pd.rg is pdNil  # still readable, but no new edge / not armed
        if be.levelTriggered:
            be.netpollarm(pd, "r")
        b.send(b"2")  # a new edge
        be.netpoll(0)
        assert pd.rg is pdReady
    finally:
        close_pd(pd)


def test_pipe_read_and_write_wakeups(backend):
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    out = []

    def reader(pd):
        total = 0
        while True:
            assert poll_runtime_pollReset(pd, "r") == pollNoError
            try:
                d = os.read(r, 1 << 16)
            except BlockingIOError:
                assert poll_runtime_pollWait(pd, "r") == pollNoError
                continue
            if not d:
                out.append(total)
                return
            total += len(d)

    def main():
        pr = poll_runtime_pollOpen(r)
        pw = poll_runtime_pollOpen(w)
        gort.go(reader, pr)
        sent = 0
        data = b"y" * 10000
        for _ in range(200):  # fills the pipe repeatedly: the writer waits too
            assert poll_runtime_pollReset(pw, "w") == pollNoError
            view = memoryview(data)
            while view:
                try:
                    k = os.write(w, view)
                except BlockingIOError:
                    assert poll_runtime_pollWait(pw, "w") == pollNoError
                    continue
                sent += k
                view = view[k:]
        close_pd(pw)
        os.close(w)  # EOF (a HUP for the reader)
        wait_until(lambda: out)
        assert out == [sent]
        close_pd(pr)

    try:
        gort.run(main)
    finally:
        os.close(r)


def test_edge_triggered_no_lost_wakeups_ping_pong(backend, sockets):
    """Many small messages both ways; every loop drains until EAGAIN before
    waiting, so each edge is enough (no wake-up may be lost)."""
    a, b = sockets()
    n = 3000
    res = {}

    fin = Done(2)

    def side(name, sock, pd, first):
        poll_runtime_pollSetDeadline(pd, monotonic() + 20, "rw")  # a lost wake-up fails
        got = 0
        sent = 0
        if first:
            assert write_all(pd, sock, b"p") == pollNoError
            sent += 1
        while got < n:
            d = read_some(pd, sock)
            assert isinstance(d, bytes) and d, d
            got += len(d)
            for _ in range(len(d)):
                if sent < n:
                    assert write_all(pd, sock, b"p") == pollNoError
                    sent += 1
        res[name] = (got, sent)
        fin.done()

    def main():
        pa = poll_runtime_pollOpen(a.fileno())
        pb = poll_runtime_pollOpen(b.fileno())
        gort.go(side, "a", a, pa, True)
        gort.go(side, "b", b, pb, False)
        fin.wait()
        assert res == {"a": (n, n), "b": (n, n)}
        assert proc.sched.netpollWaiters == 0
        close_pd(pa)
        close_pd(pb)

    gort.run(main)


def test_bulk_transfer_writer_waits_for_space(backend, sockets):
    a, b = sockets()
    size = 4 << 20
    out = []

    fin = Done(1)

    def reader(pd):
        total = 0
        poll_runtime_pollSetDeadline(pd, monotonic() + 20, "r")
        while total < size:
            d = read_some(pd, b)
            assert isinstance(d, bytes) and d
            total += len(d)
        out.append(total)
        fin.done()

    def main():
        pa = poll_runtime_pollOpen(a.fileno())
        pb = poll_runtime_pollOpen(b.fileno())
        poll_runtime_pollSetDeadline(pa, monotonic() + 20, "w")
        gort.go(reader, pb)
        assert write_all(pa, a, b"z" * size) == pollNoError
        fin.wait()
        assert out == [size]
        close_pd(pa)
        close_pd(pb)

    gort.run(main)


def test_peer_close_wakes_reader_with_eof(backend, sockets):
    a, b = sockets()
    out = []

    def main():
        pa = poll_runtime_pollOpen(a.fileno())
        gort.go(lambda: out.append(read_some(pa, a)))
        wait_until(lambda: parked_in_io(pa.rg))  # M:N: another M may start it
        b.shutdown(socket.SHUT_WR)  # RDHUP / HUP
        wait_until(lambda: out)
        assert out == [b""]
        close_pd(pa)

    gort.run(main)


def test_ten_thousand_fds_registered_at_once(backend):
    need = 10_000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need + 200 + psutil.Process().num_fds()
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {want} needed for 10,000 fds")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    pairs = []
    woke = []  # appends: readers on several Ms must not lose a count

    def reader(pd, sock):
        d = read_some(pd, sock)
        assert d == b"!"
        woke.append(1)

    def main():
        pds = []
        for _ in range(need // 2):
            a, b = pair()
            pairs.append((a, b))
            pds.append((poll_runtime_pollOpen(a.fileno()), poll_runtime_pollOpen(b.fileno())))
        assert len(np.pdbyfd) >= need
        for (a, _), (pa, _) in zip(pairs, pds, strict=True):
            gort.go(reader, pa, a)
        wait_until(lambda: proc.sched.netpollWaiters == need // 2, timeout=20)
        for _, b in pairs:
            b.send(b"!")
        wait_until(lambda: len(woke) == need // 2, timeout=30)
        assert proc.sched.netpollWaiters == 0
        for pa, pb in pds:
            close_pd(pa)
            close_pd(pb)

    try:
        gort.run(main)
    finally:
        for a, b in pairs:
            a.close()
            b.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_netpollbreak_from_another_thread_wakes_a_blocked_poll(backend):
    be = np._backend
    be.netpoll(0)
    be.breakdrain()
    for _ in range(3):
        t = threading.Timer(0.05, be.netpollBreak)
        t0 = monotonic()
        t.start()
        assert be.netpoll(-1) is None  # blocks until the break
        took = monotonic() - t0
        t.join()
        assert 0.04 <= took < 2
        assert not be.wakesig  # a blocking poll drained it
    # Deduplicated: many breaks, one wake-up; a non-blocking poll leaves it.
    for _ in range(5):
        be.netpollBreak()
    assert be.wakesig
    be.netpoll(0)
    assert be.wakesig
    t0 = monotonic()
    be.netpoll(5.0)
    assert monotonic() - t0 < 1 and not be.wakesig
    t0 = monotonic()
    assert be.netpoll(0.03) is None  # nothing left: a real timed wait
    assert monotonic() - t0 >= 0.025


def test_poll_timeout_rounds_sub_millisecond_up(backend):
    be = np._backend
    be.netpoll(0)
    t0 = monotonic()
    for _ in range(5):
        be.netpoll(0.0001)
    assert monotonic() - t0 >= 0.004  # 5 waits of >= 1 ms, not 5 spins


def test_scheduler_wakes_from_netpoll_for_a_thread_ready(backend, sockets):
    """findrunnable blocks in netpoll (an I/O waiter exists, no timer); a G
    readied from another thread must wake it through netpollBreak."""
    a, _ = sockets()

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        gort.go(read_some, pd, a)
        gort.gosched()
        t0 = monotonic()
        r = gort.blocking(time.sleep, 0.05)  # completion: ready_from_thread
        took = monotonic() - t0
        close_pd(pd)
        return r, took

    r, took = gort.run(main)
    assert r is None and 0.045 <= took < 2


def test_wakeup_between_block_decision_and_netpoll_is_not_lost(sockets):
    """Regression (gort/sched/proc.py): findrunnable published mp.blocked
    under sched.lock but set pollingnet only after dropping it, so a thread
    readying a G in between chose the note, and the M slept in netpoll."""
    a, _ = sockets()
    fired = []

    class Tracer:  # the scheduler's trace hooks; block() runs inside the window
        def __getattr__(self, name):
            return lambda *args: None

        def block(self, mp, netpoll):
            if not fired:
                fired.append(1)
                t = threading.Thread(target=proc.ready_from_thread, args=(main_g[0],))
                t.start()
                t.join()

    main_g = []

    def main():
        main_g.append(proc.getg())
        pd = poll_runtime_pollOpen(a.fileno())
        poll_runtime_pollSetDeadline(pd, monotonic() + 3, "r")  # bounds the failure
        gort.go(read_some, pd, a)
        gort.gosched()
        proc._trace = Tracer()
        try:
            t0 = monotonic()
            proc.gopark(None, None, "test")
            took = monotonic() - t0
        finally:
            proc._trace = None
        close_pd(pd)
        return took

    took = gort.run(main)
    assert fired and took < 1.5, f"wake-up lost: main slept {took:.2f}s in netpoll"


def test_idle_scheduler_sleeps_in_netpoll_not_spinning(backend, sockets):
    a, b = sockets()

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        c0, t0 = time.process_time(), monotonic()
        # The deadline is t0 + 0.3 itself: "never early" is then exact even
        # if another M takes the GIL between two lines here.
        poll_runtime_pollSetDeadline(pd, t0 + 0.3, "r")
        assert read_some(pd, a) == pollErrTimeout
        cpu, wall = time.process_time() - c0, monotonic() - t0
        close_pd(pd)
        return cpu, wall

    cpu, wall = gort.run(main)
    assert wall >= 0.3 and cpu < 0.1, f"{cpu:.3f}s CPU while idle for {wall:.3f}s"


def test_busy_run_queue_does_not_starve_io(backend, sockets):
    """A goroutine that keeps yielding never lets findrunnable go idle; the
    scheduler still polls the network (every ~1 ms or 61 ticks)."""
    a, b = sockets()
    lat = []

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        stop = []

        def spinner():
            while not stop:
                gort.gosched()

        gort.go(spinner)
        for _ in range(20):
            got = []
            gort.go(lambda got=got: got.append(read_some(pd, a)))
            gort.gosched()
            t0 = monotonic()
            b.send(b"!")
            wait_until(lambda got=got: got)
            lat.append(monotonic() - t0)
            assert got == [b"!"]
        stop.append(1)
        close_pd(pd)

    gort.run(main)
    lat.sort()
    assert lat[len(lat) // 2] < 0.02, lat
    # M:N: the poller M hands the reader to the busy M; it waits at most a GIL
    # switch interval or two (5-10 ms).  It used to starve for 100-500 ms while
    # the busy M's own 1 ms polls kept waking it too early (proc._nextg).
    assert lat[-3] < 0.1, lat


def test_io_waiter_is_not_a_deadlock_but_nothing_else_is(sockets):
    a, _ = sockets()

    def main():
        pd = poll_runtime_pollOpen(a.fileno())
        poll_runtime_pollSetDeadline(pd, monotonic() + 0.05, "r")
        code = read_some(pd, a)  # only an I/O waiter (and its timer): no deadlock
        assert code == pollErrTimeout
        poll_runtime_pollSetDeadline(pd, None, "r")
        gort.go(read_some, pd, a)  # an I/O waiter without any timer
        gort.gosched()
        gort.blocking(time.sleep, 0.02)
        close_pd(pd)  # now nothing can wake main
        gort.gosched()
        assert proc.sched.netpollWaiters == 0
        proc.gopark(None, None, "chan receive")

    with pytest.raises(gort.Deadlock):
        gort.run(main)


@pytest.mark.one_m
def test_poll_backend_closed_fd_does_not_spin():
    """poll(2) reports POLLNVAL for a closed fd on every call; the backend
    must wake the waiter once and drop the registration."""
    # One M: "after one gosched the reader is parked" holds only there.
    default = np._backendname()
    np._setbackend(newbackend("poll"))
    r, w = os.pipe()
    out = []
    try:
        def main():
            pd = poll_runtime_pollOpen(r)
            gort.go(lambda: out.append(poll_runtime_pollWait(pd, "r")))
            gort.gosched()
            assert parked_in_io(pd.rg) and pd.user
            os.close(r)  # behind the poller's back
            wait_until(lambda: out, timeout=5)
            assert out == [pollNoError]  # woken; its syscall will say EBADF
            assert pd.user == 0
            assert np._backend.netpoll(0) is None  # not reported again
            close_pd(pd)

        gort.run(main)
    finally:
        os.close(w)
        np._setbackend(newbackend(default))


@pytest.mark.one_m
def test_poll_backend_disarms_a_closing_fd(sockets):
    """A closing pd is never armed again, but what is armed gets disarmed
    when reported: else a ready fd between pollUnblock and pollClose would
    make every poll return at once (a busy loop)."""
    # One M: it inspects the armed interest between two steps that another
    # M's poller would race.
    default = np._backendname()
    np._setbackend(newbackend("poll"))
    a, b = sockets()
    try:
        def main():
            pd = poll_runtime_pollOpen(a.fileno())
            out = []
            gort.go(lambda: out.append(read_some(pd, a)))
            gort.gosched()
            assert pd.user == select.POLLIN
            poll_runtime_pollUnblock(pd)
            wait_until(lambda: out)
            assert out == [pollErrClosing]
            b.send(b"ready")  # stays readable
            np._backend.netpoll(0)
            assert pd.user == 0
            t0 = monotonic()
            np._backend.netpoll(0.05)
            assert monotonic() - t0 >= 0.04, "a closing, disarmed fd was reported again"
            np._backend.netpollarm(pd, "r")  # never armed once closing
            assert pd.user == 0
            poll_runtime_pollClose(pd)

        gort.run(main)
    finally:
        np._setbackend(newbackend(default))


def test_backend_switch_drops_pds_whose_fd_was_closed(backend):
    spare = [os.open(os.devnull, os.O_RDONLY) for _ in range(3)]
    r, w = os.pipe()
    pd = poll_runtime_pollOpen(r)
    for fd in spare:
        os.close(fd)  # lower free numbers: the new poller's fds take these, not r
    os.close(r)  # behind the poller's back
    try:
        np._setbackend(newbackend("poll" if backend == "epoll" else "epoll"))
        assert r not in np.pdbyfd and pd.closing
        poll_runtime_pollUnblock(pd)  # the owner's late close is harmless
        poll_runtime_pollClose(pd)
    finally:
        os.close(w)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_its_own_poller(sockets):
    a, b = sockets()
    pd = poll_runtime_pollOpen(a.fileno())
    be = np._backend
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its poller, exit at once
        try:
            nb = np._backend
            ok = nb is not be and np.pdbyfd.get(a.fileno()) is pd
            os.write(w, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.close(w)
    try:
        assert os.read(r, 2) == b"ok"
        os.waitpid(pid, 0)
    finally:
        os.close(r)
    # The parent's poller is untouched by the child's closing its copy.
    assert np._backend is be
    pd.rg = pdNil
    if be.levelTriggered:
        be.netpollarm(pd, "r")
    b.send(b"!")
    be.netpoll(0.5)
    assert pd.rg is pdReady
    close_pd(pd)


def test_no_fd_leaks(backend):
    proc_ = psutil.Process()
    before = proc_.num_fds()

    def reader(done, pd, sock):
        done.append(read_some(pd, sock))

    def main():
        for _ in range(3):
            pairs = [pair() for _ in range(50)]
            pds = [poll_runtime_pollOpen(s.fileno()) for p in pairs for s in p]
            done = []
            for i in range(0, len(pds), 2):
                gort.go(reader, done, pds[i], pairs[i // 2][0])
            gort.gosched()
            for _, b in pairs:
                b.send(b".")
            # Close only once every reader has left pollWait (internal/poll's
            # fdMutex guarantees that in gort/net).
            wait_until(lambda done=done: len(done) == 50)
            assert done == [b"."] * 50 and proc.sched.netpollWaiters == 0
            for pd in pds:
                close_pd(pd)
            for a, b in pairs:
                a.close()
                b.close()

    gort.run(main)
    gort.run(main)
    # Switching backends closes the old poller's fds.
    np._setbackend(newbackend("poll"))
    np._setbackend(newbackend(backend))
    assert proc_.num_fds() == before
    assert not np.pdbyfd or all(pd.fd >= 0 for pd in np.pdbyfd.values())


# --------------------------------------------------------------------------
# Backend selection at import


def _run_py(code, **env):
    e = dict(os.environ)
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("name", BACKENDS)
def test_gortnetpoll_env_selects_backend(name):
    code = ("import gort.netpoll, gort.sched.proc as p; from gort.netpoll import netpoll as n;"
            "assert p.sched.netpoll == n._backend.netpoll; print(n._backendname())")
    r = _run_py(code, GORTNETPOLL=name)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == name


def test_gortnetpoll_env_rejects_unknown_name():
    r = _run_py("import gort.netpoll", GORTNETPOLL="kqueue9")
    assert r.returncode != 0
    assert "unknown backend 'kqueue9'" in r.stderr and "GORTNETPOLL" in r.stderr


# --------------------------------------------------------------------------
# One source per Go function, direction-indexed words, one writer of
# netpollWaiters (issue 14)


def _forms(fn):
    from gort.sched.mnmode import mode
    return mode, mode.codes(fn)


@pytest.mark.parametrize("name", ["netpollblock", "netpollblockcommit", "netpollready",
                                  "netpollAdjustWaiters"])
def test_netpoll_functions_have_one_source_and_two_forms(name):
    fn = getattr(np, name)
    mode, (one, many) = _forms(fn)
    assert one is not many
    assert fn.__code__ is (many if mode.on else one)
    # Both forms are compiled from the same lines of netpoll.py.
    assert one.co_filename == many.co_filename == np.__file__
    assert one.co_firstlineno == many.co_firstlineno
    # The one-M form takes no lock but the live-mode one after a park
    # (netpollblock); the M:N form takes pd.lock / _waiterslock.
    if name != "netpollready":  # holds no lock of its own: its caller does
        assert "acquire" in many.co_names
    if name != "netpollblock":
        assert "acquire" not in one.co_names


def test_backend_netpoll_has_one_source_and_two_forms(backend):
    fn = type(np._backend).netpoll
    mode, (one, many) = _forms(fn)
    assert one is not many and fn.__code__ is (many if mode.on else one)
    assert "acquire" in many.co_names and "acquire" not in one.co_names
    assert "netpollready" in one.co_names and "netpollready" in many.co_names


def test_backend_netpoll_calls_netpollready_per_event(backend, sockets, monkeypatch):
    """Both backends hand every ready pd to netpollready (Go: netpoll calls
    netpollready(&toRun, pd, mode) per event), with Go's mode: 'r', 'w' or 'rw'."""
    mod = sys.modules[type(np._backend).__module__]
    seen = []
    real = mod.netpollready

    def spy(toRun, pd, mode):
        seen.append((pd, mode))
        return real(toRun, pd, mode)

    monkeypatch.setattr(mod, "netpollready", spy)
    a, b = sockets()
    b.send(b"x")  # a is readable (and writable)
    pd = poll_runtime_pollOpen(a.fileno())
    try:
        if backend == "poll":
            np._backend.netpollarm(pd, "r")
        end = monotonic() + 5
        while not any(p is pd for p, _ in seen):
            assert monotonic() < end, "no event for a readable socket"
            assert np._backend.netpoll(0) is None  # nobody parked
        modes = {m for p, m in seen if p is pd}
        assert modes == ({"rw"} if backend == "epoll" else {"r"})
        assert pd.rg is pdReady
    finally:
        close_pd(pd)


def test_words_are_indexed_by_direction(sockets):
    """rg and wg are pd.rwg[0] and pd.rwg[1]: one path serves both
    directions, and touching one never touches the other."""
    a, _ = sockets()
    pd = poll_runtime_pollOpen(a.fileno())
    try:
        pd.rg = pd.wg = pdNil
        assert pd.rwg == [pdNil, pdNil]
        assert np.netpollunblock(pd, "w", True) is None
        assert pd.rwg == [pdNil, pdReady] and pd.wg is pdReady and pd.rg is pdNil
        assert np.netpollblock(pd, "w", False) is True  # consumes the write word only
        assert pd.rwg == [pdNil, pdNil]
        pd.rg = pdReady
        assert pd.rwg[0] is pdReady
        assert poll_runtime_pollReset(pd, "w") == pollNoError
        assert pd.rwg == [pdReady, pdNil]
        assert poll_runtime_pollReset(pd, "r") == pollNoError
        assert pd.rwg == [pdNil, pdNil]
        # A read deadline does not fail a write, nor an event error.
        pd.rd = -1.0
        pd.everr = True
        assert np.netpollcheckerr(pd, "r") == pollErrTimeout
        assert np.netpollcheckerr(pd, "w") == pollNoError
        pd.rd = 0.0
        assert np.netpollcheckerr(pd, "r") == pollErrNotPollable
        pd.everr = False
    finally:
        close_pd(pd)


def test_netpollwaiters_has_one_writer():
    """Every change of sched.netpollWaiters in gort goes through
    netpollAdjustWaiters (the scheduler only reads it; the schedt
    constructor sets it to 0)."""
    import ast
    import pathlib

    root = pathlib.Path(np.__file__).parents[1]
    writers = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                targets = (node.targets if isinstance(node, ast.Assign) else
                           [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign))
                           else [])
                for t in targets:
                    if isinstance(t, ast.Attribute) and t.attr == "netpollWaiters":
                        writers.append((path.relative_to(root).as_posix(), fn.name))
    assert sorted(set(writers)) == [("netpoll/netpoll.py", "netpollAdjustWaiters"),
                                    ("sched/runtime2.py", "__init__")]
