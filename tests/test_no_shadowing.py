"""A static run never imports a module of the checked tree, even one named like the standard library.

multiprocessing starts its helper interpreters (forkserver, resource tracker,
spawned workers) as ``python -c ...``, which puts the current folder first on
``sys.path``; ``python -m cowlint`` does the same for cowlint itself. A tree
that holds ``selectors.py`` or ``libcst.py`` must be read, never run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import run_cowlint

# modules the forkserver, the resource tracker and a spawned worker import after they start
SHADOWED = ("selectors", "random", "types", "signal", "struct", "tempfile", "weakref", "socket", "threading", "pickle")
MARKER = "import os as _os\nopen(_os.path.join({folder!r}, 'MARK_{name}_' + str(_os.getpid())), 'w').write('executed')\n"

POOL_MODULE = """\
from multiprocessing import Pool


def square(x):
    return x * x


TABLE_{index} = {{}}


def fill():
    TABLE_{index}.update(a=1)


def run():
    fill()
    with Pool() as pool:
        return pool.map(read_{index}, range(4))


def read_{index}(x):
    return TABLE_{index}.get("a", x)
"""


def shadow_tree(root: Path, marks: Path, modules: int = 20) -> None:
    """``modules`` pool modules (enough for worker processes) and stdlib-named traps beside them."""
    for name in (*SHADOWED, "sitecustomize", "usercustomize", "conftest", "libcst"):
        (root / f"{name}.py").write_text(MARKER.format(folder=str(marks), name=name))
    (root / "evil.pth").write_text("import os; " + MARKER.format(folder=str(marks), name="pth").replace("\n", "; ") + "\n")
    for index in range(modules):
        (root / f"job{index:02d}.py").write_text(POOL_MODULE.format(index=index))


def markers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("MARK_*"))


def test_worker_processes_never_import_the_checked_folder(tmp_path: Path) -> None:
    tree, marks = tmp_path / "tree", tmp_path / "marks"
    tree.mkdir()
    marks.mkdir()
    shadow_tree(tree, marks)
    result = run_cowlint("--no-cache", "--jobs", "2", "--output-format", "concise", ".", cwd=tree)
    assert markers(marks) == []
    assert result.returncode == 1, result.stderr
    # every module was checked in the workers: no fallback to the parent after a crashed helper
    assert result.stdout.count("COW201") == 20, result.stdout + result.stderr
    assert "worker processes failed" not in result.stderr and "Traceback" not in result.stderr


def test_python_dash_m_never_imports_the_current_folder(tmp_path: Path) -> None:
    tree, marks = tmp_path / "tree", tmp_path / "marks"
    tree.mkdir()
    marks.mkdir()
    (tree / "job00.py").write_text(POOL_MODULE.format(index=0))
    # modules cowlint imports itself, after Python's own -m machinery (runpy) is done: a shadowed
    # ``types`` or ``functools`` breaks runpy before any of cowlint runs, which is beyond its reach
    for name in ("libcst", "ast", "tokenize", "tomllib", "json", "dataclasses", "difflib"):
        (tree / f"{name}.py").write_text(MARKER.format(folder=str(marks), name=name))
    result = subprocess.run([sys.executable, "-m", "cowlint", "--no-cache", "--jobs", "1", "job00.py"], cwd=tree, capture_output=True, text=True, timeout=300)
    assert markers(marks) == []
    assert result.returncode == 1 and "COW201" in result.stdout, result.stdout + result.stderr
