"""uWSGI configurations (COW301): read as text, the app module's tree read for gc.freeze(), never run.

The fixture project ``fixtures/projects/uwsgi_apps`` holds the annotated cases (test_projects);
these are the edges: how the app is found, noqa, odd files, named files and the hook."""

from __future__ import annotations

import json
from pathlib import Path

from cowlint import Config, check_paths

from .conftest import run_cowlint

APP = 'ROWS = [{"n": n} for n in range(3_000_000)]\n\ndef application(environ, start_response):\n    return [b""]\n'


def _project(root: Path, ini: str, app_path: str = "web/app.py", app: str = APP) -> Path:
    (root / app_path).parent.mkdir(parents=True, exist_ok=True)
    (root / app_path).write_text(app)
    (root / "uwsgi.ini").write_text(ini)
    return root


def _reported(root: Path) -> list[tuple[str, int, str]]:
    result = check_paths([str(root)], Config())
    return [(Path(finding.path).name, finding.line, finding.code) for finding in result.findings]


def test_the_app_option_is_reported_where_the_app_is_found(tmp_path: Path) -> None:
    cases = (("module = web.app:application", "web/app.py"), ("wsgi-file = web/app.py", "web/app.py"), ("module = web", "web/__init__.py"))
    for number, (option, path) in enumerate(cases):
        root = tmp_path / str(number)
        root.mkdir()
        _project(root, f"[uwsgi]\nprocesses = 4\n{option}\n", path)
        assert _reported(root) == [("uwsgi.ini", 3, "COW301")], option


def test_chdir_is_followed_and_what_cannot_be_found_is_left_alone(tmp_path: Path) -> None:
    _project(tmp_path, "[uwsgi]\nchdir = src\nprocesses = 4\nmodule = web.app\n", "src/web/app.py")
    assert _reported(tmp_path) == [("uwsgi.ini", 4, "COW301")]
    (tmp_path / "uwsgi.ini").write_text("[uwsgi]\nprocesses = 4\nmodule = elsewhere.app\n")
    assert _reported(tmp_path) == []  # not in the project: whether it freezes is not known
    (tmp_path / "uwsgi.ini").write_text("[uwsgi]\nprocesses = 4\nmodule = %(appname).wsgi\n")
    assert _reported(tmp_path) == []  # a uWSGI placeholder is not resolved


def test_lazy_apps_one_worker_and_a_freeze_are_quiet(tmp_path: Path) -> None:
    _project(tmp_path, "[uwsgi]\nprocesses = 4\nlazy_apps = 1\nmodule = web.app\n")  # underscores are uWSGI's too
    assert _reported(tmp_path) == []
    (tmp_path / "uwsgi.ini").write_text("[uwsgi]\nmodule = web.app\n")
    assert _reported(tmp_path) == []
    (tmp_path / "uwsgi.ini").write_text("[uwsgi]\nprocesses = 4\nmodule = web.app\n")
    (tmp_path / "web" / "app.py").write_text("from gc import freeze\n" + APP + "freeze()\n")
    assert _reported(tmp_path) == []
    (tmp_path / "web" / "app.py").write_text(APP + "def later():\n    import gc\n    gc.freeze()\n")
    assert _reported(tmp_path) == [("uwsgi.ini", 3, "COW301")]  # a freeze in a function the import never runs


def test_noqa_other_sections_and_odd_bytes(tmp_path: Path) -> None:
    _project(tmp_path, "[uwsgi]\nprocesses = 4\nmodule = web.app  ; noqa: COW301\n")
    assert _reported(tmp_path) == []
    (tmp_path / "uwsgi.ini").write_text("[other]\nprocesses = 4\nmodule = web.app\n")
    assert _reported(tmp_path) == []
    (tmp_path / "uwsgi.ini").write_bytes(b"\xff\xfe[uwsgi\x00\nprocesses = \x80\nmodule\n")
    assert _reported(tmp_path) == []


def test_the_cli_reads_a_named_ini_and_selection_applies(tmp_path: Path) -> None:
    _project(tmp_path, "[uwsgi]\nmaster = true\nprocesses = 4\nmodule = web.app:application\n")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "prod.ini").write_text("[uwsgi]\nchdir = ..\nprocesses = 2\nmodule = web.app\n")
    done = run_cowlint("--no-cache", "--output-format", "json", "deploy/prod.ini", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    (finding,) = json.loads(done.stdout)
    assert (finding["path"], finding["line"], finding["column"], finding["code"]) == ("deploy/prod.ini", 4, 1, "COW301")
    assert "forks 2 workers" in finding["message"] and "web/app.py never calls gc.freeze()" in finding["detail"]
    assert "lazy-apps = true" in finding["fix"]
    text = run_cowlint("--no-cache", ".", cwd=tmp_path)  # walking finds uwsgi.ini, not prod.ini
    assert "uwsgi.ini:4:1: COW301 uWSGI preloads the app (web.app:application) and forks 4 workers" in text.stdout
    assert "4 | module = web.app:application" in text.stdout  # the excerpt of the ini line
    assert "prod.ini" not in text.stdout
    assert run_cowlint("--no-cache", "--select", "COW1", ".", cwd=tmp_path).returncode == 0


def test_the_yaml_json_and_xml_forms_are_read_as_the_ini(tmp_path: Path) -> None:
    """uWSGI reads its options from YAML, JSON and XML files too: the same options, the same
    finding at the app's option; a flag (``<lazy-apps/>``) and another top-level key are read as
    uWSGI does; a broken file says nothing."""
    _project(tmp_path, "[uwsgi]\nprocesses = 1\nmodule = web.app\n")  # the .ini: one worker, quiet
    forms = {
        "uwsgi.yaml": ("uwsgi:\n  master: true\n  processes: 4\n  module: web.app:application\nother:\n  module: elsewhere\n", 4),
        "uwsgi.json": ('{"uwsgi": {"master": true, "processes": 4,\n  "module": "web.app:application"}}\n', 2),
        "uwsgi.xml": ("<uwsgi>\n  <master/>\n  <processes>4</processes>\n  <module>web.app:application</module>\n</uwsgi>\n", 4),
    }
    for name, (text, _) in forms.items():
        (tmp_path / name).write_text(text)
    assert sorted(_reported(tmp_path)) == sorted((name, line, "COW301") for name, (_, line) in forms.items())
    (tmp_path / "uwsgi.xml").write_text("<uwsgi>\n  <processes>4</processes>\n  <lazy-apps/>\n  <module>web.app</module>\n</uwsgi>\n")
    (tmp_path / "uwsgi.json").write_text('{"uwsgi": {"processes": 4, "module": ')
    (tmp_path / "uwsgi.yaml").write_text("uwsgi:\n  processes: 4\nmodule: web.app\n")  # not under uwsgi:
    assert _reported(tmp_path) == []
