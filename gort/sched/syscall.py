"""gort.blocking: blocking calls on worker threads (Go: entersyscall/exitsyscall).

Go lets the M block in the syscall and hands its P to another M (handoffp).
A greenlet cannot leave its thread, so gort does it the gevent way: the G
parks in ``_Gsyscall``, a pool thread makes the call, and its completion
readies the G from that thread (``ready_from_thread``: the global run queue
under sched.lock, then a wake-up of the M if it sleeps).  ``sched.nsyscall``
counts calls in flight, so checkdead knows a waiter will come back.

Locks (the same with one M or several; a call costs a thread hop, so they
are always taken):

* ``_pool.lock`` (with its condition ``cond``) guards the pool: ``tasks``,
  ``threads``, ``idle``, ``quit``.  Any number of Ms submit at once; a
  submit either hands its task to an idle worker (notify) or starts one,
  decided under the lock, so no task waits for a worker that is not coming.
* ``sched.lock`` guards ``sched.nsyscall``: +1 in ``_enter`` (gopark's
  unlockf, so the G is already parked when its task becomes visible to a
  worker, and no completion can ready a G that still runs), -1 in
  ``ready_from_thread`` together with the wake-up.
* A task (a list) is written by its worker only -- fn's result or
  exception -- before ``ready_from_thread`` queues the G; the G reads it
  after its M has taken it off that queue, a synchronised hand-off, so it
  sees the writes.  The G is pinned to its M: ``ready_from_thread`` queues
  it there and wakes that M, whichever M's goroutine made the call.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from .proc import add_teardown_hook, getg, gopark, ready_from_thread, sched
from .runtime2 import G, _Gsyscall, waitReasonSyscall

T = TypeVar("T")

MAX_WORKERS = 32
IDLE_TIMEOUT = 5.0  # an idle worker exits after this many seconds


class _Pool:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.tasks: deque[list] = deque()
        self.threads: set[threading.Thread] = set()
        self.idle = 0
        self.quit = 0  # workers asked to exit

    def submit(self, task: list) -> None:
        with self.lock:
            self.tasks.append(task)
            if self.idle > len(self.tasks) - 1:
                self.cond.notify()
            elif len(self.threads) < MAX_WORKERS:
                t = threading.Thread(target=self._worker, name="gort-blocking", daemon=True)
                self.threads.add(t)
                t.start()

    def _worker(self) -> None:
        me = threading.current_thread()
        while True:
            with self.lock:
                while not self.tasks:
                    if self.quit:
                        self.quit -= 1
                        self.threads.discard(me)
                        return
                    self.idle += 1
                    signalled = self.cond.wait(IDLE_TIMEOUT)
                    self.idle -= 1
                    if not signalled and not self.tasks:
                        self.threads.discard(me)
                        return
                task = self.tasks.popleft()
            fn, args, kwargs, gp = task[0], task[1], task[2], task[3]
            try:
                task[4] = fn(*args, **kwargs)
            except BaseException as e:  # noqa: BLE001 - re-raised in the goroutine
                task[5] = e
            task[0] = task[1] = task[2] = None
            if gp is not None:
                task[3] = None
                ready_from_thread(gp, syscall=True)
            # An idle worker keeps nothing of its last call alive (its
            # arguments: a socket, a buffer) while it waits for the next.
            fn = args = kwargs = gp = task = None

    def shutdown(self) -> None:
        """Ask idle workers to exit and wait for them (used at teardown)."""
        with self.lock:
            threads = list(self.threads)
            self.quit = len(threads)
            self.cond.notify_all()
        for t in threads:
            if t is not threading.current_thread():
                t.join(timeout=0.05)
        with self.lock:
            self.quit = 0


_pool = _Pool()


def _enter(gp: G, task: list) -> bool:
    # Go: entersyscall.  Submit only now that gp is marked parked, so the
    # completion can never ready a G that is still running.
    gp.status = _Gsyscall
    with sched.lock:
        sched.nsyscall += 1
    _pool.submit(task)
    return True


def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` on a worker thread; the calling goroutine
    parks meanwhile and other goroutines keep running.  Returns fn's result
    or re-raises its exception in the goroutine."""
    if not callable(fn):
        raise TypeError(f"gort.blocking: {type(fn).__name__!r} object is not callable")
    gp = getg()
    task: list = [fn, args, kwargs, gp, None, None]
    gopark(_enter, task, waitReasonSyscall)
    if task[5] is not None:
        exc, task[5] = task[5], None
        raise exc
    return task[4]


def _teardown() -> None:
    # Idle workers go; a worker busy in a call finishes it and then goes.
    with _pool.lock:
        for t in _pool.tasks:
            t[3] = None
        _pool.tasks.clear()
    _pool.shutdown()


add_teardown_hook(_teardown)
