"""Ordinary libraries under a patched runtime: gort.monkey vs gevent.monkey
vs plain threads, in one run.

    python bench/monkey.py [--repeat N] [--seconds S] [--only http,redis]

* http: ``requests.get`` with 100 concurrent workers (each its own
  keep-alive ``requests.Session``) against a local HTTP/1.1 server in
  another process (gort.net, answering at once): requests/s.
* redis: SET then GET round trips with 50 concurrent workers (one shared
  redis-py client and its connection pool) against a local redis-server
  started here: commands/s.  Skipped, saying so, without redis-server.

Reported: operations per second, and the client process's CPU time per
operation (all its threads), which says more than the rate when the
machine is shared: a process of 100 threads gets more of a loaded CPU from
the OS scheduler than a process of one thread.

The workers are goroutines under ``gort.monkey.patch_all()``, greenlets
under ``gevent.monkey.patch_all()``, or a ``ThreadPoolExecutor`` of as many
threads.  Every run of every variant is a fresh interpreter, patched first
thing (``--child``); the repeats are interleaved, and the table shows the
median (min-max) and gort / that row.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HTTP_WORKERS = 100
REDIS_WORKERS = 50
VARIANTS = ("gort", "gevent", "threads")
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"


# --- the HTTP server (its own process, unpatched gort.net) -------------------


def serve_http() -> None:
    import gort
    import gort.net

    def handle(c) -> None:
        buf = b""
        with c:
            try:
                while True:
                    while b"\r\n\r\n" not in buf:
                        d = c.read(65536)
                        if not d:
                            return
                        buf += d
                    n = buf.count(b"\r\n\r\n")  # pipelined requests: one answer each
                    buf = buf[buf.rindex(b"\r\n\r\n") + 4:]
                    c.write(RESPONSE * n)
            except OSError:
                return

    def main() -> None:
        ln = gort.net.listen("tcp", "127.0.0.1:0", backlog=4096)
        sys.stdout.write(f"PORT {ln.addr[1]}\n")
        sys.stdout.flush()
        while True:
            gort.go(handle, ln.accept())

    gort.run(main)


def _start(cmd: list[str]) -> tuple[subprocess.Popen, int]:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    line = p.stdout.readline()
    if not line.startswith("PORT "):
        p.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return p, int(line.split()[1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis() -> tuple[subprocess.Popen, int] | None:
    exe = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    if exe is None:
        return None
    port = _free_port()
    p = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise RuntimeError("redis-server did not start")


# --- the clients (each variant in its own interpreter) ------------------------


def _patch(variant: str) -> None:
    if variant == "gort":
        import gort.monkey
        gort.monkey.patch_all()
    elif variant == "gevent":
        from gevent import monkey
        monkey.patch_all()


def _spawn_all(variant: str, n: int, fn) -> None:
    """Run fn(i) in n workers of the variant's kind and wait for all."""
    if variant == "gort":
        import gort
        import gort.sync

        def main() -> None:
            wg = gort.sync.WaitGroup()
            for i in range(n):
                wg.go(fn, i)
            wg.wait()
        gort.run(main)
    elif variant == "gevent":
        import gevent
        gevent.joinall([gevent.spawn(fn, i) for i in range(n)], raise_error=True)
    else:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(n) as ex:
            for f in [ex.submit(fn, i) for i in range(n)]:
                f.result()


def child_http(variant: str, port: int, seconds: float) -> dict:
    _patch(variant)
    import requests

    url = f"http://127.0.0.1:{port}/"
    counts = [0] * HTTP_WORKERS
    total = [0] * HTTP_WORKERS
    t_start = time.monotonic() + 0.5  # warm-up: connections, imports
    t_end = t_start + seconds

    def worker(i: int) -> None:
        with requests.Session() as s:
            while True:
                r = s.get(url)
                if r.text != "hello":
                    raise RuntimeError(f"bad answer {r.text!r}")
                total[i] += 1
                now = time.monotonic()
                if now >= t_end:
                    return
                if now >= t_start:
                    counts[i] += 1

    cpu = time.process_time()
    _spawn_all(variant, HTTP_WORKERS, worker)
    cpu = time.process_time() - cpu
    return {"per_s": sum(counts) / seconds, "cpu_us": cpu / sum(total) * 1e6}


def child_redis(variant: str, port: int, seconds: float) -> dict:
    _patch(variant)
    import redis

    rc = redis.Redis(host="127.0.0.1", port=port, max_connections=REDIS_WORKERS + 10)
    counts = [0] * REDIS_WORKERS
    total = [0] * REDIS_WORKERS
    t_start = time.monotonic() + 0.5
    t_end = t_start + seconds

    def worker(i: int) -> None:
        key = f"k{i}"
        v = b"x" * 32
        while True:
            rc.set(key, v)
            if rc.get(key) != v:
                raise RuntimeError("bad GET")
            total[i] += 2
            now = time.monotonic()
            if now >= t_end:
                return
            if now >= t_start:
                counts[i] += 2

    cpu = time.process_time()
    _spawn_all(variant, REDIS_WORKERS, worker)
    cpu = time.process_time() - cpu
    rc.close()
    return {"per_s": sum(counts) / seconds, "cpu_us": cpu / sum(total) * 1e6}


# --- the driver ---------------------------------------------------------------

CASES = {
    "http": (f"requests.get, {HTTP_WORKERS} concurrent workers (requests/s)", child_http),
    "redis": (f"redis SET+GET, {REDIS_WORKERS} concurrent workers (commands/s)", child_redis),
}


def run_child(case: str, variant: str, port: int, seconds: float) -> dict | None:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", case, variant, str(port),
           str(seconds)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 10 + 60,
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    sys.stderr.write(f"{case}/{variant} failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}\n")
    return None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    ap.add_argument("--only", default="http,redis")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--serve-http", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve_http:
        serve_http()
        return 0
    if args.child:
        case, variant, port, seconds = args.child
        out = CASES[case][1](variant, int(port), float(seconds))
        print("RESULT " + json.dumps(out), flush=True)
        return 0

    import platform
    print(f"# bench/monkey.py: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"GORTMAXPROCS={os.environ.get('GORTMAXPROCS', '(default)')}, "
          f"{args.repeat} runs of {args.seconds:g} s each, interleaved")
    for case in [c.strip() for c in args.only.split(",") if c.strip()]:
        title = CASES[case][0]
        if case == "http":
            srv = _start([sys.executable, os.path.abspath(__file__), "--serve-http"])
        else:
            srv = start_redis()
            if srv is None:
                print(f"\n## {title}\n\nskipped: redis-server is not installed")
                continue
        proc, port = srv
        try:
            res: dict[str, list[dict]] = {v: [] for v in VARIANTS}
            for _ in range(args.repeat):
                for v in VARIANTS:
                    r = run_child(case, v, port, args.seconds)
                    if r is not None:
                        res[v].append(r)
        finally:
            proc.kill()
            proc.wait()
        print(f"\n## {title}\n")
        print("| workers | per second: median | min-max | client CPU us per op: median "
              "| gort is (per s; CPU) |")
        print("|---|---|---|---|---|")
        g = res["gort"]
        gm = statistics.median(r["per_s"] for r in g) if g else None
        gc = statistics.median(r["cpu_us"] for r in g) if g else None
        for v in VARIANTS:
            if not res[v]:
                print(f"| {v} | failed | | | |")
                continue
            ps = [r["per_s"] for r in res[v]]
            m = statistics.median(ps)
            c = statistics.median(r["cpu_us"] for r in res[v])
            ratio = f"{gm / m:.2f}x; {c / gc:.2f}x" if g else "-"
            print(f"| {v} | {m:,.0f} | {min(ps):,.0f}-{max(ps):,.0f} | {c:,.0f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
