"""One server process per core, all on one port: SO_REUSEPORT.

Under the GIL one process runs Python on one core at a time, whatever
GOMAXPROCS says.  A server uses more cores the way Go programs are scaled
across machines: more processes.  Each worker here is a complete gort
runtime that listens on the same address with
``gort.net.ListenConfig(reuse_port=True)``; the kernel spreads incoming
connections over their listeners (Linux: by a hash of the 4-tuple).  No
accept lock, no fd passing; a worker that dies takes only its own accept
queue with it.  (docs/net.md, "Using more cores".)

Each connection gets one line, "pid <worker pid>", then an echo of what it
sends.  A worker stops when its stdin closes (the parent's way to say so).

Try it:

    python samples/reuse_port_server.py --workers 4 --port 8000   # Ctrl-C to stop
    python samples/reuse_port_server.py --self-test               # 2 workers, 40 dials, exit

Go equivalent: ``net.ListenConfig{Control: ...SO_REUSEPORT...}.Listen`` in N
copies of one program.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
import time

import gort  # gort.net, gort.context: attributes of gort, loaded on first use

# -- a worker: one process, one gort runtime, one listener on the shared port --

def handle(c: gort.net.Conn) -> None:
    with c:
        c.set_deadline(gort.time.now() + 30)  # an idle client is dropped after 30 s
        c.write(f"pid {os.getpid()}\n".encode())
        while data := c.read():
            c.write(data)


def worker(port: int) -> None:
    lc = gort.net.ListenConfig(reuse_port=True)
    ln = lc.listen(gort.context.background(), "tcp", f"127.0.0.1:{port}")

    def quit_on_eof() -> None:
        gort.blocking(sys.stdin.read)  # returns when the parent closes our stdin
        ln.close()                     # wakes the accept loop below

    gort.go(quit_on_eof)
    print(f"ready {os.getpid()} {ln.addr}", flush=True)
    while True:
        try:
            c = ln.accept()
        except gort.net.NetClosedError:
            return
        gort.go(handle, c)


# -- the parent: start N workers on one port, wait until each listens ----------

def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_workers(n: int, port: int, timeout: float = 30.0) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", str(port)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(n)]
    end = time.monotonic() + timeout
    for p in procs:
        left = end - time.monotonic()
        r, _, _ = select.select([p.stdout], [], [], max(left, 0))
        line = p.stdout.readline() if r else ""
        if not line.startswith("ready"):
            stop_workers(procs)
            raise SystemExit(f"a worker did not start: {line!r}")
        print("worker", line.split()[1], "listening on", line.split()[2])
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.stdin:
            p.stdin.close()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if p.stdout:
            p.stdout.close()


def self_test(nworkers: int = 2, ndials: int = 40) -> None:
    port = free_port()
    procs = start_workers(nworkers, port)
    try:
        def main() -> dict[str, int]:
            served: dict[str, int] = {}
            for i in range(ndials):
                with gort.net.dial("tcp", f"127.0.0.1:{port}", timeout=10) as c:
                    c.set_deadline(gort.time.now() + 10)
                    first = b""
                    while not first.endswith(b"\n"):
                        more = c.read(64)
                        if not more:
                            raise SystemExit("a worker hung up early")
                        first += more
                    msg = f"hello {i}".encode()
                    c.write(msg)
                    got = b""
                    while len(got) < len(msg):
                        got += c.read(64)
                    assert got == msg, (got, msg)
                    pid = first.decode().split()[1]
                    served[pid] = served.get(pid, 0) + 1
            return served

        served = gort.run(main)
    finally:
        stop_workers(procs)
    for pid, k in sorted(served.items()):
        print(f"pid {pid}: {k} connections")
    print(f"{ndials} connections served by {len(served)} processes")
    if nworkers > 1 and len(served) < 2:
        raise SystemExit("reuse_port self-test: one process took every connection")
    print("reuse_port self-test: ok")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--worker", type=int, metavar="PORT", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker is not None:
        gort.run(worker, a.worker)
        return
    if a.self_test:
        self_test()
        return
    procs = start_workers(a.workers, a.port)
    print(f"{a.workers} workers on 127.0.0.1:{a.port}; try: nc 127.0.0.1 {a.port}  (Ctrl-C stops)")
    try:
        for p in procs:
            p.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_workers(procs)


if __name__ == "__main__":
    main()
