"""Buffered reads and writes over any stream (Go: bufio's Reader and Writer).

Go: src/bufio/bufio.go.  ``Reader`` keeps Go's buffer ``buf`` and its read
and write indices ``r`` and ``w``; ``fill`` slides the unread bytes to the
front and reads once into the rest; ``ReadSlice`` is the scan every
line-reading call stands on.  ``Writer`` keeps Go's ``buf`` and ``n``, and
writes a large chunk straight through when its buffer is empty (Go's
"large write, empty buffer" bypass).  Neither is safe for two goroutines at
once, as in Go.

The reader under a ``Reader`` is any object with ``read_into(buf)`` (a gort
Conn, a tls Conn, another Reader), ``readinto(buf)`` (a Python file) or
``read(n)``; the writer under a ``Writer`` any object with ``write(data)``.

Where gort differs from Go, and why:

* End of stream is not an error, as in Python's io: the calls return what
  is left, then ``b""`` (``read_line`` returns ``None``: an empty line is
  already ``b""``).  Go returns ``io.EOF``.
* An exception from the reader underneath (a deadline, a reset) leaves
  every byte where it was: nothing is consumed by the call that failed, and
  ``read_bytes`` puts back the fragments it had gathered (the buffer grows
  for that).  So a caller can extend a deadline and call again.  Go returns
  the partial data with the error and consumes it.
* ``BufferFullError`` (Go: ErrBufferFull) is raised by ``read_slice``,
  ``read_line`` and ``peek(n > size)``, and consumes nothing; Go's
  ReadSlice consumes the full buffer, and Go's ReadLine returns it with
  ``isPrefix`` true -- ``read_line_prefix`` is that form.  ``read_bytes``
  and ``read_string`` accumulate, as Go's ReadBytes and ReadString do.
* ``peek`` and ``read_slice`` return copies (``bytes``), not views of the
  buffer that the next read overwrites.
* A ``Writer`` whose writer fails keeps the unwritten bytes and stays
  usable (``flush`` again after extending a deadline); Go's Writer makes
  the error sticky.  ``write`` always accepts all of its data or raises
  with ``err.n`` = the bytes accepted, like ``Conn.write``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_BUF_SIZE", "MIN_READ_BUFFER_SIZE", "BufferFullError", "Reader", "Writer"]

DEFAULT_BUF_SIZE = 4096  # Go: defaultBufSize
MIN_READ_BUFFER_SIZE = 16  # Go: minReadBufferSize


class BufferFullError(ValueError):
    """Go: bufio.ErrBufferFull -- the data asked for (a line, a peek) does
    not fit in the Reader's buffer.  Nothing was consumed: read it with
    read_bytes/read_string (which accumulate), read or discard, or use a
    larger buffer."""


def _size(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        try:
            n = n.__index__()
        except (AttributeError, TypeError):
            raise TypeError(f"gort.bufio: {what} must be an int, not {type(n).__name__}") from None
    return n


def _delim(d: Any) -> int:
    """A delimiter: one byte, given as an int, bytes of length 1, or a
    one-character ASCII str."""
    if isinstance(d, int) and not isinstance(d, bool):
        if 0 <= d < 256:
            return d
    elif isinstance(d, (bytes, bytearray)) and len(d) == 1:
        return d[0]
    elif isinstance(d, str) and len(d) == 1 and ord(d) < 128:
        return ord(d)
    raise ValueError(f"gort.bufio: the delimiter must be one byte (an int 0-255, a bytes of "
                     f"length 1 or an ASCII character), not {d!r}")


def _reader_fn(rd: Any) -> Any:
    """The ``readinto``-shaped call that fills a buffer from rd."""
    f = getattr(rd, "read_into", None) or getattr(rd, "readinto", None)
    if f is not None:
        return f
    read = getattr(rd, "read", None)
    if read is None:
        raise TypeError("gort: a source to read needs read_into(buf), readinto(buf) "
                        f"or read(n); {type(rd).__name__} has none")

    def readinto(mv: memoryview) -> Any:
        data = read(len(mv))
        if data is None:
            return None
        n = len(data)
        mv[:n] = data
        return n
    return readinto


class Reader:
    """Go: bufio.Reader.  ``Reader(rd, size=4096)`` reads rd in chunks of up
    to ``size`` bytes (at least 16) and hands them out by the call."""

    __slots__ = ("_buf", "_mv", "_r", "_w", "_rd", "_readinto", "_size")

    def __init__(self, rd: Any, size: int = DEFAULT_BUF_SIZE) -> None:
        size = _size(size, "size")
        if size < MIN_READ_BUFFER_SIZE:
            size = MIN_READ_BUFFER_SIZE  # Go: NewReaderSize
        self._size = size
        self._setbuf(bytearray(size), 0, 0)
        self._rd = rd
        self._readinto = _reader_fn(rd)

    def _setbuf(self, buf: bytearray, r: int, w: int) -> None:
        # A view of the buffer is kept for copy-once slicing; the bytearray
        # is therefore never resized, only replaced.
        self._buf = buf
        self._mv = memoryview(buf)
        self._r = r
        self._w = w

    def __repr__(self) -> str:
        return f"<gort.bufio.Reader size={self._size} buffered={self._w - self._r} of {self._rd!r}>"

    def reset(self, rd: Any) -> None:
        """Drop the buffered data and read from rd from now on (Go: Reset)."""
        self._readinto = _reader_fn(rd)
        self._rd = rd
        self._setbuf(bytearray(self._size), 0, 0)

    def size(self) -> int:
        """The buffer's size in bytes (Go: Size)."""
        return self._size

    def buffered(self) -> int:
        """How many bytes can be read without reading the reader (Go: Buffered)."""
        return self._w - self._r

    # -- the buffer ----------------------------------------------------------

    def _fill(self) -> int:
        """Go: fill.  Slide the unread bytes to the front, read once into the
        free space; returns the count read, 0 at end of stream."""
        r, w, buf = self._r, self._w, self._buf
        if r:
            if r < w:
                buf[:w - r] = self._mv[r:w]
            w -= r
            self._r = 0
            self._w = w
        if len(buf) > self._size and w <= self._size:
            # The buffer grew to hold bytes put back by _unread; shrink it.
            nb = bytearray(self._size)
            nb[:w] = self._mv[:w]
            self._setbuf(nb, 0, w)
            buf = nb
        if w >= len(buf):
            raise BufferFullError("gort.bufio: internal error: fill on a full buffer")
        n = self._readinto(self._mv[w:])
        if n is None:
            raise BlockingIOError("gort.bufio.Reader: the reader is non-blocking and has no "
                                  "data; give it a gort Conn or a blocking file")
        if n < 0 or n > len(buf) - w:
            raise ValueError(f"gort.bufio.Reader: the reader returned an invalid count {n}")
        self._w = w + n
        return n

    def _unread(self, data: bytes) -> None:
        """Put data back in front of the buffered bytes (for a call that
        failed after consuming them).  The buffer grows if it must."""
        r, w, k = self._r, self._w, len(data)
        if k <= r:
            self._buf[r - k:r] = data
            self._r = r - k
            return
        nb = bytearray(data)
        nb += self._mv[r:w]
        n = len(nb)
        if n < self._size:
            nb += bytes(self._size - n)
        self._setbuf(nb, 0, n)

    def _scan(self, delim: int) -> int:
        """Go: the loop of ReadSlice.  Fill until delim is buffered and return
        its index in the buffer, or -1 at end of stream (then the buffered
        bytes are the rest).  Raises BufferFullError, consuming nothing, if
        the buffer fills up without delim."""
        s = 0
        while True:
            r, w = self._r, self._w
            i = self._buf.find(delim, r + s, w)
            if i >= 0:
                return i
            if w - r >= len(self._buf):
                raise BufferFullError(
                    f"gort.bufio: no {bytes((delim,))!r} in the {len(self._buf)}-byte buffer: "
                    "the line is longer than the buffer (use read_bytes/read_string, "
                    "which accumulate, or a larger size)")
            s = w - r
            if self._fill() == 0:
                return -1

    # -- reads ---------------------------------------------------------------

    def read(self, n: int = -1) -> bytes:
        """Go: Read.  Up to n bytes, with at most one read of the reader
        (fewer than n is not the end of the stream); b"" at the end.
        n < 0 reads everything up to the end of the stream (Go: io.ReadAll)."""
        n = _size(n, "read: n")
        if n < 0:
            return self._read_all()
        r, w = self._r, self._w
        if r == w:
            if n == 0:
                return b""
            if n >= len(self._buf):
                # Go: large read, empty buffer -- read into the result
                # directly, skipping the copy through buf.  The result is
                # allocated here (Go's caller brings p), so a huge n is cut
                # to 1 MB: fewer than n is allowed.
                with memoryview(bytearray(min(n, max(len(self._buf), 1 << 20)))) as mv:
                    k = self._readinto(mv)
                    if k is None:
                        raise BlockingIOError("gort.bufio.Reader: the reader is non-blocking "
                                              "and has no data")
                    return bytes(mv[:k])
            if self._fill() == 0:
                return b""
            r, w = self._r, self._w
        if n > w - r:
            n = w - r
        self._r = r + n
        return bytes(self._mv[r:r + n])

    def _read_all(self) -> bytes:
        parts = []
        r, w = self._r, self._w
        if r < w:
            parts.append(bytes(self._mv[r:w]))
            self._r = w
        while True:
            try:
                if self._fill() == 0:
                    return b"".join(parts)
            except BaseException:
                if parts:
                    self._unread(b"".join(parts))
                raise
            r, w = self._r, self._w
            parts.append(bytes(self._mv[r:w]))
            self._r = w

    def read_into(self, b: Any) -> int:
        """Go: Read(p).  Fill b with up to len(b) bytes, at most one read of
        the reader; returns the count, 0 at the end of the stream."""
        mv = memoryview(b).cast("B")
        n = len(mv)
        r, w = self._r, self._w
        if n == 0:
            return 0
        if r == w:
            if n >= len(self._buf):
                k = self._readinto(mv)  # Go: read directly into p
                if k is None:
                    raise BlockingIOError("gort.bufio.Reader: the reader is non-blocking "
                                          "and has no data")
                return k
            if self._fill() == 0:
                return 0
            r, w = self._r, self._w
        if n > w - r:
            n = w - r
        mv[:n] = self._mv[r:r + n]
        self._r = r + n
        return n

    readinto = read_into  # so that a Reader can stand where Python wants a raw file

    def read_byte(self) -> bytes:
        """Go: ReadByte.  One byte as a bytes of length 1; b"" at the end."""
        r = self._r
        if r == self._w:
            if self._fill() == 0:
                return b""
            r = self._r
        self._r = r + 1
        return bytes(self._mv[r:r + 1])

    def peek(self, n: int) -> bytes:
        """Go: Peek.  The next n bytes without consuming them; fewer only at
        the end of the stream.  Raises BufferFullError if n is larger than
        the buffer."""
        n = _size(n, "peek: n")
        if n < 0:
            raise ValueError(f"gort.bufio: peek: negative count {n}")
        while self._w - self._r < n:
            if n > len(self._buf):
                raise BufferFullError(f"gort.bufio: peek({n}) is larger than the "
                                      f"{len(self._buf)}-byte buffer")
            if self._fill() == 0:
                break
        r = self._r
        return bytes(self._mv[r:min(r + n, self._w)])

    def discard(self, n: int) -> int:
        """Go: Discard.  Skip the next n bytes; returns how many were
        skipped (fewer than n only at the end of the stream).  On an
        exception, ``err.n`` is the count already skipped."""
        n = _size(n, "discard: n")
        if n < 0:
            raise ValueError(f"gort.bufio: discard: negative count {n}")
        remain = n
        while remain:
            skip = self._w - self._r
            if skip == 0:
                try:
                    if self._fill() == 0:
                        return n - remain
                except BaseException as e:
                    e.n = n - remain  # type: ignore[attr-defined]  # Go: discarded + err
                    raise
                continue
            if skip > remain:
                skip = remain
            self._r += skip
            remain -= skip
        return n

    def read_slice(self, delim: Any) -> bytes:
        """Go: ReadSlice.  The bytes up to and including delim, if they fit
        in the buffer; else BufferFullError (nothing consumed).  At the end
        of the stream: what is left, then b""."""
        i = self._scan(_delim(delim))
        r = self._r
        end = i + 1 if i >= 0 else self._w
        self._r = end
        return bytes(self._mv[r:end])

    def read_line(self) -> bytes | None:
        """Go: ReadLine.  The next line without its "\\n" or "\\r\\n"; None at
        the end of the stream (an empty line is b"").  A line (with its end
        of line) longer than the buffer raises BufferFullError and is left
        unread: Go returns its first part with isPrefix=true instead (see
        read_line_prefix).  A last line without "\\n" is returned as is."""
        r = self._r
        i = self._buf.find(10, r, self._w)  # the common case: the line is buffered
        if i < 0:
            i = self._scan(10)
            r = self._r
        if i < 0:
            w = self._w
            if r == w:
                return None
            self._r = w
            return bytes(self._mv[r:w])
        self._r = i + 1
        if i > r and self._buf[i - 1] == 13:
            i -= 1
        return bytes(self._mv[r:i])

    def read_line_prefix(self) -> tuple[bytes, bool] | None:
        """Go's ReadLine exactly: (line, is_prefix).  When the line does not
        fit in the buffer, the full buffer comes back with is_prefix True and
        the rest of the line follows in later calls.  None at the end."""
        try:
            line = self.read_line()
        except BufferFullError:
            r, w = self._r, self._w
            if self._buf[w - 1] == 13:
                w -= 1  # Go: a "\r\n" straddling the buffer's end stays whole
            self._r = w
            return bytes(self._mv[r:w]), True
        if line is None:
            return None
        return line, False

    def read_bytes(self, delim: Any) -> bytes:
        """Go: ReadBytes.  The bytes up to and including delim, however long
        (the buffer's worth at a time is gathered); at the end of the stream
        what is left, then b""."""
        d = delim if delim.__class__ is int and 0 <= delim < 256 else _delim(delim)
        r = self._r
        i = self._buf.find(d, r, self._w)  # the common case: the line is buffered
        if i >= 0:
            self._r = i + 1
            return bytes(self._mv[r:i + 1])
        frags: list[bytes] | None = None
        while True:
            try:
                i = self._scan(d)
            except BufferFullError:
                # Go: collectFragments -- keep the full buffer and go on.
                r, w = self._r, self._w
                if frags is None:
                    frags = []
                frags.append(bytes(self._mv[r:w]))
                self._r = w
                continue
            except BaseException:
                if frags:
                    self._unread(b"".join(frags))
                raise
            r = self._r
            end = i + 1 if i >= 0 else self._w
            self._r = end
            if frags is None:
                return bytes(self._mv[r:end])
            frags.append(bytes(self._mv[r:end]))
            return b"".join(frags)

    def read_string(self, delim: str = "\n", encoding: str = "utf-8",
                    errors: str = "strict") -> str:
        """Go: ReadString.  As read_bytes, decoded; delim is one ASCII
        character.  Bytes that do not decode stay unread (UnicodeDecodeError)."""
        data = self.read_bytes(delim)
        try:
            return data.decode(encoding, errors)
        except UnicodeDecodeError:
            self._unread(data)
            raise

    def __iter__(self) -> Any:
        """The lines, each with its "\\n" (the last one maybe without)."""
        while True:
            line = self.read_bytes(10)
            if not line:
                return
            yield line

    def write_to(self, w: Any, limit: int = -1) -> int:
        """Go: WriterTo.  Write the buffered bytes and then the rest of the
        stream (at most ``limit`` bytes if limit >= 0) to w; returns the
        count.  gort.io.copy calls it."""
        from .io import copy, copy_n  # io imports bufio, not the other way round
        r, w_ = self._r, self._w
        k = w_ - r if limit < 0 else min(w_ - r, limit)
        if k:
            _write_all(w.write, self._mv[r:r + k])
            self._r = r + k
        if limit < 0:
            return k + copy(w, self._rd)
        if limit == k:
            return k
        return k + copy_n(w, self._rd, limit - k)


def _write_all(write: Any, mv: memoryview) -> None:
    """Write all of mv with write(); a short count (a raw file) loops.  On
    an exception, ``err.n`` is the count written before it."""
    total = len(mv)
    done = 0
    while done < total:
        try:
            k = write(mv[done:] if done else mv)
        except BaseException as e:
            en = getattr(e, "n", 0)
            e.n = done + (en if isinstance(en, int) and 0 <= en <= total - done else 0)  # type: ignore[attr-defined]
            raise
        if k is None:
            k = total - done  # a write() that returns nothing (many file-likes) took it all
        elif k < 0 or k > total - done:
            raise ValueError(f"gort.bufio: the writer returned an invalid count {k}")
        elif k == 0:
            raise OSError("gort.bufio: the writer wrote 0 bytes (Go: io.ErrShortWrite)")
        done += k


class Writer:
    """Go: bufio.Writer.  ``Writer(w, size=4096)`` collects writes in a
    buffer of ``size`` bytes and writes it to w when full or on ``flush()``.
    Used as a context manager, it flushes on a clean exit."""

    __slots__ = ("_buf", "_mv", "_n", "_wr", "_write", "_size")

    def __init__(self, w: Any, size: int = DEFAULT_BUF_SIZE) -> None:
        size = _size(size, "size")
        if size <= 0:
            size = DEFAULT_BUF_SIZE  # Go: NewWriterSize
        write = getattr(w, "write", None)
        if write is None:
            raise TypeError(f"gort.bufio.Writer: the writer needs write(data); "
                            f"{type(w).__name__} has none")
        self._size = size
        self._buf = bytearray(size)
        self._mv = memoryview(self._buf)
        self._n = 0
        self._wr = w
        self._write = write

    def __repr__(self) -> str:
        return f"<gort.bufio.Writer size={self._size} buffered={self._n} to {self._wr!r}>"

    def reset(self, w: Any) -> None:
        """Drop unflushed data and write to w from now on (Go: Reset)."""
        write = getattr(w, "write", None)
        if write is None:
            raise TypeError(f"gort.bufio.Writer: {type(w).__name__} has no write(data)")
        self._wr, self._write, self._n = w, write, 0

    def size(self) -> int:
        """The buffer's size in bytes (Go: Size)."""
        return self._size

    def available(self) -> int:
        """Free bytes in the buffer (Go: Available)."""
        return self._size - self._n

    def buffered(self) -> int:
        """Bytes written but not flushed yet (Go: Buffered)."""
        return self._n

    def flush(self) -> None:
        """Go: Flush.  Write the buffered bytes to the writer.  On an
        exception the bytes not written stay buffered."""
        n = self._n
        if not n:
            return
        try:
            _write_all(self._write, self._mv[:n])
        except BaseException as e:
            done = e.n  # type: ignore[attr-defined]
            if done:
                self._buf[:n - done] = self._mv[done:n]
                self._n = n - done
            raise
        self._n = 0

    def write(self, data: Any) -> int:
        """Go: Write.  Buffer data (bytes-like), writing the buffer out when
        it fills; returns len(data) in bytes.  When the buffer is empty and
        data does not fit, data goes to the writer directly, uncopied.  On an
        exception, ``err.n`` is the count accepted (written or buffered)."""
        if isinstance(data, str):
            raise TypeError("gort.bufio.Writer.write: data must be bytes-like, not str "
                            "(use write_string)")
        n, size = self._n, self._size
        k = len(data) if data.__class__ is bytes or data.__class__ is bytearray else -1
        if 0 <= k <= size - n:
            self._buf[n:n + k] = data  # the common case: it fits
            self._n = n + k
            return k
        with memoryview(data) as pv:
            p = pv.cast("B") if pv.format != "B" or pv.ndim != 1 else pv
            total = len(p)
            nn = 0
            while total - nn > size - self._n:
                if self._n == 0:
                    # Go: large write, empty buffer -- write directly from
                    # data to avoid the copy.
                    try:
                        _write_all(self._write, p[nn:])
                    except BaseException as e:
                        e.n += nn  # type: ignore[attr-defined]
                        raise
                    return total
                k = size - self._n
                self._buf[self._n:size] = p[nn:nn + k]
                self._n = size
                nn += k
                try:
                    self.flush()
                except BaseException as e:
                    e.n = nn  # type: ignore[attr-defined]  # accepted: all of it is buffered
                    raise
            k = total - nn
            self._buf[self._n:self._n + k] = p[nn:]
            self._n += k
        return total

    def write_string(self, s: str, encoding: str = "utf-8", errors: str = "strict") -> int:
        """Go: WriteString.  Write s encoded; returns the count in bytes."""
        if not isinstance(s, str):
            raise TypeError("gort.bufio.Writer.write_string: s must be str, "
                            f"not {type(s).__name__}")
        return self.write(s.encode(encoding, errors))

    def write_byte(self, c: int) -> None:
        """Go: WriteByte.  c is an int 0-255."""
        if self._n == self._size:
            self.flush()
        self._buf[self._n] = c
        self._n += 1

    def read_from(self, r: Any, limit: int = -1) -> int:
        """Go: ReaderFrom.  Flush, then copy r (at most ``limit`` bytes if
        limit >= 0) straight to the writer underneath; returns the count.
        gort.io.copy calls it."""
        from .io import copy, copy_n
        self.flush()
        if limit < 0:
            return copy(self._wr, r)
        return copy_n(self._wr, r, limit)

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.flush()
