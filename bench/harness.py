"""The small framework the benchmark cases are written in.

A case module (bench/cases/*.py) declares one or more ``Case`` objects and
registers one function per runtime with ``@case.variant(key, ...)``.  A
variant function takes the case's size (``n``) and its own keyword arguments
and returns ``{metric name: value}``.  run.py runs every variant in a fresh
interpreter (``run.py --child CASE KEY PROFILE``), which imports the case
module, checks what the variant needs (``requires``), calls it and prints one
``BENCH-RESULT {json}`` line.

Case modules import their runtimes *inside* the variant functions: a child
then loads only the runtime it measures (no gevent in an asyncio process,
and memory cases see only their own runtime's footprint).
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RESULT_MARK = "BENCH-RESULT "
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))

# What each peer runtime needs installed; gort variants name their own needs.
RUNTIME_REQUIRES = {
    "gevent": ("gevent",),
    "asyncio": (),
    "uvloop": ("uvloop",),
    "trio": ("trio",),
    "greenlet": ("greenlet",),
    "gort": ("gort.go()",),
}


@dataclass
class Metric:
    name: str
    unit: str
    higher_is_better: bool
    fmt: str = ",.0f"
    compare: bool = False         # show "gort is Nx" for this extra metric too

    def show(self, v: float | None) -> str:
        if v is None:
            return "-"
        return format(v, self.fmt)


@dataclass
class Variant:
    key: str                      # "runtime:what", e.g. "gevent:Channel"
    label: str
    fn: Callable[..., dict]
    kwargs: dict
    requires: tuple[str, ...]
    seq: int

    @property
    def runtime(self) -> str:
        return self.key.split(":", 1)[0]


@dataclass
class Target:
    """A goal from the issues: gort (``gort`` key, default the case's first
    gort variant) must be at least ``factor`` times as good as the best of
    the variants matching ``vs`` (glob patterns), on ``metric``; or, with
    ``limit``, gort's value must be within ``limit`` (<= for lower-is-better)."""
    text: str
    metric: str
    vs: tuple[str, ...] = ()
    factor: float = 1.0
    limit: float | None = None
    gort: str | None = None


@dataclass
class Case:
    name: str
    title: str                    # may use {n:,}
    sizes: dict[str, Any]         # profile ("full", "quick") -> n
    metrics: list[Metric]
    timeout: float = 300.0
    variants: list[Variant] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    note: str = ""

    def variant(self, key: str, label: str, requires: tuple[str, ...] = (),
                **kwargs: Any) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
        """Register the decorated function as this case's variant ``key``.
        Decorators stack, so one function can serve several variants
        (asyncio on its default loop and on uvloop)."""
        runtime = key.split(":", 1)[0]
        if runtime not in RUNTIME_REQUIRES:
            raise ValueError(f"bench: variant {key!r}: unknown runtime {runtime!r}")
        if any(v.key == key for v in self.variants):
            raise ValueError(f"bench: case {self.name!r} has two variants {key!r}")

        # Decorator expressions are evaluated top-down (then applied
        # bottom-up): numbering them here keeps the order of the source.
        global _seq
        _seq += 1
        seq = _seq

        def register(fn: Callable[..., dict]) -> Callable[..., dict]:
            need = RUNTIME_REQUIRES[runtime] + tuple(requires)
            self.variants.append(Variant(key, label, fn, kwargs, need, seq))
            self.variants.sort(key=lambda v: (_ORDER.index(v.runtime), v.seq))
            return fn
        return register

    def target(self, text: str, metric: str, vs: tuple[str, ...] | str = (),
               factor: float = 1.0, limit: float | None = None,
               gort: str | None = None) -> None:
        if isinstance(vs, str):
            vs = (vs,)
        self.targets.append(Target(text, metric, tuple(vs), factor, limit, gort))

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(f"bench: case {self.name!r} has no metric {name!r}")

    def size(self, profile: str) -> Any:
        return self.sizes[profile]

    def matching(self, pattern: str) -> list[Variant]:
        return [v for v in self.variants if fnmatch.fnmatchcase(v.key, pattern)]

    def primary_gort(self) -> Variant | None:
        for v in self.variants:
            if v.runtime == "gort":
                return v
        return None


_ORDER = ["gort", "gevent", "asyncio", "uvloop", "trio", "greenlet"]
_seq = 0


# ---------------------------------------------------------------------------
# The registry of cases

CASE_MODULES = [
    "spawn", "pingpong", "buffered", "chanselect", "mutex", "timers", "echo", "parked",
    "sockpairs", "gilfree", "atomic", "tls_echo",
]


def load_cases() -> list[Case]:
    if BENCH_DIR not in sys.path:
        sys.path.insert(0, BENCH_DIR)
    cases: list[Case] = []
    for name in CASE_MODULES:
        mod = importlib.import_module(f"cases.{name}")
        cases.extend(mod.CASES)
    return cases


def find_case(name: str) -> Case:
    for c in load_cases():
        if c.name == name:
            return c
    raise KeyError(f"bench: no case named {name!r}")


# ---------------------------------------------------------------------------
# What a variant needs


class Missing(Exception):
    """A module or name a variant needs does not exist (yet)."""


def check_requires(names: tuple[str, ...]) -> None:
    """Resolve each dotted name ("gort.sync.WaitGroup", "gevent"), importing
    submodules as needed; raise Missing naming the first that is absent.
    A name ending in "()" must be callable ("gort.chan()": the function,
    not only the module gort/hchan.py)."""
    for dotted in names:
        want_call = dotted.endswith("()")
        dotted = dotted.removesuffix("()")
        parts = dotted.split(".")
        try:
            obj = importlib.import_module(parts[0])
        except ImportError as e:
            raise Missing(f"module missing: {parts[0]}") from e
        path = parts[0]
        for part in parts[1:]:
            path = f"{path}.{part}"
            if hasattr(obj, part):
                obj = getattr(obj, part)
                continue
            try:
                obj = importlib.import_module(path)
            except ModuleNotFoundError as e:
                raise Missing(f"module missing: {path}") from e
            except ImportError as e:
                raise Missing(f"cannot import {path}: {e}") from e
        if want_call and not callable(obj):
            raise Missing(f"not callable yet: {dotted}")


# ---------------------------------------------------------------------------
# The child process


def child_main(case_name: str, key: str, profile: str) -> int:
    case = find_case(case_name)
    var = next((v for v in case.variants if v.key == key), None)
    if var is None:
        raise SystemExit(f"bench: case {case_name!r} has no variant {key!r}")
    out: dict[str, Any] = {"case": case_name, "variant": key}
    try:
        check_requires(var.requires)
    except Missing as e:
        out["status"] = f"n/a ({e})"
        _emit(out)
        return 0
    try:
        metrics = var.fn(case.size(profile), **var.kwargs)
    except Missing as e:
        out["status"] = f"n/a ({e})"
    except BaseException as e:  # noqa: BLE001 - report, never crash the run
        traceback.print_exc()
        out["status"] = f"error: {type(e).__name__}: {e}"[:200]
    else:
        out["status"] = "ok"
        out["metrics"] = metrics
    _emit(out)
    return 0


def _emit(out: dict) -> None:
    sys.stdout.flush()
    sys.stdout.write(RESULT_MARK + json.dumps(out) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------
# Helpers the cases share


def run_asyncio(main: Callable[[], Any], loop: str) -> Any:
    """Run ``main()`` (a coroutine function) on asyncio's default loop or uvloop."""
    import asyncio
    if loop == "uvloop":
        import uvloop
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
            return r.run(main())
    if loop != "asyncio":
        raise ValueError(f"bench: unknown asyncio loop {loop!r}")
    with asyncio.Runner() as r:
        return r.run(main())


def rss() -> int:
    """This process's resident set size in bytes."""
    import psutil
    return psutil.Process().memory_info().rss


def raise_nofile(need: int) -> None:
    """Raise this process's open-file soft limit to ``need`` (or the hard
    limit); Missing-style clear error when even the hard limit is too low."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        raise RuntimeError(f"bench: needs {need} open files, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def percentile(sorted_values: list[float], p: float) -> float:
    """The p-th percentile (0..100) of an already sorted list, nearest rank."""
    if not sorted_values:
        raise ValueError("percentile of an empty list")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def python_cmd(code: str) -> list[str]:
    """argv to run ``code`` in a fresh interpreter of this same Python, with
    bench/ on sys.path (for servers a case starts in a separate process)."""
    prelude = f"import sys; sys.path.insert(0, {BENCH_DIR!r}); "
    return [sys.executable, "-c", prelude + code]
