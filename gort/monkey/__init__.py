"""gort.monkey: make the standard library's blocking calls park goroutines.

Note for the authors of the patch modules (the registry API)::

    from gort.monkey import _replace, _registry_get, in_goroutine

    _replace(module, "name", new, group)   # module.name = new, the original
                                           # recorded once (patching twice is
                                           # harmless); group is the patch's
                                           # name ("socket", "thread", ...)
    original(module, "name")               # what was there before patching
    in_goroutine()                         # True on a goroutine's greenlet:
                                           # park; False on a plain thread
                                           # (or g0): block the thread as the
                                           # stdlib does

A ``patch_X()`` does its ``_replace`` calls and then ``_mark("X")``;
``is_patched("X")`` reports it and ``unpatch_all()`` (for tests) restores
every recorded original, newest first.

Go has no foreign blocking calls: every ``os`` and ``net`` operation in a
Go program goes through the runtime's netpoller (``internal/poll``) or,
for a real syscall, ``entersyscall``, which hands the P to another M.  A
Python program calls ``socket.recv`` and ``time.sleep`` directly, and
each blocks the OS thread -- the M -- with every goroutine on it.  So
gort does what gevent does: it replaces those entry points with versions
that park the calling goroutine on gort's netpoller and timers
(gort/netpoll, gort/time), or hand the call to the blocking pool
(``gort.blocking``, Go's entersyscall done the gevent way).

Every patched call first asks whether it runs on a goroutine.  On a plain
OS thread (a thread that is not an M, the blocking pool's workers, or a
script that has not started gort), it behaves as the unpatched stdlib call:
it blocks that thread.  That keeps gort's own Ms and the blocking pool --
which are threads -- working under the patch.

``patch_all()`` must run before the program imports libraries that copy
names out of the stdlib (``from socket import socket``): those copies keep
the originals.  When it finds socket objects already open, it warns
(MonkeyPatchWarning), as gevent does.  See docs/monkey.md.
"""

from __future__ import annotations

import sys
import threading
import types
import warnings
from typing import Any

from greenlet import getcurrent

from gort.sched.proc import _tls as _mtls  # .m: this thread's M, if it is one

__all__ = [
    "MonkeyPatchWarning", "in_goroutine", "is_patched", "original", "patch_all",
    "patch_select", "patch_socket", "patch_ssl", "patch_subprocess", "patch_thread",
    "patch_time", "unpatch_all",
]


class MonkeyPatchWarning(RuntimeWarning):
    """patch_all() ran too late for some objects: they keep the stdlib's
    blocking behaviour."""


# (module name, attribute) -> (module or class object, original value, group).
# Insertion order is patch order; unpatch_all() walks it backwards.  Guarded
# by _lock: patching is rare, and two threads may patch at once.
_registry: dict[tuple[str, str], tuple[Any, Any, str]] = {}
_patched: set[str] = set()
_lock = threading.RLock()
_MISSING = object()


def in_goroutine() -> bool:
    """True when the caller runs on a goroutine (a greenlet that gort's
    scheduler knows), so a patched call may park it; False on a plain
    thread or on an M's scheduler greenlet, where the call must block the
    thread as the stdlib does.

    A thread that is not an M is answered without asking greenlet:
    ``getcurrent()`` would give every plain thread that makes a patched
    call greenlet state of its own, to be torn down when it exits."""
    return (getattr(_mtls, "m", None) is not None
            and getattr(getcurrent(), "gort_g", None) is not None)


def _key(obj: Any, name: str) -> tuple[str, str]:
    if isinstance(obj, types.ModuleType):
        return (obj.__name__, name)
    return (f"{obj.__module__}.{obj.__qualname__}", name)


def _replace(obj: Any, name: str, new: Any, group: str) -> None:
    """Set ``obj.name = new`` (obj: a module or a class), recording the
    original the first time; a second call for the same name only updates
    the value."""
    with _lock:
        key = _key(obj, name)
        if key not in _registry:
            _registry[key] = (obj, getattr(obj, name, _MISSING), group)
        setattr(obj, name, new)


def _mark(group: str) -> None:
    with _lock:
        _patched.add(group)


def _registry_get(obj: Any, name: str) -> Any:
    ent = _registry.get(_key(obj, name))
    return _MISSING if ent is None else ent[1]


def original(module: Any, name: str) -> Any:
    """What ``module.name`` was before gort.monkey replaced it (the current
    value if it was never replaced).  ``module`` is a module, a module's
    name (``"socket"``) or a class."""
    if isinstance(module, str):
        mod = sys.modules.get(module)
        if mod is None:
            mod = __import__(module)
            mod = sys.modules[module]
        module = mod
    v = _registry_get(module, name)
    if v is _MISSING:
        try:
            return getattr(module, name)
        except AttributeError:
            raise AttributeError(f"gort.monkey.original: {module!r} has no attribute "
                                 f"{name!r}") from None
    return v


def is_patched(name: str) -> bool:
    """Whether a patch group ("socket", "time", "select", "ssl",
    "subprocess", "thread") is applied, or, for a dotted name such as
    ``"socket.socket"`` or ``"select.select"``, whether that attribute was
    replaced."""
    with _lock:
        if name in _patched:
            return True
        mod, dot, attr = name.rpartition(".")
        return bool(dot) and (mod, attr) in _registry


def unpatch_all() -> None:
    """Restore every original, newest first (for tests: patch in a test,
    unpatch after it, so later tests in the same process run unpatched)."""
    with _lock:
        for (_, name), (obj, orig, _group) in reversed(list(_registry.items())):
            if orig is _MISSING:
                try:
                    delattr(obj, name)
                except AttributeError:
                    pass
            else:
                setattr(obj, name, orig)
        _registry.clear()
        _patched.clear()


# --------------------------------------------------------------------------
# The patches


def patch_socket(dns: bool = True) -> None:
    """socket.socket becomes a goroutine-aware subclass (blocking-mode
    semantics, timeouts as per-operation deadlines, fdMutex close); with
    ``dns``, getaddrinfo and friends run on the blocking pool."""
    from . import _socket
    with _lock:
        if "socket" not in _patched:
            _socket.patch()
            _mark("socket")
        if dns and "dns" not in _patched:
            _socket.patch_dns()
            _mark("dns")


def patch_time() -> None:
    """time.sleep parks the goroutine on gort's timers."""
    from . import _time
    with _lock:
        if "time" not in _patched:
            _time.patch()
            _mark("time")


def patch_select() -> None:
    """select.select/poll/epoll and selectors' selectors park the goroutine
    on the netpoller."""
    from . import _select
    with _lock:
        if "select" not in _patched:
            _select.patch()
            _mark("select")


def patch_ssl() -> None:
    """SSLContext.wrap_socket returns an SSL socket whose handshake, reads
    and writes park the goroutine (needs patch_socket, which it applies)."""
    patch_socket()
    from . import _ssl
    with _lock:
        if "ssl" not in _patched:
            _ssl.patch()
            _mark("ssl")


def patch_subprocess() -> None:
    """subprocess pipes and waits, os.read/os.write on pollable fds."""
    try:
        from . import _subprocess
    except ImportError as e:
        if e.name != f"{__name__}._subprocess":
            raise
        raise NotImplementedError("gort.monkey.patch_subprocess: not built yet "
                                  "(gort/monkey/_subprocess.py)") from None
    with _lock:
        if "subprocess" not in _patched:
            _subprocess.patch()
            _mark("subprocess")


def patch_thread() -> None:
    """threading's locks, events and conditions and queue.Queue park
    goroutines (and still work for plain threads)."""
    try:
        from . import _thread
    except ImportError as e:
        if e.name != f"{__name__}._thread":
            raise
        raise NotImplementedError("gort.monkey.patch_thread: not built yet "
                                  "(gort/monkey/_thread.py)") from None
    with _lock:
        if "thread" not in _patched:
            _thread.patch()
            _mark("thread")


def patch_all(socket: bool = True, dns: bool = True, time: bool = True, select: bool = True,
              ssl: bool = True, subprocess: bool = True, thread: bool = True) -> None:
    """Apply every patch (each may be turned off by its keyword).  Calling
    it again is harmless.  Call it first, before other imports."""
    with _lock:
        if socket or ssl:
            _warn_existing_sockets()
        if socket:
            patch_socket(dns=dns)
        if time:
            patch_time()
        if select:
            patch_select()
        if ssl:
            patch_ssl()
        if subprocess:
            patch_subprocess()
        if thread:
            patch_thread()


def _warn_existing_sockets() -> None:
    # gevent warns when ssl was imported before patching; gort's ssl patch
    # reaches contexts made earlier (it patches SSLContext itself), so what
    # can go wrong is a socket that already exists: it stays an unpatched
    # socket and blocks its thread.  One scan of the GC's objects, once.
    if "socket" in _patched or "socket" not in sys.modules:
        return
    import gc
    import socket as _stdsocket
    base = _stdsocket.socket
    n = 0
    for o in gc.get_objects():
        if isinstance(o, base) and o.fileno() != -1:
            n += 1
    if n:
        warnings.warn(
            f"gort.monkey.patch_all(): {n} socket object(s) already exist; they were made "
            "before patching and keep blocking their thread.  Call patch_all() before "
            "other imports.", MonkeyPatchWarning, stacklevel=3)
