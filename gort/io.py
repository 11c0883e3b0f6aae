"""Stream copies (Go: io.Copy, io.CopyN).

Go: src/io/io.go (Copy, CopyN, copyBuffer; the WriterTo and ReaderFrom
dispatch) and, for the kernel paths, src/net/splice_linux.go,
src/net/sendfile_linux.go, here in gort/net/splice.py.

``copy(dst, src)`` picks, in Go's order:

1. ``src`` is a gort.bufio.Reader: its buffered bytes go first, then its
   reader is copied (Go: Reader.WriteTo);
2. ``dst`` is a gort.bufio.Writer: it is flushed, then src is copied to its
   writer (Go: Writer.ReadFrom, once its buffer is empty);
3. both ends are fds the kernel can copy between (Go: TCPConn.ReadFrom):
   a socket to a socket by ``splice`` through a pipe, a regular file to a
   socket by ``sendfile``.  No byte enters Python; on EAGAIN the goroutine
   parks on the netpoller, so deadlines and close() apply;
4. otherwise a read/write loop through one buffer (Go: copyBuffer), with
   ``src.read_into``, ``src.readinto`` or ``src.read`` and ``dst.write``.

Where gort differs from Go, and why:

* The end of src is not an error: both return the count copied, and
  ``copy_n`` returns fewer than n when src ended first (Go returns io.EOF).
* An exception (a deadline, a reset) carries ``err.n``, the count copied
  before it (Go returns it beside the error).
* The loop's buffer is 64 KB (Go: 32 KB): in Python each round trip through
  the loop costs more than the copy of 32 KB does.
"""

from __future__ import annotations

import io as _stdio
from typing import Any

from .bufio import Reader, Writer, _reader_fn, _write_all

__all__ = ["COPY_BUFFER_SIZE", "copy", "copy_buffer", "copy_n"]

COPY_BUFFER_SIZE = 64 * 1024


def copy(dst: Any, src: Any) -> int:
    """Go: io.Copy.  Copy src to dst until src ends; returns the byte count.

    src: anything with read_into/readinto/read (a gort Conn, a file opened
    in binary mode, a gort.bufio.Reader); dst: anything with write.  Uses
    splice/sendfile where both ends are fds (see the module docstring)."""
    return _copy(dst, src, -1)


def copy_n(dst: Any, src: Any, n: int) -> int:
    """Go: io.CopyN.  Copy n bytes from src to dst; returns the count, which
    is less than n only if src ended first."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"gort.io.copy_n: n must be an int, not {type(n).__name__}")
    if n < 0:
        raise ValueError(f"gort.io.copy_n: negative count {n}")
    if n == 0:
        return 0
    return _copy(dst, src, n)


def _check(dst: Any, src: Any) -> None:
    if isinstance(src, _stdio.TextIOBase) or isinstance(dst, _stdio.TextIOBase):
        raise TypeError("gort.io.copy: text files are not byte streams; open the file in "
                        "binary mode ('rb'/'wb')")
    if getattr(dst, "write", None) is None:
        raise TypeError(f"gort.io.copy: dst needs write(data); {type(dst).__name__} has none")


def _copy(dst: Any, src: Any, limit: int) -> int:
    if isinstance(src, Reader):
        return src.write_to(dst, limit)  # Go: WriterTo
    if isinstance(dst, Writer):
        return dst.read_from(src, limit)  # Go: ReaderFrom
    _check(dst, src)
    if hasattr(dst, "fileno") and hasattr(src, "fileno"):
        from gort.net.splice import read_from  # Go: TCPConn.ReadFrom
        n, handled = read_from(dst, src, limit)
        if handled:
            return n
    return copy_buffer(dst, src, limit)


def copy_buffer(dst: Any, src: Any, limit: int = -1) -> int:
    """Go: copyBuffer -- the plain loop: read into one buffer, write it all
    out, until src ends (or limit bytes, if limit >= 0)."""
    readinto = _reader_fn(src)
    write = dst.write
    size = COPY_BUFFER_SIZE if limit < 0 else max(1, min(COPY_BUFFER_SIZE, limit))
    mv = memoryview(bytearray(size))
    written = 0
    while limit:
        k = size if limit < 0 or limit >= size else limit
        try:
            n = readinto(mv if k == size else mv[:k])
        except BaseException as e:
            e.n = written  # type: ignore[attr-defined]
            raise
        if not n:
            if n is None:
                raise BlockingIOError("gort.io.copy: the source is non-blocking and has no "
                                      "data; give it a gort Conn or a blocking file")
            break
        try:
            _write_all(write, mv[:n])
        except BaseException as e:
            e.n += written  # type: ignore[attr-defined]
            raise
        written += n
        if limit > 0:
            limit -= n
    return written
