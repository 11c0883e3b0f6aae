"""gort/sched: Go's scheduler (proc.go, runtime2.go, sema.go, traceback.go).

The ground floor of gort: G, M, P, run queues, gopark/goready, goroutine
creation and exit, deadlock detection, semaphores and the blocking pool.
"""

from .proc import (
    Deadlock,
    add_teardown_hook,
    checkdead,
    execute,
    findrunnable,
    getg,
    goexit,
    gomaxprocs,
    gopark,
    goready,
    gosched,
    goyield,
    injectglist,
    install_netpoll,
    install_timers,
    newproc,
    num_goroutine,
    ready_from_thread,
    run,
    runqput,
    sched,
    teardown,
    wakeNetPoller,
)
from .runtime2 import (
    G,
    M,
    P,
    _Gdead,
    _Gidle,
    _Grunnable,
    _Grunning,
    _Gsyscall,
    _Gwaiting,
    gList,
    gQueue,
    sudog,
)
from .sema import Sema, semacquire, semrelease
from .syscall import blocking
from .traceback import goroutine_dump, goroutine_header, goroutine_stack

__all__ = [
    "Deadlock", "G", "M", "P", "Sema", "_Gdead", "_Gidle", "_Grunnable", "_Grunning",
    "_Gsyscall", "_Gwaiting", "add_teardown_hook", "blocking", "checkdead",
    "execute",
    "findrunnable", "gList", "gQueue", "getg", "gomaxprocs", "gopark", "goready",
    "goroutine_dump", "goroutine_header", "goroutine_stack", "gosched", "goexit", "goyield",
    "injectglist", "install_netpoll", "install_timers", "newproc", "num_goroutine",
    "ready_from_thread", "run",
    "runqput", "sched", "semacquire", "semrelease", "sudog", "teardown", "wakeNetPoller",
]
