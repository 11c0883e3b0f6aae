"""gort.io.copy with and without the kernel paths (splice, sendfile).

    PYTHONPATH=. python bench/io_copy.py [--mb 256] [--repeat 3] [--only conn,file]

Two copies, each of ``--mb`` megabytes over loopback TCP:

* conn:   socket -> socket: gort.io.copy (splice through a pipe) against
          gort.io.copy_buffer (the read/write loop) with 32, 64 and 256 KB
          buffers;
* file:   regular file -> socket: copy (sendfile) against the loop.

(Socket -> file splice, Go 1.21's os.File.ReadFrom, was measured with this
script's "tofile" case at commit 4d794f2 and dropped: docs/bufio.md.)

The far ends are plain OS threads with blocking stdlib sockets (sendall /
recv_into with 1 MB buffers; they drop the GIL in the syscalls), so what is
measured is the gort goroutine that copies.  Prints, per mode, the median
MB/s and the CPU seconds per GB of the copying thread (user+sys; the
far ends' threads not counted).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import gort  # noqa: E402
import gort.io as gio  # noqa: E402
import gort.net as net  # noqa: E402

CHUNK = 1 << 20


def _cpu() -> float:
    # The copying goroutine's M (its OS thread), user + system: the far
    # ends' threads are not counted.
    return time.thread_time()


def producer(addr: tuple, total: int) -> threading.Thread:
    """A thread that connects to addr and sends total bytes, then shuts down."""
    def run() -> None:
        s = socket.create_connection(addr)
        blob = os.urandom(CHUNK)
        left = total
        while left:
            k = min(left, CHUNK)
            s.sendall(blob[:k] if k < CHUNK else blob)
            left -= k
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
        s.close()
    t = threading.Thread(target=run)
    t.start()
    return t


def consumer(addr: tuple, got: list) -> threading.Thread:
    """A thread that connects to addr and reads to EOF, counting."""
    def run() -> None:
        s = socket.create_connection(addr)
        buf = bytearray(CHUNK)
        n = 0
        while True:
            k = s.recv_into(buf)
            if not k:
                break
            n += k
        got.append(n)
        s.close()
    t = threading.Thread(target=run)
    t.start()
    return t


def one(kind: str, mode: str, total: int, path: str) -> tuple[float, float]:
    """One copy; returns (seconds, cpu seconds)."""
    res: dict = {}

    def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")  # the producer's
        ln2 = net.listen("tcp", "127.0.0.1:0")  # the consumer's
        got: list = []
        threads = []
        src = dst = f = None
        if kind == "conn":
            threads.append(producer((ln.addr.ip, ln.addr.port), total))
            src = ln.accept()
        if kind in ("conn", "file"):
            threads.append(consumer((ln2.addr.ip, ln2.addr.port), got))
            dst = ln2.accept()
        if kind == "file":
            f = src = open(path, "rb")
        t0, c0 = time.perf_counter(), _cpu()
        if mode == "kernel":
            n = gio.copy(dst, src)
        else:
            default, gio.COPY_BUFFER_SIZE = gio.COPY_BUFFER_SIZE, int(mode[4:]) * 1024
            try:
                n = gio.copy_buffer(dst, src)
            finally:
                gio.COPY_BUFFER_SIZE = default
        dst.close_write()
        gort.blocking(threads[-1].join)
        t1, c1 = time.perf_counter(), _cpu()
        if src is not None and kind != "file":
            src.close()
        for t in threads:
            gort.blocking(t.join)
        if f is not None:
            f.close()
        dst.close()
        ln.close()
        ln2.close()
        assert n == total, (n, total)
        if got:
            assert got[0] == total, got
        res["t"] = (t1 - t0, c1 - c0)
    gort.run(main)
    return res["t"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="conn,file")
    a = ap.parse_args()
    total = a.mb << 20
    tmp = tempfile.NamedTemporaryFile(delete=False)
    try:
        if "file" in a.only.split(","):
            blob = os.urandom(CHUNK)
            for _ in range(a.mb):
                tmp.write(blob)
        tmp.close()
        print(f"# {a.mb} MB per copy, median of {a.repeat}; Python "
              f"{sys.version.split()[0]}, GORTMAXPROCS={os.environ.get('GORTMAXPROCS', '')}, "
              f"GORTNETPOLL={os.environ.get('GORTNETPOLL', '')}")
        print(f"{'copy':8} {'mode':14} {'MB/s':>8} {'CPU s/GB':>9}   (range)")
        for kind in a.only.split(","):
            modes = ["kernel", "loop32", "loop64", "loop256"] if kind == "conn" \
                else ["kernel", "loop64"]
            # Interleaved, so that a change in the machine's load hits
            # every mode alike.
            rows: dict = {m: [] for m in modes}
            for _ in range(a.repeat):
                for mode in modes:
                    rows[mode].append(one(kind, mode, total, tmp.name))
            for mode in modes:
                secs = statistics.median(r[0] for r in rows[mode])
                cpu = statistics.median(r[1] for r in rows[mode])
                label = {"conn": "splice", "file": "sendfile"}[kind] \
                    if mode == "kernel" else f"loop {mode[4:]} KB"
                lo = a.mb / max(r[0] for r in rows[mode])
                hi = a.mb / min(r[0] for r in rows[mode])
                print(f"{kind:8} {label:14} {a.mb / secs:8.0f} {cpu / (a.mb / 1024):9.3f}"
                      f"   ({lo:.0f}-{hi:.0f} MB/s)", flush=True)
    finally:
        os.unlink(tmp.name)


if __name__ == "__main__":
    main()
