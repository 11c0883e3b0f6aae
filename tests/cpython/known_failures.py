"""CPython stdlib tests that fail under gort.monkey.patch_all(), each with
its reason (read by tests/cpython/run_stdlib.py; listed in docs/monkey.md).

A key is a test id without the leading "test." (module.Class.method), a
prefix of one (a whole class), or an fnmatch pattern.  Tests *left out* of
a run (they would hang or end the whole module) are in run_stdlib.py's
SUBSETS, with their reasons.
"""

from __future__ import annotations

import sysconfig

_NONBLOCK = ("by design: the patched socket's fd is always O_NONBLOCK, as every fd under "
             "Go's netpoller is; blocking mode and timeouts live in the Python object, so "
             "fcntl(F_GETFL) does not show the stdlib's O_NONBLOCK for a blocking socket")

KNOWN_FAILURES: dict[str, str] = {
    # patch_thread (gort/monkey/_thread.py)
    "test_threading.MiscTestCase.test__all__": ("patch_thread puts gort's Lock, RLock, Condition, "
                                                "Thread, local, get_ident and current_thread in "
                                                "threading: their __module__ is not 'threading'"),
    "test_threading.ThreadTests.test_disallow_instantiation": ("patch_thread's lock type can be "
                                                               "instantiated directly; the C "
                                                               "_thread.lock type cannot"),
    "test_threading.ThreadTests.test_old_threading_api": ("patch_thread's currentThread (the "
                                                          "old alias) gives no DeprecationWarning"),
    # patch_socket
    "test_socket.NonBlockingTCPTests.testSetBlocking": _NONBLOCK,
    "test_socket.NonBlockingTCPTests.testSetBlocking_overflow": _NONBLOCK,
    "test_socket.NonblockConstantTest.test_SOCK_NONBLOCK": _NONBLOCK,
}

# A free-threaded build (3.13t): the pool worker drops the last reference to
# the call's argument tuple from another thread; biased reference counting
# queues the tuple to its owner thread, which frees it only at its next
# merge, so the refcount the test reads right after is one too high.
if sysconfig.get_config_var("Py_GIL_DISABLED"):
    KNOWN_FAILURES["test_socket.GeneralModuleTests.testRefCountGetNameInfo"] = (
        "free-threaded build: the DNS call runs on a pool thread, and biased reference "
        "counting frees its argument tuple on the owner thread only later")
