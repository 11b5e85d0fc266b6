"""Reading source files: bytes in, decoded text out, CPython's verdict on it; never a crash on odd input."""

from __future__ import annotations

import ast
import codecs
import hashlib
import io
import os
import re
import stat
import tokenize
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

_LINE_END = re.compile(r"\r\n|\r|\n")


class UndecodableSource(Exception):
    """The bytes cannot be decoded as Python source; the message says why, ``offset`` where."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class SourceText:
    """A module's text, decoded per PEP 263 (coding line or BOM, else UTF-8)."""

    path: str
    text: str
    encoding: str

    @cached_property
    def lines(self) -> list[str]:
        """Physical lines without their line endings (CRLF, CR and LF alike).

        Not ``str.splitlines``: it also splits at form feeds and other separators
        that Python's tokenizer keeps inside a line, which would shift line numbers.
        """
        return _LINE_END.split(self.text.removesuffix("\n").removesuffix("\r")) if self.text else []


_PYTHON_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def python_lines(text: str) -> list[str]:
    """The lines as Python counts them, ends kept: only ``\\r``, ``\\n`` and ``\\r\\n`` end one
    (``str.splitlines`` also cuts at form feeds and U+2028, which would shift every line number after them)."""
    return _PYTHON_LINE.findall(text) or [""]


def decode_source(data: bytes, path: str) -> SourceText:
    """Decode ``data`` the way the interpreter would, or raise UndecodableSource."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise UndecodableSource(str(error.msg if hasattr(error, "msg") else error)) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        shown = "utf-8" if encoding in ("utf-8", "utf-8-sig") else encoding
        raise UndecodableSource(
            f"cannot decode byte {error.object[error.start]:#04x} at offset {error.start} as {shown}; "
            "add a PEP 263 coding line (e.g. '# -*- coding: latin-1 -*-') or save the file as UTF-8",
            error.start,
        ) from None
    except LookupError:
        raise UndecodableSource(f"unknown encoding {encoding!r} in the coding line") from None
    except Exception as error:  # noqa: BLE001 - codecs such as 'undefined' and 'punycode' raise UnicodeError and others
        raise UndecodableSource(f"the declared encoding {encoding!r} cannot decode it ({type(error).__name__})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return SourceText(path=path, text=text, encoding=codecs.lookup(encoding).name)


class TruncatedRead(bytes):
    """The head of a file too big to read whole; ``full_size`` is its size on disk."""

    full_size: int


def read_file(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file; raises OSError with a readable reason otherwise. Past
    ``limit`` bytes only the head is read (a TruncatedRead): a sparse 4 GiB file must not
    be loaded to learn that it is too big to check."""
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(21, "is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise OSError(0, "not a regular file (a FIFO, socket or device); skipped")
    with open(path, "rb") as handle:
        if limit is None or info.st_size <= limit:
            return handle.read()
        head = TruncatedRead(handle.read(limit + 1))
        head.full_size = max(info.st_size, len(head))
        return head


def size_on_disk(data: bytes) -> int:
    """How big the file ``data`` was read from is (its head only may have been read)."""
    return data.full_size if isinstance(data, TruncatedRead) else len(data)


class PythonRejects(Exception):
    """CPython's own parser rejects the file; libcst is not asked to parse it. ``python2``: it
    was refused for a construct only Python 2 has (no Python 3 runs the file)."""

    def __init__(self, line: int, column: int, message: str, python2: bool = False) -> None:
        super().__init__(message)
        self.line, self.column, self.message, self.python2 = line, column, message, python2


# what CPython 3 says of the print and exec statements, which only Python 2 has (``except E, e:``
# and ``0777`` are left out: ``except A, B:`` and ``09`` are also Python 3 mistakes)
_PYTHON2_ONLY = (
    "Missing parentheses in call to 'print'",
    "Missing parentheses in call to 'exec'",
)


def python_verdict(source: SourceText) -> ast.Module:
    """CPython's syntax tree of the file; raise PythonRejects if its parser refuses it.

    libcst's native parser overflows its stack (a segfault, killing the run)
    or turns super-linear on inputs CPython refuses anyway: thousands of nested
    brackets or operators. Asking ``ast.parse`` first costs ~10% of the libcst
    parse and bounds what libcst sees to what Python can run.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source.text, filename=source.path)
    except SyntaxError as error:
        python2 = any(error.msg.startswith(text) for text in _PYTHON2_ONLY)
        raise PythonRejects(error.lineno or 1, error.offset or 1, f"syntax error: {error.msg}", python2) from None
    except RecursionError:
        raise PythonRejects(1, 1, "too deeply nested for Python's own parser (RecursionError)") from None
    except (ValueError, MemoryError) as error:
        raise PythonRejects(1, 1, f"syntax error: {error}") from None


def digest(data: bytes) -> str:
    """The content key of a file (of its head and size, when only its head was read)."""
    key = hashlib.blake2b(data, digest_size=16).hexdigest()
    full_size = getattr(data, "full_size", None)
    return f"{key}:{full_size}" if full_size is not None else key
