"""What a cached result depends on in another module: the module's slice for the name asked
about, not its bytes. An edit that cannot change the answer keeps the result cached; every
kind of edit that can change it (the name's own statement, what it calls, a function that fills
a global it reads) changes the fingerprint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cowlint.engine.project.linking import absence
from cowlint.engine.project.slices import fingerprint
from cowlint.engine.source import digest

from .conftest import FIXTURES, app_project, run_cowlint

MODULE = '''\
"""Helpers of the application."""

import json

REGISTRY = {}
LIMIT = 10


def load(path):
    with open(path) as handle:
        return _parse(handle.read())


def _parse(text):
    return json.loads(text)


def unrelated(values):
    return sorted(values)[:LIMIT]


class Table:
    def __init__(self, rows):
        self.rows = rows
'''


def _print(text: str, name: str) -> str:
    data = text.encode()
    return fingerprint(data, digest(data), name)


@pytest.mark.parametrize(
    ("edit", "name"),
    [
        (lambda text: text + "\n# the end\n", "load"),
        (lambda text: text.replace("\n\ndef load", "\n# loading\n\ndef load"), "load"),
        (lambda text: text.replace("sorted(values)", "list(values)"), "load"),
        (lambda text: text.replace("self.rows = rows", "self.rows = list(rows)"), "load"),
        (lambda text: text + "\n\ndef local_only(REGISTRY):\n    REGISTRY.update(a=1)\n", "load"),  # its own parameter
        (lambda text: text.replace("json.loads(text)", "json.loads(text or '{}')"), "Table"),
    ],
    ids=["comment-at-end", "comment-between", "other-function", "other-class", "a-local-of-the-same-name", "a-function-the-class-never-calls"],
)
def test_an_edit_the_answer_cannot_read_keeps_the_fingerprint(edit, name: str) -> None:
    assert _print(edit(MODULE), name) == _print(MODULE, name)


@pytest.mark.parametrize(
    ("edit", "name"),
    [
        (lambda text: text.replace("return _parse(handle.read())", "return handle.read()"), "load"),
        (lambda text: text.replace("json.loads(text)", "json.loads(text or '{}')"), "load"),  # called by load
        (lambda text: text.replace("def load(path):", "@staticmethod\ndef load(path):"), "load"),  # its decorator
        (lambda text: text.replace("LIMIT = 10", "LIMIT = 20"), "load"),  # module code decides every name
        (lambda text: text + "\n\ndef fill():\n    global LIMIT\n    LIMIT = 99\n", "load"),
        (lambda text: text + "\n\ndef register(key, value):\n    REGISTRY[key] = value\n", "load"),
        (lambda text: text + "\n\ndef register(value):\n    REGISTRY.setdefault('k', []).append(value)\n", "load"),
        (lambda text: text + "\n\ndef configure(parser):\n    parser.parse_args(namespace=REGISTRY)\n", "load"),
        (lambda text: text + "\n\ndef configure():\n    globals()['EXTRA'] = 1\n", "load"),
        (lambda text: text + "\n\ndef load(path):\n    return path\n", "load"),  # defined again
        (lambda text: text + "\n\ndef __getattr__(name):\n    return name\n", "missing"),
        (lambda text: text.replace("self.rows = rows", "self.rows = _parse(rows)"), "Table"),
    ],
    ids=[
        "its-own-body",
        "a-function-it-calls",
        "its-decorator",
        "module-code",
        "global-statement",
        "item-store",
        "in-place-method",
        "passed-to-a-call",
        "globals",
        "defined-again",
        "module-getattr",
        "class-calls-a-function",
    ],
)
def test_an_edit_the_answer_may_read_changes_the_fingerprint(edit, name: str) -> None:
    assert _print(edit(MODULE), name) != _print(MODULE, name)


def test_the_names_all_exports_are_no_dependency() -> None:
    exported = MODULE + "\n__all__ = ['load', 'unrelated', 'Table']\n"
    assert _print(exported.replace("sorted(values)", "list(values)"), "Table") == _print(exported, "Table")


def test_a_module_that_does_not_parse_is_its_own_fingerprint() -> None:
    data = MODULE.encode() + b"\ndef broken(:\n"
    assert fingerprint(data, digest(data), "load") == digest(data)


def test_an_absent_name_changes_when_it_is_defined_or_star_imported() -> None:
    data = MODULE.encode()
    before = absence(data, "defines:fetch")
    assert absence(data + b"\n# fetch later\n", "defines:fetch") == before
    assert absence(data + b"\ndef fetch(url):\n    return url\n", "defines:fetch") == "defined"
    assert absence(b"from .net import *\n" + data, "defines:fetch") not in (before, "defined")
    assert absence(data, "assigns:LIMIT") == "defined"


def test_a_warm_run_checks_again_only_the_importers_an_edit_can_change(tmp_path: Path) -> None:
    """app/prices.py imports threaded() and the pool wrappers of app/parallel.py; app/helpers.py
    imports only parallel(). A comment in parallel.py checks parallel.py alone; an edit of
    threaded() checks prices.py too, not helpers.py; an edit of parallel() checks both, and the
    findings follow it."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "pool_wrappers", project)
    first = run_cowlint(".", cwd=project)
    assert "Found 7 findings in 1 file (4 files read, 3 parsed)." in first.stdout, first.stdout
    module = project / "app" / "parallel.py"
    text = module.read_text()
    module.write_text(text + "\n# the pool wrappers\n")
    assert "(4 files read, 1 parsed, 3 unchanged since the last run)" in run_cowlint(".", cwd=project).stdout
    module.write_text(module.read_text().replace("        return list(executor.map(fn, items))", "        return [*executor.map(fn, items)]"))
    assert "(4 files read, 2 parsed, 2 unchanged since the last run)" in run_cowlint(".", cwd=project).stdout
    module.write_text(module.read_text().replace("    with Pool(processes) as pool:\n        return pool.map(fn, items)", "    return list(map(fn, items))"))
    edited = run_cowlint(".", cwd=project)
    # parallel() dispatches no more: helpers.py is planned again, and ruled out
    assert "Found 2 findings in 1 file (4 files read, 2 parsed, 1 unchanged since the last run)." in edited.stdout, edited.stdout


def test_a_comprehension_variable_hides_no_global_of_the_function() -> None:
    """``[TABLE for TABLE in rows]`` binds TABLE in the comprehension only: the function's
    ``TABLE.update(rows)`` fills the module's TABLE, which the worker reads (review finding)."""
    module = "TABLE = {}\n\n\ndef work(x):\n    return TABLE[x]\n\n\ndef fill(rows):\n    pass\n"
    filled = module.replace("    pass\n", "    TABLE.update(rows)\n    return [TABLE for TABLE in rows]\n")
    assert _print(filled, "work") != _print(module, "work")
    local = module.replace("    pass\n", "    TABLE = dict(rows)\n    TABLE.update(rows)\n")  # its own TABLE: nothing of the module's
    assert _print(local, "work") == _print(module, "work")


def test_a_caller_of_the_function_is_in_its_slice() -> None:
    """The resolver reads a function's callers: ``main()`` pins the start method and then calls
    ``parallel()``, or passes it a context; editing the caller changes what the wrapper does."""
    module = (
        "import multiprocessing as mp\nfrom multiprocessing import Pool\n\n\ndef parallel(fn, items):\n    with Pool() as pool:\n        return pool.map(fn, items)\n\n\n"
        "def main():\n    mp.set_start_method(\"fork\")\n    parallel(print, [1])\n\n\ndef unrelated():\n    return 1\n"
    )
    assert _print(module.replace('"fork"', '"spawn"'), "parallel") != _print(module, "parallel")
    assert _print(module.replace("    parallel(print, [1])\n", "    helper()\n\n\ndef helper():\n    parallel(print, [1])\n"), "parallel") != _print(module, "parallel")
    assert _print(module.replace("return 1", "return 2"), "parallel") == _print(module, "parallel")


_BIG = "import numpy as np\n\nEMBEDDINGS = np.zeros((20000, 1000))\n"
_NOTES = "".join(f"# note {i:05d} {'x' * 60}\n" for i in range(4000))  # ~300 KB of comments


@pytest.mark.parametrize(
    ("files", "edited", "before", "after"),
    [
        ({"app/b.py": _BIG}, {"app/b.py": _BIG + _NOTES}, 1, 0),
        ({"app/b.py": _BIG + _NOTES}, {"app/b.py": _BIG}, 0, 1),
        ({"app/b.py": "from .c import *\n", "app/c.py": "OTHER = 1\n"}, {"app/c.py": _BIG}, 0, 1),
    ],
    ids=["grows-past-the-limit", "shrinks-below-it", "star-import-starts-defining-it"],
)
def test_a_warm_run_follows_what_the_linker_could_not_read(tmp_path: Path, files: dict[str, str], edited: dict[str, str], before: int, after: int) -> None:
    """The review's cases: a module past 256 KiB is not linked (its answers are not given), so
    growing past it or shrinking below it changes the importer's findings; a name that is not
    there yet behind a star import depends on the module the star import reads."""
    importer = (
        "from multiprocessing import Pool\n\nfrom app.b import EMBEDDINGS\n\n\ndef similarity(vectors, i):\n    return float(vectors[i].sum())\n\n\n"
        "def run(n):\n    with Pool() as pool:\n        pool.starmap(similarity, [(EMBEDDINGS, i) for i in range(n)])\n"
    )
    project = app_project(tmp_path, "x", ("app/a.py", importer))
    for path, text in files.items():
        (project / path).write_text(text)
    assert run_cowlint("--output-format", "concise", ".", cwd=project).stdout.count("COW102") == before
    for path, text in edited.items():
        (project / path).write_text(text)
    warm = run_cowlint("--output-format", "concise", ".", cwd=project).stdout
    assert warm.count("COW102") == after == run_cowlint("--no-cache", "--output-format", "concise", ".", cwd=project).stdout.count("COW102"), warm
