"""gort.monkey.patch_ssl: TLS over patched sockets parks goroutines.

Real TLS on 127.0.0.1 with a self-signed certificate made for the test
(with ``cryptography`` when installed, else the ``openssl`` command; the
tests skip with that reason when neither is there).  Patched in-process
and restored after each test (gort.monkey.unpatch_all).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import ssl
import subprocess
import threading
import time

import pytest

import gort
import gort.monkey as monkey


def _make_cert(d) -> tuple[str, str]:
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    try:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("needs the cryptography package or the openssl command for a cert")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
        return cert, key
    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(k.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
         .sign(k, hashes.SHA256()))
    with open(cert, "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
    with open(key, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return _make_cert(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def ctxs(certs):
    """(server context, client context), both made *before* patching: the
    patch reaches them through SSLContext.sslsocket_class."""
    cert, key = certs
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    cctx = ssl.create_default_context(cafile=cert)
    monkey.patch_socket()
    monkey.patch_time()
    monkey.patch_select()
    monkey.patch_ssl()
    try:
        yield sctx, cctx
    finally:
        monkey.unpatch_all()
        assert ssl.SSLContext.sslsocket_class is ssl.SSLSocket


def _server(sctx, handler, n=1):
    """A TLS listener; each of n connections is handled in its goroutine."""
    import socket
    ls = socket.create_server(("127.0.0.1", 0))

    def loop():
        for _ in range(n):
            c, _ = ls.accept()

            def one(c=c):
                try:
                    with sctx.wrap_socket(c, server_side=True) as s:
                        handler(s)
                except (OSError, ssl.SSLError):
                    pass

            gort.go(one)

    gort.go(loop)
    return ls, ls.getsockname()[1]


def test_tls_echo_between_goroutines(ctxs):
    sctx, cctx = ctxs
    import socket

    def echo(s):
        assert type(s).__module__ == "gort.monkey._ssl"
        while data := s.recv(65536):
            s.sendall(data)

    def main():
        ls, port = _server(sctx, echo)
        with cctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                              server_hostname="localhost") as c:
            assert isinstance(c, ssl.SSLSocket)
            assert c.version() in ("TLSv1.2", "TLSv1.3")
            c.sendall(b"hello tls")
            got = b""
            while len(got) < 9:
                got += c.recv(100)
            f = c.makefile("rwb")
            f.write(b"a line\n")
            f.flush()
            line = f.readline()
            f.close()
        ls.close()
        return got, line

    assert gort.run(main) == (b"hello tls", b"a line\n")


def test_tls_4mb_both_ways_with_a_slow_reader(ctxs):
    sctx, cctx = ctxs
    import socket
    data = os.urandom(4 << 20)

    def slow_echo(s):
        n = 0
        while n < len(data):
            chunk = s.recv(65536)
            if not chunk:
                return
            s.sendall(chunk)
            n += len(chunk)
            time.sleep(0.001)

    def main():
        ls, port = _server(sctx, slow_echo)
        c = cctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                             server_hostname="localhost")
        c.settimeout(30)
        h = hashlib.sha256()
        done = gort.chan(1)

        def reader():
            n = 0
            while n < len(data):
                chunk = c.recv(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
            done.send(n)

        gort.go(reader)  # a reader and a writer goroutine on one TLS socket
        c.sendall(data)
        n = done.recv()
        c.close()
        ls.close()
        return n, h.digest()

    n, digest = gort.run(main)
    assert n == len(data) and digest == hashlib.sha256(data).digest()


def test_tls_read_and_handshake_timeouts(ctxs):
    sctx, cctx = ctxs
    import socket

    def silent(s):
        time.sleep(1.0)

    def main():
        ls, port = _server(sctx, silent)
        c = cctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                             server_hostname="localhost")
        c.settimeout(0.15)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="The read operation timed out"):
            c.recv(10)
        took_read = time.monotonic() - t0
        c.close()
        ls.close()
        # A TCP listener that never speaks TLS: the handshake times out.
        raw = socket.create_server(("127.0.0.1", 0))
        s = socket.create_connection(raw.getsockname(), timeout=0.15)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="handshake operation timed out"):
            cctx.wrap_socket(s, server_hostname="localhost")
        took_hs = time.monotonic() - t0
        s.close()
        raw.close()
        return took_read, took_hs

    took_read, took_hs = gort.run(main)
    assert 0.14 <= took_read < 1.0 and 0.14 <= took_hs < 1.0, (took_read, took_hs)


def test_tls_close_by_another_goroutine_wakes_a_blocked_read(ctxs):
    sctx, cctx = ctxs
    import socket

    def main():
        ls, port = _server(sctx, lambda s: time.sleep(1.0))
        c = cctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                             server_hostname="localhost")
        res = gort.chan(1)

        def reader():
            try:
                c.recv(10)
                res.send(None)
            except (OSError, ValueError) as e:
                res.send(e)

        gort.go(reader)
        time.sleep(0.05)
        c.close()
        e = res.recv()
        ls.close()
        return e

    e = gort.run(main)
    assert isinstance(e, OSError) and e.errno == errno.EBADF, repr(e)


def test_tls_20_clients_are_served_concurrently(ctxs):
    sctx, cctx = ctxs
    import socket

    def slow(s):
        s.recv(10)
        time.sleep(0.2)
        s.sendall(b"done")

    def main():
        ls, port = _server(sctx, slow, n=20)
        res = gort.chan(20)

        def client():
            with cctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                  server_hostname="localhost") as c:
                c.sendall(b"go")
                res.send(c.recv(10))

        t0 = time.monotonic()
        for _ in range(20):
            gort.go(client)
        got = [res.recv() for _ in range(20)]
        took = time.monotonic() - t0
        ls.close()
        return got, took

    got, took = gort.run(main)
    assert got == [b"done"] * 20
    assert took < 2.0, took  # 20 x 0.2 s = 4 s one after another


def test_tls_client_in_a_plain_thread(ctxs, no_thread_leak):
    sctx, cctx = ctxs
    import socket

    def echo(s):
        s.sendall(s.recv(100))

    def main():
        ls, port = _server(sctx, echo)
        out = {}

        def client():  # a plain OS thread: blocking calls, as the stdlib's
            with cctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                  server_hostname="localhost") as c:
                c.sendall(b"from a thread")
                out["got"] = c.recv(100)

        t = threading.Thread(target=client)
        t.start()
        deadline = time.monotonic() + 10
        while t.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)  # a goroutine: the server keeps running meanwhile
        t.join(1)
        ls.close()
        return out.get("got")

    assert gort.run(main) == b"from a thread"


def test_https_with_http_client_in_process(ctxs):
    sctx, cctx = ctxs
    import http.client

    def handler(s):
        f = s.makefile("rb")
        while f.readline() not in (b"\r\n", b""):
            pass
        f.close()
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def main():
        ls, port = _server(sctx, handler)
        conn = http.client.HTTPSConnection("localhost", port, context=cctx, timeout=10)
        conn.request("GET", "/")
        r = conn.getresponse()
        body = r.read()
        conn.close()
        ls.close()
        return r.status, body

    assert gort.run(main) == (200, b"ok")
