"""Property test: random programs of send/recv/close on one channel, run
against a reference model.

The model is what hchan holds: the buffered values, the parked senders
(with their values) and the parked receivers, in order, and the closed
flag.  Operations: non-blocking send/recv (chansend/chanrecv with
block=False, and select with default); blocking send/recv/recv_ok/next (a
step of ``for v in c``)/select that really park
and that a partner goroutine completes; goroutines left parked in send or
recv, which later receives/sends serve in FIFO order or a close wakes;
close.  After every step len(c) must equal the model's buffer, and every
parked goroutine's outcome must be the model's.

Every program runs against both forms of the channel code in one pytest
process, whatever GORTMAXPROCS the pass sets: at GOMAXPROCS 1 (one M, no
channel locks) and at GOMAXPROCS 2 (M:N: the locked forms, partners that
may run on the other M).
"""

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testutil import mn_mode, wait_until

import gort
from gort.hchan import chanrecv, chansend

_SENDS = [
    st.tuples(st.just("nb_send"), st.integers(0, 99)),
    st.tuples(st.just("sel_send"), st.integers(0, 99)),
    st.tuples(st.just("send"), st.integers(0, 99)),
]
# Sends weigh double so that buffers fill and senders park behind them.
OPS = st.one_of(
    *_SENDS, *_SENDS,
    st.tuples(st.just("nb_recv")),
    st.tuples(st.just("sel_recv")),
    st.tuples(st.just("recv")),
    st.tuples(st.just("recv_ok")),
    st.tuples(st.just("next")),
    st.tuples(st.just("sel_block_recv")),
    st.tuples(st.just("park_sender"), st.integers(100, 199)),
    st.tuples(st.just("park_sender"), st.integers(100, 199)),
    st.tuples(st.just("park_receiver")),
    st.tuples(st.just("close")),
)


class Model:
    """hchan in miniature: buf, sendq (value, box), recvq (box), closed."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buf: deque = deque()
        self.sendq: deque = deque()
        self.recvq: deque = deque()
        self.closed = False

    def recv(self):
        """(value, ok) that a receive gets now, or None if it would park."""
        if self.buf:
            v = self.buf.popleft()
            if self.sendq:  # a parked sender's value moves into the tail
                sv, box = self.sendq.popleft()
                self.buf.append(sv)
                box.expect = "sent"
            return v, True
        if self.sendq:  # unbuffered: straight from the parked sender
            sv, box = self.sendq.popleft()
            box.expect = "sent"
            return sv, True
        if self.closed:
            return None, False
        return None

    def send(self, v) -> bool:
        """Whether a send of v completes now (raises if closed)."""
        if self.closed:
            raise gort.ClosedChannelError("send on closed channel")
        if self.recvq:
            self.recvq.popleft().expect = (v, True)
            return True
        if len(self.buf) < self.cap:
            self.buf.append(v)
            return True
        return False

    def would_block_send(self) -> bool:
        return not self.closed and not self.recvq and len(self.buf) >= self.cap

    def would_block_recv(self) -> bool:
        return not self.closed and not self.buf and not self.sendq


class Box:
    """What a parked goroutine reports, and what the model expects of it."""

    def __init__(self) -> None:
        self.started = False
        self.result = None
        self.expect = None


def _run_program(cap: int, ops: list[tuple], procs: int) -> None:
    """Run the program at GOMAXPROCS procs, whatever the pass's
    GORTMAXPROCS: 1 is the single-M form (no channel locks), 2 the M:N one
    (locked chansend/chanrecv/select, partners on other Ms)."""
    def main():
        assert gort.gomaxprocs() == procs
        assert mn_mode() == (procs > 1), "the run is not in the mode asked for"
        c = gort.chan(cap)  # made in that mode
        m = Model(cap)
        boxes: list[Box] = []

        for op in ops:
            kind = op[0]
            if kind in ("nb_send", "sel_send"):
                v = op[1]
                try:
                    if kind == "nb_send":
                        ok = chansend(c, v, False)
                    else:
                        ok = gort.select(gort.send(c, v), default=True)[0] == 0
                except gort.ClosedChannelError:
                    assert m.closed
                else:
                    assert ok == m.send(v)
            elif kind in ("nb_recv", "sel_recv"):
                if kind == "nb_recv":
                    sel, v, ok = chanrecv(c, False)
                else:
                    i, v, ok = gort.select(gort.recv(c), default=True)
                    sel = i == 0
                exp = m.recv()
                if exp is None:
                    assert (sel, v, ok) == (False, None, False)
                else:
                    assert sel and (v, ok) == exp
            elif kind == "send":
                v = op[1]
                if m.closed:
                    try:
                        c.send(v)
                    except gort.ClosedChannelError:
                        pass
                    else:
                        raise AssertionError("send on a closed channel did not raise")
                elif not m.would_block_send():
                    c.send(v)  # completes without parking
                    assert m.send(v)
                elif not m.sendq:
                    # It parks (nobody ahead of it); a partner's receive then
                    # takes the head and our value moves in behind.
                    partner = Box()
                    gort.go(lambda b=partner: setattr(b, "result", c.recv_ok()))
                    c.send(v)
                    wait_until(lambda b=partner: b.result is not None)
                    m.buf.append(v)
                    exp = m.recv()
                    assert partner.result == exp
            elif kind in ("recv", "recv_ok", "next", "sel_block_recv"):
                exp = m.recv()
                if exp is None:
                    if m.recvq:
                        continue  # a partner's value would go to the first in line
                    gort.go(c.send, "partner")  # sends after we park
                    exp = ("partner", True)
                if kind == "recv":
                    assert c.recv() == exp[0]
                elif kind == "recv_ok":
                    assert c.recv_ok() == exp
                elif kind == "next":  # one step of `for v in c`
                    try:
                        got = (next(c), True)
                    except StopIteration:
                        got = (None, False)
                    assert got == exp
                else:
                    got = gort.select(gort.recv(None), gort.recv(c), gort.send(None, 0))
                    assert got == (1, *exp)
            elif kind == "park_sender":
                if m.would_block_send():
                    b = Box()
                    boxes.append(b)
                    v = op[1]

                    def sender(b=b, v=v):
                        b.started = True
                        try:
                            c.send(v)
                            b.result = "sent"
                        except gort.ClosedChannelError:
                            b.result = "closed"

                    gort.go(sender)
                    # Started and queued (one M: the same moment; several
                    # Ms: the send may still be on its way to the queue).
                    wait_until(lambda b=b: b.started and len(c.sendq) > len(m.sendq))
                    assert b.result is None  # parked
                    m.sendq.append((v, b))
            elif kind == "park_receiver":
                if m.would_block_recv():
                    b = Box()
                    boxes.append(b)

                    def receiver(b=b):
                        b.started = True
                        b.result = c.recv_ok()

                    gort.go(receiver)
                    wait_until(lambda b=b: b.started and len(c.recvq) > len(m.recvq))
                    assert b.result is None  # parked
                    m.recvq.append(b)
            elif kind == "close":
                if m.closed:
                    try:
                        c.close()
                    except gort.ClosedChannelError as e:
                        assert str(e) == "close of closed channel"
                    else:
                        raise AssertionError("a second close did not raise")
                else:
                    c.close()
                    m.closed = True
                    for b in m.recvq:
                        b.expect = (None, False)
                    for _v, b in m.sendq:
                        b.expect = "closed"
                    m.recvq.clear()
                    m.sendq.clear()

            # Every goroutine the model says is done has reported exactly that.
            wait_until(lambda: all(b.result is not None for b in boxes if b.expect is not None))
            for b in boxes:
                assert b.result == b.expect, (op, b.result, b.expect)
            assert len(c) == len(m.buf), (op, len(c), list(m.buf))
            assert len(c.sendq) == len(m.sendq) and len(c.recvq) == len(m.recvq)

        # Close (if the program did not) and check every parked goroutine ends.
        if not m.closed:
            c.close()
            for b in m.recvq:
                b.expect = (None, False)
            for _v, b in m.sendq:
                b.expect = "closed"
        wait_until(lambda: all(b.result is not None for b in boxes))
        for b in boxes:
            assert b.result == b.expect
        wait_until(lambda: gort.num_goroutine() == 1)

    gort.gomaxprocs(procs)  # before the run starts: sets that run's Ps
    gort.run(main)


# Both forms of the channel code in one process: one M, and M:N.
FORMS = pytest.mark.parametrize("procs", [1, 2], ids=["one-m", "m-n"])


@FORMS
@settings(max_examples=400, deadline=None)
@given(cap=st.integers(0, 4), ops=st.lists(OPS, min_size=10, max_size=60))
def test_chan_against_model(procs, cap, ops):
    _run_program(cap, ops, procs)


@FORMS
def test_model_program_smoke(procs):
    # A fixed program through every kind of step, cap 2 and unbuffered.
    prog = [("park_receiver",), ("nb_send", 1), ("send", 2), ("send", 3), ("send", 4),
            ("park_sender", 150), ("park_sender", 151), ("nb_recv",), ("recv",),
            ("sel_recv",), ("sel_block_recv",), ("recv_ok",), ("park_sender", 152),
            ("next",), ("next",), ("park_sender", 153), ("close",), ("nb_recv",), ("next",),
            ("close",), ("nb_send", 5)]
    for cap in (0, 2):
        _run_program(cap, prog, procs)
