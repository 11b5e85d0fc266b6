"""flake8 alone vs flake8 with the cowlint plugin, on the same tree, in one run.

    python benchmarks/flake8_plugin.py [PATH] [--runs 3] [--jobs N]

Builds two virtualenvs under benchmarks/.venvs/ on first use (flake8 alone;
flake8 and this checkout), then times ``flake8 -jN PATH`` in each and prints
the ratio. PATH defaults to the standard library, without site-packages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from peers import flake8_alone, flake8_with_cowlint


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    alone, with_plugin = flake8_alone(), flake8_with_cowlint()
    flags = [f"-j{args.jobs}", "--extend-exclude", "site-packages", args.path]
    rows = []
    for label, flake8, extra in (("flake8", alone, []), ("flake8 + cowlint plugin", with_plugin, ["--extend-select", "COW"])):
        walls = [timed([str(flake8), *extra, *flags]) for _ in range(args.runs)]
        rows.append((label, statistics.median(walls)))
    files = sum(1 for p in Path(args.path).rglob("*.py") if "site-packages" not in p.parts)
    print(f"{files} files under {args.path}; flake8 -j{args.jobs}; median of {args.runs} runs; Python {sys.version.split()[0]}\n")
    base = rows[0][1]
    for label, wall in rows:
        print(f"{label:<26} {wall:>8.2f} s  {wall / base:>6.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
