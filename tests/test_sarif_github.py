"""SARIF 2.1.0 against the official schema, GitHub annotations, and --statistics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cowlint.rules.registry import ALL_RULES

from .conftest import ROOT, run_cowlint

SCHEMA = ROOT.parent / "shared" / "data" / "sarif-schema-2.1.0.json"


def _sarif(*paths: str) -> dict:
    result = run_cowlint("--output-format", "sarif", *paths)
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


def test_sarif_validates_against_the_official_schema() -> None:
    if not SCHEMA.exists():
        pytest.skip(f"the SARIF 2.1.0 schema is not at {SCHEMA} (it comes with the shared/ folder beside the checkout)")
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the test extra: pip install -e '.[test]'")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    log = _sarif("fixtures/", "examples/")
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_sarif_carries_rules_results_and_sizes() -> None:
    log = _sarif("fixtures/COW101/task_items.py")
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in ALL_RULES]
    for rule in rules:
        assert rule["name"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["helpUri"].endswith(f"/docs/rules/{rule['id']}.md")
        assert (ROOT / "docs" / "rules" / f"{rule['id']}.md").exists()
    first = run["results"][0]
    assert first["ruleId"] == "COW101" and first["level"] == "warning"
    assert rules[first["ruleIndex"]]["id"] == "COW101"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "fixtures/COW101/task_items.py"
    assert location["region"] == {"startLine": 27, "startColumn": 42, "endLine": 27, "endColumn": 51}
    assert first["properties"]["size_bytes"] == 800_000_000
    assert "762.9 MiB" in first["message"]["text"]


def test_github_annotations_follow_the_workflow_command_syntax(tmp_path: Path) -> None:
    result = run_cowlint("--output-format", "github", "fixtures/")
    assert result.returncode == 1
    command = re.compile(r"^::warning file=[^,:]+,line=\d+,col=\d+,title=COW\d{3}::[^\r\n]+$")
    lines = result.stdout.splitlines()
    assert lines and all(command.match(line) for line in lines)
    odd = tmp_path / "a,b:c%.py"
    odd.write_text((ROOT / "fixtures" / "COW101" / "task_items.py").read_text())
    escaped = run_cowlint("--output-format", "github", str(odd)).stdout.splitlines()[0]
    assert "file=" + str(tmp_path).replace(":", "%3A").replace(",", "%2C") + "/a%2Cb%3Ac%25.py," in escaped


def test_statistics_counts_per_code() -> None:
    result = run_cowlint("--statistics", "fixtures/")
    assert result.returncode == 1
    rows = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    assert result.stdout.splitlines()[-1].startswith(("Found ", "[*] ", "("))  # the summary follows, as ruff's
    counts = {code: int(count) for count, code, _ in rows}
    concise = run_cowlint("--output-format", "concise", "fixtures/").stdout
    assert counts == {code: concise.count(f" {code} ") for code in counts}
    assert [int(count) for count, _, _ in rows] == sorted((int(count) for count, _, _ in rows), reverse=True)
