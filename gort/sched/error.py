"""The runtime's panics (Go: src/runtime/error.go, the runtime.Error interface).

Go's runtime panics -- "send on closed channel", "close of nil channel",
"sync: negative WaitGroup counter", "sync: unlock of unlocked mutex",
"makechan: size out of range" -- all satisfy ``runtime.Error``, so one
``recover`` sees them as one family.  gort's are subclasses of ``Panic``,
so one ``except gort.Panic`` catches any of them.  ``Panic`` is a
RuntimeError: programming errors, not conditions to retry.

``gort.Deadlock`` is deliberately not a Panic: Go's "all goroutines are
asleep" is a fatal error that no recover can catch, not a panic.
"""

from __future__ import annotations

__all__ = ["Panic"]


class Panic(RuntimeError):
    """A Go runtime panic raised by gort (Go: a runtime.Error): a misuse of
    a channel, of a sync primitive, or of the runtime.  Catch the family
    with ``except gort.Panic``."""
