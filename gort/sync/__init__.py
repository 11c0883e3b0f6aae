"""gort.sync: Go's package sync for goroutines (Go: src/sync, src/internal/sync,
and the semaphores of src/runtime/sema.go, which are gort/sched/sema.py).

    Mutex      lock, unlock, try_lock, with          mutex.py   (internal/sync/mutex.go)
    RWMutex    rlock, runlock, lock, unlock,         rwmutex.py (sync/rwmutex.go)
               try_lock, try_rlock, rlocker, with
    WaitGroup  add, done, wait, go                   waitgroup.py (sync/waitgroup.go)
    Once       do                                    once.py    (sync/once.go)
    Cond       wait, signal, broadcast, with         cond.py    (sync/cond.go + notifyList)
    once_func, once_value, once_values               once.py    (sync/oncefunc.go, Go 1.21)

Submodules, each its Go package:

    atomic        Int32, Int64, Uint32, Uint64, Bool, Value   (sync/atomic)
    errgroup      Group, with_context                         (golang.org/x/sync/errgroup)
    semaphore     Weighted                                    (golang.org/x/sync/semaphore)
    singleflight  Group, Result                               (golang.org/x/sync/singleflight)

Blocked goroutines show Go's wait reasons in dumps and in a Deadlock:
"sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock",
"sync.WaitGroup.Wait", "sync.Cond.Wait".  What Go reports as a fatal error
or a panic ("sync: unlock of unlocked mutex", "sync: negative WaitGroup
counter", ...) raises SyncError with Go's message.

These are for goroutines: they park the goroutine, not the thread, and
work from goroutines on any M (GOMAXPROCS > 1): each module takes its own
threading.Lock around what Go does with atomics, but only once the run has
gone M:N (docs/sync.md, "M:N").  They are not locks for plain OS threads.
The atomics are the exception: they work in goroutines and plain threads
alike, and never park.
"""

from .cond import Cond
from .mutex import Locker, Mutex, SyncError
from .once import Once, once_func, once_value, once_values
from .rwmutex import RLocker, RWMutex
from .waitgroup import WaitGroup

# isort: split
# The submodules that build on the types above.
from . import atomic, errgroup, semaphore, singleflight

__all__ = [
    "Cond", "Locker", "Mutex", "Once", "RLocker", "RWMutex", "SyncError", "WaitGroup",
    "once_func", "once_value", "once_values",
    "atomic", "errgroup", "semaphore", "singleflight",
]
