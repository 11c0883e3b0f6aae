"""Network errors: Go's *net.OpError family, as Python exceptions.

Go: src/net/net.go (OpError, AddrError, UnknownNetworkError, DNSError),
src/internal/poll/fd.go (ErrNetClosing, DeadlineExceededError) and
src/os/error.go (SyscallError).

Where gort differs from Go, and why:

* Go has one ``*OpError`` type whose ``Err`` field tells the cases apart
  (``errors.Is(err, os.ErrDeadlineExceeded)``).  Python code tells errors
  apart by class, so each case is an ``OpError`` subclass that also derives
  from the matching builtin: ``DeadlineExceededError`` is a ``TimeoutError``,
  ``ConnRefusedError`` a ``ConnectionRefusedError`` and so on, so
  ``except TimeoutError`` and ``except ConnectionError`` work as a Python
  programmer expects.
* Bad input (an unknown network, a malformed address, a port out of range)
  is a ``ValueError`` in Python, not an I/O error: ``UnknownNetworkError``
  and ``AddrError`` derive from ``ValueError``, and are raised before any
  syscall.  Their text is still Go's ("dial tcp: address 1.2.3.4:99999:
  invalid port").
* Go's ``os.SyscallError`` ("read: connection reset by peer") is folded into
  ``OpError.syscall``; the OS error itself is ``OpError.err``.
"""

from __future__ import annotations

import errno as _errno
import socket as _socket
from typing import Any

__all__ = [
    "AddrError", "ConnAbortedError", "ConnBrokenPipeError", "ConnRefusedError",
    "ConnResetError", "DNSError", "DeadlineExceededError", "NetClosedError", "OpError",
    "UnknownNetworkError", "errDeadlineExceeded", "errNetClosing", "errNotPollable",
    "wrap_error",
]

# The texts are Go's (internal/poll/fd.go); programs and tests match on them.
ErrNetClosingText = "use of closed network connection"
ErrDeadlineExceededText = "i/o timeout"
ErrNotPollableText = "not pollable"

# Go: syscall.Errno.Timeout and Temporary (unix), and OpError.Temporary's
# special case: ECONNRESET/ECONNABORTED from accept are temporary (issue 6163).
_TIMEOUT_ERRNOS = frozenset((_errno.EAGAIN, _errno.EWOULDBLOCK, _errno.ETIMEDOUT))
_TEMPORARY_ERRNOS = frozenset((_errno.EINTR, _errno.EMFILE, _errno.ENFILE)) | _TIMEOUT_ERRNOS
_ACCEPT_TEMPORARY_ERRNOS = frozenset((_errno.ECONNRESET, _errno.ECONNABORTED))


# --------------------------------------------------------------------------
# The poll layer's own errors (Go: internal/poll ErrNetClosing,
# ErrDeadlineExceeded, ErrNotPollable).  gort/net/fd_poll.py raises these;
# the Conn layer wraps them in the public OpError classes below, as Go's
# net package wraps poll errors in *OpError.


class errNetClosing(OSError):
    """poll.ErrNetClosing: the FD was closed (by this process)."""

    def __init__(self) -> None:
        super().__init__(ErrNetClosingText)


class errDeadlineExceeded(TimeoutError):
    """poll.ErrDeadlineExceeded (*DeadlineExceededError): a deadline passed."""

    def __init__(self) -> None:
        super().__init__(ErrDeadlineExceededText)


class errNotPollable(OSError):
    """poll.ErrNotPollable: the poller reported an error on the fd."""

    def __init__(self) -> None:
        super().__init__(ErrNotPollableText)


# --------------------------------------------------------------------------
# The public errors


def _addr_str(a: Any) -> str:
    return a if isinstance(a, str) else str(a)


def _errtext(err: BaseException | str) -> str:
    """Go's lower-case strerror ("connection refused", not "Connection refused")."""
    if isinstance(err, str):
        return err
    if isinstance(err, OpError):
        return err._body()
    if isinstance(err, OSError) and err.strerror:
        s = err.strerror
    else:
        s = str(err) or type(err).__name__
    if len(s) > 1 and s[0].isupper() and s[1].islower():
        s = s[0].lower() + s[1:]
    return s


class OpError(OSError):
    """An error from a network operation (Go: *net.OpError).

    ``op`` is the operation ("dial", "read", "write", "accept", "close",
    "set", ...), ``net`` the network ("tcp", "udp", "unix"...), ``source``
    the local address and ``addr`` the remote one (either may be None),
    ``err`` the underlying error and ``syscall`` the name of the system call
    that failed, when one did (Go: os.SyscallError).  ``errno`` is the OS
    error number when there is one.  ``str()`` is Go's:
    ``"read tcp 127.0.0.1:5000->127.0.0.1:6000: i/o timeout"``.
    """

    def __init__(self, op: str, net: str = "", source: Any = None, addr: Any = None,
                 err: BaseException | str = "", syscall: str = "") -> None:
        en = getattr(err, "errno", None) if isinstance(err, OSError) else None
        text = _errtext(err)
        if syscall:
            text = f"{syscall}: {text}"
        if isinstance(en, int):
            super().__init__(en, text)
        else:
            super().__init__(text)
        self.op = op
        self.net = net
        self.source = source
        self.addr = addr
        self.err = err
        self.syscall = syscall

    def _body(self) -> str:
        e = self.err
        text = _errtext(e)
        return f"{self.syscall}: {text}" if self.syscall else text

    def __str__(self) -> str:
        # Go: (*OpError).Error
        s = self.op
        if self.net:
            s += " " + self.net
        if self.source is not None:
            s += " " + _addr_str(self.source)
        if self.addr is not None:
            s += ("->" if self.source is not None else " ") + _addr_str(self.addr)
        return s + ": " + self._body()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> Any:
        return (type(self), (self.op, self.net, self.source, self.addr, self.err, self.syscall))

    def timeout(self) -> bool:
        """Go: net.Error.Timeout."""
        e = self.err
        if isinstance(e, OpError):
            return e.timeout()
        return isinstance(e, errDeadlineExceeded) or (
            isinstance(e, OSError) and e.errno in _TIMEOUT_ERRNOS)

    def temporary(self) -> bool:
        """Go: net.Error.Temporary (deprecated in Go, still used by accept loops)."""
        e = self.err
        if isinstance(e, OpError):
            return e.temporary()
        if isinstance(e, errDeadlineExceeded):
            return True
        if not isinstance(e, OSError):
            return False
        return e.errno in _TEMPORARY_ERRNOS or (
            self.op == "accept" and e.errno in _ACCEPT_TEMPORARY_ERRNOS)


class DeadlineExceededError(OpError, TimeoutError):
    """A deadline passed (Go: an *OpError wrapping os.ErrDeadlineExceeded).

    ``str()`` ends in "i/o timeout"; ``timeout()`` and ``temporary()`` are
    True.  Raised by reads, writes, accepts with an expired deadline and by
    ``dial(timeout=)``.  On a write, ``n`` is the number of bytes written
    before the deadline (0 when nothing was).
    """

    n = 0

    def __init__(self, op: str, net: str = "", source: Any = None, addr: Any = None,
                 err: BaseException | str = ErrDeadlineExceededText, syscall: str = "") -> None:
        super().__init__(op, net, source, addr, err, syscall)

    def timeout(self) -> bool:
        return True

    def temporary(self) -> bool:
        return True


class NetClosedError(OpError):
    """Use of a closed connection or listener (Go: net.ErrClosed in an *OpError).

    ``str()`` ends in "use of closed network connection"; neither a timeout
    nor temporary.  A read or write that was blocked when ``close()`` was
    called gets this error too.
    """

    def __init__(self, op: str, net: str = "", source: Any = None, addr: Any = None,
                 err: BaseException | str = ErrNetClosingText, syscall: str = "") -> None:
        super().__init__(op, net, source, addr, err, syscall)

    def timeout(self) -> bool:
        return False

    def temporary(self) -> bool:
        return False


class ConnRefusedError(OpError, ConnectionRefusedError):
    """ECONNREFUSED: nobody listens at the address ("connect: connection refused")."""


class ConnResetError(OpError, ConnectionResetError):
    """ECONNRESET: the peer reset the connection."""


class ConnAbortedError(OpError, ConnectionAbortedError):
    """ECONNABORTED."""


class ConnBrokenPipeError(OpError, BrokenPipeError):
    """EPIPE: writing to a connection the peer has closed (or after close_write)."""


class DNSError(OpError, _socket.gaierror):
    """Name resolution failed (Go: *net.DNSError inside a dial *OpError).

    ``name`` is the name looked up; ``is_not_found`` says the name does not
    exist (as opposed to a resolver failure).
    """

    def __init__(self, op: str, net: str = "", source: Any = None, addr: Any = None,
                 err: BaseException | str = "", syscall: str = "", name: str = "") -> None:
        super().__init__(op, net, source, addr, err, syscall)
        self.name = name
        en = getattr(err, "errno", None)
        self.is_not_found = en in (_socket.EAI_NONAME, getattr(_socket, "EAI_NODATA", None))

    def _body(self) -> str:
        if self.is_not_found:
            return f"lookup {self.name}: no such host"
        return f"lookup {self.name}: {_errtext(self.err)}"

    def __reduce__(self) -> Any:
        return (_rebuild_dns, (self.op, self.net, self.source, self.addr, self.err, self.name))


def _rebuild_dns(op: str, net: str, source: Any, addr: Any, err: Any, name: str) -> DNSError:
    return DNSError(op, net, source, addr, err, name=name)


class _InputError(OSError, ValueError):
    """A net error caused by a bad argument: an OSError, like every gort.net
    error (in Go every dial failure is a net.Error, so ``except OSError``
    around a dial must catch it), and a ValueError too, as it was before.
    Its errno is None: no system call failed.  (OSError parses its
    arguments in __init__ for a subclass that defines one, so errno is not
    taken from op.)"""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""

    def timeout(self) -> bool:
        """Go: net.Error.Timeout."""
        return False

    def temporary(self) -> bool:
        """Go: net.Error.Temporary."""
        return False


class UnknownNetworkError(_InputError):
    """The network name is not one gort.net knows (Go: UnknownNetworkError).
    An OSError and a ValueError.

    ``str()``: "dial udpx: unknown network udpx".
    """

    def __init__(self, op: str, network: Any) -> None:
        super().__init__(f"{op} {network}: unknown network {network}")
        self.op = op
        self.net = network
        self.addr = None

    def __reduce__(self) -> Any:
        return (type(self), (self.op, self.net))


class AddrError(_InputError):
    """A malformed or unusable address (Go: *net.AddrError inside an *OpError).
    An OSError, as every gort.net error is, and a ValueError.

    ``str()``: "dial tcp: address 127.0.0.1:99999: invalid port".
    """

    def __init__(self, op: str, net: str, addr: Any, why: str) -> None:
        prefix = f"{op} {net}: " if net else f"{op}: "
        where = f"address {addr}: " if addr not in (None, "") else ""
        super().__init__(prefix + where + why)
        self.op = op
        self.net = net
        self.addr = addr
        self.err = why

    def __reduce__(self) -> Any:
        return (type(self), (self.op, self.net, self.addr, self.err))


# Which public class wraps which builtin OSError subclass.
_WRAP = (
    (ConnectionRefusedError, ConnRefusedError),
    (ConnectionResetError, ConnResetError),
    (BrokenPipeError, ConnBrokenPipeError),
    (ConnectionAbortedError, ConnAbortedError),
)


def wrap_error(op: str, net: str, source: Any, addr: Any, err: BaseException,
               syscall: str = "") -> BaseException:
    """Wrap an error from the poll layer or the OS in the right OpError
    (Go: the ``&OpError{...}`` at the end of each net method, plus
    wrapSyscallError).  Anything that is not an OSError passes through."""
    if isinstance(err, (OpError, _InputError)):
        return err  # already gort's, with op and addr
    if isinstance(err, errDeadlineExceeded):
        return DeadlineExceededError(op, net, source, addr)
    if isinstance(err, errNetClosing):
        return NetClosedError(op, net, source, addr)
    if isinstance(err, errNotPollable):
        return OpError(op, net, source, addr, err)
    if not isinstance(err, OSError):
        return err
    if isinstance(err, _socket.gaierror):
        return DNSError(op, net, source, addr, err)
    for base, cls in _WRAP:
        if isinstance(err, base):
            return cls(op, net, source, addr, err, syscall)
    return _opclass(type(err))(op, net, source, addr, err, syscall)


_opclasses: dict[type, type] = {}


def _opclass(base: type) -> type:
    """OpError for a builtin OSError subclass (FileNotFoundError ->
    FileNotFoundOpError), made once, so that ``except FileNotFoundError``
    catches a failed dial of a missing unix socket.  Plain OSError -> OpError."""
    if base is OSError or not issubclass(base, OSError) or base.__module__ != "builtins":
        return OpError
    cls = _opclasses.get(base)
    if cls is None:
        name = base.__name__.removesuffix("Error") + "OpError"
        cls = type(name, (OpError, base), {
            "__module__": __name__, "__doc__": f"An OpError that is also a {base.__name__}.",
            "__reduce__": lambda self: (_rebuild_op, (base.__name__, self.op, self.net,
                                                      self.source, self.addr, self.err,
                                                      self.syscall))})
        # setdefault: one C call, so two Ms making the class at once agree on one.
        cls = _opclasses.setdefault(base, cls)
    return cls


def _rebuild_op(basename: str, *args: Any) -> OpError:
    import builtins
    return _opclass(getattr(builtins, basename))(*args)
