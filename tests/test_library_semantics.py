"""The claims the rules make about joblib, pathos and mpire, checked on the real libraries with
small data: what travels to a worker, how it starts, what it can pickle.

Each test runs a short script in a fresh interpreter (the libraries start processes; the test
process stays clean), and the static check of the same code is asserted beside it: a rule that
stays quiet must be quiet because the library really does not copy or break, and a rule that
reports must report what the library really does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import run_cowlint

pytest.importorskip("joblib")
pytest.importorskip("numpy")


def _run(tmp_path: Path, source: str) -> dict[str, object]:
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent(source))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _codes(tmp_path: Path, name: str = "probe.py") -> list[tuple[int, str]]:
    result = run_cowlint("--no-cache", "--output-format", "json", name, cwd=tmp_path)
    return sorted((finding["line"], finding["code"]) for finding in json.loads(result.stdout))


def _line(tmp_path: Path, text: str, name: str = "probe.py") -> int:
    """The number of the line of ``name`` that holds ``text``."""
    lines = (tmp_path / name).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_joblib_memory_maps_big_arrays_and_pickles_containers(tmp_path: Path) -> None:
    """COW102 stays quiet on a numpy array given to joblib (the worker gets a read-only memmap of
    the parent's dump, not a copy per batch), and reports a Python container, which arrives as a
    fresh copy; with max_nbytes=None the array is pickled too."""
    found = _run(
        tmp_path,
        """
        import json, os
        import numpy as np
        from joblib import Parallel, delayed

        def kind(i, data):
            return type(data).__name__, os.getpid()

        def main():
            vectors = np.ones(2_000_000 // 8)  # 2 MB: over joblib's 1 MB max_nbytes
            table = [[i] for i in range(50_000)]
            arrays = Parallel(n_jobs=2)(delayed(kind)(i, vectors) for i in range(4))
            lists = Parallel(n_jobs=2)(delayed(kind)(i, table) for i in range(4))
            pickled = Parallel(n_jobs=2, max_nbytes=None)(delayed(kind)(i, vectors) for i in range(4))
            print(json.dumps({"arrays": sorted({k for k, _ in arrays}), "lists": sorted({k for k, _ in lists}),
                              "pickled": sorted({k for k, _ in pickled}), "other_process": all(p != os.getpid() for _, p in arrays)}))

        if __name__ == "__main__":
            main()
        """,
    )
    assert found == {"arrays": ["memmap"], "lists": ["list"], "pickled": ["ndarray"], "other_process": True}
    # the list, and the array with memory-mapping off
    assert _codes(tmp_path) == [(_line(tmp_path, "lists = "), "COW102"), (_line(tmp_path, "pickled = "), "COW102")]


def test_joblib_workers_import_a_module_anew_and_take_a_script_s_functions_by_value(tmp_path: Path) -> None:
    """A loky worker is a fresh interpreter, on Linux too: a function of an imported module
    travels by reference and the worker imports the module anew, without the global the parent
    set at run time (COW201 reports it); a function of the main script travels by value with the
    globals it reads (cloudpickle), so the worker sees the parent's value (COW201 is quiet), and a
    nested function is no error (COW204 is quiet)."""
    (tmp_path / "jobs.py").write_text(
        textwrap.dedent(
            """
            from joblib import Parallel, delayed

            SETTINGS = None


            def read(i):
                return SETTINGS


            def run():
                global SETTINGS
                SETTINGS = "set by the parent"
                return Parallel(n_jobs=2)(delayed(read)(i) for i in range(2))
            """
        )
    )
    found = _run(
        tmp_path,
        """
        import json
        from joblib import Parallel, delayed
        import jobs

        SETTINGS = None

        def read(i):
            return SETTINGS

        def main():
            global SETTINGS
            SETTINGS = "set by the parent"
            here = Parallel(n_jobs=2)(delayed(read)(i) for i in range(2))

            def nested(i):
                return i * 2

            doubled = Parallel(n_jobs=2)(delayed(nested)(i) for i in range(3))
            print(json.dumps({"imported": jobs.run(), "script": here, "doubled": doubled}))

        if __name__ == "__main__":
            main()
        """,
    )
    assert found == {"imported": [None, None], "script": ["set by the parent"] * 2, "doubled": [0, 2, 4]}
    assert _codes(tmp_path, "jobs.py") == [(_line(tmp_path, "return Parallel", "jobs.py"), "COW201")]
    assert _codes(tmp_path) == []


def test_pathos_sends_lambdas_and_bound_methods_by_value(tmp_path: Path) -> None:
    """COW204 stays quiet on a lambda given to pathos (dill pickles it), and COW101 reports a bound
    method: dill pickles its instance with the tasks (the worker's copy is not the parent's)."""
    pytest.importorskip("pathos")
    found = _run(
        tmp_path,
        """
        import json, os
        from pathos.multiprocessing import ProcessPool

        class Holder:
            def __init__(self):
                self.rows = [[i] for i in range(20_000)]
                self.pid = os.getpid()

            def where(self, i):
                self.rows.append([i])  # a copy: the parent's list never grows
                return os.getpid() != self.pid

        def main():
            pool = ProcessPool(nodes=2)
            doubled = pool.map(lambda i: i * 2, range(3))
            holder = Holder()
            elsewhere = pool.map(holder.where, range(4))
            pool.close(); pool.join(); pool.clear()
            print(json.dumps({"doubled": doubled, "elsewhere": all(elsewhere), "parent_rows": len(holder.rows)}))

        if __name__ == "__main__":
            main()
        """,
    )
    assert found == {"doubled": [0, 2, 4], "elsewhere": True, "parent_rows": 20_000}
    assert _codes(tmp_path) == [(_line(tmp_path, "elsewhere = pool.map"), "COW101")]


@pytest.mark.skipif(sys.platform != "linux", reason="mpire's default start method is fork where the platform has it")
def test_mpire_forks_by_default_and_pickles_its_function_only_under_spawn(tmp_path: Path) -> None:
    """mpire's default start method is fork: its map function (an instance that refuses to be
    pickled) reaches the workers without pickling; under spawn the same call fails to pickle it.
    COW204 reports the nested function under spawn and, by default, only for Windows."""
    pytest.importorskip("mpire")
    found = _run(
        tmp_path,
        """
        import json
        from mpire import WorkerPool

        def main():
            factor = 3

            def scale(i):
                return i * factor

            with WorkerPool(n_jobs=2) as pool:
                forked = pool.map(scale, range(3))
            try:
                with WorkerPool(n_jobs=2, start_method="spawn") as pool:
                    pool.map(scale, range(3))
                spawned = "ran"
            except Exception as error:
                spawned = type(error).__name__
            print(json.dumps({"forked": forked, "spawned": spawned}))

        if __name__ == "__main__":
            main()
        """,
    )
    assert found["forked"] == [0, 3, 6] and found["spawned"] != "ran", found
    result = run_cowlint("--no-cache", "--output-format", "github", "probe.py", cwd=tmp_path)  # one line each, the detail included
    lines = [line.replace("probe.py,line=", "probe.py:").replace(",col=", ":") for line in result.stdout.splitlines() if "title=COW204" in line]
    assert len(lines) == 2, result.stdout
    assert f"probe.py:{_line(tmp_path, 'forked = pool.map')}:" in lines[0] and "breaks under spawn: Windows" in lines[0], lines
    assert f"probe.py:{_line(tmp_path, 'pool.map(scale, range(3))') + 3}:" in lines[1] and 'start_method="spawn"' in lines[1], lines


def test_verify_says_which_pools_it_sees_only_as_processes(tmp_path: Path) -> None:
    """--verify counts bytes pickled through multiprocessing's pickler; joblib's loky pickles with
    cloudpickle, which it does not count: the report says so, and still measures the workers."""
    script = tmp_path / "probe.py"
    script.write_text(
        textwrap.dedent(
            """
            from joblib import Parallel, delayed

            def double(i):
                return 2 * i

            if __name__ == "__main__":
                print(sum(Parallel(n_jobs=2)(delayed(double)(i) for i in range(8))))
            """
        )
    )
    result = run_cowlint("--verify", "probe.py", "--output-format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    problems = report["run"]["problems"]
    assert any("joblib (loky pickles its tasks with cloudpickle)" in problem and "not counted" in problem for problem in problems), problems
    assert any(site["start_method"] == "loky" and site["workers"] == 2 for site in report["call_sites"]), report["call_sites"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="max_tasks_per_child is new in Python 3.11")
def test_an_executor_recycling_its_workers_spawns_them_under_a_fork_pin(tmp_path: Path) -> None:
    """``ProcessPoolExecutor(max_tasks_per_child=...)`` without an mp_context asks for spawn itself:
    under ``set_start_method("fork")`` its workers still miss what the parent filled, and COW201
    says so (the same executor without it forks and is quiet)."""
    found = _run(
        tmp_path,
        """
        import json
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        RATES = {}

        def rate(key):
            return RATES.get(key)

        if __name__ == "__main__":
            multiprocessing.set_start_method("fork", force=True)
            RATES["EUR"] = 0.9
            with ProcessPoolExecutor(max_workers=1, max_tasks_per_child=2) as executor:
                recycled = list(executor.map(rate, ["EUR"]))
            with ProcessPoolExecutor(max_workers=1) as executor:
                forked = list(executor.map(rate, ["EUR"]))
            print(json.dumps({"recycled": recycled, "forked": forked}))
        """,
    )
    assert found == {"recycled": [None], "forked": [0.9]}, found
    assert _codes(tmp_path) == [(_line(tmp_path, "recycled = list"), "COW201")]


def test_torch_tensors_travel_as_shared_memory_through_multiprocessing_but_are_copied_by_joblib(tmp_path: Path) -> None:
    """COW102 stays quiet on a CPU tensor given to a multiprocessing Pool or a ProcessPoolExecutor:
    ``import torch`` registers a reducer with their pickler (``ForkingPickler``) that moves the
    storage to shared memory and sends a handle, so a worker receives a view of the same pages and
    the task is a few hundred bytes. joblib's loky pickles with cloudpickle, which sends the data
    itself: that is reported."""
    pytest.importorskip("torch")
    found = _run(
        tmp_path,
        """
        import json, pickle
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import Pool
        from multiprocessing.reduction import ForkingPickler

        import torch
        from joblib import Parallel, delayed

        def shared(weights, index):
            return weights.is_shared(), float(weights[index].sum())

        def main():
            weights = torch.ones(1024, 1024)  # 4 MiB of float32
            task = len(ForkingPickler.dumps(weights))
            whole = len(pickle.dumps(weights))
            with Pool(2) as pool:
                in_pool = pool.starmap(shared, [(weights, index) for index in range(4)])
            with ProcessPoolExecutor(2) as executor:
                in_executor = [future.result() for future in [executor.submit(shared, weights, index) for index in range(4)]]
            in_joblib = Parallel(n_jobs=2)(delayed(shared)(weights, index) for index in range(4))
            print(json.dumps({"task": task, "whole": whole, "pool": all(s for s, _ in in_pool), "executor": all(s for s, _ in in_executor),
                              "joblib": any(s for s, _ in in_joblib), "sums": sorted({v for _, v in in_pool + in_executor})}))

        if __name__ == "__main__":
            main()
        """,
    )
    assert found["pool"] is True and found["executor"] is True  # the workers hold shared storage, not a copy
    assert found["joblib"] is False  # loky's workers hold copies
    assert found["task"] < 2048 < (4 << 20) <= found["whole"], found  # a handle, against the whole data
    assert found["sums"] == [1024.0]
    # the static check reports the joblib call only
    assert _codes(tmp_path) == [(_line(tmp_path, "in_joblib = "), "COW102")]
