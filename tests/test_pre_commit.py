"""The real pre-commit, running this checkout's hook in a temporary git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT
from .test_never_executes import plant_traps

FLAGGED = """\
from multiprocessing import Pool

import numpy as np


class Index:
    def __init__(self):
        self.vectors = np.zeros((100_000, 256))

    def nearest(self, i):
        return i

    def search(self, ids):
        with Pool() as pool:
            return pool.map(self.nearest, ids)
"""
FIXED = FLAGGED.replace("pool.map(self.nearest, ids)", "pool.map(nearest, ids)") + "\n\ndef nearest(i):\n    return i\n"


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def _pre_commit() -> str:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    if found is None:
        pytest.fail("pre-commit is not installed: it is in the test extra (pip install -e '.[test]')")
    return found


def _hook_repo(tmp_path: Path) -> Path:
    """A git repository whose .pre-commit-config.yaml is the documented recipe, pointed at this checkout."""
    if not (ROOT / ".git").exists():
        pytest.skip("this checkout is not a git repository, so pre-commit cannot clone it")
    revision = _git("rev-parse", "HEAD", cwd=ROOT)
    committed = _git("show", f"{revision}:.pre-commit-hooks.yaml", cwd=ROOT)
    assert "id: cowlint" in committed, "commit .pre-commit-hooks.yaml first: pre-commit clones the committed checkout"
    repo = tmp_path / "project"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    # the documented recipe, pointed at this checkout instead of the published repository
    recipe = (ROOT / "docs" / "recipes" / "pre-commit-config.yaml").read_text()
    config = recipe.replace("https://github.com/cowlint/cowlint", str(ROOT)).replace("rev: v0.1.0", f"rev: {revision}")
    (repo / ".pre-commit-config.yaml").write_text(config)
    return repo


def _run_hooks(repo: Path, tmp_path: Path, *files: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    which = ["--files", *files] if files else ["--all-files"]
    return subprocess.run([_pre_commit(), "run", *which, "--color", "never"], cwd=repo, capture_output=True, text=True, env=env, timeout=900)


def test_hook_on_one_file_sees_the_start_method_its_entry_point_pins(tmp_path: Path) -> None:
    repo = _hook_repo(tmp_path)
    shutil.copytree(FIXTURES / "projects" / "entry_script_pins", repo, dirs_exist_ok=True)
    _git("add", ".", cwd=repo)
    pinned = _run_hooks(repo, tmp_path, "pipeline/prices.py")
    assert pinned.returncode == 0 and "Passed" in pinned.stdout, pinned.stdout + pinned.stderr
    train = repo / "train.py"
    train.write_text(train.read_text().replace('    multiprocessing.set_start_method("fork")\n', ""))
    _git("add", ".", cwd=repo)
    unpinned = _run_hooks(repo, tmp_path, "pipeline/prices.py")
    assert unpinned.returncode == 1 and "pipeline/prices.py:21:25: COW201" in unpinned.stdout, unpinned.stdout + unpinned.stderr


def test_hook_never_imports_stdlib_named_modules_of_the_repository(tmp_path: Path) -> None:
    from .test_no_shadowing import markers, shadow_tree

    repo = _hook_repo(tmp_path)
    marks = tmp_path / "marks"
    marks.mkdir()
    shadow_tree(repo, marks)  # 20 modules to parse: the hook checks them in worker processes
    _git("add", ".", cwd=repo)
    result = _run_hooks(repo, tmp_path)
    assert markers(marks) == []
    assert result.returncode == 1 and result.stdout.count(": COW201 ") == 20, result.stdout + result.stderr
    assert "worker processes failed" not in result.stdout


def test_hook_fails_on_the_finding_then_passes_once_fixed(tmp_path: Path) -> None:
    repo = _hook_repo(tmp_path)
    (repo / "index.py").write_text(FLAGGED)
    (repo / "notes.txt").write_text("not python\n")
    marker = tmp_path / "marker.txt"
    plant_traps(repo, marker)  # the hook reads these modules and must never import or run them
    failing = _staged_run_fails(repo, tmp_path, "Failed")
    assert "cowlint" in failing.stdout
    assert "index.py:15:29: COW101 self.nearest pickles the whole Index (~195.3 MiB in memory)" in failing.stdout
    assert "pkg/job.py" in failing.stdout and not marker.exists()
    (repo / "index.py").write_text(FIXED)
    for trap in ("pkg/__init__.py", "pkg/__main__.py", "pkg/job.py", "conftest.py", "setup.py"):
        (repo / trap).unlink()
    _git("add", "-A", ".", cwd=repo)
    passing = _run_hooks(repo, tmp_path)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout


def test_local_hook_recipe_runs_the_installed_cowlint(tmp_path: Path) -> None:
    """docs/recipes/pre-commit-local.yaml, as documented: the cowlint installed in the environment
    (this checkout's), run by the real pre-commit on the staged files of a temporary repository."""
    repo = tmp_path / "project"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    (repo / ".pre-commit-config.yaml").write_text((ROOT / "docs" / "recipes" / "pre-commit-local.yaml").read_text())
    (repo / "index.py").write_text(FLAGGED)
    _git("add", ".", cwd=repo)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([_pre_commit(), "run", "--all-files", "--color", "never"], cwd=repo, capture_output=True, text=True, env=env, timeout=300)

    failing = run()
    assert failing.returncode == 1 and "index.py:15:29: COW101" in failing.stdout, failing.stdout + failing.stderr
    (repo / "index.py").write_text(FIXED)
    _git("add", ".", cwd=repo)
    passing = run()
    assert passing.returncode == 0 and "Passed" in passing.stdout, passing.stdout + passing.stderr


def test_try_repo_as_documented(tmp_path: Path) -> None:
    """docs/integrations.md: "`pre-commit try-repo /path/to/cowlint cowlint --all-files` tries it without any
    configuration": pointed at this checkout, from a repository that has no .pre-commit-config.yaml."""
    page = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
    assert "`pre-commit try-repo /path/to/cowlint cowlint --all-files`" in page
    if not (ROOT / ".git").exists():
        pytest.skip("this checkout is not a git repository, so pre-commit cannot clone it")
    repo = tmp_path / "project"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    (repo / "index.py").write_text(FLAGGED)
    _git("add", ".", cwd=repo)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    tried = subprocess.run([_pre_commit(), "try-repo", str(ROOT), "cowlint", "--all-files", "--color", "never"], cwd=repo, capture_output=True, text=True, env=env, timeout=900)
    assert tried.returncode == 1, tried.stdout + tried.stderr
    assert "index.py:15:29: COW101" in tried.stdout


def _staged_run_fails(repo: Path, tmp_path: Path, expected: str) -> subprocess.CompletedProcess[str]:
    """Stage everything, run the hooks: they fail and print ``expected``."""
    _git("add", ".", cwd=repo)
    failing = _run_hooks(repo, tmp_path)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert expected in failing.stdout, failing.stdout
    return failing


def test_hook_checks_a_uwsgi_configuration(tmp_path: Path) -> None:
    """The hook passes .ini files, Dockerfiles and shell scripts too (types_or: python, ini,
    dockerfile, shell): a uWSGI configuration whose app never freezes is reported at its app
    option, a Dockerfile's or a script's gunicorn --preload at that option; tox.ini, another
    .ini, says nothing."""
    repo = _hook_repo(tmp_path)
    (repo / "web").mkdir()
    (repo / "web" / "app.py").write_text('ROWS = [{"n": n} for n in range(3_000_000)]\n\n\ndef application(environ, start_response):\n    return [b""]\n')
    (repo / "uwsgi.ini").write_text("[uwsgi]\nmaster = true\nprocesses = 4\nmodule = web.app:application\n")
    (repo / "tox.ini").write_text("[tox]\nenvlist = py311\n")
    failing = _staged_run_fails(repo, tmp_path, "uwsgi.ini:4:1: COW301 uWSGI preloads the app (web.app:application) and forks 4 workers")
    assert "tox.ini" not in failing.stdout
    (repo / "uwsgi.ini").write_text("[uwsgi]\nmaster = true\nprocesses = 4\nlazy-apps = true\nmodule = web.app:application\n")
    (repo / "Dockerfile").write_text("FROM python:3.12-slim\nCMD gunicorn --preload -w 4 web.app:application\n")
    _staged_run_fails(repo, tmp_path, "Dockerfile:2:14: COW301 gunicorn preloads the app (web.app:application) and forks 4 workers")
    (repo / "Dockerfile").write_text("FROM python:3.12-slim\nCMD gunicorn -w 4 web.app:application\n")
    (repo / "start.sh").write_text("#!/bin/sh\nset -e\nexec gunicorn --preload --workers 4 web.app:application\n")
    _staged_run_fails(repo, tmp_path, "start.sh:3:15: COW301 gunicorn preloads the app (web.app:application) and forks 4 workers")
    (repo / "start.sh").write_text("#!/bin/sh\nexec gunicorn --workers 4 web.app:application\n")
    _git("add", ".", cwd=repo)
    assert _run_hooks(repo, tmp_path).returncode == 0
