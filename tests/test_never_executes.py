"""Static checking never imports or executes the code it reads."""

from __future__ import annotations

from pathlib import Path

from .conftest import run_cowlint

TRAP = """\
import pathlib
pathlib.Path({marker!r}).write_text("imported")
from multiprocessing import Pool

import numpy as np

if __name__ == "__main__":
    pathlib.Path({marker!r}).write_text("executed")


class Job:
    def __init__(self):
        self.data = np.zeros(10**8)
        pathlib.Path({marker!r}).write_text("instantiated")

    def work(self, i):
        return i

    def run(self):
        with Pool() as pool:
            return pool.map(self.work, range(4))
"""


def test_checking_a_module_never_runs_it(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(TRAP.format(marker=str(marker)))
    (package / "__main__.py").write_text(TRAP.format(marker=str(marker)))
    (package / "job.py").write_text(TRAP.format(marker=str(marker)))
    (tmp_path / "conftest.py").write_text(TRAP.format(marker=str(marker)))
    (tmp_path / "pyproject.toml").write_text("[tool.cowlint]\nlarge-threshold = '1MiB'\n")
    result = run_cowlint("--output-format", "concise", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.count("COW101") == 4  # every trap was read...
    assert not marker.exists()  # ...and none was run
    stdin = run_cowlint("-", "--stdin-filename", "setup.py", stdin=TRAP.format(marker=str(marker)).encode(), cwd=tmp_path)
    assert stdin.returncode == 1
    assert not marker.exists()


def plant_traps(root: Path, marker: Path) -> None:
    """A package whose every module writes ``marker`` if it is ever imported or run."""
    package = root / "pkg"
    package.mkdir()
    for name in ("__init__.py", "__main__.py", "job.py"):
        (package / name).write_text(TRAP.format(marker=str(marker)))
    (root / "conftest.py").write_text(TRAP.format(marker=str(marker)))
    (root / "setup.py").write_text(TRAP.format(marker=str(marker)))


def test_configuration_cannot_name_code_to_import(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    plant_traps(tmp_path, marker)
    for key, value in (("plugins", '["pkg.job"]'), ("rules", '["pkg"]'), ("init-hook", f'"open({str(marker)!r}, \'w\')"')):
        (tmp_path / "pyproject.toml").write_text(f"[tool.cowlint]\n{key} = {value}\n")
        result = run_cowlint(".", cwd=tmp_path)
        assert result.returncode == 2 and f"unknown key '{key}'" in result.stderr
        assert not marker.exists()
    # the one key that names code is data: the declared pool wrapper's module is never imported,
    # though the checked code calls it with a lambda (reported, from the declaration alone)
    (tmp_path / "pyproject.toml").write_text('[tool.cowlint.extra-dispatch-apis]\n"pkg.job.run" = { function = 0, items = 1 }\n')
    (tmp_path / "caller.py").write_text("from pkg.job import run\n\nrun(lambda row: row, [1, 2])\n")
    result = run_cowlint("--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 1 and "caller.py:3:5: COW204" in result.stdout, result.stdout + result.stderr
    assert not marker.exists()
