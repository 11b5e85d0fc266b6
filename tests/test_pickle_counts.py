"""How many times a payload is pickled, as a COW101/COW102 note says, against a real pool.

Each case is one dispatch shape written twice from one template: with a large numpy array, which
the static check reports and counts, and with a small object whose ``__reduce__`` writes a mark
each time the parent pickles it, which a real pool then runs. The count in the note must be the
number of marks: one pickle shares what repeats inside it, so ``Pool.map`` over task items that all
hold the object pickles it once per chunk, ``imap`` once per item, ``initargs`` once per worker.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cowlint

TEMPLATE = """\
import multiprocessing
import os

import numpy as np


class Counted:
    def __reduce__(self):
        if os.getpid() == PARENT:
            with open(MARKS, "a") as marks:
                marks.write("x")
        return (Counted, ())


def work(item):
    return 1


def pair(obj, i):
    return i


def init(obj):
    pass


def main():
    payload = {payload}
    {pool}
        {call}


PARENT = os.getpid()
MARKS = {marks!r}

if __name__ == "__main__":
    main()
"""

CASES = {
    "map, default chunks": ("with multiprocessing.get_context('fork').Pool(2) as pool:", "pool.map(work, [(payload, i) for i in range(100)])", r"into ([\d,]+) chunks"),
    "map, chunksize": ("with multiprocessing.get_context('fork').Pool(2) as pool:", "pool.map(work, [(payload, i) for i in range(100)], chunksize=30)", r": ([\d,]+) chunks"),
    "starmap, default chunks": ("with multiprocessing.get_context('fork').Pool(3) as pool:", "pool.starmap(pair, [(payload, i) for i in range(100)])", r"into ([\d,]+) chunks"),
    "imap": ("with multiprocessing.get_context('fork').Pool(2) as pool:", "list(pool.imap(work, [(payload, i) for i in range(20)]))", r": ([\d,]+) items"),
    "initargs": (
        "with multiprocessing.get_context('spawn').Pool(3, initializer=init, initargs=(payload,)) as pool:",
        "pool.map(work, range(3))",
        r"up to ([\d,]+) at a time",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_count_in_the_note_is_what_a_real_pool_pickles(case: str, tmp_path: Path) -> None:
    pool, call, pattern = CASES[case]
    marks = tmp_path / "marks"
    static = tmp_path / "static.py"
    static.write_text(TEMPLATE.format(payload="np.zeros(20_000_000)", pool=pool, call=call, marks=str(marks)))
    result = run_cowlint("--isolated", "--no-cache", "--output-format", "json", str(static))
    findings = [finding for finding in json.loads(result.stdout) if finding["code"] == "COW102"]
    assert len(findings) == 1, result.stdout
    found = re.search(pattern, findings[0]["detail"])
    assert found, findings[0]["detail"]
    said = int(found.group(1).replace(",", ""))
    assert "in memory and pickled" in findings[0]["message"]  # an array pickles to its own size
    # a total where the count is fixed: a pool may replace its workers (no total for initargs)
    assert ("pickled in all" in findings[0]["detail"]) == (case != "initargs")

    real = tmp_path / "real.py"
    real.write_text(TEMPLATE.format(payload="Counted()", pool=pool, call=call, marks=str(marks)))
    subprocess.run([sys.executable, str(real)], check=True, timeout=120, cwd=tmp_path)
    assert marks.read_text() == "x" * said


def test_sizes_say_in_memory_and_each_call_is_counted(tmp_path: Path) -> None:
    """A container of Python objects pickles to a size of its own: the message gives the size in
    memory only; ``submit`` in a loop is pickled with every call."""
    source = tmp_path / "calls.py"
    source.write_text(
        "from concurrent.futures import ProcessPoolExecutor\n"
        "\n"
        "def work(table, i):\n"
        "    return i\n"
        "\n"
        "def main():\n"
        "    table = {i: str(i) for i in range(2_000_000)}\n"
        "    with ProcessPoolExecutor(4) as executor:\n"
        "        return [executor.submit(work, table, i) for i in range(8)]\n"
    )
    result = run_cowlint("--isolated", "--no-cache", "--output-format", "json", str(source))
    (finding,) = [finding for finding in json.loads(result.stdout) if finding["code"] == "COW102"]
    assert re.search(r"table \(~[\d.]+ MiB in memory\)", finding["message"]), finding["message"]
    assert "pickled" not in finding["message"].split(")")[0]
    assert "pickled with every call, each unpickled into a new copy in the worker" in finding["detail"]
    assert "pickled in all" not in finding["detail"]  # its pickled size is not known
