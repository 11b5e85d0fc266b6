"""Run cowlint over big real trees and print what happened.

    python scripts/smoke.py /usr/lib/python3.11 .venv/lib/python3.11/site-packages

Per tree: files, lines, findings per code, errors (a crash inside cowlint is
an error, a file cowlint cannot read or parse is a COW901 finding) and wall
time; with ``--list`` every finding, to review by hand. No cache is used and
nothing is written. Exit status 1 when any run had an internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

from cowlint import Config, check_paths
from cowlint.engine.files.discovery import FileToCheck, discover


def count_lines(paths: list[str]) -> tuple[int, int]:
    files = lines = 0
    for item in discover(paths, Config()):
        if not isinstance(item, FileToCheck):
            continue
        try:
            with open(item.path, "rb") as handle:
                lines += handle.read().count(b"\n")
            files += 1
        except OSError:
            pass
    return files, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="trees to check, each reported on its own")
    parser.add_argument("--list", action="store_true", help="print every finding (concise), to review them")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    failed = False
    for root in args.paths:
        started = time.monotonic()
        result = check_paths([root], Config(), jobs=args.jobs, cache=None)
        wall = time.monotonic() - started
        files, lines = count_lines([root])
        codes = Counter(finding.code for finding in result.findings)
        print(f"== {root}")
        print(f"   files {files:,} (read {result.files_checked:,}, parsed {result.files_parsed:,}), lines {lines:,}, wall {wall:.1f} s")
        print(f"   findings {len(result.findings):,}: " + (", ".join(f"{code} {count}" for code, count in sorted(codes.items())) or "none"))
        print(f"   errors {len(result.errors)}, warnings {len(result.warnings)}")
        for error in result.errors:
            print(f"   ERROR {error}")
            failed = True
        if args.list:
            for finding in result.findings:
                print(f"   {finding.path}:{finding.line}:{finding.column}: {finding.code} {finding.message[:220]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
