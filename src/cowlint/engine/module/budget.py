"""A time budget for one module's analysis.

Every path of the analysis is meant to be close to linear in the module's size,
and the fuzz campaigns check it; the budget is the guarantee for a path nobody
found yet. The analysis asks :func:`spend` where it loops (each expression the
resolver evaluates, each pair of events the flow orders); past the deadline it
stops with :class:`OverBudget`, and the module is reported as not checked
(COW901) instead of stalling the run. The budget covers the analysis, not the
parse, whose memory is bounded beforehand (see ``check.parse_cost``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager


class OverBudget(Exception):
    """The analysis of the current module ran past its deadline."""


# the deadline of the analysis running in this process (one at a time: linked modules share it)
_deadline = [math.inf]


@contextmanager
def limited(seconds: float) -> Iterator[None]:
    """Within this block, :func:`spend` raises once ``seconds`` have passed; nested blocks keep
    the earlier deadline."""
    previous = _deadline[0]
    _deadline[0] = min(previous, time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline[0] = previous


def spend() -> None:
    """Raise :class:`OverBudget` when the running analysis is past its deadline."""
    if time.monotonic() > _deadline[0]:
        raise OverBudget
