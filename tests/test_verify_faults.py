"""The verifier under faults: a clear report, the right exit status, and no process left behind.

Every script here records the pid of each process it starts in ``pids.txt``;
after cowlint returns, none of them may still be running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from .conftest import console_script, interruptible, run_cowlint

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the verifier measures through /proc (Linux)")

RECORD = """\
import os, sys
PIDS = {pids!r}
def record():
    with open(PIDS, "a") as handle:
        handle.write(f"{{os.getpid()}}\\n")
record()
"""


STALLING_POOL = """\
import multiprocessing, time
def stall(_):
    record()
    time.sleep(600)
if __name__ == '__main__':
    with multiprocessing.get_context('fork').Pool(2) as pool:
        pool.map(stall, range(2), chunksize=1)
"""


def script(tmp_path: Path, body: str, name: str = "job.py") -> Path:
    path = tmp_path / name
    path.write_text(RECORD.format(pids=str(tmp_path / "pids.txt")) + body)
    return path


def recorded(tmp_path: Path) -> list[int]:
    try:
        return [int(line) for line in (tmp_path / "pids.txt").read_text().split()]
    except FileNotFoundError:
        return []


def assert_none_left(tmp_path: Path) -> None:
    """No process the script recorded is still running (zombies waiting for init count as gone)."""
    deadline = time.monotonic() + 5
    while True:
        alive = []
        for pid in recorded(tmp_path):
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not alive, f"still running after cowlint returned: {alive}"


def test_script_that_raises(tmp_path: Path) -> None:
    path = script(tmp_path, "raise RuntimeError('the data file is missing')\n")
    done = run_cowlint("--verify", str(path))
    assert done.returncode == 3
    assert "exited 1" in done.stdout and "RuntimeError: the data file is missing" in done.stdout
    assert "Traceback" in done.stderr  # the script's own error output passed through
    assert_none_left(tmp_path)


def test_script_that_exits_nonzero(tmp_path: Path) -> None:
    path = script(tmp_path, "sys.exit(4)\n")
    done = run_cowlint("--verify", str(path), "--output-format", "json")
    assert done.returncode == 3
    report = json.loads(done.stdout)
    assert report["run"]["status"] == "failed" and report["run"]["exit_code"] == 4


def test_hang_past_timeout_kills_everything(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        STALLING_POOL,
    )
    started = time.monotonic()
    done = run_cowlint("--verify", str(path), "--timeout", "3")
    assert time.monotonic() - started < 60
    assert done.returncode == 3
    assert "timed out" in done.stdout and "ran past --timeout 3 s" in done.stdout
    assert len(recorded(tmp_path)) == 3
    assert_none_left(tmp_path)


@pytest.mark.parametrize("death", ["os._exit(3)", "os.kill(os.getpid(), signal.SIGKILL)"])
def test_worker_dies_under_an_executor(tmp_path: Path, death: str) -> None:
    path = script(
        tmp_path,
        "import signal\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "import multiprocessing\n"
        "def work(n):\n"
        "    record()\n"
        "    if n == 1:\n"
        f"        {death}\n"
        "    return n\n"
        "if __name__ == '__main__':\n"
        "    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context('fork')) as pool:\n"
        "        print(list(pool.map(work, range(4))))\n",
    )
    done = run_cowlint("--verify", str(path), "--timeout", "60")
    assert done.returncode == 3
    assert "BrokenProcessPool" in done.stdout
    assert "ProcessPoolExecutor.map" in done.stdout  # the call site is still reported
    assert_none_left(tmp_path)


def test_worker_dies_under_a_pool_that_then_hangs(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        "import multiprocessing\n"
        "def work(n):\n"
        "    record()\n"
        "    if n == 1:\n"
        "        os._exit(3)\n"
        "    return n\n"
        "if __name__ == '__main__':\n"
        "    with multiprocessing.get_context('fork').Pool(2) as pool:\n"
        "        print(pool.map(work, range(4), chunksize=1))\n",
    )
    done = run_cowlint("--verify", str(path), "--timeout", "4")
    assert done.returncode == 3 and "timed out" in done.stdout
    assert_none_left(tmp_path)


def test_setsid_escape_is_still_killed(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        "import multiprocessing, time\n"
        "def escape():\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        record()\n"
        "        time.sleep(600)\n"
        "    os._exit(0)\n"
        "if __name__ == '__main__':\n"
        "    process = multiprocessing.get_context('fork').Process(target=escape)\n"
        "    process.start()\n"
        "    process.join()\n"
        "    while len(open(PIDS).read().split()) < 2:\n"
        "        time.sleep(0.05)\n",
    )
    done = run_cowlint("--verify", str(path), "--timeout", "60")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "still running 2 s after the script ended; killed" in done.stdout
    assert len(recorded(tmp_path)) == 2
    assert_none_left(tmp_path)


def test_fork_bomb_is_stopped_at_max_processes(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        "import time\n"
        "def spread(depth):\n"
        "    for _ in range(3):\n"
        "        if os.fork() == 0:\n"
        "            record()\n"
        "            if depth < 5:\n"
        "                spread(depth + 1)\n"
        "            time.sleep(600)\n"
        "            os._exit(0)\n"
        "spread(1)\n"
        "time.sleep(600)\n",
    )
    done = run_cowlint("--verify", str(path), "--timeout", "120")
    assert done.returncode == 3
    assert "more than --max-processes 64" in done.stdout
    assert_none_left(tmp_path)


def test_ctrl_c_kills_the_run_and_still_reports(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        STALLING_POOL,
    )
    cowlint = subprocess.Popen([console_script(), "--verify", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **interruptible())
    deadline = time.monotonic() + 60
    while len(recorded(tmp_path)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    cowlint.send_signal(signal.SIGINT)
    out, err = cowlint.communicate(timeout=60)
    assert cowlint.returncode == 130, err
    assert "interrupted" in out and "Call sites" in out
    assert_none_left(tmp_path)


def test_gigabytes_of_output_are_counted_not_flooded(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        "chunk = b'x' * (1 << 20)\n"
        "for _ in range(1024):\n"
        "    sys.stdout.buffer.write(chunk)\n",
    )
    done = subprocess.run([console_script(), "--verify", str(path), "--output-format", "json"], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["run"]["stdout_bytes"] == 1 << 30
    assert len(done.stderr) < 2 << 20  # passed through up to 1 MiB, then a note
    assert b"not shown past 1 MiB" in done.stderr


def test_shared_memory_left_by_a_killed_run_is_released(tmp_path: Path) -> None:
    """The segment is taken off multiprocessing's resource tracker, which would otherwise race
    cowlint to unlink it when the run is killed (under load, it sometimes won)."""
    path = script(
        tmp_path,
        "import time\n"
        "from multiprocessing import resource_tracker, shared_memory\n"
        "segment = shared_memory.SharedMemory(create=True, size=4 << 20)\n"
        "resource_tracker.unregister(segment._name, 'shared_memory')\n"
        "open(PIDS + '.shm', 'w').write(segment.name)\n"
        "time.sleep(600)\n",
    )
    done = run_cowlint("--verify", str(path), "--timeout", "3")
    assert done.returncode == 3
    name = (tmp_path / "pids.txt.shm").read_text().strip().lstrip("/")
    assert not Path("/dev/shm", name).exists()
    assert "released 1 shared memory segment(s)" in done.stdout


def test_plain_fork_without_a_pool(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        "import time\n"
        "data = [str(n) for n in range(300_000)]\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    record()\n"
        "    total = sum(len(item) for item in data)\n"
        "    time.sleep(0.3)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n",
    )
    done = run_cowlint("--verify", str(path), "--output-format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    forks = [entry for entry in report["call_sites"] if entry["api"] == "os.fork"]
    assert len(forks) == 1 and forks[0]["line"] == 9
    child = [worker for worker in report["workers"] if worker["pid"] in recorded(tmp_path)]
    assert child and child[0]["peak_copied_bytes"] > 5 << 20  # reading 300k strings copied their pages


def test_named_semaphores_of_a_killed_spawn_run_are_released(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        "import multiprocessing, time\n"
        "def stall(_):\n"
        "    time.sleep(600)\n"
        "if __name__ == '__main__':\n"
        "    with multiprocessing.get_context('spawn').Pool(2) as pool:\n"
        "        pool.map(stall, range(2), chunksize=1)\n",
    )
    before = {name for name in os.listdir("/dev/shm") if name.startswith("sem.mp-")}
    done = run_cowlint("--verify", str(path), "--timeout", "5")
    assert done.returncode == 3
    left = {name for name in os.listdir("/dev/shm") if name.startswith("sem.mp-")} - before
    assert not left, left
    assert_none_left(tmp_path)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGHUP"])
def test_the_run_dies_with_cowlint(tmp_path: Path, how: str) -> None:
    """cowlint killed outright (nothing of it runs to clean up) or its terminal closed: the script
    and its workers must not run on, unwatched, until their own end (here: ten minutes)."""
    path = script(tmp_path, STALLING_POOL)
    cowlint = subprocess.Popen([console_script(), "--verify", str(path), "--timeout", "600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while len(recorded(tmp_path)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(recorded(tmp_path)) == 3, "the script and its two workers did not start"
    cowlint.send_signal(getattr(signal, how))
    output, _ = cowlint.communicate(timeout=60)
    if how == "SIGHUP":  # handled: the run ends the way Ctrl-C ends it, with a report
        assert b"interrupted" in output
    else:
        assert cowlint.returncode == -signal.SIGKILL
    assert_none_left(tmp_path)


def test_shared_memory_a_killed_spawned_child_made_is_released(tmp_path: Path) -> None:
    """A child killed at --timeout never unlinks its segments; made by a fixed name they would make
    the next run fail with FileExistsError. Both the SharedMemory class and _posixshmem directly."""
    names = [f"cowlint_test_{os.getpid()}_{number}" for number in (1, 2)]
    path = script(
        tmp_path,
        f"""\
import multiprocessing, os, time, _posixshmem
from multiprocessing import shared_memory
def child():
    record()
    shared_memory.SharedMemory(name={names[0]!r}, create=True, size=1 << 16)
    _posixshmem.shm_open("/{names[1]}", os.O_CREAT | os.O_RDWR, 0o600)
    open({str(tmp_path / "made")!r}, "w").close()
    time.sleep(600)
if __name__ == "__main__":
    worker = multiprocessing.get_context("spawn").Process(target=child)
    worker.start()
    worker.join()
""",
    )
    unrelated = Path("/dev/shm") / f"cowlint_test_{os.getpid()}_kept"
    unrelated.write_bytes(b"made before the run: not the run's to remove")
    try:
        for _ in range(2):  # the second run makes the same names again: it must not fail
            (tmp_path / "made").unlink(missing_ok=True)
            done = run_cowlint("--verify", str(path), "--timeout", "6")
            assert (tmp_path / "made").exists(), done.stdout + done.stderr
            assert "ran past --timeout" in done.stdout
            assert not [name for name in names if (Path("/dev/shm") / name).exists()]
            assert all(name in done.stdout for name in names)  # and the report says so
        assert unrelated.exists()
    finally:
        unrelated.unlink(missing_ok=True)
        for name in names:
            (Path("/dev/shm") / name).unlink(missing_ok=True)
    assert_none_left(tmp_path)


def test_workers_that_did_not_end_well_are_named_with_their_status(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        """\
import multiprocessing, os, signal
def seven():
    record()
    os._exit(7)
def killed():
    record()
    os.kill(os.getpid(), signal.SIGKILL)
if __name__ == "__main__":
    for context, target in (("fork", seven), ("fork", killed), ("spawn", seven), ("forkserver", killed)):
        worker = multiprocessing.get_context(context).Process(target=target)
        worker.start()
        worker.join()
    print("the script itself ends well")
""",
    )
    done = run_cowlint("--verify", str(path), "--timeout", "60", "--output-format", "json")
    report = json.loads(done.stdout)
    (line,) = [problem for problem in report["run"]["problems"] if "did not end well" in problem]
    assert line.count("exited 7") == 2 and line.count("killed by SIGKILL") == 2, line
    import re

    named = [int(pid) for pid in re.findall(r"(\d+) (?:exited|killed)", line)]
    assert len(named) == 4 and set(named) <= set(recorded(tmp_path))  # each worker by its pid
    text = run_cowlint("--verify", str(path), "--timeout", "60").stdout
    assert "4 worker process(es) did not end well" in text and "exited 7" in text and "killed by SIGKILL" in text
    assert_none_left(tmp_path)
