"""Every sample runs to completion in a subprocess, within a bound.

(The network samples' --self-test modes are run by tests/test_net.py.)
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, timeout=60, env=None):
    r = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ, **(env or {})))
    assert r.returncode == 0, f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def test_demo():
    out = _run("samples/demo.py", "20000")
    assert "20,000 goroutines on a chan(20,000) -- they never block" in out
    assert "2,000 goroutines on a chan(0) -- they all park" in out
    assert out.count("results correct: True") == 2
    assert "greenlets created: 1 " in out  # round 1: one greenlet ran them all


def test_prime_sieve():
    out = _run("samples/prime_sieve.py", "25")
    assert out.splitlines()[0] == ("2 3 5 7 11 13 17 19 23 29 31 37 41 43 47 53 59 61 67 71 73 "
                                   "79 83 89 97")


def test_worker_pool():
    out = _run("samples/worker_pool.py", "40", "4")
    assert out.startswith("40 jobs by 4 workers")


def test_pipeline():
    out = _run("samples/pipeline.py")
    assert "first 10 squares" in out
    assert "goroutines after cancel and drain: 1 " in out


def test_chat_server_self_test():
    out = _run("samples/chat_server.py", "--self-test")
    assert out.count("hello, gophers") == 3 and "chat self-test: ok" in out


def test_tour_with_trace(tmp_path):
    trace = tmp_path / "tour.json"
    out = _run("samples/tour.py", "--trace", str(trace))
    for step in ("1. go gopher()", "3. G2 blocks on ch.recv()", "5. G2 blocks on conn.read()",
                 "7. G2 calls gort.time.sleep(0.05)", "9. G2 returned"):
        assert step in out, out
    assert "waitreason='IO wait'" in out and "rg = G2" in out
    assert "G2 woke from sleep(0.05)" in out
    data = json.loads(trace.read_text())
    assert any(e.get("name", "").startswith("G2 gopher") for e in data["traceEvents"])
    assert (tmp_path / "tour.svg").read_text().startswith("<svg")


@pytest.mark.parametrize("backend", ["poll"])
def test_tour_on_poll_backend(backend):
    out = _run("samples/tour.py", env={"GORTNETPOLL": backend})
    assert "9. G2 returned" in out


def test_reuse_port_server_self_test():
    # Two worker processes on one port (ListenConfig(reuse_port=True)); the
    # kernel spreads 40 loopback connections over both.
    out = _run("samples/reuse_port_server.py", "--self-test", timeout=120)
    assert "40 connections served by 2 processes" in out
    assert "reuse_port self-test: ok" in out


def test_https_hello_self_test():
    pytest.importorskip("cryptography", reason="its certificates need cryptography")
    out = _run("samples/https_hello.py", "--self-test")
    assert "self-test ok: HTTPS + ALPN http/1.1, plain HTTP refused" in out


def test_tls_echo_self_test():
    pytest.importorskip("cryptography", reason="its certificates need cryptography")
    out = _run("samples/tls_echo.py", "--self-test")
    assert "dropped: handshake deadline" in out and "dropped: write deadline" in out
    assert out.rstrip().endswith("self-test ok")
