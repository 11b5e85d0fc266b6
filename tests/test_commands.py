"""Servers started from command lines (COW301): a Procfile's or a Dockerfile's ``gunicorn
--preload`` and ``uwsgi --module``, read as text, never run.

The fixture project ``fixtures/projects/server_commands`` holds the annotated cases
(test_projects); these are the edges: the Dockerfile's forms, shells, configuration files
given with the command, noqa, odd files, a file named on the command line, the hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from cowlint import CheckResult, Config, check_paths

from .conftest import run_cowlint

APP = 'ROWS = [{"n": n} for n in range(3_000_000)]\n\ndef application(environ, start_response):\n    return [b""]\n'


def _reported(root: Path, name: str, text: str | bytes) -> list[tuple[int, int]]:
    (root / "web").mkdir(exist_ok=True)
    (root / "web" / "app.py").write_text(APP)
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = check_paths([str(root)], Config())
    assert not result.errors, result.errors
    return [(finding.line, finding.column) for finding in result.findings if finding.code == "COW301"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('FROM python:3.12\nCMD ["gunicorn", "--preload", "-w", "4", "web.app:application"]\n', [(2, 19)]),  # the exec form: its "--preload"
        ("FROM python:3.12\nCMD gunicorn \\\n    --preload \\\n    -w 4 web.app:application\n", [(2, 1)]),  # continued lines: the command's first line
        ('ENTRYPOINT ["/bin/sh", "-c", "alembic upgrade head && gunicorn --preload -w 3 web.app"]\n', [(1, 64)]),  # inside sh -c
        ("CMD gunicorn --preload -w4 web.app:application\n", [(1, 14)]),
        ("CMD gunicorn --preload -w 1 web.app:application\n", []),  # one worker shares nothing
        ("CMD gunicorn -w 4 web.app:application\n", []),  # no --preload: each worker imports the app
        ("RUN gunicorn --preload -w 4 web.app:application\n", []),  # a build step, not what the container runs
        ("# CMD gunicorn --preload -w 4 web.app:application\n", []),
        ('CMD gunicorn --preload -w 4 "web.app:application  # noqa: COW301\n', []),  # an unclosed quote: nothing read
        ("CMD gunicorn --preload -w 4 web.app:application  # noqa: COW301\n", []),
        ("CMD exec env PYTHONUNBUFFERED=1 python -m gunicorn --preload -w $WEB_CONCURRENCY web.app\n", [(1, 52)]),  # workers unknown
        ("CMD uwsgi --http :8000 --master --processes 4 --module web.app:application\n", [(1, 56)]),
        ("CMD uwsgi --processes 4 --module=web.app\n", [(1, 34)]),  # the app it names
        ("CMD uwsgi -p 4 -w web.app\n", [(1, 19)]),
        ("CMD uwsgi --ini uwsgi.ini -p 4 -w web.app\n", []),  # its configuration file is read for itself
    ],
)
def test_a_dockerfile_command(tmp_path: Path, text: str, expected: list[tuple[int, int]]) -> None:
    assert _reported(tmp_path, "Dockerfile", text) == expected


def test_a_configuration_file_given_with_the_command_is_read_for_a_freeze(tmp_path: Path) -> None:
    command = "web: gunicorn -c deploy/gunicorn_settings.py --preload -w 4 web.app:application\n"
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "gunicorn_settings.py").write_text("import gc\n\ndef when_ready(server):\n    gc.freeze()\n")
    assert _reported(tmp_path, "Procfile", command) == []
    (tmp_path / "deploy" / "gunicorn_settings.py").write_text("timeout = 30\n")
    assert _reported(tmp_path, "Procfile", command) == [(1, 46)]
    (tmp_path / "deploy" / "__init__.py").write_text("")
    (tmp_path / "deploy" / "gunicorn_settings.py").write_text("import gc\n\ndef post_fork(server, worker):\n    gc.freeze()\n")
    module = "web: gunicorn -c python:deploy.gunicorn_settings --preload -w 4 web.app:application\n"  # a module, by its dotted name
    assert _reported(tmp_path, "Procfile", module) == []


def test_walking_finds_dockerfiles_by_name_and_odd_bytes_do_not_break_the_run(tmp_path: Path) -> None:
    assert _reported(tmp_path, "docker/Dockerfile.prod", "CMD gunicorn --preload -w 2 web.app\n") == [(1, 14)]
    assert _reported(tmp_path, "docker/Dockerfile.prod", b"\xff\xfeCMD gunicorn --preload -w 2 web.app\x00\n\x80") == []


def test_a_procfile_named_on_the_command_line_is_reported_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'site'\n")
    _reported(tmp_path, "Procfile", "release: python manage.py migrate\nweb: gunicorn --preload --workers 4 web.app:application\n")
    done = run_cowlint("--no-cache", "Procfile", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Procfile:2:15: COW301 gunicorn preloads the app (web.app:application) and forks 4 workers" in done.stdout, done.stdout


def test_the_pre_commit_hook_passes_dockerfiles() -> None:
    hooks = (Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text()
    assert "dockerfile" in hooks.split("types_or:", 1)[1].splitlines()[0] and "shell" in hooks.split("types_or:", 1)[1].splitlines()[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("services:\n  web:\n    build: .\n    command: gunicorn --preload -w 4 web.app:application\n", [(4, 23)]),
        ('services:\n  web:\n    command: ["gunicorn", "--preload", "-w", "4", "web.app:application"]\n', [(3, 28)]),
        ('services:\n  web:\n    command: "uwsgi --processes 4 --module web.app"  # the app server\n', [(3, 44)]),
        ("services:\n  web:\n    command: >\n      gunicorn --preload\n      -w 4 web.app\n  db:\n    image: x\n", [(3, 1)]),  # a block scalar
        ("services:\n  web:\n    command: gunicorn -w 4 web.app\n", []),
    ],
)
def test_a_compose_file_command(tmp_path: Path, text: str, expected: list[tuple[int, int]]) -> None:
    assert _reported(tmp_path, "docker-compose.yml", text) == expected


CELERY_APP = 'from celery import Celery\n\napp = Celery("shop")\n'


def _celery_project(root: Path, app: str) -> None:
    """A project whose package ``shop`` makes a Celery app in ``shop/celery.py``."""
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    (root / "shop").mkdir()
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "celery.py").write_text(app)


def _assert_celery_workers(result: CheckResult, workers: str | None) -> None:
    """The run reports the app once with ``workers`` in its message, or not at all (None)."""
    assert not result.errors, result.errors
    messages = [finding.message for finding in result.findings if finding.code == "COW301"]
    if workers is None:
        assert messages == []
    else:
        assert len(messages) == 1 and f"Celery forks {workers}," in messages[0], messages


@pytest.mark.parametrize(
    ("name", "text", "workers"),
    [
        ("scripts/worker.sh", "#!/bin/sh\nexec celery -A shop worker --pool=threads -c 16\n", None),  # threads: nothing forks
        ("scripts/worker.sh", "#!/bin/sh\nexec gosu app celery \\\n  -A shop.celery worker \\\n  -P solo\n", None),  # continued lines
        ("Makefile", "worker:\n\tcelery --app=shop worker -c 1 -l INFO\n", None),  # one child
        ("Dockerfile", 'FROM python:3.12\nCMD ["celery", "-A", "shop", "worker", "--concurrency", "6"]\n', "6 workers"),  # the exec form
        ("deploy/worker.service", "[Service]\nExecStart=/srv/venv/bin/celery -A shop worker -c 3\n", "3 workers"),  # systemd
        ("compose.yaml", "services:\n  w:\n    command: sh -c 'python -m celery -A shop worker --concurrency=$N'\n", "its workers"),  # a variable
        ("Procfile", "worker: celery -A other worker --pool threads\n", "one worker per CPU"),  # another app's worker: the default stands
        ("scripts/beat.sh", "celery -A shop beat\n", "one worker per CPU"),  # beat forks no pool
    ],
)
def test_celery_worker_command_lines_set_the_pool_and_the_count(tmp_path: Path, name: str, text: str, workers: str | None) -> None:
    """The project's ``celery -A app worker`` lines that load the app module say whether its
    worker forks, and how many children; a line starting another app's worker says nothing."""
    _celery_project(tmp_path, CELERY_APP)
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    _assert_celery_workers(check_paths([str(tmp_path / "shop")], Config()), workers)


def test_the_cache_follows_the_script_that_starts_a_celery_worker(tmp_path: Path) -> None:
    """The command lines a Celery finding read are dependencies of its cached result: a pool
    changed in the worker's script re-checks the app module on the next (warm) run."""
    _celery_project(tmp_path, CELERY_APP)
    script = tmp_path / "worker.sh"
    script.write_text("exec celery -A shop worker --pool=threads\n")
    assert "COW301" not in run_cowlint(".", cwd=tmp_path).stdout
    script.write_text("exec celery -A shop worker -c 4\n")
    assert "Celery forks 4 workers," in run_cowlint(".", cwd=tmp_path).stdout


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("start.sh", "#!/bin/sh\nset -e\n# gunicorn --preload -w 4 web.app (a comment)\nexec gunicorn --preload \\\n  -w 4 web.app:application\n", [(4, 15)]),
        ("bin/serve.bash", "python manage.py migrate && gunicorn --preload -w 2 web.app\n", [(1, 38)]),
        ("start.sh", "exec gunicorn -w 4 web.app:application\n", []),  # no --preload
        ("Procfile", "web: gunicorn --preload web.app:application\n", [(1, 15)]),  # Heroku's WEB_CONCURRENCY
        ("Dockerfile", "FROM python\nENV WEB_CONCURRENCY=3\nCMD gunicorn --preload web.app:application\n", [(3, 14)]),
        ("Dockerfile", "FROM python\nENV WEB_CONCURRENCY=1\nCMD gunicorn --preload web.app:application\n", []),  # one worker
        ("Dockerfile", "FROM python\nCMD gunicorn --preload web.app:application\n", []),  # gunicorn's default: one worker
    ],
)
def test_shell_scripts_and_web_concurrency(tmp_path: Path, name: str, text: str, expected: list[tuple[int, int]]) -> None:
    """A shell script's lines are commands (``\\`` continues one, comments are not); with no
    ``-w``, gunicorn takes WEB_CONCURRENCY, which a Dockerfile's ENV sets and Heroku sets for a
    Procfile's web process."""
    assert _reported(tmp_path, name, text) == expected


DJANGO_CELERY = (
    "import os\n\nfrom celery import Celery\n\n"
    'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")\n\n'
    'app = Celery("shop")\napp.config_from_object("django.conf:settings", namespace="CELERY")\n'
)


@pytest.mark.parametrize(
    ("app", "config", "workers"),
    [
        (DJANGO_CELERY, ("settings.py", 'CELERY_WORKER_POOL = "threads"\n'), None),  # Django settings, namespace CELERY
        (DJANGO_CELERY, ("settings.py", "CELERY_WORKER_CONCURRENCY = 6\n"), "6 workers"),
        (DJANGO_CELERY, ("settings.py", 'WORKER_POOL = "threads"\n'), "one worker per CPU"),  # not in the namespace: Celery ignores it
        (DJANGO_CELERY, ("settings.py", 'CELERY_WORKER_POOL = os.environ["POOL"]\n'), "one worker per CPU"),  # not known: may fork
        ('from celery import Celery\n\napp = Celery("shop")\napp.config_from_object("shop.celeryconfig")\n', ("celeryconfig.py", 'worker_pool = "solo"\n'), None),
        ('from celery import Celery\n\napp = Celery("shop")\napp.config_from_object("shop.celeryconfig")\n', ("celeryconfig.py", "CELERYD_CONCURRENCY = 1\n"), None),  # old name
    ],
)
def test_the_configuration_module_a_celery_app_loads_sets_its_pool(tmp_path: Path, app: str, config: tuple[str, str], workers: str | None) -> None:
    """``app.config_from_object(...)`` names a module of the project (Django's settings through
    DJANGO_SETTINGS_MODULE): its literal worker settings are read as text, never imported."""
    _celery_project(tmp_path, app)
    (tmp_path / "shop" / config[0]).write_text("import os\n\n" + config[1])
    _assert_celery_workers(check_paths([str(tmp_path / "shop" / "celery.py")], Config()), workers)


def test_the_cache_follows_the_celery_configuration_module(tmp_path: Path) -> None:
    _celery_project(tmp_path, DJANGO_CELERY)
    settings = tmp_path / "shop" / "settings.py"
    settings.write_text('CELERY_WORKER_POOL = "threads"\n')
    assert "COW301" not in run_cowlint(".", cwd=tmp_path).stdout
    settings.write_text('CELERY_WORKER_POOL = "prefork"\n')
    assert "Celery forks one worker per CPU," in run_cowlint(".", cwd=tmp_path).stdout
