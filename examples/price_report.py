"""Price report: works on Linux with Python < 3.14, breaks on macOS, Windows and Python 3.14.

The workers read `RATES`, which `main()` fills before the pool starts: a forked
worker inherits the filled dict, a spawned or forkserver worker re-imports this
module and finds it empty. `HISTORY` is built at import time, so every such
worker also rebuilds its own 76 MiB copy.
"""

import json
import multiprocessing
import sys

import numpy as np

RATES = {}
HISTORY = np.zeros((10_000, 1_000))


def to_euro(line):
    currency, amount = line.split()
    return float(amount) / RATES[currency] + HISTORY[0, 0]


def main(path, rates_path):
    with open(rates_path) as handle:
        RATES.update(json.load(handle))
    with open(path) as handle:
        lines = handle.read().splitlines()
    with multiprocessing.Pool(4) as pool:
        return sum(pool.map(to_euro, lines))


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2]))
