"""One M or many: the run's mode, and the functions written once for both.

Go has no counterpart: Go takes ``c.lock``, ``pd.lock`` and ``root.lock``
on every operation, because its Ms always run in parallel.  gort's single-M
run (the default on a GIL build) cannot be interrupted between two greenlet
switches, so its hot paths skip those locks: taking an uncontended
``threading.Lock`` costs ~100 ns a pair, ~25% of a channel ping-pong round
trip (docs/chan.md).  When a run goes M:N (a second M, or a plain thread
that touches a channel) the locks must be taken, from before the second M
starts until the run ends.

This module is the one place that knows which mode the run is in:

* ``mode.on`` is the mode; only the scheduler changes it (``mode.set``),
  before a second M starts and after the last one has stopped, so no
  goroutine is inside a critical section when it flips.
* ``mode.register(globals())`` makes a module's ``_mn`` global mirror
  ``mode.on`` (a global read is the cheapest test Python has) and returns
  the current value: ``_mn = mode.register(globals())``.
* ``mode.onchange(fn)`` registers ``fn(on)`` for a module that must do more
  than read the flag (the scheduler's dealing flag).
* ``@specialise`` writes a function once, in Go's shape, with Go's
  ``lock(l)``/``unlock(l)`` statements and ``if _mn:`` branches, and makes
  two forms of it from that one source: with one M the lock statements are
  dropped and ``_mn`` is False; under M:N they become ``l.acquire()``/
  ``l.release()`` and ``_mn`` is True.  Dead branches are pruned.  The
  function object stays the same; ``mode.set`` swaps its ``__code__``, so
  every caller, however it imported the name, runs the current form.  The
  forms are compiled from the source file's own text at import, with its
  file name and line numbers, so a traceback or a debugger points at the one
  source.  ``specialise(fn, name=..., bind=..., assume=..., returns=...)``
  also derives a variant: a parameter bound to a constant (``block=True``),
  an expression assumed (``c is None``: False for a method), or the returns
  reshaped (chanrecv's ``(selected, v, ok)`` as ``recv``'s ``v``).

A function read in the source is the function that runs; the only
difference between the forms is which locks are taken.  A frame that was
parked when the mode flipped finishes in the form it started in: code after
a park that must see the live mode reads ``mode.on``, not ``_mn``.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Callable
from typing import Any

__all__ = ["lock", "mode", "specialise", "unlock"]


def lock(l: Any) -> None:  # noqa: E741 (Go's name)
    """Go: lock(&l).  In a specialised function, a statement the one-M form drops."""
    l.acquire()


def unlock(l: Any) -> None:  # noqa: E741
    """Go: unlock(&l).  In a specialised function, a statement the one-M form drops."""
    l.release()


class Mode:
    """The run's mode (module docstring); the one instance is ``mode``."""

    __slots__ = ("on", "_dicts", "_hooks", "_funcs")

    def __init__(self) -> None:
        self.on = False
        self._dicts: list[dict] = []
        self._hooks: list[Callable[[bool], None]] = []
        # (function, one-M code, M:N code)
        self._funcs: list[tuple[types.FunctionType, types.CodeType, types.CodeType]] = []

    def register(self, g: dict) -> bool:
        """Make the module whose globals are g keep ``_mn`` equal to ``on``."""
        self._dicts.append(g)
        g["_mn"] = self.on
        return self.on

    def onchange(self, fn: Callable[[bool], None]) -> None:
        """Call fn(on) at every change of mode (and now, if M:N already)."""
        self._hooks.append(fn)
        if self.on:
            fn(True)

    def set(self, on: bool) -> None:
        """The scheduler only: before a second M starts (True), after the
        last other M has stopped (False)."""
        if self.on == on:
            return
        self.on = on
        i = 2 if on else 1
        for f in self._funcs:
            f[0].__code__ = f[i]
        for g in self._dicts:
            g["_mn"] = on
        for fn in self._hooks:
            fn(on)

    def codes(self, fn: Any) -> list[types.CodeType]:
        """Every form's code of fn (the foreign-thread entry points are
        recognised by their code: proc.thread_entry)."""
        for f in self._funcs:
            if f[0] is fn:
                return [f[1], f[2]]
        return [fn.__code__]


mode = Mode()


# --------------------------------------------------------------------------
# The specialiser: a small AST rewrite of one function's source.

class _Specialiser(ast.NodeTransformer):
    def __init__(self, mn: bool, consts: dict[str, Any], returns: str | None) -> None:
        self.mn = mn
        self.names = {"_mn": mn}  # a name -> its value
        self.exprs: dict[str, Any] = {}  # ast.dump of an expression -> its value
        self.types: set[type] = set()
        for src, value in consts.items():
            e = ast.parse(src, mode="eval").body
            if isinstance(e, ast.Name):
                self.names[e.id] = value
            else:
                self.exprs[ast.dump(e)] = value
                self.types.add(type(e))
        self.returns = returns
        self.depth = 0

    # A nested function or class keeps its own returns.
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]
    visit_Lambda = visit_FunctionDef  # type: ignore[assignment]

    def _const(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.Name):
            if node.id in self.names and isinstance(node.ctx, ast.Load):
                return ast.copy_location(ast.Constant(self.names[node.id]), node)
        elif type(node) in self.types:
            d = ast.dump(node)
            if d in self.exprs:
                return ast.copy_location(ast.Constant(self.exprs[d]), node)
        return node

    def visit(self, node: ast.AST) -> Any:  # type: ignore[override]
        node = self._const(node)
        if isinstance(node, ast.Constant):
            return node
        return super().visit(node)

    # -- folding -----------------------------------------------------------
    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Constant):
            return ast.copy_location(ast.Constant(not node.operand.value), node)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        is_and = isinstance(node.op, ast.And)
        values = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                if bool(v.value) != is_and:  # False in an and, True in an or
                    if not values:
                        return ast.copy_location(ast.Constant(v.value), node)
                    values.append(v)
                    break
                continue  # True in an and, False in an or: drop it
            values.append(v)
        if not values:
            return ast.copy_location(ast.Constant(is_and), node)
        if len(values) == 1:
            return values[0]
        node.values = values
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node

    def _block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for s in stmts:
            r = self.visit(s)
            if r is None:
                continue
            if isinstance(r, list):
                out.extend(r)
            else:
                out.append(r)
        return out

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                new = self._block(stmts)
                if not new and field == "body":
                    new = [ast.copy_location(ast.Pass(), node)]
                setattr(node, field, new)
        for field, value in ast.iter_fields(node):
            if field in ("body", "orelse", "finalbody") and isinstance(value, list) \
                    and value and isinstance(value[0], ast.stmt):
                continue
            if isinstance(value, list):
                new_values = []
                for v in value:
                    if isinstance(v, ast.AST):
                        v = self.visit(v)
                        if v is None:
                            continue
                    new_values.append(v)
                value[:] = new_values
            elif isinstance(value, ast.AST):
                setattr(node, field, self.visit(value))
        return node

    def visit_If(self, node: ast.If) -> Any:
        node.test = self.visit(node.test)
        if isinstance(node.test, ast.Constant):
            return self._block(node.body if node.test.value else node.orelse)
        return self.generic_visit_stmts(node)

    def visit_While(self, node: ast.While) -> Any:
        node.test = self.visit(node.test)
        if isinstance(node.test, ast.Constant) and not node.test.value:
            return self._block(node.orelse)
        return self.generic_visit_stmts(node)

    def generic_visit_stmts(self, node: ast.AST) -> ast.AST:
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list):
                new = self._block(stmts)
                if not new and field == "body":
                    new = [ast.copy_location(ast.Pass(), node)]
                setattr(node, field, new)
        return node

    # -- lock(l) / unlock(l) ---------------------------------------------------
    def visit_Expr(self, node: ast.Expr) -> Any:
        call = node.value
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and call.func.id in ("lock", "unlock") and len(call.args) == 1
                and not call.keywords):
            if not self.mn:
                return None
            meth = "acquire" if call.func.id == "lock" else "release"
            arg = self.visit(call.args[0])
            new = ast.Call(ast.Attribute(arg, meth, ast.Load()), [], [])
            return ast.copy_location(ast.Expr(ast.copy_location(new, call)), node)
        self.generic_visit(node)
        return node

    # -- returns -------------------------------------------------------------
    def visit_Return(self, node: ast.Return) -> Any:
        self.generic_visit(node)
        if self.returns is None or self.depth or getattr(node, "made", False):
            return node
        v = node.value
        parts = v.elts if isinstance(v, ast.Tuple) else [v] if v is not None else []
        text = self.returns.format(*(ast.unparse(p) for p in parts))
        stmts = ast.parse(text).body
        for s in stmts:
            for n in ast.walk(s):
                if isinstance(n, ast.Return):
                    n.made = True  # type: ignore[attr-defined]
                if "lineno" in n._attributes:
                    ast.copy_location(n, node)
                    n.end_lineno, n.end_col_offset = node.end_lineno, node.end_col_offset
        # Fold what the template made constant ("if not True: raise ...").
        return self._block(stmts)


def _compile(fn: Any, tree: ast.FunctionDef, name: str, qualname: str) -> types.FunctionType:
    mod = ast.Module(body=[tree], type_ignores=[])
    ast.fix_missing_locations(mod)
    code = compile(mod, fn.__code__.co_filename, "exec", dont_inherit=True)
    ns: dict[str, Any] = {}
    exec(code, fn.__globals__, ns)
    f = ns[name]
    f.__qualname__ = qualname
    f.__module__ = fn.__module__
    return f


def _parse(fn: Any) -> tuple[ast.FunctionDef, int]:
    lines, first = inspect.getsourcelines(fn)
    src = "".join(lines)
    ded = textwrap.dedent(src)
    indent = len(lines[0]) - len(lines[0].lstrip()) if ded != src else 0
    tree = ast.parse(ded).body[0]
    assert isinstance(tree, ast.FunctionDef), fn
    ast.increment_lineno(tree, first - 1)
    if indent:
        for n in ast.walk(tree):
            if hasattr(n, "col_offset"):
                n.col_offset += indent
                if getattr(n, "end_col_offset", None) is not None:
                    n.end_col_offset += indent
    tree.decorator_list = []
    return tree, indent


def specialise(fn: Any = None, *, name: str | None = None, qualname: str | None = None,
               bind: dict[str, Any] | None = None, assume: dict[str, Any] | None = None,
               returns: str | None = None, doc: str | None = None) -> Any:
    """The one-M and M:N forms of fn, as one function (module docstring).

    ``bind``: parameters to fix (removed from the signature); ``assume``:
    source text of expressions to take as constants; ``returns``: a
    template for every ``return a, b, c`` ({0}, {1}, ... are a, b, c).
    Without arguments, a decorator.
    """
    if fn is None:
        return lambda f: specialise(f, name=name, qualname=qualname, bind=bind,
                                    assume=assume, returns=returns, doc=doc)
    src = getattr(fn, "__wrapped_source__", fn)  # a specialised fn: its source
    name = name or src.__name__
    if qualname is None:
        qualname = src.__qualname__ if name == src.__name__ else name
    bind = bind or {}
    consts = dict(assume or {})
    consts.update(bind)
    forms = []
    for mn in (False, True):
        tree, _ = _parse(src)
        tree.name = name
        a = tree.args
        if bind:
            pos = a.posonlyargs + a.args
            ndef = len(a.defaults)
            keep, defaults = [], []
            for i, arg in enumerate(pos):
                if arg.arg in bind:
                    continue
                keep.append(arg)
                j = i - (len(pos) - ndef)
                if j >= 0:
                    defaults.append(a.defaults[j])
            a.posonlyargs, a.args, a.defaults = [], keep, defaults
        # Annotations are strings (from __future__ import annotations);
        # the compiled forms carry none, the function gets fn's below.
        for arg in a.posonlyargs + a.args + a.kwonlyargs:
            arg.annotation = None
        tree.returns = None
        tree.body = _Specialiser(mn, consts, returns)._block(tree.body) or [ast.Pass()]
        forms.append(_compile(src, tree, name, qualname))
    one, many = forms
    f = types.FunctionType(many.__code__ if mode.on else one.__code__, src.__globals__, name,
                           one.__defaults__, None)
    f.__qualname__ = qualname
    f.__module__ = src.__module__
    f.__doc__ = doc if doc is not None else src.__doc__
    f.__annotations__ = {k: v for k, v in getattr(src, "__annotations__", {}).items()
                         if k not in bind and not (returns is not None and k == "return")}
    f.__wrapped_source__ = src  # type: ignore[attr-defined]
    mode._funcs.append((f, one.__code__, many.__code__))
    return f
