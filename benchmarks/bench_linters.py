"""Side by side: cowlint against flake8, ruff and fixit on the same files, in one run.

    python benchmarks/bench_linters.py [PATH] [--runs 3] [--with-fixit]

PATH defaults to the running interpreter's standard library (site-packages is
excluded by every tool: cowlint and ruff by default, flake8 by flag). Each command
runs ``--runs`` times; the table shows the median wall time, the peak resident
memory of the whole process tree (the sum over the command and all its
descendants, sampled every 20 ms with psutil: workers started by a forkserver
are grandchildren that getrusage never sees), and each time as a ratio to
cowlint's cold run. Rows: cowlint cold (``--no-cache``), cowlint warm (every
file cached by an untimed first run), ruff ``--select E,F --no-cache``, flake8
with its default plugins, the same flake8 with the cowlint plugin, and fixit
with ``--with-fixit`` (~16 minutes per run on the standard library).

This script installs nothing. cowlint, ruff and flake8 + the cowlint plugin come
from the running environment (``pip install -e '.[test]' ruff``); flake8 without
the plugin and fixit from the virtualenvs ``python benchmarks/peers.py`` makes
under benchmarks/.venvs/ (or pass ``--flake8`` and ``--fixit`` paths). A missing
tool is listed as such.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from peers import VENVS

_MEASURE = """
import json, subprocess, sys, time
import psutil

start = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
root = psutil.Process(process.pid)
peak = 0
while process.poll() is None:
    total = 0
    try:
        for member in [root, *root.children(recursive=True)]:
            try:
                total += member.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    peak = max(peak, total)
    time.sleep(0.02)
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "peak_mib": peak / 2**20, "code": process.returncode}))
"""


def _tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def commands(path: str, args: argparse.Namespace) -> list[tuple[str, list[str] | None]]:
    """(label, argv or None when not installed)."""
    cowlint, ruff = _tool("cowlint"), _tool("ruff")
    flake8_plugin = _tool("flake8") if _has_plugin() else None
    flake8 = args.flake8 or _existing(VENVS / "flake8-alone" / "bin" / "flake8")
    fixit = (args.fixit or _existing(VENVS / "fixit" / "bin" / "fixit")) if args.with_fixit else None
    jobs = str(os.cpu_count() or 1)
    return [
        ("cowlint (cold: --no-cache)", [cowlint, "--no-cache", "-q", "--output-format", "concise", path] if cowlint else None),
        ("cowlint (warm: every file cached)", [cowlint, "-q", "--output-format", "concise", path] if cowlint else None),
        ("ruff check --no-cache --select E,F", [ruff, "check", "--no-cache", "--select", "E,F", "--quiet", path] if ruff else None),
        (f"flake8 -j{jobs} (default plugins)", [flake8, f"-j{jobs}", "--extend-exclude", "site-packages", path] if flake8 else None),
        (f"flake8 -j{jobs} + cowlint plugin", [flake8_plugin, f"-j{jobs}", "--extend-exclude", "site-packages", "--extend-select", "COW", path] if flake8_plugin else None),
        ("fixit lint", [fixit, "lint", path] if fixit else None),
    ]


def _existing(path: Path) -> str | None:
    return str(path) if path.exists() else None


def _has_plugin() -> bool:
    """Whether the running environment's flake8 loads the cowlint plugin."""
    from importlib.metadata import entry_points

    return any(ep.name == "COW" for ep in entry_points(group="flake8.extension")) and _tool("flake8") is not None


def measure(argv: list[str], cwd: str) -> dict[str, float]:
    """One run of ``argv`` in a fresh process: wall seconds and peak MiB."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, check=True, cwd=cwd)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--with-fixit", action="store_true", help="also time fixit (slow: ~16 minutes per run on the stdlib)")
    parser.add_argument("--flake8", help="a flake8 without the cowlint plugin (default: benchmarks/.venvs/flake8-alone)")
    parser.add_argument("--fixit", help="the fixit to time (default: benchmarks/.venvs/fixit)")
    args = parser.parse_args()
    files = sum(1 for p in Path(args.path).rglob("*.py") if "site-packages" not in p.parts)
    print(f"{files} Python files under {args.path} (site-packages excluded by every tool); median of {args.runs} runs; {os.cpu_count()} cores\n")
    rows = []
    with tempfile.TemporaryDirectory(prefix="cowlint-bench-") as cwd:  # cowlint's cache goes here
        for label, argv in commands(args.path, args):
            if argv is None:
                rows.append((label, None, None))
                continue
            if "warm" in label:
                measure(argv, cwd)  # fill the cache
            runs = [measure(argv, cwd) for _ in range(args.runs)]
            rows.append((label, statistics.median(r["wall"] for r in runs), max(r["peak_mib"] for r in runs)))
    base = rows[0][1] or 1.0
    print(f"{'command':<40} {'wall (s)':>9} {'peak tree (MiB)':>16} {'time / cowlint cold':>20}")
    for label, wall, peak in rows:
        if wall is None or peak is None:
            hint = "--with-fixit to include" if label.startswith("fixit") else "not installed (python benchmarks/peers.py)"
            print(f"{label:<40} {hint}")
        else:
            print(f"{label:<40} {wall:>9.2f} {peak:>16.1f} {wall / base:>19.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
