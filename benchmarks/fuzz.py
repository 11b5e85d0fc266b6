"""The long fuzzing campaign: the properties of ``tests/test_fuzz.py`` with many more examples.

    python benchmarks/fuzz.py --examples 10000

Runs pytest on the generated-module properties (hypothesmith grammar- and
CST-based modules, arbitrary bytes) with ``COWLINT_FUZZ_EXAMPLES`` set, with
hypothesis' statistics, and prints the outcome and the wall time. A failure
prints hypothesis' shrunk example; the exit status is pytest's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=10_000, help="examples per property (default 10000)")
    args = parser.parse_args()
    env = dict(os.environ, COWLINT_FUZZ_EXAMPLES=str(args.examples))
    selection = ["tests/test_fuzz.py::test_grammar_generated_modules", "tests/test_fuzz.py::test_cst_generated_modules", "tests/test_fuzz.py::test_arbitrary_bytes"]
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics", *selection], cwd=ROOT, env=env)
    print(f"\nfuzz: {args.examples} examples per property x {len(selection)} properties, {time.monotonic() - started:.0f} s, exit {done.returncode}")
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
