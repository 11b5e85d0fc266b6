"""The real console script, in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cowlint import __version__

from .conftest import FIXTURES, ROOT, run_cowlint
from .test_fixtures import annotated_files, marks_of

SEED = """\
import time
from multiprocessing import Pool
import numpy as np

class MyClass(object):
    def __init__(self):
        self.myAttribute = np.zeros(100000000)

    def my_multithreaded_analysis(self):
        arg_lists = [(self, i) for i in range(10)]
        pool = Pool(processes=10)
        result = pool.map(call_method, arg_lists)
        print(result)

    def analyze(self, i):
        time.sleep(10)
        return i ** 2

def call_method(args):
    my_instance, i = args
    return my_instance.analyze(i)

if __name__ == '__main__':
    my_instance = MyClass()
    my_instance.my_multithreaded_analysis()
"""


def _concise_lines(output: str) -> set[tuple[str, int, str]]:
    found = set()
    for line in output.splitlines():
        match = re.match(r"^(.+?):(\d+):(\d+): (COW\d{3}) ", line)
        if match:
            found.add((match.group(1), int(match.group(2)), match.group(4)))
    return found


def test_fixtures_are_reported_with_exit_1() -> None:
    result = run_cowlint("--output-format", "concise", "fixtures/")
    assert result.returncode == 1, result.stderr
    expected = set()
    # a fixture project that declares pool wrappers is checked under its own configuration, from its folder (test_projects)
    configured = [path.parent for path in FIXTURES.rglob("pyproject.toml") if "extra-dispatch-apis" in path.read_text()]
    for path in annotated_files(FIXTURES):  # the rule folders, the --verify scenarios and the projects
        if any(folder in path.parents for folder in configured):
            continue
        for mark in marks_of(path):
            if mark.kind in ("expect", "todo-ok"):
                expected.add((str(path.relative_to(ROOT)), mark.line, mark.code))
    assert _concise_lines(result.stdout) == expected


def test_concise_lines_are_short_and_the_full_text_keeps_the_detail() -> None:
    """A concise line is read at a glance (median <= 140 characters on the fixtures, as ruff's);
    what it leaves out (the mechanism, the platforms, the fix) is in the text output and the JSON."""
    import statistics

    concise = run_cowlint("--isolated", "--no-cache", "--output-format", "concise", "-q", "fixtures/")
    lines = [line for line in concise.stdout.splitlines() if ": COW" in line]
    assert len(lines) >= 300
    assert statistics.median(len(line) for line in lines) <= 140, statistics.median(len(line) for line in lines)
    findings = json.loads(run_cowlint("--isolated", "--no-cache", "--output-format", "json", "-q", "fixtures/").stdout)
    assert len(findings) == len(lines)
    text = run_cowlint("--isolated", "--no-cache", "-q", "fixtures/").stdout
    for finding in findings:
        assert f"{finding['path']}:{finding['line']}:{finding['column']}: {finding['code']} {finding['message']}" in concise.stdout
        if finding["detail"]:
            assert f"= note: {finding['detail']}\n" in text, finding
    with_detail = [finding for finding in findings if finding["detail"]]
    assert len(with_detail) >= 0.8 * len(findings)
    assert any("breaks under spawn/forkserver: macOS, Windows, Linux with Python >= 3.14" in finding["detail"] for finding in with_detail)


def test_check_subcommand_is_the_plain_command(tmp_path: Path) -> None:
    """ruff's spelling, ``cowlint check PATH``: the same findings, not a path named "check"."""
    plain = run_cowlint("--isolated", "--no-cache", "--output-format", "concise", "fixtures/COW101")
    checked = run_cowlint("check", "--isolated", "--no-cache", "--output-format", "concise", "fixtures/COW101")
    assert checked.returncode == plain.returncode == 1
    assert checked.stdout == plain.stdout and "COW902" not in checked.stdout
    folder = tmp_path / "check"
    folder.mkdir()
    (folder / "ok.py").write_text("x = 1\n")
    named = run_cowlint("check", "./check", "--isolated", "--no-cache", cwd=tmp_path)
    assert named.returncode == 0 and "1 file read" in named.stdout, named.stdout + named.stderr


def test_own_source_is_clean() -> None:
    result = run_cowlint("src/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed" in result.stdout


def test_version() -> None:
    result = run_cowlint("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"cowlint {__version__}"


def test_help_explains_exit_codes_and_config() -> None:
    result = run_cowlint("--help")
    assert result.returncode == 0
    for needle in ("exit status", "[tool.cowlint]", "--output-format", "noqa: COW101", "never imports or executes"):
        assert needle in result.stdout


def test_seed_article_class_reports_cow101_with_size(tmp_path: Path) -> None:
    script = tmp_path / "seed.py"
    script.write_text(SEED)
    result = run_cowlint("--output-format", "json", str(script))
    assert result.returncode == 1
    findings = json.loads(result.stdout)
    assert [f["code"] for f in findings] == ["COW101"]
    finding = findings[0]
    assert abs(finding["size_bytes"] - 800_000_000) <= 0.05 * 800_000_000
    assert (finding["line"], finding["column"], finding["end_line"], finding["end_column"]) == (12, 40, 12, 49)
    assert set(finding) >= {"code", "name", "message", "fix", "path", "line", "column", "end_line", "end_column", "confidence", "size_bytes"}
    assert finding["confidence"] == "high"
    assert "762.9 MiB" in finding["message"]


def test_text_format_shows_source_caret_and_help(tmp_path: Path) -> None:
    script = tmp_path / "seed.py"
    script.write_text(SEED)
    result = run_cowlint(str(script))
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{script}:12:40: COW101 task items of arg_lists")
    assert lines[2] == "12 |         result = pool.map(call_method, arg_lists)"
    assert lines[3] == "   |                                        ^^^^^^^^^ COW101"
    # why, and how often: the detail the concise line leaves out
    assert lines[5] == (
        "   = note: every task item holds the instance; pickled once per chunk of items: Pool.map cuts the 10 items into 10 chunks of 1,"
        " each unpickled into a new copy in the worker"
    )
    assert lines[6].startswith("   = help: move the work to a module-level function")
    assert lines[-1] == "Found 1 finding in 1 file (1 file read, 1 parsed)."


def test_stdin_with_filename_and_noqa() -> None:
    result = run_cowlint("-", "--stdin-filename", "app/seed.py", "--output-format", "concise", stdin=SEED.encode())
    assert result.returncode == 1
    assert result.stdout.startswith("app/seed.py:12:40: COW101 ")
    quiet = SEED.replace("arg_lists)\n", "arg_lists)  # noqa: COW101\n")
    assert run_cowlint("-", "--output-format", "concise", stdin=quiet.encode()).returncode == 0
    other_code = SEED.replace("arg_lists)\n", "arg_lists)  # noqa: COW102\n")
    assert run_cowlint("-", stdin=other_code.encode()).returncode == 1
    blanket = SEED.replace("arg_lists)\n", "arg_lists)  # noqa\n")
    assert run_cowlint("-", stdin=blanket.encode()).returncode == 0


def test_select_and_ignore_prefixes() -> None:
    only_102 = run_cowlint("--output-format", "concise", "--select", "COW102", "fixtures/")
    codes = {code for _, _, code in _concise_lines(only_102.stdout)}
    assert codes == {"COW102"}
    ignored = run_cowlint("--output-format", "concise", "--ignore", "COW1,COW2,COW3", "fixtures/")
    assert ignored.returncode == 0
    assert ignored.stdout == ""


def test_large_threshold_flag_changes_findings(tmp_path: Path) -> None:
    script = tmp_path / "t.py"
    script.write_text(
        "from multiprocessing import Pool\nimport numpy as np\n"
        "def main(keys):\n    table = np.zeros(1_000_000)\n"
        "    with Pool() as pool:\n        return [pool.apply_async(len, (table,)) for k in keys]\n"
    )
    assert run_cowlint(str(script)).returncode == 1  # 7.6 MiB >= 1 MiB
    assert run_cowlint("--large-threshold", "10MiB", str(script)).returncode == 0
    bad = run_cowlint("--large-threshold", "lots", str(script))
    assert bad.returncode == 2
    assert "--large-threshold" in bad.stderr and "1MiB" in bad.stderr


def test_list_rules() -> None:
    result = run_cowlint("--list-rules")
    assert result.returncode == 0
    assert re.search(r"^COW101\s+self-shipped-to-pool\s+", result.stdout, re.MULTILINE)
    assert re.search(r"^COW102\s+large-object-shipped-to-pool\s+", result.stdout, re.MULTILINE)


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'demo'\n\n[tool.cowlint]\n{table}\n")
    (tmp_path / "pkg").mkdir(exist_ok=True)
    (tmp_path / "pkg" / "seed.py").write_text(SEED)
    (tmp_path / "generated").mkdir(exist_ok=True)
    (tmp_path / "generated" / "copy.py").write_text(SEED)
    return tmp_path


def test_config_exclude_and_per_file_ignores(tmp_path: Path) -> None:
    project = _project(tmp_path, 'exclude = ["generated"]\n[tool.cowlint.per-file-ignores]\n"pkg/*.py" = ["COW101"]')
    result = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert result.returncode == 0, result.stdout
    project = _project(tmp_path, 'exclude = ["generated"]')
    result = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert result.returncode == 1
    assert _concise_lines(result.stdout) == {("pkg/seed.py", 12, "COW101")}


def test_config_select_from_file_and_flag_override(tmp_path: Path) -> None:
    project = _project(tmp_path, 'select = ["COW102"]')
    assert run_cowlint(".", cwd=project).returncode == 0
    assert run_cowlint("--select", "COW1", ".", cwd=project).returncode == 1
    assert run_cowlint("--isolated", ".", cwd=project).returncode == 1


def test_unknown_config_key_is_exit_2_naming_the_key(tmp_path: Path) -> None:
    project = _project(tmp_path, 'large_threshold = "2MiB"')
    result = run_cowlint(".", cwd=project)
    assert result.returncode == 2
    assert "unknown key 'large_threshold'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_config_values_are_exit_2(tmp_path: Path) -> None:
    for table, needle in (
        ('large-threshold = "huge"', "large-threshold"),
        ('platforms = ["beos"]', "unknown platform 'beos'"),
        ('select = ["E501"]', "'E501' is not a rule code"),
        ("select = [", "invalid TOML"),
    ):
        project = _project(tmp_path, table)
        result = run_cowlint(".", cwd=project)
        assert result.returncode == 2, table
        assert needle in result.stderr, (table, result.stderr)


def test_python_dash_m_runs_the_same_cli() -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "cowlint", "--output-format", "concise", "fixtures/COW101/task_items.py"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 5


def test_codes_that_match_no_rule_are_usage_errors(tmp_path: Path) -> None:
    for flags, needle in ((("--select", "COW999"), "'COW999' matches no rule"), (("--ignore", "COW7"), "'COW7' matches no rule"), (("--select", ""), "no rule codes given")):
        result = run_cowlint(*flags, "fixtures/")
        assert result.returncode == 2, flags
        assert needle in result.stderr
    project = _project(tmp_path, 'select = ["COW999"]')
    result = run_cowlint(".", cwd=project)
    assert result.returncode == 2
    assert "'COW999' matches no rule" in result.stderr


def test_bad_file_header_is_a_warning_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("# cowlint: platform=linux\n" + SEED)
    (tmp_path / "b.py").write_text(SEED)
    result = run_cowlint("--output-format", "concise", "--isolated", "a.py", "b.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "a.py: '# cowlint:' header: expected key=value" in result.stderr and "the header is ignored" in result.stderr
    assert _concise_lines(result.stdout) == {("a.py", 13, "COW101"), ("b.py", 12, "COW101")}


def test_stdin_filename_alone_reads_stdin(tmp_path: Path) -> None:
    (tmp_path / "other.py").write_text(SEED)
    result = run_cowlint("--output-format", "concise", "--stdin-filename", "piped.py", cwd=tmp_path, stdin=SEED.encode())
    assert result.returncode == 1
    assert _concise_lines(result.stdout) == {("piped.py", 12, "COW101")}


def test_files_over_max_file_size_are_reported_not_parsed(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text("# cowlint: max-file-size=512\n" + SEED)
    (tmp_path / "small.py").write_text(SEED)
    result = run_cowlint("--output-format", "concise", "--isolated", ".", cwd=tmp_path)
    assert result.returncode == 1
    size = (tmp_path / "big.py").stat().st_size
    assert f"big.py:1:1: COW901 the file is {size} B, over max-file-size (512 B): not parsed, so not checked" in result.stdout
    assert "small.py:12:" in result.stdout
    assert run_cowlint("--max-file-size", "5e2", "--isolated", "small.py", cwd=tmp_path).stdout.count("COW901") == 1


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('"fastpool.run_all" = { kind = "pool", function = 0 }', "extra-dispatch-apis.fastpool.run_all.kind: expected one of map, call, process"),
        ('"fastpool.run_all" = { items = 1 }', "says nothing of the function it sends"),
        ('"fastpool.run_all" = { function = -1 }', "expected a position (0), a keyword"),
        ('"run_all" = { function = 0 }', "expected a qualified name such as shop.parallel.run_all"),
        ('"fastpool.submit" = { kind = "call", function = 0, items = 1 }', "only a map sends items"),
        ('"fastpool.launch" = { kind = "process", function = "target", start-method = "fork-exec" }', "expected fork, spawn or forkserver"),
    ],
)
def test_a_bad_extra_dispatch_api_is_exit_2_saying_what_is_wrong(tmp_path: Path, table: str, said: str) -> None:
    """``extra-dispatch-apis`` names a project's own pool wrappers; a declaration that cannot
    be read is an error naming the entry and what it should be, never a silent no-op."""
    (tmp_path / "pyproject.toml").write_text(f"[tool.cowlint.extra-dispatch-apis]\n{table}\n")
    (tmp_path / "work.py").write_text("from fastpool import run_all\n\nrun_all(lambda x: x, [1])\n")
    result = run_cowlint(".", cwd=tmp_path)
    assert result.returncode == 2 and said in result.stderr, result.stderr
