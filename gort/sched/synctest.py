"""synctest bubbles, the scheduler's side (Go: src/runtime/synctest.go).

A bubble is a set of goroutines with a fake clock of its own.  Go counts,
per bubble, the goroutines that exist (``total``) and those that are not
durably blocked (``running``); when ``running`` reaches 0 the bubble is
*idle*: nothing inside it can move until time does.  Then

* a goroutine in ``synctest.wait()`` is woken (Wait returns), or else
* the root goroutine (the caller of ``synctest.test``, outside the bubble)
  is woken: it advances the bubble's clock to its next timer and runs the
  timers that are due (gort/time/timers.py, ``bubbleadvance``); with no
  timer left, the bubble is deadlocked.

The counts change where a G's status does (Go: ``changegstatus``): a G
created in a bubble joins it (newproc), its exit leaves it (goexit0), a park
with a durable wait reason takes it out of ``running`` (gopark) and its
goready puts it back.  ``active`` keeps the bubble from looking idle while a
park is still being committed (gopark's unlockf has not run yet), as in Go.

Durably blocked, as in Go 1.25 (``waitReason.isIdleInSynctest``): a send or
receive on a channel of the bubble, a select whose channels are all of the
bubble, a nil-channel operation or an empty select, ``sync.Cond.wait``,
``sync.WaitGroup.wait`` on a group whose ``add`` ran in the bubble,
``time.sleep``, and ``synctest.wait`` itself.  Not durable: a Mutex/RWMutex
lock (a holder may be about to unlock: Go's choice too), I/O,
``gort.blocking`` and DNS, and any channel or WaitGroup from outside.

Timers of the bubble (gort/time/timers.py: btimer, bchantimer) live on the
bubble's heap.  One armed for the current fake time or earlier runs at once
(``timerdue`` wakes the root), as Go's checkTimers runs a bubble's due
timers; time itself moves only when the bubble is idle, and not at all once
the bubble's main goroutine has returned (Go: a bubble whose main is done
and whose other goroutines are all blocked is deadlocked, timers or not).

M:N: the counts are under the bubble's lock; goready and exits may come from
any M.
"""

from __future__ import annotations

import threading
from itertools import count
from typing import Any

from .runtime2 import (
    G,
    waitReasonChanReceive,
    waitReasonChanReceiveNilChan,
    waitReasonChanSend,
    waitReasonChanSendNilChan,
    waitReasonSelect,
    waitReasonSelectNoCases,
    waitReasonSleep,
    waitReasonSyncCondWait,
    waitReasonSynctestChanReceive,
    waitReasonSynctestChanSend,
    waitReasonSynctestSelect,
    waitReasonSynctestWait,
    waitReasonSynctestWaitGroupWait,
)

# A bubble's fake clock starts here.  Go's starts at midnight UTC 2000-01-01
# (its time.Time carries the wall clock); gort's now() is a monotonic float of
# seconds, so the fake one starts small, where a float resolves nanoseconds
# (at 946684800.0 it could not tell 120 ns apart), and not at 0.0, which a
# timer's ``when`` reads as "stopped".  WALLEPOCH is the wall time it stands
# for: 2000-01-01 00:00:00 UTC, as in Go.
EPOCH = 1.0
WALLEPOCH = 946684800.0

nbubbles = 0  # live bubbles; gort.time and gort.hchan look no further while 0
used = False  # a bubble has existed in this process: its channels may outlive it
_ids = count(1).__next__

# Wait reasons that are durable as they are, and those that are durable only
# on a channel of the bubble (renamed to their "(synctest)" form).
_DURABLE = frozenset({
    waitReasonChanReceiveNilChan, waitReasonChanSendNilChan, waitReasonSelectNoCases,
    waitReasonSleep, waitReasonSyncCondWait, waitReasonSynctestWait,
    waitReasonSynctestWaitGroupWait,  # WaitGroup.wait picks it when the group is the bubble's
})
_CHANWAIT = {
    waitReasonChanReceive: waitReasonSynctestChanReceive,
    waitReasonChanSend: waitReasonSynctestChanSend,
}


class synctestBubble:
    """A bubble (Go: runtime.synctestBubble)."""

    __slots__ = ("id", "now", "root", "main", "waiter", "rootwaiting", "total", "running",
                 "active", "heap", "ndead", "due", "lock", "result", "exc", "done")

    def __init__(self, root: G) -> None:
        self.id = _ids()
        self.now = EPOCH
        self.root = root  # the caller of synctest.test (outside the bubble)
        self.main: G | None = None  # the goroutine running test's function
        self.waiter: G | None = None  # the goroutine in synctest.wait()
        self.rootwaiting = False  # root is parked until the bubble is idle
        self.total = 0  # goroutines in the bubble
        self.running = 0  # of those, not durably blocked
        self.active = 0  # parks in progress (Go: active)
        self.heap: list[Any] = []  # (when, gen, timer) on the fake clock (Go: bubble.timers)
        self.ndead = 0
        self.due = False  # a timer was armed for now or earlier: the root runs it
        self.lock = threading.Lock()
        self.result: Any = None
        self.exc: BaseException | None = None
        self.done = False  # main has returned

    def __repr__(self) -> str:
        return (f"<synctest bubble {self.id} now=+{self.now - EPOCH:.6f}s total={self.total} "
                f"running={self.running}>")


def bubblestart() -> None:
    global nbubbles, used
    nbubbles += 1
    used = True


def bubbleend() -> None:
    global nbubbles
    nbubbles -= 1


def newg(b: synctestBubble) -> None:
    """A goroutine was created in b (newproc): it is runnable."""
    with b.lock:
        b.total += 1
        b.running += 1


def exitg(gp: G) -> G | None:
    """gp of a bubble has returned (goexit0); returns the G to ready if
    that left the bubble idle."""
    b = gp.bubble
    gp.bubble = None
    gp.bwait = False
    with b.lock:
        b.total -= 1
        b.running -= 1
        return _idlewake(b)


def _durable(gp: G, reason: str, lock: Any) -> str | None:
    """The reason gp parks under if that park is durable in its bubble, else None."""
    if reason in _DURABLE:
        return reason
    b = gp.bubble
    r = _CHANWAIT.get(reason)
    if r is not None:
        # chansend/chanrecv pass the channel as gopark's lock.
        return r if getattr(lock, "bubble", None) is b else None
    if reason == waitReasonSelect:
        # Durable if every channel of the select is the bubble's (its sudogs
        # hang off g.waiting through waitlink; an all-nil select has none).
        sg = gp.waiting
        while sg is not None:
            c = sg.c
            if c is not None and getattr(c, "bubble", None) is not b:
                return None
            sg = sg.waitlink
        return waitReasonSynctestSelect
    return None


def parkbegin(gp: G, reason: str, lock: Any) -> None:
    """gopark, before its unlockf: count a durable park and keep the bubble
    active until the park is committed (parkend) or cancelled."""
    r = _durable(gp, reason, lock)
    b = gp.bubble
    with b.lock:
        b.active += 1
        if r is not None:
            gp.waitreason = r
            gp.bwait = True
            b.running -= 1


def parkcancel(gp: G) -> None:
    """gopark's unlockf said no: gp runs on."""
    b = gp.bubble
    with b.lock:
        b.active -= 1
        if gp.bwait:
            gp.bwait = False
            b.running += 1


def parkend(gp: G) -> G | None:
    """gopark committed the park: returns the G to ready if the bubble is
    now idle."""
    b = gp.bubble
    with b.lock:
        b.active -= 1
        return _idlewake(b)


def readyg(gp: G) -> None:
    """goready of a durably blocked bubble goroutine: it runs again."""
    b = gp.bubble
    with b.lock:
        if gp.bwait:
            gp.bwait = False
            b.running += 1


def _idlewake(b: synctestBubble) -> G | None:
    """Under b.lock: if b is idle, who to wake -- the Wait caller, else the
    root (Go: synctestidle / the bubble's running == 0 && active == 0)."""
    if b.running or b.active:
        return None
    w = b.waiter
    if w is not None and b.total:
        b.waiter = None
        return w
    if b.rootwaiting:
        b.rootwaiting = False
        return b.root
    return None


def idle(b: synctestBubble) -> bool:
    """Every goroutine of b is durably blocked."""
    with b.lock:
        return not (b.running or b.active)


def rootcommit(gp: G, b: synctestBubble) -> bool:
    """gopark's unlockf for the root: park only if the bubble is busy and no
    timer is due (Go: synctestidle_c)."""
    with b.lock:
        if b.total and (b.running or b.active) and not b.due:
            b.rootwaiting = True
            return True
        return False


def timerdue(b: synctestBubble) -> G | None:
    """A timer of b was armed for b.now or earlier: it runs without waiting
    for the bubble to block (Go runs a bubble's due timers in checkTimers).
    Returns the root to ready, if it waits."""
    with b.lock:
        b.due = True
        if b.rootwaiting:
            b.rootwaiting = False
            return b.root
        return None
