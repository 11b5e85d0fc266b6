"""The probe: runs inside the user's interpreter, before the user's script.

Started by path (``python probe.py SCRIPT ARGS...`` or ``python probe.py -m
MODULE ARGS...``) so that nothing of cowlint but this file enters the user's
process. It wraps the dispatch APIs and ``ForkingPickler`` to count what is
pickled per call site (the callable, the arguments, the results), records
every fork with ``os.register_at_fork`` together with the child's memory right
after it, and reports the start method each dispatch used. Events are JSON
lines appended to the file named by ``COWLINT_VERIFY_EVENTS`` (one ``write``
each, so the processes of the run never interleave); nothing is written to the
script's standard output or error.

Variants for the counterfactual runs, chosen by the harness:
``COWLINT_VERIFY_START=spawn|forkserver`` changes the *default* start method
(an explicit ``set_start_method`` or ``get_context`` in the script still
wins), ``COWLINT_VERIFY_FREEZE=1`` calls ``gc.freeze()`` right before every
fork.

Standard library only; this module must import cheaply and change nothing
until :func:`install` runs.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import sys
import threading
import time
from types import FrameType
from typing import Any

EVENTS_ENV = "COWLINT_VERIFY_EVENTS"
START_ENV = "COWLINT_VERIFY_START"
FREEZE_ENV = "COWLINT_VERIFY_FREEZE"
OBJECTS_ENV = "COWLINT_VERIFY_OBJECTS"  # "0": no object map at the forks
TRACE_ENV = "COWLINT_VERIFY_TRACE"  # "1": trace allocations until the first fork, to tell where each mapped object was built
_TRACE_FRAMES = 4  # enough to reach the user's frame from a library's allocation; 8 cost 3x the time of 4

_FLUSH_SECONDS = 0.2
_FLUSH_BYTES = 64 << 10  # a message this big is reported at once (a run killed later still shows it)


def read_status(pid: int | str = "self") -> dict[str, int] | None:
    """``VmRSS`` and ``VmHWM`` from ``/proc/PID/status``, in bytes (no page-table walk: safe in an at-fork hook).

    A child reading its own ``smaps_rollup`` from its at-fork hook was seen to block for
    hundreds of milliseconds while the parent forked its sibling.
    """
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for raw in status.read().splitlines():
                if raw.startswith((b"VmHWM:", b"VmRSS:")):
                    values[raw[:5].decode()] = int(raw.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return values if "VmRSS" in values else None


class _Sink:
    """Appends one JSON event per ``write`` to the events file."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def emit(self, event: str, **fields: Any) -> None:
        record = {"event": event, "pid": os.getpid(), "t": time.time(), **fields}
        try:
            os.write(self.fd, (json.dumps(record, default=repr) + "\n").encode())
        except OSError:
            pass


class _Probe:
    """The probe's state in one process (a forked child inherits a copy)."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.lock = threading.Lock()
        self.skip_dirs: tuple[str, ...] = ()  # multiprocessing's machinery (and the probe)
        self.library_dirs: tuple[str, ...] = ()  # the rest of the standard library
        self.sites: dict[tuple[str, int, str], str] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.dirty: set[str] = set()
        self.last_flush = 0.0
        self.jobs: dict[int, str] = {}  # Pool job id -> site
        self.pool_sites: dict[int, str] = {}  # id of a Pool's task queue -> the site that last dispatched to it
        self.work_items: dict[tuple[int, int], str] = {}  # (executor id, work id) -> site
        self.work_fn: dict[tuple[int, int], str] = {}  # (work id, id(fn)) -> site
        self.fn_size: dict[tuple[str, int, int], int] = {}  # (site, id(callable) or of its instance, id(its function)) -> pickled size
        self.pids_sent: dict[str, frozenset[int]] = {}
        self.fork_site: str | None = None
        self.starting = threading.local()  # the site of the Process.start running in this thread
        self.creations: set[tuple[str, tuple[str, int]]] = set()  # (site, where its Process was built) already told
        self.map_dir = ""  # where object maps go (the events file's folder; none: no attribution)
        self.maps: dict[str | None, dict[str, Any]] = {}  # fork site -> the object map taken at its first fork
        self.own_map: dict[str, Any] | None = None  # in a forked child: the map of the fork that made it
        self.own_pages: Any = None  # its pages, loaded at the first reading
        self.own_read_at = 0.0
        self.own_cost = 0.0  # seconds the last reading took
        self.child_pages: dict[str, Any] = {}  # in a parent: the pages of each map it read a child's copies of
        self.child_cost = 0.0  # the longest such reading, in seconds
        self.unpickled: Any = None  # in a forked worker: the instance of the first bound method it unpickled (False once told)
        self.mappings_key: int | None = None  # of the private mappings last told, and how many times they were
        self.mappings_told = 0

    # -- call sites -------------------------------------------------------
    def user_frame(self, frame: FrameType | None) -> tuple[str, int, str]:
        """(path, line, api) of the user's call at or above ``frame``; api names the library call it made."""
        api = fallback_api = ""
        fallback: FrameType | None = None
        # The user's frame is the first outside the standard library and installed packages (a DataLoader's
        # worker start is reported at the user's loop, not inside torch); failing that, the first outside
        # multiprocessing's own machinery.
        while frame is not None:
            filename = frame.f_code.co_filename
            machinery = filename.startswith(self.skip_dirs) or filename.startswith("<frozen")
            if fallback is None and not machinery:
                fallback, fallback_api = frame, api
            if not machinery and not filename.startswith(self.library_dirs) and _SITE_PACKAGES not in filename and _DIST_PACKAGES not in filename:
                break
            if filename != _HERE:
                api = _frame_api(frame)
            frame = frame.f_back
        if frame is None:
            frame, api = fallback, fallback_api
        if frame is None:
            return "<unknown>", 0, api
        return frame.f_code.co_filename, frame.f_lineno or 0, api

    def receiver_bound(self, frame: FrameType | None) -> tuple[str, int] | None:
        """Where the user's code bound the library object whose method started a worker: for
        ``loader = DataLoader(...)`` and, lines later, ``for batch in loader``, the line of
        ``loader = ...``, which is where a finding on it stands. None when the object has no name
        in the user's frame (then the finding is on the call's own statement)."""
        called = None
        while frame is not None:
            filename = frame.f_code.co_filename
            if not (filename.startswith(self.skip_dirs) or filename.startswith(self.library_dirs) or filename.startswith("<frozen") or _SITE_PACKAGES in filename or _DIST_PACKAGES in filename):
                break
            called, frame = frame, frame.f_back
        receiver = called.f_locals.get("self") if called is not None else None
        if frame is None or receiver is None:
            return None
        names = {name for name, value in frame.f_locals.items() if value is receiver}
        if not names:
            return None
        import ast
        import tokenize

        with tokenize.open(frame.f_code.co_filename) as source:
            tree = ast.parse(source.read())
        first, now = frame.f_code.co_firstlineno, frame.f_lineno or 0
        lines = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.With, ast.AsyncWith)) and first <= node.lineno <= now:
                if isinstance(node, ast.Assign):
                    targets = list(node.targets)
                elif isinstance(node, ast.AnnAssign):
                    targets = [node.target]
                else:
                    targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
                if any(isinstance(target, ast.Name) and target.id in names for target in targets):
                    lines.append(node.lineno)
        return (frame.f_code.co_filename, max(lines)) if lines else None

    def site(self, api_default: str, start_method: str | None = None, callable_obj: Any = None, starts_worker: bool = False, created: tuple[str, int] | None = None) -> str:
        """The index of the user's call site on the current stack (made on first sight).

        ``created``: where the object making the call was built (a ``Process(...)`` started later), to tie findings there.
        """
        path, line, api = self.user_frame(sys._getframe(1))
        api = api or api_default
        if starts_worker and "." in api and not api.endswith(".start"):
            api += " (worker start)"  # an executor's lazy worker start is not one of its tasks
        key = (path, line, api)
        index = self.sites.get(key)
        if index is None:
            index = self.sites[key] = f"{os.getpid()}:{len(self.sites)}"
            fields: dict[str, Any] = {"site": index, "path": path, "line": line, "api": api, "start_method": start_method}
            fields.update(_callable_info(callable_obj))
            self.sink.emit("site", **fields)
            if starts_worker and created in (None, (path, line)) and api.endswith("(worker start)"):
                try:
                    created = self.receiver_bound(sys._getframe(1))
                except Exception:
                    created = None
        if created is not None and created != (path, line) and (index, created) not in self.creations:
            self.creations.add((index, created))
            self.sink.emit("created", site=index, path=created[0], line=created[1])
        return index

    # -- counters -----------------------------------------------------------
    def add(self, site: str, **amounts: int) -> None:
        with self.lock:
            counts = self.counts.setdefault(site, {"tasks": 0, "callable": 0, "args": 0, "results": 0})
            for key, value in amounts.items():
                counts[key] += value
            self.dirty.add(site)
            now = time.monotonic()
            if now - self.last_flush >= _FLUSH_SECONDS or sum(amounts.values()) >= _FLUSH_BYTES:
                self._flush_locked(now)

    def flush(self) -> None:
        with self.lock:
            self._flush_locked(time.monotonic())

    def _flush_locked(self, now: float) -> None:
        for site in sorted(self.dirty):
            self.sink.emit("pickled", site=site, **self.counts[site])
        self.dirty.clear()
        self.last_flush = now

    def workers(self, site: str, pids: list[int]) -> None:
        """Record the worker processes serving a dispatch site (sent when the set changes)."""
        known = frozenset(pid for pid in pids if pid)
        if known and self.pids_sent.get(site) != known:
            self.pids_sent[site] = known
            self.sink.emit("workers", site=site, pids=sorted(known))

    def callable_size(self, site: str, fn: Any) -> int:
        """How many of a task's pickled bytes its callable takes: counted once per site and
        callable, by pickling it into a writer that keeps nothing (a 2 GiB ``self`` costs the
        parent no second copy). A bound method is the same callable while its instance and
        function are: ``self.method`` makes a new one for each task."""
        owner = getattr(fn, "__self__", None)
        key = (site, id(owner), id(getattr(fn, "__func__", None))) if owner is not None and not isinstance(owner, type(os)) else (site, id(fn), 0)
        size = self.fn_size.get(key)
        if size is None:
            if not any(known == site for known, _, _ in self.fn_size):
                self.sink.emit("callable", site=site, **_callable_info(fn))
            size = _pickled_size(fn)
            self.fn_size[key] = size
        return size

    def read_own(self, final: bool = False) -> None:
        """In a forked worker: which of the parent's mapped objects it has copied so far (after a
        task, at most every 50 ms or 5 % of its time, and when it exits), told as an ``objects_seen`` event. The
        harness samples from outside too, but a worker that lives a tenth of a second is gone
        before a sample sees its copies, and a pool's terminate ends it while a sample reads."""
        if self.unpickled is not None and self.unpickled is not False:
            self._read_unpickled()
        mapped = self.own_map
        now = time.monotonic()
        if not mapped:
            return
        if final and self.own_cost > 0.05:
            return  # a map read slowly is not read again at exit: a worker's exit must stay quick
        if not final and now < self.own_read_at:
            # put off, not deferred to a timer thread: a thread in a worker that forks again can
            # hold a lock (the import lock) at that fork and leave the grandchild deadlocked
            return
        if self.own_pages is None:
            self.own_pages = _load_pages(mapped["file"])
        counts = own_pages("self", self.own_pages, mapped["roots"], int(mapped["page_size"]))
        # the next reading no sooner than 50 ms, nor than 20 times this one took (a map of a
        # million pages takes ~0.3 s to read: the worker spends at most 5 % of its time on it)
        self.own_cost = time.monotonic() - now
        self.own_read_at = now + max(0.05, 20 * self.own_cost)
        if counts is not None:
            self.sink.emit("objects_seen", counts=counts, final=final)

    def read_child(self, pid: int, site: str | None) -> None:
        """In a parent about to end a child by a signal (``Process.terminate`` or ``kill``, which a
        pool's terminate, the end of ``with Pool(...)``, calls for every worker): which of the
        objects mapped at the child's fork it holds as its own, told as the child's last
        ``objects_seen``. The signal ends it before any exit of its own runs, and a Python handler
        of SIGTERM in the child was unsafe: a signal that came just before the worker blocked on
        its queue's lock was never handled, the worker never ended and its pool's join hung. Read
        from the parent, nothing runs in the child; a map read slowly is read for one child only,
        so that ending a pool stays quick."""
        mapped = self.maps.get(site) if site is not None else None
        if not mapped or self.child_cost > 0.05:
            return
        now = time.monotonic()
        pages = self.child_pages.get(mapped["file"])
        if pages is None:
            pages = self.child_pages[mapped["file"]] = _load_pages(mapped["file"])
        counts = own_pages(pid, pages, mapped["roots"], int(mapped["page_size"]))
        self.child_cost = max(self.child_cost, time.monotonic() - now)
        if counts is not None:
            self.sink.emit("objects_seen", pid=pid, counts=counts, final=True)

    def _read_unpickled(self) -> None:
        """The instance behind a bound method this worker unpickled with its first task
        (``pool.map(self.method, ...)``): its objects are new memory of the worker, all its own.
        Told once (a ``objects_unpickled`` event): every task unpickles another copy like it."""
        import array
        import types

        owner, self.unpickled = self.unpickled, False
        stop = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type, types.FrameType, types.CodeType)
        seen = _Seen()
        seen.add(id(owner))
        for module in list(sys.modules.values()):
            # what the instance refers to that the worker already had (a module's table it pickles by
            # name) is not unpickled, and walking it would write its reference counts: a copy
            for value in list(getattr(module, "__dict__", {}).values()):
                seen.add(id(value))
        count, size, pages = _walk(owner, seen, stop, _MAX_OBJECTS)
        ordered = array.array("Q", sorted(pages))
        root = {"first": 0, "pages": len(ordered)}
        copied = own_pages("self", ordered, [root], _PAGE)
        self.sink.emit("objects_unpickled", type=type(owner).__name__, objects=count, bytes=size, page_bytes=len(ordered) * _PAGE, copied=(copied or [0])[0])

    def tell_mappings(self) -> None:
        """Before a fork: this process's private mappings (what the child will share with it), as
        a ``mappings`` event when they changed since the last fork. The harness compares them with
        what this process still maps while the child runs: a page the parent unmapped (a freed
        buffer, an emptied arena) is the child's alone afterwards without the child copying it."""
        ranges = private_mappings("self")
        if ranges is None:
            return
        key = hash(tuple(low << 64 | high for low, high in ranges))
        if key != self.mappings_key:
            self.mappings_key = key
            self.mappings_told += 1
            self.sink.emit("mappings", number=self.mappings_told, ranges=ranges)

    def after_fork_in_child(self) -> None:
        self.own_map = self.maps.get(self.fork_site) or None
        self.unpickled = None
        self.maps = {}
        self.child_pages = {}
        self.child_cost = 0.0
        self.own_pages = None
        self.own_read_at = 0.0
        self.own_cost = 0.0
        self.lock = threading.Lock()
        self.counts = {}
        self.dirty = set()
        self.sites = {}
        self.pids_sent = {}
        self.starting = threading.local()
        self.sink.emit("fork", ppid=os.getppid(), site=self.fork_site, status=read_status(), mappings=self.mappings_told)
        self.mappings_key = None
        self.mappings_told = 0


_HERE = os.path.abspath(__file__)
_SITE_PACKAGES = f"{os.sep}site-packages{os.sep}"
_DIST_PACKAGES = f"{os.sep}dist-packages{os.sep}"
_PROBE: _Probe | None = None


def _frame_api(frame: FrameType) -> str:
    """``Class.method`` of a library frame (``Pool`` for a constructor)."""
    name = frame.f_code.co_name
    owner = frame.f_locals.get("self")
    if owner is None or name.startswith("<"):
        return name
    cls = type(owner).__name__
    if name == "__init__":
        return cls
    return name if cls.endswith("Context") else f"{cls}.{name}"  # ctx.Pool(...) is "Pool"


def _callable_info(fn: Any) -> dict[str, Any]:
    """Where the worker callable's code lives, to tie findings inside it to the call site."""
    target = fn
    for _ in range(4):
        inner = getattr(target, "func", None) or getattr(target, "__func__", None)
        if inner is None:
            break
        target = inner
    code = getattr(target, "__code__", None)
    if code is None:
        return {}
    lines = [line for _, _, line in code.co_lines() if line] if hasattr(code, "co_lines") else []
    return {
        "callable": getattr(fn, "__qualname__", None) or getattr(target, "__qualname__", repr(type(fn).__name__)),
        "callable_path": code.co_filename,
        "callable_lines": [code.co_firstlineno, max(lines, default=code.co_firstlineno)],
    }


def _real_callable(fn: Any, args: Any) -> Any:
    """The user's function inside ``mapstar``/``_process_chunk`` wrappers."""
    import functools

    name = getattr(fn, "__name__", "")
    if name in ("mapstar", "starmapstar") and isinstance(args, tuple) and args and isinstance(args[0], tuple) and args[0]:
        return args[0][0]
    if isinstance(fn, functools.partial) and getattr(fn.func, "__name__", "") == "_process_chunk":
        return fn.keywords.get("fn") or (fn.args[0] if fn.args else fn)
    return fn


class _Counter:
    """A file that keeps nothing: it counts what a pickler writes to it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: Any) -> int:
        written = len(memoryview(data).cast("B"))
        self.size += written
        return written


def _pickled_size(obj: Any) -> int:
    """The size ``ForkingPickler.dumps(obj)`` would have, without holding the bytes."""
    from multiprocessing import reduction

    counter = _Counter()
    try:
        reduction.ForkingPickler(counter).dump(obj)
    except Exception:
        return 0
    return counter.size


def _count_dumps(obj: Any, size: int) -> None:
    probe = _PROBE
    if probe is None:
        return
    if type(obj) is tuple and len(obj) == 5 and type(obj[0]) is int:  # a Pool task: (job, i, func, args, kwds)
        site = probe.jobs.get(obj[0])
        if site is None:
            return
        fn = _real_callable(obj[2], obj[3])
        callable_bytes = min(size, probe.callable_size(site, fn))
        probe.add(site, tasks=1, callable=callable_bytes, args=size - callable_bytes)
    elif type(obj).__name__ == "_CallItem":  # a ProcessPoolExecutor work item
        fn = getattr(obj, "fn", None)
        site = probe.work_fn.get((getattr(obj, "work_id", -1), id(fn)))
        if site is None:
            return
        real = _real_callable(fn, getattr(obj, "args", ()))
        callable_bytes = min(size, probe.callable_size(site, real))
        probe.add(site, tasks=1, callable=callable_bytes, args=size - callable_bytes)


def _count_loads(obj: Any, size: int) -> None:
    probe = _PROBE
    if probe is None:
        return
    site = None
    if type(obj) is tuple and len(obj) == 3 and type(obj[0]) is int and type(obj[2]) is tuple:  # a Pool result
        site = probe.jobs.get(obj[0])
    elif type(obj).__name__ == "_ResultItem":
        owner = getattr(threading.current_thread(), "executor_reference", None)
        executor = owner() if owner is not None else None
        site = probe.work_items.get((id(executor), getattr(obj, "work_id", -1)))
    if site is not None:
        probe.add(site, results=size)
    elif probe.map_dir and probe.unpickled is None and os.getpid() != _ROOT_PID:
        fn = None
        if type(obj) is tuple and len(obj) == 5 and type(obj[0]) is int:  # a Pool task, in its worker
            fn = _real_callable(obj[2], obj[3])
        elif type(obj).__name__ == "_CallItem":
            fn = _real_callable(getattr(obj, "fn", None), getattr(obj, "args", ()))
        owner = getattr(fn, "__self__", None)
        if owner is not None and not isinstance(owner, type(os)) and not isinstance(owner, type):
            probe.unpickled = owner  # measured at the task's result, then let go


def _install_pickler(probe: _Probe) -> None:
    from multiprocessing import reduction

    pickler = reduction.ForkingPickler
    original_dumps = pickler.dumps  # bound classmethod
    original_loads = pickler.loads

    def dumps(cls: Any, obj: Any, protocol: Any = None) -> Any:
        data = original_dumps(obj, protocol)
        try:
            _count_dumps(obj, len(data))
            probe.read_own()  # in a worker, a result is a task's end
        except Exception:
            pass
        return data

    def loads(data: Any, *args: Any, **kwargs: Any) -> Any:
        obj = original_loads(data, *args, **kwargs)
        try:
            _count_loads(obj, len(data))
        except Exception:
            pass
        return obj

    pickler.dumps = classmethod(dumps)  # type: ignore[assignment,method-assign]
    pickler.loads = staticmethod(loads)

    original_dump = reduction.dump

    def dump(obj: Any, file: Any, protocol: Any = None) -> None:
        from multiprocessing.process import BaseProcess

        if not isinstance(obj, BaseProcess):
            original_dump(obj, file, protocol)
            return
        data = original_dumps(obj, protocol)
        file.write(data)
        try:
            site = getattr(obj, "_cowlint_site", None)
            if site is not None:
                callable_bytes = min(len(data), probe.callable_size(site, getattr(obj, "_target", None)))
                probe.add(site, tasks=1, callable=callable_bytes, args=len(data) - callable_bytes)
        except Exception:
            pass

    reduction.dump = dump


def _install_dispatch(probe: _Probe) -> None:
    import multiprocessing.pool as mp_pool
    from concurrent.futures import process as cf_process
    from multiprocessing import process as mp_process

    def pool_method(pool: Any) -> str | None:
        ctx = getattr(pool, "_ctx", None)
        try:
            return ctx.get_start_method() if ctx is not None else None
        except Exception:
            return None

    def wrap_result(cls: Any) -> None:
        original = cls.__init__

        def __init__(self: Any, pool: Any, *args: Any, **kwargs: Any) -> None:
            original(self, pool, *args, **kwargs)
            try:
                if isinstance(pool, mp_pool.ThreadPool):
                    return
                site = probe.site("Pool.apply_async", pool_method(pool))
                probe.jobs[self._job] = site
                probe.pool_sites[id(pool._inqueue)] = site  # a worker the pool replaces later serves it too
                probe.workers(site, [worker.pid for worker in getattr(pool, "_pool", [])])
            except Exception:
                pass

        cls.__init__ = __init__

    wrap_result(mp_pool.ApplyResult)
    wrap_result(mp_pool.IMapIterator)

    original_submit = cf_process.ProcessPoolExecutor.submit

    def submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        site = None
        try:  # registered before the original submit: the manager thread may pickle the item before it returns
            ctx = getattr(self, "_mp_context", None)
            site = probe.site("ProcessPoolExecutor.submit", ctx.get_start_method() if ctx is not None else None, _real_callable(fn, args))
            work_id = self._queue_count
            probe.work_items[(id(self), work_id)] = site
            probe.work_fn[(work_id, id(fn))] = site
        except Exception:
            pass
        future = original_submit(self, fn, *args, **kwargs)
        try:
            if site is not None:
                probe.workers(site, list(getattr(self, "_processes", None) or {}))
        except Exception:
            pass
        return future

    cf_process.ProcessPoolExecutor.submit = submit  # type: ignore[method-assign]

    original_init = mp_process.BaseProcess.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        try:  # a finding on Process(target=..., args=...) is made where the object is built, not where it starts
            frame: FrameType | None = sys._getframe(1)
            while frame is not None and frame.f_code.co_name == "__init__" and frame.f_locals.get("self") is self:
                frame = frame.f_back  # a subclass's __init__ calling super().__init__()
            self._cowlint_created = probe.user_frame(frame)[:2]
        except Exception:
            pass

    mp_process.BaseProcess.__init__ = __init__  # type: ignore[method-assign]

    original_start = mp_process.BaseProcess.start

    def start(self: Any) -> None:
        replacing = None
        try:
            if getattr(self, "_target", None) is getattr(mp_pool, "worker", None) and getattr(self, "_args", None):
                # a Pool restarting a worker (maxtasksperchild, a worker that died) from its own thread, with
                # no frame of the user's on the stack: it serves the site that last dispatched to that pool
                replacing = probe.pool_sites.get(id(self._args[0]))
            created = getattr(self, "_cowlint_created", None)
            self._cowlint_site = replacing or probe.site(f"{type(self).__name__}.start", None, getattr(self, "_target", None), starts_worker=True, created=created)
        except Exception:
            self._cowlint_site = None
        probe.starting.site = self._cowlint_site
        probe.starting.process = self
        try:
            original_start(self)
            self._cowlint_fork_site = probe.fork_site
        finally:
            probe.starting.site = None
            probe.starting.process = None
        try:
            if replacing is not None:
                probe.workers(replacing, [self.pid])
            method = getattr(getattr(self, "_popen", None), "method", None)
            probe.sink.emit("process", site=self._cowlint_site, child=self.pid, start_method=method, name=self.name)
        except Exception:
            pass

    mp_process.BaseProcess.start = start  # type: ignore[method-assign]

    def ending(original: Any) -> Any:
        def end(self: Any) -> None:
            try:
                if self.exitcode is None and self.pid is not None:
                    probe.read_child(self.pid, getattr(self, "_cowlint_fork_site", None))
            except Exception:
                pass
            original(self)

        return end

    mp_process.BaseProcess.terminate = ending(mp_process.BaseProcess.terminate)  # type: ignore[method-assign]
    mp_process.BaseProcess.kill = ending(mp_process.BaseProcess.kill)  # type: ignore[method-assign]

    original_bootstrap = mp_process.BaseProcess._bootstrap  # type: ignore[attr-defined]

    def _bootstrap(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original_bootstrap(self, *args, **kwargs)
        finally:
            probe.flush()  # what a child dispatched itself
            probe.sink.emit("exit", status=read_status())  # a short-lived worker's peak resident size

    mp_process.BaseProcess._bootstrap = _bootstrap  # type: ignore[attr-defined]


def _install_shared_memory(probe: _Probe) -> None:
    try:
        from multiprocessing import shared_memory
    except ImportError:  # pragma: no cover - platforms without _posixshmem
        return
    cls = shared_memory.SharedMemory
    original_init = cls.__init__
    original_unlink = cls.unlink

    def __init__(self: Any, name: Any = None, create: bool = False, size: int = 0, *args: Any, **kwargs: Any) -> None:
        original_init(self, name, create, size, *args, **kwargs)
        if create:
            probe.sink.emit("shm", name=self.name)

    def unlink(self: Any) -> None:
        original_unlink(self)
        probe.sink.emit("shm_unlink", name=self.name)

    cls.__init__ = __init__  # type: ignore[method-assign]
    cls.unlink = unlink  # type: ignore[method-assign]

    from multiprocessing import synchronize

    original_semlock = synchronize.SemLock.__init__

    def semlock_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_semlock(self, *args, **kwargs)
        name = getattr(getattr(self, "_semlock", None), "name", None)
        if name:  # a named semaphore (spawn/forkserver) lives in /dev/shm until the resource tracker unlinks it
            probe.sink.emit("semaphore", name=name)

    synchronize.SemLock.__init__ = semlock_init  # type: ignore[method-assign]


# -- what a fork shares: the parent's objects and their pages -----------------------------------
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_HAVE_GC = 1 << 14  # Py_TPFLAGS_HAVE_GC: a PyGC_Head of two pointers precedes the object
_GC_HEAD = 2 * 8
_MAX_OBJECTS = 20_000_000  # a walk stops here (and says so): ~20 s in the parent
# the struct layouts _spans reads (a list's item array, a dict's or a set's table) are those of
# CPython 3.8-3.13 on 64-bit builds with the GIL
_LAYOUT_KNOWN = sys.implementation.name == "cpython" and sys.maxsize > 1 << 32 and (3, 8) <= sys.version_info[:2] <= (3, 13) and getattr(sys, "_is_gil_enabled", lambda: True)()


class _Seen:
    """Object addresses already walked, as bits in one 8 KiB map per MiB of address space
    (a set of ten million ids would cost the parent more memory than the objects it names)."""

    def __init__(self) -> None:
        self.maps: dict[int, bytearray] = {}

    def add(self, address: int) -> bool:
        """False when ``address`` was seen before."""
        region = self.maps.get(address >> 20)
        if region is None:
            region = self.maps[address >> 20] = bytearray(1 << 13)
        bit = (address & 0xFFFFF) >> 4
        mask = 1 << (bit & 7)
        if region[bit >> 3] & mask:
            return False
        region[bit >> 3] |= mask
        return True


def _spans(obj: Any, kind: type) -> list[tuple[int, int]]:
    """The address ranges an object ``_in_pieces`` occupies: its own block, and the arrays a list, a
    dict, a set or a numpy array keeps outside it (read where CPython's layout is known, else left out)."""
    address = id(obj)
    start = address - _GC_HEAD if kind.__flags__ & _HAVE_GC else address
    if kind is list:
        import ctypes

        spans = [(start, address + kind.__basicsize__)]
        items = ctypes.c_void_p.from_address(address + 3 * 8).value if _LAYOUT_KNOWN else None  # PyListObject.ob_item
        if items and len(obj):
            spans.append((items, items + 8 * len(obj)))
        return spans
    if kind in (dict, set, frozenset):
        spans = [(start, address + kind.__basicsize__)]
        if _LAYOUT_KNOWN:
            import ctypes

            outside = sys.getsizeof(obj) - kind.__basicsize__ - _GC_HEAD  # the table, when it is not inline
            if kind is dict:
                # PyDictObject: ma_used, a 64-bit tag, then ma_keys and ma_values; a split table's
                # keys are shared by the instances of a class and are left out
                table = ctypes.c_void_p.from_address(address + 4 * 8).value
                inline = bool(ctypes.c_void_p.from_address(address + 5 * 8).value)
            else:
                # PySetObject: fill, used, mask, then table, which points at smalltable (inline) when small
                table = ctypes.c_void_p.from_address(address + 5 * 8).value
                inline = table == address + 8 * 8
            if table and not inline and outside > 0:
                spans.append((table, table + outside))
        return spans
    spans = [(start, address + kind.__basicsize__)]  # a numpy array
    if obj.base is None and obj.nbytes:
        data = obj.__array_interface__["data"][0]
        spans.append((data, data + obj.nbytes))
    return spans


def _in_pieces(kind: type) -> bool:
    """Whether an object of ``kind`` keeps memory outside its own block, which ``_spans`` reads."""
    return kind is list or kind is dict or kind is set or kind is frozenset or (kind.__name__ == "ndarray" and kind.__module__ == "numpy")


def private_mappings(pid: int | str) -> list[list[int]] | None:
    """The [start, end) address ranges of the private mappings of ``pid`` (``/proc/PID/maps``), merged."""
    ranges: list[list[int]] = []
    try:
        with open(f"/proc/{pid}/maps", "rb") as maps:
            for line in maps:
                fields = line.split(None, 2)
                if len(fields) < 2 or fields[1][3:4] != b"p":
                    continue
                start, _, end = fields[0].partition(b"-")
                low, high = int(start, 16), int(end, 16)
                if ranges and ranges[-1][1] == low:
                    ranges[-1][1] = high
                else:
                    ranges.append([low, high])
    except (OSError, ValueError):
        return None
    return ranges


# a pagemap entry of a page resident (bit 63) and mapped by this process alone (bit 56)
OWN_PAGE = (1 << 63) | (1 << 56)


def pagemap_entries(fd: int, first: int, count: int) -> Any:
    """The 64-bit ``/proc/PID/pagemap`` entries of pages ``first`` to ``first + count - 1`` (fewer
    where the address space ends), from the open pagemap ``fd``."""
    import array

    entries = array.array("Q")
    raw = os.pread(fd, 8 * count, 8 * first)
    entries.frombytes(raw[: len(raw) - len(raw) % 8])
    return entries


def _load_pages(path: str) -> Any:
    """The pages of an object map, as its walk wrote them (``array('Q')``)."""
    import array

    pages = array.array("Q")
    with open(path, "rb") as source:
        pages.frombytes(source.read())
    return pages


def own_pages(pid: int | str, pages: Any, roots: list[dict[str, Any]], page_size: int) -> list[int] | None:
    """Bytes of each root's pages that process ``pid`` holds as its own (``OWN_PAGE``), or None
    when its pagemap is unreadable. ``pages`` holds each root's sorted page numbers at
    ``root["first"]``, ``root["pages"]`` of them."""
    try:
        fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY)
    except OSError:
        return None
    try:
        counts = []
        for root in roots:
            own = 0
            mine = pages[int(root["first"]) : int(root["first"]) + int(root["pages"])]
            start = 0
            while start < len(mine):
                end = start + 1
                while end < len(mine) and mine[end] - mine[end - 1] <= 64:  # close pages: one read
                    end += 1
                base = mine[start]
                entries = pagemap_entries(fd, base, mine[end - 1] + 1 - base)
                own += sum(1 for page in mine[start:end] if page - base < len(entries) and entries[page - base] & OWN_PAGE == OWN_PAGE)
                start = end
            counts.append(own * page_size)
        return counts
    except OSError:
        return None
    finally:
        os.close(fd)


def _user_module(module: Any, probe: _Probe) -> bool:
    path = getattr(module, "__file__", None)
    if not isinstance(path, str):
        return module is sys.modules.get("__main__")
    return not (path.startswith(probe.library_dirs) or path.startswith(probe.skip_dirs) or _SITE_PACKAGES in path or _DIST_PACKAGES in path)


# built-in types whose sys.getsizeof is the one block at id(obj)
_ONE_BLOCK = frozenset({str, bytes, int, float, complex, bool, tuple, range, type(None)})
_OBJECT_SIZEOF: Any = object.__sizeof__


def _has_children() -> bool:
    """Whether this process has a child alive (``/proc/self/task/*/children``; True when unknown)."""
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children", "rb") as children:
                if children.read().strip():
                    return True
    except OSError:
        return True
    return False


def _referents(obj: Any, kind: type) -> Any:
    """An iterator over what ``obj`` refers to; a list's, a tuple's or a dict's without copying
    their references into a new list (a million of them would cost the parent 8 MiB)."""
    if kind is list or kind is tuple:
        return iter(obj)
    if kind is dict:
        return itertools.chain.from_iterable(obj.items())
    return iter(gc.get_referents(obj))


def _walk(value: Any, seen: _Seen, stop: tuple[type, ...], budget: int) -> tuple[int, int, set[int]]:
    """Objects reachable from ``value`` and not ``seen`` yet (at most ``budget``), depth first:
    how many, the bytes they occupy and the pages those bytes lie on. (~1 µs an object: the
    common case, an object in one block, is written out here rather than through ``_spans``.)"""
    count = size = 0
    pages: set[int] = set()
    stack: list[Any] = []
    owners: list[Any] = []  # the container of each iterator on the stack
    obj: Any = value
    page = _PAGE
    sizeof = sys.getsizeof
    while True:
        kind = type(obj)
        count += 1
        tracked = kind.__flags__ & _HAVE_GC
        if _in_pieces(kind):
            for begin, end in _spans(obj, kind):
                size += end - begin
                pages.update(range(begin // page, (end - 1) // page + 1))
        else:
            begin = id(obj) - _GC_HEAD if tracked else id(obj)
            try:
                # sys.getsizeof is the object's own block for the built-in types and for classes that
                # keep object.__sizeof__; another __sizeof__ counts memory elsewhere (a DataFrame
                # answers its columns' deep size), so only the type's basic size is its block
                length = sizeof(obj) if kind in _ONE_BLOCK or getattr(kind, "__sizeof__", None) is _OBJECT_SIZEOF else kind.__basicsize__ + (_GC_HEAD if tracked else 0)
            except Exception:
                length = kind.__basicsize__ or 1
            size += length
            first, last = begin // page, (begin + length - 1) // page
            pages.add(first)
            if last != first:
                pages.update(range(first + 1, last + 1))
        if tracked:
            stack.append(_referents(obj, kind))
            owners.append(obj)
        obj = None
        while stack and obj is None and count < budget:
            try:
                obj = _next_unseen(stack[-1], stop, seen)
            except RuntimeError:  # another thread resized the dict or set: take its referents at once instead
                stack[-1] = iter(gc.get_referents(owners[-1]))
                continue
            if obj is None:
                stack.pop()
                owners.pop()
        if obj is None:
            return count, size, pages


def _next_unseen(children: Any, stop: tuple[type, ...], seen: _Seen) -> Any:
    """The next of ``children`` not seen yet (marked seen now), or None when they are all seen."""
    add = seen.add
    for child in children:
        if not issubclass(type(child), stop) and add(id(child)):  # (isinstance asks a dead weakref.proxy, which raises)
            return child
    return None


def _allocation_lines(values: list[Any], probe: _Probe) -> dict[int, list[Any]]:
    """Where allocations are traced (``--trace-allocations``): id of each of ``values`` -> [path,
    line] of the innermost frame of the script or its modules when it was allocated. Then tracing
    ends, before the walk and the fork: on, it would slow the walk a hundredfold and write its
    tables in every worker."""
    tracemalloc = sys.modules.get("tracemalloc")
    if tracemalloc is None or not tracemalloc.is_tracing():
        return {}
    lines: dict[int, list[Any]] = {}
    for value in values:
        trace = tracemalloc.get_object_traceback(value)
        if trace is None:
            # Python 3.11 misses the block of an instance with inline attributes (it looks for the
            # object behind its GC header, not behind the two pointers before that): what it holds
            # was built with it
            for child in gc.get_referents(value)[:16]:
                trace = None if isinstance(child, type) else tracemalloc.get_object_traceback(child)
                if trace is not None:
                    break
        for frame in reversed(list(trace or ())):  # oldest first: the innermost user frame is the last one
            filename = frame.filename
            if not (filename.startswith(probe.library_dirs) or filename.startswith(probe.skip_dirs) or _SITE_PACKAGES in filename or _DIST_PACKAGES in filename):
                lines[id(value)] = [filename, frame.lineno]
                break
    tracemalloc.stop()
    return lines


def _process_arguments(process: Any) -> list[tuple[str, Any]]:
    """("name (argument of target)", value) for each argument of a ``Process`` being started, named
    by its parameter where the target's signature tells (a Pool's own workers take only queues)."""
    import inspect

    target = getattr(process, "_target", None)
    args = tuple(getattr(process, "_args", ()) or ())
    kwargs = dict(getattr(process, "_kwargs", {}) or {})
    title = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or type(process).__name__
    try:
        names = list(inspect.signature(target).parameters) if target is not None else []
    except (TypeError, ValueError):
        names = []
    named = [(names[index] if index < len(names) else f"argument {index + 1}", value) for index, value in enumerate(args)]
    named.extend(kwargs.items())
    if target is None:  # a Process subclass: its own attributes are what the child inherits
        named.extend((f"self.{name}", value) for name, value in vars(process).items() if not name.startswith("_"))
    return [(f"{name} ({title} argument)", value) for name, value in named]


def object_map(probe: _Probe, directory: str, site: str | None) -> dict[str, Any]:
    """The parent's big objects at a fork and the pages they occupy: each module-level name of
    the script and its own modules, then each argument of the ``Process`` being started (a
    DataLoader's dataset: a forked process inherits its arguments, it does not unpickle them),
    with everything reachable from it that an earlier one did not reach (modules, functions,
    classes and frames end a walk: they are the interpreter's). Pages go to a file of native
    8-byte page numbers (one run of them per root, sorted); the event names the file and, per
    root, its name, type, object count, bytes and slice of the file."""
    import array
    import types

    started = time.monotonic()
    stop = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type, types.FrameType, types.CodeType)
    seen = _Seen()
    claimed: set[int] = set()
    roots: list[dict[str, Any]] = []
    pages_out = array.array("Q")
    walked = 0
    main = sys.modules.get("__main__")
    modules = [module for module in [main] + [module for name, module in list(sys.modules.items()) if module is not main and name != "__main__"] if module is not None and _user_module(module, probe)]
    candidates: list[tuple[str, Any, str | None]] = []  # (name, value, the module's path)
    for module in modules:
        label = "" if module is main else f"{module.__name__}."
        source = getattr(module, "__file__", None)
        for name, value in list(getattr(module, "__dict__", {}).items()):
            if not name.startswith("__"):
                candidates.append((label + name, value, source if isinstance(source, str) else None))
    process = getattr(probe.starting, "process", None)
    if process is not None:
        candidates.extend((name, value, None) for name, value in _process_arguments(process))
    built = _allocation_lines([value for _, value, _ in candidates], probe)
    for name, value, source in candidates:
        if walked >= _MAX_OBJECTS:
            break
        if issubclass(type(value), stop) or not seen.add(id(value)):
            continue
        count, size, pages = _walk(value, seen, stop, _MAX_OBJECTS - walked)
        walked += count
        own = sorted(pages - claimed)
        claimed.update(own)
        if size >= 1 << 20:
            roots.append({"name": name, "type": type(value).__name__, "objects": count, "bytes": size, "first": len(pages_out), "pages": len(own)})
            roots[-1].update(path=source, allocated=built.get(id(value)))
            pages_out.extend(own)
    truncated = walked >= _MAX_OBJECTS
    path = os.path.join(directory, f"objects-{os.getpid()}-{len(probe.maps)}.bin")
    with open(path, "wb") as out:
        pages_out.tofile(out)
    return {"site": site, "file": path, "roots": roots, "walked": walked, "truncated": truncated, "seconds": round(time.monotonic() - started, 3), "page_size": _PAGE}


def _install_forks(probe: _Probe, freeze: bool) -> None:
    def before() -> None:
        if freeze:
            gc.freeze()
        try:
            probe.fork_site = getattr(probe.starting, "site", None) or probe.site("os.fork")
        except Exception:
            probe.fork_site = None
        probe.flush()
        if probe.map_dir and probe.fork_site not in probe.maps:
            try:
                last = next((mapped for mapped in reversed(list(probe.maps.values())) if mapped), None)
                if last is not None and _has_children():
                    # a walk now would write the reference count of every object while earlier
                    # workers share their pages: the parent's copies would show as theirs
                    mapped = dict(last, site=probe.fork_site, reused=True, walked=0, seconds=0.0)
                else:
                    mapped = object_map(probe, probe.map_dir, probe.fork_site)
                probe.maps[probe.fork_site] = mapped
                probe.sink.emit("objects", **mapped)
            except Exception as error:  # the walk must never break the script's fork
                probe.maps[probe.fork_site] = {}
                probe.sink.emit("objects", site=probe.fork_site, error=f"{type(error).__name__}: {error}"[:200])
        try:
            probe.tell_mappings()
        except Exception:
            pass  # nothing of the probe may print into the script's error output

    os.register_at_fork(before=before, after_in_child=probe.after_fork_in_child)

    original_exit = os._exit

    def _exit(status: int) -> None:  # a child (or the script) leaving through os._exit still reports its counts
        try:
            try:
                probe.read_own(final=True)
            except Exception:
                pass
            probe.flush()
        finally:
            original_exit(status)

    os._exit = _exit  # type: ignore[assignment]


def _install_exit_codes(probe: _Probe) -> None:
    """Record the exit status of every process multiprocessing reaps (``os._exit(7)``, killed by
    SIGKILL when the kernel runs out of memory): the report names the workers that did not end well."""
    from multiprocessing import popen_fork

    classes = [popen_fork.Popen]
    try:
        from multiprocessing import popen_forkserver

        classes.append(popen_forkserver.Popen)
    except ImportError:  # pragma: no cover - platforms without forkserver
        pass
    for cls in classes:
        original = cls.__dict__.get("poll")
        if original is None:
            continue

        def poll(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            code = _original(self, *args, **kwargs)
            if code is not None and not getattr(self, "_cowlint_reported", False):
                self._cowlint_reported = True
                try:
                    probe.sink.emit("reaped", pid=int(self.pid), code=int(code))
                except Exception:  # noqa: BLE001 - a report must never break the script
                    pass
            return code

        cls.poll = poll  # type: ignore[method-assign]


def _force_start_method(method: str) -> None:
    """Change the default start method, leaving an explicit choice in the script free to win."""
    from multiprocessing import context

    default = context._default_context
    default._default_context = context._concrete_contexts[method]  # type: ignore[attr-defined]


def default_start_method() -> str | None:
    """The start method a dispatch without an explicit context would use, read without fixing it."""
    from multiprocessing import context

    default = context._default_context
    chosen = default._actual_context or default._default_context  # type: ignore[attr-defined]
    return getattr(chosen, "_name", None)


def install(events_path: str, start_method: str | None = None, freeze: bool = False) -> _Probe:
    """Install every wrapper in this process; returns the probe."""
    global _PROBE
    import concurrent.futures
    import multiprocessing
    import runpy
    import threading as threading_module

    probe = _Probe(_Sink(events_path))
    if events_path != os.devnull and sys.platform.startswith("linux") and os.environ.pop(OBJECTS_ENV, "1") != "0":
        probe.map_dir = os.path.dirname(os.path.abspath(events_path))
        if os.environ.pop(TRACE_ENV, "") == "1":
            import tracemalloc

            tracemalloc.start(_TRACE_FRAMES)
    library = [os.path.dirname(multiprocessing.__file__), os.path.dirname(concurrent.futures.__file__)]
    probe.skip_dirs = tuple(path + os.sep for path in library) + (threading_module.__file__, runpy.__file__, _HERE)
    probe.library_dirs = (os.path.dirname(os.__file__) + os.sep,)
    _install_pickler(probe)
    _install_dispatch(probe)
    _install_shared_memory(probe)
    _install_forks(probe, freeze)
    _install_exit_codes(probe)
    if start_method:
        _force_start_method(start_method)
    _PROBE = probe
    return probe


def _print_user_traceback(error: BaseException) -> None:
    """The traceback Python would print for the script alone (without the probe's and runpy's frames)."""
    import runpy
    import traceback

    tb = error.__traceback__
    ours = (_HERE, runpy.__file__, "<frozen runpy>")
    while tb is not None and tb.tb_frame.f_code.co_filename in ours:
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb)
    sys.stderr.flush()


def main(argv: list[str]) -> None:
    """``probe.py SCRIPT ARGS...`` or ``probe.py -m MODULE ARGS...``."""
    import runpy

    events = os.environ.pop(EVENTS_ENV, "")
    method = os.environ.pop(START_ENV, "") or None
    freeze = os.environ.pop(FREEZE_ENV, "") == "1"
    probe = install(events or os.devnull, method, freeze)
    status: Any = 0
    probe.sink.emit("start", argv=argv, start_method=default_start_method(), python=sys.version.split()[0])
    try:
        if argv and argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]
            sys.path[0] = os.getcwd()
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            script = os.path.abspath(argv[0])
            sys.argv = [argv[0], *argv[1:]]
            sys.path[0] = os.path.dirname(script)
            runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        status = exit_.code
        raise
    except BaseException as error:
        status = f"{type(error).__name__}: {error}"[:500]
        if os.getpid() != _ROOT_PID or not isinstance(error, Exception):
            raise
        _print_user_traceback(error)
        raise SystemExit(1) from None
    finally:
        if os.getpid() == _ROOT_PID:
            probe.flush()
            probe.sink.emit("end", status=status, own_picklers=[name for name in OWN_PICKLERS if name in sys.modules])


_ROOT_PID = os.getpid()

# libraries whose pools pickle tasks with a pickler of their own, which the probe does not count
# (mpire's default one is multiprocessing's, which it does): name -> how the report says it
OWN_PICKLERS = {
    "joblib": "joblib (loky pickles its tasks with cloudpickle)",
    "multiprocess": "multiprocess or pathos (dill)",
    "ppft": "pathos's ParallelPool (ppft)",
}

if __name__ == "__main__":
    main(sys.argv[1:])
