"""COW3xx cases from an independent review: what must stay quiet, what must be seen, what --fix must not do."""

from __future__ import annotations

from pathlib import Path

from cowlint import Config, check_source

from .conftest import ROOT, run_cowlint


def _codes(source: str, code: str) -> list[int]:
    return [f.line for f in check_source(source, "case.py", Config()) if f.code == code]


def test_shared_memory_and_proxies_are_not_inherited_containers() -> None:
    source = (
        "import multiprocessing as mp\nimport numpy as np\nARR = mp.Array('d', 10)\nRAW = mp.RawArray('d', 10)\n"
        "MAP = np.memmap('x.bin', mode='r+')\nPLAIN = list()\n\n"
        "def work(i):\n    ARR[i] = 1.0\n    RAW[i] = 1.0\n    MAP[i] = 1\n    PLAIN.append(i)\n\n"
        "def main():\n    with mp.Pool() as pool:\n        pool.map(work, range(3))\n"
    )
    assert _codes(source, "COW304") == [12]


def test_counters_are_reported_and_memo_caches_are_not() -> None:
    source = (
        "from multiprocessing import Pool\nCOUNTS = {}\nCACHE = {}\n\n"
        "def count(k):\n    COUNTS[k] = COUNTS.get(k, 0) + 1\n\n"
        "def bump(k):\n    if k in COUNTS:\n        COUNTS[k] += 1\n\n"
        "def memo(k):\n    if k in CACHE:\n        return CACHE[k]\n    CACHE[k] = k * 2\n    return CACHE[k]\n\n"
        "def main():\n    with Pool() as pool:\n        pool.map(count, 'ab')\n        pool.map(bump, 'ab')\n        pool.map(memo, 'ab')\n"
    )
    assert _codes(source, "COW304") == [6, 10]


def test_data_loader_with_a_spawn_context_object_is_quiet_and_listings_are_loaded_data() -> None:
    source = (
        "import glob\nimport multiprocessing as mp\nfrom torch.utils.data import DataLoader, Dataset\n\n"
        "class Images(Dataset):\n    def __init__(self, root):\n        self.paths = sorted(glob.glob(root + '/*.jpg'))\n\n"
        "def loaders():\n    yield DataLoader(Images('x'), num_workers=4)\n"
        "    yield DataLoader(Images('x'), num_workers=4, multiprocessing_context=mp.get_context('spawn'))\n"
    )
    assert _codes(source, "COW303") == [10]


def test_tuples_of_atoms_are_not_a_tracked_heap() -> None:
    source = "import os\n\ndef serve():\n    rows = [(i, str(i)) for i in range(2_000_000)]\n    if os.fork() == 0:\n        os._exit(0)\n    return rows\n"
    assert _codes(source, "COW301") == []
    assert _codes(source.replace("(i, str(i))", "(i, [i])"), "COW301") == [5]


def test_dicts_of_atoms_are_not_a_tracked_heap() -> None:
    """CPython never tracks a dict whose keys and values are all atomic (this interpreter is
    asked too); one holding a list is tracked, and so a heap."""
    import gc

    number, text = 5, "x"
    assert not gc.is_tracked({"id": number, "name": text}) and gc.is_tracked({"id": number, "tags": [text]})
    source = "import os\n\ndef serve():\n    rows = [{'id': i, 'name': str(i)} for i in range(2_000_000)]\n    if os.fork() == 0:\n        os._exit(0)\n    return rows\n"
    assert _codes(source, "COW301") == []
    assert _codes(source.replace("'name': str(i)", "'tags': [i]"), "COW301") == [5]
    assert _codes(source.replace("{'id': i, 'name': str(i)}", "{**base, 'id': i}"), "COW301") == [5]  # what base holds is not known


def test_fix_skips_elif_tests_and_a_shadowed_gc(tmp_path: Path) -> None:
    elif_fork = "import json\nimport os\n\n\ndef serve(p, a):\n    routes = json.load(open(p))\n    if a:\n        pass\n    elif os.fork() == 0:\n        os._exit(0)\n    return routes\n"
    shadowed = elif_fork.replace("    if a:\n        pass\n    elif os.fork() == 0:\n", "    if os.fork() == 0:\n") + "\n\ndef gc():\n    pass\n"
    for name, source in (("elif_fork.py", elif_fork), ("shadowed.py", shadowed)):
        path = tmp_path / name
        path.write_text(source)
        result = run_cowlint("--isolated", "--fix", "--output-format", "concise", str(path))
        assert "Traceback" not in result.stderr and result.returncode == 1, result.stderr
        assert path.read_text() == source
        assert "COW301" in result.stdout


def test_cow302_quotes_the_gc_calls_as_written() -> None:
    """`from gc import collect, freeze` or `import gc as g`: the message names the call the code makes,
    not a `gc.collect()` the reader will not find in the file."""
    findings = [f for f in check_source((ROOT / "fixtures" / "COW302" / "imported_names.py").read_bytes(), "imported_names.py", Config()) if f.code == "COW302"]
    assert [f.message.split(" ")[0] for f in findings] == ["collect()", "freeze()"]
    aliased = "import gc as g\nimport os\n\ndef main():\n    t = [[i] for i in range(10**6)]\n    g.freeze()\n    os.fork()\n"
    (finding,) = [f for f in check_source(aliased, "case.py", Config()) if f.code == "COW302"]
    assert finding.message.startswith("g.freeze() after t was built")


def test_every_medium_confidence_finding_says_why() -> None:
    """A medium-confidence finding names its own doubt (a pool known only by its name, a size from an
    annotation, a heap of unknown count...), in the text note and in the JSON, instead of one generic note."""
    import json

    from cowlint.engine.finding import INFERRED as MEDIUM_NOTE

    findings = json.loads(run_cowlint("--isolated", "--no-cache", "--output-format", "json", "fixtures/").stdout)
    medium = [f for f in findings if f["confidence"] == "medium"]
    assert len(medium) > 20
    assert all(f["unsure"] and f["unsure"] != MEDIUM_NOTE for f in medium), [f for f in medium if not f["unsure"]][:3]
    assert all(f["unsure"] is None for f in findings if f["confidence"] == "high")
    reasons = {f["unsure"] for f in medium}
    assert "pool is taken for a process pool from its name alone" in reasons
    assert "the size of data comes from its annotation (np.ndarray) alone" in reasons
    text = run_cowlint("--isolated", "--no-cache", "fixtures/").stdout
    assert "= note: medium confidence: pool is taken for a process pool from its name alone" in text
    assert MEDIUM_NOTE not in text
