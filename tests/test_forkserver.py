"""Where a script's import-time data is built under each start method, measured on every Python
found (``conftest.interpreters``), and COW202's verdict on the same script.

A fork server imports the main script once, before it forks the workers, from Python 3.14 on: its
``set_forkserver_preload`` default is ``["__main__"]``, but before 3.14 the script's path never
reached the server (it asked the preparation data for ``main_path``, a key that is not there), so
every worker imported the script anew. The workers of a 3.14 fork server inherit its copy and
share its pages until they read them; a script run with ``python -m``, or a preload list without
``"__main__"``, is imported by each worker on every version. COW202 (data built at import is
rebuilt by every worker) states exactly this, and is quiet where the server builds it once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import interpreters, run_cowlint

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forkserver, and /proc/self/smaps_rollup")

SCRIPT = r"""
import gc, json, multiprocessing, os, sys

gc.disable()
ROWS = [("r%07d" % i, i) for i in range(100_000)]  # ~15 MiB of small tuples and strings
BUILT_IN = os.getpid()


def private_mib():
    with open("/proc/self/smaps_rollup") as rollup:
        fields = ("Private_Dirty:", "Private_Clean:")
        return sum(int(line.split()[1]) for line in rollup if line.startswith(fields)) / 1024


def where(_):
    built = "parent" if BUILT_IN == PARENT else "worker" if BUILT_IN == os.getpid() else "server" if BUILT_IN == os.getppid() else "?"
    return built, private_mib()


PARENT = int(os.environ["PARENT_PID"]) if "PARENT_PID" in os.environ else os.getpid()
if __name__ == "__main__":
    os.environ["PARENT_PID"] = str(os.getpid())
    method = sys.argv[1]
    if sys.argv[2:] == ["no-preload"]:
        multiprocessing.set_forkserver_preload([])
    with multiprocessing.get_context(method).Pool(2) as pool:
        print(json.dumps(pool.map(where, [0, 1], chunksize=1)))
"""


def _built(python: str, folder: Path, method: str, *extra: str, module: bool = False) -> tuple[set[str], float]:
    """Where each of two workers found ROWS built, and the least private memory one of them holds."""
    target = ["-m", "where_built"] if module else [str(folder / "where_built.py")]
    done = subprocess.run([python, *target, method, *extra], capture_output=True, text=True, timeout=180, cwd=folder, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.splitlines()[-1])
    return {built for built, _ in results}, min(private for _, private in results)


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("forkserver")
    (folder / "where_built.py").write_text(SCRIPT)
    return folder


@pytest.mark.parametrize("version", sorted(interpreters()), ids=lambda v: f"{v[0]}.{v[1]}")
def test_the_fork_server_imports_the_main_script_once_from_python_3_14(script: Path, version: tuple[int, int]) -> None:
    python = interpreters()[version]
    assert _built(python, script, "fork")[0] == {"parent"}
    spawned, spawned_private = _built(python, script, "spawn")
    assert spawned == {"worker"}
    served, served_private = _built(python, script, "forkserver")
    if version >= (3, 14):
        assert served == {"server"}, "Python 3.14's fork server preloads the main script"
        # the workers share the server's pages: each holds far less of its own than a spawned one
        assert served_private < spawned_private / 2, (served_private, spawned_private)
        assert _built(python, script, "forkserver", "no-preload")[0] == {"worker"}
    else:
        assert served == {"worker"}, "before 3.14 the script's path never reached the fork server"
    assert _built(python, script, "forkserver", module=True)[0] == {"worker"}, "python -m is never preloaded"


def test_cow202_is_quiet_where_the_fork_server_builds_the_data_once(script: Path) -> None:
    """The same script, with its data big enough to report: rebuilt by spawned workers (reported);
    Linux with Python >= 3.14, whose fork server builds it once, is quiet; a forkserver before 3.14
    rebuilds it in every worker (reported)."""
    text = SCRIPT.replace("range(100_000)", "range(3_000_000)").replace("get_context(method)", 'get_context("forkserver")')
    (script / "big.py").write_text(text)

    def cow202(*options: str) -> list[dict]:
        done = run_cowlint("--output-format", "json", "--select", "COW202", *options, "big.py", cwd=script)
        return json.loads(done.stdout)

    assert cow202("--platforms", "linux", "--python", ">=3.14") == []
    before = cow202("--platforms", "linux", "--python", ">=3.12")
    assert [f["code"] for f in before] == ["COW202"] and "ROWS" in before[0]["message"]
    # a preload list without "__main__" (the measured no-preload case): every worker imports the script
    unloaded = text.replace('if sys.argv[2:] == ["no-preload"]:\n        ', "")
    assert "\n    multiprocessing.set_forkserver_preload([])" in unloaded
    (script / "big.py").write_text(unloaded)
    assert [f["code"] for f in cow202("--platforms", "linux", "--python", ">=3.14")] == ["COW202"]
    default = SCRIPT.replace("range(100_000)", "range(3_000_000)").replace("get_context(method).Pool", "Pool")
    (script / "big.py").write_text(default)
    spawned = cow202("--python", ">=3.14")  # macOS and Windows spawn; Linux's fork server builds it once
    assert len(spawned) == 1 and "fork server builds it once" in spawned[0]["detail"]
    assert "macOS, Windows" in spawned[0]["detail"]
