"""Goroutine dumps in Go's format.

Go: src/runtime/traceback.go (goroutineheader, traceback, printcreatedby).

    goroutine 7 [chan receive, 2 minutes]:
    worker(...)
    \t/path/to/prog.py:12
    created by main in goroutine 1
    \t/path/to/prog.py:30

Frames come innermost first, as in Go; frames inside gort's own runtime
modules are left out (Go hides runtime frames the same way unless
GOTRACEBACK=system).
"""

from __future__ import annotations

import os
import sys
from time import monotonic
from types import FrameType

from greenlet import getcurrent

from .runtime2 import G, _Grunnable, _Gwaiting, gstatusname, sched

_GORT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _is_runtime_frame(f: FrameType) -> bool:
    fn = f.f_code.co_filename
    return fn.startswith(_GORT_DIR) and os.sep + "samples" + os.sep not in fn


def goroutine_header(gp: G, now: float | None = None) -> str:
    """``goroutine N [status or waitreason[, M minutes]]:`` (Go: goroutineheader)."""
    # Each field read once: Go stops the world for a dump, gort does not, and
    # another M may be changing gp meanwhile.
    st, reason = gp.status, gp.waitreason
    if st == _Gwaiting and reason:
        status = reason
    else:
        status = gstatusname.get(st, str(st))
    extra = ""
    if st == _Gwaiting:
        if now is None:
            now = monotonic()
        # gopark does not read the clock (it costs ~60 ns a park): like Go,
        # whose GC stamps waitsince the first time it finds the G waiting, a
        # dump stamps it, so "N minutes" counts from the first observation.
        if not gp.waitsince:
            gp.waitsince = now
        mins = int((now - gp.waitsince) // 60)
        if mins >= 1:
            extra = f", {mins} minutes"
    return f"goroutine {gp.goid} [{status}{extra}]:"


def _frames(gp: G) -> list[FrameType]:
    gr = gp.gr
    if gr is None:
        return []
    if gr is getcurrent():
        f: FrameType | None = sys._getframe(1)
    else:
        f = gr.gr_frame
    out = []
    while f is not None:
        if not _is_runtime_frame(f):
            out.append(f)
        f = f.f_back
    return out


def goroutine_stack(gp: G, now: float | None = None) -> str:
    lines = [goroutine_header(gp, now)]
    frames = _frames(gp)
    fn = gp.fn  # each field read once (see goroutine_header)
    if not frames and gp.status == _Grunnable and fn is not None:
        name = getattr(fn, "__qualname__", repr(fn))
        lines.append(f"{name}(...)")
    for f in frames:
        lines.append(f"{f.f_code.co_qualname}(...)")
        lines.append(f"\t{f.f_code.co_filename}:{f.f_lineno}")
    code, lineno = gp.gopc, gp.gopcline
    if code is not None and not gp.ismain:
        lines.append(f"created by {code.co_qualname} in goroutine {gp.parentgoid}")
        lines.append(f"\t{code.co_filename}:{lineno}")
    return "\n".join(lines)


def goroutine_dump(include_system: bool = False) -> str:
    """Every goroutine, by goid, each as Go prints it; blank-line separated."""
    now = monotonic()
    # A copy: other Ms add and drop Gs meanwhile (iterating the set itself
    # raised "Set changed size during iteration").
    gs = sorted((g for g in list(sched.allgs) if include_system or not g.system),
                key=lambda g: g.goid)
    return "\n\n".join(goroutine_stack(g, now) for g in gs)
