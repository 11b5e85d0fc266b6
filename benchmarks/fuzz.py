"""The long fuzzing campaign: the properties of ``tests/test_fuzz.py`` with many more examples.

    python benchmarks/fuzz.py --examples 10000 [--jobs 2] [--corpus DIR] [--cst-examples N]

Runs each generated-module property (hypothesmith grammar- and CST-based
modules, arbitrary bytes) in its own pytest process with
``COWLINT_FUZZ_EXAMPLES`` set and hypothesis' statistics, up to ``--jobs`` at
once (default: the number of CPUs). Each property's output goes to
``--log-dir`` (default ``fuzz-logs/``); a failure prints hypothesis' shrunk
example there. ``--corpus`` is a folder of real code whose multiprocessing
modules are mutated (a line deleted, truncated, a token inserted; default:
the rule fixtures). Every module checked has its peak traced memory logged;
the end of the run prints the largest per property, with the module it came
from. Prints one line per property (outcome, wall time) and exits nonzero if
any property failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROPERTIES = ("test_grammar_generated_modules", "test_cst_generated_modules", "test_arbitrary_bytes", "test_mutated_real_code")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=10_000, help="examples per property (default 10000)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="properties run at once (default: CPUs)")
    parser.add_argument("--cst-examples", type=int, default=None, help="examples of the (slow) CST-generated property (default: --examples)")
    parser.add_argument("--corpus", type=Path, default=None, help="folder of real code to mutate (default: the rule fixtures)")
    parser.add_argument("--log-dir", type=Path, default=Path("fuzz-logs"), help="where each property's pytest output goes")
    args = parser.parse_args()
    args.log_dir.mkdir(parents=True, exist_ok=True)
    base = dict(os.environ, COWLINT_FUZZ_EXAMPLES=str(args.examples))
    if args.corpus is not None:
        base["COWLINT_FUZZ_CORPUS"] = str(args.corpus.resolve())
    counts = {name: args.examples for name in PROPERTIES}
    if args.cst_examples is not None:
        counts["test_cst_generated_modules"] = args.cst_examples
    waiting = list(PROPERTIES)
    running: dict[str, tuple[subprocess.Popen[bytes], float]] = {}
    outcome: dict[str, tuple[int, float]] = {}
    started = time.monotonic()
    while waiting or running:
        while waiting and len(running) < max(1, args.jobs):
            name = waiting.pop(0)
            log = (args.log_dir / f"{name}.log").open("wb")
            memory = args.log_dir / f"{name}.memory.tsv"
            memory.unlink(missing_ok=True)
            env = dict(base, COWLINT_FUZZ_EXAMPLES=str(counts[name]), COWLINT_FUZZ_MEMORY_LOG=str(memory.resolve()))
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
    print()
    total = 0
    for name in PROPERTIES:
        total += _memory_summary(name, args.log_dir / f"{name}.memory.tsv")
    print(f"\nfuzz: {total} modules checked ({', '.join(f'{name} {counts[name]}' for name in PROPERTIES)} examples), {time.monotonic() - started:.0f} s wall, {failed} failed; logs in {args.log_dir}/")
    return 1 if failed else 0


def _memory_summary(name: str, log: Path) -> int:
    """Print the property's module count and peak traced memory per module (largest, median);
    return the count."""
    try:
        rows = [line.split("\t", 2) for line in log.read_text(encoding="utf-8").splitlines() if line]
    except OSError:
        print(f"{name:34} no memory log")
        return 0
    peaks = sorted((int(peak), int(size), label) for peak, size, label in rows)
    if not peaks:
        return 0
    top_peak, top_size, top_label = peaks[-1]
    median = peaks[len(peaks) // 2][0]
    print(f"{name:34} {len(peaks):7} modules, peak memory per module: median {median / 2**20:.1f} MiB, max {top_peak / 2**20:.1f} MiB ({top_size:,} bytes, {top_label})")
    return len(peaks)


if __name__ == "__main__":
    raise SystemExit(main())
