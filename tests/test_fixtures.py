"""Every annotated fixture: the reported set equals the annotated set, line for line.

Annotations live in the fixture files themselves (semgrep-style):

- ``# expect: COW101`` the line must be reported with that code
  (``# expect: COW101 col=24`` also pins the column);
- ``# ok: COW101`` the line must not be reported with that code;
- ``# todo-expect: COW101`` a known false negative (must currently be quiet);
- ``# todo-ok: COW101`` a known false positive (must currently be reported).

A ``# cowlint: key=value`` header sets the file's context, as the engine reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from cowlint import Config, check_source

from .conftest import FIXTURES

_MARK = re.compile(r"#\s*(expect|ok|todo-expect|todo-ok):\s*(COW\d{3})(?:\s+col=(\d+))?")


@dataclass(frozen=True)
class Mark:
    kind: str
    code: str
    line: int
    column: int | None


def marks_of(path: Path) -> list[Mark]:
    found = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for match in _MARK.finditer(text):
            found.append(Mark(match.group(1), match.group(2), number, int(match.group(3)) if match.group(3) else None))
    return found


FIXTURE_FILES = sorted(FIXTURES.glob("COW*/*.py"))


def annotated_files(root: Path) -> list[Path]:
    """Every file under ``root`` the run reads and a fixture may annotate: Python modules, uWSGI
    ``.ini`` files, Procfiles and Dockerfiles."""
    return sorted({*root.rglob("*.py"), *root.rglob("*uwsgi*.ini"), *root.rglob("*uwsgi*.yaml"), *root.rglob("Procfile"), *root.rglob("Dockerfile*")})


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_reports_exactly_the_annotated_findings(path: Path) -> None:
    findings = check_source(path.read_bytes(), str(path), Config())
    reported = {(f.line, f.code) for f in findings}
    marks = marks_of(path)
    assert marks, f"{path} has no annotations"
    expected = {(m.line, m.code) for m in marks if m.kind in ("expect", "todo-ok")}
    forbidden = {(m.line, m.code) for m in marks if m.kind in ("ok", "todo-expect")}
    missing = sorted(expected - reported)
    unexpected = sorted(reported - expected)
    wrongly = sorted(reported & forbidden)
    assert not missing, f"annotated but not reported: {missing}"
    assert not unexpected, f"reported but not annotated: {unexpected}; " + "; ".join(f"{f.line}: {f.message}" for f in findings if (f.line, f.code) in unexpected)
    assert not wrongly
    for mark in marks:
        if mark.kind == "expect" and mark.column is not None:
            columns = {f.column for f in findings if f.line == mark.line and f.code == mark.code}
            assert mark.column in columns, f"line {mark.line}: expected column {mark.column}, got {columns}"


@pytest.mark.parametrize("folder", sorted(p for p in FIXTURES.iterdir() if p.is_dir() and p.name.startswith("COW")), ids=lambda p: p.name)
def test_each_rule_folder_has_ten_reported_and_ten_quiet_cases(folder: Path) -> None:
    marks = [m for path in folder.glob("*.py") for m in marks_of(path) if m.code == folder.name]
    assert sum(m.kind == "expect" for m in marks) >= 10
    assert sum(m.kind == "ok" for m in marks) >= 10
