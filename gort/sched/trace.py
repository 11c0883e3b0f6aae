"""The execution tracer's recorder (Go: src/runtime/trace.go).

The scheduler calls these hooks while the trace flag (runtime2's
``tracing``, mirrored in proc's ``_trace``) holds a Tracer; gort/trace.py
is the public side (start/stop, the SVG viewer).
"""

from __future__ import annotations

import threading
from time import perf_counter
from typing import Any

# Event kinds in the raw log.
_CREATE, _RUN, _PARK, _READY, _EXIT, _BLOCK, _UNBLOCK, _TIMER, _INSTANT = range(9)


class Tracer:
    """Records raw events; converts them to trace-event JSON at stop()."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.t0 = perf_counter()
        self.ev: list[tuple] = []
        self.names: dict[int, str] = {}
        self.lock = threading.Lock()
        self.from_env = False  # started by GORTDEBUG=trace=: written at teardown

    def write(self) -> str:
        import json
        with open(self.path, "w") as f:
            json.dump(self.to_json(), f)
        return self.path

    # Hooks called by the scheduler (hot while tracing: keep them short).
    def create(self, gp: Any, parent: Any) -> None:
        fn = gp.fn
        # A runtime wrapper (WaitGroup.go's body) names the function it runs
        # by its position in the args, so the trace shows the user's function.
        w = getattr(fn, "gort_wraps", None)
        if w is not None and len(gp.args) > w:
            fn = gp.args[w]
        self.names[gp.goid] = getattr(fn, "__qualname__", None) or type(fn).__name__
        self.ev.append((perf_counter(), _CREATE, 0, gp.goid, parent.goid))

    def run(self, mp: Any, gp: Any) -> None:
        if gp.goid not in self.names:  # main, or a G created before start()
            fn = gp.fn
            self.names[gp.goid] = ("main" if gp.ismain else
                                   getattr(fn, "__qualname__", None) or type(fn).__name__)
        self.ev.append((perf_counter(), _RUN, mp.id, gp.goid, None))

    def park(self, gp: Any, reason: str | None) -> None:
        m = gp.m
        self.ev.append((perf_counter(), _PARK, m.id if m is not None else 0, gp.goid, reason))

    def ready(self, gp: Any) -> None:
        self.ev.append((perf_counter(), _READY, 0, gp.goid, None))

    def exit(self, mp: Any, gp: Any) -> None:
        self.ev.append((perf_counter(), _EXIT, mp.id, gp.goid, None))

    def timer(self, tg: Any, t: Any) -> None:
        """timerproc (goroutine tg) is about to run t.f(t.arg, t.seq)."""
        m = tg.m if tg is not None else None
        f = getattr(t.f, "__qualname__", None) or type(t.f).__name__
        self.ev.append((perf_counter(), _TIMER, m.id if m is not None else 0, 0, f))

    def instant(self, mp: Any, text: str) -> None:
        """A runtime event on M mp's lane (sysmon's retake)."""
        with self.lock:
            self.ev.append((perf_counter(), _INSTANT, mp.id, 0, text))

    def block(self, mp: Any, netpoll: bool) -> None:
        self.ev.append((perf_counter(), _BLOCK, mp.id, 0, "netpoll" if netpoll else "note"))

    def unblock(self, mp: Any) -> None:
        self.ev.append((perf_counter(), _UNBLOCK, mp.id, 0, None))

    # Conversion.
    def to_json(self) -> dict:
        end = perf_counter()
        us = lambda t: round((t - self.t0) * 1e6, 3)  # noqa: E731
        out: list[dict] = [
            {"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "Ms"}},
            {"ph": "M", "pid": 2, "name": "process_name", "args": {"name": "goroutines"}},
        ]
        mrun: dict[int, tuple[int, float]] = {}  # M -> (goid, start) of the open span
        mblock: dict[int, float] = {}
        gstate: dict[int, tuple[str, float]] = {}  # goid -> (state, since)
        ms: set[int] = set()

        def gset(goid: int, state: str, t: float) -> None:
            prev = gstate.get(goid)
            if prev is not None and prev[1] < t:
                out.append({"ph": "X", "pid": 2, "tid": goid, "name": prev[0],
                            "cat": _state_cat(prev[0]), "ts": us(prev[1]),
                            "dur": round((t - prev[1]) * 1e6, 3)})
            if state:
                gstate[goid] = (state, t)
            else:
                gstate.pop(goid, None)

        def mclose(m: int, t: float, why: str) -> None:
            open_ = mrun.pop(m, None)
            if open_ is not None:
                goid, _ = open_
                out.append({"ph": "E", "pid": 1, "tid": m, "ts": us(t), "args": {"then": why}})

        for t, kind, m, goid, arg in self.ev:
            if kind == _CREATE:
                out.append({"ph": "i", "s": "t", "pid": 2, "tid": goid, "name": "GoCreate",
                            "ts": us(t), "args": {"goid": goid, "parent": arg}})
                gset(goid, "runnable", t)
            elif kind == _RUN:
                ms.add(m)
                mclose(m, t, "switch")
                name = self.names.get(goid, "main" if goid == 1 else "?")
                out.append({"ph": "B", "pid": 1, "tid": m, "ts": us(t), "cat": "run",
                            "name": f"G{goid} {name}", "args": {"goid": goid}})
                mrun[m] = (goid, t)
                gset(goid, "running", t)
            elif kind == _PARK:
                why = f"waiting: {arg}" if arg else "runnable"
                if mrun.get(m, (None,))[0] == goid:
                    mclose(m, t, why)
                gset(goid, why, t)
            elif kind == _READY:
                out.append({"ph": "i", "s": "t", "pid": 2, "tid": goid, "name": "GoUnblock",
                            "ts": us(t), "args": {"goid": goid}})
                gset(goid, "runnable", t)
            elif kind == _EXIT:
                if mrun.get(m, (None,))[0] == goid:
                    mclose(m, t, "exit")
                out.append({"ph": "i", "s": "t", "pid": 2, "tid": goid, "name": "GoEnd",
                            "ts": us(t), "args": {"goid": goid}})
                gset(goid, "", t)
            elif kind == _TIMER:
                out.append({"ph": "i", "s": "t", "pid": 1, "tid": m, "name": "TimerFire",
                            "ts": us(t), "args": {"f": arg}})
            elif kind == _INSTANT:
                out.append({"ph": "i", "s": "t", "pid": 1, "tid": m, "name": arg,
                            "ts": us(t)})
            elif kind == _BLOCK:
                ms.add(m)
                mclose(m, t, "idle")
                mblock[m] = t
                out.append({"ph": "B", "pid": 1, "tid": m, "ts": us(t), "cat": "idle",
                            "name": f"idle ({arg})"})
            elif kind == _UNBLOCK:
                if mblock.pop(m, None) is not None:
                    out.append({"ph": "E", "pid": 1, "tid": m, "ts": us(t)})
        for m in list(mrun):
            mclose(m, end, "trace stopped")
        for m in list(mblock):
            out.append({"ph": "E", "pid": 1, "tid": m, "ts": us(end)})
        for goid in list(gstate):
            gset(goid, "", end)
        for m in sorted(ms):
            out.append({"ph": "M", "pid": 1, "tid": m, "name": "thread_name",
                        "args": {"name": f"M{m}"}})
        for goid, name in self.names.items():
            out.append({"ph": "M", "pid": 2, "tid": goid, "name": "thread_name",
                        "args": {"name": f"G{goid} {name}"}})
        return {"traceEvents": out, "displayTimeUnit": "ms",
                "otherData": {"generator": "gort.trace", "duration_us": us(end)}}


def _state_cat(state: str) -> str:
    if state.startswith("waiting: syscall"):
        return "syscall"
    if state.startswith("waiting"):
        return "waiting"
    return state


