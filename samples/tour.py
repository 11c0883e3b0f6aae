"""A tour of one goroutine's life inside gort's runtime.

    python samples/tour.py [--trace trace.json]

Goroutine 2, "the gopher", is started with ``gort.go``, waits in the run
queue, runs, parks on a channel, is readied by a send, parks on a socket
until the network poller wakes it, sleeps on a timer until timerproc wakes
it, and exits.  At each step main (goroutine 1) prints what the runtime's
data structures say, using the names of Go's runtime: runnext, _Gwaiting,
sudog, recvq, goready, pollDesc.rg, netpollWaiters, the timer heap,
timerproc, gfree.  Read it beside docs/sched.md, docs/chan.md,
docs/netpoll.md and docs/time.md.

With ``--trace``, the run is recorded by gort.trace and drawn as an SVG
(one lane per M, one per goroutine, coloured by state).
"""

from __future__ import annotations

import argparse
import sys

import gort
import gort.debug
import gort.net
import gort.time
import gort.trace
from gort.sched import sched
from gort.sched.runtime2 import gstatusname
from gort.time import timers

STATUS = gstatusname


def say(step: str, *lines: str) -> None:
    print(f"\n== {step}")
    for ln in lines:
        print(f"   {ln}")


def where(gp) -> str:
    pp = sched.allp[0]
    if pp.runnext is gp:
        return "P0.runnext (it runs next)"
    if gp in pp.runq:
        return f"P0.runq[{list(pp.runq).index(gp)}]"
    if gp in list(sched.runq):
        return "the global run queue"
    return "no run queue"


def gopher(ch: gort.Chan, conn: gort.net.Conn, steps: gort.Chan) -> None:
    me = gort.sched.getg()
    steps.send(("running", f"G{me.goid} runs on M{me.m.id}: status={STATUS[me.status]}; "
                "execute() gave it a greenlet (gr) at this first run"))
    v = ch.recv()  # parks: nobody has sent yet
    steps.send(("got", f"G{me.goid} received {v!r} from the channel and runs again"))
    data = conn.read(16)  # parks in "IO wait" until the poller sees data
    steps.send(("read", f"G{me.goid} read {data!r}: netpoll found its socket readable"))
    gort.time.sleep(0.05)  # parks in "sleep" until timerproc fires its timer
    steps.send(("slept", f"G{me.goid} woke from sleep(0.05)"))


def main() -> None:
    say("0. the runtime",
        "gort.run(main) made this thread M0 with a scheduler greenlet g0, one P (P0),",
        "and main as goroutine 1.  Go's schedtrace line says:",
        gort.debug.schedtrace_line())
    ch = gort.chan()
    steps = gort.chan()
    ln = gort.net.listen("tcp", "127.0.0.1:0")
    client = gort.net.dial("tcp", ln.addr)
    server = ln.accept()

    gort.go(gopher, ch, server, steps)
    g2 = max(sched.allgs, key=lambda g: g.goid)
    say("1. go gopher()  -- newproc",
        f"a new G{g2.goid} exists: status={STATUS[g2.status]}, no greenlet yet "
        f"(gr={g2.gr}), in {where(g2)}.",
        "Like Go, a new goroutine goes into the creator's runnext slot.")

    _, msg = steps.recv()  # main parks in "chan receive"; G2 gets the thread
    say("2. main blocks on steps.recv() -- gopark, then execute(G2)",
        "main parked (chan receive); the scheduler handed the thread to runnext:",
        msg)

    # G2 is now parked in ch.recv(): look at the channel and the G.
    sg = ch.recvq.first
    say("3. G2 blocks on ch.recv() -- gopark(chanparkcommit, ..., \"chan receive\")",
        f"G{g2.goid}: status={STATUS[g2.status]}, waitreason={g2.waitreason!r}",
        f"ch.recvq holds a sudog for G{sg.g.goid} (a G waiting on a channel is a sudog "
        "in its queue)",
        gort.debug.stack(all=True).split("\n\n")[1].splitlines()[0] + "   <- as Go prints it")

    ch.send("hello")
    say("4. main: ch.send('hello') -- direct hand-off, then goready(G2)",
        "a receiver was waiting, so the value went straight into its sudog,",
        f"and G{g2.goid} became {STATUS[g2.status]} in {where(g2)}.")
    _, msg = steps.recv()
    print(f"   {msg}")

    # G2 is now parked in conn.read().
    pd = server.fd.pd
    say("5. G2 blocks on conn.read() -- EAGAIN, then netpollblock",
        f"G{g2.goid}: status={STATUS[g2.status]}, waitreason={g2.waitreason!r}",
        f"its pollDesc (fd {pd.fd}): rg = "
        f"{'G' + str(pd.rg.goid) if hasattr(pd.rg, 'goid') else pd.rg} "
        "(pdNil -> pdWait -> the G itself), "
        f"sched.netpollWaiters = {sched.netpollWaiters}")
    client.write(b"ping")
    say("6. main writes b'ping' to the other end, then blocks",
        "with nothing runnable, findrunnable calls netpoll(delay): epoll reports the fd,",
        "netpollready sets rg = pdReady... and hands G2 back in a gList linked through",
        "schedlink; injectglist puts it on the run queue.")
    _, msg = steps.recv()
    print(f"   {msg}")

    t = g2.timer
    say("7. G2 calls gort.time.sleep(0.05) -- a timer in the heap",
        f"G{g2.goid}: status={STATUS[g2.status]}, waitreason={g2.waitreason!r}",
        f"its timer (g.timer, reused by every sleep): when = now + "
        f"{t.when - gort.time.now():.3f} s, f = {t.f.__name__}(arg=G{t.arg.goid}, seq)",
        f"timer heap: {timers.numtimers()} timer(s); sched.timer0when is that when, so the",
        "scheduler will ready the timerproc goroutine when the clock passes it.")
    _, msg = steps.recv()
    say("8. timerproc ran f(arg, seq) -> goready(G2)", msg)

    gort.gosched()
    while gort.num_goroutine() > 1:
        gort.gosched()
    pp = sched.allp[0]
    say("9. G2 returned -- goexit0",
        f"G2 is {STATUS[g2.status]}; the G is on P0.gfree ({len(pp.gfree)} there) and its "
        f"greenlet on P0.grfree ({len(pp.grfree)}), both ready for the next go.",
        f"gort.num_goroutine() = {gort.num_goroutine()}; greenlets created in this run: "
        f"{sched.ngreenlets}; scheduling rounds: {pp.schedtick}")
    for c in (client, server, ln):
        c.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="A tour of one goroutine's life in gort.")
    ap.add_argument("--trace", metavar="FILE.json",
                    help="record an execution trace and draw FILE.svg next to it")
    args = ap.parse_args()
    if args.trace:
        gort.trace.start(args.trace)
    # The tour walks one P step by step (GORTMAXPROCS would change the story).
    gort.gomaxprocs(1)
    try:
        gort.run(main)
    finally:
        if args.trace:
            path = gort.trace.stop()
            from gort.trace import main as view
            view(["view", path])
    sys.exit(0)
