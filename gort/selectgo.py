"""select: wait on several channel operations at once.

Go: src/runtime/select.go (selectgo, sellock, selunlock, selparkcommit,
block) and the compiler's lowering of select statements (walk/select.go).

    i, v, ok = gort.select(gort.recv(c1), gort.send(c2, x), default=True)

is Go's

    select {
    case v, ok := <-c1:  // i == 0
    case c2 <- x:        // i == 1
    default:             // i == -1
    }

The algorithm is Go's selectgo:

1. pollorder: a random permutation of the cases (Go: cheaprandn
   insertion; nil channels are skipped), so that among ready cases each is
   equally likely to win (TestSelectFairness).
2. pass 1, in pollorder: the first case that can proceed wins -- a
   receive from a waiting sender, a buffered value or a closed channel;
   a send to a waiting receiver or free buffer space.  A send case on a
   closed channel raises ClosedChannelError.  Nothing ready and a default:
   return (-1, None, False).
3. pass 2, in lockorder (cases sorted by channel identity): queue one
   sudog, marked isSelect, on every channel, chained through waitlink
   from g.waiting, and park with wait reason "select".
4. A waker's waitq.dequeue sets g.selectdone on the way in, so exactly
   one case wins; the losers' sudogs are skipped by other wakers.  The
   winner leaves its sudog in g.param.
5. pass 3: reset selectdone, take every other sudog off its queue
   (dequeueSudoG), and report the winning case.

A goroutine never pairs its own send with its own receive: its sudogs
are only queued while it is parked, and only other goroutines dequeue.

Where gort differs, and why
---------------------------
* Cases are built at run time by ``recv(ch)`` / ``send(ch, v)``: small
  tuples ``(kind, channel, value)`` (a tuple costs ~50 ns to make, a slotted
  object ~110-140 ns).  Go's compiler puts sends first and passes
  nsends/nrecvs; gort keeps the kind in each case and the caller's order.
* pollorder for up to 5 cases is one of the n! permutations, drawn from a
  precomputed table with a single random() call (Go draws per case); above
  that, Fisher-Yates.  Uniform either way.
* The returned ``ok`` is Go's recvOK: for a send case it is False, as
  reflect.Select reports it.
* Like Go's compiler, a select with one case is the plain channel
  operation (wait reason "chan receive"/"chan send"), and one case plus
  default is the non-blocking form (Go: selectnbsend/selectnbrecv).
* Locks.  With one M no channel lock is taken (see gort/hchan.py), so
  pass 1 needs no lock order: lockorder is computed where the queues first
  need it, in pass 2 (from pollorder, as Go's heap sort is, so cases on one
  channel keep a random relative order).  M:N (``_mn``, set by the
  run's mode (gort.sched.mnmode)): as in Go, lockorder is computed before pass 1,
  ``sellock`` takes each distinct channel's lock once, in ``id`` order (Go:
  address order), and holds them through passes 1 and 2; a pass-1 win
  unlocks on the way out (after readying the partner, which the scheduler
  allows under a channel lock), a park unlocks in ``selparkcommit`` once
  the G is marked waiting, and pass 3 locks them all again.  ``_mn`` is
  read again after the park: a select that parked with one M may wake in
  an M:N run.
* Select sudogs come from a small free list (Go: acquireSudog/releaseSudog
  and the per-P sudogcache); ``sudog.caseidx`` names the case, so pass 3
  reads the winner's index instead of searching for it.
* A select killed while parked (teardown, a lazy runtime's Deadlock) takes
  all its sudogs off their queues before the exception goes on.
* A select that takes its default while a timer is due yields first
  (``_polltimers``): without preemption, a goroutine that polls in a loop
  would otherwise starve timerproc, and with it every timeout.
* Go 1.23 timer channels (see gort/hchan.py and gort/time/timers.py): pass 1
  asks a timer channel's empty receive case ``t.maybeRunChan()`` when it
  reaches it in pollorder (Go asks every timer case first, and buffers what
  it gets; gort takes the value only for the case it is examining, so a
  ready case that wins leaves the timer's value owed, not buffered).  Pass 1
  notes those channels (``tchans``; None for a select without timers, so
  passes 2 and 3 cost ordinary selects one test), pass 2 calls
  ``blockTimerChan`` on each before parking, pass 3 (or the kill path)
  ``unblockTimerChan``.  Go does this for send cases on timer channels too,
  which Go's types rule out; gort only for receive cases.
"""

from __future__ import annotations

import itertools
from random import random as _random
from time import monotonic as _monotonic
from typing import Any

from greenlet import getcurrent as _getcurrent

from .hchan import Chan, ClosedChannelError, _bubblecheck, _chanlock, chanrecv, chansend, nilchan
from .hchan import recv as _recvfrom
from .hchan import send as _sendto
from .sched import synctest as _st
from .sched.mnmode import mode
from .sched.proc import getg_thread, gopark, gosched, sched, thread_entry
from .sched.runtime2 import sudog, waitReasonSelect, waitReasonSelectNoCases

__all__ = ["recv", "select", "selectgo", "send"]


class _CaseKind:
    """Marks a case's direction (Go before 1.14: scase.kind caseRecv/caseSend)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


caseRecv = _CaseKind("caseRecv")
caseSend = _CaseKind("caseSend")

_SUDOGCACHE_MAX = 128
# Go: p.sudogcache / sched.sudogcache.  Shared by the Ms under M:N: pop and
# append are single (atomic) list operations, and pass 2 copes with a pop
# that finds it emptied by another M since it looked.
_sudogcache: list[sudog] = []

_mn = mode.register(globals())  # M:N: channel locks are taken (module docstring)
_sched = sched
_INF = float("inf")



def recv(ch: Chan | None) -> tuple:
    """A receive case for select (Go: ``case v, ok := <-ch``).  ch may be
    gort.nilchan or None, the nil channel: the case is never ready."""
    if type(ch) is not Chan and ch is not None:
        if ch is nilchan:
            return (caseRecv, None, None)  # select knows None as the nil case
        if not isinstance(ch, Chan):
            raise TypeError(f"gort.recv: expected a Chan or None, not {type(ch).__name__}")
    return (caseRecv, ch, None)


def send(ch: Chan | None, v: Any) -> tuple:
    """A send case for select (Go: ``case ch <- v``).  ch may be
    gort.nilchan or None, the nil channel: the case is never ready."""
    if type(ch) is not Chan and ch is not None:
        if ch is nilchan:
            return (caseSend, None, v)
        if not isinstance(ch, Chan):
            raise TypeError(f"gort.send: expected a Chan or None, not {type(ch).__name__}")
    return (caseSend, ch, v)


def _badcase(cases: tuple) -> TypeError:
    """The error for the first case that is not a recv/send case."""
    i, cas = -1, None
    for i, cas in enumerate(cases):  # noqa: B007 - i and cas are used after the loop
        try:
            kind = cas[0]
        except (TypeError, LookupError):
            break
        if kind is not caseRecv and kind is not caseSend:
            break
    return TypeError(f"gort.select: case {i} is {cas!r}, not gort.recv(ch) or gort.send(ch, v)")


# pollorder for n <= _NPERM cases: every permutation of range(n), one drawn
# at random (one random() call instead of one per case).
_NPERM = 5
_PERMS = [tuple(itertools.permutations(range(n))) for n in range(_NPERM + 1)]


def selectgo(*cases: tuple, default: bool = False) -> tuple[int, Any, bool]:
    """Wait until one of the cases can proceed, do it, and say which
    (Go: the select statement, which the compiler lowers to selectgo;
    public as ``gort.select``).

    Cases are ``gort.recv(ch)`` and ``gort.send(ch, v)``.  Returns
    ``(index, value, ok)``: the index of the case that ran; for a receive,
    the value and whether it came from a send (False: the channel is
    closed and drained, value None); for a send, (None, False).  Among
    ready cases the choice is uniformly random.  With ``default=True`` and
    nothing ready, returns (-1, None, False) at once.  A None channel is
    never ready; ``select()`` with no cases blocks forever.  A send case on
    a closed channel raises ClosedChannelError; anything but a case raises
    TypeError.
    """
    ncases = len(cases)
    # Check every case, as Go's compiler does, whichever one would win.
    # (Indexing, not unpacking: unpacking a Chan would receive from it.)
    try:
        for cas in cases:
            kind = cas[0]
            if kind is not caseRecv and kind is not caseSend:
                raise _badcase(cases)
    except (TypeError, LookupError):
        raise _badcase(cases) from None
    if _st.used:  # a synctest bubble's channels are its own (Go: fatal from outside)
        for cas in cases:
            c = cas[1]
            if c is not None and c.bubble is not None:
                _bubblecheck(c, "select")

    if ncases <= 1:
        if ncases == 0:
            if default:
                return -1, None, False
            # Go: select {} -> block(): park forever.
            gopark(None, None, waitReasonSelectNoCases)
            raise AssertionError("unreachable")
        # Go's compiler: a one-case select is the plain operation, and a
        # one-case select with default its non-blocking form.
        kind, c, elem = cases[0]
        if kind is caseRecv:
            selected, v, ok = chanrecv(c, not default)
            if selected:
                return 0, v, ok
        elif chansend(c, elem, not default):
            return 0, None, False
        if _sched.timer0when != _INF:
            _polltimers()  # the default is taken: let due timers run
        return -1, None, False

    # pollorder: a random permutation of the cases (Go: cheaprandn
    # insertion, leaving out nil channels; gort skips those in pass 1).
    if ncases <= _NPERM:
        perms = _PERMS[ncases]
        pollorder = perms[int(_random() * len(perms))]
    else:
        pollorder = list(range(ncases))
        for i in range(1, ncases):
            j = int(_random() * (i + 1))
            pollorder[i], pollorder[j] = pollorder[j], i

    # Go: sellock(scases, lockorder) -- M:N only (module docstring).  Each
    # way out of pass 1 unlocks, as Go's labels do (one M: one test of a
    # local; a try/finally here cost a buffered select ~4%).
    if _mn:
        getg_thread()  # raises here, not with the locks held, off a goroutine or thread
        lockorder = _lockorder(cases, [i for i in pollorder if cases[i][1] is not None])
        locks = _sellock(cases, lockorder)
    else:
        locks = None

    try:
        # pass 1 - look for something already waiting.
        hasnil = False
        tchans = None  # the timer channels of receive cases (Go 1.23)
        for casi in pollorder:
            kind, c, elem = cases[casi]
            if c is None:
                hasnil = True
                continue  # the nil channel: never ready
            if kind is caseRecv:
                q = c.sendq
                if q.first is not None:
                    sg = q.dequeue()
                    if sg is not None:
                        v = _recvfrom(c, sg)  # Go: goto recv
                        if locks:
                            _selunlock(locks)
                        return casi, v, True
                buf = c.buf
                if buf:
                    v = buf.popleft()  # Go: goto bufrecv
                    if locks:
                        _selunlock(locks)
                    return casi, v, True
                if c.closed:
                    if locks:  # Go: goto rclose
                        _selunlock(locks)
                    return casi, None, False
                t = c.timer
                if t is not None:  # Go 1.23: maybeRunChan (gort: the value comes back)
                    v = t.maybeRunChan()
                    if v is not None:
                        if locks:
                            _selunlock(locks)
                        return casi, v, True
                    if tchans is None:
                        tchans = [c]  # for blockTimerChan in pass 2
                    else:
                        tchans.append(c)
            else:
                if c.closed:
                    raise ClosedChannelError("send on closed channel")  # Go: goto sclose
                q = c.recvq
                if q.first is not None:
                    sg = q.dequeue()
                    if sg is not None:
                        _sendto(c, sg, elem)  # Go: goto send
                        if locks:
                            _selunlock(locks)
                        return casi, None, False
                buf = c.buf
                if len(buf) < c.dataqsiz:
                    buf.append(elem)  # Go: goto bufsend
                    if locks:
                        _selunlock(locks)
                    return casi, None, False

        if default:
            if locks:
                _selunlock(locks)
            if _sched.timer0when != _INF:
                locks = None  # unlocked: the except below must not unlock again
                _polltimers()  # the default is taken: let due timers run
            return -1, None, False
    except BaseException:
        # sclose, or anything unexpected: never leave the channels locked
        # (every other M would block on them).  Free with one M: a try
        # costs nothing until something raises.
        if locks:
            _selunlock(locks)
        raise

    # pass 2 - enqueue on all channels, in lock order (M:N: still locked).
    # Go sorts the cases by channel address (a heap sort) so that sellock
    # takes the locks in a global order; with one M no lock is taken and
    # lockorder is computed only now, but the sudogs are queued and chained
    # in it as in Go.
    if locks is None:
        # _lockorder, inlined for one M (a call is ~2% of a select that parks).
        if hasnil:
            lockorder = [i for i in pollorder if cases[i][1] is not None]
        else:
            lockorder = list(pollorder)
        if len(lockorder) == 2:
            if id(cases[lockorder[0]][1]) > id(cases[lockorder[1]][1]):
                lockorder.reverse()
        elif len(lockorder) > 2:
            lockorder.sort(key=lambda i: id(cases[i][1]))
    if not lockorder:
        # Only nil channels: nothing can ever wake us (Go parks in selectgo
        # with no sudogs queued).
        gopark(None, None, waitReasonSelect)
        raise AssertionError("unreachable")
    try:
        gp = _getcurrent().gort_g  # getg(), inlined
    except AttributeError:
        gp = None
    if gp is None:
        gp = getg_thread()  # a thread that is not an M: its thread G (M:N only)
    gp.param = None
    cache = _sudogcache
    sglist = None
    last = None
    for casi in lockorder:
        kind, c, elem = cases[casi]
        if cache:
            try:
                sg = cache.pop()
                sg.g = gp
            except IndexError:  # M:N: another M took the last one
                sg = sudog(gp)
                sg.isSelect = True
        else:
            sg = sudog(gp)
            sg.isSelect = True
        sg.elem = elem
        sg.c = c
        sg.caseidx = casi
        if last is None:
            sglist = sg
        else:
            last.waitlink = sg
        last = sg
        q = c.recvq if kind is caseRecv else c.sendq
        # q.enqueue(sg), inlined
        x = q.last
        if x is None:
            q.first = q.last = sg
        else:
            sg.prev = x
            x.next = sg
            q.last = sg
    if tchans is not None:
        for c in tchans:
            c.timer.blockTimerChan(c)  # Go 1.23: blockTimerChan
    # g.waiting holds the sudog list while parked (Go); a channel op's
    # idle sudog, if any, is kept there otherwise (gort/hchan.py).
    saved = gp.waiting
    gp.waiting = sglist
    try:
        # Go: gopark(selparkcommit, nil, waitReasonSelect, ...): the commit
        # unlocks every channel once the G is waiting (M:N).
        gopark(None if locks is None else _selparkcommit, locks, waitReasonSelect, gp)
    except BaseException:
        # Killed while parked (teardown, a lazy runtime's Deadlock): leave
        # no sudog behind on any channel.
        locks = _sellock(cases, lockorder) if _mn else None
        gp.selectdone = 0
        gp.waiting = saved
        gp.param = None
        _dequeueall(cases, sglist, None, cache)
        if tchans is not None:
            for c in tchans:
                c.timer.unblockTimerChan(c)  # Go 1.23: unblockTimerChan
        if locks is not None:
            _selunlock(locks)
        raise

    # pass 3 - dequeue from the unsuccessful channels.
    # Go: sellock(scases, lockorder); gp.selectDone = 0.  (_mn is read
    # again: the run may have gone M:N while this G was parked.)
    locks = _sellock(cases, lockorder) if _mn else None
    gp.selectdone = 0
    won = gp.param
    gp.param = None
    gp.waiting = saved
    casi = won.caseidx
    success = won.success
    v = won.elem
    _dequeueall(cases, sglist, won, cache)
    if tchans is not None:
        for c in tchans:
            c.timer.unblockTimerChan(c)  # Go 1.23: unblockTimerChan
    if locks is not None:
        _selunlock(locks)
    if cases[casi][0] is caseRecv:
        return casi, v, success
    if not success:
        raise ClosedChannelError("send on closed channel")  # woken by close
    return casi, None, False


def _polltimers() -> None:
    """A select took its default while a timer is pending: if the timer is
    due, yield, so that timerproc runs it (gort has no preemption, and a
    goroutine polling ``select(..., default=True)`` in a loop would never let
    it).  Go runs timers on every P's scheduling rounds and preempts a
    goroutine that never blocks; Go 1.23's timer channels also check the
    clock when polled, which gort/hchan.py does too.  The cost on the
    default path: one read of sched.timer0when while no timer is pending,
    plus a clock read while one is.  The select still returns its default:
    the caller's next poll sees what the timers did.  Also called by
    ``ctx.err()`` (gort/context.py).  Never yields timerproc itself."""
    if _sched.timer0when <= _monotonic():
        try:
            gp = _getcurrent().gort_g
        except AttributeError:
            return  # not on an M (a foreign thread): nothing to yield
        if gp is not None and gp is not _sched.timerg:
            gosched()


def _lockorder(cases: tuple | list, order: list[int]) -> list[int]:
    """Sort the (non-nil) cases in ``order`` by channel identity, in place
    (Go: the heap sort of lockorder by hchan address).  Python's sort is
    stable, so cases on one channel keep their random relative order
    (TestPseudoRandomSend, unbuffered); two cases take one comparison."""
    if len(order) == 2:
        if id(cases[order[0]][1]) > id(cases[order[1]][1]):
            order.reverse()
    elif len(order) > 2:
        order.sort(key=lambda i: id(cases[i][1]))
    return order


def _sellock(cases: tuple | list, lockorder: list[int]) -> list:
    """Lock each distinct channel once, in lockorder (Go: sellock); the
    locks, in that order.  Equal channels are adjacent in lockorder."""
    locks = []
    lastc = None
    for i in lockorder:
        c = cases[i][1]
        if c is not lastc:
            lastc = c
            lock = c.lock or _chanlock(c)
            lock.acquire()
            locks.append(lock)
    return locks


def _selunlock(locks: list) -> None:
    """Go: selunlock."""
    for lock in locks:
        lock.release()


def _selparkcommit(gp: Any, locks: list) -> bool:
    """gopark's unlockf for a select (Go: selparkcommit): gp is marked
    waiting, so the channels can be unlocked; a waker on another M may
    ready gp from the first release on.  Touches no sudog: once a channel
    is unlocked, its sudogs may change."""
    for lock in locks:
        lock.release()
    return True


def _dequeueall(cases: tuple | list, sglist: sudog | None, won: sudog | None,
                cache: list[sudog]) -> None:
    """Take every sudog of a select but ``won`` off its channel's queue and
    release it (Go: selectgo's pass 3, then releaseSudog), in one walk."""
    sg = sglist
    while sg is not None:
        if sg is not won:
            c = sg.c
            if cases[sg.caseidx][0] is caseRecv:
                c.recvq.dequeueSudoG(sg)
            else:
                c.sendq.dequeueSudoG(sg)
        # Clear what would keep objects alive.
        nxt = sg.waitlink
        sg.waitlink = None
        sg.elem = sg.c = sg.g = None
        sg.success = False
        if len(cache) < _SUDOGCACHE_MAX:
            cache.append(sg)
        sg = nxt


# The public name (Go's statement); the algorithm keeps the runtime's name.
select = selectgo

thread_entry(selectgo)  # a thread's select (docs/design.md, "Threads")
