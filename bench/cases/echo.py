"""Echo servers, one per runtime, all driven by the same client.

The server runs in its own process (``serve_<runtime>`` below, started with
this same Python) and prints the port it listens on.  The client is plain
Python on epoll (selectors), in the benchmark's child process, identical for
every server:

* throughput: 50 connections, each sends 64 bytes, waits for all 64 back,
  and sends again; 0.5 s warm-up, then ``n`` seconds measured.  Reported:
  round trips/s, the server's CPU seconds per round trip (psutil, user +
  system), and how busy the client was.  A single-threaded Python client
  saturates near 120-160k round trips/s on this kind of machine, so when the
  client is ~100 % busy the round trips/s say more about the client than
  the server: then compare server CPU per round trip.
* idle connections: 100 warm-up connections, then the server's RSS, then
  ``n`` more connections, each echoing one byte so its handler is running
  and parked in read; RSS per connection = growth / n.
"""

from __future__ import annotations

import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from harness import Case, Metric, python_cmd, raise_nofile, run_asyncio

CONNS = 50
MSG = b"x" * 64
WARMUP_S = 0.5
IDLE_WARM = 100

throughput = Case(
    "echo.throughput", f"echo, {CONNS} connections, {len(MSG)}-byte round trips, "
    "one epoll client in another process",
    sizes={"full": 4.0, "quick": 1.5},  # measured seconds, after WARMUP_S
    metrics=[
        Metric("rt_per_s", "round trips/s", higher_is_better=True),
        Metric("cpu_us_per_rt", "server CPU us/rt", higher_is_better=False, fmt=".2f",
               compare=True),
        Metric("client_busy", "% client CPU", higher_is_better=False),
    ],
    timeout=120.0,
)
idle = Case(
    "echo.idle_rss", "server RSS per idle connection, {n:,} connections open",
    sizes={"full": 5_000, "quick": 1_000},
    metrics=[Metric("bytes_per_conn", "bytes/conn", higher_is_better=False)],
    timeout=180.0,
)


def announce(port: int) -> None:
    """Tell the client where the server listens (first line of stdout)."""
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()


# --- the servers, side by side ----------------------------------------------


def serve_gort(procs: int | None = None) -> None:
    import gort
    import gort.net

    if procs is not None:
        gort.gomaxprocs(procs)  # before the runtime starts: the run's setting

    def handle(c) -> None:
        with c:
            try:
                while True:
                    data = c.read(65536)
                    if not data:
                        return
                    c.write(data)
            except OSError:  # the client resets its connections at the end
                return

    def main() -> None:
        ln = gort.net.listen("tcp", "127.0.0.1:0")
        announce(ln.addr[1])
        while True:
            gort.go(handle, ln.accept())

    gort.run(main)


def serve_gevent() -> None:
    from gevent.server import StreamServer

    def handle(sock, _addr) -> None:
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                sock.sendall(data)
        except OSError:
            return

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    announce(server.server_port)
    server.serve_forever()


def serve_asyncio_streams(loop: str) -> None:
    import asyncio

    async def handle(reader, writer) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        announce(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    run_asyncio(main, loop)


def serve_asyncio_protocol(loop: str) -> None:
    import asyncio

    class Echo(asyncio.Protocol):
        def connection_made(self, transport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0,
                                                                backlog=1024)
        announce(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    run_asyncio(main, loop)


def serve_trio() -> None:
    from functools import partial

    import trio

    async def handle(stream) -> None:
        try:
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                await stream.send_all(data)
        except (trio.BrokenResourceError, OSError):
            return

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, handle, 0,
                                                    host="127.0.0.1"))
            announce(listeners[0].socket.getsockname()[1])

    trio.run(main)


# How the server process starts each one (Python source, run with bench/ on sys.path).
SERVERS = {
    "gort": "serve_gort()",
    "gort-P2": "serve_gort(2)",
    "gort-P4": "serve_gort(4)",
    "gevent": "serve_gevent()",
    "asyncio-streams": "serve_asyncio_streams('asyncio')",
    "asyncio-protocol": "serve_asyncio_protocol('asyncio')",
    "uvloop-streams": "serve_asyncio_streams('uvloop')",
    "uvloop-protocol": "serve_asyncio_protocol('uvloop')",
    "trio": "serve_trio()",
}



# --- the one client ----------------------------------------------------------


class Server:
    """A server process of one runtime: start, find its port, stop."""

    def __init__(self, name: str) -> None:
        code = (f"from cases import echo; echo.raise_nofile({idle.sizes['full'] + 1000}); "
                f"echo.{SERVERS[name]}")
        self.proc = subprocess.Popen(python_cmd(code), stdout=subprocess.PIPE, text=True)
        self.port = self._read_port()

    def _read_port(self) -> int:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout=30):
                raise RuntimeError("the server did not announce its port within 30 s")
        finally:
            sel.close()
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the server did not start (exit {self.proc.poll()}): {line!r}")
        return int(line.split()[1])

    def cpu(self) -> float:
        import psutil
        t = psutil.Process(self.proc.pid).cpu_times()
        return t.user + t.system

    def rss(self) -> int:
        import psutil
        return psutil.Process(self.proc.pid).memory_info().rss

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def drive(server: Server, seconds: float) -> dict:
    """50 connections of 64-byte round trips for WARMUP_S + seconds."""
    return measure(server, [connect(server.port) for _ in range(CONNS)], seconds, MSG,
                   _recv_plain, _send_plain)


def _recv_plain(s: socket.socket) -> int:
    data = s.recv(4096)
    if not data:
        raise RuntimeError("the server closed a connection")
    return len(data)


def _send_plain(s: socket.socket, msg: bytes) -> None:
    if s.send(msg) != len(msg):
        raise RuntimeError(f"short send of {len(msg)} bytes")


def measure(server: Server, socks: list, seconds: float, msg: bytes,
            recv: Callable[[Any], int], send: Callable[[Any, bytes], None]) -> dict:
    """The client's loop (this case's and tls_echo's): every connection
    keeps one ``msg`` in flight; ``recv(s)`` returns how many bytes of the
    echo it read, ``send(s, msg)`` sends the next.  Round trips are counted
    for ``seconds`` after WARMUP_S, with the server's CPU time and ours."""
    sel = selectors.DefaultSelector()
    pending = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        pending[s] = len(msg)
        send(s, msg)
    count = 0
    start = time.perf_counter()
    t_measure = start + WARMUP_S
    t_end = t_measure + seconds
    measuring = False
    count0 = cpu0 = cli0 = 0.0
    while True:
        now = time.perf_counter()
        if not measuring and now >= t_measure:
            measuring, t0 = True, now
            count0, cpu0, cli0 = count, server.cpu(), time.process_time()
        if now >= t_end:
            break
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            left = pending[s] - recv(s)
            if left <= 0:
                count += 1
                left = len(msg)
                send(s, msg)
            pending[s] = left
    t1 = time.perf_counter()
    cpu1, cli1 = server.cpu(), time.process_time()
    for s in socks:
        sel.unregister(s)
        s.close()
    sel.close()
    n = count - count0
    if n <= 0:
        raise RuntimeError("no round trip completed while measuring")
    return {"rt_per_s": n / (t1 - t0), "cpu_us_per_rt": (cpu1 - cpu0) / n * 1e6,
            "client_busy": (cli1 - cli0) / (t1 - t0) * 100}


def open_idle(port: int, n: int, batch: int = 50) -> list[socket.socket]:
    """n connections, each echoes one byte once: its handler is then parked in read."""
    socks: list[socket.socket] = []
    while len(socks) < n:
        new = [connect(port) for _ in range(min(batch, n - len(socks)))]
        for s in new:
            s.sendall(b"x")
        for s in new:
            if s.recv(1) != b"x":
                raise RuntimeError("idle connection: no echo")
        socks.extend(new)
    return socks


def run_throughput(seconds: float, server_name: str) -> dict:
    server = Server(server_name)
    try:
        return drive(server, seconds)
    finally:
        server.stop()


def run_idle(n: int, server_name: str) -> dict:
    raise_nofile(n + IDLE_WARM + 1000)
    server = Server(server_name)
    socks: list[socket.socket] = []
    try:
        socks = open_idle(server.port, IDLE_WARM)
        before = server.rss()
        socks += open_idle(server.port, n)
        after = server.rss()
        return {"bytes_per_conn": (after - before) / n}
    finally:
        for s in socks:
            s.close()
        server.stop()


# --- the variants ------------------------------------------------------------

_VARIANTS = [
    ("gort:net", "gort", "gort.net.listen, a goroutine per connection, Conn.read/write",
     ("gort.net.listen",)),
    ("gort:net-P2", "gort-P2", "as gort:net at GOMAXPROCS 2 (handlers spread over two Ms)",
     ("gort.net.listen",)),
    ("gort:net-P4", "gort-P4", "as gort:net at GOMAXPROCS 4", ("gort.net.listen",)),
    ("gevent:StreamServer", "gevent", "gevent.server.StreamServer, recv/sendall", ()),
    ("asyncio:streams", "asyncio-streams", "asyncio.start_server, read/write/drain", ()),
    ("asyncio:Protocol", "asyncio-protocol", "asyncio Protocol, transport.write", ()),
    ("uvloop:streams", "uvloop-streams", "asyncio.start_server on uvloop", ()),
    ("uvloop:Protocol", "uvloop-protocol", "asyncio Protocol on uvloop", ()),
    ("trio:serve_tcp", "trio", "trio.serve_tcp, receive_some/send_all", ()),
]
for key, server_name, label, requires in _VARIANTS:
    throughput.variant(key, label, requires=requires, server_name=server_name)(run_throughput)
    idle.variant(key, label, requires=requires, server_name=server_name)(run_idle)

throughput.target("echo >= gevent", "rt_per_s", vs="gevent:*", factor=1)
throughput.target("echo >= asyncio streams (default loop)", "rt_per_s", vs="asyncio:streams",
                  factor=1)
throughput.target("echo >= 0.7x uvloop streams", "rt_per_s", vs="uvloop:streams", factor=0.7)
idle.target("memory per connection <= gevent's", "bytes_per_conn", vs="gevent:*", factor=1)

CASES = [throughput, idle]
