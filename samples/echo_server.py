"""An echo server with per-connection idle deadlines, gort style.

One goroutine per connection, blocking-style code, and Go's deadline
semantics: each connection gets ``--idle`` seconds to send something before
it is dropped (the deadline is pushed forward after every read, which makes
it an idle timeout).  The accept loop survives running out of file
descriptors the way Go's net/http server does: on a temporary accept error
(EMFILE, ENFILE...) it sleeps 5 ms, then 10, 20... up to 1 s, and retries.

Try it:

    python samples/echo_server.py --port 7000          # serve until Ctrl-C or SIGTERM
    nc 127.0.0.1 7000                                    # type lines, see them back
    python samples/echo_server.py --self-test          # start, echo once, exit

Go equivalent: the classic ``for { c, err := ln.Accept(); go handle(c) }``
with ``c.SetReadDeadline(time.Now().Add(idle))`` in the read loop.

Shutdown is Go's ``signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)``:
on Ctrl-C or SIGTERM the main goroutine closes the listener (the accept loop
returns) and returns; gort.run then ends the connections' goroutines (their
``with c:`` blocks close the sockets).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from typing import Any

import gort
import gort.context
import gort.net
import gort.signal
import gort.time

MIN_BACKOFF = 0.005  # Go's net/http: tempDelay starts at 5 ms ...
MAX_BACKOFF = 1.0  # ... doubles, and stops growing at 1 s


def handle(c: gort.net.Conn, idle: float, bufsize: int = 65536) -> None:
    """Echo everything back until EOF, an error, or ``idle`` seconds of silence."""
    buf = bytearray(bufsize)
    mv = memoryview(buf)
    with c:
        try:
            while True:
                c.set_deadline(gort.time.now() + idle)
                n = c.read_into(buf)
                if n == 0:
                    return  # the client closed its side
                c.write(mv[:n])
        except gort.net.DeadlineExceededError:
            return  # idle too long: drop the connection
        except (ConnectionError, gort.net.NetClosedError):
            return


def serve(ln: gort.net.Listener, idle: float = 30.0,
          log: Callable[[str], Any] | None = None,
          on_backoff: Callable[[BaseException, float], Any] | None = None) -> None:
    """Accept connections forever (until ``ln`` is closed) and echo each in
    its own goroutine.  ``on_backoff(err, delay)`` is called before each
    back-off sleep (for tests and metrics)."""
    delay = 0.0
    while True:
        try:
            c = ln.accept()
        except gort.net.NetClosedError:
            return  # the listener was closed: stop serving
        except gort.net.OpError as e:
            if not e.temporary():
                raise
            delay = MIN_BACKOFF if delay == 0 else min(delay * 2, MAX_BACKOFF)
            if log is not None:
                log(f"echo: accept error: {e}; retrying in {delay * 1000:.0f}ms")
            if on_backoff is not None:
                on_backoff(e, delay)
            gort.time.sleep(delay)
            continue
        delay = 0.0
        gort.go(handle, c, idle)


def self_test() -> None:
    """Start on a free port, echo one message through a real connection, stop."""
    ln = gort.net.listen("tcp", "127.0.0.1:0")
    gort.go(serve, ln, 5.0)
    msg = b"hello, gort\n"
    with gort.net.dial("tcp", ln.addr, timeout=5) as c:
        c.set_deadline(gort.time.now() + 5)
        c.write(msg)
        got = b""
        while len(got) < len(msg):
            chunk = c.read()
            if not chunk:
                break
            got += chunk
    ln.close()
    if got != msg:
        raise SystemExit(f"self-test FAILED: sent {msg!r}, got {got!r}")
    print(f"self-test ok: echoed {got!r} via {ln.addr}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7000, help="port (default 7000; 0 = any free)")
    p.add_argument("--idle", type=float, default=30.0,
                   help="drop a connection after this many idle seconds (default 30)")
    p.add_argument("--self-test", action="store_true",
                   help="start, echo one message, and exit")
    args = p.parse_args(argv)
    if args.self_test:
        gort.run(self_test)
        return

    def run() -> None:
        ctx, stop = gort.signal.notify_context(gort.context.background(),
                                               signal.SIGINT, signal.SIGTERM)
        ln = gort.net.listen("tcp", (args.host, args.port))
        print(f"echo server on {ln.addr} (idle timeout {args.idle:g}s); Ctrl-C to stop",
              flush=True)
        gort.go(serve, ln, args.idle, log=lambda s: print(s, file=sys.stderr, flush=True))
        ctx.done().recv()  # a signal arrived
        stop()  # a second Ctrl-C now interrupts as usual
        ln.close()
        print("echo: signal received, shutting down", file=sys.stderr, flush=True)

    try:
        gort.run(run)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
