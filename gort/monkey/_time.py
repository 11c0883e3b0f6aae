"""patch_time: time.sleep parks the goroutine on gort's timers.

Go: time.Sleep (src/runtime/time.go timeSleep), which is gort.time.sleep.
On a plain OS thread the original time.sleep blocks that thread.

One difference from gort.time.sleep, for the stdlib's sake: ``sleep(0)``
yields (gort.gosched).  The stdlib's sleep(0) releases the GIL, and
libraries use it as "let the others run" in polling loops; Go's Sleep(0)
returns at once, which in such a loop would starve every other goroutine.
"""

from __future__ import annotations

import operator
import time as _stdtime
from typing import Any

from greenlet import getcurrent

from gort.sched import gosched
from gort.sched.proc import _tls as _mtls
from gort.time import sleep as _gsleep

from . import _replace

_origsleep = _stdtime.sleep


def sleep(secs: Any) -> None:
    """time.sleep: on a goroutine, park it for ``secs`` seconds."""
    if getattr(_mtls, "m", None) is None or getattr(getcurrent(), "gort_g", None) is None:
        return _origsleep(secs)  # a plain thread (see gort.monkey.in_goroutine)
    if type(secs) is not float:
        secs = secs if isinstance(secs, float) else operator.index(secs)
    if not secs > 0:
        if secs != secs:
            raise ValueError("Invalid value NaN (not a number)")
        if secs < 0:
            raise ValueError("sleep length must be non-negative")
        gosched()
        return
    _gsleep(secs)


sleep.__doc__ = _origsleep.__doc__


def patch() -> None:
    _replace(_stdtime, "sleep", sleep, "time")
