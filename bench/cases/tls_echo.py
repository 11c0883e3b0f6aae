"""TLS echo servers, one per runtime, all driven by the same TLS client.

As cases/echo.py, over TLS 1.3 (OpenSSL via the ssl module in every
runtime, same certificate, EC P-256): 50 connections, each sends a 1 KiB
message, waits for all of it back, and sends again; 0.5 s warm-up, then
``n`` seconds measured.  Reported: round trips/s, the server's CPU seconds
per round trip (psutil, user + system; the comparable number, since the
client is a single Python process doing TLS too and saturates first), and
how busy the client was.

The client is plain Python: selectors + non-blocking ssl.SSLSockets, with
the 50 handshakes done up front (blocking) so that only the echo loop is
timed.  Certificates are made at start-up (samples/tlscerts.py) in a
temporary directory that the server process reads.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import sys
import tempfile

from harness import BENCH_DIR, Case, Metric, run_asyncio

from cases import echo

CONNS = 50
MSG = b"x" * 1024
WARMUP_S = 0.5

throughput = Case(
    "tls_echo.throughput", f"TLS echo, {CONNS} connections, {len(MSG)}-byte round trips, "
    "one TLS client (selectors + ssl) in another process",
    sizes={"full": 4.0, "quick": 1.5},
    metrics=[
        Metric("rt_per_s", "round trips/s", higher_is_better=True),
        Metric("cpu_us_per_rt", "server CPU us/rt", higher_is_better=False, fmt=".2f",
               compare=True),
        Metric("client_busy", "% client CPU", higher_is_better=False),
    ],
    timeout=120.0,
)


def _server_ctx(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


# --- the servers, side by side ----------------------------------------------


def serve_gort(cert: str, key: str, procs: int | None = None) -> None:
    import gort
    from gort.net import tls

    if procs is not None:
        gort.gomaxprocs(procs)

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
        ln = tls.listen("tcp", "127.0.0.1:0", tls.Config(certificates=[(cert, key)]))
        echo.announce(ln.addr[1])
        while True:
            gort.go(handle, ln.accept())

    gort.run(main)


def serve_gevent(cert: str, key: str) -> None:
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

    from gevent import ssl as gssl

    ctx = gssl.SSLContext(gssl.PROTOCOL_TLS_SERVER)  # gevent's cooperative SSLContext
    ctx.load_cert_chain(cert, key)
    server = StreamServer(("127.0.0.1", 0), handle, ssl_context=ctx)
    server.start()
    echo.announce(server.server_port)
    server.serve_forever()


def serve_asyncio_streams(cert: str, key: str, loop: str) -> None:
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
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024,
                                            ssl=_server_ctx(cert, key))
        echo.announce(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    run_asyncio(main, loop)


def serve_asyncio_protocol(cert: str, key: str, loop: str) -> None:
    import asyncio

    class Echo(asyncio.Protocol):
        def connection_made(self, transport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            Echo, "127.0.0.1", 0, backlog=1024, ssl=_server_ctx(cert, key))
        echo.announce(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    run_asyncio(main, loop)


SERVERS = {
    "gort": "serve_gort({c!r}, {k!r})",
    "gort-P2": "serve_gort({c!r}, {k!r}, 2)",
    "gevent": "serve_gevent({c!r}, {k!r})",
    "asyncio-streams": "serve_asyncio_streams({c!r}, {k!r}, 'asyncio')",
    "asyncio-protocol": "serve_asyncio_protocol({c!r}, {k!r}, 'asyncio')",
    "uvloop-streams": "serve_asyncio_streams({c!r}, {k!r}, 'uvloop')",
    "uvloop-protocol": "serve_asyncio_protocol({c!r}, {k!r}, 'uvloop')",
}


# --- the one client ----------------------------------------------------------


class Server(echo.Server):
    """A TLS server process (echo.Server with this module's servers)."""

    def __init__(self, name: str, cert: str, key: str) -> None:
        import subprocess

        from harness import python_cmd
        call = SERVERS[name].format(c=cert, k=key)
        self.proc = subprocess.Popen(python_cmd(f"from cases import tls_echo; tls_echo.{call}"),
                                     stdout=subprocess.PIPE, text=True)
        self.port = self._read_port()


def _certs(d: str) -> tuple[str, str, str]:
    sys.path.insert(0, os.path.join(os.path.dirname(BENCH_DIR), "samples"))
    import tlscerts
    ca = tlscerts.make_ca(d)
    srv = tlscerts.make_cert(d, ca, "server", ["127.0.0.1", "localhost"])
    return ca.cert, srv.cert, srv.key


def drive(server: Server, cafile: str, seconds: float) -> dict:
    """echo.measure over 50 TLS connections, handshaken before the clock starts."""
    ctx = ssl.create_default_context(cafile=cafile)
    socks = []
    for _ in range(CONNS):
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(ctx.wrap_socket(raw, server_hostname="127.0.0.1"))  # handshakes
    return echo.measure(server, socks, seconds, MSG, _recv_tls, _send_tls)


def _recv_tls(s: ssl.SSLSocket) -> int:
    got = 0
    while True:  # drain what TLS has decrypted, not only what the socket shows
        try:
            data = s.recv(65536)
        except ssl.SSLWantReadError:
            break
        if not data:
            raise RuntimeError("the server closed a connection")
        got += len(data)
        if not s.pending():
            break
    return got


def _send_tls(s: ssl.SSLSocket, msg: bytes) -> None:
    s.sendall(msg)  # 1 KiB: fits the socket buffer, never would-block here


def run_throughput(seconds: float, server_name: str) -> dict:
    d = tempfile.mkdtemp(prefix="gort-tls-bench-")
    try:
        ca, cert, key = _certs(d)
        server = Server(server_name, cert, key)
        try:
            return drive(server, ca, seconds)
        finally:
            server.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)


_VARIANTS = [
    ("gort:tls", "gort", "gort.net.tls.listen, a goroutine per connection, read/write",
     ("gort.net.tls",)),
    ("gort:tls-P2", "gort-P2", "as gort:tls at GOMAXPROCS 2", ("gort.net.tls",)),
    ("gevent:StreamServer", "gevent", "gevent StreamServer(ssl_context=), recv/sendall", ()),
    ("asyncio:streams", "asyncio-streams", "asyncio.start_server(ssl=), read/write/drain", ()),
    ("asyncio:Protocol", "asyncio-protocol", "asyncio create_server(ssl=), Protocol", ()),
    ("uvloop:streams", "uvloop-streams", "asyncio.start_server(ssl=) on uvloop", ()),
    ("uvloop:Protocol", "uvloop-protocol", "create_server(ssl=) Protocol on uvloop", ()),
]
for key, server_name, label, requires in _VARIANTS:
    throughput.variant(key, label, requires=requires, server_name=server_name)(run_throughput)

throughput.target("TLS echo server CPU/rt <= gevent's", "cpu_us_per_rt", vs="gevent:*",
                  factor=1)
throughput.target("TLS echo server CPU/rt <= asyncio streams' (default loop)", "cpu_us_per_rt",
                  vs="asyncio:streams", factor=1)
throughput.target("TLS echo >= gevent", "rt_per_s", vs="gevent:*", factor=1)
throughput.target("TLS echo >= asyncio streams (default loop)", "rt_per_s",
                  vs="asyncio:streams", factor=1)

CASES = [throughput]
