"""gort.net.tls: crypto/tls on SSLObject + MemoryBIO over gort Conns.

Certificates are made at test time (samples/tlscerts.py, on the
``cryptography`` package): a CA, a server certificate for
localhost/127.0.0.1, a client certificate, and a second, unknown CA.
Interop runs against real peers on loopback: ``openssl s_server``,
``openssl s_client``, ``curl`` and the standard library's ssl server in a
thread.  Deadlines follow Go's crypto/tls conn_test.go and net's
timeout_test.go: a deadline interrupts a handshake, read or write in
progress.  Every test runs on both netpoll backends with the fd and
pollDesc leak checks of tests/conftest.py, and checks that it leaves no
goroutine behind.
"""

from __future__ import annotations

import os
import pickle
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

import gort
import gort.net as net
import gort.time as gtime
from gort.net import tls

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "samples"))
import tlscerts  # noqa: E402

HAS_OPENSSL = shutil.which("openssl") is not None
HAS_CURL = shutil.which("curl") is not None


@pytest.fixture(autouse=True)
def backend(each_netpoll_backend):
    return each_netpoll_backend


class PKI:
    def __init__(self, d: str) -> None:
        self.dir = d
        self.ca = tlscerts.make_ca(d)
        self.server = tlscerts.make_cert(d, self.ca, "server", ["localhost", "127.0.0.1"])
        self.client = tlscerts.make_cert(d, self.ca, "client", [], client=True,
                                         cn="gopher client")
        self.other_ca = tlscerts.make_ca(d, "other", "some other CA")
        self.stranger = tlscerts.make_cert(d, self.other_ca, "stranger", ["127.0.0.1"])

    def server_config(self, **kw) -> tls.Config:
        return tls.Config(certificates=[tls.load_x509_key_pair(self.server.cert,
                                                               self.server.key)], **kw)

    def client_config(self, **kw) -> tls.Config:
        kw.setdefault("root_cas", self.ca.cert)
        return tls.Config(**kw)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    # The free-threaded venv has no cryptography wheel (issue 17): skip there.
    pytest.importorskip("cryptography", reason="the test certificates need cryptography")
    return PKI(str(tmp_path_factory.mktemp("pki")))


def run(fn, *args):
    """gort.run(fn) and check that fn's goroutines are all gone at its end."""
    def main():
        r = fn(*args)
        end = time.monotonic() + 5
        while gort.num_goroutine() > 1:
            assert time.monotonic() < end, f"goroutines leaked: {gort.num_goroutine() - 1}"
            gtime.sleep(0.005)
        return r
    return gort.run(main)


def tls_pair(pki, scfg=None, ccfg=None, server_name="localhost"):
    """(listener, client, server) tls Conns, handshaken; call from a goroutine."""
    ln = tls.listen("tcp", "127.0.0.1:0", scfg or pki.server_config())
    ch = gort.chan(1)

    def acc():
        s = ln.accept()
        try:
            s.handshake()
        except Exception as e:  # noqa: BLE001 - handed to the test
            ch.send(e)
            s.close()
            return
        ch.send(s)
    gort.go(acc)
    c = tls.client(net.dial("tcp", ln.addr), ccfg or pki.client_config(),
                   server_name=server_name)
    c.set_deadline(gtime.now() + 10)
    c.handshake()
    s = ch.recv()
    if isinstance(s, BaseException):
        raise s
    s.set_deadline(gtime.now() + 10)
    return ln, c, s


def read_exactly(c, n):
    out = bytearray()
    while len(out) < n:
        data = c.read(n - len(out))
        assert data, f"EOF after {len(out)} of {n} bytes"
        out += data
    return bytes(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# Basics


def test_echo_state_and_clean_close(pki):
    def main():
        ln, c, s = tls_pair(pki, pki.server_config(next_protos=["h2", "http/1.1"]),
                            pki.client_config(next_protos=["http/1.1"]))

        def echo():
            with s:
                while True:
                    data = s.read()
                    if not data:
                        break
                    s.write(data)
        gort.go(echo)
        assert isinstance(c, net.Conn) and isinstance(c, tls.Conn)
        c.write(b"hello")
        assert read_exactly(c, 5) == b"hello"
        big = os.urandom(1 << 20)
        done = gort.chan(1)
        gort.go(lambda: done.send(c.write(big)))
        assert read_exactly(c, len(big)) == big
        assert done.recv() == len(big)
        buf = bytearray(3)
        c.write(b"xyz")
        n = 0
        while n < 3:
            n += c.read_into(memoryview(buf)[n:])
        assert buf == b"xyz"
        st = c.connection_state()
        assert st.handshake_complete and st.version in (tls.VERSION_TLS12, tls.VERSION_TLS13)
        assert st.version == 0x0304  # Go's VersionTLS13
        assert st.negotiated_protocol == "http/1.1" and st.cipher_suite
        assert st.server_name == "localhost" and st.verified
        assert len(st.peer_certificates) >= 1
        leaf = st.peer_certificates[0]
        assert ssl.DER_cert_to_PEM_cert(leaf).strip() == open(pki.server.cert).read().strip()
        ca_der = ssl.PEM_cert_to_DER_cert(open(pki.ca.cert).read())
        assert st.verified_chains == [[leaf, ca_der]]  # leaf to root
        sst = s.connection_state()
        assert sst.server_name == "localhost"  # the SNI the client sent
        assert sst.peer_certificates == [] and not sst.verified and sst.verified_chains == []
        # close_write: close_notify + FIN; the server sees a clean EOF, closes,
        # and its close_notify is our clean EOF.
        c.close_write()
        assert c.read() == b""
        assert c.read() == b""
        with pytest.raises(net.ConnBrokenPipeError, match="protocol is shutdown"):
            c.write(b"late")
        c.close()
        c.close()  # idempotent
        with pytest.raises(net.NetClosedError):
            c.read()
        with pytest.raises(net.NetClosedError):
            c.write(b"x")
        ln.close()
    run(main)


def test_state_before_handshake_and_repr(pki):
    def main():
        ln = tls.listen("tcp", "127.0.0.1:0", pki.server_config())
        raw = net.dial("tcp", ln.addr)
        c = tls.client(raw, pki.client_config(server_name="localhost"))
        st = c.connection_state()
        assert not st.handshake_complete and st.version is None and st.server_name == "localhost"
        assert "gort.net.tls.Conn client" in repr(c) and "gort.net.tls.Listener" in repr(ln)
        assert c.net_conn() is raw and c.fileno() == raw.fileno()
        assert c.local_addr == raw.local_addr and c.remote_addr == raw.remote_addr
        c.close()
        assert raw.closed
        ln.close()
    run(main)


@pytest.mark.parametrize("client_protos, want", [
    (["h2"], "h2"), (["http/1.1"], "http/1.1"), (["http/1.1", "h2"], "h2"), ([], None)])
def test_alpn(pki, client_protos, want):
    def main():
        ln, c, s = tls_pair(pki, pki.server_config(next_protos=["h2", "http/1.1"]),
                            pki.client_config(next_protos=client_protos))
        assert c.connection_state().negotiated_protocol == want
        assert s.connection_state().negotiated_protocol == want
        for x in (c, s, ln):
            x.close()
    run(main)


def test_client_certificates(pki):
    scfg = pki.server_config(client_auth=tls.REQUIRE_AND_VERIFY_CLIENT_CERT,
                             client_cas=pki.ca.cert)

    def main():
        ccfg = pki.client_config(certificates=[(pki.client.cert, pki.client.key)])
        ln, c, s = tls_pair(pki, scfg, ccfg)
        c.write(b"hi")
        assert read_exactly(s, 2) == b"hi"
        st = s.connection_state()
        assert st.verified and len(st.peer_certificates) >= 1
        der = ssl.PEM_cert_to_DER_cert(open(pki.client.cert).read())
        assert st.peer_certificates[0] == der and st.verified_chains[0][0] == der
        for x in (c, s):
            x.close()

        # No client certificate: the server refuses it.  With TLS 1.3 the
        # client learns it on its first read (the alert follows its Finished).
        errs = gort.chan(1)

        def acc():
            s2 = ln.accept()
            with s2:
                s2.set_deadline(gtime.now() + 10)
                try:
                    s2.handshake()
                except ssl.SSLError as e:
                    errs.send(e)
        gort.go(acc)
        c2 = tls.client(net.dial("tcp", ln.addr), pki.client_config(server_name="localhost"))
        c2.set_deadline(gtime.now() + 10)
        with c2, pytest.raises(ssl.SSLError) as ei:
            c2.handshake()
            c2.read()
        assert isinstance(ei.value, tls.TLSError) and isinstance(ei.value, net.OpError)
        assert "remote error: tls: certificate required" in str(ei.value)
        se = errs.recv()
        assert isinstance(se, tls.TLSError) and "certificate" in str(se)
        assert se.op == "handshake"
        ln.close()
    run(main)


def test_verify_client_cert_if_given(pki):
    scfg = pki.server_config(client_auth=tls.VERIFY_CLIENT_CERT_IF_GIVEN,
                             client_cas=pki.ca.cert)

    def main():
        ln, c, s = tls_pair(pki, scfg, pki.client_config())
        assert s.connection_state().peer_certificates == []
        for x in (c, s, ln):
            x.close()
    run(main)


# --------------------------------------------------------------------------
# Verification failures


def _handshake_error(pki, ccfg, server_name, scfg=None):
    """The client's handshake error and the server's, against a gort server."""
    def main():
        ln = tls.listen("tcp", "127.0.0.1:0", scfg or pki.server_config())
        errs = gort.chan(1)

        def acc():
            s = ln.accept()
            with s:
                s.set_deadline(gtime.now() + 10)
                try:
                    s.handshake()
                    s.read()
                    errs.send(None)
                except OSError as e:
                    errs.send(e)
        gort.go(acc)
        c = tls.client(net.dial("tcp", ln.addr), ccfg, server_name=server_name)
        c.set_deadline(gtime.now() + 10)
        try:
            with c:
                c.handshake()
                ce = None
        except OSError as e:
            ce = e
        se = errs.recv()
        ln.close()
        return ce, se
    return run(main)


def test_verify_wrong_host(pki):
    ce, se = _handshake_error(pki, pki.client_config(), "example.com")
    assert isinstance(ce, tls.CertificateVerificationError)
    assert isinstance(ce, tls.CertificateVerifyError)
    assert isinstance(ce, ssl.SSLCertVerificationError) and isinstance(ce, net.OpError)
    assert ce.host == "example.com" and ce.op == "handshake" and ce.net == "tcp"
    msg = str(ce)
    assert "tls: failed to verify certificate for 'example.com'" in msg, msg
    assert "Hostname mismatch" in msg and "127.0.0.1:" in msg, msg
    assert ce.verify_code == 62 and ce.reason == "CERTIFICATE_VERIFY_FAILED"
    # The client told the server why (an alert).
    assert isinstance(se, tls.TLSError) and "remote error: tls: bad certificate" in str(se)


def test_verify_unknown_ca(pki):
    ce, _ = _handshake_error(pki, pki.client_config(root_cas=pki.other_ca.cert), "localhost")
    assert isinstance(ce, tls.CertificateVerificationError)
    assert "failed to verify certificate for 'localhost'" in str(ce)
    assert "unable to get local issuer certificate" in str(ce), str(ce)


def test_verify_system_store_rejects_test_ca(pki):
    # No root_cas: the system's store, which does not know our CA.
    ce, _ = _handshake_error(pki, tls.Config(), "localhost")
    assert isinstance(ce, tls.CertificateVerificationError), ce


def test_insecure_skip_verify(pki):
    scfg = tls.Config(certificates=[(pki.stranger.cert, pki.stranger.key)])
    ce, se = _handshake_error(pki, tls.Config(insecure_skip_verify=True), None, scfg)
    assert ce is None and se is None  # the server's read saw the client's close_notify


def test_handshake_error_is_sticky(pki):
    def main():
        ln = tls.listen("tcp", "127.0.0.1:0", pki.server_config())
        def acc():
            with ln.accept() as s:
                s.set_deadline(gtime.now() + 10)
                with pytest.raises(tls.TLSError, match="bad certificate"):
                    s.handshake()
        gort.go(acc)
        c = tls.client(net.dial("tcp", ln.addr), pki.client_config(), server_name="wrong.host")
        c.set_deadline(gtime.now() + 10)
        with pytest.raises(tls.CertificateVerificationError) as e1:
            c.read()
        with pytest.raises(tls.CertificateVerificationError) as e2:
            c.write(b"x")
        assert e1.value is e2.value
        c.close()
        ln.close()
    run(main)


# --------------------------------------------------------------------------
# Interop with real peers


def _ssl_server_thread(pki, alpn=None):
    """A blocking stdlib ssl echo server in a thread: (port, thread, errors)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server.cert, pki.server.key)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    lsock = socket.create_server(("127.0.0.1", 0))
    lsock.settimeout(10)
    errors: list[BaseException] = []
    info: dict = {}

    def serve():
        try:
            with lsock:
                raw, _ = lsock.accept()
            with ctx.wrap_socket(raw, server_side=True) as s:
                s.settimeout(10)
                info["alpn"] = s.selected_alpn_protocol()
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    s.sendall(data)
                s.unwrap()
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)
    t = threading.Thread(target=serve)
    t.start()
    return lsock.getsockname()[1], t, errors, info


def test_client_vs_stdlib_ssl_server(pki, no_thread_leak):
    port, t, errors, info = _ssl_server_thread(pki, ["h2", "http/1.1"])

    def main():
        c = tls.dial("tcp", f"127.0.0.1:{port}", pki.client_config(next_protos=["h2"]),
                     timeout=10)
        with c:
            c.set_deadline(gtime.now() + 10)
            assert c.connection_state().negotiated_protocol == "h2"
            payload = os.urandom(300_000)
            gort.go(c.write, payload)
            assert read_exactly(c, len(payload)) == payload
            c.close_write()
            assert c.read() == b""  # the server's unwrap sent close_notify
    run(main)
    t.join(10)
    assert not t.is_alive() and not errors, errors
    assert info["alpn"] == "h2"


@pytest.mark.skipif(not HAS_OPENSSL, reason="no openssl CLI")
def test_client_vs_openssl_s_server(pki):
    port = free_port()
    p = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                          "-cert", pki.server.cert, "-key", pki.server.key, "-alpn", "h2",
                          "-rev", "-naccept", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 15
        out = b""
        while b"ACCEPT" not in out:  # wait (bounded) until it listens: it prints ACCEPT then
            left = end - time.monotonic()
            assert left > 0 and select.select([p.stdout], [], [], left)[0], \
                f"openssl s_server did not start listening: {out!r}"
            data = os.read(p.stdout.fileno(), 4096)
            assert data, f"openssl s_server exited before listening: {out!r}"
            out += data

        def main():
            c = tls.dial("tcp", ("127.0.0.1", port),
                         pki.client_config(next_protos=["h2", "http/1.1"]), timeout=10)
            with c:
                c.set_deadline(gtime.now() + 10)
                st = c.connection_state()
                assert st.negotiated_protocol == "h2" and st.server_name == "127.0.0.1"
                c.write(b"hello gopher\n")
                got = b""
                while b"\n" not in got:
                    data = c.read()
                    assert data, got
                    got += data
                assert got.strip() == b"rehpog olleh"
        run(main)
    finally:
        p.kill()
        p.wait(10)
        p.stdout.close()


def _serve_lines(pki, ln, n, errs, states):
    """n connections: read a line, answer it upper-cased, close."""
    for _ in range(n):
        s = ln.accept()
        with s:
            s.set_deadline(gtime.now() + 10)
            try:
                got = b""
                while not got.endswith(b"\n"):
                    data = s.read()
                    if not data:
                        break
                    got += data
                s.write(got.upper())
                states.append(s.connection_state())
            except OSError as e:
                errs.append(e)


@pytest.mark.skipif(not HAS_OPENSSL, reason="no openssl CLI")
def test_server_vs_openssl_s_client(pki):
    def main():
        ln = tls.listen("tcp", "127.0.0.1:0", pki.server_config(next_protos=["h2", "http/1.1"]))
        errs: list = []
        states: list = []
        gort.go(_serve_lines, pki, ln, 1, errs, states)
        r = gort.blocking(subprocess.run, [
            "openssl", "s_client", "-connect", f"127.0.0.1:{ln.addr[1]}", "-CAfile",
            pki.ca.cert, "-servername", "localhost", "-verify_return_error", "-alpn", "h2",
            "-quiet", "-ign_eof"], input=b"ping from openssl\n", capture_output=True,
            timeout=20)
        assert r.returncode == 0, r.stderr
        assert b"PING FROM OPENSSL" in r.stdout, (r.stdout, r.stderr)
        assert not errs, errs
        assert states[0].server_name == "localhost" and states[0].negotiated_protocol == "h2"
        ln.close()
    run(main)


@pytest.mark.skipif(not HAS_CURL, reason="no curl")
def test_server_vs_curl(pki):
    def serve(ln):
        s = ln.accept()
        with s:
            s.set_deadline(gtime.now() + 10)
            req = b""
            while b"\r\n\r\n" not in req:
                data = s.read()
                if not data:
                    return
                req += data
            proto = s.connection_state().negotiated_protocol
            body = b"hello over " + (proto or "none").encode() + b"\n"
            s.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                    % (len(body), body))

    def main():
        ln = tls.listen("tcp", "127.0.0.1:0", pki.server_config(next_protos=["http/1.1"]))
        gort.go(serve, ln)
        port = ln.addr[1]
        r = gort.blocking(subprocess.run, [
            "curl", "-sS", "--max-time", "20", "--cacert", pki.ca.cert,
            "--resolve", f"localhost:{port}:127.0.0.1", f"https://localhost:{port}/"],
            capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"hello over http/1.1\n"
        # curl with the wrong CA refuses us, naming the problem.
        gort.go(lambda: _accept_and_fail(ln))
        r = gort.blocking(subprocess.run, [
            "curl", "-sS", "--max-time", "20", "--cacert", pki.other_ca.cert,
            "--resolve", f"localhost:{port}:127.0.0.1", f"https://localhost:{port}/"],
            capture_output=True, timeout=30)
        assert r.returncode == 60, (r.returncode, r.stderr)  # CURLE_PEER_FAILED_VERIFICATION
        ln.close()
    run(main)


def _accept_and_fail(ln):
    s = ln.accept()
    with s:
        s.set_deadline(gtime.now() + 10)
        with pytest.raises(tls.TLSError, match="unknown ca"):
            s.handshake()


# --------------------------------------------------------------------------
# Deadlines


def test_handshake_deadline_silent_server():
    def main():
        ln = net.listen("tcp", "127.0.0.1:0")  # accepts (the kernel does), says nothing
        c = tls.client(net.dial("tcp", ln.addr), tls.Config(insecure_skip_verify=True))
        c.set_deadline(gtime.now() + 0.2)
        t0 = time.monotonic()
        with pytest.raises(net.DeadlineExceededError) as ei:
            c.handshake()
        took = time.monotonic() - t0
        assert 0.15 < took < 3, took
        assert isinstance(ei.value, TimeoutError) and "i/o timeout" in str(ei.value)
        c.close()
        # dial's timeout covers connect + handshake; the error's op is "dial".
        t0 = time.monotonic()
        with pytest.raises(net.DeadlineExceededError) as ei:
            tls.dial("tcp", ln.addr, tls.Config(insecure_skip_verify=True), timeout=0.2)
        assert ei.value.op == "dial" and 0.15 < time.monotonic() - t0 < 3
        ln.close()
    run(main)


def test_deadline_set_during_blocked_handshake_and_read(pki):
    """A deadline set by another goroutine interrupts a handshake, then a
    read, already in progress (Go: SetDeadline on a blocked Conn)."""
    def main():
        ln = net.listen("tcp", "127.0.0.1:0")  # a silent peer
        c = tls.client(net.dial("tcp", ln.addr), tls.Config(insecure_skip_verify=True))
        errs = gort.chan(1)

        def hs():
            try:
                c.handshake()
                errs.send(None)
            except OSError as e:
                errs.send(e)
        gort.go(hs)
        gtime.sleep(0.05)
        c.set_deadline(gtime.now())  # wakes it now
        assert isinstance(errs.recv(), net.DeadlineExceededError)
        c.close()
        ln.close()

        ln2, c2, s2 = tls_pair(pki)
        c2.set_deadline(None)

        def rd():
            try:
                c2.read()
                errs.send(None)
            except OSError as e:
                errs.send(e)
        gort.go(rd)
        gtime.sleep(0.05)
        c2.set_read_deadline(gtime.now() - 1)
        assert isinstance(errs.recv(), net.DeadlineExceededError)
        # an expired write deadline fails a write at once, before any I/O
        c2.set_write_deadline(gtime.now() - 1)
        with pytest.raises(net.DeadlineExceededError) as ei:
            c2.write(b"x")
        assert ei.value.n == 0
        for x in (c2, s2, ln2):
            x.close()
    run(main)


def test_handshake_deadline_silent_client(pki):
    def main():
        ln = tls.listen("tcp", "127.0.0.1:0", pki.server_config())
        raw = net.dial("tcp", ln.addr)  # connects, never says hello
        s = ln.accept()
        s.set_read_deadline(gtime.now() + 0.2)
        with pytest.raises(net.DeadlineExceededError):
            s.read()
        for x in (s, raw, ln):
            x.close()
    run(main)


def _relay(src, dst, chunk, pause, stop_after=None):
    """Copy src -> dst in chunk-byte pieces (each its own TCP segment:
    TCP_NODELAY is on), pausing between them; stop after stop_after bytes."""
    sent = 0
    try:
        while True:
            data = src.read(chunk)
            if not data:
                break
            if stop_after is not None and sent + len(data) > stop_after:
                data = data[:stop_after - sent]
            dst.write(data)
            sent += len(data)
            if stop_after is not None and sent >= stop_after:
                return sent
            if pause:
                gtime.sleep(pause)
    except OSError:
        pass
    finally:
        if stop_after is None:
            try:
                dst.close_write()
            except OSError:
                pass
    return sent


def _relayed_pair(pki, chunk, pause, stop_after=None):
    """A tls client reaching a tls server through a relay that cuts the
    server's bytes into chunk-byte segments.  Returns (client, server,
    closers, relay-done chan)."""
    ln = tls.listen("tcp", "127.0.0.1:0", pki.server_config())
    mid = net.listen("tcp", "127.0.0.1:0")
    c_raw = net.dial("tcp", mid.addr)
    m_in = mid.accept()
    m_out = net.dial("tcp", ln.addr)
    s = ln.accept()
    done = gort.chan(2)
    gort.go(lambda: done.send(_relay(m_in, m_out, 65536, 0)))
    gort.go(lambda: done.send(_relay(m_out, m_in, chunk, pause, stop_after)))
    c = tls.client(c_raw, pki.client_config(server_name="localhost"))
    return c, s, [c, s, m_in, m_out, mid, ln], done


def test_read_record_split_across_many_segments(pki):
    def main():
        c, s, closers, done = _relayed_pair(pki, 37, 0.0005)
        msg = os.urandom(16000)  # one full record, ~430 segments
        gort.go(lambda: (s.handshake(), s.write(msg)))
        c.set_read_deadline(gtime.now() + 20)
        got = read_exactly(c, len(msg))
        assert got == msg
        for x in closers:
            x.close()
        done.recv()
        done.recv()
    run(main)


def test_read_deadline_mid_record_then_resume(pki):
    def main():
        # The relay passes the handshake, then only part of the next record.
        c, s, closers, done = _relayed_pair(pki, 65536, 0)
        s.set_deadline(gtime.now() + 10)
        c.set_deadline(gtime.now() + 10)
        gort.go(s.handshake)
        c.handshake()
        c.set_read_deadline(gtime.now() + 0.2)
        with pytest.raises(net.DeadlineExceededError):  # nothing sent yet
            c.read()
        # A read timeout is not sticky (Go: a temporary error): extend and read.
        s.write(b"after the timeout")
        c.set_read_deadline(gtime.now() + 10)
        assert read_exactly(c, 17) == b"after the timeout"
        for x in closers:
            x.close()
        done.recv()
        done.recv()
    run(main)


def test_read_deadline_with_partial_record(pki):
    """A read waiting on a record of which only half has come fails at its
    deadline; once the rest comes, a read with a new deadline gets it all."""
    def main():
        ln, c, s = tls_pair(pki)
        c._sslobj.write(b"z" * 3000)  # one record, sent by hand in two halves
        rec = c._outgoing.read()
        c.net_conn().write(rec[:len(rec) // 2])
        s.set_read_deadline(gtime.now() + 0.3)
        t0 = time.monotonic()
        with pytest.raises(net.DeadlineExceededError):
            s.read()
        assert 0.25 < time.monotonic() - t0 < 5
        c.net_conn().write(rec[len(rec) // 2:])
        s.set_read_deadline(gtime.now() + 10)
        assert read_exactly(s, 3000) == b"z" * 3000
        for x in (c, s, ln):
            x.close()
    run(main)


def test_expired_deadline_fails_at_once_with_buffered_data(pki):
    def main():
        ln, c, s = tls_pair(pki)
        s.write(b"0123456789")
        assert c.read(1) == b"0"  # the rest is decrypted and buffered
        c.set_read_deadline(gtime.now() - 1)
        with pytest.raises(net.DeadlineExceededError):
            c.read()
        c.set_read_deadline(None)
        assert read_exactly(c, 9) == b"123456789"
        for x in (c, s, ln):
            x.close()
    run(main)


def test_write_deadline_peer_not_reading(pki):
    def main():
        ln, c, s = tls_pair(pki)
        c.set_write_deadline(gtime.now() + 0.3)
        chunk = b"x" * (1 << 20)
        t0 = time.monotonic()
        total = 0
        with pytest.raises(net.DeadlineExceededError) as ei:
            for _ in range(1000):
                total += c.write(chunk)
        took = time.monotonic() - t0
        assert 0.25 < took < 5, took
        assert 0 <= ei.value.n < len(chunk) and ei.value.n % (256 * 1024) == 0
        # The record stream is broken: every later write fails the same way.
        c.set_write_deadline(None)
        with pytest.raises(net.DeadlineExceededError) as e2:
            c.write(b"more")
        assert e2.value is ei.value
        for x in (c, s, ln):
            x.close()
    run(main)


def test_close_during_blocked_read(pki):
    def main():
        ln, c, s = tls_pair(pki)
        c.set_deadline(None)
        errs = gort.chan(1)

        def reader():
            try:
                c.read()
                errs.send(None)
            except OSError as e:
                errs.send(e)
        gort.go(reader)
        gtime.sleep(0.05)
        t0 = time.monotonic()
        c.close()
        e = errs.recv()
        assert isinstance(e, net.NetClosedError), e
        assert time.monotonic() - t0 < 2
        # the server got our close_notify: a clean EOF
        assert s.read() == b""
        for x in (s, ln):
            x.close()
    run(main)


def test_close_during_blocked_write(pki):
    def main():
        ln, c, s = tls_pair(pki)
        c.set_deadline(None)
        errs = gort.chan(1)

        def writer():
            try:
                while True:
                    c.write(b"y" * (1 << 20))
            except OSError as e:
                errs.send(e)
        gort.go(writer)
        gtime.sleep(0.1)
        c.close()  # does not wait to send close_notify behind the writer
        assert isinstance(errs.recv(), net.NetClosedError)
        for x in (s, ln):
            x.close()
    run(main)


# --------------------------------------------------------------------------
# Bad input


def test_plain_http_to_tls_port(pki):
    def main():
        ln = tls.listen("tcp", "127.0.0.1:0", pki.server_config())
        raw = net.dial("tcp", ln.addr)
        raw.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        s = ln.accept()
        s.set_deadline(gtime.now() + 10)
        with pytest.raises(tls.RecordHeaderError) as ei:
            s.read()
        e = ei.value
        assert isinstance(e, ssl.SSLError) and isinstance(e, net.OpError)
        assert "first record does not look like a TLS handshake" in str(e)
        assert e.record_header == b"GET /" and e.op == "handshake"
        for x in (s, raw, ln):
            x.close()
    run(main)


def test_tls_to_plain_port():
    def main():
        ln = net.listen("tcp", "127.0.0.1:0")

        def plain():
            s = ln.accept()
            with s:
                s.set_deadline(gtime.now() + 10)
                s.read()
                s.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
        gort.go(plain)
        with pytest.raises(ssl.SSLError) as ei:
            tls.dial("tcp", ln.addr, tls.Config(insecure_skip_verify=True), timeout=10)
        assert isinstance(ei.value, tls.TLSError), ei.value
        assert "handshake" in str(ei.value)
        ln.close()
    run(main)


def test_peer_closes_without_close_notify(pki):
    def main():
        ln, c, s = tls_pair(pki)
        s.write(b"partial data")
        s.net_conn().close()  # a TCP FIN with no close_notify
        assert read_exactly(c, 12) == b"partial data"
        with pytest.raises(tls.UnexpectedEOFError) as ei:
            c.read()
        assert isinstance(ei.value, ssl.SSLEOFError) and "close_notify" in str(ei.value)
        with pytest.raises(tls.UnexpectedEOFError):  # sticky
            c.read()
        for x in (c, s, ln):
            x.close()
    run(main)


def test_truncated_record_raw(pki):
    """A TLS server conn whose peer sends half a record and a FIN."""
    def main():
        ln, c, s = tls_pair(pki)
        # Take one full record out of the client's outgoing path by hand.
        c._sslobj.write(b"z" * 3000)
        rec = c._outgoing.read()
        assert len(rec) > 3000
        c.net_conn().write(rec[:len(rec) // 2])
        c.net_conn().close_write()
        with pytest.raises(tls.UnexpectedEOFError):
            s.read()
        for x in (c, s, ln):
            x.close()
    run(main)


def test_server_config_without_certificate(pki):
    def main():
        with pytest.raises(ValueError, match="no certificates"):
            tls.listen("tcp", "127.0.0.1:0", tls.Config())
        ln = net.listen("tcp", "127.0.0.1:0")
        c = net.dial("tcp", ln.addr)
        with pytest.raises(ValueError, match="no certificates"):
            tls.server(c, tls.Config(server_name="x"))
        # A bare SSLContext without a certificate: the handshake fails on both sides.
        s = tls.server(ln.accept(), ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
        s.set_deadline(gtime.now() + 10)
        cc = tls.client(c, tls.Config(insecure_skip_verify=True))
        cc.set_deadline(gtime.now() + 10)
        cerr = gort.chan(1)

        def cli():
            try:
                cc.handshake()
                cerr.send(None)
            except OSError as e:
                cerr.send(e)
        gort.go(cli)
        with pytest.raises(tls.TLSError):
            s.handshake()
        assert isinstance(cerr.recv(), tls.TLSError)
        for x in (s, cc, ln):
            x.close()
    run(main)


def test_bad_arguments(pki):
    def main():
        ln = net.listen("tcp", "127.0.0.1:0")
        c = net.dial("tcp", ln.addr)
        with pytest.raises(ValueError, match="server_name or insecure_skip_verify"):
            tls.client(c, tls.Config())
        with pytest.raises(TypeError, match="Config or an ssl.SSLContext"):
            tls.client(c, {"server_name": "x"})
        with pytest.raises(TypeError, match="stream Conn"):
            tls.client(object(), tls.Config(insecure_skip_verify=True))
        with pytest.raises(ValueError, match="REQUEST_CLIENT_CERT"):
            tls.server(c, pki.server_config(client_auth=tls.REQUEST_CLIENT_CERT))
        with pytest.raises(TypeError, match="root_cas"):
            tls.client(c, tls.Config(root_cas=42, server_name="x"))
        with pytest.raises(OSError):
            tls.load_x509_key_pair(os.path.join(pki.dir, "missing.cert"))
        with pytest.raises(ssl.SSLError, match="load_x509_key_pair"):
            tls.load_x509_key_pair(pki.server.cert, pki.client.key)  # key does not match
        tc = tls.client(c, tls.Config(insecure_skip_verify=True))
        with pytest.raises(TypeError, match="not str"):
            tc.write("text")
        with pytest.raises(TypeError):
            tc.read_into(b"readonly")
        c.close()
        ln.close()
    run(main)


def test_errors_pickle(pki):
    ce, _ = _handshake_error(pki, pki.client_config(), "example.com")
    e2 = pickle.loads(pickle.dumps(ce))
    assert type(e2) is type(ce) and str(e2) == str(ce) and e2.host == "example.com"


# --------------------------------------------------------------------------
# Concurrency: a reader and a writer on every connection at once (under
# GORTMAXPROCS=4 they run on different Ms: the SSLObject lock's case).


def test_full_duplex_many_conns(pki):
    N, SIZE = 12, 200_000

    def main():
        ln = tls.listen("tcp", "127.0.0.1:0", pki.server_config())
        ccfg = pki.client_config(server_name="localhost")

        def echo(s):
            with s:
                s.set_deadline(gtime.now() + 30)
                while True:
                    data = s.read()
                    if not data:
                        return
                    s.write(data)

        def acceptor():
            for _ in range(N):
                gort.go(echo, ln.accept())
        gort.go(acceptor)
        results = gort.chan(N)

        def one(i):
            c = tls.client(net.dial("tcp", ln.addr), ccfg)
            with c:
                c.set_deadline(gtime.now() + 30)
                payload = bytes([i]) * SIZE
                gort.go(lambda: (c.write(payload), c.close_write()))
                got = bytearray()
                while True:
                    data = c.read()
                    if not data:
                        break
                    got += data
                results.send(bytes(got) == payload)
        for i in range(N):
            gort.go(one, i)
        assert all(results.recv() for _ in range(N))
        ln.close()
    run(main)


def test_versions_ciphers_and_key_log(pki, tmp_path):
    keylog = tmp_path / "keys.log"

    def main():
        ccfg = pki.client_config(max_version=tls.VERSION_TLS12,
                                 cipher_suites="ECDHE-ECDSA-AES128-GCM-SHA256",
                                 key_log_file=str(keylog))
        ln, c, s = tls_pair(pki, ccfg=ccfg)
        st = c.connection_state()
        assert st.version == tls.VERSION_TLS12 == 0x0303
        assert st.cipher_suite == "ECDHE-ECDSA-AES128-GCM-SHA256"
        c.write(b"over 1.2")
        assert read_exactly(s, 8) == b"over 1.2"
        for x in (c, s, ln):
            x.close()
    run(main)
    assert "CLIENT_RANDOM" in keylog.read_text()  # the TLS 1.2 NSS key log line
    # A server that insists on TLS 1.3 refuses a 1.2-only client.
    ce, se = _handshake_error(
        pki, pki.client_config(max_version=tls.VERSION_TLS12), "localhost",
        pki.server_config(min_version=tls.VERSION_TLS13))
    assert isinstance(ce, tls.TLSError) and "protocol version" in str(ce), ce
    assert isinstance(se, tls.TLSError) and "unsupported protocol" in str(se), se
