"""COW102 large-object-shipped-to-pool."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from cowlint.config import format_size
from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.shipping import Shipped
from cowlint.engine.module.values import Data
from cowlint.rules.base import Report, Rule
from cowlint.rules.payload.common import SHORT_FREQUENCY, carrier_text, large_shipped, payload_detail

FIX = "inherit it as a module global under a pinned fork context, pass it once per worker through initializer/initargs, or use multiprocessing.shared_memory or np.memmap"
FIX_MEMMAP = "pass the file path instead and open the memmap inside the worker (np.load(path, mmap_mode='r')), so the pages are shared by the page cache"
FIX_START = "load or attach it inside the worker (an initializer that opens a file, multiprocessing.shared_memory, np.memmap), or pin a fork context where the platforms allow"


class LargeObjectShippedToPool(Rule):
    """
    ## What it does
    Finds large objects pickled into process tasks: an array, frame, tensor,
    loaded model or big container (estimated at or over `large-threshold`, or
    bulk data of unknown size such as the result of `np.load`, `pd.read_csv`,
    `pickle.load` or `f.read()`) that reaches a dispatch

    - as an argument of `apply`/`apply_async`/`submit`;
    - repeated into every task item: `[(big, i) for i in ids]`,
      `zip(repeat(big), keys)`, `itertools.repeat(big)`, `[big] * n`;
    - inside the callable: `functools.partial(f, big)`, a lambda or nested
      function that closes over it;
    - through `initargs` or `Process(args=...)` when the start method is not
      pinned to fork.

    A list, set or dict that starts empty and is filled by a loop before the
    dispatch (`rows.append(...)` over the lines of a file or over `range(N)`,
    `rows.extend(handle.readlines())`) is as big as the loop makes it.

    Passing a big iterable to `map` is not reported: each item travels once.
    A memory-mapped array (`np.load(path, mmap_mode="r")`, `np.memmap`) is
    reported too: pickling it copies all of its data; pass the path instead.

    ## Why is this bad?
    Pool and executor calls pickle their callable and arguments, send the
    bytes through a pipe and rebuild the object in the worker. A 760 MiB array
    repeated into 100 `imap` tasks is serialised 100 times and each worker holds
    its own rebuilt copy, where a fork-inherited global would have been shared
    page for page at no cost.

    The message gives the size the object takes in memory, which each worker
    rebuilds; for arrays, bytes and text it is also what one pickle takes
    ("in memory and pickled"), while a container of Python objects pickles to
    a size of its own, usually smaller. The note says how many times it is
    pickled: once per chunk for `Pool.map` and `starmap` (one pickle shares
    what repeats inside it, and `map` cuts its items into about four chunks
    per worker unless `chunksize` says), once per item for `imap` and
    `executor.map`, once per batch for joblib, with every call of `submit` or
    `apply_async`, once per worker for `initargs`; with the count and the
    total where the code gives the lengths (`range(100)`, `processes=4`).

    ## Known problems
    Sizes are estimated from literal shapes and lengths (`np.zeros((N, 64))`
    with `N` a literal or module constant). Data whose size cannot be known
    statically (loaded files, parameters annotated as `np.ndarray` or
    `pd.DataFrame`) is reported as bulk data of unknown size; parameters
    without annotations are not followed.

    ## Example
    ```python
    from concurrent.futures import ProcessPoolExecutor
    from itertools import repeat

    import pandas as pd


    def lookup(table, key):
        return table.loc[key].sum()


    def main(keys):
        table = pd.read_parquet("prices.parquet")
        with ProcessPoolExecutor() as executor:
            return list(executor.map(lookup, repeat(table), keys))
    ```

    ## Use instead
    ```python
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import pandas as pd

    _table = None


    def _load(path):
        global _table
        _table = pd.read_parquet(path)


    def lookup(key):
        return _table.loc[key].sum()


    def main(keys):
        with ProcessPoolExecutor(initializer=_load, initargs=("prices.parquet",)) as executor:
            return list(executor.map(lookup, keys))
    ```

    ## Options
    - `large-threshold` (default `1MiB`): objects estimated below it are not
      reported. Set it in `[tool.cowlint]` or with `--large-threshold`.

    ## Platform notes
    Task arguments are pickled under every start method. `initargs` and
    `Process(args=...)` are pickled only under spawn (default on macOS and
    Windows) and forkserver (default on Linux since Python 3.14); under a
    pinned fork context (`multiprocessing.get_context("fork")`) they are
    inherited and not reported.

    ## Libraries
    `multiprocessing` and `concurrent.futures` (and `torch.multiprocessing`,
    `billiard`, `multiprocess`); joblib's `Parallel`, except numpy arrays,
    which joblib memory-maps instead of pickling them (over `max_nbytes`, 1 MB
    by default; `max_nbytes=None` turns that off and is reported); pathos's
    `ProcessPool`; mpire's `WorkerPool`, whose `shared_objects` travel once
    per worker where the workers are not forked; tqdm's `process_map` and
    p_tqdm's `p_map`; Python 3.14's `InterpreterPoolExecutor`, whose worker
    interpreters share no objects with the caller: arguments are pickled per
    task. Thread pools are quiet. See docs/libraries.md.

    A CPU torch tensor given to `multiprocessing` or `concurrent.futures`
    (`torch.multiprocessing` is the same pool) is not reported: `import
    torch` registers a reducer with their pickler that moves the tensor's
    storage to shared memory once and sends a handle, so each task carries a
    few hundred bytes and the workers read the parent's pages (measured with
    torch 2.13, fork and spawn: a 64 MiB tensor in each of 8 tasks pickled to
    0.0 MiB per task). joblib, pathos and the other libraries pickle it whole
    and are reported.

    ## Verify
    `cowlint --verify script.py` runs the script, counts the bytes pickled
    per task at this call site and measures what each worker copied; the
    finding is confirmed when a task carries at least `--min-cost`.

    ## Fix safety
    No automatic fix.

    ## References
    - https://docs.python.org/3/library/multiprocessing.shared_memory.html
    - https://docs.python.org/3/library/multiprocessing.html#multiprocessing.pool.Pool
    """

    code = "COW102"
    name = "large-object-shipped-to-pool"
    summary = "A large object is pickled into process tasks instead of being shared."

    def check(self, module: ModuleContext) -> Iterable[Report]:
        # one report per payload expression, naming every large object it carries
        grouped: dict[int, list[tuple[Shipped, int | None, str, str, str]]] = {}
        # a Process subclass made around ``self`` (``Reporter(self).start()``) is large because
        # ``self`` is: COW101 reports the constructor's ``self`` argument, naming the class whose
        # data it ships
        with_self = {id(shipped.site) for shipped in module.shipped if shipped.kind == "self"}
        for shipped in module.shipped:
            if shipped.payload.role == "instance" and id(shipped.site) in with_self:
                continue
            large = large_shipped(module, shipped)
            if large is not None:
                grouped.setdefault(id(shipped.payload.expr), []).append((shipped, *large))
        for items in grouped.values():
            yield self._report(module, items)

    @staticmethod
    def _report(module: ModuleContext, items: list[tuple[Shipped, int | None, str, str, str]]) -> Report:
        first = items[0][0]
        payload = first.payload
        carrier = carrier_text(module.code(payload.expr), first, isinstance(payload.expr, cst.Name))
        how = SHORT_FREQUENCY[payload.frequency]
        sizes = [size for _, size, _, _, _ in items]
        whats = [f"{shipped.leaf} holds {what}" for shipped, _, what, _, _ in items if what]
        if len(items) == 1:
            subject = f"{first.leaf} ({items[0][3]})"
            verb, travel = "is", "travels"
        else:
            names = [shipped.leaf for shipped, *_ in items]
            total = f"~{format_size(sum(s for s in sizes if s is not None))} in memory" if all(s is not None for s in sizes) else "size unknown"
            subject = f"{', '.join(names[:-1])} and {names[-1]} ({total})"
            verb, travel = "are", "travel"
        if payload.role == "items":
            message = f"{subject} {verb} repeated into every task item of {carrier}"
        elif first.leaf == carrier and len(items) == 1:
            message = f"{subject} {verb} pickled {how}"
        else:
            message = f"{subject} {travel} inside {carrier}, pickled {how}"
        on_start = first.site.ships_at_start(payload)
        memmap = any(isinstance(shipped.value, Data) and shipped.value.memmap for shipped, *_ in items)
        if memmap:
            whats.append("pickling a memmap copies all of its data")
        return Report(
            node=payload.expr,
            message=message,
            detail=payload_detail(module, first, module.start_of(first.site.start), "; ".join(whats), _pickled(items)),
            fix=FIX_MEMMAP if memmap else FIX_START if on_start else FIX,
            confidence="medium" if any(doubt for *_, doubt in items) else "high",
            unsure=next((doubt for *_, doubt in items if doubt), ""),
            size_bytes=sum(s for s in sizes if s is not None) if all(s is not None for s in sizes) else None,
        )


def _pickled(items: list[tuple[Shipped, int | None, str, str, str]]) -> int | None:
    """The bytes one pickle of the payload's large objects takes, when each pickles to about
    its own size (arrays, bytes, text): their sum, else None."""
    total = 0
    for shipped, size, *_ in items:
        if size is None or not isinstance(shipped.value, Data) or not shipped.value.pickles_whole:
            return None
        total += size
    return total
