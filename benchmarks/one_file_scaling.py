"""How one file's analysis time grows with its size: libcst's parse against everything after it.

    python benchmarks/one_file_scaling.py [--lines 1000,5000,20000,70000] [--repeat 1]

Builds a dense multiprocessing module of each size (every 12 lines: a class holding an array
whose bound method goes to a pool, a global a worker reads, a nested function handed to a
Process, a fork, a lambda initializer; every rule has something to report) and times, in this
process: CPython's ``ast.parse``, libcst's ``parse_module``, and the analysis (facts, every rule,
positions, suppression), as ``check_bytes`` runs it. Prints one row per size, the exponent of
each phase between consecutive sizes (1.0 is linear), and the analysis / parse ratio. The issue's
target: linear analysis, and the analysis no slower than the parse at 20,000 lines.
"""

from __future__ import annotations

import argparse
import ast
import math
import sys
import time

BLOCK = '''
class Index{n}:
    def __init__(self, path):
        self.vectors = np.load(path)

    def score(self, item):
        return float(self.vectors[item].sum())

    def run(self, items):
        with Pool(4) as pool:
            return pool.map(self.score, items)


TABLE{n} = {{}}


def fill{n}(rows):
    TABLE{n}.update(rows)
    with get_context("spawn").Pool(2, initializer=lambda: None) as pool:
        return pool.map(lookup{n}, range(10))


def lookup{n}(key):
    return TABLE{n}.get(key)


def launch{n}(data):
    def work():
        return len(data)

    process = Process(target=work)
    process.start()
    if os.fork() == 0:
        os._exit(0)
    return process
'''

HEADER = "import os\nfrom multiprocessing import Pool, Process, get_context\n\nimport numpy as np\n"


def module(lines: int) -> str:
    per_block = BLOCK.count("\n")
    return HEADER + "".join(BLOCK.format(n=n) for n in range(max(1, lines // per_block)))


def timed(function, repeat: int, *arguments: object) -> float:
    best = math.inf
    for _ in range(repeat):
        started = time.process_time()
        function(*arguments)
        best = min(best, time.process_time() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", default="1000,5000,20000,70000")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    sys.setrecursionlimit(20_000)
    import libcst

    from cowlint import Config
    from cowlint.engine.module.check import check_bytes

    config = Config(max_analysis_seconds=3600.0, max_file_size=64 * 1024 * 1024)
    check_bytes(module(100).encode(), "warm-up.py", config)  # the rules' imports are not the first size's cost
    rows = []
    for lines in (int(value) for value in args.lines.split(",")):
        source = module(lines)
        data = source.encode()
        ast_s = timed(ast.parse, args.repeat, source)
        cst_s = timed(libcst.parse_module, args.repeat, source)
        findings: list[int] = []
        total = timed(lambda found, data: found.append(len(check_bytes(data, "dense.py", config).findings)), args.repeat, findings, data)
        analysis = max(total - cst_s - ast_s, 0.0)
        rows.append((source.count("\n"), ast_s, cst_s, analysis, findings[-1]))
    print(f"{'lines':>7} {'ast.parse':>10} {'libcst':>9} {'analysis':>9} {'analysis/parse':>15} {'findings':>9}  exponents (ast, libcst, analysis)")
    previous = None
    for row in rows:
        lines, ast_s, cst_s, analysis, count = row
        exponents = ""
        if previous is not None:
            grow = math.log(lines / previous[0])
            exponents = "  " + ", ".join(f"{math.log(max(now, 1e-6) / max(then, 1e-6)) / grow:.2f}" for now, then in zip(row[1:4], previous[1:4], strict=True))
        print(f"{lines:>7} {ast_s:>9.2f}s {cst_s:>8.2f}s {analysis:>8.2f}s {analysis / cst_s:>14.2f}x {count:>9}{exponents}")
        previous = row
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
