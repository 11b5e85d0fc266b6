"""``--verify`` reports what each worker really copied, also where sampling alone would miss
it: reproductions of the defects an audit found (issue 20), each measured against the
worker's own memory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .test_verify import MIB, verify_json

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the verifier measures through /proc (Linux)")

BURST = """\
import multiprocessing
import time


def burst():
    time.sleep(0.6)  # sampled several times before the burst
    block = b"x" * ({mib} << 20)
    del block
    time.sleep(0.6)  # and after it


if __name__ == "__main__":
    worker = multiprocessing.get_context("fork").Process(target=burst)
    worker.start()
    worker.join()
"""


def test_a_burst_between_two_samples_is_reported_whole(tmp_path: Path) -> None:
    """A 40 MiB allocation made and freed between two samples shows only in the kernel's
    high-water mark. The worker's memory at the fork is all shared with the parent: taking it
    for none made the fallback subtract every page still shared at the last sample (~13 MiB of
    the interpreter), and the burst was reported at ~27 MiB."""
    script = tmp_path / "burst.py"
    script.write_text(BURST.format(mib=40))
    report, stderr, status = verify_json(script, "--sample-interval", "0.1")
    assert status == 0, stderr
    [worker] = report["workers"]
    assert worker["samples"] >= 3, worker  # the case: sampled before and after, never during
    assert 38 * MIB <= worker["peak_copied_bytes"] <= 46 * MIB, worker
