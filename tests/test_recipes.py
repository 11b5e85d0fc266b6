"""The recipes in docs/integrations.md are the tested files in docs/recipes/, and their commands work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT, console_script

RECIPES = ROOT / "docs" / "recipes"
yaml = pytest.importorskip("yaml", reason="PyYAML comes with pre-commit, in the test extra")


def _workspace(tmp_path: Path) -> Path:
    work = tmp_path / "repo"
    shutil.copytree(ROOT / "fixtures", work / "fixtures")
    shutil.copytree(ROOT / "examples", work / "examples")
    return work


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # 'pip install cowlint' is what a fresh CI machine runs; here the checkout is installed already
    command = command.replace("pip install cowlint", ":")
    env = {**os.environ, "PATH": f"{Path(console_script()).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["sh", "-c", command], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def _run_steps(workflow: str) -> list[str]:
    steps = yaml.safe_load((RECIPES / workflow).read_text())["jobs"]["cowlint"]["steps"]
    return [step["run"] for step in steps if "run" in step]


def test_every_recipe_is_shown_verbatim_in_the_integrations_page() -> None:
    page = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
    for recipe in sorted(RECIPES.iterdir()):
        assert recipe.read_text(encoding="utf-8") in page, f"{recipe.name} is not shown verbatim in docs/integrations.md"


def test_code_scanning_recipe_writes_sarif_without_failing_the_step(tmp_path: Path) -> None:
    work = _workspace(tmp_path)
    for command in _run_steps("github-code-scanning.yml"):
        result = _shell(command, work)
        assert result.returncode == 0, (command, result.stderr)
    log = json.loads((work / "cowlint.sarif").read_text())
    assert log["version"] == "2.1.0" and len(log["runs"][0]["results"]) > 40


def test_annotations_recipe_fails_the_step_with_annotations(tmp_path: Path) -> None:
    work = _workspace(tmp_path)
    *setup, check = _run_steps("github-annotations.yml")
    assert all(_shell(command, work).returncode == 0 for command in setup)
    result = _shell(check, work)
    assert result.returncode == 1
    assert result.stdout.startswith("::warning file=")


def test_plain_ci_recipe(tmp_path: Path) -> None:
    work = _workspace(tmp_path)
    result = _shell((RECIPES / "plain-ci.sh").read_text(), work)
    assert result.returncode == 1
    assert len(json.loads((work / "cowlint.json").read_text())) > 40
    assert "COW101" in result.stdout  # the statistics


def test_pre_commit_recipe_uses_the_published_hook_id() -> None:
    config = yaml.safe_load((RECIPES / "pre-commit-config.yaml").read_text())
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert config["repos"][0]["hooks"][0]["id"] == hooks[0]["id"] == "cowlint"
    assert hooks[0]["language"] == "python" and hooks[0]["types"] == ["python"] and hooks[0]["require_serial"] is False
    assert "--verify" not in hooks[0]["entry"]


def test_readme_pre_commit_snippet_is_the_recipe() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "```yaml\n" + (RECIPES / "pre-commit-local.yaml").read_text(encoding="utf-8") + "```" in readme  # run by test_pre_commit
