"""The result cache: hits, misses after an edit or a configuration change, corruption, concurrent runs.

Every test runs the real console script in a temporary project; the cache lives
in its ``.cowlint_cache/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, console_script, run_cowlint


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "COW101", project / "pkg")
    shutil.copytree(FIXTURES / "COW201", project / "jobs")
    (project / "plain.py").write_text("print('no processes here')\n")
    return project


def _run(project: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return run_cowlint("--isolated", "--output-format", "concise", *flags, ".", cwd=project)


def _summary(project: Path, *flags: str) -> str:
    return run_cowlint("--isolated", *flags, ".", cwd=project).stdout.splitlines()[-1]


def _cache_files(project: Path) -> list[Path]:
    return sorted((project / ".cowlint_cache").glob("*/*.json"))


def test_second_run_reuses_every_result(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = _run(project)
    assert first.returncode == 1 and first.stdout.count("COW") > 20
    assert (project / ".cowlint_cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    second = _run(project)
    assert second.stdout == first.stdout and second.returncode == 1
    count = len(list(project.rglob("*.py")))
    assert _summary(project).endswith(f"({count} files read, 0 parsed, {count} unchanged since the last run).")


def test_text_output_from_the_cache_keeps_its_excerpts(tmp_path: Path) -> None:
    project = _project(tmp_path)
    cold = run_cowlint("--isolated", "--no-cache", ".", cwd=project).stdout
    run_cowlint("--isolated", ".", cwd=project)
    warm = run_cowlint("--isolated", ".", cwd=project).stdout
    assert warm.rsplit("\n\n", 1)[0] == cold.rsplit("\n\n", 1)[0]
    assert " | " in warm


def test_an_edited_file_is_checked_again(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _run(project)
    target = project / "plain.py"
    target.write_text("from multiprocessing import Pool\n\ndef f(x):\n    return x\n\nwith Pool() as pool:\n    pool.map(f, [1])\n")
    result = _run(project)
    assert "plain.py:6:6: COW203" in result.stdout
    count = len(list(project.rglob("*.py")))
    assert _summary(project).endswith(f"{count} unchanged since the last run).")  # the edit is cached now
    target.write_text("print('fixed')\n")
    assert "plain.py" not in _run(project).stdout


def test_a_configuration_change_is_a_new_cache(tmp_path: Path) -> None:
    project = _project(tmp_path)
    everything = _run(project)
    linux = _run(project, "--platforms", "linux", "--python", "<3.14")
    assert 0 < linux.stdout.count("COW201") < everything.stdout.count("COW201")  # only pinned spawn contexts remain
    assert len(_cache_files(project)) == 2
    assert "unchanged since the last run" not in run_cowlint("--isolated", "--large-threshold", "5MiB", ".", cwd=project).stdout
    assert _run(project).stdout == everything.stdout


def test_a_corrupt_cache_is_ignored_and_rebuilt(tmp_path: Path) -> None:
    project = _project(tmp_path)
    expected = _run(project).stdout
    (cache,) = _cache_files(project)
    for damage in (b"{not json", b"", json.dumps({"files": {"pkg/aliases.py": {"digest": 3}}}).encode(), b"[1, 2]", b"[" * 100_000 + b"]" * 100_000):
        cache.write_bytes(damage)
        assert _run(project).stdout == expected
        assert isinstance(json.loads(cache.read_text())["files"], dict)


def test_no_cache_neither_reads_nor_writes_it(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _run(project, "--no-cache")
    assert not (project / ".cowlint_cache").exists()


def test_concurrent_runs_share_the_cache_and_agree(tmp_path: Path) -> None:
    project = _project(tmp_path)
    expected = _run(project, "--no-cache").stdout
    command = [console_script(), "--isolated", "--output-format", "concise", "."]
    for _ in range(2):  # a cold pair, then a pair over the cache the first pair wrote
        runs = [subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
        assert outputs == [expected, expected]
        (cache,) = _cache_files(project)
        assert len(json.loads(cache.read_text())["files"]) == len(list(project.rglob("*.py")))


def test_a_fully_cached_run_never_imports_libcst(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _run(project)
    probe = "import sys, cowlint.cli; code = cowlint.cli.main(['--isolated', '-q', '.']); print('libcst' in sys.modules, code)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "False 1", result.stdout + result.stderr
    # the probe can fail: checked in this process, a file is parsed here (pooled, only the workers parse)
    cold = subprocess.run([sys.executable, "-c", probe.replace("'-q'", "'-q', '--no-cache', '--jobs', '1'")], cwd=project, capture_output=True, text=True, timeout=120)
    assert cold.stdout.strip().splitlines()[-1] == "True 1"


def test_a_warm_run_after_an_edit_the_prefilter_rules_out_never_imports_libcst(tmp_path: Path) -> None:
    """Planning a changed file reads the prefilter table, not the rules: an edit of a module that
    names no pool loads neither the rules nor libcst (that import was most of such a run)."""
    project = _project(tmp_path)
    _run(project)
    (project / "notes.py").write_text("NOTES = ['a', 'b']\n")
    probe = "import sys, cowlint.cli; code = cowlint.cli.main(['--isolated', '-q', '.']); print('libcst' in sys.modules, 'cowlint.rules.registry' in sys.modules, code)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "False False 1", result.stdout + result.stderr


def test_every_rule_has_its_prefilter_in_the_table() -> None:
    from cowlint.rules import ENGINE_CODES, RULE_NAMES
    from cowlint.rules.prefilters import BY_CODE
    from cowlint.rules.registry import ALL_RULES

    assert set(BY_CODE) == set(RULE_NAMES) - ENGINE_CODES == {rule.code for rule in ALL_RULES} - ENGINE_CODES
    assert all(groups and all(groups) for groups in BY_CODE.values())


def test_the_cache_key_covers_every_module_of_cowlint_rules_included() -> None:
    from cowlint.engine.files.cache import _code_stamp

    stamped = {name for name, _, _ in _code_stamp()}
    assert {"rules/registry.py", "engine/module/resolver.py", "engine/files/cache.py", "cli.py"} <= stamped


def test_a_symlinked_cache_folder_costs_no_file_of_its_target(tmp_path: Path) -> None:
    project = _project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for number in range(20):
        (elsewhere / f"notes-{number}.json").write_text("{}")
    (elsewhere / ("a" * 24 + ".link.json")).write_text("{}")
    (project / ".cowlint_cache").mkdir()
    (project / ".cowlint_cache" / "0.1.0").symlink_to(elsewhere)
    for threshold in ("1KiB", "2KiB", "3KiB", "4KiB", "5KiB", "6KiB", "7KiB", "8KiB", "9KiB", "10KiB"):
        _run(project, "--large-threshold", threshold)  # ten configurations: the oldest are pruned
    left = sorted(path.name for path in elsewhere.iterdir())
    assert [name for name in left if name.startswith("notes-")] == sorted(f"notes-{number}.json" for number in range(20))
    assert len([name for name in left if len(name) == 29 and name.endswith(".json")]) == 8  # cowlint's own: the 8 newest


def test_a_dangling_gitignore_link_in_the_cache_is_not_followed(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / ".cowlint_cache").mkdir()
    target = tmp_path / "outside" / "created.txt"
    target.parent.mkdir()
    (project / ".cowlint_cache" / ".gitignore").symlink_to(target)
    _run(project)
    assert not target.exists()
    assert _cache_files(project)  # the cache itself was written


def test_a_cached_finding_keeps_the_path_of_this_run(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _run(project)
    (cache,) = _cache_files(project)
    data = json.loads(cache.read_text())
    victim = tmp_path / "victim.py"
    for entry in data["files"].values():
        for finding in entry["findings"]:
            finding["path"] = str(victim)  # a crafted entry pointing elsewhere
    cache.write_text(json.dumps(data))
    warm = _run(project, "--output-format", "json")
    paths = {item["path"] for item in json.loads(warm.stdout)}
    assert paths and str(victim) not in paths and all(not Path(path).is_absolute() for path in paths)
    # and --fix, which writes where findings point, never reaches the file the entry names
    fixable = (FIXTURES / "COW301" / "pools_after_heaps.py").read_bytes()
    victim.write_bytes(fixable)
    cache.write_text(json.dumps(data))
    _run(project, "--fix")
    assert victim.read_bytes() == fixable


def test_the_cache_key_holds_the_interpreter_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the parser accepts (PEP 695 syntax, a new match form) changes with the interpreter: a
    cache written under one Python is never read under another."""
    from cowlint import Config
    from cowlint.engine.files.cache import configuration_key

    here = configuration_key(Config(), True)
    monkeypatch.setattr(sys, "version_info", (3, sys.version_info[1] + 1, 0, "final", 0))
    assert configuration_key(Config(), True) != here


def _run_as(project: Path, cache_home: Path, key: str | None = None) -> tuple[list[str], str]:
    """The findings (concise lines) and the summary line of a run by a user whose key lives in
    ``cache_home`` (or comes from ``$COWLINT_CACHE_KEY``)."""
    env = {name: value for name, value in os.environ.items() if name != "COWLINT_CACHE_KEY"}
    env["XDG_CACHE_HOME"] = str(cache_home)
    if key is not None:
        env["COWLINT_CACHE_KEY"] = key
    result = subprocess.run([console_script(), "--isolated", "."], cwd=project, env=env, capture_output=True, text=True, timeout=300)
    lines = result.stdout.splitlines()
    return [line for line in lines if re.match(r"\S+\.py:\d+:\d+: COW", line)], lines[-1]


def test_an_entry_this_user_did_not_sign_is_checked_again(tmp_path: Path) -> None:
    """A cache entry with the file's digest and no findings (a cache restored from an untrusted
    branch) hides nothing: entries are signed with a key kept outside the checked tree."""
    project = _project(tmp_path)
    findings, _ = _run_as(project, tmp_path / "alice")
    cache = _cache_files(project)[0]
    data = json.loads(cache.read_text())
    for line in findings:
        data["files"][line.split(":", 1)[0]]["findings"] = []
    cache.write_text(json.dumps(data))
    poisoned, summary = _run_as(project, tmp_path / "alice")
    assert poisoned == findings, summary  # the emptied entries are not believed
    assert (tmp_path / "alice" / "cowlint" / "cache-key").stat().st_mode & 0o077 == 0  # the key is the user's alone
    again, summary = _run_as(project, tmp_path / "alice")
    assert again == findings and ", 0 parsed, " in summary, summary
    other, summary = _run_as(project, tmp_path / "bob")  # another user, or a fresh CI machine: nothing of alice's is reused
    assert other == findings and "unchanged since the last run" not in summary, summary


def test_a_shared_key_lets_fresh_machines_reuse_the_cache(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first, _ = _run_as(project, tmp_path / "runner-1", key="ci-secret")
    second, summary = _run_as(project, tmp_path / "runner-2", key="ci-secret")
    assert second == first and ", 0 parsed, " in summary, summary
