"""Channels: hchan, its wait queues, send, receive and close.

Invariants (Go's, at every point where no goroutine is inside an
operation on c; tests/test_chan_model.py checks them):

1. At most one of ``c.sendq`` and ``c.recvq`` is non-empty, except for one
   goroutine whose select both sends to and receives from c.
2. Buffered and ``len(c.buf) > 0``: ``c.recvq`` is empty.
3. Buffered and ``len(c.buf) < c.dataqsiz``: ``c.sendq`` is empty.
4. ``c.closed`` only goes from False to True, under c.lock; a closed
   channel's ``sendq`` stays empty.

Go: src/runtime/chan.go (makechan, chansend, chanrecv, closechan, send,
recv, waitq.enqueue/dequeue/dequeueSudoG).  The names and the algorithm are
Go's; ``Chan`` is Go's ``hchan`` and its methods are what the compiler turns
``c <- v``, ``<-c``, ``v, ok := <-c``, ``close(c)``, ``len(c)``, ``cap(c)``
and ``for v := range c`` into.

Where gort differs, and why
---------------------------
* The buffer is a ``collections.deque`` bounded by ``dataqsiz`` (Go: a ring
  ``buf`` with ``sendx``/``recvx``/``qcount``).  ``qcount`` is ``len(buf)``.
  A receive from a full buffer with a sender waiting takes the head and
  appends the sender's value at the tail, which is what Go's shared
  ``recvx == sendx`` slot amounts to: FIFO order is kept.
* Values are Python references, so ``sudog.elem`` holds the value itself
  rather than a pointer to a stack slot (Go's sendDirect/recvDirect copy).
* Locking.  Go takes ``c.lock`` (a runtime mutex) around every operation.
  With one M gort does not: every channel operation runs to completion
  without another goroutine getting in, because goroutines only switch in
  gopark, and taking the lock as Go does costs ~500 ns per ping-pong round
  trip (~25%; docs/chan.md).  chansend, chanrecv and closechan are written
  once, with Go's ``lock(c.lock)``/``unlock(c.lock)``; ``@specialise``
  (gort/sched/mnmode.py) compiles a one-M form without those lines and an
  M:N form with them, and the run's mode swaps them before a second M
  starts.  ``Chan.send``/``recv``/``recv_ok``/``__next__`` are the same
  source with block=true.  A parking operation passes ``_chanparkcommit``
  (Go: chanparkcommit) under M:N, which drops the lock once the G is marked
  waiting.  ``c.lock`` is made in ``Chan()`` when the run is M:N already,
  else on first need under a module lock (``_chanlock``: two Ms must not
  publish two locks).  Go's CAS on ``g.selectDone`` in ``waitq.dequeue``
  is a small module lock (``_sdlock``) under M:N: two Ms can dequeue the
  same select's sudogs from two channels, each holding only its own
  channel's lock.  Lock order: channel locks (select: sorted by ``id``) ->
  the timers' heap lock -> sched.lock; goready may run under a channel lock.
* closechan collects its wake-ups in a gList and readies them after the
  lock drops, as Go does; the send/recv hand-offs of ``Chan``'s methods
  ready the partner after the point where Go unlocks.  The shared helpers
  ``send``/``recv`` (select's pass 1, the timers' ``_firechan``) ready it
  with the caller's locks still held, which the scheduler allows.
* Sudogs.  A blocking send/recv reuses one sudog per G, kept in
  ``g.waiting`` between operations (Go: acquireSudog/releaseSudog and a
  per-P cache; here no allocation at all).  Only this module and
  gort/selectgo.py use ``g.waiting``; select parks with its own list there
  and puts the idle sudog back.  ``sudog.c`` is set for select's sudogs
  only (pass 3 needs it); a plain operation knows its channel.
* ``Chan.send``/``recv``/``recv_ok``/``__next__`` are chansend/chanrecv
  specialised with block=true (one compiled function each, from the one
  source), with the common case of waitq.dequeue/enqueue (one waiter, not
  a select) and getg inlined in that source: one Python call per
  operation on the hot path.
* A G that is woken by an exception while parked (teardown's GreenletExit,
  a Deadlock raised in a lazily started runtime's main greenlet) takes its
  sudog off the wait queue on the way out, so a channel that outlives a
  run never hands a value to a dead goroutine.  Go has no such exits.
* Go's nil channel is ``nilchan``, the one instance of ``NilChan`` (a
  Chan subclass whose methods block forever; close raises "close of nil
  channel").  ``None`` is accepted as the nil channel too:
  ``chansend``/``chanrecv``/``closechan`` and select treat both alike
  (block forever, fail without blocking, "close of nil channel", a
  never-ready case).
* Go 1.23 timer channels: ``Chan.timer`` is the runtime timer gort.time
  sets on a Timer/Ticker channel (a ``chantimer``, gort/time/timers.py); as
  in Go, len() and cap of a timer channel are 0.  The hooks are Go's, on
  the slow paths only, each guarded by ``timer is not None`` and marked
  "Go 1.23": a receive that finds nothing (recv/recv_ok/__next__ before
  parking, chanrecv with block=False, select's pass 1) calls
  ``t.maybeRunChan()``; a receive that parks calls ``t.blockTimerChan(c)``
  before gopark and ``t.unblockTimerChan(c)`` after it (also when killed),
  so the timer is in the heap only while someone waits.  Go's maybeRunChan
  sends into the buffer; gort's returns the value to the receiver that
  asked, so a timer channel's buffer stays empty and the buffered fast
  paths need no hook.  len() needs none either: it is 0 (Go 1.23 calls
  maybeRunChan there only in asynctimerchan mode).
* The module is named after Go's type, ``hchan``, not after chan.go:
  ``gort.chan`` is the constructor function (Go's ``make(chan T, n)``), and
  a module of that name would be shadowed by it.
"""

from __future__ import annotations

import operator
import threading
import types
from collections import deque
from collections.abc import Iterator
from typing import Any

from greenlet import getcurrent as _getcurrent

from .sched import synctest as _st
from .sched.error import Panic
from .sched.mnmode import lock, mode, specialise, unlock
from .sched.proc import getg_thread, gopark, goready, thread_entry
from .sched.runtime2 import (
    gList,
    sudog,
    waitReasonChanReceive,
    waitReasonChanReceiveNilChan,
    waitReasonChanSend,
    waitReasonChanSendNilChan,
)

__all__ = ["Chan", "ClosedChannelError", "MAXCAP", "NilChan", "SynctestBubbleError", "chan",
           "chanrecv", "chansend", "closechan", "nilchan", "waitq"]

# M:N: set by the run's mode, gort.sched.mnmode before a second M starts, cleared when
# the run ends.  While False no channel lock is taken (module docstring).
_mn = mode.register(globals())


_Lock = threading.Lock
# Guards the lazy creation of c.lock for channels made before the run went M:N.
_lockinit = _Lock()
# Go's CAS on g.selectDone (waitq.dequeue), under M:N: a G's sudogs sit on
# several channels, whose wakers hold different channel locks.
_sdlock = _Lock()


def _chanlock(c: Chan) -> threading.Lock:
    """c.lock, made race-free: two Ms must not publish two different locks."""
    with _lockinit:
        lock = c.lock
        if lock is None:
            lock = c.lock = _Lock()
    return lock


def _leave(c: Chan, q: waitq, sg: sudog) -> None:
    """A waiter killed while parked (module docstring) takes its sudog off
    q.  _mn is read now, not when it parked: Ms kill their goroutines at
    the end of a run at the same time."""
    if _mn:
        with c.lock or _chanlock(c):
            q.dequeueSudoG(sg)
    else:
        q.dequeueSudoG(sg)
    sg.elem = None


def _chanparkcommit(gp: Any, c: Chan) -> bool:
    """gopark's unlockf for a channel op (Go: chanparkcommit): the G is
    marked waiting, so a waker may now find it and ready it.  gopark gets
    the channel, not its lock, so that synctest can tell whose it is."""
    c.lock.release()
    return True


def _curbubble() -> Any:
    """The calling goroutine's synctest bubble (None outside one)."""
    gp = getattr(_getcurrent(), "gort_g", None)
    return None if gp is None else gp.bubble


def _bubblecheck(c: Chan, op: str) -> None:
    """A channel of a synctest bubble is used: only from inside it (Go:
    fatal "receive on synctest channel from outside bubble")."""
    gp = getattr(_getcurrent(), "gort_g", None)
    if gp is None or gp.bubble is not c.bubble:
        prep = "of" if op == "close" else "on"  # Go's wording
        raise SynctestBubbleError(f"{op} {prep} synctest channel from outside bubble")


class SynctestBubbleError(Panic):
    """A channel, timer or ticker of a synctest bubble was used from outside
    it (Go makes this a fatal error)."""


class ClosedChannelError(Panic):
    """A send on, or a close of, a closed channel (Go's panics
    "send on closed channel", "close of closed channel", "close of nil channel").

    It subclasses gort.Panic (a RuntimeError) because Go's are runtime
    errors (their plainError type implements runtime.Error): programming
    errors, not conditions to retry.
    """


class waitq:
    """A FIFO of sudogs linked through sudog.next/prev (Go: type waitq).

    Intrusive and doubly linked as in Go, so that select can take its
    sudogs out of the middle in O(1) (dequeueSudoG).  Measured: an
    enqueue+dequeue pair costs ~60 ns against ~26 ns for a deque, and
    removal from a deque is O(n), which a thousand goroutines selecting on
    one shared done channel would feel.
    """

    __slots__ = ("first", "last")

    def __init__(self) -> None:
        self.first: sudog | None = None
        self.last: sudog | None = None

    def enqueue(self, sgp: sudog) -> None:
        sgp.next = None
        x = self.last
        if x is None:
            sgp.prev = None
            self.first = self.last = sgp
            return
        sgp.prev = x
        x.next = sgp
        self.last = sgp

    def dequeue(self) -> sudog | None:
        """Pop the first sudog whose goroutine can still take this channel.

        A select's sudog whose goroutine was already woken by another case
        (g.selectdone set) is dropped and skipped: that goroutine is about
        to take its other sudogs off their queues (selectgo's pass 3).
        """
        while True:
            sgp = self.first
            if sgp is None:
                return None
            y = sgp.next
            if y is None:
                self.first = self.last = None
            else:
                y.prev = None
                self.first = y
                sgp.next = None
            if sgp.isSelect:
                # Go: sgp.g.selectDone.CompareAndSwap(0, 1).  One M: no
                # other goroutine runs between the test and the set; M:N:
                # _sdlock makes it one (module docstring).
                gp = sgp.g
                if _mn:
                    with _sdlock:
                        won = not gp.selectdone
                        if won:
                            gp.selectdone = 1
                    if not won:
                        continue
                elif gp.selectdone:
                    continue
                else:
                    gp.selectdone = 1
            return sgp

    def dequeueSudoG(self, sgp: sudog) -> None:
        """Unlink sgp wherever it is; nothing if it already left."""
        x = sgp.prev
        y = sgp.next
        if x is not None:
            if y is not None:
                x.next = y
                y.prev = x
                sgp.next = sgp.prev = None
                return
            x.next = None  # sgp was last
            self.last = x
            sgp.prev = None
            return
        if y is not None:  # sgp was first
            y.prev = None
            self.first = y
            sgp.next = None
            return
        # Both links nil: sgp is alone in the queue, or already dequeued.
        if self.first is sgp:
            self.first = self.last = None

    def __len__(self) -> int:
        n = 0
        sgp = self.first
        while sgp is not None:
            n += 1
            sgp = sgp.next
        return n

    def __iter__(self) -> Iterator[sudog]:
        sgp = self.first
        while sgp is not None:
            yield sgp
            sgp = sgp.next


_newwaitq = object.__new__

# Go: makechan panics when elemsize*cap exceeds maxAlloc (2**48 on 64-bit
# Linux); a buffered value here is one 8-byte reference.  2**45 - 1, so that
# Chan() tests the range with one shift: ``cap >> 45`` is 0 exactly for
# 0 <= cap <= MAXCAP (a negative cap shifts to -1).
MAXCAP = (1 << 45) - 1


def _checkcap(cap: Any) -> int:
    """makechan's checks, off the fast path: any integer (IntEnum, numpy
    ints: __index__) but not a bool, and not negative."""
    if type(cap) is not int:
        try:
            if isinstance(cap, bool):
                raise TypeError
            cap = operator.index(cap)
        except TypeError:
            raise TypeError(
                f"gort.chan: cap must be an int, not {type(cap).__name__}") from None
    if cap < 0:
        raise ValueError(f"gort.chan: negative buffer size {cap} (Go: makechan: size out "
                         "of range)")
    if cap > MAXCAP:
        raise ValueError(f"gort.chan: buffer size {cap} is more than {MAXCAP} (Go: "
                         "makechan: size out of range)")
    return cap


class Chan:
    """A Go channel (Go: type hchan struct): ``gort.chan(cap)`` makes one.

    ``send(v)`` blocks until a receiver takes v or buffer space frees;
    ``recv()`` returns the next value, or None once the channel is closed
    and drained; ``recv_ok()`` returns ``(value, ok)`` with ok False only
    for the zero value of a closed, drained channel; ``close()``;
    ``len(ch)`` (buffered values), ``ch.cap``; ``for v in ch`` receives
    until the channel is closed and drained.  A Chan is always true, even
    when empty (it is not a container: ``if ch`` means "not the nil
    channel").  ``Chan[int]`` works in annotations.
    """

    __slots__ = ("buf", "dataqsiz", "closed", "recvq", "sendq", "lock", "timer", "bubble",
                 "__weakref__")

    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, cap: int = 0) -> None:
        # Go: makechan.  Timers and contexts make a Chan per call, so this
        # is kept short: no Python-level waitq.__init__, no lock object.
        if type(cap) is not int or cap >> 45:  # not 0 <= cap <= MAXCAP
            cap = _checkcap(cap)
        self.buf: deque[Any] = deque()
        self.dataqsiz = cap
        self.closed = False
        q = _newwaitq(waitq)
        q.first = q.last = None
        self.recvq = q
        q = _newwaitq(waitq)
        q.first = q.last = None
        self.sendq = q
        # Go's c.lock.  Not taken with one M (module docstring), so not
        # allocated either (a threading.Lock per channel costs ~55 ns);
        # under M:N it is made here, or by _chanlock for older channels.
        self.lock: Any = _Lock() if _mn else None
        self.timer: Any = None  # Go 1.23: set for time.Timer/Ticker channels
        # Go: c.bubble, the synctest bubble the channel was made in.
        self.bubble: Any = _curbubble() if _st.nbubbles else None

    # -- c <- v, <-c, range c ---------------------------------------------
    # send, recv, recv_ok and __next__ are chansend/chanrecv with block=true,
    # made from their one source below (after chanrecv).

    def __iter__(self) -> Iterator[Any]:
        # A channel is its own iterator: a range over it keeps no state, so
        # any number of loops may consume the same channel.
        return self

    # -- close, len, cap ---------------------------------------------------

    def close(self) -> None:
        """Close the channel (Go: ``close(c)``): buffered values can still
        be received, then receives give None (recv_ok: ok False); every
        waiting receiver wakes, every waiting sender raises
        ClosedChannelError.  Closing twice raises ClosedChannelError."""
        closechan(self)

    def __len__(self) -> int:
        # Go reads qcount without the lock, and so does gort under M:N: one
        # len() of the deque.  ``timer`` is set before a timer channel is
        # shared (gort.time).  Timer channels report 0 (1.23).
        if self.timer is not None:
            return 0
        return len(self.buf)

    @property
    def cap(self) -> int:
        """The buffer size (Go: ``cap(c)``); 0 for an unbuffered channel."""
        if self.timer is not None:
            return 0
        return self.dataqsiz

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        if _mn:  # the queues are walked: not while another M changes them
            with self.lock or _chanlock(self):
                return self._repr()
        return self._repr()

    def _repr(self) -> str:
        state = [f"cap={self.dataqsiz}", f"len={len(self.buf)}"]
        nr, ns = len(self.recvq), len(self.sendq)
        if nr:
            state.append(f"{nr} receiver{'s' if nr != 1 else ''} waiting")
        if ns:
            state.append(f"{ns} sender{'s' if ns != 1 else ''} waiting")
        if self.closed:
            state.append("closed")
        return f"<gort.Chan {', '.join(state)} at {id(self):#x}>"


def chan(cap: int = 0) -> Chan:
    """Make a channel with a buffer of ``cap`` values (Go: ``make(chan T, cap)``).

    cap 0 (the default) makes an unbuffered channel: a send waits for a
    receiver.  A negative cap, or one above MAXCAP (2**45 - 1), raises
    ValueError (Go: "makechan: size out of range"), a non-int TypeError.
    """
    return Chan(cap)


class NilChan(Chan):
    """Go's nil channel: the one instance is ``gort.nilchan``.

    A send or receive blocks forever (wait reasons "chan send (nil chan)" /
    "chan receive (nil chan)"; if nothing else can run, that is a Deadlock
    with a dump, as in Go); ``for v in nilchan`` blocks forever too;
    ``close()`` raises ClosedChannelError("close of nil channel"); len 0,
    cap 0; a select case on it is never ready (recv()/send() turn it into
    None, the nil case select already knows).  It is false in a boolean
    test (``if ch`` means "not nil", as for every other Chan), and it is
    what ``done()`` returns for a context that can never be canceled.

    A subclass of Chan, so that ``Chan``-typed code accepts it; its queues
    stay empty forever (nothing is ever queued on it).  The Chan methods
    (the hot paths) never test for it: it overrides them.  chansend,
    chanrecv and closechan test for it next to None.
    """

    __slots__ = ()

    def __new__(cls) -> NilChan:
        return nilchan  # one nil channel, as Go has one nil value per type

    def __init__(self) -> None:
        pass

    def send(self, v: Any) -> None:
        """Block forever (Go: a send on a nil channel)."""
        gopark(None, None, waitReasonChanSendNilChan)
        raise AssertionError("unreachable")

    def recv(self) -> Any:
        """Block forever (Go: a receive from a nil channel)."""
        gopark(None, None, waitReasonChanReceiveNilChan)
        raise AssertionError("unreachable")

    def recv_ok(self) -> tuple[Any, bool]:
        """Block forever (Go: a receive from a nil channel)."""
        return self.recv(), True

    def __next__(self) -> Any:
        return self.recv()

    def close(self) -> None:
        """Raise ClosedChannelError("close of nil channel") (Go's panic)."""
        raise ClosedChannelError("close of nil channel")

    def __len__(self) -> int:
        return 0

    @property
    def cap(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "gort.nilchan"

    def __reduce__(self) -> str:
        return "nilchan"  # pickles and copies as the singleton


nilchan: NilChan = object.__new__(NilChan)
Chan.__init__(nilchan, 0)


# --------------------------------------------------------------------------
# Go's internal entry points.  chansend/chanrecv with block=False never park:
# timer callbacks (which run on timerproc and must not block) and drains use
# them.  send/recv are Go's hand-off helpers, shared with selectgo.


def send(c: Chan, sg: sudog, v: Any) -> None:
    """Hand v to the receiver waiting in sg and ready it (Go: send).

    Go copies v onto the receiver's stack (sendDirect), unlocks c, then
    goready; here the value is a reference stored in sg.elem.
    """
    sg.elem = v
    sg.success = True
    gp = sg.g
    gp.param = sg  # a select learns which of its cases won from gp.param
    goready(gp)


def recv(c: Chan, sg: sudog) -> Any:
    """Take a value from the sender waiting in sg and ready it (Go: recv).

    Unbuffered: the sender's own value.  Buffered (so the buffer is full):
    the head of the buffer, and the sender's value goes to the tail.
    """
    if c.dataqsiz == 0:
        v = sg.elem
    else:
        buf = c.buf
        v = buf.popleft()
        buf.append(sg.elem)
    sg.elem = None
    sg.success = True
    gp = sg.g
    gp.param = sg
    goready(gp)
    return v


# --------------------------------------------------------------------------
# chansend, chanrecv and closechan: each written once, in Go's shape, with
# Go's lock(&c.lock)/unlock(&c.lock).  @specialise (gort/sched/mnmode.py)
# makes two forms of each from this one source: with one M the lock lines
# are dropped (no goroutine can get in between: they switch only in
# gopark), under M:N they take c.lock.  Chan.send/recv/recv_ok/__next__
# are the same functions with block=true bound and the results shaped for
# the method (below), so the compiled hot path of ``c.send(v)`` is this
# text.  The common cases of waitq.dequeue/enqueue (one waiter that is not
# a select) and getg are inlined: together ~25% of a ping-pong round trip.
# A thread that is not an M (docs/design.md, "Threads") comes here too,
# once the run is M:N; if it must block, it parks with its thread G.


def _getgslow(held: Any) -> Any:
    """getg for a caller that is not a goroutine: a plain thread's G
    (getg_thread), or the first goroutine of a lazily started runtime.  Off
    the fast path, with c.lock held under M:N (``held``): released if the
    lookup raises, so that a bad caller leaves the channel usable."""
    try:
        return getg_thread()
    except BaseException:
        if held is not None:
            held.release()
        raise


@specialise
def chansend(c: Chan | None, v: Any, block: bool) -> bool:
    """Go: chansend(c, ep, block).  Returns whether v was sent.

    block=False never parks: it sends only if a receiver waits or buffer
    space is free, else returns False.  Sending on a closed channel raises
    ClosedChannelError either way.  c None is the nil channel: a blocking
    send parks forever ("chan send (nil chan)").
    """
    if c is None or c is nilchan:
        if not block:
            return False
        gopark(None, None, waitReasonChanSendNilChan)
        raise AssertionError("unreachable")
    if c.bubble is not None:
        _bubblecheck(c, "send")
    # Go's fast path: a non-blocking send on an open, full channel fails
    # without the lock.  Each test is one read; the channel was open and
    # full at the moment its fullness was read.
    if not block and not c.closed and (c.recvq.first is None if c.dataqsiz == 0
                                       else len(c.buf) >= c.dataqsiz):
        return False
    lock(c.lock or _chanlock(c))
    if c.closed:
        unlock(c.lock)
        raise ClosedChannelError("send on closed channel")
    q = c.recvq
    sg = q.first  # Go: sg := c.recvq.dequeue()
    if sg is not None:
        if sg.next is None and not sg.isSelect:
            q.first = q.last = None
        else:
            sg = q.dequeue()
    if sg is not None:
        # Go: send(c, sg, ep, func() { unlock(&c.lock) }): hand v straight
        # to the waiting receiver, unlock, then goready.
        sg.elem = v
        sg.success = True
        gp = sg.g
        gp.param = sg  # a select learns which of its cases won
        unlock(c.lock)
        goready(gp)
        return True
    buf = c.buf
    if len(buf) < c.dataqsiz:  # Go: c.qcount < c.dataqsiz: space in the buffer
        buf.append(v)
        unlock(c.lock)
        return True
    if not block:
        unlock(c.lock)
        return False
    # Block on the channel: queue our sudog on sendq and park.
    try:
        gp = _getcurrent().gort_g  # Go: gp := getg()
    except AttributeError:
        gp = None
    if gp is None:
        gp = _getgslow(c.lock if _mn else None)
    mysg = gp.waiting  # Go: acquireSudog (one per G here: module docstring)
    if mysg is None:
        mysg = gp.waiting = sudog(gp)
    mysg.elem = v
    q = c.sendq
    x = q.last  # Go: c.sendq.enqueue(mysg)
    if x is None:
        q.first = q.last = mysg
    else:
        mysg.prev = x
        x.next = mysg
        q.last = mysg
    try:
        # chanparkcommit unlocks c.lock once the G is marked waiting; gopark
        # gets the channel as its lock argument, so synctest can tell whose.
        gopark(_chanparkcommit if _mn else None, c, waitReasonChanSend, gp)
    except BaseException:
        _leave(c, q, mysg)
        raise
    if not mysg.success:  # Go: closed = !mysg.success
        raise ClosedChannelError("send on closed channel")
    return True


@specialise
def chanrecv(c: Chan | None, block: bool) -> tuple[bool, Any, bool]:
    """Go: chanrecv(c, ep, block) -> (selected, received), plus the value.

    Returns ``(selected, value, ok)``.  block=False never parks: selected
    is False when there is nothing to receive.  ok is False when the
    channel is closed and drained (value None).  c None is the nil
    channel: a blocking receive parks forever ("chan receive (nil chan)").
    """
    if c is None or c is nilchan:
        if not block:
            return False, None, False
        gopark(None, None, waitReasonChanReceiveNilChan)
        raise AssertionError("unreachable")
    if c.bubble is not None:
        _bubblecheck(c, "receive")
    t = c.timer
    # Go's fast path: a non-blocking receive from an empty, open channel
    # fails without the lock.  Empty is read again after closed: it may have
    # been refilled and closed in between.  (A timer channel may have a
    # value due: Go 1.23's maybeRunChan, below.)
    if not block and t is None and not c.buf and c.sendq.first is None:
        if not c.closed:
            return False, None, False
        if not c.buf and c.sendq.first is None:
            return True, None, False
    lock(c.lock or _chanlock(c))
    q = c.sendq
    sg = q.first  # Go: sg := c.sendq.dequeue()
    if sg is not None:
        if sg.next is None and not sg.isSelect:
            q.first = q.last = None
        else:
            sg = q.dequeue()
    buf = c.buf
    if sg is not None:
        # Go: recv(c, sg, ep, func() { unlock(&c.lock) }): unbuffered, take
        # the sender's value; full buffer, take the head and put the
        # sender's value at the tail.  Unlock, then goready the sender.
        if buf:
            v = buf.popleft()
            buf.append(sg.elem)
        else:
            v = sg.elem
        sg.elem = None
        sg.success = True
        gp = sg.g
        gp.param = sg
        unlock(c.lock)
        goready(gp)
        return True, v, True
    if buf:  # Go: c.qcount > 0: receive directly from the queue
        v = buf.popleft()
        unlock(c.lock)
        return True, v, True
    if c.closed:
        unlock(c.lock)
        return True, None, False
    if t is not None:  # Go 1.23: maybeRunChan (gort: the value comes back)
        v = t.maybeRunChan()
        if v is not None:
            unlock(c.lock)
            return True, v, True
    if not block:
        unlock(c.lock)
        return False, None, False
    # Block on the channel: queue our sudog on recvq and park.
    try:
        gp = _getcurrent().gort_g  # Go: gp := getg()
    except AttributeError:
        gp = None
    if gp is None:
        gp = _getgslow(c.lock if _mn else None)
    mysg = gp.waiting  # Go: acquireSudog
    if mysg is None:
        mysg = gp.waiting = sudog(gp)
    q = c.recvq
    x = q.last  # Go: c.recvq.enqueue(mysg)
    if x is None:
        q.first = q.last = mysg
    else:
        mysg.prev = x
        x.next = mysg
        q.last = mysg
    if t is not None:
        t.blockTimerChan(c)  # Go 1.23: blockTimerChan, under c.lock
    try:
        gopark(_chanparkcommit if _mn else None, c, waitReasonChanReceive, gp)
    except BaseException:
        _leave(c, q, mysg)
        if t is not None:
            t.unblockTimerChan(c)
        raise
    if t is not None:
        t.unblockTimerChan(c)  # Go 1.23: unblockTimerChan
    v = mysg.elem
    mysg.elem = None
    return True, v, mysg.success


@specialise
def closechan(c: Chan | None) -> None:
    """Go: closechan(c).  Wake every waiter: receivers get (None, False),
    senders raise ClosedChannelError when they run."""
    if c is None or c is nilchan:
        raise ClosedChannelError("close of nil channel")
    if c.bubble is not None:
        _bubblecheck(c, "close")
    lock(c.lock or _chanlock(c))
    if c.closed:
        unlock(c.lock)
        raise ClosedChannelError("close of closed channel")
    c.closed = True
    glist = gList()
    # Release all readers, then all writers (Go: two loops; writers raise
    # ClosedChannelError when they run).
    for q in (c.recvq, c.sendq):
        sg = q.dequeue()
        while sg is not None:
            sg.elem = None
            sg.success = False
            gp = sg.g
            gp.param = sg
            glist.push(gp)
            sg = q.dequeue()
    # Go: unlock(&c.lock), and only then ready the Gs.
    unlock(c.lock)
    gp = glist.pop()
    while gp is not None:
        goready(gp)
        gp = glist.pop()


# What the compiler makes of ``c <- v``, ``<-c``, ``v, ok := <-c`` and
# ``for v := range c``: chansend/chanrecv with block=true, c a Chan (the
# nil channel is NilChan, which overrides these), the results shaped for
# each.  One compiled function per method: one Python call per operation.
_METHOD = {"block": True}
_NOTNIL = {"c is None or c is nilchan": False}

Chan.send = specialise(  # type: ignore[method-assign]
    chansend, name="send", qualname="Chan.send", bind=_METHOD, assume=_NOTNIL,
    returns="return", doc="""Send v, blocking until a receiver or buffer space takes it
        (Go: ``c <- v``, chansend with block=true).

        Raises ClosedChannelError if the channel is closed, or is closed
        while this send waits.""")
Chan.recv = specialise(  # type: ignore[method-assign]
    chanrecv, name="recv", qualname="Chan.recv", bind=_METHOD, assume=_NOTNIL,
    returns="return {1}", doc="""Receive a value, blocking until one is there (Go: ``<-c``).

        Returns None once the channel is closed and its buffer drained; use
        recv_ok() to tell that apart from a None that was sent.""")
Chan.recv_ok = specialise(  # type: ignore[method-assign]
    chanrecv, name="recv_ok", qualname="Chan.recv_ok", bind=_METHOD, assume=_NOTNIL,
    returns="return {1}, {2}", doc="""Receive ``(value, ok)`` (Go: ``v, ok := <-c``).

        ok is False only when the channel is closed and drained (value is
        then None).""")
Chan.__next__ = specialise(  # type: ignore[method-assign]
    chanrecv, name="__next__", qualname="Chan.__next__", bind=_METHOD, assume=_NOTNIL,
    returns="if not {2}: raise StopIteration\nreturn {1}",
    doc="One step of ``for v in c`` (Go: ``for v := range c``).")
Chan.send.__annotations__ = {"v": "Any", "return": "None"}
Chan.recv.__annotations__ = {"return": "Any"}
Chan.recv_ok.__annotations__ = {"return": "tuple[Any, bool]"}
Chan.__next__.__annotations__ = {"return": "Any"}


# A thread that is not an M enters through these (docs/design.md, "Threads").
thread_entry(Chan.send, Chan.recv, Chan.recv_ok, Chan.__next__, Chan.close,
             chansend, chanrecv, closechan)
