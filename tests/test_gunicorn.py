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


MEASURED_APP = '''\
import gc

ROWS = [(n, [n]) for n in range(300_000)]  # ~40 MiB of small tracked objects, built by the master's preload


def private_dirty():
    with open("/proc/self/smaps_rollup") as rollup:
        return sum(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Private_Dirty:"))


def application(environ, start_response):
    gc.collect()  # what a worker's first full collection writes
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(private_dirty()).encode()]
'''

HOOKS = {
    "none": "",
    "when_ready": "def when_ready(server):\n    gc.freeze()\n",
    "post_fork": "def post_fork(server, worker):\n    gc.freeze()\n",
}


def _worker_private(root: Path, hook: str) -> int:
    """Run real gunicorn on a preloaded app with ``hook`` freezing it (or nothing): the bytes its
    worker holds privately after a full collection."""
    import http.client
    import signal
    import socket
    import subprocess
    import sys
    import time

    (root / "measured.py").write_text(MEASURED_APP)
    sock = root / "g.sock"
    (root / "gunicorn.conf.py").write_text(f'import gc\n\nbind = "unix:{sock}"\nworkers = 2\nwsgi_app = "measured:application"\npreload_app = True\n\n{HOOKS[hook]}')
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("localhost")
                connection.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                connection.sock.connect(str(sock))
                connection.request("GET", "/")
                return int(connection.getresponse().read())
            except (FileNotFoundError, ConnectionRefusedError):
                assert time.monotonic() < deadline and server.poll() is None, server.communicate(timeout=5)[0]
                time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_a_freeze_in_post_fork_keeps_the_preloaded_app_shared_as_one_in_the_master(tmp_path: Path) -> None:
    """What COW301 says of each hook, on real gunicorn: a worker's first collection copies the
    preloaded heap; a freeze in the master's when_ready, or in the worker's post_fork (it runs
    before the worker's first collection), leaves it shared. COW301 is quiet on both."""
    import pytest

    pytest.importorskip("gunicorn")
    copied = {}
    for hook in HOOKS:
        root = tmp_path / hook
        root.mkdir()
        copied[hook] = _worker_private(root, hook)
        findings = run_cowlint("gunicorn.conf.py", cwd=root)
        assert ("COW301" in findings.stdout) == (hook == "none"), (hook, findings.stdout)
    MIB = 1 << 20
    assert copied["none"] >= 25 * MIB, copied
    assert copied["when_ready"] <= 10 * MIB and copied["post_fork"] <= 10 * MIB, copied
