"""Dial many addresses at once, each with a timeout, and say what happened.

One goroutine per address; each calls ``gort.net.dial(..., timeout=t)``,
which bounds name resolution and the TCP handshake together.  The results
show the error types a client sees: a connection, ConnRefusedError (nobody
listens), DeadlineExceededError (no answer in time -- a TimeoutError),
DNSError (the name does not resolve).

Try it:

    python samples/dial_many.py example.com:80 127.0.0.1:1 10.255.255.1:80 --timeout 1
    python samples/dial_many.py --self-test     # local targets of every kind, then exit

Go equivalent: ``net.DialTimeout`` in a goroutine per address, results
collected through a channel.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import gort
import gort.net
import gort.sync
import gort.time
from gort.hchan import Chan


def probe(address: Any, timeout: float) -> tuple[str, str, float]:
    """Dial once; returns (outcome, detail, seconds taken)."""
    t0 = gort.time.now()
    try:
        c = gort.net.dial("tcp", address, timeout=timeout)
    except gort.net.DeadlineExceededError as e:
        return "timeout", str(e), gort.time.since(t0)
    except gort.net.ConnRefusedError as e:
        return "refused", str(e), gort.time.since(t0)
    except gort.net.DNSError as e:
        return "dns", str(e), gort.time.since(t0)
    except OSError as e:  # unreachable network, reset...
        return "error", str(e), gort.time.since(t0)
    with c:
        return "connected", f"{c.local_addr} -> {c.remote_addr}", gort.time.since(t0)


def dial_all(addresses: list[Any], timeout: float) -> list[tuple[Any, str, str, float]]:
    """Probe every address concurrently; results in the order given."""
    results: Chan = Chan(len(addresses))
    wg = gort.sync.WaitGroup()
    for i, a in enumerate(addresses):
        wg.go(lambda i=i, a=a: results.send((i, a) + probe(a, timeout)))
    wg.wait()
    out = sorted(results.recv() for _ in addresses)
    return [r[1:] for r in out]


def report(rows: list[tuple[Any, str, str, float]]) -> None:
    for addr, outcome, detail, secs in rows:
        print(f"{str(addr):28} {outcome:10} {secs * 1000:8.1f} ms  {detail}")


def self_test() -> None:
    """Local targets of each kind: accepting, refused, silent (a full accept
    backlog drops the SYN, so the handshake hangs), and a name."""
    ok = gort.net.listen("tcp", "127.0.0.1:0")

    def acceptor() -> None:
        try:
            while True:
                ok.accept().close()
        except gort.net.NetClosedError:
            pass  # ok.close() below ends the loop

    gort.go(acceptor)
    full = gort.net.listen("tcp", "127.0.0.1:0", backlog=0)
    filler = gort.net.dial("tcp", full.addr, timeout=2)  # fills the backlog of 0 (+1)
    closed = gort.net.listen("tcp", "127.0.0.1:0")
    refused_addr = closed.addr
    closed.close()
    timeout = 0.3
    targets = [ok.addr, refused_addr, full.addr, f"localhost:{ok.addr.port}"]
    rows = dial_all(targets, timeout)
    report(rows)
    want = ["connected", "refused", "timeout", "connected"]
    got = [r[1] for r in rows]
    if got != want:
        raise SystemExit(f"self-test FAILED: want {want}, got {got}")
    t = rows[2][3]
    if t < timeout:
        raise SystemExit(f"self-test FAILED: timed out early ({t:.3f}s < {timeout}s)")
    filler.close()
    full.close()
    ok.close()
    print("self-test ok")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("addresses", nargs="*", help="host:port ...")
    p.add_argument("--timeout", type=float, default=2.0, help="seconds per dial (default 2)")
    p.add_argument("--self-test", action="store_true", help="dial local targets and exit")
    args = p.parse_args(argv)
    if args.self_test:
        gort.run(self_test)
        return
    if not args.addresses:
        p.print_usage(sys.stderr)
        raise SystemExit(2)
    gort.run(lambda: report(dial_all(args.addresses, args.timeout)))


if __name__ == "__main__":
    main()
