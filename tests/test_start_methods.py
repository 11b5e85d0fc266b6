"""Start-method targets: requires-python, platforms, --python/--platforms, and what COW2xx says of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cowlint import Config, check_source
from cowlint.config import ConfigError, parse_python, python_minors
from cowlint.engine.module.targets import default_targets

from .conftest import run_cowlint

# Works under fork only: the workers read state main() puts in module globals,
# and a table is built at import time.
FORK_RELIANT = """\
import multiprocessing

import numpy as np

TABLE = np.zeros((4_000, 1_000))
SETTINGS = {}


def score(row):
    return TABLE[row].sum() * SETTINGS["weight"]


def main():
    SETTINGS.update(weight=2.0)
    with multiprocessing.Pool(4) as pool:
        return pool.map(score, range(100))


if __name__ == "__main__":
    main()
"""

# The same, pinned to fork: it says what it relies on.
PINNED = FORK_RELIANT.replace("multiprocessing.Pool(4)", 'multiprocessing.get_context("fork").Pool(4)')


def _project(tmp_path: Path, pyproject: str | None) -> Path:
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / "job.py").write_text(FORK_RELIANT)
    return tmp_path


def _codes(result: object) -> list[str]:
    return sorted(f["code"] for f in json.loads(result.stdout))  # type: ignore[attr-defined]


def test_defaults_report_fork_reliant_code_and_name_the_breaking_targets(tmp_path: Path) -> None:
    project = _project(tmp_path, None)
    result = run_cowlint("--output-format", "json", "--isolated", str(project))
    assert _codes(result) == ["COW201", "COW202"]
    text = run_cowlint("--isolated", str(project)).stdout
    assert "breaks under spawn/forkserver: macOS, Windows, Linux with Python >= 3.14" in text
    assert "TABLE (~30.5 MiB) is built at import: each spawned worker of score rebuilds it (~122.1 MiB for 4)" in text


def test_linux_before_314_project_is_quiet(tmp_path: Path) -> None:
    project = _project(tmp_path, '[project]\nname = "job"\nrequires-python = ">=3.10,<3.14"\n\n[tool.cowlint]\nplatforms = ["linux"]\n')
    result = run_cowlint("--output-format", "json", str(project / "job.py"), cwd=project)
    assert result.returncode == 0, result.stdout
    assert _codes(result) == []


def test_requires_python_alone_keeps_macos_and_windows(tmp_path: Path) -> None:
    project = _project(tmp_path, '[project]\nname = "job"\nrequires-python = ">=3.10,<3.14"\n')
    result = run_cowlint("--output-format", "json", str(project), cwd=project)
    findings = json.loads(result.stdout)
    assert sorted(f["code"] for f in findings) == ["COW201", "COW202"]
    assert all("macOS, Windows" in f["detail"] and "3.14" not in f["detail"] for f in findings)


def test_flags_override_the_project(tmp_path: Path) -> None:
    project = _project(tmp_path, '[project]\nname = "job"\nrequires-python = ">=3.10,<3.14"\n\n[tool.cowlint]\nplatforms = ["linux"]\n')
    result = run_cowlint("--output-format", "json", "--python", ">=3.12", str(project), cwd=project)
    findings = json.loads(result.stdout)
    # Linux with Python >= 3.14: the fork server imports the script once, so its workers share TABLE
    # (no COW202), but they still see SETTINGS as the import left it, not as main() filled it (COW201)
    assert sorted(f["code"] for f in findings) == ["COW201"]
    assert all(f["detail"].endswith("forkserver: Linux with Python >= 3.14") or "forkserver: Linux with Python >= 3.14" in f["detail"] for f in findings)
    windows = run_cowlint("--output-format", "json", "--platforms", "windows", str(project), cwd=project)
    assert all("spawn: Windows" in f["detail"] for f in json.loads(windows.stdout))


def test_bad_python_flag_is_a_usage_error() -> None:
    result = run_cowlint("--python", "three", ".")
    assert result.returncode == 2
    assert "--python: invalid Python version specifier 'three'" in result.stderr


def test_pinned_fork_is_quiet_for_every_start_method_rule() -> None:
    findings = check_source(PINNED, "pinned.py", Config())
    assert [f.code for f in findings if f.code.startswith("COW2")] == []
    assert [f.code for f in check_source(FORK_RELIANT, "job.py", Config()) if f.code.startswith("COW2")] == ["COW202", "COW201"]


@pytest.mark.parametrize(
    ("spec", "first", "last"),
    [(None, 8, 39), (">=3.10,<3.14", 10, 13), ("3.12", 12, 12), ("~=3.11", 11, 39), ("<=3.14", 8, 14), (">3.13", 13, 39), ("==3.13.*", 13, 13)],
)
def test_python_specifiers(spec: str | None, first: int, last: int) -> None:
    minors = [minor for _, minor in python_minors(spec)]
    assert (minors[0], minors[-1]) == (first, last)


def test_python_specifier_exclusions_and_errors() -> None:
    assert (3, 14) not in python_minors("!=3.14.*,>=3.13")
    for bad in ("three", ">=", "~=3", ">=3.1*", "<3.8"):
        with pytest.raises(ConfigError):
            parse_python("python", bad)


def test_targets_by_platform_and_version() -> None:
    every = default_targets(("linux", "macos", "windows"), None)
    assert [(t.label, t.default) for t in every] == [
        ("macOS", "spawn"),
        ("Windows", "spawn"),
        ("Linux with Python >= 3.14", "forkserver"),
        ("Linux with Python < 3.14", "fork"),
    ]
    assert [(t.label, t.default) for t in default_targets(("linux",), "<3.14")] == [("Linux", "fork")]
    assert [(t.label, t.default) for t in default_targets(("linux",), ">=3.14")] == [("Linux", "forkserver")]


def _codes_of(source: str, config: Config | None = None) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in check_source(source, "case.py", config or Config()) if f.code.startswith("COW2")]


def test_exact_patch_pins_are_valid_targets() -> None:
    assert python_minors("==3.11.4") == ((3, 11),)
    assert parse_python("python", "==3.13.1") == "==3.13.1"


def test_receivers_of_unknown_origin_are_not_judged_by_start_method_rules() -> None:
    # a parameter named pool may be a thread pool: lambdas are fine there
    assert _codes_of("def run(pool, xs):\n    return pool.map(lambda x: x + 1, xs)\n") == []


def test_changes_after_the_dispatch_do_not_count() -> None:
    source = (
        "from multiprocessing import Pool\nSTATS = {}\n\ndef work(x):\n    return STATS.get(x)\n\n"
        "def main():\n    with Pool() as pool:\n        out = pool.map(work, range(3))\n    STATS['total'] = out\n"
    )
    assert _codes_of(source) == []
    assert _codes_of(source.replace("def main():\n", "def main():\n    STATS['seed'] = 1\n")) == [("COW201", 10)]


def test_a_conditional_fork_pin_still_breaks_on_windows() -> None:
    source = (
        "import multiprocessing, sys\nSTATE = {}\n\ndef work(x):\n    return STATE[x]\n\n"
        "def main():\n    STATE.update(a=1)\n    with multiprocessing.Pool() as pool:\n        return pool.map(work, 'a')\n\n"
        "if __name__ == '__main__':\n    if sys.platform != 'win32':\n        multiprocessing.set_start_method('fork')\n    main()\n"
    )
    findings = check_source(source, "case.py", Config())
    assert [(f.code, f.line) for f in findings] == [("COW201", 10)]
    assert findings[0].detail.endswith("breaks under spawn: Windows")
    assert _codes_of(source, Config(platforms=("linux", "macos"))) == []
    unconditional = source.replace("    if sys.platform != 'win32':\n        multiprocessing", "    multiprocessing")
    assert _codes_of(unconditional) == []


def test_guards_with_and_and_the_else_of_not_main() -> None:
    pool = "from multiprocessing import Pool\n\ndef f(x):\n    return x\n\n"
    run = "    with Pool() as p:\n        p.map(f, [1])\n"
    assert _codes_of(pool + "if __name__ == '__main__' and True:\n" + run) == []
    assert _codes_of(pool + "if __name__ != '__main__':\n    pass\nelse:\n" + run) == []
    assert _codes_of(pool + "if __name__ != '__main__':\n" + run) == [("COW203", 7)]


def test_executors_start_workers_on_first_use_and_managers_when_made() -> None:
    source = "from concurrent.futures import ProcessPoolExecutor\nimport multiprocessing\n\nEX = ProcessPoolExecutor()\n\nif __name__ == '__main__':\n    EX.submit(abs, 1)\n"
    assert _codes_of(source) == []
    assert _codes_of(source.replace("if __name__ == '__main__':\n    ", "")) == [("COW203", 6)]
    assert _codes_of("import multiprocessing\nMANAGER = multiprocessing.Manager()\n") == [("COW203", 2)]


def test_threads_started_by_an_earlier_call_of_the_guard() -> None:
    source = (
        "import threading\nfrom concurrent.futures import ThreadPoolExecutor\nfrom multiprocessing import Pool\n\n"
        "def beat():\n    pass\n\ndef work(x):\n    return x\n\n"
        "def start_monitor():\n    threading.Thread(target=beat, daemon=True).start()\n\n"
        "def main():\n    with Pool() as p:\n        return p.map(work, [1])\n\n"
        "if __name__ == '__main__':\n    start_monitor()\n    main()\n"
    )
    assert _codes_of(source) == [("COW205", 15)]
    assert _codes_of(source.replace("    start_monitor()\n    main()\n", "    main()\n    start_monitor()\n")) == []
    # an executor given no work before the fork has started no thread
    lazy = source.replace("threading.Thread(target=beat, daemon=True).start()", "IO.submit(beat)").replace("def beat", "IO = ThreadPoolExecutor()\n\ndef beat")
    assert _codes_of(lazy) == [("COW205", 17)]
    assert _codes_of(lazy.replace("    start_monitor()\n    main()\n", "    main()\n")) == []


def test_a_lambda_among_task_arguments_breaks_under_fork_too(tmp_path: Path) -> None:
    """COW204 says a task's arguments are pickled with every start method: run the fixture's
    functions on a real forked pool and executor; each reported one fails to pickle, the quiet
    one runs."""
    import subprocess
    import sys

    fixture = Path(__file__).parent.parent / "fixtures" / "COW204" / "task_arguments.py"
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('task_arguments', {str(fixture)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['task_arguments'] = module\n"
        "spec.loader.exec_module(module)\n"
        "outcome = {}\n"
        "for name in ('lambda_in_args', 'lambda_in_kwds', 'nested_keyword_argument', 'module_functions'):\n"
        "    try:\n"
        "        getattr(module, name)([(2, 'b'), (1, 'a')])\n"
        "        outcome[name] = 'ran'\n"
        "    except Exception as error:\n"
        "        outcome[name] = type(error).__name__\n"
        "print(json.dumps(outcome))\n"
    )
    done = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=120, check=True)
    outcome = json.loads(done.stdout.splitlines()[-1])
    reported = {finding["line"] for finding in json.loads(run_cowlint("--isolated", "--no-cache", "--output-format", "json", str(fixture)).stdout)}
    assert len(reported) == 3
    assert outcome["module_functions"] == "ran"
    assert all(outcome[name] in ("PicklingError", "AttributeError") for name in ("lambda_in_args", "lambda_in_kwds", "nested_keyword_argument")), outcome
