"""The command line's ruff-style flags, each on the real console script and real files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import FIXTURES, run_cowlint

SHIPS_SELF = (
    "from multiprocessing import Pool\n\nimport numpy as np\n\n\n"
    "class Index:\n    def __init__(self, path):\n        self.vectors = np.load(path)\n\n"
    "    def nearest(self, query):\n        return float(self.vectors[query].sum())\n\n"
    "    def run(self, queries):\n        with Pool(4) as pool:\n            return pool.map(self.nearest, queries)\n"
)
LAMBDA = "import multiprocessing\n\n\ndef main():\n    with multiprocessing.get_context('spawn').Pool(2) as pool:\n        return pool.map(lambda x: x, [1])\n"


def _tree(tmp_path: Path, pyproject: str | None = None) -> Path:
    (tmp_path / "index.py").write_text(SHIPS_SELF)  # COW101
    (tmp_path / "jobs.py").write_text(LAMBDA)  # COW204
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    return tmp_path


def _codes(stdout: str) -> list[str]:
    return sorted(line.split(": ", 1)[1].split(" ", 1)[0] for line in stdout.splitlines() if ": COW" in line)


def test_extend_select_and_extend_ignore_add_to_the_configured_lists(tmp_path: Path) -> None:
    tree = _tree(tmp_path, '[tool.cowlint]\nselect = ["COW1"]\n')
    assert _codes(run_cowlint("--no-cache", "--output-format", "concise", ".", cwd=tree).stdout) == ["COW101"]
    extended = run_cowlint("--no-cache", "--output-format", "concise", "--extend-select", "COW204", ".", cwd=tree)
    assert _codes(extended.stdout) == ["COW101", "COW204"], extended.stdout + extended.stderr
    both = run_cowlint("--no-cache", "--output-format", "concise", "--extend-select", "COW2", "--extend-ignore", "COW101", ".", cwd=tree)
    assert _codes(both.stdout) == ["COW204"]
    (tree / "pyproject.toml").write_text('[tool.cowlint]\nselect = ["COW1"]\nextend-select = ["COW204"]\nextend-ignore = ["COW101"]\n')
    assert _codes(run_cowlint("--no-cache", "--output-format", "concise", ".", cwd=tree).stdout) == ["COW204"]
    bad = run_cowlint("--no-cache", "--extend-select", "COW999", ".", cwd=tree)
    assert bad.returncode == 2 and "COW999" in bad.stderr


def test_exclude_replaces_and_extend_exclude_adds(tmp_path: Path) -> None:
    tree = _tree(tmp_path, '[tool.cowlint]\nexclude = ["index.py"]\n')
    assert _codes(run_cowlint("--no-cache", "--output-format", "concise", ".", cwd=tree).stdout) == ["COW204"]
    replaced = run_cowlint("--no-cache", "--output-format", "concise", "--exclude", "jobs.py", ".", cwd=tree)
    assert _codes(replaced.stdout) == ["COW101"], replaced.stdout
    extended = run_cowlint("--no-cache", "--output-format", "concise", "--extend-exclude", "jobs.py", ".", cwd=tree)
    assert extended.returncode == 0 and _codes(extended.stdout) == [], extended.stdout


def test_output_file_gets_the_report_and_stdout_stays_empty(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    target = tmp_path / "out" / "report.json"
    done = run_cowlint("--isolated", "--no-cache", "--output-format", "json", "--output-file", str(target), ".", cwd=tree)
    assert done.returncode == 1 and done.stdout == ""
    assert sorted(finding["code"] for finding in json.loads(target.read_text())) == ["COW101", "COW204"]
    unwritable = run_cowlint("--isolated", "--no-cache", "--output-file", str(tree / "index.py" / "x"), ".", cwd=tree)
    assert unwritable.returncode == 2 and "--output-file" in unwritable.stderr and "Traceback" not in unwritable.stderr


def test_explain_takes_a_rule_name_too() -> None:
    by_code = run_cowlint("--explain", "COW101")
    by_name = run_cowlint("--explain", "self-shipped-to-pool")
    assert by_name.returncode == 0 and by_name.stdout == by_code.stdout and "## What it does" in by_name.stdout
    unknown = run_cowlint("--explain", "no-such-rule")
    assert unknown.returncode == 2 and "self-shipped-to-pool" in unknown.stderr


def test_full_grouped_and_pylint_formats(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    full = run_cowlint("--isolated", "--no-cache", "--output-format", "full", ".", cwd=tree)
    text = run_cowlint("--isolated", "--no-cache", ".", cwd=tree)
    assert full.stdout == text.stdout and "= help:" in full.stdout
    grouped = run_cowlint("--isolated", "--no-cache", "--output-format", "grouped", ".", cwd=tree).stdout
    assert grouped.startswith("index.py:\n  15:29 COW101 self.nearest pickles the whole Index"), grouped
    assert "\njobs.py:\n  6:25 COW204 a lambda cannot be pickled" in grouped
    assert grouped.endswith("\n\nFound 2 findings in 2 files (2 files read, 2 parsed).\n"), grouped  # as ruff's grouped output
    concise = run_cowlint("--isolated", "--no-cache", "--output-format", "concise", ".", cwd=tree).stdout
    assert len(concise.splitlines()) == 2  # one finding per line, for tools: no summary
    pylint = run_cowlint("--isolated", "--no-cache", "--output-format", "pylint", ".", cwd=tree).stdout.splitlines()
    assert pylint[0].startswith("index.py:15: [COW101] self.nearest pickles") and pylint[1].startswith("jobs.py:6: [COW204] "), pylint


def test_statistics_as_json_and_when_clean(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    stats = run_cowlint("--isolated", "--no-cache", "--statistics", "--output-format", "json", ".", cwd=tree)
    assert stats.returncode == 1
    assert json.loads(stats.stdout) == [
        {"code": "COW101", "name": "self-shipped-to-pool", "count": 1, "fixable": 0},
        {"code": "COW204", "name": "unpicklable-callable", "count": 1, "fixable": 0},
    ]
    text = run_cowlint("--isolated", "--no-cache", "--statistics", ".", cwd=tree)
    assert text.stdout.splitlines()[0] == "1\tCOW101\tself-shipped-to-pool" and text.stdout.rstrip().endswith("(2 files read, 2 parsed).")
    (tree / "fork.py").write_text("import os\n\ndef main():\n    table = [[i] for i in range(1_000_000)]\n    if os.fork() == 0:\n        os._exit(0)\n")
    rows = run_cowlint("--isolated", "--no-cache", "--statistics", ".", cwd=tree).stdout.splitlines()
    assert "1\tCOW301\t[*] fork-without-gc-freeze" in rows and "1\tCOW101\tself-shipped-to-pool" in rows, rows  # [*]: --fix repairs it
    (tree / "fork.py").unlink()
    (tree / "index.py").unlink()
    (tree / "jobs.py").write_text("x = 1\n")
    clean = run_cowlint("--isolated", "--no-cache", "--statistics", ".", cwd=tree)
    assert clean.returncode == 0 and clean.stdout.startswith("All checks passed"), clean.stdout
    assert json.loads(run_cowlint("--isolated", "--no-cache", "--statistics", "--output-format", "json", ".", cwd=tree).stdout) == []


def test_verifier_flags_without_verify_are_refused(tmp_path: Path) -> None:
    for flags in (["--report", "r.html"], ["--compare", "freeze"], ["--fail-over", "10MiB"], ["--timeout", "5"]):
        done = run_cowlint("--isolated", *flags, ".", cwd=tmp_path)
        assert done.returncode == 2 and "only with --verify" in done.stderr, (flags, done.stderr)


def test_force_exclude_applies_to_the_stdin_filename(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.cowlint]\nexclude = ["generated/*"]\n')
    kept = run_cowlint("--no-cache", "--stdin-filename", "generated/index.py", "-", cwd=tmp_path, stdin=SHIPS_SELF.encode())
    assert kept.returncode == 1 and "COW101" in kept.stdout  # without --force-exclude, what is piped in is checked
    dropped = run_cowlint("--no-cache", "--force-exclude", "--stdin-filename", "generated/index.py", "-", cwd=tmp_path, stdin=SHIPS_SELF.encode())
    assert dropped.returncode == 0 and "COW101" not in dropped.stdout, dropped.stdout


def test_show_settings_and_show_files(tmp_path: Path) -> None:
    tree = _tree(tmp_path, '[tool.cowlint]\nignore = ["COW204"]\nplatforms = ["linux"]\n')
    (tree / "notes.txt").write_text("not python\n")
    settings = run_cowlint("--show-settings", "--large-threshold", "2MiB", ".", cwd=tree)
    assert settings.returncode == 0, settings.stderr
    assert "ignore = [\"COW204\"]" in settings.stdout and 'platforms = ["linux"]' in settings.stdout
    assert "large-threshold = 2097152" in settings.stdout and str(tree / "pyproject.toml") in settings.stdout
    files = run_cowlint("--show-files", ".", cwd=tree)
    assert files.returncode == 0 and files.stdout.splitlines() == ["index.py", "jobs.py"], files.stdout


def test_target_version_names_the_oldest_python(tmp_path: Path) -> None:
    tree = tmp_path
    (tree / "job.py").write_text(SHIPS_SELF)
    settings = run_cowlint("--show-settings", "--target-version", "py314", ".", cwd=tree)
    assert 'python = ">=3.14"' in settings.stdout, settings.stdout
    bad = run_cowlint("--target-version", "python3", ".", cwd=tree)
    assert bad.returncode == 2 and "py310" in bad.stderr
    (tree / "pyproject.toml").write_text('[tool.cowlint]\ntarget-version = "py312"\n')
    assert 'python = ">=3.12"' in run_cowlint("--show-settings", ".", cwd=tree).stdout


def test_add_noqa_silences_every_finding_once(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "index.py").write_text(SHIPS_SELF.replace("pool.map(self.nearest, queries)", "pool.map(self.nearest, queries)  # the hot loop"))
    done = run_cowlint("--isolated", "--no-cache", "--add-noqa", ".", cwd=tree)
    assert done.returncode == 0 and "added 2 noqa directives" in done.stderr, done.stderr
    assert "pool.map(self.nearest, queries)  # the hot loop  # noqa: COW101\n" in (tree / "index.py").read_text()
    assert "pool.map(lambda x: x, [1])  # noqa: COW204\n" in (tree / "jobs.py").read_text()
    clean = run_cowlint("--isolated", "--no-cache", ".", cwd=tree)
    assert clean.returncode == 0, clean.stdout
    again = run_cowlint("--isolated", "--no-cache", "--add-noqa", ".", cwd=tree)
    assert "added 0 noqa directives" in again.stderr
    for path in (tree / "index.py", tree / "jobs.py"):
        compile(path.read_text(), str(path), "exec")


def test_a_file_header_after_the_docstring_counts_and_a_bad_one_is_named(tmp_path: Path) -> None:
    job = tmp_path / "job.py"
    body = "import multiprocessing\n\n\ndef main():\n    child = multiprocessing.Process(target=lambda: None)\n    child.start()\n"
    assert "COW204" in run_cowlint("--isolated", "--no-cache", "-", stdin=body.encode()).stdout  # spawned somewhere: pickled
    job.write_text('"""Prices, converted by worker processes.\n\nThe table is read once.\n"""\n# cowlint: platforms=linux python=<3.14\n' + body)
    quiet = run_cowlint("--isolated", "--no-cache", str(job))
    assert quiet.returncode == 0, quiet.stdout  # fork on Linux before 3.14: the target is never pickled
    job.write_text('"""One line."""\n# cowlint: large-threshold=lots\nx = 1\n')
    warned = run_cowlint("--isolated", "--no-cache", str(job))
    assert "'# cowlint:' header large-threshold: invalid size 'lots'" in warned.stderr and "[tool.cowlint]" not in warned.stderr, warned.stderr


def test_colour_only_on_a_terminal_or_when_asked_and_never_with_no_color(tmp_path: Path) -> None:
    import os
    import pty
    import re
    import subprocess

    from .conftest import console_script

    tree = _tree(tmp_path)
    plain = run_cowlint("--isolated", "--no-cache", ".", cwd=tree).stdout
    assert "\x1b[" not in plain  # a pipe: no colour
    forced = run_cowlint("--isolated", "--no-cache", "--color", "always", ".", cwd=tree).stdout
    assert "\x1b[1;31mCOW101\x1b[0m" in forced
    assert re.sub(r"\x1b\[[0-9;]*m", "", forced) == plain  # colour adds nothing but escapes

    def on_a_terminal(*flags: str, **env: str) -> str:
        leader, follower = pty.openpty()
        environment = {key: value for key, value in os.environ.items() if key != "NO_COLOR"} | env
        command = [console_script(), "--isolated", "--no-cache", "--output-format", "concise", *flags, "."]
        done = subprocess.run(command, cwd=tree, stdout=follower, stderr=subprocess.DEVNULL, env=environment, timeout=120)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        assert done.returncode == 1
        return b"".join(chunks).decode()

    assert "\x1b[1;31mCOW101" in on_a_terminal()
    assert "\x1b[" not in on_a_terminal(NO_COLOR="1")
    assert "\x1b[" not in on_a_terminal("--color", "never")
    assert "\x1b[1;31mCOW101" in on_a_terminal("--color", "always", NO_COLOR="1")  # the flag wins over the variable


def test_watch_checks_again_when_a_file_changes(tmp_path: Path) -> None:
    import signal
    import subprocess
    import threading
    import time

    from .conftest import console_script, interruptible

    (tmp_path / "jobs.py").write_text("x = 1\n")
    process = subprocess.Popen(
        [console_script(), "--isolated", "--no-cache", "--watch", "--output-format", "concise", "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **interruptible(),
    )
    seen: list[str] = []
    errors: list[str] = []
    readers = [
        threading.Thread(target=lambda: seen.extend(iter(process.stdout.readline, "")), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=lambda: errors.extend(iter(process.stderr.readline, "")), daemon=True),  # type: ignore[union-attr]
    ]
    for reader in readers:
        reader.start()

    def wait_for(predicate: object, what: str) -> None:
        deadline = time.monotonic() + 60
        while not predicate():  # type: ignore[operator]
            assert time.monotonic() < deadline, (what, seen, errors)
            time.sleep(0.05)

    try:
        wait_for(lambda: sum("watching" in line for line in errors) == 1, "the first run")
        assert not any("COW" in line for line in seen)
        time.sleep(0.05)
        (tmp_path / "jobs.py").write_text(LAMBDA)
        wait_for(lambda: any(": COW204 " in line for line in seen), "a run after the change")
        wait_for(lambda: sum("watching" in line for line in errors) == 2, "watching again")
    finally:
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=30)
    assert status == 0
    refused = run_cowlint("--watch", "--fix", ".", cwd=tmp_path)
    assert refused.returncode == 2 and "--watch" in refused.stderr


def test_gitignore_is_respected_as_git_reads_it(tmp_path: Path) -> None:
    """The files a walk checks are the Python files git itself does not ignore (``git ls-files
    --others --exclude-standard`` on a fresh repository), and all of them with --no-respect-gitignore."""
    import shutil
    import subprocess

    tree = tmp_path / "repo"
    layout = {
        ".gitignore": "# generated\nout/\n*.gen.py\n!keep.gen.py\n/top.py\ndocs/**/draft_*.py\nspaced.py   \n\\#hash.py\nlogs\n",
        "sub/.gitignore": "local.py\n/anchored/\n",
        ".git/info/exclude": "private_*.py\n",
    }
    files = [
        "ok.py", "top.py", "sub/top.py", "x.gen.py", "keep.gen.py", "out/a.py", "sub/out/b.py", "sub/local.py",
        "other/local.py", "docs/a/b/draft_1.py", "docs/final.py", "spaced.py", "#hash.py", "private_key.py",
        "sub/anchored/c.py", "anchored/d.py", "logs/e.py", "sub/logs.py",
    ]
    for name, text in layout.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    for name in files:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("x = 1\n")
    shown = run_cowlint("--isolated", "--show-files", ".", cwd=tree).stdout.splitlines()
    everything = run_cowlint("--isolated", "--show-files", "--no-respect-gitignore", ".", cwd=tree).stdout.splitlines()
    assert sorted(everything) == sorted(files)
    expected = {"ok.py", "sub/top.py", "keep.gen.py", "other/local.py", "docs/final.py", "anchored/d.py", "sub/logs.py"}
    assert set(shown) == expected, sorted(shown)
    git = shutil.which("git")
    if git is not None:  # and git agrees
        (tree / ".git" / "info" / "exclude").unlink()
        shutil.rmtree(tree / ".git")
        subprocess.run([git, "init", "-q", str(tree)], check=True)
        (tree / ".git" / "info").mkdir(exist_ok=True)
        (tree / ".git" / "info" / "exclude").write_text(layout[".git/info/exclude"])
        listed = subprocess.run([git, "-c", "core.fsmonitor=false", "ls-files", "--others", "--exclude-standard"], cwd=tree, capture_output=True, text=True, check=True).stdout
        assert {line.strip('"') for line in listed.splitlines() if line.endswith(".py") or line.endswith('.py"')} == expected
    (tree / "pyproject.toml").write_text("[tool.cowlint]\nrespect-gitignore = false\n")
    assert len(run_cowlint("--show-files", ".", cwd=tree).stdout.splitlines()) == len(files)


@pytest.mark.parametrize("layout", ["v2", "v3", "v4", "split", "sha256"])
def test_tracked_files_are_checked_even_where_gitignore_matches(tmp_path: Path, layout: str) -> None:
    """Ignoring is for untracked files (aria's `data/` in .gitignore, with aria/data/datasets.py committed,
    hid a real COW204): tracked files under an ignored folder or name are checked, untracked ones beside them
    are not, whatever index git wrote (version 3: an intent-to-add entry's extended flags; 4: prefix-compressed
    paths; a split index, which lists only the entries changed since its shared index; SHA-256 object names).
    What the walk keeps is what `git ls-files --cached --others --exclude-standard` lists."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    tree = tmp_path / "repo"
    tree.mkdir()
    quiet = {"cwd": tree, "check": True, "capture_output": True}
    environment = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run([git, "init", "-q", *(["--object-format=sha256"] if layout == "sha256" else [])], **quiet)
    (tree / ".gitignore").write_text("data/\n*_gen.py\n")
    names = ["pkg/data/loader.py", "pkg/data/scratch.py", "pkg/data/deep/more.py", "pkg/models_gen.py", "pkg/other_gen.py", "pkg/run.py", "pkg/new.py"]
    names += [f"pkg/module_with_a_long_name_{n}.py" for n in range(8)]
    for name in names:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("x = 1\n")
    tracked = ["pkg/data/loader.py", "pkg/models_gen.py", "pkg/run.py", ".gitignore", *names[7:]]
    subprocess.run([git, "add", "-f", *tracked], **quiet)
    if layout == "split":
        subprocess.run([git, "commit", "-qm", "first"], **quiet, env=environment)
        subprocess.run([git, "update-index", "--split-index"], **quiet)
        subprocess.run([git, "add", "-f", "pkg/data/deep/more.py"], **quiet)  # only in the split part
    else:
        subprocess.run([git, "add", "-f", "pkg/data/deep/more.py"], **quiet)
    if layout == "v3":
        subprocess.run([git, "add", "--intent-to-add", "pkg/new.py"], **quiet)
    if layout in ("v2", "v3", "v4"):
        version = int(layout[1])
        subprocess.run([git, "update-index", "--index-version", str(version)], **quiet)
        assert (tree / ".git" / "index").read_bytes()[4:8] == version.to_bytes(4, "big")
    shown = set(run_cowlint("--isolated", "--show-files", ".", cwd=tree).stdout.splitlines())
    listed = subprocess.run(
        [git, "-c", "core.fsmonitor=false", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=tree, capture_output=True, text=True, check=True
    ).stdout.split()
    assert shown == {name for name in listed if name.endswith(".py")}
    assert {"pkg/data/loader.py", "pkg/data/deep/more.py", "pkg/models_gen.py"} <= shown
    assert not shown & {"pkg/data/scratch.py", "pkg/other_gen.py"}


def test_a_nested_repository_is_read_with_its_own_ignores_and_index(tmp_path: Path) -> None:
    """A folder with its own .git (a submodule, a vendored checkout) is a work tree of its own, as git sees it:
    the outer repository's patterns and index do not apply inside it; its own do."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    outer = tmp_path / "outer"
    inner = outer / "vendor" / "lib"
    for folder in (outer, inner):
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([git, "init", "-q"], cwd=folder, check=True, capture_output=True)
    (outer / ".gitignore").write_text("gen/\n")
    (inner / ".gitignore").write_text("*_tmp.py\n")
    for name in ("app.py", "gen/out.py", "vendor/lib/gen/kept.py", "vendor/lib/gen/new.py", "vendor/lib/scratch_tmp.py"):
        (outer / name).parent.mkdir(parents=True, exist_ok=True)
        (outer / name).write_text("x = 1\n")
    subprocess.run([git, "add", "gen/kept.py"], cwd=inner, check=True, capture_output=True)
    shown = set(run_cowlint("--isolated", "--show-files", ".", cwd=outer).stdout.splitlines())
    assert shown == {"app.py", "vendor/lib/gen/kept.py", "vendor/lib/gen/new.py"}, shown
    # a folder that is no work tree, holding checkouts: each is read with its own ignores
    shown = set(run_cowlint("--isolated", "--show-files", ".", cwd=tmp_path).stdout.splitlines())
    assert shown == {"outer/app.py", "outer/vendor/lib/gen/kept.py", "outer/vendor/lib/gen/new.py"}, shown
    everything = run_cowlint("--isolated", "--show-files", "--no-respect-gitignore", ".", cwd=tmp_path).stdout.splitlines()
    assert len(everything) == 5


def test_a_header_below_the_code_is_a_warning_not_ignored_silently(tmp_path: Path) -> None:
    job = tmp_path / "job.py"
    job.write_text('"""Doc."""\nfrom __future__ import annotations\n# cowlint: platforms=linux\nimport os\n')
    done = run_cowlint("--isolated", "--no-cache", str(job))
    assert "'# cowlint:' header on line 3 comes after the code starts (line 2)" in done.stderr, done.stderr


def test_show_settings_prints_declared_dispatch_apis_as_toml_that_reads_back_the_same() -> None:
    """The settings ``--show-settings`` prints are ``[tool.cowlint]`` TOML: the declared pool
    wrappers, read back, give the same declarations."""
    from cowlint.config import config_from_table, project_config, tomllib

    project = FIXTURES / "projects" / "declared_apis"
    printed = run_cowlint("--show-settings", ".", cwd=project).stdout
    line = next(line for line in printed.splitlines() if line.startswith("extra-dispatch-apis"))
    table = tomllib.loads(line)
    assert config_from_table(table).extra_dispatch_apis == project_config(project).extra_dispatch_apis
    assert len(table["extra-dispatch-apis"]) == 3
