"""Worker processes give exactly the serial findings."""

from __future__ import annotations

import shutil
from pathlib import Path

from cowlint.engine.files.parallel import PARALLEL_MIN_FILES

from .conftest import FIXTURES, run_cowlint


def test_jobs_give_the_serial_findings(tmp_path: Path) -> None:
    fixtures = sorted(FIXTURES.glob("COW*/*.py"))
    copies = 0
    while copies < 2 * PARALLEL_MIN_FILES:
        for path in fixtures:
            target = tmp_path / f"batch{copies // len(fixtures)}" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
            copies += 1
    (tmp_path / "broken.py").write_text("from multiprocessing import Pool\ndef f(:\n")
    serial = run_cowlint("--isolated", "--output-format", "concise", "-j", "1", str(tmp_path))
    parallel = run_cowlint("--isolated", "--output-format", "concise", "-j", "2", str(tmp_path))
    assert serial.returncode == parallel.returncode == 1
    assert parallel.stdout == serial.stdout
    assert serial.stdout.count("\n") > 100 and "broken.py:2:" in serial.stdout
    text = run_cowlint("--isolated", "-j", "2", str(tmp_path))
    assert text.stdout.count(" |     ") > 100  # source excerpts came back from the workers


def test_jobs_must_be_positive() -> None:
    result = run_cowlint("-j", "0", "fixtures/")
    assert result.returncode == 2
    assert "--jobs" in result.stderr


def test_killed_workers_leave_the_run_complete(tmp_path: Path) -> None:
    # the OOM killer's way: SIGKILL every worker while the run goes on; the files the workers
    # did not finish are checked in the parent, with a warning, and nothing is lost
    import signal
    import sys
    import threading
    import time

    import psutil

    from cowlint import Config, check_paths

    fixtures = sorted(FIXTURES.glob("COW*/*.py"))
    for copy in range(6):
        for path in fixtures:
            target = tmp_path / f"batch{copy}" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    config = Config()
    serial = check_paths([str(tmp_path)], config, jobs=1, use_prefilter=False)
    me = psutil.Process()
    killed: list[int] = []

    def kill_workers() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            servers = [child for child in me.children() if "forkserver" in " ".join(child.cmdline())]
            workers = [worker for server in servers for worker in server.children()]  # forked by the server
            for child in workers:
                try:
                    child.send_signal(signal.SIGKILL)
                    killed.append(child.pid)
                except psutil.Error:
                    pass
            time.sleep(0.05)

    killer = threading.Thread(target=kill_workers)
    killer.start()
    parallel = check_paths([str(tmp_path)], config, jobs=2, use_prefilter=False)
    killer.join()
    assert killed, "no worker was seen to kill"
    assert parallel.findings == serial.findings
    assert any("worker processes failed (BrokenProcessPool" in warning for warning in parallel.warnings), parallel.warnings
    assert sys.platform.startswith("linux")


# A worker whose start is under way when another is killed: before Python 3.13 the pool's own
# clean-up does not terminate it (it is not yet in the pool's table), then waits for it forever
# while it blocks writing a result nobody reads. The script holds the start back until the
# pool has broken, which is the interleaving CI met by chance (1 run in 5, the test above).
LATE_WORKER = """
import os, signal, sys, time
from concurrent.futures import process
from cowlint.engine.files.parallel import map_in_pool, watch_parent

spawn = process.ProcessPoolExecutor._spawn_process

def late_spawn(executor):
    if not executor._processes:
        return spawn(executor)
    worker = executor._mp_context.Process(target=process._process_worker, args=(executor._call_queue, executor._result_queue, executor._initializer, executor._initargs, executor._max_tasks_per_child))
    worker.start()
    deadline = time.monotonic() + 10  # (3.13 and later never break under a submit: no wait there)
    while not executor._call_queue._reader.closed and time.monotonic() < deadline:
        time.sleep(0.01)  # the pool has broken and terminated the workers it knows of
    executor._processes[worker.pid] = worker

process.ProcessPoolExecutor._spawn_process = late_spawn

def start():
    watch_parent()

def work(chunk):
    if chunk[0] == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return [bytes(1 << 20)]  # more than a pipe holds: a worker nobody reads from blocks

if __name__ == "__main__":
    try:
        list(map_in_pool(work, list(range(40)), workers=2, initializer=start, initargs=(), preload=()))
    except Exception as error:
        print("failed:", type(error).__name__)
    import multiprocessing
    print("left alive:", len(multiprocessing.active_children()))
"""


def test_a_worker_started_while_the_pool_breaks_does_not_hang_the_run(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "late_worker.py"
    script.write_text(LATE_WORKER)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "failed: BrokenProcessPool" in done.stdout, done.stdout + done.stderr
    assert "left alive: 0" in done.stdout


def test_a_relative_pythonpath_still_reaches_the_workers(tmp_path: Path) -> None:
    """``PYTHONPATH=src python -m cowlint src/`` (a source checkout, no install): the helper
    interpreters start in an empty folder, where ``src`` would name nothing, and once that folder
    is gone an interpreter started from it died at start-up ("failed to make path absolute")."""
    import os
    import subprocess
    import sys

    import cowlint

    source = Path(cowlint.__file__).resolve().parent.parent
    checkout = tmp_path / "checkout"
    shutil.copytree(source / "cowlint", checkout / "src" / "cowlint", ignore=shutil.ignore_patterns("__pycache__"))
    for number in range(2 * PARALLEL_MIN_FILES):
        (checkout / "src" / f"job{number}.py").write_text("from multiprocessing import Pool\n\n\ndef run(items):\n    with Pool() as pool:\n        return pool.map(len, items)\n")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-m", "cowlint", "--isolated", "--no-cache", "-j", "2", "src/"],
        cwd=checkout,
        env={**env, "PYTHONPATH": "src"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "internal error" not in done.stderr and "Fatal Python error" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    import re

    read = re.search(r"\((\d+) files read, (\d+) parsed", done.stdout)
    assert read is not None and int(read.group(2)) >= 2 * PARALLEL_MIN_FILES, done.stdout  # enough for the pool


def test_a_killed_run_leaves_no_process_behind(tmp_path: Path) -> None:
    """A run killed outright (SIGKILL; SIGTERM too, which Python does not turn into an exception, as a
    pre-commit timeout or an editor sends it) never shuts its pool down. Its workers, waiting for tasks on a
    queue whose both ends they hold, and the forkserver they keep alive used to stay forever (~100 MiB each);
    each worker now watches the run that started it and ends when it is gone, even while the killed run is a
    zombie its own parent has not reaped."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from one_file_scaling import module

    from .conftest import console_script

    for index in range(2 * PARALLEL_MIN_FILES):  # enough big files that the workers are busy when the run dies
        (tmp_path / f"dense{index}.py").write_text(module(1500))
    def command(process: psutil.Process) -> str:
        try:
            return " ".join(process.cmdline())
        except psutil.Error:
            return ""

    for how in (signal.SIGKILL, signal.SIGTERM):
        run = subprocess.Popen([console_script(), "--isolated", "--no-cache", "--jobs", "2", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        parent = psutil.Process(run.pid)
        deadline = time.monotonic() + 60
        helpers: list[psutil.Process] = []
        while time.monotonic() < deadline and len([p for p in helpers if "forkserver" in command(p)]) < 3:
            try:
                helpers = parent.children(recursive=True)  # the forkserver, its workers, the resource tracker
            except psutil.Error:
                break
            time.sleep(0.05)
        assert run.poll() is None, "the run ended before its workers were seen"
        run.send_signal(how)
        gone, alive = psutil.wait_procs(helpers, timeout=20)  # the run is not reaped yet: a zombie, as under an editor
        run.wait(timeout=30)
        for process in alive:
            process.kill()
        assert not alive, (how, [command(p)[:120] for p in alive])
        assert len(gone) >= 3
