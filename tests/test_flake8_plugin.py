"""The real flake8, with the plugin installed into a fresh virtualenv from this checkout."""

from __future__ import annotations

import re
import subprocess
import venv
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT, run_cowlint

_LINE = re.compile(r"^(.+?):(\d+):(\d+): (COW\d{3}) ")


@pytest.fixture(scope="module")
def flake8(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with this package and flake8; returns its flake8 script."""
    home = tmp_path_factory.mktemp("flake8-venv")
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(ROOT), "flake8>=6"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return home / "bin" / "flake8"


def _found(output: str) -> set[tuple[str, int, str]]:
    return {(m.group(1), int(m.group(2)), m.group(4)) for m in map(_LINE.match, output.splitlines()) if m}


def test_flake8_reports_what_cowlint_reports(flake8: Path) -> None:
    files = sorted(str(p.relative_to(ROOT)) for p in FIXTURES.glob("COW*/*.py"))
    through_flake8 = subprocess.run([str(flake8), "--isolated", "--select", "COW", *files], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert through_flake8.returncode == 1, through_flake8.stderr
    direct = run_cowlint("--isolated", "--output-format", "concise", *files)
    assert _found(through_flake8.stdout) == _found(direct.stdout)
    assert len(_found(direct.stdout)) > 40
    # the same columns too: flake8 shows the plugin's 0-based column plus one
    first = through_flake8.stdout.splitlines()[0]
    assert first.split(": COW")[0] in direct.stdout


def test_flake8_select_ignore_and_noqa(flake8: Path, tmp_path: Path) -> None:
    source = (FIXTURES / "COW101" / "task_items.py").read_text()
    (tmp_path / "tasks.py").write_text(source)
    def run(*flags: str) -> set[tuple[str, int, str]]:
        out = subprocess.run([str(flake8), "--isolated", *flags, "tasks.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        return _found(out.stdout)

    everything = run("--select", "COW")
    assert {code for _, _, code in everything} == {"COW101"} and len(everything) == 5
    assert run("--select", "COW", "--extend-ignore", "COW101") == set()
    assert {code for _, _, code in run("--select", "E,W,F,COW")} >= {"COW101"}
    lines = source.splitlines()
    first_line = min(line for _, line, _ in everything)
    lines[first_line - 1] = lines[first_line - 1].replace("# expect: COW101", "# noqa: COW101")
    (tmp_path / "tasks.py").write_text("\n".join(lines) + "\n")
    assert run("--select", "COW") == everything - {("tasks.py", first_line, "COW101")}
    assert run("--select", "COW", "--disable-noqa") == everything


# two arrays: 7.6 MiB passed on line 7, 15.3 MiB on line 8
APP = (
    "from multiprocessing import Pool\nimport numpy as np\n\n"
    "def main(keys):\n    small, big = np.zeros(1_000_000), np.zeros(2_000_000)\n    with Pool() as pool:\n"
    "        pool.apply(len, (small,))\n        pool.apply(len, (big,))\n"
)


def _flake8_on_app(flake8: Path, folder: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    (folder / "app.py").write_text(APP)
    return subprocess.run([str(flake8), *flags, "app.py"], cwd=folder, capture_output=True, text=True, timeout=120)


def test_flake8_reads_tool_cowlint_and_its_own_options(flake8: Path, tmp_path: Path) -> None:
    both = {("app.py", 7, "COW102"), ("app.py", 8, "COW102")}
    assert _found(_flake8_on_app(flake8, tmp_path, "--select", "COW").stdout) == both
    (tmp_path / "pyproject.toml").write_text("[tool.cowlint]\nlarge-threshold = '20MiB'\n")
    assert _found(_flake8_on_app(flake8, tmp_path, "--select", "COW").stdout) == set()
    assert _found(_flake8_on_app(flake8, tmp_path, "--select", "COW", "--cowlint-large-threshold", "1MiB").stdout) == both
    (tmp_path / "pyproject.toml").write_text("[tool.cowlint.per-file-ignores]\n\"app*.py\" = [\"COW102\"]\n")
    assert _found(_flake8_on_app(flake8, tmp_path, "--select", "COW").stdout) == set()
    bad = _flake8_on_app(flake8, tmp_path, "--select", "COW", "--cowlint-platforms", "beos")
    assert bad.returncode != 0 and "unknown platform 'beos'" in bad.stderr + bad.stdout


def test_plugin_skips_files_without_dispatches_before_parsing() -> None:
    from cowlint.integrations.flake8 import Checker

    quiet = Checker(tree=None, lines=["import os\n", "x = os.getpid()\n"] * 50, filename=str(ROOT / "nothing.py"))  # type: ignore[arg-type]
    assert list(quiet.run()) == [] and not quiet.parsed
    lines = (FIXTURES / "COW101" / "task_items.py").read_text().splitlines(keepends=True)
    busy = Checker(tree=None, lines=lines, filename=str(FIXTURES / "COW101" / "task_items.py"))  # type: ignore[arg-type]
    assert len(list(busy.run())) == 5 and busy.parsed


def test_flake8_configuration_recipe(flake8: Path, tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text((ROOT / "docs" / "recipes" / "flake8-setup.cfg").read_text())
    out = _flake8_on_app(flake8, tmp_path)
    # extend-select turns COW on beside the defaults; 10MiB keeps the 7.6 MiB array quiet, not the 15.3 MiB one
    assert _found(out.stdout) == {("app.py", 8, "COW102")}, out.stdout + out.stderr


def test_flake8_reads_requires_python_and_cowlint_python(flake8: Path, tmp_path: Path) -> None:
    # a worker reading state main() fills: quiet only when every target forks
    (tmp_path / "job.py").write_text(
        "import multiprocessing\nSTATE = {}\n\ndef work(x):\n    return STATE[x]\n\n"
        "def main():\n    STATE.update(a=1)\n    with multiprocessing.Pool() as pool:\n        return pool.map(work, 'a')\n"
    )

    def run(*flags: str) -> set[tuple[str, int, str]]:
        out = subprocess.run([str(flake8), "--select", "COW", *flags, "job.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        return _found(out.stdout)

    reported = {("job.py", 10, "COW201")}
    assert run() == reported
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "job"\nrequires-python = ">=3.10,<3.14"\n\n[tool.cowlint]\nplatforms = ["linux"]\n')
    assert run() == set()
    assert run("--cowlint-python", ">=3.14") == reported
    assert run("--cowlint-platforms", "linux,macos") == reported


def test_flake8_plugin_never_runs_the_code_it_reads(flake8: Path, tmp_path: Path) -> None:
    from .test_never_executes import plant_traps

    marker = tmp_path / "marker.txt"
    plant_traps(tmp_path, marker)
    out = subprocess.run([str(flake8), "--isolated", "--select", "COW", "."], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and out.stdout.count("COW101") == 5, out.stdout + out.stderr
    assert not marker.exists()


def test_flake8_jobs_survive_bad_codecs_and_shadowing_modules(flake8: Path, tmp_path: Path) -> None:
    """A file whose codec raises must not lose the run's other findings, and stdlib-named
    modules in the tree are never imported (flake8 -j2 runs processes too). (A 500-deep chain
    is tested on the CLI only: flake8's own pyflakes ends the run on it.)"""
    from .test_no_shadowing import markers, shadow_tree

    marks = tmp_path / "marks"
    marks.mkdir()
    tree = tmp_path / "tree"
    tree.mkdir()
    shadow_tree(tree, marks)
    (tree / "codec.py").write_bytes(b"# coding: undefined\nfrom multiprocessing import Pool\n")
    (tree / "puny.py").write_bytes(b"# coding: punycode\nfrom multiprocessing import Pool\n")
    out = subprocess.run([str(flake8), "--isolated", "--select", "COW", "-j2", "."], cwd=tree, capture_output=True, text=True, timeout=600)
    assert markers(marks) == []
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    found = _found(out.stdout)
    assert {(f"./job{i:02d}.py", 18, "COW201") for i in range(20)} <= found, out.stdout
    assert ("./codec.py", 1, "COW901") in found and ("./puny.py", 1, "COW901") in found


PARITY_PROJECTS = [
    "mixed_entries",
    "entry_script_pins",
    "conftest_pins",
    "src_layout_script",
    "pool_wrappers",
    "injected_instances",
    "constructor_args",
    "named_state",
    "thread_helpers",
    "process_factories",
]


@pytest.mark.parametrize("name", PARITY_PROJECTS)
def test_flake8_sees_the_project_as_the_cli_does(flake8: Path, name: str) -> None:
    project = FIXTURES / "projects" / name
    out = subprocess.run([str(flake8), "--isolated", "--select", "COW", "-j2", "."], cwd=project, capture_output=True, text=True, timeout=300)
    cli = run_cowlint("--no-cache", "--output-format", "concise", ".", cwd=project)
    assert _found(out.stdout) == {(f"./{path}", line, code) for path, line, code in _found(cli.stdout)}, out.stdout + out.stderr
