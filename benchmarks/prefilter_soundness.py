"""The prefilter tiers are sound on real code: the same findings with and without them.

    python benchmarks/prefilter_soundness.py --checkouts DIR [--only NAME,NAME] [--jobs 2]

For every precision repository of ``benchmarks/real_code.json`` checked out under ``DIR`` (see
``benchmarks/real_code.py``), cowlint checks the whole checkout twice through the Python API,
from the checkout's root as a user would: as it runs (the byte prefilter, then the syntax-tree
tier) and with both tiers off, when libcst parses every file. The rule findings must be equal
(COW901, a file libcst or Python cannot parse, is only reported for files that pass the tiers,
so it is left out). Prints one line per repository: files, files libcst parsed each way, the
findings, and any finding only one way finds; exits 1 if there is one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

DATA = Path(__file__).with_name("real_code.json")


def _compare(checkout: Path, jobs: int) -> tuple[str, bool]:
    from cowlint import Config, check_paths

    previous = os.getcwd()
    os.chdir(checkout)
    try:
        started = time.perf_counter()
        tiered = check_paths(["."], Config(), jobs=jobs)
        middle = time.perf_counter()
        untiered = check_paths(["."], Config(), use_prefilter=False, jobs=jobs)
        ended = time.perf_counter()
    finally:
        os.chdir(previous)
    keep = [(f.path, f.line, f.column, f.code, f.message) for f in tiered.findings if f.code != "COW901"]
    every = [(f.path, f.line, f.column, f.code, f.message) for f in untiered.findings if f.code != "COW901"]
    line = (
        f"{checkout.name}: {tiered.files_checked} files, libcst parsed {tiered.files_parsed} with the tiers "
        f"({middle - started:.1f} s) and {untiered.files_parsed} without ({ended - middle:.1f} s); {len(keep)} findings"
    )
    lost, gained = sorted(set(every) - set(keep)), sorted(set(keep) - set(every))
    for finding in lost:
        line += f"\n  only without the tiers: {finding}"
    for finding in gained:
        line += f"\n  only with the tiers: {finding}"
    return line, not lost and not gained


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkouts", required=True, type=Path, help="the folder holding the checkouts named in real_code.json")
    parser.add_argument("--only", default="", help="comma-separated repository names")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    names = [entry["name"] for entry in json.loads(DATA.read_text())["precision"]]
    if args.only:
        names = [name for name in names if name in args.only.split(",")]
    sound = True
    for name in names:
        checkout = args.checkouts / name
        if not checkout.is_dir():
            print(f"{name}: not checked out, skipped")
            continue
        line, same = _compare(checkout.resolve(), args.jobs)
        print(line, flush=True)
        sound = sound and same
    print("sound: the same findings with and without the tiers" if sound else "NOT SOUND: see above")
    return 0 if sound else 1


if __name__ == "__main__":
    sys.exit(main())
