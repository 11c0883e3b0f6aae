"""Scaffolding for the gort.monkey tests of threading, subprocess and real
libraries (tests/test_monkey_thread.py, test_monkey_subprocess.py,
test_monkey_libs.py); not a test module.

A patched test runs its script in a fresh interpreter (``run_patched``), so
that the patch never reaches the other tests of the same pytest process.
The script prints one JSON object on its last line; the test checks it.
Server fixtures (redis-server, PostgreSQL) start real servers on free
loopback ports and stop them; they skip, with the reason, where the binary
is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from testutil import wait_until

ROOT = Path(__file__).resolve().parent.parent


def run_patched(code: str, timeout: float = 60, env: dict | None = None) -> Any:
    """Run ``code`` (dedented) in a new interpreter with gort importable;
    return the JSON its last output line holds.  Fails the test, with the
    child's output, if it exits non-zero or prints no JSON."""
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    if env:
        e.update(env)
    try:
        p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                           text=True, timeout=timeout, env=e, cwd=str(ROOT))
    except subprocess.TimeoutExpired as ex:
        pytest.fail(f"patched script hung (> {timeout} s); output so far:\n"
                    f"{ex.stdout}\n{ex.stderr}")
    if p.returncode != 0:
        pytest.fail(f"patched script exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    if not lines:
        pytest.fail(f"patched script printed nothing:\n{p.stderr}")
    return json.loads(lines[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    """Until the server proc listens on port (bounded; fails at once if it exits)."""
    def listening() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_until(listening, f"a server listening on 127.0.0.1:{port}", timeout, poll=0.05)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# --------------------------------------------------------------------------
# redis-server

REDIS_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)


@pytest.fixture(scope="module")
def redis_server():
    """A redis-server on a free port of 127.0.0.1, no persistence; yields the port."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (.ci/run installs it with apt-get)")
    port = free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--maxclients", "2000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        yield port
    finally:
        _stop(proc)


# --------------------------------------------------------------------------
# PostgreSQL

PG_BIN = next((p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
               if (p / "initdb").exists()), None) if Path("/usr/lib/postgresql").exists() else None


def _as_user() -> list[str]:
    """initdb refuses to run as root: run the server as nobody."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and runuser is absent: cannot start PostgreSQL "
                    "as an unprivileged user")
    return [runuser, "-u", "nobody", "--"]


@pytest.fixture(scope="module")
def postgres_server():
    """A throwaway PostgreSQL cluster on a free port of 127.0.0.1 (trust
    auth, user "gort"); yields (port, user, database)."""
    if PG_BIN is None:
        pytest.skip("PostgreSQL server binaries are not installed "
                    "(/usr/lib/postgresql/*/bin; .ci/run installs postgresql with apt-get)")
    prefix = _as_user()
    base = Path(tempfile.mkdtemp(prefix="gort-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if prefix:
        os.chmod(base, 0o755)
        shutil.chown(base, "nobody")
        shutil.chown(sock, "nobody")
    proc = None
    try:
        r = subprocess.run(prefix + [str(PG_BIN / "initdb"), "-D", str(data), "-U", "gort",
                                     "-A", "trust", "--no-sync", "-E", "UTF8"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            pytest.skip(f"initdb failed: {r.stderr.strip()[-300:]}")
        port = free_port()
        proc = subprocess.Popen(
            prefix + [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port),
                      "-k", str(sock), "-h", "127.0.0.1", "-F", "-c", "max_connections=200",
                      "-c", "fsync=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, proc, timeout=60)
        yield port, "gort", "postgres"
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(base, ignore_errors=True)
