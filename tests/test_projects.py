"""cowlint reads a project, not only a file: start methods pinned by the project's entry points.

Each folder of ``fixtures/projects/`` is a small project (its own
``pyproject.toml``) annotated like the rule fixtures: the findings of a run
over the whole project equal the annotations of all its files, and checking
one file of it, through the CLI or the API, gives that file's share of them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cowlint import check_paths
from cowlint.config import project_config
from cowlint.engine.project.index import ProjectIndex
from cowlint.engine.project.layout import Layout, find_root
from cowlint.engine.project.summary import IMPORT_TIME, UNDER_MAIN_GUARD, Import, called_names, summarize

from .conftest import FIXTURES, app_project, run_cowlint
from .test_fixtures import annotated_files, marks_of

PROJECTS = sorted(path for path in (FIXTURES / "projects").iterdir() if path.is_dir())


def _annotated(project: Path) -> tuple[set[tuple[str, int, str]], set[tuple[str, int, str]]]:
    expected, forbidden = set(), set()
    for path in annotated_files(project):
        shown = path.relative_to(project).as_posix()
        for mark in marks_of(path):
            (expected if mark.kind in ("expect", "todo-ok") else forbidden).add((shown, mark.line, mark.code))
    return expected, forbidden


@pytest.mark.parametrize("project", PROJECTS, ids=lambda path: path.name)
def test_a_project_reports_exactly_its_annotations(project: Path) -> None:
    expected, forbidden = _annotated(project)
    assert expected or forbidden, f"{project} has no annotations"
    result = check_paths([str(project)], project_config(project))
    reported = {(Path(f.path).relative_to(project).as_posix(), f.line, f.code) for f in result.findings}
    assert reported == expected, [f.message for f in result.findings]
    assert not reported & forbidden


@pytest.mark.parametrize("project", PROJECTS, ids=lambda path: path.name)
def test_one_file_checked_alone_inside_its_project_sees_the_project(project: Path) -> None:
    expected, _ = _annotated(project)
    for path in sorted(project.rglob("prices.py")):
        shown = path.relative_to(project).as_posix()
        result = run_cowlint("--no-cache", "--output-format", "json", shown, cwd=project)
        assert result.returncode in (0, 1), result.stderr
        reported = {(shown, item["line"], item["code"]) for item in json.loads(result.stdout)}
        assert reported == {mark for mark in expected if mark[0] == shown}


def test_messages_name_the_entry_points() -> None:
    mixed = run_cowlint("--no-cache", ".", cwd=FIXTURES / "projects" / "mixed_entries")
    assert 'breaks under spawn/forkserver: macOS, Windows, Linux with Python >= 3.14 (serve.py runs this module without the set_start_method("fork") that train.py runs)' in mixed.stdout
    spawn = run_cowlint("--no-cache", ".", cwd=FIXTURES / "projects" / "entry_pins_spawn")
    assert 'breaks under spawn (set_start_method("spawn") in main.py): every platform' in spawn.stdout


def test_a_warm_run_sees_a_pin_removed_in_another_file(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "entry_script_pins", project)
    first = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert first.returncode == 0 and first.stdout == "", first.stdout
    train = project / "train.py"
    train.write_text(train.read_text().replace('    multiprocessing.set_start_method("fork")\n', ""))
    second = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert second.returncode == 1 and "pipeline/prices.py:21:25: COW201" in second.stdout
    train.write_text(train.read_text().replace("if __name__", "multiprocessing.set_start_method('fork')\nif __name__"))
    third = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert third.returncode == 0 and third.stdout == ""


def test_a_module_outside_any_project_keeps_its_own_verdict(tmp_path: Path) -> None:
    # no pyproject.toml, setup.cfg, setup.py or .git anywhere above: nothing to link
    (tmp_path / "prices.py").write_text((FIXTURES / "projects" / "entry_script_pins" / "pipeline" / "prices.py").read_text())
    (tmp_path / "train.py").write_text((FIXTURES / "projects" / "entry_script_pins" / "train.py").read_text().replace("pipeline.prices", "prices"))
    if find_root(tmp_path.resolve()) is not None:
        pytest.skip("the temporary folder is inside a project")
    result = run_cowlint("--no-cache", "--output-format", "concise", ".", cwd=tmp_path)
    assert "prices.py:21:25: COW201" in result.stdout


def test_summaries_read_imports_pins_and_guards_without_running_anything() -> None:
    summary = summarize(
        b"import os, a.b as c\nfrom . import x\nfrom ..pkg.mod import (f,\n    g as h)\nimport multiprocessing as mp\n"
        b"text = '''\nimport inside_a_string\n'''\n"
        b"def main():\n    mp.set_start_method('fork')\n"
        b"if __name__ == '__main__':\n    if os.name != 'nt':\n        mp.set_start_method('spawn', force=True)\n    main()\n"
        b"try:\n    mp.set_start_method(method='forkserver')\nexcept RuntimeError:\n    pass\n"
    )
    assert summary.imports[:4] == (Import(0, "os", ()), Import(0, "a.b", ()), Import(1, "", ("x",)), Import(2, "pkg.mod", ("f", "g")))
    assert Import(0, "inside_a_string", ()) in summary.imports  # an extra edge only keeps findings
    assert [(pin.method, pin.when, pin.conditional) for pin in summary.pins] == [
        ("fork", "main", False),
        ("spawn", UNDER_MAIN_GUARD, True),
        ("forkserver", IMPORT_TIME, True),  # in a try: another call may have chosen first
    ]
    assert summary.main_guard
    assert summarize(b"def broken(:\n    set_start_method('fork')\n").pins == ()
    assert called_names(b"main()\nx = f (1)\n") == {"main", "f"}


def test_a_fork_pin_under_a_version_guard_pins_where_the_default_changed() -> None:
    summary = summarize(
        b"import sys, multiprocessing as mp\n"
        b"if sys.version_info >= (3, 14):\n    mp.set_start_method('fork', force=True)\n"
        b"if sys.version_info[:2] > (3, 8):\n    mp.set_start_method('spawn')\n"
        b"if sys.version_info >= (3, 15):\n    mp.set_start_method('fork')\n"
        b"if sys.version_info >= (3, 14):\n    for _ in range(2):\n        mp.set_start_method('fork')\n"
        b"else:\n    mp.set_start_method('fork')\n"
    )
    assert [(pin.method, pin.conditional, pin.since) for pin in summary.pins] == [
        ("fork", False, "3.14"),  # Linux forks before 3.14 anyway: the code keeps fork and says so
        ("spawn", True, ""),  # spawn from 3.9 on leaves Linux before 3.14 where it was
        ("fork", True, ""),  # a version that may never come
        ("fork", True, ""),  # in a loop under the guard
        ("fork", True, ""),  # the other branch
    ]
    assert summary.pins[0].call == 'set_start_method("fork") on Python >= 3.14'
    project = FIXTURES / "projects" / "version_pin"
    assert not check_paths([str(project / "tests")], project_config(project)).findings
    one = check_paths([str(project / "lib" / "guarded_fork.py")], project_config(project))
    assert not one.findings  # the same guard, in the script's own main guard


def test_layout_names_modules_in_flat_and_src_layouts(tmp_path: Path) -> None:
    (tmp_path / "src" / "shop").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\n[project.scripts]\nshop = "shop.cli:main"\n')
    layout = Layout.of(tmp_path)
    assert layout.scripts == ("shop.cli",)
    assert layout.module_name(tmp_path / "src" / "shop" / "cli.py") == ("shop.cli", False)
    assert layout.module_name(tmp_path / "src" / "shop" / "__init__.py") == ("shop", True)
    assert layout.module_name(tmp_path / "tools" / "run.py") == ("tools.run", False)
    assert layout.module_name(tmp_path / "my-scripts" / "run.py") is None
    (tmp_path / "pyproject.toml").write_text(
        '[project.entry-points.console_scripts]\nshop = "shop.cli:main"\n[tool.poetry.scripts]\nadmin = "shop.admin:run"\n[tool.setuptools]\npackage-dir = {"" = "lib"}\n'
    )
    (tmp_path / "lib").mkdir()
    again = Layout.of(tmp_path)
    assert again.scripts == ("shop.cli", "shop.admin")
    assert again.module_name(tmp_path / "lib" / "shop" / "cli.py") == ("shop.cli", False)


def _entry_project(tmp_path: Path, entry_text: str) -> tuple[Any, Path]:
    """A project of work.py run by main.py (``entry_text``), and its indexes."""
    from cowlint.engine.project.index import ProjectIndexes

    (tmp_path / "pyproject.toml").write_text("[tool.cowlint]\n")
    (tmp_path / "work.py").write_text("def run():\n    pass\n")
    entry = tmp_path / "main.py"
    entry.write_text(entry_text)
    return ProjectIndexes(project_config(tmp_path)), entry


PINNED = "import multiprocessing\nimport work\n\nif __name__ == '__main__':\n    multiprocessing.set_start_method('{method}')\n    work.run()\n"


def test_an_index_reads_one_saved_file_again(tmp_path: Path) -> None:
    """What the language server does on save: one file's summary is read again, the others kept."""
    projects, entry = _entry_project(tmp_path, PINNED.format(method="fork"))
    view = projects.view(tmp_path / "work.py")
    assert view is not None and view.inherited is not None and view.inherited.method == "fork"
    entry.write_text(PINNED.format(method="spawn"))
    assert projects.view(tmp_path / "work.py").inherited.method == "fork"  # type: ignore[union-attr]  # kept until told
    projects.refresh(entry)
    assert projects.view(tmp_path / "work.py").inherited.method == "spawn"  # type: ignore[union-attr]
    entry.unlink()
    projects.refresh(entry)
    assert projects.view(tmp_path / "work.py").inherited is None


def test_an_index_without_pins_is_read_whole_once_a_saved_file_pins(tmp_path: Path) -> None:
    projects, entry = _entry_project(tmp_path, "import work\n\nif __name__ == '__main__':\n    work.run()\n")
    assert projects.view(tmp_path / "work.py").inherited is None  # type: ignore[union-attr]
    entry.write_text(PINNED.format(method="fork"))
    projects.refresh(entry)
    assert projects.view(tmp_path / "work.py").inherited.method == "fork"  # type: ignore[union-attr]


def test_import_cycles_and_unreadable_files_end(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.cowlint]\n")
    (tmp_path / "a.py").write_text("import b\nimport multiprocessing\nmultiprocessing.set_start_method('fork')\n")
    (tmp_path / "b.py").write_text("import a\nimport c\n")
    (tmp_path / "c.py").write_text("import b\n")
    (tmp_path / "run.py").write_text("import c\nif __name__ == '__main__':\n    pass\n")
    index = ProjectIndex.build(tmp_path.resolve(), project_config(tmp_path))
    assert index.importers_of(tmp_path.resolve() / "a.py") == {tmp_path.resolve() / name for name in ("b.py", "c.py", "run.py")}
    inherited = index.inherited_start(tmp_path.resolve() / "c.py")
    assert inherited is not None and inherited.method == "fork" and "a.py, run by run.py" in inherited.how


def test_a_warm_run_rechecks_a_module_when_a_module_it_read_changes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "imported_data", project)
    first = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert first.stdout.count(": COW102 ") == 4, first.stdout
    catalog = project / "data" / "catalog.py"
    catalog.write_text(catalog.read_text().replace('EMBEDDINGS = np.load(Path(__file__).with_name("embeddings.npy"))', "EMBEDDINGS = 3"))
    second = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert second.stdout.count(": COW102 ") == 2, second.stdout  # EMBEDDINGS, and VECTORS re-exported from it, are small now
    assert "jobs/score.py:20:34: COW102" in second.stdout and "jobs/score.py:21:34: COW102" in second.stdout
    unchanged = run_cowlint(".", cwd=project)  # nothing changed since: every result comes from the cache
    assert unchanged.stdout.count(": COW102 ") == 2 and ", 0 parsed, " in unchanged.stdout, unchanged.stdout


def test_a_worker_reading_another_modules_global_is_rechecked_when_that_module_changes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "worker_reads", project)
    first = run_cowlint(".", cwd=project)  # the text output: the detail says through what
    assert first.stdout.count(": COW201 ") == 3, first.stdout
    assert "reads settings.CONFIG, set by the parent at run time" in first.stdout
    assert "the global settings.CONFIG is assigned in configure() through 'global' in app.settings, through settings.option();" in first.stdout
    settings = project / "app" / "settings.py"
    settings.write_text(settings.read_text().replace("global CONFIG\n", "").replace("CONFIG = json.load(handle)", "return json.load(handle)"))
    second = run_cowlint(".", cwd=project)  # the text output: the detail says through what
    assert ": COW201 " not in second.stdout, second.stdout  # CONFIG keeps its import-time value now


def test_a_class_is_rechecked_when_the_module_that_constructs_it_changes(tmp_path: Path) -> None:
    """``Client(registry)`` in app/main.py decides what ``self._registry`` is in app/client.py: the
    cached result of client.py depends on main.py, and on catalog.py where Registry is defined."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "injected_instances", project)
    first = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert "app/client.py:14:38: COW101 self._registry.invoke pickles the whole app.catalog.Registry (size unknown)" in first.stdout, first.stdout
    main = project / "app" / "main.py"
    main.write_text(main.read_text().replace("client = Client(registry)", 'client = Client("registry-address")'))
    second = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert "app/client.py" not in second.stdout, second.stdout  # a string's bound method pickles only the string
    main.write_text(main.read_text().replace('client = Client("registry-address")', "client = Client(registry)"))
    catalog = project / "app" / "catalog.py"
    catalog.write_text(catalog.read_text().replace("    def __init__(self):\n        self.handlers = {}", '    def __init__(self):\n        self.handlers = "none"'))
    third = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert "app/client.py" not in third.stdout, third.stdout  # Registry holds one short string now: provably small


def test_what_a_constructor_keeps_follows_the_class_module(tmp_path: Path) -> None:
    """``Index(np.load(path))`` in shop/jobs.py ships an array because shop/index.py keeps the
    argument as it is: the cached result of jobs.py depends on index.py, and a class that stops
    keeping the argument (or an annotation that calls it small) changes the finding."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "constructor_args", project)
    first = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert "shop/jobs.py:15:25: COW102 index.nearest (a shop.index.Index, bulk data in self.vectors) is pickled into every task" in first.stdout, first.stdout
    index = project / "shop" / "index.py"
    index.write_text(index.read_text().replace("        self.vectors = vectors\n", "        self.vectors = None\n"))
    second = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert "shop/jobs.py:15:" not in second.stdout and "shop/jobs.py:21:" not in second.stdout, second.stdout
    index.write_text(index.read_text().replace("    def __init__(self, size: int, out: Path):", "    def __init__(self, size, out):"))
    third = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert "shop/jobs.py:51:25: COW101 thumbnailer.make pickles the whole shop.index.Thumbnailer (size unknown)" in third.stdout, third.stdout


def test_a_plain_function_parameter_follows_the_callers_of_other_modules(tmp_path: Path) -> None:
    """``lookups(catalog, keys)`` in shop/lookups.py ships ``catalog.lookup``: shop/jobs.py passes
    a ``Catalog`` holding a loaded table. The cached result of lookups.py depends on jobs.py."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "constructor_args", project)
    first = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert "shop/lookups.py:9:25: COW102 catalog.lookup (a shop.index.Catalog, bulk data in self.table) is pickled into every task" in first.stdout, first.stdout
    jobs = project / "shop" / "jobs.py"
    jobs.write_text(jobs.read_text().replace('lookups(Catalog("/srv/catalog.json"), keys)', 'lookups(Converter("/srv/catalog"), keys)'))
    second = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert "shop/lookups.py" not in second.stdout, second.stdout


def test_a_file_shipped_with_the_code_is_measured_and_followed_by_the_cache(tmp_path: Path) -> None:
    """PAGE = (HERE / "templates" / "page.html").read_text() is an 8 KB file: small, quiet. The
    cached result depends on the file: grown past what is measured, it is bulk data again."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "shipped_files", project)
    first = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert "webapp/render.py:12:" not in first.stdout and "webapp/render.py:16:8: COW202" in first.stdout, first.stdout
    (project / "webapp" / "templates" / "page.html").write_text("<p>row</p>" * 40_000)
    second = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert "webapp/render.py:12:8: COW202" in second.stdout, second.stdout


def test_a_caller_of_a_pool_wrapper_is_rechecked_when_the_wrapper_changes(tmp_path: Path) -> None:
    """app/prices.py names no pool: whether it is checked at all depends on app/parallel.py, so
    its cached result (found or ruled out by the prefilter) is dropped when parallel.py changes."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "pool_wrappers", project)
    parallel = project / "app" / "parallel.py"
    original = parallel.read_text()
    parallel.write_text(original.replace("from multiprocessing import Pool", "from multiprocessing.dummy import Pool"))
    threads = run_cowlint(".", cwd=project)  # the text output: the detail says through what
    assert "through parallel()" not in threads.stdout and "through par.parallel()" not in threads.stdout, threads.stdout
    assert "through parallel_kw()" in threads.stdout, threads.stdout
    parallel.write_text(original)
    processes = run_cowlint(".", cwd=project)  # the text output: the detail says through what
    assert processes.stdout.count(": COW101 ") == 4 and "prices.py:45:25: COW101" in processes.stdout, processes.stdout
    parallel.write_text(original.replace("with Pool(processes) as pool:\n        return pool.map(fn, items)", "return list(map(fn, items))"))
    plain = run_cowlint(".", cwd=project)  # the text output: the detail says through what
    assert "through parallel()" not in plain.stdout and "through through_parallel()" not in plain.stdout, plain.stdout
    assert plain.stdout.count(": COW101 ") == 1, plain.stdout  # parallel_kw still ships self.score
    unchanged = run_cowlint(".", cwd=project)
    assert ", 0 parsed, " in unchanged.stdout and unchanged.stdout.count(": COW101 ") == 1, unchanged.stdout


def test_a_module_that_starts_calling_a_pool_wrapper_is_checked(tmp_path: Path) -> None:
    """A module that names no pool and calls only a helper is ruled out by the prefilter, and
    cached so, while the helper dispatches nothing; it is read again when the helper, in another
    module, becomes a pool wrapper."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "pool_wrappers", project)
    (project / "app" / "reports.py").write_text(
        "import numpy as np\n\nfrom app.helpers import through_parallel\n\n\n"
        "class Report:\n    def __init__(self, path):\n        self.rows = np.load(path)\n\n"
        "    def line(self, i):\n        return str(self.rows[i])\n\n"
        "    def lines(self, ids):\n        return through_parallel(self.line, ids)\n"
    )
    helpers = project / "app" / "helpers.py"
    original = helpers.read_text()
    helpers.write_text(original.replace("    return parallel(fn, items)", "    return [fn(item) for item in items]"))
    first = run_cowlint(".", cwd=project)  # the text output: the detail says through what
    assert "reports.py" not in first.stdout and "through_parallel()" not in first.stdout, first.stdout
    helpers.write_text(original)
    second = run_cowlint(".", cwd=project)  # the text output: the detail says through what
    assert "reports.py:14:33: COW101" in second.stdout and "through through_parallel() -> parallel()" in second.stdout, second.stdout


def test_an_edit_a_wrapper_test_never_read_keeps_its_callers_cached(tmp_path: Path) -> None:
    """A file ruled out by the prefilter depends on what the wrapper test read of the modules it
    calls (the called function's own lines, the module's imports and calls), not on their bytes:
    app/labels.py calls described() of app/helpers.py; a comment there leaves labels.py cached,
    an edit of described() checks it again. (prices.py, whose analysis parses helpers.py for
    through_parallel, depends on that function's slice of helpers.py: the comment leaves it
    cached too; it imports described() as well, so the edit checks it again.)"""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "pool_wrappers", project)
    (project / "app" / "labels.py").write_text("from app.helpers import described\n\n\ndef labels(values):\n    return described(values)\n")
    assert "5 files read" in run_cowlint(".", cwd=project).stdout
    helpers = project / "app" / "helpers.py"
    helpers.write_text(helpers.read_text() + "\n# the helpers of the application\n")
    comment = run_cowlint(".", cwd=project)
    assert "(5 files read, 1 parsed, 4 unchanged since the last run)" in comment.stdout, comment.stdout
    helpers.write_text(helpers.read_text().replace("    return [str(item) for item in items]", "    return [f'{item}' for item in items]"))
    body = run_cowlint(".", cwd=project)
    assert "(5 files read, 2 parsed, 2 unchanged since the last run)" in body.stdout, body.stdout  # labels.py planned again


def test_brackets_and_quotes_in_strings_and_comments_do_not_join_a_function_to_the_next(tmp_path: Path) -> None:
    """A function's lines, for the wrapper test, end where Python ends them: its string
    ``"({}"`` and its comment ``# [see`` open no bracket, so an edit of the function after it
    leaves its callers cached (distributed's convert_args_to_str ran on to the end of
    worker.py, and every edit below it checked scheduler.py and nanny.py again)."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "pool_wrappers", project)
    helpers = project / "app" / "helpers.py"
    helpers.write_text(
        helpers.read_text()
        + "\n\ndef opened(items):\n    # [see the caller\n    return \"({}\".format(', '.join(items)) + '{'\n"
        + "\n\ndef after(items):\n    return len(items)\n"
    )
    (project / "app" / "labels.py").write_text("from app.helpers import opened\n\n\ndef labels(values):\n    return opened(values)\n")
    assert "5 files read" in run_cowlint(".", cwd=project).stdout
    helpers.write_text(helpers.read_text().replace("    return len(items)\n", "    return len(items) + 1\n"))
    after = run_cowlint(".", cwd=project)
    assert "(5 files read, 1 parsed, 4 unchanged since the last run)" in after.stdout, after.stdout  # labels.py among them
    helpers.write_text(helpers.read_text().replace("', '.join(items)", "' '.join(items)"))
    opened = run_cowlint(".", cwd=project)
    assert "(5 files read, 1 parsed, 3 unchanged since the last run)" in opened.stdout, opened.stdout  # the edit of opened() plans labels.py again


_CALLER = """\
import numpy as np

{imports}


class Index:
    def __init__(self, path):
        self.vectors = np.load(path)

    def score(self, i):
        return float(self.vectors[i].sum())

    def run(self, ids):
        return {call}(self.score, ids)
"""


def _wrapper_project(tmp_path: Path, wrapper: str, callers: dict[str, tuple[str, str]]) -> Path:
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'wrappers'\n")
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "par.py").write_text(wrapper)
    for name, (imports, call) in callers.items():
        (project / "app" / f"{name}.py").write_text(_CALLER.format(imports=imports, call=call))
    return project


def test_wrappers_and_imports_the_text_test_once_missed_are_found(tmp_path: Path) -> None:
    """Found in review: a wrapper whose docstring has a line in column 0; imports continued with
    a backslash, holding comments in parentheses, or after a semicolon."""
    wrapper = (
        "from multiprocessing import Pool\n\n\ndef helper(x):\n    return x\n\n\n"
        'def parallel(fn, items):\n    """Map in processes.\n\nDetails in column 0.\n    """\n'
        "    with Pool() as pool:\n        return pool.map(fn, items)\n"
    )
    callers = {
        "plain": ("from app.par import parallel", "parallel"),
        "continued": ("from app.par import helper, \\\n    parallel", "parallel"),
        "commented": ("from app.par import (\n    helper,  # a helper\n    parallel,\n)", "parallel"),
        "semicolon": ("import os; from app.par import parallel", "parallel"),
    }
    project = _wrapper_project(tmp_path, wrapper, callers)
    result = run_cowlint("--no-cache", "--output-format", "concise", ".", cwd=project)
    reported = {line.split(":")[0] for line in result.stdout.splitlines() if ": COW101 " in line}
    assert reported == {f"app/{name}.py" for name in callers}, result.stdout


# first() and second() call each other; first() owns the pool
_MUTUAL_WRAPPERS = (
    "from multiprocessing import Pool\n\n\ndef first(fn, items, again=False):\n"
    "    if again:\n        return second(fn, items)\n    with Pool() as pool:\n        return pool.map(fn, items)\n\n\n"
    "def second(fn, items):\n    return first(fn, items)\n"
)


def test_mutually_recursive_wrappers_are_found_in_any_order(tmp_path: Path) -> None:
    """Found in review: the answer for second() was remembered as "no wrapper" while first() was
    being asked (a cycle), so it depended on which file was checked first."""
    wrapper = _MUTUAL_WRAPPERS
    project = _wrapper_project(tmp_path, wrapper, {"a_first": ("from app.par import first", "first"), "b_second": ("from app.par import second", "second")})
    for shown in (".", "app/b_second.py"):
        result = run_cowlint("--no-cache", "--jobs", "1", "--output-format", "concise", shown, cwd=project)
        assert "app/b_second.py:14:" in result.stdout and ": COW101 " in result.stdout, result.stdout


def test_the_answer_a_cycle_returns_to_is_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found measuring a 4M-line tree: no answer that met a cycle was remembered, not even the
    one the cycle returns to (whole: a path through it again adds nothing), so each caller
    parsed the cycle's functions again (the wrapper test took 2.7x as long)."""
    from cowlint.config import Config
    from cowlint.engine.project import wrappers
    from cowlint.engine.project.index import ProjectIndexes

    wrapper = _MUTUAL_WRAPPERS
    project = _wrapper_project(tmp_path, wrapper, {f"caller{index}": ("from app.par import first", "first") for index in range(3)})
    parsed: list[str] = []
    function = wrappers._function
    monkeypatch.setattr(wrappers, "_function", lambda path, text, name: parsed.append(name) or function(path, text, name))
    projects = ProjectIndexes(Config())
    for index in range(3):
        path = project / "app" / f"caller{index}.py"
        view = projects.place(path)
        assert view is not None
        found, _ = wrappers.wrapper_candidates(path.read_bytes(), view)
        assert set(found) == {"first"}
    assert sorted(parsed) == ["first", "second"]  # each once, for the first caller


def test_a_function_the_wrapper_starts_defining_rechecks_its_callers(tmp_path: Path) -> None:
    """Found in review: ``parallel`` calls ``_impl``, which the module only later defines as a
    function that dispatches; the names a module defines are part of what its callers depend on."""
    wrapper = "from multiprocessing import Pool\n\n_impl = None\n\n\ndef parallel(fn, items):\n    return _impl(fn, items)\n\n\ndef other():\n    return Pool()\n"
    project = _wrapper_project(tmp_path, wrapper, {"main": ("from app.par import parallel", "parallel")})
    assert ": COW101 " not in run_cowlint("--output-format", "concise", ".", cwd=project).stdout
    par = project / "app" / "par.py"
    par.write_text(par.read_text().replace("_impl = None\n", "def _impl(fn, items):\n    with Pool() as pool:\n        return pool.map(fn, items)\n"))
    result = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert "app/main.py:14:" in result.stdout and ": COW101 " in result.stdout, result.stdout


def test_a_dataset_assigned_by_a_base_class_follows_the_subclass_override(tmp_path: Path) -> None:
    """The base class in base.py assigns ``self.train_set = self.make_train_set()``; each subclass's
    own ``make_train_set`` decides what its DataLoader's workers read."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "data_modules", project)
    rows = project / "pipeline" / "rows.py"
    text = rows.read_text().replace("return Rows(list(csv.DictReader(handle)))", 'return Matrix(f"{self.root}/train.npy")')
    rows.write_text(text.replace("from pipeline.datasets import Rows", "from pipeline.datasets import Matrix"))
    result = run_cowlint("--output-format", "concise", ".", cwd=project)
    assert ": COW303 " not in result.stdout, result.stdout  # RowsModule (and its subclass) now make a memory-mapped Matrix


def test_entry_points_reaching_a_module_match_a_search_of_the_import_graph(tmp_path: Path) -> None:
    import random

    chooser = random.Random(14)
    for trial in range(20):
        root = tmp_path / f"t{trial}"
        root.mkdir()
        (root / "pyproject.toml").write_text("[tool.cowlint]\n")
        count = chooser.randint(2, 25)
        for number in range(count):
            imports = "".join(f"import m{other}\n" for other in chooser.sample(range(count), chooser.randint(0, 3)) if other != number)
            guard = "if __name__ == '__main__':\n    pass\n" if chooser.random() < 0.3 else ""
            pin = "import multiprocessing\nmultiprocessing.set_start_method('fork')\n" if number == 0 else ""
            (root / f"m{number}.py").write_text(imports + pin + guard)
        index = ProjectIndex.build(root.resolve(), project_config(root))
        for path in index.summaries:
            importers = index.importers_of(path)
            assert index.entries_reaching(path) == [entry for entry in index.entries if entry == path or entry in importers], (trial, path)


def test_constructor_pins_and_plugin_loaders_in_summaries() -> None:
    summary = summarize(
        b"import importlib\nimport multiprocessing as mp\n\nclass Manager:\n    def __init__(self):\n        mp.set_start_method('fork')\n"
        b"    def restart(self):\n        mp.set_start_method('spawn', force=True)\n\nfor name in ('a', 'b'):\n    importlib.import_module(name)\n"
    )
    assert [(pin.method, pin.when) for pin in summary.pins] == [("fork", "Manager"), ("spawn", "restart")]
    assert summary.dynamic_imports


def test_a_module_written_after_the_run_that_missed_it_is_read(tmp_path: Path) -> None:
    """A result that found no file for an imported project module depends on its absence: once
    ``app/catalog.py`` is written (with a big table), or a module defines the name it lacked, the
    importing module is checked again instead of being served from the cache."""
    importer = (
        "from multiprocessing import Pool\n\nfrom app.catalog import CATALOG\n\n\ndef lookup(pair):\n    return pair[1]\n\n\n"
        "def run(keys):\n    with Pool() as pool:\n        return pool.map(lookup, [(CATALOG, k) for k in keys])\n"
    )
    project = app_project(tmp_path, "absent", ("app/main.py", importer))
    assert "COW102" not in run_cowlint(".", cwd=project).stdout  # nothing to say: CATALOG's size is unknown
    catalog = project / "app" / "catalog.py"
    catalog.write_text("OTHER = 1\n")
    assert "COW102" not in run_cowlint(".", cwd=project).stdout
    catalog.write_text("CATALOG = {n: str(n) for n in range(3_000_000)}\n")  # the file now defines it
    assert "app/main.py:12:33: COW102" in run_cowlint(".", cwd=project).stdout
    catalog.unlink()
    package = project / "app" / "catalog"
    package.mkdir()
    (package / "__init__.py").write_text("CATALOG = None\n")
    assert "COW102" not in run_cowlint(".", cwd=project).stdout


@pytest.mark.parametrize(
    ("imported", "called", "package"),
    [("from app.fan import fan_out", "fan_out", True), ("from app import fan", "fan.fan_out", True), ("from app.fan import fan_out", "fan_out", False)],
    ids=["from-module", "from-package", "namespace-package"],
)
def test_a_wrapper_module_written_after_the_run_that_missed_it_is_read(tmp_path: Path, imported: str, called: str, package: bool) -> None:
    """A module that calls a function of a project module that does not exist yet is ruled out by
    the prefilter and cached so; once the module is written as a pool wrapper, it is checked
    (imported from the module or from its package; in a regular or a namespace package)."""
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "absent-wrapper"\n')
    if package:
        (project / "app" / "__init__.py").write_text("")
    (project / "app" / "report.py").write_text(f"{imported}\n\n\ndef run(items):\n    def square(x):\n        return x * x\n\n    return {called}(square, items)\n")
    assert "report.py" not in run_cowlint(".", cwd=project).stdout
    (project / "app" / "fan.py").write_text("from multiprocessing import Pool\n\n\ndef fan_out(fn, items):\n    with Pool() as pool:\n        return pool.map(fn, items)\n")
    column = 13 + len(called)  # the argument after "    return <called>("
    assert f"app/report.py:8:{column}: COW204" in run_cowlint(".", cwd=project).stdout


def test_a_thread_started_in_another_module_is_seen_with_cow205_alone() -> None:
    """The importer names no thread: COW205 selected alone still reads it (its prefilter asks for
    a fork only)."""
    project = FIXTURES / "projects" / "thread_helpers"
    result = run_cowlint("--no-cache", "--select", "COW205", "--output-format", "concise", "svc/server.py", cwd=project)
    assert {line.split(" ")[0] for line in result.stdout.splitlines()} == {"svc/server.py:13:15:", "svc/server.py:20:10:"}, result.stdout


def test_only_modules_a_package_could_hold_are_absent(tmp_path: Path) -> None:
    """A missing module of a project package has two places it could be written; a name below a
    plain module (``pkg.io.Reader``) is an attribute, whose absence nothing depends on."""
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n')
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "io.py").write_text("class Reader: ...\n")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    layout = Layout.of(find_root(tmp_path / "pkg" / "io.py"))
    package = str(tmp_path.resolve() / "pkg")
    assert layout.absent_module_files(["pkg", "catalog"]) == [f"{package}/catalog.py", f"{package}/catalog/__init__.py"]
    assert layout.absent_module_files(["pkg", "sub", "deep", "leaf"]) == [f"{package}/sub/deep.py", f"{package}/sub/deep/__init__.py"]
    assert layout.absent_module_files(["pkg", "io", "Reader"]) == []
    assert layout.absent_module_files(["numpy", "linalg"]) == []


def test_declared_dispatch_apis_are_read_from_the_configuration_and_change_the_cache_key(tmp_path: Path) -> None:
    """``[tool.cowlint] extra-dispatch-apis`` declares pool wrappers cowlint cannot read (a
    compiled library): without it their calls are not dispatches and the byte prefilter drops
    the module; with it, a warm run (same cache folder) reports them."""
    project = tmp_path / "declared"
    shutil.copytree(FIXTURES / "projects" / "declared_apis", project)
    declared = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(declared.split("# fastpool is")[0])
    assert "COW" not in run_cowlint(".", cwd=project).stdout
    (project / "pyproject.toml").write_text(declared)
    found = run_cowlint(".", cwd=project).stdout
    assert found.count(": COW204 ") == 2 and found.count(": COW101 ") == 1, found
    assert "Process in launch()" in found, found
