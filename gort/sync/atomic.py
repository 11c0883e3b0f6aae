"""Atomic integers, booleans and values (Go: sync/atomic's typed API, type.go
and value.go).

    Int32, Int64, Uint32, Uint64   load, store, add, swap, compare_and_swap,
                                   and_, or_ (Go 1.23's And/Or: return the old value)
    Bool                           load, store, swap, compare_and_swap
    Value                          load, store, swap, compare_and_swap

Unlike the rest of gort.sync these work from anywhere: goroutines on any M,
plain OS threads, or code with no gort runtime at all.  They never park.

How a read-modify-write is made atomic
--------------------------------------
Go compiles Add/Swap/CompareAndSwap to one locked instruction.  gort has two
ways, chosen once, when this module is imported:

* **With a GIL** (every CPython before 3.13t, and 3.13t after an extension
  turned the GIL back on; it is never turned off again): a thread gives up
  the GIL only at CPython's "eval breaker" checks -- function entry, calls
  and backward jumps -- and a line tracer runs only between lines.  So each
  read-modify-write here is written as **one line with no call and no
  loop** between its read and its store, e.g. swap's::

      old, self._v = self._v, new

  No other thread can run between the load of ``self._v`` and the store.
  That costs nothing beyond the arithmetic: no lock at all.  (Only an
  instruction-level tracer -- ``f_trace_opcodes``, sys.monitoring's
  INSTRUCTION events -- runs Python code inside a line: that is how the
  tests below imitate a free-threaded build.)
* **Without a GIL** (free-threaded CPython, ``sys._is_gil_enabled()`` false
  at import): threads really do run between any two bytecodes, and a plain
  ``+=`` on a shared int loses updates.  Every method that writes is then
  wrapped (``_rmw``) in the object's own ``threading.Lock`` -- stores too,
  or a store landing between a locked read and write would be lost.  Loads
  stay unlocked: one reference load is atomic on every build.

The method bodies are the same source in both modes; only the wrapper
differs.  ``tests/test_atomic.py`` runs the lock-free bodies under an
opcode-level tracer that drops the GIL *inside* lines (a stand-in for a
free-threaded build, which this machine does not have): they lose updates
there, and the locked mode loses none.

Where gort differs from Go, and why
-----------------------------------
* Go's sized integers wrap around; Python's ints do not, so every add masks
  its result to the type's width (two's complement for Int32/Int64).  The
  delta of ``add`` and the mask of ``and_``/``or_`` are taken modulo 2^bits,
  so ``u.add(-1)`` and ``u.and_(~1)`` work on unsigned types as Go's
  ``^uint32(0)`` and ``^uint32(1)`` do.  A value to *store* (``store``,
  ``swap``, ``compare_and_swap``'s new value) must fit the type: Go cannot
  even express a value that does not, so gort raises OverflowError.
* Go's typed atomics take typed arguments; gort raises TypeError for a
  non-int (a float, a str) or, for Bool, a non-bool.
* ``Value``: Go's panics ("store of nil value into Value", "store of
  inconsistently typed value into Value", ...) raise SyncError with Go's
  message; "the same type" is ``type(x) is``, exactly (True after 1 is a
  different type, as bool and int are in Go).  ``compare_and_swap``
  compares with ``==`` (Go: interface equality), then swaps only if the
  stored value is still the one it compared (Go's CompareAndSwapPointer).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from .mutex import SyncError

# True on every CPython with a GIL.  On a free-threaded build an extension
# module that needs the GIL turns it on for good when it is imported (it is
# off again only if that import fails): a lock taken for nothing is the
# worst that a later change can do to the choice made here.
_GIL: bool = getattr(sys, "_is_gil_enabled", lambda: True)()

_F = TypeVar("_F", bound=Callable[..., Any])


def _rmw(f: _F) -> _F:
    """Mark f as one of the object's atomic writes.  With a GIL f is
    returned as it is (its body does the read-modify-write in one line:
    see the module docstring); without one it runs under the object's
    ``_mu``."""
    if _GIL:
        return f

    @wraps(f)
    def locked(self: Any, *args: Any) -> Any:
        with self._mu:
            return f(self, *args)

    return locked  # type: ignore[return-value]


def _newmu() -> threading.Lock | None:
    return None if _GIL else threading.Lock()


def _notint(tname: str, what: str, x: Any) -> TypeError:
    return TypeError(f"{tname}.{what}: expected an int, not {type(x).__name__}")


# --------------------------------------------------------------------------
# Int32, Int64, Uint32, Uint64


def _intops(tname: str, bits: int, signed: bool) -> dict[str, Callable[..., Any]]:
    """The methods of one sized integer type, over its width.  Written once
    for all four types; the constants are closure cells (a cell load is as
    cheap as a local's)."""
    M = (1 << bits) - 1  # the width's mask
    B = 1 << (bits - 1) if signed else 0  # bias: (x + B) & M - B is two's complement
    lo, hi = -B, M - B

    def _fit(x: Any, what: str) -> int:
        """x as a plain int in range (a value to store), else raise."""
        try:
            v = x | 0  # a plain int for any int (bool too); TypeError otherwise
        except TypeError:
            raise _notint(tname, what, x) from None
        if not lo <= v <= hi:
            raise OverflowError(f"{tname}.{what}: {v} is out of range [{lo}, {hi}]")
        return v

    def _wrap(x: Any, what: str) -> int:
        """x modulo 2^bits, in the type's range (a delta or a mask)."""
        try:
            return ((x + B) & M) - B
        except TypeError:
            raise _notint(tname, what, x) from None

    def __init__(self: Any, val: int = 0) -> None:
        self._v = _fit(val, "__init__")
        self._mu = _newmu()

    def __repr__(self: Any) -> str:
        return f"<gort.sync.atomic.{tname} {self._v}>"

    def load(self: Any) -> int:
        """The value (Go: Load)."""
        return self._v

    @_rmw
    def store(self: Any, val: int) -> None:
        """Set the value to val, which must fit the type (Go: Store)."""
        self._v = _fit(val, "store")

    @_rmw
    def add(self: Any, delta: int) -> int:
        """Add delta, wrapping around at the type's width; return the new
        value (Go: Add)."""
        # One line, so atomic with a GIL.  In range (the common case) it costs
        # one add and two compares; only a wrap pays for the mask (64-bit
        # ints are two-digit Python ints).  delta | 0: TypeError for a float.
        try:
            v = self._v = x if lo <= (x := self._v + (delta | 0)) <= hi else ((x + B) & M) - B
        except TypeError:
            raise _notint(tname, "add", delta) from None
        return v

    @_rmw
    def swap(self: Any, new: int) -> int:
        """Set the value to new; return the old one (Go: Swap)."""
        new = _fit(new, "swap")
        old, self._v = self._v, new  # one line: atomic with a GIL
        return old

    @_rmw
    def compare_and_swap(self: Any, old: int, new: int) -> bool:
        """If the value is old, set it to new and return True; else change
        nothing and return False (Go: CompareAndSwap)."""
        new = _fit(new, "compare_and_swap")
        try:
            old = old | 0
        except TypeError:
            raise _notint(tname, "compare_and_swap", old) from None
        # One line: atomic with a GIL.  (A failed CAS stores back what it read.)
        self._v = new if (swapped := self._v == old) else self._v
        return swapped

    @_rmw
    def and_(self: Any, mask: int) -> int:
        """value &= mask; return the old value (Go 1.23: And)."""
        m = _wrap(mask, "and_")
        old, self._v = self._v, self._v & m  # one line: atomic with a GIL
        return old

    @_rmw
    def or_(self: Any, mask: int) -> int:
        """value |= mask; return the old value (Go 1.23: Or)."""
        m = _wrap(mask, "or_")
        old, self._v = self._v, self._v | m  # one line: atomic with a GIL
        return old

    ops = dict(__init__=__init__, __repr__=__repr__, load=load, store=store, add=add,
               swap=swap, compare_and_swap=compare_and_swap, and_=and_, or_=or_)
    for name, f in ops.items():
        f.__qualname__ = f"{tname}.{name}"
    return ops


class _AtomicInt:
    """Base of the four sized integer types; ``bits`` and ``signed`` in the
    class statement fill in the methods (``_intops``)."""

    __slots__ = ("_v", "_mu")

    def __init_subclass__(cls, *, bits: int, signed: bool, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        for name, f in _intops(cls.__name__, bits, signed).items():
            setattr(cls, name, f)

    if TYPE_CHECKING:  # what _intops fills in, for type checkers
        def __init__(self, val: int = 0) -> None: ...
        def load(self) -> int: ...
        def store(self, val: int) -> None: ...
        def add(self, delta: int) -> int: ...
        def swap(self, new: int) -> int: ...
        def compare_and_swap(self, old: int, new: int) -> bool: ...
        def and_(self, mask: int) -> int: ...
        def or_(self, mask: int) -> int: ...


class Int32(_AtomicInt, bits=32, signed=True):
    """An atomic int32, wrapping around at 2^31 (Go: atomic.Int32)."""

    __slots__ = ()


class Int64(_AtomicInt, bits=64, signed=True):
    """An atomic int64, wrapping around at 2^63 (Go: atomic.Int64)."""

    __slots__ = ()


class Uint32(_AtomicInt, bits=32, signed=False):
    """An atomic uint32, wrapping around at 2^32 (Go: atomic.Uint32)."""

    __slots__ = ()


class Uint64(_AtomicInt, bits=64, signed=False):
    """An atomic uint64, wrapping around at 2^64 (Go: atomic.Uint64)."""

    __slots__ = ()


# --------------------------------------------------------------------------
# Bool


def _bool(x: Any, what: str) -> bool:
    if x is True or x is False:
        return x
    raise TypeError(f"Bool.{what}: expected a bool, not {type(x).__name__}")


class Bool:
    """An atomic bool (Go: atomic.Bool)."""

    __slots__ = ("_v", "_mu")

    def __init__(self, val: bool = False) -> None:
        self._v = _bool(val, "__init__")
        self._mu = _newmu()

    def __repr__(self) -> str:
        return f"<gort.sync.atomic.Bool {self._v}>"

    def load(self) -> bool:
        """The value (Go: Load)."""
        return self._v

    @_rmw
    def store(self, val: bool) -> None:
        """Set the value (Go: Store)."""
        self._v = _bool(val, "store")

    @_rmw
    def swap(self, new: bool) -> bool:
        """Set the value to new; return the old one (Go: Swap)."""
        new = _bool(new, "swap")
        old, self._v = self._v, new  # one line: atomic with a GIL
        return old

    @_rmw
    def compare_and_swap(self, old: bool, new: bool) -> bool:
        """If the value is old, set it to new and return True (Go: CompareAndSwap)."""
        old = _bool(old, "compare_and_swap")
        new = _bool(new, "compare_and_swap")
        self._v = new if (swapped := self._v is old) else self._v  # one line: atomic
        return swapped


# --------------------------------------------------------------------------
# Value


class Value:
    """Atomic load and store of any value of one type (Go: atomic.Value).

    ``load()`` is None until the first store.  Every later value must have
    the first one's exact type; None cannot be stored.  Both mistakes raise
    SyncError with Go's panic message.

    Go keeps the stored interface as two words, type and data, and publishes
    the first store in two steps; gort keeps one reference to a ``(type,
    value)`` tuple, so every write is one pointer store or pointer CAS
    (``_swapp``/``_casp``), and the first store is an ordinary CAS from None.
    """

    __slots__ = ("_p", "_mu")

    def __init__(self) -> None:
        self._p: tuple[type, Any] | None = None
        self._mu = _newmu()

    def __repr__(self) -> str:
        p = self._p
        return f"<gort.sync.atomic.Value {'-' if p is None else repr(p[1])}>"

    # The two atomic writes; everything else is built on them.

    @_rmw
    def _swapp(self, new: tuple[type, Any]) -> tuple[type, Any] | None:
        old, self._p = self._p, new  # one line: atomic with a GIL
        return old

    @_rmw
    def _casp(self, old: tuple[type, Any] | None, new: tuple[type, Any]) -> bool:
        self._p = new if (swapped := self._p is old) else self._p  # one line: atomic
        return swapped

    def load(self) -> Any:
        """The last value stored, or None if there was none (Go: Load)."""
        p = self._p
        return None if p is None else p[1]

    def store(self, val: Any) -> None:
        """Store val (Go: Store)."""
        self._put(val, "store", "store")

    def swap(self, new: Any) -> Any:
        """Store new; return the previous value, None if none (Go: Swap)."""
        old = self._put(new, "swap", "swap")
        return None if old is None else old[1]

    def _put(self, val: Any, verb: str, what: str) -> tuple[type, Any] | None:
        if val is None:
            raise SyncError(f"sync/atomic: {verb} of nil value into Value")
        np = (type(val), val)
        while True:
            p = self._p
            if p is None:
                if self._casp(None, np):  # the first store fixes the type
                    return None
                continue  # another first store won: check against its type
            if p[0] is not np[0]:
                raise SyncError(f"sync/atomic: {verb} of inconsistently typed value into Value")
            # The type never changes once set, so a plain swap will do.
            return self._swapp(np)

    def compare_and_swap(self, old: Any, new: Any) -> bool:
        """If the value == old, store new and return True (Go: CompareAndSwap).

        old None matches only a Value that was never stored to.
        """
        if new is None:
            raise SyncError("sync/atomic: compare and swap of nil value into Value")
        t = type(new)
        if old is not None and type(old) is not t:
            raise SyncError("sync/atomic: compare and swap of inconsistently typed values")
        np = (t, new)
        while True:
            p = self._p
            if p is None:
                if old is not None:
                    return False
                if self._casp(None, np):
                    return True
                continue
            if p[0] is not t:
                raise SyncError(
                    "sync/atomic: compare and swap of inconsistently typed value into Value")
            # Go: compare by value (the runtime's interface equality), then
            # CompareAndSwapPointer on the data word: succeeds only if no
            # store came in between (else compare again).
            if old is None or not p[1] == old:
                return False
            if self._casp(p, np):
                return True


__all__ = ["Bool", "Int32", "Int64", "Uint32", "Uint64", "Value"]
