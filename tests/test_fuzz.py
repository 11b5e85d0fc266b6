"""Generated and mutated modules: checking never raises, positions stay inside the file, fixes parse and are idempotent.

CI runs a bounded number of examples (``COWLINT_FUZZ_EXAMPLES``, default 40
per property); ``python benchmarks/fuzz.py --examples 10000`` runs the long
campaign with the same properties.
"""

from __future__ import annotations

import ast
import difflib
import os
import random
import re
import warnings
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cowlint import Config
from cowlint.engine.module.check import check_bytes, fix_bytes

from .conftest import FIXTURES

hypothesmith = pytest.importorskip("hypothesmith")

EXAMPLES = int(os.environ.get("COWLINT_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=EXAMPLES <= 100)
CONFIG = Config(unsafe_fixes=True)  # the fix properties hold for unsafe fixes too

# Generated code alone rarely touches multiprocessing, so every module is also
# checked between a prelude and an epilogue that make every rule family look at it.
PRELUDE = """\
import gc
import os
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
ROWS = [[n] for n in range(1_000_000)]
"""
EPILOGUE = """
def _worker(item):
    return len(ROWS) + item
if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        pool.map(_worker, range(10))
    pid = os.fork()
"""


def test_the_frame_is_fixable() -> None:
    """The prelude and epilogue make a module that --fix changes, so the fix properties are exercised."""
    fixed = fix_bytes((PRELUDE + "x = 1\n" + EPILOGUE).encode(), "fuzzed.py", CONFIG)
    assert fixed is not None and fixed[1] >= 1 and b"gc.freeze()" in fixed[0]


def _parse(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ast.parse(data)


# the long campaign (benchmarks/fuzz.py) records each module's peak traced memory here
MEMORY_LOG = os.environ.get("COWLINT_FUZZ_MEMORY_LOG")
_WARM: list[bool] = []


def check_properties(data: bytes, label: str = "") -> None:
    """The fuzzing contract for one module (its peak memory logged when asked)."""
    if MEMORY_LOG:
        import tracemalloc

        if not _WARM:  # the first check imports the rules and libcst: not this module's memory
            _check_properties(PRELUDE.encode() + EPILOGUE.encode())
            _WARM.append(True)
        tracemalloc.start()
        try:
            _check_properties(data)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            with open(MEMORY_LOG, "a", encoding="utf-8") as log:
                log.write(f"{peak}\t{len(data)}\t{label or 'generated'}\n")
        return
    _check_properties(data)


def _check_properties(data: bytes) -> None:
    result = check_bytes(data, "fuzzed.py", CONFIG)
    assert result.errors == [], result.errors
    lines = re.split(rb"\r\n|\r|\n", data)  # Python's own line breaks
    for finding in result.findings:
        assert 1 <= finding.line <= len(lines) + 1, finding
        assert finding.column >= 1, finding
        assert (finding.end_line, finding.end_column) >= (finding.line, finding.column), finding
        if finding.code != "COW901":
            assert finding.column <= len(lines[finding.line - 1].decode("utf-8", "replace")) + 1, finding
    try:
        _parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    fixed = fix_bytes(data, "fuzzed.py", CONFIG)
    if fixed is None:
        return
    new, count = fixed
    assert count > 0
    _parse(new)  # a fix never breaks the module
    # a fix only inserts lines: every line of the original is kept, byte for byte and in order
    kept = difflib.SequenceMatcher(None, data.splitlines(keepends=True), new.splitlines(keepends=True), autojunk=False).get_opcodes()
    assert all(tag in ("equal", "insert") for tag, *_ in kept), [op for op in kept if op[0] not in ("equal", "insert")]
    again = fix_bytes(new, "fuzzed.py", CONFIG)
    assert again is None or again[1] == 0 or again[0] == new, "a second --fix changed the file again"


@FUZZ
@given(source=hypothesmith.from_grammar())
def test_grammar_generated_modules(source: str) -> None:
    check_properties(source.encode("utf-8", "surrogatepass"))
    check_properties((PRELUDE + source + EPILOGUE).encode("utf-8", "surrogatepass"))


@FUZZ
@given(source=hypothesmith.from_node())
def test_cst_generated_modules(source: str) -> None:
    check_properties(source.encode("utf-8", "surrogatepass"))
    check_properties((PRELUDE + source + EPILOGUE).encode("utf-8", "surrogatepass"))


TOKENS = [b"(", b")", b"[", b"]", b":", b"\\", b"'", b'"""', b"lambda", b"async ", b"yield", b"\t", b"\x00", b"\xff", b"#", b"\r", b"if", b"=", b"**", b"@"]


def mutants(data: bytes, seed: int) -> list[bytes]:
    """Delete a random line, truncate, insert a random token: one of each per seed."""
    rng = random.Random(seed)
    lines = data.split(b"\n")
    index = rng.randrange(len(lines))
    deleted = b"\n".join(lines[:index] + lines[index + 1 :])
    truncated = data[: rng.randrange(len(data) + 1)]
    at = rng.randrange(len(data) + 1)
    inserted = data[:at] + rng.choice(TOKENS) + data[at:]
    return [deleted, truncated, inserted]


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("COW*/*.py")), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_mutated_fixtures_never_crash(path: Path) -> None:
    data = path.read_bytes()
    for seed in range(2):
        for mutant in mutants(data, zlib.crc32(path.name.encode()) + seed):
            check_properties(mutant)


# real multiprocessing code to mutate: a folder of modules nobody here wrote (the long campaign
# points it at checkouts of public projects), else the rule fixtures
CORPUS = Path(os.environ.get("COWLINT_FUZZ_CORPUS", str(FIXTURES)))


def _corpus() -> list[Path]:
    found = []
    for folder, _, names in sorted(os.walk(CORPUS, followlinks=True)):  # checkouts are often symlinks
        for name in sorted(names):
            if name.endswith(".py"):
                found.extend(_multiprocessing_module(Path(folder, name)))
    return found


def _multiprocessing_module(path: Path) -> list[Path]:
    """``[path]`` when the file is a module of reasonable size that uses processes."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    uses_processes = any(word in data for word in (b"multiprocessing", b"ProcessPool", b"DataLoader", b"os.fork"))
    return [path] if len(data) <= 200_000 and uses_processes else []


CORPUS_FILES = _corpus()


@FUZZ
@given(index=st.integers(min_value=0), seed=st.integers(min_value=0, max_value=2**32 - 1), kind=st.integers(min_value=0, max_value=2))
def test_mutated_real_code(index: int, seed: int, kind: int) -> None:
    """A line deleted, the file truncated, or a token inserted, in real multiprocessing code."""
    assert CORPUS_FILES, f"no module using processes under {CORPUS}"
    path = CORPUS_FILES[index % len(CORPUS_FILES)]
    check_properties(mutants(path.read_bytes(), seed)[kind], f"{path}")


@FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    check_properties(data)
    check_properties(PRELUDE.encode() + data + EPILOGUE.encode())
