"""GORTDEBUG, sysmon, schedtrace/scheddetail and the SIGQUIT dump.

Go: src/runtime/proc.go (sysmon, schedtrace), runtime1.go (GODEBUG parsing),
signal_unix.go (SIGQUIT prints every goroutine).

``GORTDEBUG`` is comma-separated like Go's GODEBUG:

    schedtrace=<ms>   print Go's SCHED line every <ms> milliseconds
    scheddetail=1     with schedtrace: add the per-P, per-M and per-G lines
    blockwarn=<ms>    report (with its stack) a goroutine that has held its M
                      for longer than <ms> without yielding
    sigquit=exit      on SIGQUIT dump the goroutines and exit with status 2, as
                      Go does; by default gort dumps and keeps running
    trace=<path>      record an execution trace of the run into <path>
                      (Chrome trace-event JSON; see gort/trace.py)

sysmon is a plain thread with no P, as in Go.  With one M it runs only when
GORTDEBUG asks for something it does.  When the run goes M:N it always runs
(``ensure_mn``) and does Go's retake as far as greenlets allow: a P whose
schedtick has not moved for 10 ms while its M runs a goroutine (no
preemption: the goroutine is computing, or blocked in a plain OS call) is
counted in ``nretake`` and the trace, and its unstarted Gs move to the global
queue so that another M runs them (Go's handoffp).  Started Gs cannot move:
they are pinned to the stuck M's thread.  Its sleep starts at 20 us and
doubles after 50 idle rounds up to 10 ms, like Go's.

Floors: sysmon stands on runtime2 (``sched``, ``tracing``) and traceback;
proc stands on sysmon (it starts and stops it).  retake's one call up a
floor, Go's handoffp, goes through the hook proc installs at its import
(``install_handoffp``).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from .runtime2 import P, _Gwaiting, sched, tracing
from .trace import Tracer
from .traceback import goroutine_dump, goroutine_header

# proc's handoffp(pp) -> how many Gs it handed off (installed by proc).
_handoffp: Callable[[P], int] | None = None


def install_handoffp(fn: Callable[[P], int]) -> None:
    """Called once by proc: retake's way to hand a stuck P's Gs off."""
    global _handoffp
    _handoffp = fn


def parse_gortdebug(value: str | None = None) -> dict[str, str]:
    """``"schedtrace=1000,scheddetail=1"`` -> {"schedtrace": "1000", ...}."""
    if value is None:
        value = os.environ.get("GORTDEBUG", "")
    out = {}
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        k, sep, v = item.partition("=")
        if not sep:
            raise ValueError(f"GORTDEBUG: {item!r} is not key=value")
        out[k.strip()] = v.strip()
    return out


def _int_setting(cfg: dict[str, str], key: str) -> int:
    v = cfg.get(key)
    if v is None:
        return 0
    try:
        return int(v)
    except ValueError:
        raise ValueError(f"GORTDEBUG: {key}={v!r} is not an integer") from None


def schedtrace(detailed: bool, starttime: float, out: TextIO | None = None) -> str:
    """One schedtrace report in Go's format (Go: schedtrace)."""
    s = sched
    ms = int((time.monotonic() - starttime) * 1000)
    ps = list(s.allp)
    ms_ = list(s.allm)
    idle = sum(1 for m in ms_ if m.blocked)
    threads = threading.active_count()
    head = (f"SCHED {ms}ms: gomaxprocs={s.gomaxprocs} idleprocs={idle} threads={threads} "
            f"spinningthreads={s.nmspinning} needspinning=0 idlethreads={idle} "
            f"runqueue={s.runqsize}")
    qs = " ".join(str(len(p.runq) + len(p.readyq) + (p.runnext is not None)) for p in ps)
    ticks = " ".join(str(p.schedtick) for p in ps)
    lines = []
    if detailed:
        lines.append(f"{head} gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false")
        for p in ps:
            m = p.m
            lines.append(
                f"  P{p.id}: status={1 if m is not None and not m.blocked else 0} "
                f"schedtick={p.schedtick} syscalltick={p.syscalltick} "
                f"m={m.id if m is not None else 'nil'} "
                f"runqsize={len(p.runq) + len(p.readyq) + (p.runnext is not None)} "
                f"gfreecnt={len(p.gfree)} "
                f"timerslen={_timerslen()}")
        for m in ms_:
            cg = m.curg
            lines.append(
                f"  M{m.id}: p={m.p.id if m.p is not None else 'nil'} "
                f"curg={cg.goid if cg is not None and not m.blocked else 'nil'} mallocing=0 "
                f"throwing=0 preemptoff= locks=0 dying=0 spinning={str(m.spinning).lower()} "
                f"blocked={str(m.blocked).lower()} lockedg=nil")
        for g in sorted(list(s.allgs), key=lambda g: g.goid):
            reason = f"({g.waitreason})" if g.status == _Gwaiting else "()"
            lines.append(f"  G{g.goid}: status={g.status}{reason} "
                         f"m={g.m.id if g.m is not None and g.m.curg is g else 'nil'} "
                         f"lockedm=nil")
    else:
        lines.append(f"{head} [{qs}] schedticks=[{ticks}]")
    text = "\n".join(lines)
    if out is not None:
        out.write(text + "\n")
        out.flush()
    return text


def _timerslen() -> int:
    mod = sys.modules.get("gort.time.timers")
    fn = getattr(mod, "timerslen", None) if mod is not None else None
    return fn() if fn is not None else 0


class Sysmon:
    """The system monitor thread (Go: sysmon), for GORTDEBUG's reports."""

    def __init__(self, cfg: dict[str, str], out: TextIO | None = None) -> None:
        self.trace_ms = _int_setting(cfg, "schedtrace")
        self.detail = _int_setting(cfg, "scheddetail") > 0
        self.blockwarn_ms = _int_setting(cfg, "blockwarn")
        self.out = out if out is not None else sys.stderr
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="gort-sysmon", daemon=True)
        self.warned: set[tuple[int, int]] = set()
        self.nblockwarn = 0
        self.mn = False  # M:N: retake (hand off a stuck P's unstarted Gs)
        self.nretake = 0
        self.nlongrun = 0  # Gs seen holding their M > 10 ms (M:N)
        self.longrun: set[tuple[int, int]] = set()

    def wanted(self) -> bool:
        return self.trace_ms > 0 or self.blockwarn_ms > 0 or self.mn

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_ev.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=1)

    def loop(self) -> None:
        start = time.monotonic()
        nexttrace = start + self.trace_ms / 1000 if self.trace_ms else float("inf")
        delay, idle = 20e-6, 0
        nextstamp = start
        lasttick: dict[int, tuple[int, float]] = {}
        while not self.stop_ev.wait(delay):
            now = time.monotonic()
            busy = False
            if self.blockwarn_ms or self.mn:
                busy = self.retake(sched, now, lasttick)
            if now >= nextstamp:
                # Go's GC stamps g.waitsince the first time it sees a G
                # waiting; gopark does not read the clock, so sysmon does.
                for g in list(sched.allgs):
                    if g.status == _Gwaiting and not g.waitsince:
                        g.waitsince = now
                nextstamp = now + 1.0
            if now >= nexttrace:
                schedtrace(self.detail, start, self.out)
                nexttrace += self.trace_ms / 1000
                if nexttrace < now:
                    nexttrace = now + self.trace_ms / 1000
            # Go: start at 20 us; after 50 idle rounds double, up to 10 ms.
            if busy:
                delay, idle = 20e-6, 0
            else:
                idle += 1
                if idle > 50:
                    delay = min(delay * 2, 10e-3)

    def retake(self, sched: Any, now: float, lasttick: dict) -> bool:
        """Go's retake, minus preemption: a P whose schedtick has not moved
        for blockwarn ms while its M runs a goroutine is reported once."""
        found = False
        for p in list(sched.allp):
            m = p.m
            if m is None or m.blocked:
                lasttick.pop(p.id, None)
                continue
            t = p.schedtick
            prev = lasttick.get(p.id)
            if prev is None or prev[0] != t:
                lasttick[p.id] = (t, now)
                continue
            held = now - prev[1]
            gp = m.curg
            if self.mn and held >= 0.010 and gp is not None and (p.id, t) not in self.longrun:
                # Go's sysmon would preempt it; gort records it, once per tick.
                self.longrun.add((p.id, t))
                self.nlongrun += 1
                tr = tracing.tracer
                if tr is not None:
                    tr.instant(m, f"G{gp.goid} held M{m.id} > 10 ms")
            if self.mn and held >= 0.010 and p.runq and _handoffp is not None:
                n = _handoffp(p)  # Go: retake -> handoffp
                if n:
                    self.nretake += 1
                    found = True
                    tr = tracing.tracer
                    if tr is not None:
                        tr.instant(m, f"retake P{p.id}: {n} Gs handed off")
            if self.blockwarn_ms and held * 1000 >= self.blockwarn_ms and gp is not None:
                key = (p.id, t)
                if key in self.warned:
                    continue
                self.warned.add(key)
                self.nblockwarn += 1
                found = True
                frame = sys._current_frames().get(m.thread.ident)
                lines = [f"gort: goroutine {gp.goid} has held M{m.id} for {held * 1000:.0f} ms "
                         f"without yielding (blockwarn={self.blockwarn_ms}ms)",
                         goroutine_header(gp)]
                while frame is not None:
                    lines.append(f"{frame.f_code.co_qualname}(...)")
                    lines.append(f"\t{frame.f_code.co_filename}:{frame.f_lineno}")
                    frame = frame.f_back
                self.out.write("\n".join(lines) + "\n")
                self.out.flush()
        return found


_sysmon: Sysmon | None = None
_prev_sigquit: Any = None
_sigquit_installed = False


def _on_sigquit(signum: int, frame: Any) -> None:
    sys.stderr.write("SIGQUIT: quit\n\n" + goroutine_dump() + "\n")
    sys.stderr.flush()
    if parse_gortdebug().get("sigquit") == "exit":
        os._exit(2)


def start(out: TextIO | None = None) -> None:
    """Called when the runtime starts: sysmon if asked, the SIGQUIT dump."""
    global _sysmon, _prev_sigquit, _sigquit_installed
    cfg = parse_gortdebug()
    path = cfg.get("trace")
    if path and tracing.tracer is None:
        tr = Tracer(path)
        tr.from_env = True
        tracing.set(tr)
    mon = Sysmon(cfg, out)
    if mon.wanted():
        _sysmon = mon
        mon.start()
    sigquit = getattr(signal, "SIGQUIT", None)
    if (sigquit is not None and threading.current_thread() is threading.main_thread()
            and not _sigquit_installed):
        prev = signal.getsignal(sigquit)
        if prev in (signal.SIG_DFL, None):  # never take over a handler the program set
            _prev_sigquit = prev
            signal.signal(sigquit, _on_sigquit)
            _sigquit_installed = True


def ensure_mn() -> None:
    """The run went M:N: make sure sysmon runs, with retake on."""
    global _sysmon
    if _sysmon is not None:
        _sysmon.mn = True
        return
    mon = Sysmon(parse_gortdebug())
    mon.mn = True
    _sysmon = mon
    mon.start()


def nretake() -> int:
    """How many times sysmon handed a stuck P's unstarted Gs off (M:N)."""
    return _sysmon.nretake if _sysmon is not None else 0


def nlongrun() -> int:
    """How many times sysmon saw a goroutine hold its M > 10 ms (M:N)."""
    return _sysmon.nlongrun if _sysmon is not None else 0


def stop() -> None:
    """Called when the runtime ends."""
    global _sysmon, _sigquit_installed
    tr = tracing.tracer
    if tr is not None and getattr(tr, "from_env", False):
        tracing.set(None)
        tr.write()
    if _sysmon is not None:
        _sysmon.stop()
        _sysmon = None
    if _sigquit_installed and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGQUIT, _prev_sigquit or signal.SIG_DFL)
        _sigquit_installed = False
