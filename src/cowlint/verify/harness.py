"""The harness: start the script under the probe, sample its process tree, keep it under control.

One :func:`run` is one execution of the script (the baseline or a
counterfactual variant). The script runs in its own session with cowlint as
its child subreaper (Linux), so every process it starts, even one that calls
``setsid()`` or is orphaned, stays visible and is killed and reaped when the
run ends: on exit, timeout, too many processes, Ctrl-C or an error in
cowlint. Shared-memory segments the script created and did not release are
unlinked afterwards.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from cowlint.verify import probe as probe_module
from cowlint.verify.pages import ObjectMap, own_bytes_in, released
from cowlint.verify.probe import EVENTS_ENV, FREEZE_ENV, OBJECTS_ENV, OWN_PICKLERS, START_ENV, TRACE_ENV

PROBE_PATH = str(Path(probe_module.__file__).resolve())
PASSTHROUGH_LIMIT = 1 << 20  # bytes of the script's output shown per stream
TAIL_LIMIT = 16 << 10
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_PR_SET_CHILD_SUBREAPER = 36

#: smaps_rollup fields read for each sample, in bytes.
ROLLUP_FIELDS = ("Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Swap")


def read_memory(pid: int | str = "self") -> dict[str, int] | None:
    """``/proc/PID/smaps_rollup`` fields and ``VmHWM`` in bytes, or None when unreadable."""
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for raw in rollup.read().splitlines()[1:]:
                name, _, rest = raw.partition(b":")
                key = name.decode()
                if key in ROLLUP_FIELDS:
                    values[key] = int(rest.split()[0]) * 1024
        with open(f"/proc/{pid}/status", "rb") as status:
            for raw in status.read().splitlines():
                if raw.startswith(b"VmHWM:"):
                    values["VmHWM"] = int(raw.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return values if "Private_Dirty" in values else None


#: The variants of a counterfactual run and the environment that makes them.
VARIANTS: dict[str, dict[str, str]] = {
    "baseline": {},
    "freeze": {FREEZE_ENV: "1"},
    "spawn": {START_ENV: "spawn"},
    "forkserver": {START_ENV: "forkserver"},
}


@dataclass
class Options:
    """How to run: limits and sampling."""

    timeout: float = 300.0
    max_processes: int = 64
    interval: float = 0.02
    interpreter: str = sys.executable
    cwd: str | None = None
    echo: bool = True  # pass the script's output through to cowlint's stderr
    objects: bool = True  # map the parent's objects at each fork site and read which pages each worker copied
    trace_allocations: bool = False  # trace the script's allocations until its first fork, to tell where each mapped object was built
    progress: Callable[[str], None] | None = None


@dataclass
class Tracked:
    """One process of the run and what the samples saw of it."""

    pid: int
    create_time: float
    ppid: int
    first_seen: float
    baseline: dict[str, int] | None = None  # the memory right after the fork (from the probe) or the first sample
    baseline_from_fork: bool = False
    last: dict[str, int] = field(default_factory=dict)
    peak_private: int = 0
    peak_own: int = 0  # the most Private_Dirty less what the parent released (see observe)
    released: int = 0  # at the last sample
    mappings_key: tuple[int, int] | None = None  # (parent pid, number) of the parent's private mappings at its fork
    peak_rss: int = 0
    hwm: int = 0
    peak_uss: int = 0
    peak_pss: int = 0
    peak_other: int = 0  # the most resident memory that was not private dirty (shared or file pages)
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (wall-clock time, Private_Dirty, Rss)
    name: str = ""
    alive: bool = True
    exit_code: int | None = None  # as multiprocessing reports it: negative for a signal
    map_key: tuple[int, str | None] | None = None  # (parent pid, fork site) of the object map its fork shared
    objects_peak: list[int] = field(default_factory=list)  # bytes of each mapped object it held as its own, at the reading with the most
    objects_end: list[int] = field(default_factory=list)  # the same at its last reading
    unpickled: dict[str, Any] | None = None  # the instance of a bound method it unpickled with its first task: type, objects, bytes, page_bytes, copied
    objects_read_at: int = -1  # Private_Dirty at the last reading
    objects_pending: tuple[int, list[int]] | None = None  # (Rss, reading) until the next sample confirms it
    objects_next = 0.0  # monotonic time of the next reading allowed
    released_next = 0.0  # the same for the reading of what the parent released

    def observe(self, now: float, memory: dict[str, int], released: int = 0) -> None:
        """One sample; ``released``: bytes of it the parent let go of since the fork (pages that
        became this process's alone without it copying them), left out of what it copied."""
        if self.baseline is None:
            self.baseline = dict(memory)
        self.last = memory
        private = memory.get("Private_Dirty", 0)
        self.peak_private = max(self.peak_private, private)
        self.peak_own = max(self.peak_own, private - released)
        self.released = released
        self.peak_rss = max(self.peak_rss, memory.get("Rss", 0))
        self.hwm = max(self.hwm, memory.get("VmHWM", 0))
        self.peak_other = max(self.peak_other, memory.get("Rss", 0) - private)
        self.samples.append((now, private - released, memory.get("Rss", 0)))

    @property
    def baseline_private(self) -> int:
        return (self.baseline or {}).get("Private_Dirty", 0)

    @property
    def peak_copied(self) -> int:
        """The most memory this process held that it did not share, over its post-fork baseline.

        The sampled ``Private_Dirty`` peak, or the kernel's high-water mark of
        the resident set over its baseline (less the shared pages it mapped
        since), which catches a peak shorter than the sampling interval; at least what the worker
        itself read of its own pages of the parent's objects (a worker that lives a tenth of a
        second copies them all between two samples).
        """
        base = self.baseline or {}
        sampled = max(self.peak_own - self.baseline_private, sum(self.objects_peak) - self.released)
        if not self.hwm or not base.get("Rss"):
            return max(0, sampled)
        shared_now = self.last.get("Shared_Clean", 0) + self.last.get("Shared_Dirty", 0)
        shared_then = base.get("Shared_Clean", 0) + base.get("Shared_Dirty", 0)
        transient = self.hwm - base["Rss"] - max(0, shared_now - shared_then)
        return max(0, sampled, transient)


@dataclass
class RunResult:
    """What one execution of the script did."""

    variant: str
    argv: list[str]
    status: str = "ok"  # ok | failed | timeout | too-many-processes | interrupted | error
    exit_code: int | None = None
    signal_name: str | None = None
    duration: float = 0.0
    root_pid: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    processes: dict[int, Tracked] = field(default_factory=dict)
    reaped: dict[int, int] = field(default_factory=dict)  # pid -> exit code, as multiprocessing saw it end
    stdout_digest: str = ""
    stdout_bytes: int = 0
    stdout_tail: bytes = b""
    stderr_tail: bytes = b""
    problems: list[str] = field(default_factory=list)
    shm_released: list[str] = field(default_factory=list)
    left_running: int = 0
    max_seen_processes: int = 0
    start_method: str | None = None
    script_status: Any = None  # what the probe saw the script end with
    maps: dict[tuple[int, str | None], ObjectMap] = field(default_factory=dict)  # (parent pid, fork site) -> the parent's objects then
    mappings: dict[tuple[int, int], list[list[int]]] = field(default_factory=dict)  # (parent pid, number) -> its private mappings at a fork

    @property
    def finished(self) -> bool:
        return self.status in ("ok", "failed")


class _Stream(threading.Thread):
    """Drain one pipe of the script: digest, tail, and (optionally) pass it through."""

    def __init__(self, pipe: IO[bytes], label: str, echo: bool, write: Callable[[bytes], None]) -> None:
        super().__init__(daemon=True, name=f"cowlint-{label}")
        self.pipe = pipe
        self.label = label
        self.echo = echo
        self.write = write
        self.digest = hashlib.sha256()
        self.total = 0
        self.tail = bytearray()

    def run(self) -> None:
        shown = 0
        while True:
            try:
                chunk = self.pipe.read1(65536)  # type: ignore[attr-defined]
            except (OSError, ValueError):
                break
            if not chunk:
                break
            self.digest.update(chunk)
            self.total += len(chunk)
            self.tail += chunk
            if len(self.tail) > TAIL_LIMIT:
                del self.tail[: len(self.tail) - TAIL_LIMIT]
            if self.echo and shown < PASSTHROUGH_LIMIT:
                part = chunk[: PASSTHROUGH_LIMIT - shown]
                shown += len(part)
                self.write(part)
                if shown >= PASSTHROUGH_LIMIT:
                    self.write(f"\n[cowlint: the script's {self.label} goes on; not shown past {PASSTHROUGH_LIMIT >> 20} MiB]\n".encode())


class _Events:
    """Reads the probe's events file as it grows."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return []
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events


def become_subreaper() -> bool:
    """Make orphans of the run re-parent to this process instead of init (Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def command(target: str, args: list[str], module: bool, interpreter: str) -> list[str]:
    """The command line that runs the script under the probe."""
    head = ["-m", target] if module else [target]
    return [interpreter, PROBE_PATH, *head, *args]


class _Tree:
    """The processes of one run: the root's descendants and orphans re-parented to us."""

    def __init__(self, root: subprocess.Popen[bytes]) -> None:
        self.root = root
        self.me = psutil.Process()
        self.before = {child.pid for child in self.me.children()} - {root.pid}
        self.known: dict[int, psutil.Process] = {}

    def live(self) -> list[psutil.Process]:
        found: dict[int, psutil.Process] = {}
        try:
            for child in self.me.children(recursive=True):
                if child.pid not in self.before:
                    found[child.pid] = child
        except psutil.Error:
            pass
        for pid, process in list(self.known.items()):
            if pid not in found:
                try:
                    if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                        found[pid] = process
                except psutil.Error:
                    pass
        for pid, process in found.items():
            self.known.setdefault(pid, process)
        return [process for pid, process in found.items() if self._running(process)]

    @staticmethod
    def _running(process: psutil.Process) -> bool:
        try:
            return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def kill(self) -> int:
        """Kill and reap every process of the run; returns how many were still running."""
        killed = 0
        for _ in range(200):
            live = self.live()
            try:
                os.killpg(self.root.pid, signal.SIGKILL)
            except OSError:
                pass
            if not live:
                break
            for process in live:
                try:
                    process.kill()
                    killed += 1
                except psutil.Error:
                    pass
            self.reap()
            time.sleep(0.01)
        self.reap()
        return killed

    def reap(self) -> None:
        """Collect the exit status of every child of ours that belongs to the run."""
        self.root.poll()
        for pid in list(self.known):
            if pid == self.root.pid:
                continue
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            except OSError:
                pass


# A process of its own that outlives cowlint: it waits on a pipe only cowlint holds, and when the
# pipe closes without "done" (cowlint was SIGKILLed, or its terminal closed) it kills the run's
# process group, so the script never runs on unwatched. Isolated mode (-I): it imports nothing
# from the checked tree, whatever the current folder holds.
_WATCHDOG = (
    "import os, signal, sys\n"
    "said = sys.stdin.buffer.read()\n"
    "if said != b'done':\n"
    "    try:\n"
    "        os.killpg(int(sys.argv[1]), signal.SIGKILL)\n"
    "    except OSError:\n"
    "        pass\n"
)


class _Watchdog:
    """Kills the run's process group if cowlint dies before it says the run is over."""

    def __init__(self, group: int) -> None:
        read_end, self._write_end = os.pipe()
        try:
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(group)],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=tempfile.gettempdir(),
                start_new_session=True,  # the terminal's SIGHUP is not its to receive
            )
        except OSError:
            self.process = None
        os.close(read_end)

    def done(self) -> None:
        """The run is over and its processes reaped: the watchdog leaves without killing."""
        try:
            os.write(self._write_end, b"done")
        except OSError:
            pass
        os.close(self._write_end)
        if self.process is not None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _ending(code: int | None) -> str:
    """``exited 7`` or ``killed by SIGKILL``, from multiprocessing's exit code."""
    if code is not None and code < 0:
        return f"killed by {_signal_name(-code)}"
    return f"exited {code}"


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def run(target: str, args: list[str], variant: str, options: Options, *, module: bool = False) -> RunResult:
    """Run the script once under the probe and measure it; never leaves a process behind."""
    result = RunResult(variant=variant, argv=[target, *args])
    if read_memory() is None:
        result.problems.append(f"memory is not measured on {sys.platform} (no /proc/PID/smaps_rollup): only pickled bytes and outcomes are reported")
    become_subreaper()
    workdir = tempfile.mkdtemp(prefix="cowlint-verify-")
    events_path = os.path.join(workdir, "events.jsonl")
    env = dict(os.environ)
    env.pop(START_ENV, None)
    env.pop(FREEZE_ENV, None)
    env[EVENTS_ENV] = events_path
    env.update(VARIANTS[variant])
    env[OBJECTS_ENV] = "1" if options.objects else "0"
    env[TRACE_ENV] = "1" if options.trace_allocations else "0"
    env["PYTHONUNBUFFERED"] = "1"
    out_lock = threading.Lock()
    raw_err = sys.stderr.buffer if hasattr(sys.stderr, "buffer") else None

    def write_through(data: bytes) -> None:
        with out_lock:
            if raw_err is not None:
                raw_err.write(data)
                raw_err.flush()

    started = time.monotonic()
    started_at = time.time()
    shm_before = _shm_entries()
    try:
        root = subprocess.Popen(
            command(target, args, module, options.interpreter),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=options.cwd,
            start_new_session=True,
        )
    except OSError as error:
        _remove_dir(workdir)
        result.status = "error"
        result.problems.append(f"could not start {options.interpreter}: {error.strerror or error}")
        return result
    result.root_pid = root.pid
    watchdog = _Watchdog(root.pid)  # the root leads its own session: its pid is the group's id
    assert root.stdout is not None and root.stderr is not None
    streams = [_Stream(root.stdout, "output", options.echo, write_through), _Stream(root.stderr, "error output", options.echo, write_through)]
    for stream in streams:
        stream.start()
    tree = _Tree(root)
    events = _Events(events_path)
    ended_at: float | None = None
    tick = 0
    try:
        while True:
            now = time.monotonic()
            tick += 1
            live = tree.live()
            result.max_seen_processes = max(result.max_seen_processes, len(live))
            _absorb(result, events.read())  # first: a process's fork event says what its parent mapped before the sample counts it
            _sample(result, live, time.time(), slow=tick % 10 == 1)
            if options.progress is not None and tick % 10 == 1:
                options.progress(_progress_line(result, now - started, live))
            if root.poll() is not None and ended_at is None:
                ended_at = now
            if ended_at is not None and (not live or now - ended_at > 2.0):
                break
            if now - started > options.timeout:
                result.status = "timeout"
                result.problems.append(f"the script ran past --timeout {options.timeout:g} s; every process of the run was killed")
                break
            if len(live) > options.max_processes:
                result.status = "too-many-processes"
                result.problems.append(f"the script had {len(live)} processes running, more than --max-processes {options.max_processes}; every process of the run was killed")
                break
            time.sleep(options.interval)
    except KeyboardInterrupt:
        result.status = "interrupted"
        result.problems.append("interrupted (Ctrl-C, SIGTERM or SIGHUP); every process of the run was killed")
    finally:
        still = tree.live()
        if result.status == "ok" and still:
            result.left_running = len(still)
            result.problems.append(f"{len(still)} process(es) were still running 2 s after the script ended; killed")
        tree.kill()
        root.wait()
        watchdog.done()
        for stream in streams:
            stream.join(timeout=5)
        result.duration = time.monotonic() - started
        _absorb(result, events.read())
        result.shm_released = _release_shared_memory(result.events)
        result.shm_released += [name for name in _release_orphaned_shm(shm_before, started_at) if name not in result.shm_released]
        if result.shm_released:
            result.problems.append(f"released {len(result.shm_released)} shared memory segment(s) or semaphore(s) the script left behind: {', '.join(result.shm_released)}")
        _remove_dir(workdir)
    ended_badly = [f"{pid} {_ending(code)}" for pid, code in sorted(result.reaped.items()) if code]
    if ended_badly and result.status not in ("timeout", "too-many-processes", "interrupted"):
        oom = " (SIGKILL is what the kernel's out-of-memory killer sends)" if -signal.SIGKILL in result.reaped.values() else ""
        result.problems.append(f"{len(ended_badly)} worker process(es) did not end well: {', '.join(ended_badly[:5])}{oom}")
    code = root.returncode
    if code is not None and code < 0:
        result.signal_name = _signal_name(-code)
    result.exit_code = code
    if result.status == "ok" and code != 0:
        result.status = "failed"
    result.stdout_digest = streams[0].digest.hexdigest()
    result.stdout_bytes = streams[0].total
    result.stdout_tail = bytes(streams[0].tail)
    result.stderr_tail = bytes(streams[1].tail)
    return result


def _sample(result: RunResult, live: list[psutil.Process], now: float, slow: bool) -> None:
    parents: dict[int, list[list[int]]] = {}  # what each parent maps now, read once per sample
    for process in live:
        pid = process.pid
        tracked = result.processes.get(pid)
        if tracked is None:
            try:
                tracked = Tracked(pid=pid, create_time=process.create_time(), ppid=process.ppid(), first_seen=now)
            except psutil.Error:
                continue
            result.processes[pid] = tracked
        memory = read_memory(pid)
        if memory is None:
            continue
        tracked.observe(now, memory, _released(result, tracked, parents))
        _read_objects(result, tracked, slow)
        if slow:
            try:
                full = process.memory_footprint() if hasattr(process, "memory_footprint") else process.memory_full_info()
                tracked.peak_uss = max(tracked.peak_uss, int(getattr(full, "uss", 0)))
                tracked.peak_pss = max(tracked.peak_pss, int(getattr(full, "pss", 0)))
            except (psutil.Error, OSError):
                pass
    seen = {process.pid for process in live}
    for pid, tracked in result.processes.items():
        tracked.alive = pid in seen


def _released(result: RunResult, tracked: Tracked, parents: dict[int, list[list[int]]]) -> int:
    """Bytes a forked process holds alone because its parent unmapped them since the fork (a
    buffer the parent freed, an arena it emptied, the whole parent when it exited): the kernel
    counts them private to the child, which never copied them."""
    at_fork = result.mappings.get(tracked.mappings_key) if tracked.mappings_key is not None else None
    if not at_fork or tracked.mappings_key is None:
        return 0
    parent = tracked.mappings_key[0]
    if parent not in parents:
        parents[parent] = probe_module.private_mappings(parent) or []  # gone: it maps nothing
    gone = released(at_fork, parents[parent])
    if not gone:
        return 0
    now = time.monotonic()
    if now < tracked.released_next:
        return tracked.released  # a parent that exited released all it had: reading that is slow, not every sample
    amount = own_bytes_in(tracked.pid, gone, PAGE_SIZE)
    if amount is None or _exiting(tracked.pid):
        # An exiting process unmaps its pages while its memory, read just before, still counts
        # them: a reading of what it holds alone taken then is short (a worker that wrote 8 MiB
        # was reported at 74 MiB when the parent had freed 64 MiB of what it shared), the last
        # whole reading stands
        return tracked.released
    tracked.released_next = now + 20 * (time.monotonic() - now)
    return amount


PF_EXITING = 0x4  # the kernel's task flag, set when the exit begins and before it unmaps the memory


def _exiting(pid: int) -> bool:
    """Whether ``pid`` is gone or on its way out (``/proc/PID/stat``: a zombie, or PF_EXITING)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
    except OSError:
        return True
    return len(fields) < 7 or fields[0] in (b"Z", b"X", b"x") or bool(int(fields[6]) & PF_EXITING)


def _read_objects(result: RunResult, tracked: Tracked, slow: bool) -> None:
    """Read which mapped objects a forked worker holds as its own pages: on the slow ticks, and
    whenever its private memory grew by a twentieth since the last reading (its peak).

    A reading counts once the next sample finds the worker still whole: a worker that is ending
    (a pool's terminate, its exit) unmaps its pages, and a reading taken meanwhile sees a part."""
    mapped = result.maps.get(tracked.map_key) if tracked.map_key is not None else None
    if mapped is None or not mapped.roots:
        return
    private = tracked.last.get("Private_Dirty", 0)
    rss = tracked.last.get("Rss", 0)
    pending = tracked.objects_pending
    if pending is not None:
        tracked.objects_pending = None
        if rss >= pending[0] * 9 // 10:
            tracked.objects_end = pending[1]
            if sum(pending[1]) >= sum(tracked.objects_peak):
                tracked.objects_peak = pending[1]
    now = time.monotonic()
    if now < tracked.objects_next or (not slow and private <= tracked.objects_read_at + max(1 << 20, tracked.objects_read_at // 20)):
        return
    copied = mapped.copied(tracked.pid)
    tracked.objects_next = now + 20 * (time.monotonic() - now)  # reading a worker's pages takes at most 5 % of the harness's time
    if copied is not None:
        tracked.objects_read_at = private
        tracked.objects_pending = (rss, copied)


def _absorb(result: RunResult, events: list[dict[str, Any]]) -> None:
    for event in events:
        result.events.append(event)
        kind = event.get("event")
        if kind == "start":
            result.start_method = event.get("start_method")
        elif kind == "end":
            result.script_status = event.get("status")
            own = [OWN_PICKLERS[name] for name in event.get("own_picklers") or () if name in OWN_PICKLERS]
            if own:
                result.problems.append(
                    f"the script used {', '.join(own)}: what those pools pickle is not counted (their workers are measured as processes: "
                    "what each copied); bytes pickled are counted for multiprocessing, concurrent.futures and mpire"
                )
        elif kind == "fork":
            pid = int(event["pid"])
            tracked = result.processes.get(pid)
            if tracked is None:
                tracked = result.processes[pid] = Tracked(pid=pid, create_time=0.0, ppid=int(event.get("ppid", 0)), first_seen=float(event["t"]), alive=False)
            tracked.map_key = (int(event.get("ppid", 0)), event.get("site"))
            if isinstance(event.get("mappings"), int) and event["mappings"]:
                tracked.mappings_key = (int(event.get("ppid", 0)), event["mappings"])
            status = event.get("status")
            if isinstance(status, dict) and "VmRSS" in status:
                # Right after the fork nothing is private yet: every resident page is the parent's,
                # shared (without the shared figure, the high-water fallback of ``peak_copied``
                # took every page still shared at the last sample for one the child mapped since)
                rss = int(status["VmRSS"])
                tracked.baseline = {"Private_Dirty": 0, "Rss": rss, "Shared_Clean": 0, "Shared_Dirty": rss}
                tracked.baseline_from_fork = True
                tracked.hwm = max(tracked.hwm, int(status.get("VmHWM", 0)))
                tracked.samples.insert(0, (float(event["t"]), 0, rss))
        elif kind == "objects_seen" and isinstance(event.get("counts"), list):
            tracked = result.processes.get(int(event["pid"]))
            if tracked is not None:
                counts = [int(count) for count in event["counts"]]
                tracked.objects_end = counts
                if sum(counts) >= sum(tracked.objects_peak):
                    tracked.objects_peak = counts
        elif kind == "objects_unpickled":
            tracked = result.processes.get(int(event["pid"]))
            if tracked is not None:
                tracked.unpickled = {key: event.get(key) for key in ("type", "objects", "bytes", "page_bytes", "copied")}
        elif kind == "mappings" and isinstance(event.get("ranges"), list):
            result.mappings[(int(event["pid"]), int(event.get("number") or 0))] = [[int(low), int(high)] for low, high in event["ranges"]]
        elif kind == "objects":
            mapped = ObjectMap.from_event(event)
            if mapped is not None:
                result.maps[(mapped.parent, mapped.site)] = mapped
            elif event.get("error"):
                result.problems.append(f"the parent's objects could not be mapped at a fork ({event['error']}): the copied-objects table misses that call site")
        elif kind == "reaped" and isinstance(event.get("code"), int):
            result.reaped[int(event["pid"])] = event["code"]  # a forkserver's child is never sampled as ours
            tracked = result.processes.get(int(event["pid"]))
            if tracked is not None:
                tracked.exit_code = event["code"]
        elif kind == "exit":
            status = event.get("status")
            tracked = result.processes.get(int(event["pid"]))
            if tracked is not None and isinstance(status, dict):
                tracked.hwm = max(tracked.hwm, int(status.get("VmHWM", 0)))


def _release_shared_memory(events: list[dict[str, Any]]) -> list[str]:
    """Unlink the shared memory segments and named semaphores of the run that are still there."""
    created: list[str] = []
    for event in events:
        name = str(event.get("name", "")).lstrip("/")
        if not name or "/" in name:
            continue
        if event.get("event") == "shm":
            created.append(name)
        elif event.get("event") == "semaphore":
            created.append(f"sem.{name}")
        elif event.get("event") == "shm_unlink" and name in created:
            created.remove(name)
    return _unlinked(created)


def _unlinked(names: Iterable[str]) -> list[str]:
    """Unlink each name of /dev/shm; the names that were there to unlink."""
    released = []
    for name in names:
        try:
            os.unlink(os.path.join(_SHM, name))
            released.append(name)
        except OSError:
            pass
    return released


_SHM = "/dev/shm"


def _shm_entries() -> dict[str, int]:
    """The names in /dev/shm with their inode (empty where there is none)."""
    try:
        with os.scandir(_SHM) as entries:
            return {entry.name: entry.inode() for entry in entries}
    except OSError:
        return {}


def _held_in_shm() -> set[str]:
    """The /dev/shm names some live process still has open or mapped."""
    held: set[str] = set()
    prefix = _SHM + "/"
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith(prefix):
                    held.add(target[len(prefix) :].split(" ", 1)[0])
            with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as maps:
                for line in maps:
                    at = line.find(prefix)
                    if at >= 0:
                        held.add(line[at + len(prefix) :].strip().split(" ", 1)[0])
        except OSError:
            continue
    return held


def _release_orphaned_shm(before: dict[str, int], since: float) -> list[str]:
    """Unlink what the run left in /dev/shm that the probe did not see made (``_posixshmem``
    called directly, a spawned child killed at --timeout): new since the run started, ours, and
    open or mapped by no process left. A segment made by a fixed name would otherwise make the
    next run fail with FileExistsError."""
    orphans = []
    held: set[str] | None = None
    for name, inode in _shm_entries().items():
        if before.get(name) == inode:
            continue
        path = os.path.join(_SHM, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if info.st_uid != os.getuid() or info.st_mtime < since - 1 or not (name.startswith("sem.") or os.path.isfile(path)):
            continue
        if held is None:
            held = _held_in_shm()
        if name not in held:
            orphans.append(name)
    return _unlinked(orphans)


def _remove_dir(path: str) -> None:
    for name in os.listdir(path):
        try:
            os.unlink(os.path.join(path, name))
        except OSError:
            pass
    try:
        os.rmdir(path)
    except OSError:
        pass


def _progress_line(result: RunResult, elapsed: float, live: list[psutil.Process]) -> str:
    copied = max((tracked.peak_copied for pid, tracked in result.processes.items() if pid != result.root_pid), default=0)
    return f"{result.variant}: {elapsed:5.1f} s, {len(live)} process(es), largest worker copy so far {copied / 2**20:.1f} MiB"
