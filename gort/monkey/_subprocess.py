"""patch_subprocess: pipes, communicate and wait park the goroutine; so do
os.read and os.write on pipes.

Go: os/exec over os.File, whose pipes are pollable (internal/poll.FD with
kind kindPipe: non-blocking, on the netpoller), and os.Process.Wait, which
since Go 1.23 waits on a pidfd (os/pidfd_linux.go) and otherwise blocks an M
in wait4 (entersyscall).  gort does the same:

* a Popen's pipes (the parent's ends, created by Popen) are made
  non-blocking and wrapped in a raw file (PipeIO) whose read and write try
  the syscall first and, on EAGAIN, wait for the fd on the netpoller (a
  goroutine) or in poll(2) (a plain thread), as internal/poll's FD.Read
  does.  Handing the fd out (``fileno()``: to another Popen as its stdin,
  to select) puts it back in blocking mode first, as Go's ``File.Fd()``
  does, since another process would share O_NONBLOCK with it;
* ``communicate`` runs one goroutine per pipe (Go: exec.Cmd's copying
  goroutines), so a timeout leaves them running, and a second call picks
  their output up, as the stdlib's selector loop keeps its partial output;
* ``wait`` parks on a pidfd (``os.pidfd_open``, Linux 5.3+) on the
  netpoller, else on the blocking pool (``gort.blocking``: no timeout), or
  with a timeout, polls ``waitpid(WNOHANG)`` between ``gort.time.sleep``s;
* ``os.read``/``os.write`` called by a goroutine on a pipe, FIFO, socket or
  (read only) terminal wait for it on the netpoller before the syscall.  A
  blocking fd's mode is never changed (a pipe may be shared with another
  process); a write is then cut to PIPE_BUF bytes, which a pipe that polls
  writable takes without blocking (os.write may return a short count).

Every path taken by a plain thread is the stdlib's own.
"""

from __future__ import annotations

import errno
import io
import os
import select
import stat
import subprocess
from time import monotonic
from typing import Any

from ..netpoll import (
    poll_runtime_pollClose,
    poll_runtime_pollOpen,
    poll_runtime_pollSetDeadline,
    poll_runtime_pollUnblock,
    poll_runtime_pollWait,
    pollErrTimeout,
    pollNoError,
)
from ..netpoll.netpoll import pdbyfd
from ..sched.syscall import blocking
from . import in_goroutine, original

_os_read = original(os, "read")
_os_write = original(os, "write")
_poll = original(select, "poll")
_OrigPopen = original(subprocess, "Popen")
_PIPE_BUF = getattr(select, "PIPE_BUF", 512)
_pidfd_open = getattr(os, "pidfd_open", None)


class _Unpollable(Exception):
    """The netpoller refuses the fd (a regular file), or it already has it."""


def _waitnetpoll(fd: int, mode: str, deadline: float | None) -> bool:
    """Park until fd is ready for mode ('r'/'w'); False at the deadline.

    The fd is registered for this one wait (Go keeps it registered for the
    File's life; a raw fd here may be closed behind our back at any time,
    and epoll forgets a closed fd, so a kept pollDesc could wait forever).
    A fresh edge-triggered registration reports an fd that is ready now."""
    if fd in pdbyfd:
        raise _Unpollable  # the netpoller has it already (a gort socket)
    try:
        pd = poll_runtime_pollOpen(fd)
    except OSError:
        raise _Unpollable from None
    try:
        if deadline is not None:
            poll_runtime_pollSetDeadline(pd, deadline, mode)
        err = poll_runtime_pollWait(pd, mode)
    finally:
        poll_runtime_pollUnblock(pd)
        poll_runtime_pollClose(pd)
    if err == pollErrTimeout:
        return False
    if err != pollNoError:
        raise OSError(errno.EBADF, "file descriptor closed while waiting")
    return True


def _waitthread(fd: int, mode: str, deadline: float | None) -> bool:
    p = _poll()
    p.register(fd, select.POLLIN if mode == "r" else select.POLLOUT)
    while True:
        ms = None if deadline is None else max(0, int((deadline - monotonic()) * 1000 + 0.999))
        if p.poll(ms):
            return True
        if deadline is not None and monotonic() >= deadline:
            return False


def _waitfd(fd: int, mode: str, deadline: float | None = None) -> bool:
    if in_goroutine():
        try:
            return _waitnetpoll(fd, mode, deadline)
        except _Unpollable:
            # The netpoller will not take the fd (it has it already): wait
            # on the blocking pool, never on this M, where the goroutine
            # that would make the fd ready may be the next to run.
            return blocking(_waitthread, fd, mode, deadline)
    return _waitthread(fd, mode, deadline)


# --------------------------------------------------------------------------
# os.read / os.write


def _pollable(fd: int, write: bool) -> bool:
    try:
        m = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(m) or stat.S_ISSOCK(m) or (not write and stat.S_ISCHR(m))


def _ready_now(fd: int, mode: str) -> bool:
    p = _poll()
    p.register(fd, select.POLLIN if mode == "r" else select.POLLOUT)
    return bool(p.poll(0))


def read(fd: int, n: int, /) -> bytes:
    """os.read: a goroutine waits on the netpoller for a pipe to be readable."""
    if not in_goroutine() or not _pollable(fd, False):
        return _os_read(fd, n)
    if not os.get_blocking(fd):
        while True:
            try:
                return _os_read(fd, n)
            except BlockingIOError:
                _waitfd(fd, "r")
    if not _ready_now(fd, "r"):
        _waitfd(fd, "r")
    return _os_read(fd, n)


def write(fd: int, data: Any, /) -> int:
    """os.write: a goroutine waits on the netpoller for a pipe to be writable."""
    if not in_goroutine() or not _pollable(fd, True):
        return _os_write(fd, data)
    if not os.get_blocking(fd):
        while True:
            try:
                return _os_write(fd, data)
            except BlockingIOError:
                _waitfd(fd, "w")
    if not _ready_now(fd, "w"):
        _waitfd(fd, "w")
    # Writable: PIPE_BUF bytes fit without blocking the M.
    mv = memoryview(data).cast("B")
    return _os_write(fd, mv[:_PIPE_BUF] if len(mv) > _PIPE_BUF else mv)


# --------------------------------------------------------------------------
# Pipes


class PipeIO(io.RawIOBase):
    """A raw file over a pipe fd it owns (Go: os.File of kind kindPipe).

    The fd starts non-blocking: reads and writes try the syscall and wait
    for the fd on EAGAIN.  ``fileno()`` hands the fd out, and may hand it
    to another process (``Popen(stdin=p1.stdout)``), which would inherit
    O_NONBLOCK with it: so, as Go's ``File.Fd()`` does, it first puts the
    fd back in blocking mode.  From then on a read or write waits for the
    fd to be ready and then makes one call (a write of at most PIPE_BUF,
    which a writable pipe takes without blocking)."""

    def __init__(self, fd: int, mode: str) -> None:
        super().__init__()
        os.set_blocking(fd, False)
        self._fd = fd
        self._nonblock = True
        self._mode = mode
        self.name = fd

    @property
    def mode(self) -> str:
        return self._mode

    def _checkfd(self) -> int:
        if self._fd < 0:
            raise ValueError("I/O operation on closed file")
        return self._fd

    def fileno(self) -> int:
        fd = self._checkfd()
        if self._nonblock:
            self._nonblock = False
            os.set_blocking(fd, True)
        return fd

    def readable(self) -> bool:
        return "r" in self._mode

    def writable(self) -> bool:
        return "w" in self._mode

    def readinto(self, b: Any) -> int:
        fd = self._checkfd()
        if not self._nonblock:
            if in_goroutine() and not _ready_now(fd, "r"):
                _waitfd(fd, "r")
            return os.readv(fd, [b])
        while True:
            try:
                return os.readv(fd, [b])
            except BlockingIOError:
                _waitfd(fd, "r")

    def write(self, b: Any) -> int:
        fd = self._checkfd()
        if not self._nonblock:
            if not in_goroutine():
                return _os_write(fd, b)
            if not _ready_now(fd, "w"):
                _waitfd(fd, "w")
            mv = memoryview(b).cast("B")
            return _os_write(fd, mv[:_PIPE_BUF] if len(mv) > _PIPE_BUF else mv)
        while True:
            try:
                return _os_write(fd, b)
            except BlockingIOError:
                _waitfd(fd, "w")

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            try:
                super().close()
            finally:
                os.close(fd)


def _rewrap(f: Any, writing: bool, bufsize: int, text: bool, encoding: Any,
            errors: Any) -> tuple[Any, PipeIO]:
    """A file like the one Popen made for a pipe, over a PipeIO of its fd;
    returns (the file, its PipeIO)."""
    fd = os.dup(f.fileno())  # non-inheritable, as Popen's own ends are
    try:
        f.close()
    except BrokenPipeError:
        pass
    raw = PipeIO(fd, "wb" if writing else "rb")
    line_buffering = False
    if text and bufsize == 1:
        line_buffering = True
        bufsize = -1
    if bufsize == 0 and not text:
        return raw, raw
    size = bufsize if bufsize > 1 else io.DEFAULT_BUFFER_SIZE
    buf = io.BufferedWriter(raw, size) if writing else io.BufferedReader(raw, size)
    if not text:
        return buf, raw
    if writing:
        return io.TextIOWrapper(buf, write_through=True, line_buffering=line_buffering,
                                encoding=encoding, errors=errors), raw
    return io.TextIOWrapper(buf, encoding=encoding, errors=errors), raw


def _bufsize(args: tuple, kwargs: dict) -> int:
    b = kwargs.get("bufsize", args[1] if len(args) > 1 else -1)
    return -1 if b is None else b


class Popen(_OrigPopen):
    """subprocess.Popen whose pipes, communicate and wait park goroutines."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gort_comm: list | None = None
        self._gort_pidfd = -1
        self._gort_raw: dict[str, PipeIO] = {}
        bufsize = _bufsize(args, kwargs)
        text = bool(self.text_mode)
        for name in ("stdin", "stdout", "stderr"):
            f = getattr(self, name)
            if f is not None:  # only a pipe Popen made
                f, raw = _rewrap(f, name == "stdin", bufsize, text, self.encoding, self.errors)
                setattr(self, name, f)
                self._gort_raw[name] = raw

    # -- communicate ------------------------------------------------------

    def _communicate(self, input: Any, endtime: float | None,
                     orig_timeout: float | None) -> tuple[Any, Any]:
        if not in_goroutine():
            return super()._communicate(input, endtime, orig_timeout)
        import gort

        if self.stdin and not self._communication_started:
            try:
                self.stdin.flush()
            except BrokenPipeError:
                pass
            if not input:
                try:
                    self.stdin.close()
                except BrokenPipeError:
                    pass
        st = self._gort_comm
        if st is None:
            self._fileobj2output = {}
            self._save_input(input)
            done = gort.chan(3)
            st = self._gort_comm = [done, 0, None]
            if self.stdin and input:  # the stdlib's test: input, not self._input
                gort.go(self._gort_writer, done)
                st[1] += 1
            for name in ("stdout", "stderr"):
                f = getattr(self, name)
                if f is not None:
                    self._fileobj2output[f] = []
                    gort.go(self._gort_reader, f, self._gort_raw[name], done)
                    st[1] += 1
        done = st[0]
        while st[1]:
            if endtime is None:
                err = done.recv()
            else:
                left = endtime - monotonic()
                i, err, _ = gort.select(gort.recv(done), gort.recv(gort.time.after(left)))
                if i == 1:
                    raise subprocess.TimeoutExpired(self.args, orig_timeout)
            st[1] -= 1
            if err is not None and st[2] is None:
                st[2] = err
        if st[2] is not None:
            err, st[2] = st[2], None
            raise err
        self.wait(timeout=self._remaining_time(endtime))
        stdout = stderr = None
        if self.stdout:
            stdout = b"".join(self._fileobj2output[self.stdout])
        if self.stderr:
            stderr = b"".join(self._fileobj2output[self.stderr])
        if self.text_mode:
            if stdout is not None:
                stdout = self._translate_newlines(stdout, self.stdout.encoding,
                                                  self.stdout.errors)
            if stderr is not None:
                stderr = self._translate_newlines(stderr, self.stderr.encoding,
                                                  self.stderr.errors)
        return (stdout, stderr)

    def _gort_writer(self, done: Any) -> None:
        err = None
        try:
            f = self.stdin
            raw = self._gort_raw["stdin"]
            view = memoryview(self._input).cast("B")
            try:
                while self._input_offset < len(view):
                    chunk = view[self._input_offset:self._input_offset + 65536]
                    self._input_offset += raw.write(chunk)
            except BrokenPipeError:
                pass
            try:
                f.close()
            except BrokenPipeError:
                pass
        except BaseException as e:  # noqa: BLE001 - raised by communicate
            err = e
        done.send(err)

    def _gort_reader(self, f: Any, raw: PipeIO, done: Any) -> None:
        err = None
        try:
            out = self._fileobj2output[f]
            while True:
                data = raw.read(32768)
                if not data:
                    break
                out.append(data)
            f.close()
        except BaseException as e:  # noqa: BLE001 - raised by communicate
            err = e
        done.send(err)

    # -- wait -------------------------------------------------------------

    def _wait(self, timeout: float | None) -> int:
        if self.returncode is not None or not in_goroutine():
            return super()._wait(timeout)
        deadline = None if timeout is None else monotonic() + timeout
        try:
            while self.returncode is None:
                r = self._reap()
                if r:
                    break
                if r is None:  # another waiter holds the lock and reaps it
                    import gort
                    gort.time.sleep(0.001)
                    if deadline is not None and monotonic() >= deadline:
                        raise subprocess.TimeoutExpired(self.args, timeout)
                    continue
                if not self._waitexit(deadline):
                    raise subprocess.TimeoutExpired(self.args, timeout)
        finally:
            if self.returncode is not None and self._gort_pidfd >= 0:
                fd, self._gort_pidfd = self._gort_pidfd, -1
                os.close(fd)
        return self.returncode

    def _reap(self) -> bool | None:
        """waitpid(WNOHANG) under the Popen's lock; True once reaped, None
        if another waiter holds the lock."""
        if not self._waitpid_lock.acquire(False):
            return None
        try:
            if self.returncode is not None:
                return True
            pid, sts = self._try_wait(os.WNOHANG)
            if pid == self.pid:
                self._handle_exitstatus(sts)
                return True
            return False
        finally:
            self._waitpid_lock.release()

    def _waitexit(self, deadline: float | None) -> bool:
        """Park until the child may have exited; False at the deadline."""
        import gort

        if _pidfd_open is not None and self._gort_pidfd == -1:
            try:
                self._gort_pidfd = _pidfd_open(self.pid)
            except OSError:  # ENOSYS (old kernel), EPERM (seccomp), ESRCH
                self._gort_pidfd = -2
        if self._gort_pidfd >= 0:
            try:
                return _waitnetpoll(self._gort_pidfd, "r", deadline)
            except _Unpollable:
                pass
        if deadline is None:
            # Go: wait4 in a syscall (entersyscall); here on the blocking pool.
            def waitone() -> None:
                with self._waitpid_lock:
                    if self.returncode is None:
                        pid, sts = self._try_wait(0)
                        if pid == self.pid:
                            self._handle_exitstatus(sts)
            gort.blocking(waitone)
            return True
        left = deadline - monotonic()
        if left <= 0:
            return False
        gort.time.sleep(min(left, 0.005))
        return True

    def __del__(self, *args: Any, **kwargs: Any) -> None:
        fd = getattr(self, "_gort_pidfd", -1)
        if fd >= 0:
            self._gort_pidfd = -1
            try:
                os.close(fd)
            except OSError:
                pass
        super().__del__(*args, **kwargs)


def patch() -> None:
    """Apply the patch (gort.monkey.patch_subprocess calls it once)."""
    from . import _replace
    _replace(subprocess, "Popen", Popen, "subprocess")
    _replace(os, "read", read, "subprocess")
    _replace(os, "write", write, "subprocess")
