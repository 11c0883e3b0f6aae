"""The runtime's data structures: G, M, P, sched, gList/gQueue, sudog.

Go: src/runtime/runtime2.go (the structs, and ``var sched schedt``) and the
gList/gQueue helpers of src/runtime/proc.go.  Field names are Go's.  Where a
field exists only because gort runs on greenlets (``gr``, ``fn``/``args``),
the comment says so.

The ground floor of gort/sched: it imports nothing of gort, and everything
else in the package (proc, sysmon, traceback, ...) reads ``sched`` and the
trace flag (``tracing``) from here, so imports run one way (docs/sched.md,
"Import floors").
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

# G status (Go: runtime2.go).  Plain ints so that comparisons are cheap.
_Gidle = 0
_Grunnable = 1
_Grunning = 2
_Gsyscall = 3
_Gwaiting = 4
_Gdead = 6

gstatusname = {
    _Gidle: "idle",
    _Grunnable: "runnable",
    _Grunning: "running",
    _Gsyscall: "syscall",
    _Gwaiting: "waiting",
    _Gdead: "dead",
}

# waitReason strings, as Go prints them in tracebacks (runtime2.go waitReasonStrings).
waitReasonZero = ""
waitReasonChanReceive = "chan receive"
waitReasonChanSend = "chan send"
waitReasonChanReceiveNilChan = "chan receive (nil chan)"
waitReasonChanSendNilChan = "chan send (nil chan)"
waitReasonSelect = "select"
waitReasonSelectNoCases = "select (no cases)"
waitReasonSleep = "sleep"
waitReasonIOWait = "IO wait"
waitReasonSemacquire = "semacquire"
waitReasonSyncCondWait = "sync.Cond.Wait"
waitReasonSyncMutexLock = "sync.Mutex.Lock"
waitReasonSyncRWMutexRLock = "sync.RWMutex.RLock"
waitReasonSyncRWMutexLock = "sync.RWMutex.Lock"
waitReasonSyncWaitGroupWait = "sync.WaitGroup.Wait"
waitReasonTimerGoroutineIdle = "timer goroutine (idle)"
waitReasonSyscall = "syscall"  # gort: parked while gort.blocking runs on a pool thread
# testing/synctest (Go 1.24+): a bubble goroutine blocked on something of its
# own bubble gets the "(synctest)" reason, which marks it durably blocked.
waitReasonSynctestRun = "synctest.Run"
waitReasonSynctestWait = "synctest.Wait"
waitReasonSynctestChanReceive = "chan receive (synctest)"
waitReasonSynctestChanSend = "chan send (synctest)"
waitReasonSynctestSelect = "select (synctest)"
waitReasonSynctestWaitGroupWait = "sync.WaitGroup.Wait (synctest)"

# Go's local run queue is a 256-slot ring (p.runq [256]guintptr).
RUNQ_SIZE = 256
# Go keeps up to 64 dead Gs per P (gfput moves the surplus to sched.gFree).
GFREE_MAX = 64
# Idle greenlets of finished goroutines kept per P for reuse.  A burst of
# exits (100k sleepers waking) keeps up to GRFREE_MAX, so the goroutines that
# start meanwhile reuse them instead of paying for a fresh greenlet (~10 us to
# create and as much again to free: each maps and unmaps its own data stack);
# an M that goes idle trims the pool back to GRFREE_IDLE (Go frees the
# stacks cached in gFree at GC time, for the same reason).
GRFREE_MAX = 65536
GRFREE_IDLE = 256


class G:
    """A goroutine (Go: type g struct).

    gort separates the G from its greenlet (its "stack", ``gr``): a G that has
    not run yet has ``gr is None`` and can run on any M; the greenlet is bound
    at its first ``execute`` (a dead goroutine's greenlet is reused first, as Go
    reuses a dead G's stack through gfget).  From then on the G is pinned to
    that M, because a greenlet can only be switched to on its own thread.
    """

    __slots__ = (
        "goid", "status", "schedlink", "waitreason", "waitsince", "param",
        "gr", "m", "fn", "args", "kwargs", "ctx", "selectdone", "waiting",
        "timer", "system", "ismain", "parentgoid", "gopc", "gopcline", "exc", "bubble", "bwait",
        "__weakref__",
    )

    def __init__(self) -> None:
        self.goid = 0
        self.status = _Gidle
        self.schedlink: G | None = None  # intrusive link of gList/gQueue/run queues
        self.waitreason = waitReasonZero
        self.waitsince = 0.0  # when a dump first saw it waiting (for "N minutes"); 0: not yet
        self.param: Any = None  # value handed over by the waker (Go: winning sudog)
        self.gr: Any = None  # the greenlet (gort only)
        self.m: M | None = None  # the M this G is pinned to once started (gort only)
        self.fn: Any = None
        self.args: tuple = ()
        self.kwargs: dict | None = None
        self.ctx: Any = None  # contextvars.Context copied from the creator at go
        self.selectdone = 0  # Go: g.selectDone, set by the winner of a select
        self.waiting: Any = None  # sudog(s) this G waits on (Go: g.waiting)
        self.timer: Any = None  # timer reused by time.sleep (Go: g.timer)
        self.system = False  # runtime goroutine (timerproc): not counted, not dumped
        self.ismain = False
        self.parentgoid = 0
        # Where the go statement was (Go: g.gopc): its code object and line,
        # two fields rather than a tuple, to allocate nothing more per go.
        self.gopc: Any = None
        self.gopcline = 0
        self.exc: BaseException | None = None  # exception to raise when resumed
        self.bubble: Any = None  # the synctest bubble it belongs to (Go: g.bubble)
        self.bwait = False  # parked durably blocked in its bubble (gort/sched/synctest.py)

    def __repr__(self) -> str:
        return f"<G {self.goid} {gstatusname.get(self.status, self.status)} {self.waitreason!r}>"


class gList:
    """A stack of Gs linked through g.schedlink (Go: type gList)."""

    __slots__ = ("head",)

    def __init__(self) -> None:
        self.head: G | None = None

    def empty(self) -> bool:
        return self.head is None

    def push(self, gp: G) -> None:
        gp.schedlink = self.head
        self.head = gp

    def pushAll(self, q: gQueue) -> None:
        if q.tail is not None:
            q.tail.schedlink = self.head
            self.head = q.head

    def pop(self) -> G | None:
        gp = self.head
        if gp is not None:
            self.head = gp.schedlink
            gp.schedlink = None
        return gp

    def __iter__(self):
        gp = self.head
        while gp is not None:
            yield gp
            gp = gp.schedlink

    def __len__(self) -> int:
        n = 0
        gp = self.head
        while gp is not None:
            n += 1
            gp = gp.schedlink
        return n


class gQueue:
    """A FIFO of Gs linked through g.schedlink (Go: type gQueue)."""

    __slots__ = ("head", "tail", "size")

    def __init__(self) -> None:
        self.head: G | None = None
        self.tail: G | None = None
        self.size = 0

    def empty(self) -> bool:
        return self.head is None

    def push(self, gp: G) -> None:
        """Add gp to the head."""
        gp.schedlink = self.head
        self.head = gp
        if self.tail is None:
            self.tail = gp
        self.size += 1

    def pushBack(self, gp: G) -> None:
        gp.schedlink = None
        if self.tail is not None:
            self.tail.schedlink = gp
        else:
            self.head = gp
        self.tail = gp
        self.size += 1

    def pushBackAll(self, q: gQueue) -> None:
        if q.tail is None:
            return
        q.tail.schedlink = None
        if self.tail is not None:
            self.tail.schedlink = q.head
        else:
            self.head = q.head
        self.tail = q.tail
        self.size += q.size

    def pop(self) -> G | None:
        gp = self.head
        if gp is not None:
            self.head = gp.schedlink
            if self.head is None:
                self.tail = None
            gp.schedlink = None
            self.size -= 1
        return gp

    def __iter__(self):
        gp = self.head
        while gp is not None:
            yield gp
            gp = gp.schedlink


class P:
    """A processor: the right to run goroutines, and their queues (Go: type p struct).

    Go's runq is a lock-free 256-slot ring that only its owner pushes to.  gort
    uses a deque (C-speed append/popleft) and enforces the same 256 bound,
    spilling half to the global queue when full (runqputslow).

    gort splits Go's one local queue in two, because a greenlet is bound to
    its thread: ``runq`` holds Gs that have not started (they can run on any
    M: stealable, and spilled to the global queue when full), ``readyq``
    holds started Gs made runnable again (woken by a channel, a timer, the
    poller, or yielding).  A started G is pinned to its M, so ``readyq`` is
    never stolen from and never spills; other Ms only append to it (deque
    appends are atomic).  ``runnext`` holds either kind.
    """

    __slots__ = ("id", "status", "m", "runq", "readyq", "runnext", "schedtick",
                 "syscalltick", "gfree", "grfree", "link")

    def __init__(self, id: int) -> None:
        self.id = id
        self.status = 0
        self.m: M | None = None
        self.runq: deque[G] = deque()  # unstarted Gs, <= RUNQ_SIZE
        self.readyq: deque[G] = deque()  # started Gs, pinned to this P's M (gort)
        self.runnext: G | None = None
        self.schedtick = 0
        self.syscalltick = 0
        self.gfree: list[G] = []  # dead Gs, ready for reuse (Go: p.gFree)
        # Idle greenlets of finished goroutines: gort's counterpart of the stack
        # a dead G keeps in Go.  Handing one a new G costs ~0.5 us; a fresh
        # greenlet costs ~8 us on CPython 3.11+ (it maps its own data stack).
        self.grfree: list = []
        self.link: P | None = None


class M:
    """An OS thread running goroutines (Go: type m struct).

    ``g0`` is the scheduler greenlet of this thread: it runs schedule() when
    no goroutine can be handed the thread directly.
    """

    __slots__ = ("id", "g0", "curg", "p", "thread", "note", "blocked", "spinning",
                 "lazy", "lazyg", "retiring", "wakeq")

    def __init__(self, id: int) -> None:
        self.id = id
        self.g0: Any = None
        self.curg: G | None = None
        self.p: P | None = None
        self.thread = threading.current_thread()
        # Go's m.park note: an idle M sleeps on it; another thread wakes it.
        self.note = threading.Event()
        self.blocked = False  # sleeping in findrunnable (note or netpoll)
        self.spinning = False
        self.lazy = False  # started by a plain gort call rather than gort.run
        self.lazyg: G | None = None  # lazy mode: the G of the thread's calling greenlet
        # gomaxprocs went below this M's P: it runs only the Gs pinned to it
        # (they cannot move), takes no new work, and exits once they are gone.
        self.retiring = False
        # M:N: while this M readies a batch of Gs pinned to other Ms (a
        # timerproc pass), the Ms to wake at the end of it (proc.wakebatch).
        self.wakeq: set[M] | None = None


class schedt:
    """Global scheduler state (Go: type schedt struct)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.goidgen = 0
        self.mnext = 0
        self.runq = gQueue()  # global run queue, under lock
        self.runqsize = 0
        self.allgs: set[G] = set()  # live, non-dead Gs (Go: allgs; gort drops dead ones)
        self.ngsys = 0  # live system goroutines (timerproc)
        self.nsyscall = 0  # goroutines parked in gort.blocking (_Gsyscall)
        self.allp: list[P] = []  # the Ps in use, allp[:gomaxprocs] (Go: allp)
        self.gomaxprocs = 1
        self.m0: M | None = None  # the M of the thread that started the runtime
        self.allm: list[M] = []  # every M that is alive, retiring ones included
        self.midle: list[M] = []  # Ms asleep on their note (Go: sched.midle)
        self.nmidle = 0  # Ms blocked in findrunnable: on their note or in netpoll
        self.nmspinning = 0  # Ms woken by wakep that have not found work yet
        self.pollerm: M | None = None  # the M blocked in netpoll, if any
        # Hooks installed by the floors above (see docs/sched.md):
        #   timers:  timer0when (earliest when, inf if none), timerg (timerproc G)
        #   netpoll: netpoll(delay) -> gList, netpollBreak(), netpollWaiters
        self.timer0when = float("inf")
        self.timerg: G | None = None
        self.netpoll: Any = None
        self.netpollBreak: Any = None
        self.netpollWaiters = 0
        self.lastpoll = 0.0
        # How a run ends: main's result, a fatal exception, or neither yet.
        self.done = False
        self.result: Any = None
        self.fatal: BaseException | None = None
        self.exiting = False
        # Set by teardown as it begins: an M that saw main return waits for it
        # before it ends its goroutines (M0 still checks them: leakcheck).
        self.exitnote = threading.Event()
        self.maingoexit = False
        self.starttime = 0.0
        # Counters for the curious (samples/demo.py, docs): greenlets created
        # (the rest were reused), runqputslow spills to the global queue.
        self.ngreenlets = 0
        self.nspill = 0
        self.nsteal = 0  # M:N: successful runqsteals


# The scheduler's global state (Go: var sched schedt, runtime2.go).  One
# instance for the process; teardown resets it in place (sched.__init__()),
# so every module may bind it once at import.
sched = schedt()


class traceflag:
    """Is the execution tracer recording (Go: trace.enabled, traceEnabled())?

    ``tracer`` is the recorder (gort/sched/trace.py's Tracer) or None.  The
    hot paths read a module global instead of this attribute (a global read
    is the cheapest test Python has, ~one load and a branch per hook):
    ``_trace = tracing.register(globals())`` makes the module's ``_trace``
    mirror ``tracer``, as gort.sched.mnmode's ``mode.register`` does for
    ``_mn``.  Start and stop tracing with ``tracing.set(tr)`` only.
    """

    __slots__ = ("tracer", "_dicts")

    def __init__(self) -> None:
        self.tracer: Any = None
        self._dicts: list[dict] = []

    def register(self, g: dict) -> Any:
        """Make the module whose globals are g keep ``_trace`` equal to ``tracer``."""
        self._dicts.append(g)
        g["_trace"] = self.tracer
        return self.tracer

    def set(self, tr: Any) -> None:
        self.tracer = tr
        for g in self._dicts:
            g["_trace"] = tr


tracing = traceflag()


class sudog:
    """A G waiting on a channel or semaphore (Go: type sudog struct)."""

    __slots__ = ("g", "elem", "c", "next", "prev", "isSelect", "success", "ticket",
                 "waitlink", "releasetime", "caseidx")

    def __init__(self, g: G, elem: Any = None, c: Any = None) -> None:
        self.g = g
        self.elem = elem
        self.c = c
        self.next: sudog | None = None
        self.prev: sudog | None = None
        self.isSelect = False
        self.success = False
        self.ticket = 0
        self.waitlink: sudog | None = None
        self.releasetime = 0.0
        self.caseidx = 0
