"""A pipeline with fan-out, fan-in and cancellation by context.

    python samples/pipeline.py

The Go blog's "Pipelines and cancellation", in gort:

    gen -> sq, sq, sq (fan-out) -> merge (fan-in) -> main

Every stage selects on its output *and* ctx.done(), so when main has seen
enough and calls cancel(), every goroutine upstream returns instead of
blocking forever on a send nobody will receive.  The last line checks that
none is left: gort.num_goroutine() is back to 1.
"""

import gort
from gort import context
from gort.sync import WaitGroup


def gen(ctx: context.Context, nums: range) -> gort.Chan:
    out = gort.chan()

    def run() -> None:
        try:
            for n in nums:
                i, _, _ = gort.select(gort.send(out, n), gort.recv(ctx.done()))
                if i == 1:
                    return  # cancelled
        finally:
            out.close()

    gort.go(run)
    return out


def sq(ctx: context.Context, src: gort.Chan) -> gort.Chan:
    out = gort.chan()

    def run() -> None:
        try:
            for n in src:
                i, _, _ = gort.select(gort.send(out, n * n), gort.recv(ctx.done()))
                if i == 1:
                    return
        finally:
            out.close()

    gort.go(run)
    return out


def merge(ctx: context.Context, *cs: gort.Chan) -> gort.Chan:
    out = gort.chan()
    wg = WaitGroup()

    def output(c: gort.Chan) -> None:
        for v in c:
            i, _, _ = gort.select(gort.send(out, v), gort.recv(ctx.done()))
            if i == 1:
                return

    for c in cs:
        wg.go(output, c)

    def closer() -> None:
        wg.wait()
        out.close()

    gort.go(closer)
    return out


def main() -> None:
    ctx, cancel = context.with_cancel(context.background())
    src = gen(ctx, range(1, 1_000_000))
    workers = [sq(ctx, src) for _ in range(3)]  # fan-out
    results = merge(ctx, *workers)  # fan-in
    got = [results.recv() for _ in range(10)]
    print(f"first 10 squares, in arrival order: {got}")
    print(f"goroutines running before cancel: {gort.num_goroutine()}")
    cancel()
    for _ in results:  # drain until merge closes it: every stage has returned
        pass
    print(f"goroutines after cancel and drain: {gort.num_goroutine()} "
          f"(ctx.err() = {ctx.err()!r})")


if __name__ == "__main__":
    gort.run(main)
