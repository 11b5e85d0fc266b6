"""The long fuzzing campaign: the properties of ``tests/test_fuzz.py`` with many more examples.

    python benchmarks/fuzz.py --examples 10000 [--jobs 2]

Runs each generated-module property (hypothesmith grammar- and CST-based
modules, arbitrary bytes) in its own pytest process with
``COWLINT_FUZZ_EXAMPLES`` set and hypothesis' statistics, up to ``--jobs`` at
once (default: the number of CPUs). Each property's output goes to
``--log-dir`` (default ``fuzz-logs/``); a failure prints hypothesis' shrunk
example there. Prints one line per property (outcome, wall time) and exits
nonzero if any property failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROPERTIES = ("test_grammar_generated_modules", "test_cst_generated_modules", "test_arbitrary_bytes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=10_000, help="examples per property (default 10000)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="properties run at once (default: CPUs)")
    parser.add_argument("--log-dir", type=Path, default=Path("fuzz-logs"), help="where each property's pytest output goes")
    args = parser.parse_args()
    args.log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, COWLINT_FUZZ_EXAMPLES=str(args.examples))
    waiting = list(PROPERTIES)
    running: dict[str, tuple[subprocess.Popen[bytes], float]] = {}
    outcome: dict[str, tuple[int, float]] = {}
    started = time.monotonic()
    while waiting or running:
        while waiting and len(running) < max(1, args.jobs):
            name = waiting.pop(0)
            log = (args.log_dir / f"{name}.log").open("wb")
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics", f"tests/test_fuzz.py::{name}"]
            running[name] = (subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), time.monotonic())
            log.close()
        for name, (process, since) in list(running.items()):
            if process.poll() is not None:
                outcome[name] = (process.returncode, time.monotonic() - since)
                del running[name]
                verdict = "passed" if process.returncode == 0 else f"FAILED (exit {process.returncode})"
                print(f"{name:34} {verdict:>16} {outcome[name][1]:8.0f} s", flush=True)
        time.sleep(0.5)
    failed = sum(1 for code, _ in outcome.values() if code != 0)
    print(f"\nfuzz: {args.examples} examples per property x {len(PROPERTIES)} properties, {time.monotonic() - started:.0f} s wall, {failed} failed; logs in {args.log_dir}/")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
