"""The prefilter only skips files that cannot produce findings.

Both tiers (the byte prefilter, then the syntax-tree check before the libcst
parse) are off with ``use_prefilter=False``: the full engine must then report
exactly the same rule findings over the fixtures, the examples, the project's
own code and the whole standard library. COW901 (a file that does not parse) is
only reported for files that pass the prefilter, so it is left out of the
comparison.
"""

from __future__ import annotations

import sysconfig

from cowlint import Config, check_paths

from .conftest import ROOT


def _same_findings(paths: list[str], jobs: int = 1) -> tuple[int, int]:
    """(files the prefilter kept from libcst, files in all)."""
    config = Config()
    filtered = check_paths(paths, config, jobs=jobs)
    unfiltered = check_paths(paths, config, use_prefilter=False, jobs=jobs)
    assert not filtered.errors and not unfiltered.errors
    assert [f for f in filtered.findings if f.code != "COW901"] == [f for f in unfiltered.findings if f.code != "COW901"]
    assert unfiltered.files_parsed >= filtered.files_parsed
    return unfiltered.files_parsed - filtered.files_parsed, unfiltered.files_parsed


def test_prefilter_is_sound_on_project_files() -> None:
    _same_findings([str(ROOT / "fixtures"), str(ROOT / "examples"), str(ROOT / "src")])


def test_prefilter_is_sound_on_the_standard_library() -> None:
    # ~1 minute on 2 cores: libcst parses all files once without the prefilter (1,790 in a full CPython
    # 3.11 install; 668 in Debian's python3.11, which leaves the test package out)
    stdlib = sysconfig.get_paths()["stdlib"]
    skipped, total = _same_findings([stdlib], jobs=2)
    assert total > 500 and skipped > 0.9 * total  # the prefilter does skip most of the tree


def _tiers(source: str) -> tuple[bool, bool]:
    """(whether the byte prefilter lets the source through, whether libcst then parsed it)."""
    from cowlint.engine.module.check import check_bytes, plan_file

    data = source.encode()
    return plan_file(data, "case.py", Config(), True)[1] is not None, check_bytes(data, "case.py", Config()).parsed


def test_the_syntax_tree_tier_reads_names_as_python_binds_them() -> None:
    """A bare name among the candidates counts only where the module binds it: the builtin map(), the
    module's own class Manager, run_in_executor(None, ...) (the loop's thread pool) do not send a file to
    libcst; the same names imported, assigned, taken as a parameter or star-imported do. Every source passes
    the byte prefilter (a comment names a pool): the syntax-tree tier is what decides."""
    head = "# runs beside a multiprocessing Pool, ProcessPoolExecutor and Process: p.map(...)\n"
    skipped = {
        "builtin map": "print(list(map(str, range(3))))\n",
        "own class": "class Manager:\n    pass\nm = Manager()\n",
        "default executor": "async def main(loop):\n    return await loop.run_in_executor(None, print)\n",
        "unbound name": "def f():\n    return Process\n",
    }
    parsed = {
        "imported": "from multiprocessing import Process\n",
        "assigned": "Pool = pool_class()\nwith Pool(2) as workers:\n    pass\n",
        "parameter": "def run(Process):\n    Process(target=print).start()\n",
        "star import": "from helpers import *\nProcess(target=print).start()\n",
        "an executor": "async def main(loop, pool):\n    return await loop.run_in_executor(pool, print)\n",
        "gunicorn setting": "workers = 4\npreload_app = True\n",
    }
    for name, source in skipped.items():
        assert _tiers(head + source) == (True, False), name
    for name, source in parsed.items():
        assert _tiers(head + source) == (True, True), name
