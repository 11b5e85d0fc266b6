"""Which of the parent's objects a worker copied: the probe's object map against the worker's pagemap.

At a fork the probe walks the parent's module-level names (the script's and its own modules') and
writes the pages each one's objects occupy. ``/proc/PID/pagemap`` holds one 64-bit entry per page
of a process, readable by its owner without privileges: bit 63 says the page is resident, bit 56
that it is mapped by this process alone. Right after a fork every page of the parent is mapped by
both; a page the worker wrote (a reference count, a GC header) is a new page of its own. So a
worker's copy of an object is the number of the object's pages that are resident and its own.
"""

from __future__ import annotations

import array
import os
from dataclasses import dataclass
from typing import Any

from cowlint.verify.probe import OWN_PAGE, own_pages, pagemap_entries


@dataclass
class ObjectMap:
    """The parent's big objects at the first fork of one call site."""

    parent: int
    site: str | None
    roots: list[dict[str, Any]]
    pages: array.array[int]
    page_size: int
    walked: int = 0
    truncated: bool = False
    seconds: float = 0.0

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ObjectMap | None:
        """The map an ``objects`` event names (its file is complete when the event is written)."""
        if event.get("error") or not event.get("file"):
            return None
        pages: array.array[int] = array.array("Q")
        try:
            with open(str(event["file"]), "rb") as source:
                pages.frombytes(source.read())
        except (OSError, ValueError):
            return None
        roots = [dict(root) for root in event.get("roots") or [] if isinstance(root, dict)]
        return cls(
            parent=int(event.get("pid") or 0),
            site=event.get("site"),
            roots=roots,
            pages=pages,
            page_size=int(event.get("page_size") or 4096),
            walked=int(event.get("walked") or 0),
            truncated=bool(event.get("truncated")),
            seconds=float(event.get("seconds") or 0.0),
        )

    def copied(self, pid: int) -> list[int] | None:
        """Bytes of each root that ``pid`` holds as its own pages now (None: its pagemap is unreadable)."""
        return own_pages(pid, self.pages, self.roots, self.page_size)


def released(before: list[list[int]], now: list[list[int]]) -> list[tuple[int, int]]:
    """The address ranges mapped ``before`` (a parent at a fork) that are not mapped ``now``."""
    gone: list[tuple[int, int]] = []
    index = 0
    for start, end in before:
        cursor = start
        while index < len(now) and now[index][1] <= cursor:
            index += 1
        probe = index
        while cursor < end:
            if probe >= len(now) or now[probe][0] >= end:
                gone.append((cursor, end))
                break
            low, high = now[probe]
            if low > cursor:
                gone.append((cursor, low))
            cursor = max(cursor, high)
            probe += 1
    return gone


def own_bytes_in(pid: int, ranges: list[tuple[int, int]], page_size: int) -> int | None:
    """Bytes of ``ranges`` that ``pid`` holds as its own (``OWN_PAGE``)."""
    try:
        fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY)
    except OSError:
        return None
    own = 0
    try:
        for start, end in ranges:
            first, last = start // page_size, (end - 1) // page_size + 1
            while first < last:
                count = min(last - first, 1 << 17)  # 1 MiB of entries at a time
                own += sum(1 for entry in pagemap_entries(fd, first, count) if entry & OWN_PAGE == OWN_PAGE)
                first += count
    except OSError:
        return None
    finally:
        os.close(fd)
    return own * page_size
