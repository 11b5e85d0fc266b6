"""Virtualenvs for the peers the benchmarks compare against, built under benchmarks/.venvs/.

    python benchmarks/peers.py [--with-fixit]

makes them (flake8 without the plugin, flake8 with this checkout's plugin, and
fixit when asked); bench_linters.py only uses what exists.
"""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENVS = Path(__file__).resolve().parent / ".venvs"


def environment(name: str, script: str, *requirements: str) -> Path:
    """A virtualenv named ``name`` with ``requirements`` (made on first use); returns its ``script``."""
    home = VENVS / name
    path = home / "bin" / script
    if not path.exists():
        venv.create(home, with_pip=True, clear=True)
        subprocess.run([str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements], check=True)
    return path


def flake8_alone() -> Path:
    """flake8 without the cowlint plugin (the project's own virtualenv has the plugin installed)."""
    return environment("flake8-alone", "flake8", "flake8>=6")


def flake8_with_cowlint() -> Path:
    """flake8 with this checkout's plugin."""
    return environment("flake8-cowlint", "flake8", "flake8>=6", str(ROOT))


def main() -> int:
    import sys

    print(flake8_alone())
    print(flake8_with_cowlint())
    if "--with-fixit" in sys.argv[1:]:
        print(environment("fixit", "fixit", "fixit"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
