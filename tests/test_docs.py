"""Rule pages: generated from the docstrings, complete, with examples that behave as documented."""

from __future__ import annotations

import ast
import re

import pytest

from cowlint import Config, check_source
from cowlint.docs import SECTIONS, pages
from cowlint.rules import ENGINE_CODES
from cowlint.rules.registry import ALL_RULES

from .conftest import ROOT, run_cowlint

DOCS = ROOT / "docs" / "rules"
_BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE)
    assert match, f"missing section {title!r}"
    return match.group(1)


@pytest.mark.parametrize("name", sorted(pages()))
def test_page_matches_the_docstring(name: str) -> None:
    page = DOCS / name
    assert page.exists(), f"{page} is missing: run `python -m cowlint.docs docs/rules`"
    assert page.read_text(encoding="utf-8") == pages()[name], f"{page} drifted from the rule docstring: run `python -m cowlint.docs docs/rules`"


def test_no_page_without_a_rule() -> None:
    assert {p.name for p in DOCS.glob("*.md")} == set(pages())


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_sections_in_order_and_python_blocks_parse(rule: type) -> None:
    text = rule.documentation()
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings == list(SECTIONS)
    for language, code in _BLOCK.findall(text):
        if language == "python":
            ast.parse(code)


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if r.code not in ENGINE_CODES], ids=lambda r: r.code)
def test_example_is_reported_and_use_instead_is_quiet(rule: type) -> None:
    text = rule.documentation()
    bad = _BLOCK.findall(_section(text, "Example"))[0][1]
    good = _BLOCK.findall(_section(text, "Use instead"))[0][1]
    assert rule.code in {f.code for f in check_source(bad, "example.py", Config())}
    assert rule.code not in {f.code for f in check_source(good, "use_instead.py", Config())}


def test_explain_prints_the_page() -> None:
    result = run_cowlint("--explain", "cow101")
    assert result.returncode == 0
    assert result.stdout == (DOCS / "COW101.md").read_text(encoding="utf-8")


def test_explain_unknown_code_is_a_usage_error() -> None:
    result = run_cowlint("--explain", "COW999")
    assert result.returncode == 2
    assert "unknown rule 'COW999'" in result.stderr


def test_rule_catalog_matches_the_registry() -> None:
    from cowlint.rules import RULE_NAMES

    assert RULE_NAMES == {rule.code: rule.name for rule in ALL_RULES}
