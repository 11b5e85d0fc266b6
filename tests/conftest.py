"""Shared helpers: the real console script, run in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def interruptible() -> dict:
    """Popen arguments for a child that a test stops with SIGINT (Ctrl-C). A shell without job control starts
    background commands with SIGINT ignored (`pytest &`, `nohup`, some CI runners), the ignored disposition is
    inherited across exec, and Python then installs no KeyboardInterrupt handler: the child must get the
    default disposition back, as a terminal's foreground process has it."""
    import signal

    if os.name == "nt":
        return {}
    return {"preexec_fn": lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)}


def interpreters() -> dict[tuple[int, int], str]:
    """The running Python, pyenv's CPython 3.10-3.13, ``python3.14``/``python3.15`` on PATH and the
    commands in ``COWLINT_TEST_PYTHONS`` (separated by the path separator), by version: the first
    found of each. Tests that measure what an interpreter does run on each of them."""
    import glob

    candidates = [p for p in os.environ.get("COWLINT_TEST_PYTHONS", "").split(os.pathsep) if p]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[0-3].*/bin/python3")))
    candidates += [found for found in (shutil.which("python3.14"), shutil.which("python3.15")) if found]
    found = {sys.version_info[:2]: sys.executable}
    for path in candidates:
        version = subprocess.run([path, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True, timeout=60, check=False)
        if version.returncode == 0:
            major, minor = map(int, version.stdout.split())
            found.setdefault((major, minor), path)
    return found


def console_script() -> str:
    """The installed ``cowlint`` script next to this interpreter (never the source tree's module)."""
    candidate = Path(sys.executable).parent / ("cowlint.exe" if os.name == "nt" else "cowlint")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("cowlint")
    if found is None:
        pytest.fail("the cowlint console script is not installed: run `pip install -e '.[test]'` first")
    return found


def run_cowlint(*args: str, cwd: Path | None = None, stdin: bytes | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real console script and capture its output as text."""
    return subprocess.run(
        [console_script(), *args],
        cwd=cwd or ROOT,
        input=stdin.decode("utf-8", "surrogateescape") if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def app_project(root: Path, name: str, main: tuple[str, str]) -> Path:
    """A project at ``root/project`` with a ``pyproject.toml`` named ``name``, an ``app`` package
    and one module ``main = (path, text)`` in it; the project folder."""
    project = root / "project"
    (project / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n')
    (project / "app" / "__init__.py").write_text("")
    (project / main[0]).write_text(main[1])
    return project
