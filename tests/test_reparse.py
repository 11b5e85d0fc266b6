"""Re-parsing only the statements that changed (the language server's re-checks) gives the tree,
the findings and the positions of a whole parse."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings

from cowlint import Config
from cowlint.engine.module.check import check_bytes
from cowlint.engine.module.reparse import StatementCache, pieces

from .conftest import FIXTURES, ROOT
from .test_fuzz import EXAMPLES

hypothesmith = pytest.importorskip("hypothesmith")

CORPUS = sorted([*FIXTURES.rglob("*.py"), *(ROOT / "examples").glob("*.py"), *(ROOT / "src" / "cowlint").rglob("*.py")])


def _parse(cache: StatementCache, text: str) -> cst.Module:
    return cache.parse(text, ast.parse(text))


def _findings(text: str, cache: StatementCache | None) -> list[tuple[str, int, int, int, int, str]]:
    result = check_bytes(text.encode(), "module.py", Config(), statements=cache)
    return [(f.code, f.line, f.column, f.end_line, f.end_column, f.message) for f in result.findings]


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: str(path.relative_to(ROOT)))
def test_pieces_join_to_the_module(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    cache = StatementCache()
    assert _parse(cache, text).code == text
    assert _findings(text, StatementCache()) == _findings(text, None)


@pytest.mark.parametrize("path", [path for path in CORPUS if "expect: COW" in path.read_text(encoding="utf-8")][:40], ids=lambda path: path.name)
def test_edits_reuse_the_other_statements_and_keep_findings_exact(path: Path) -> None:
    """Insert lines and edit one function at a time: every re-check equals a fresh whole check."""
    text = path.read_text(encoding="utf-8")
    cache = StatementCache()
    assert _findings(text, cache) == _findings(text, None)
    rng = random.Random(path.name)
    lines = text.splitlines(keepends=True)
    for _ in range(4):
        tree = ast.parse("".join(lines))
        statement = rng.choice(tree.body)
        at = statement.lineno - 1
        lines.insert(at, "# an edit above this statement\n\n")  # shifts every later finding by two lines
        edited = "".join(lines)
        assert _findings(edited, cache) == _findings(edited, None)
        count = len(pieces(edited, ast.parse(edited)) or [])
        assert cache.reused >= count - 2  # only the edited piece (and the one whose tail moved) were parsed again


def test_a_one_line_edit_parses_one_piece() -> None:
    text = "import os\n\n\ndef a():\n    return 1\n\n\ndef b():\n    return 2\n\n\nclass C:\n    x = 1\n"
    cache = StatementCache()
    _parse(cache, text)
    edited = text.replace("return 2", "return 3")
    module = _parse(cache, edited)
    assert module.code == edited
    assert cache.reused == 3  # import, a, C


@pytest.mark.parametrize(
    "text",
    [
        "x = [1,\n     2]\n     # one\n     # two\n\ny = 1\n",  # libcst drops the first indented comment line at a file's end
        "a = 1; b = 2\nc = 3\n",  # statements sharing a line stay in one piece
        "x = 1 + \\\n    2\ny = 3\n",  # a continued line
        "@decorator\n# between\n@other\ndef f():\n    pass\nz = f\n",
        "if x:\n\tpass\ndef f():\n    return 1\n",  # tabs, then spaces: the module parses whole
        "a = 1\r\nb = 2\nc = 3\r\n",  # mixed newlines
        "a = 1\x0c\nb = 2\n\x0cc = 3\n",  # form feeds, which end no line for Python
        "x = 1\n\n\n",
        "def f():\n    pass\n    # trailing, indented\n# trailing\n",
        "s = '''\nnot a statement\n'''\nt = 1\n",
        "x = 1\nx = 1\nx = 1\n",  # a repeated piece is parsed again: no node sits in two places
    ],
)
def test_awkward_modules_round_trip(text: str) -> None:
    cache = StatementCache()
    whole = cst.parse_module(text).code  # libcst itself drops a form feed that starts a line
    module = _parse(cache, text)
    assert module.code == whole
    again = _parse(cache, text)
    assert again.code == whole
    nodes = [id(node) for node in _walk(again)]
    assert len(nodes) == len(set(nodes))


def _walk(node: cst.CSTNode) -> list[cst.CSTNode]:
    found = [node]
    for child in node.children:
        found.extend(_walk(child))
    return found


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=EXAMPLES <= 100)
@given(hypothesmith.from_grammar())
def test_generated_modules_round_trip(text: str) -> None:
    try:
        tree = ast.parse(text)
        whole = cst.parse_module(text)
    except Exception:  # noqa: BLE001 - neither parser accepts it: nothing to compare
        return
    joined = StatementCache().parse(text, tree)
    assert joined.code == whole.code
