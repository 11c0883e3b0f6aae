"""CPython stdlib tests that fail under gort.monkey.patch_all(), each with
its reason (read by tests/cpython/run_stdlib.py; listed in docs/monkey.md).

A key is a test id without the leading "test." (module.Class.method), a
prefix of one (a whole class), or an fnmatch pattern.  Tests *left out* of
a run (they would hang or end the whole module) are in run_stdlib.py's
SUBSETS, with their reasons.
"""

from __future__ import annotations

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
    "test_threading.ThreadTests.test_lock_no_subclass": ("3.13: patch_thread's Lock is a "
                                                         "Python class, which can be "
                                                         "subclassed; the C lock type cannot"),
    "test_threading.ThreadTests.test_getprofile_all_threads": (
        "3.13: while a runtime runs, gort keeps a threading profile hook that admits plain "
        "threads to the channels (docs/design.md, \"Threads\"); the test sees it"),
    # patch_socket
    "test_socket.NonBlockingTCPTests.testSetBlocking": _NONBLOCK,
    "test_socket.NonBlockingTCPTests.testSetBlocking_overflow": _NONBLOCK,
    "test_socket.NonblockConstantTest.test_SOCK_NONBLOCK": _NONBLOCK,
}

