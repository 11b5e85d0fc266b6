"""Python 3.14's ``InterpreterPoolExecutor``, run for real on every Python 3.14 or later found
(``conftest.interpreters``; none here means nothing to run), against what COW101, COW202 and
COW204 say of the same script: a stateless function (no closure, no defaults, no globals) is
shared without pickle and imports nothing; any other callable is pickled, so a closure or a lambda
that reads a global fails, a bound method pickles its instance into every task, and a function
sent by name makes each worker interpreter import the main script anew."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import FIXTURES, interpreters, run_cowlint

SCRIPT = r'''
import json, os, sys
from concurrent.futures import InterpreterPoolExecutor

with open(os.environ["IMPORTS_LOG"], "a") as log:  # one line each time this script is imported
    log.write(__name__ + "\n")
WEIGHT = 3
ROWS = list(range(2_000_000))


def score(i):
    return ROWS[i] * WEIGHT


class Marker:
    """Logs each time it is pickled: once per task when it rides along with its Ranker."""

    def __reduce__(self):
        with open(os.environ["PICKLES_LOG"], "a") as log:
            log.write("x\n")
        return (Marker, ())


class Ranker:
    def __init__(self, table):
        self.table = table
        self.marker = Marker()

    def rank(self, i):
        return self.table[i]

    def run(self, n):
        with InterpreterPoolExecutor(2) as executor:
            return list(executor.map(self.rank, range(n)))


def outcome(future):
    try:
        future.result()
        return "ok"
    except Exception as error:
        return type(error).__name__


def run(offset):
    def shifted(x):
        return x + offset

    def squared(x):
        y = x * x
        return len(str(y))

    outcomes = {}
    with InterpreterPoolExecutor(2) as executor:
        outcomes[sys._getframe().f_lineno] = outcome(executor.submit(lambda x: x * 2, 1))
        outcomes[sys._getframe().f_lineno] = outcome(executor.submit(squared, 1))
        outcomes[sys._getframe().f_lineno] = outcome(executor.submit(shifted, 1))
        outcomes[sys._getframe().f_lineno] = outcome(executor.submit(lambda x: x + offset, 1))
        outcomes[sys._getframe().f_lineno] = outcome(executor.submit(lambda x: x * WEIGHT, 1))
        outcomes[sys._getframe().f_lineno] = outcome(executor.submit(lambda x, k=2: x * k, 1))
    return outcomes


def stateless_only():
    with InterpreterPoolExecutor(2) as executor:
        return list(executor.map(abs, range(-4, 0)))


def by_name():
    with InterpreterPoolExecutor(2) as executor:
        return list(executor.map(score, range(4)))


def bound(n):
    return Ranker(list(range(3_000_000))).run(n)


if __name__ == "__main__":
    print(json.dumps({"outcomes": run(1), sys.argv[1]: globals()[sys.argv[1]](*map(int, sys.argv[2:]))}))
'''

NEW_ENOUGH = {version: python for version, python in interpreters().items() if version >= (3, 14)}


def _run(python: str, folder: Path, *args: str) -> tuple[dict, list[str], int]:
    imports, pickles = folder / "imports.log", folder / "pickles.log"
    for log in (imports, pickles):
        log.write_text("")
    env = {"IMPORTS_LOG": str(imports), "PICKLES_LOG": str(pickles), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run([python, "pool.py", *args], capture_output=True, text=True, timeout=300, cwd=folder, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1]), imports.read_text().splitlines(), len(pickles.read_text().splitlines())


@pytest.mark.skipif(not NEW_ENOUGH, reason="needs Python 3.14 or later (set COWLINT_TEST_PYTHONS to one)")
@pytest.mark.parametrize("version", sorted(NEW_ENOUGH), ids=lambda v: f"{v[0]}.{v[1]}")
def test_what_fails_and_what_is_rebuilt_is_what_the_rules_say(tmp_path: Path, version: tuple[int, int]) -> None:
    python = NEW_ENOUGH[version]
    (tmp_path / "pool.py").write_text(SCRIPT)
    result, imports, _ = _run(python, tmp_path, "stateless_only")
    failing = sorted(int(line) for line, outcome in result["outcomes"].items() if outcome != "ok")
    done = run_cowlint("--output-format", "json", "--isolated", "--python", ">=3.14", "pool.py", cwd=tmp_path)
    findings = json.loads(done.stdout)
    assert sorted(f["line"] for f in findings if f["code"] == "COW204") == failing, findings
    assert len(failing) == 4  # the closure, the two lambdas that read a name of their own, the default
    # stateless callables only: the script was imported once, by itself, however many tasks
    assert imports == ["__main__"]
    _, imports, _ = _run(python, tmp_path, "by_name")
    assert imports[0] == "__main__" and len(imports) == 1 + 2, imports  # each of the 2 worker interpreters imports it anew
    assert any(f["code"] == "COW202" and "worker interpreter of score" in f["message"] for f in findings), findings
    _, _, pickled = _run(python, tmp_path, "bound", "6")
    assert pickled == 6  # the instance is pickled into every task
    assert any(f["code"] == "COW101" and "into every task" in f["message"] for f in findings), findings


@pytest.mark.skipif(not NEW_ENOUGH, reason="needs Python 3.14 or later (set COWLINT_TEST_PYTHONS to one)")
@pytest.mark.parametrize("version", sorted(NEW_ENOUGH), ids=lambda v: f"{v[0]}.{v[1]}")
def test_an_unguarded_executor_fails_only_for_a_function_sent_by_name(tmp_path: Path, version: tuple[int, int]) -> None:
    """COW203's fixture, run: its stateless map works (and runs again in each worker interpreter
    that imports the script for the other map), the map of a function that reads a global fails."""
    fixture = FIXTURES / "COW203" / "interpreter_pool.py"
    (tmp_path / "unguarded.py").write_text(fixture.read_text())
    done = subprocess.run([NEW_ENOUGH[version], "unguarded.py"], capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False)
    assert done.returncode != 0 and "NotShareableError" in done.stderr, done.stderr[-2000:]
    assert done.stdout.splitlines()[0] == "[0, 2, 4, 6]"
    reported = json.loads(run_cowlint("--output-format", "json", "--isolated", str(fixture)).stdout)
    assert [(f["code"], f["line"]) for f in reported] == [("COW203", 27)]
