"""gunicorn configurations (COW301): the app ``wsgi_app`` names is looked for in the project, and
its import-time code read for gc.freeze() (never imported).

The fixture project ``fixtures/projects/gunicorn_apps`` holds the annotated cases (test_projects);
these are the edges: the cache follows the app module, and what is not found stays as before."""

from __future__ import annotations

from pathlib import Path

from .conftest import run_cowlint

APP = 'ROWS = [{"n": n} for n in range(3_000_000)]\n\ndef application(environ, start_response):\n    return [b""]\n'
CONFIG = 'workers = 4\nwsgi_app = "{app}"\npreload_app = True\n'


def _project(root: Path, app: str = "web.app:application", chdir: str = "") -> Path:
    (root / "pyproject.toml").write_text("[project]\nname = 'site'\n")
    (root / "src" / "web").mkdir(parents=True)
    (root / "src" / "web" / "__init__.py").write_text("")
    (root / "src" / "web" / "app.py").write_text(APP)
    (root / "gunicorn.conf.py").write_text(CONFIG.format(app=app) + (f'chdir = "{chdir}"\n' if chdir else ""))
    return root


def test_the_app_module_is_named_and_an_edit_of_it_is_followed_by_the_cache(tmp_path: Path) -> None:
    _project(tmp_path, chdir="src")
    first = run_cowlint("--output-format", "concise", ".", cwd=tmp_path)
    assert "gunicorn.conf.py:3:15: COW301 gunicorn preloads the app (web.app:application) and forks 4 workers" in first.stdout, first.stdout
    assert run_cowlint(".", cwd=tmp_path).stdout.count("nor does the import-time code of src/web/app.py") == 1
    (tmp_path / "src" / "web" / "app.py").write_text("import gc\n" + APP + "gc.freeze()\n")  # the fix in the app module
    fixed = run_cowlint("--output-format", "concise", ".", cwd=tmp_path)
    assert "COW301" not in fixed.stdout and fixed.returncode == 0, fixed.stdout
    (tmp_path / "src" / "web" / "app.py").write_text(APP + "def later():\n    import gc\n    gc.freeze()\n")  # never run by the import
    again = run_cowlint("--output-format", "concise", ".", cwd=tmp_path)
    assert "gunicorn.conf.py:3:15: COW301" in again.stdout, again.stdout


def test_an_app_not_found_is_named_and_nothing_else_is_claimed(tmp_path: Path) -> None:
    _project(tmp_path, app="elsewhere.wsgi:app")  # not in the project, and no chdir to the src folder either
    found = run_cowlint(".", cwd=tmp_path)
    assert "preloads the app (elsewhere.wsgi:app)" in found.stdout and "import-time code" not in found.stdout, found.stdout
    (tmp_path / "gunicorn.conf.py").write_text("workers = 4\npreload_app = True\n")  # no wsgi_app: as before
    plain = run_cowlint(".", cwd=tmp_path)
    assert "gunicorn preloads the app and forks 4 workers" in plain.stdout, plain.stdout


def test_a_configuration_read_from_stdin_is_checked_alone(tmp_path: Path) -> None:
    """Standard input is checked as a module of no project (as for every cross-module answer):
    the app is named from the setting, and its module is not looked for."""
    _project(tmp_path, chdir="src")
    (tmp_path / "src" / "web" / "app.py").write_text("import gc\n" + APP + "gc.freeze()\n")
    config = (CONFIG.format(app="web.app:application") + 'chdir = "src"\n').encode()
    named = run_cowlint("-", "--stdin-filename", "gunicorn.conf.py", cwd=tmp_path, stdin=config)
    assert "gunicorn.conf.py:3:15: COW301 gunicorn preloads the app (web.app:application)" in named.stdout, named.stdout
    assert "import-time code" not in named.stdout, named.stdout
