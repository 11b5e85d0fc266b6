"""``cowlint --fix``: the first autofix (COW301, gc.freeze() before a fork) on real files."""

from __future__ import annotations

import ast
import difflib
import shutil
from pathlib import Path

from .conftest import FIXTURES, ROOT, run_cowlint


def _copy(tmp_path: Path, *sources: Path) -> list[Path]:
    copies = []
    for source in sources:
        target = tmp_path / source.name
        shutil.copy(source, target)
        copies.append(target)
    return copies


def _codes(path: Path) -> list[str]:
    result = run_cowlint("--isolated", "--no-cache", "--output-format", "concise", str(path))
    return [line.split(": ", 1)[1].split(" ", 1)[0] for line in result.stdout.splitlines() if ": COW" in line]


def test_fix_inserts_freeze_before_every_fork_and_is_idempotent(tmp_path: Path) -> None:
    files = _copy(tmp_path, *sorted((FIXTURES / "COW301").glob("*.py")))
    before = {path: path.read_text() for path in files}
    reported = sum(_codes(path).count("COW301") for path in files)
    assert reported >= 10
    fixed = run_cowlint("--isolated", "--fix", str(tmp_path))
    assert f"cowlint: fixed {reported} findings in {len(files)} files" in fixed.stderr
    for path in files:
        text = path.read_text()
        ast.parse(text)  # still Python
        assert "COW301" not in _codes(path)
        # only whole lines were added: gc.freeze() calls (and import gc when it was missing)
        added = [line[1:].strip() for line in difflib.ndiff(before[path].splitlines(), text.splitlines()) if line.startswith("+ ")]
        removed = [line for line in difflib.ndiff(before[path].splitlines(), text.splitlines()) if line.startswith("- ")]
        assert removed == []
        assert set(added) <= {"gc.freeze()", "import gc"}
        assert text.count("\nimport gc\n") == 1
    again = run_cowlint("--isolated", "--fix", str(tmp_path))
    assert "fixed" not in again.stderr
    assert {path: path.read_text() for path in files} == {path: path.read_text() for path in files}


def test_fix_keeps_comments_and_indentation(tmp_path: Path) -> None:
    (path,) = _copy(tmp_path, ROOT / "examples" / "prefork_server.py")
    assert _codes(path) == ["COW301"]
    run_cowlint("--isolated", "--fix", str(path))
    text = path.read_text()
    assert "import gc\nimport json\nimport os\nimport sys\n" in text
    assert "    for worker in range(workers):\n        gc.freeze()\n        pid = os.fork()\n" in text
    assert "# ... accept connections and look up routes ..." in text
    result = run_cowlint("--isolated", "--no-cache", "--select", "COW301", str(path))
    assert result.returncode == 0, result.stdout
    # what remains is the other half of the recipe: gc.disable() before the build (COW302)
    assert _codes(path) == ["COW302"]
    second = path.read_text()
    run_cowlint("--isolated", "--fix", str(path))
    assert path.read_text() == second


def test_unsafe_and_suppressed_findings_are_not_fixed(tmp_path: Path) -> None:
    path = tmp_path / "oneliner.py"
    source = (
        "import json\nimport os\n\n\ndef one_line(path, ready):\n    routes = json.load(open(path))\n"
        "    if ready: pid = os.fork()\n    return routes\n\n\n"
        "def suppressed(path):\n    routes = json.load(open(path))\n    return os.fork(), routes  # noqa: COW301\n"
    )
    path.write_text(source)
    assert _codes(path) == ["COW301"]
    result = run_cowlint("--isolated", "--fix", "--output-format", "json", str(path))
    assert path.read_text() == source
    assert '"autofix": null' in result.stdout
