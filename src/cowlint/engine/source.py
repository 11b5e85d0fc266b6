"""Reading source files: bytes in, decoded text out, never a crash on odd input."""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from dataclasses import dataclass
from functools import cached_property

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
