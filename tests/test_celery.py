"""Celery's prefork pool, run for real: which signal handlers' gc.freeze() keeps the master's
heap shared with the pool's children, and what COW301 says of the same app module.

The worker uses kombu's filesystem transport (no broker to run): a task does a full collection
in a child and writes what the child holds privately. With the filesystem transport the worker
runs its blocking pool, which never sends ``worker_before_create_process`` (the asynchronous
pool of an AMQP or Redis worker does): that signal is read from Celery's source, not measured
here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import run_cowlint

MIB = 1 << 20

APP = '''\
import gc
import os

from celery import Celery
from celery.signals import {signal}

ROWS = [(n, [n]) for n in range(300_000)]  # ~40 MiB of small tracked objects, imported by the master

app = Celery("measured", broker="filesystem://")
app.conf.update(
    broker_transport_options={{"data_folder_in": os.environ["QUEUE"], "data_folder_out": os.environ["QUEUE"]}},
    worker_concurrency=2,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
)
{handler}

@app.task
def measure(out):
    gc.collect()  # what a child's first full collection writes
    with open("/proc/self/smaps_rollup") as rollup:
        private = sum(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Private_Dirty:"))
    with open(f"{{out}}.{{os.getpid()}}", "w") as written:
        written.write(str(private))
'''

FREEZE = "\n@{signal}.connect\ndef freeze(**kwargs):\n    gc.freeze()\n"
# signal -> whether its handler freezes in time (before the children's first collection)
HOOKS = {"worker_shutdown": None, "worker_init": True, "worker_process_init": True, "worker_ready": False}


def _children_private(root: Path, hook: str) -> list[int]:
    """Run a real Celery worker (2 prefork children) on the app with ``hook``'s handler freezing
    (``worker_shutdown``: an app with a handler that does not freeze); what each child holds
    privately after a full collection."""
    handler = FREEZE.format(signal=hook) if HOOKS[hook] is not None else "\n@worker_shutdown.connect\ndef bye(**kwargs):\n    pass\n"
    (root / "measured.py").write_text(APP.format(signal=hook, handler=handler))
    queue, out = root / "queue", root / "out"
    queue.mkdir()
    out.mkdir()
    env = dict(os.environ, QUEUE=str(queue), PYTHONPATH=str(root))
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "measured", "worker", "-l", "warning", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        send = f"import measured\nfor _ in range(8):\n    measured.measure.delay({str(out / 'm')!r})\n"
        subprocess.run([sys.executable, "-c", send], cwd=root, env=env, check=True, timeout=60)
        deadline = time.monotonic() + 60
        while len(list(out.iterdir())) < 2:
            assert time.monotonic() < deadline and worker.poll() is None, worker.communicate(timeout=5)[0]
            time.sleep(0.2)
        time.sleep(0.5)  # a file still being written
        return [int(path.read_text() or 0) for path in out.iterdir()]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_a_freeze_in_worker_init_or_worker_process_init_keeps_the_heap_shared_and_cow301_says_so(tmp_path: Path) -> None:
    """Without a freeze, each child's first collection copies the master's ~40 MiB heap; a freeze
    in worker_init (the master, after the imports, before the fork) or worker_process_init (each
    child, first) keeps it shared; one in worker_ready comes after the children collected.
    COW301 reports the app exactly where the children copy it."""
    pytest.importorskip("celery")
    for hook, in_time in HOOKS.items():
        root = tmp_path / hook
        root.mkdir()
        private = _children_private(root, hook)
        assert len(private) >= 2, (hook, private)
        if in_time:
            assert max(private) <= 12 * MIB, (hook, private)
        else:
            assert min(private) >= 25 * MIB, (hook, private)
        findings = run_cowlint("--no-cache", "measured.py", cwd=root)
        assert ("COW301" in findings.stdout) == (not in_time), (hook, findings.stdout)
