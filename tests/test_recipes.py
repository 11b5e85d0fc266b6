"""The recipes in docs/integrations.md are the tested files in docs/recipes/, and their commands work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT

RECIPES = ROOT / "docs" / "recipes"
yaml = pytest.importorskip("yaml", reason="PyYAML comes with pre-commit, in the test extra")


def _workspace(tmp_path: Path) -> Path:
    work = tmp_path / "repo"
    shutil.copytree(ROOT / "fixtures", work / "fixtures")
    shutil.copytree(ROOT / "examples", work / "examples")
    return work


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What a fresh CI machine has after the recipes' first step: a virtual environment with pip,
    and COWLINT naming a wheel built from this checkout (cowlint is not on PyPI yet)."""
    import sys

    work = tmp_path_factory.mktemp("ci")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("cowlint-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True, timeout=300)
    return {"PATH": f"{work / 'venv' / 'bin'}{os.pathsep}{os.environ['PATH']}", "COWLINT": str(wheel), "VIRTUAL_ENV": str(work / "venv")}


def _shell(command: str, cwd: Path, installed: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A recipe's command as a CI shell runs it, in the fresh environment (its pip install included)."""
    env = {**os.environ, **installed}
    return subprocess.run(["sh", "-c", command], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def _run_steps(workflow: str) -> list[str]:
    steps = yaml.safe_load((RECIPES / workflow).read_text())["jobs"]["cowlint"]["steps"]
    return [step["run"] for step in steps if "run" in step]


def test_every_recipe_is_shown_verbatim_in_the_integrations_page() -> None:
    page = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
    for recipe in sorted(RECIPES.iterdir()):
        assert recipe.read_text(encoding="utf-8") in page, f"{recipe.name} is not shown verbatim in docs/integrations.md"


def test_code_scanning_recipe_writes_sarif_without_failing_the_step(tmp_path: Path, installed: dict[str, str]) -> None:
    work = _workspace(tmp_path)
    for command in _run_steps("github-code-scanning.yml"):
        result = _shell(command, work, installed)
        assert result.returncode == 0, (command, result.stderr)
    log = json.loads((work / "cowlint.sarif").read_text())
    assert log["version"] == "2.1.0" and len(log["runs"][0]["results"]) > 40


def test_annotations_recipe_fails_the_step_with_annotations(tmp_path: Path, installed: dict[str, str]) -> None:
    work = _workspace(tmp_path)
    *setup, check = _run_steps("github-annotations.yml")
    assert all(_shell(command, work, installed).returncode == 0 for command in setup)
    result = _shell(check, work, installed)
    assert result.returncode == 1
    assert result.stdout.startswith("::warning file=")


def test_plain_ci_recipe(tmp_path: Path, installed: dict[str, str]) -> None:
    work = _workspace(tmp_path)
    result = _shell((RECIPES / "plain-ci.sh").read_text(), work, installed)
    assert result.returncode == 1
    assert len(json.loads((work / "cowlint.json").read_text())) > 40
    assert "COW101" in result.stdout  # the statistics


def test_pre_commit_recipe_uses_the_published_hook_id() -> None:
    config = yaml.safe_load((RECIPES / "pre-commit-config.yaml").read_text())
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert config["repos"][0]["hooks"][0]["id"] == hooks[0]["id"] == "cowlint"
    assert hooks[0]["language"] == "python" and hooks[0]["types_or"] == ["python", "ini", "dockerfile", "shell"] and hooks[0]["require_serial"] is False
    assert "--verify" not in hooks[0]["entry"]


def test_readme_pre_commit_snippet_is_the_recipe() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "```yaml\n" + (RECIPES / "pre-commit-local.yaml").read_text(encoding="utf-8") + "```" in readme  # run by test_pre_commit


def test_flake8_snippet_as_shown(tmp_path: Path, installed: dict[str, str]) -> None:
    """The shell block of the flake8 section, run as it is in the fresh environment: flake8 finds the COW codes."""
    import re

    page = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
    section = page.split("## flake8", 1)[1]
    (snippet,) = re.findall(r"```sh\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    work = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", work / "src")
    result = _shell("set -e\n" + snippet, work, installed)
    assert result.returncode == 1, result.stdout + result.stderr  # flake8 exits 1 on findings
    assert "COW101" in result.stdout and "embedding_search.py" in result.stdout


def _lsp_exchange(server: list[str], env: dict[str, str], source: str, uri: str) -> list[dict]:
    """Initialize a real `cowlint server` over stdio, open one document, and collect what it sends until
    its diagnostics for that document arrive (framing by Content-Length, as every LSP client does)."""
    process = subprocess.Popen(server, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdin is not None and process.stdout is not None

    def send(message: dict) -> None:
        body = json.dumps(message).encode()
        process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]

    def receive() -> dict:
        length = 0
        while (header := process.stdout.readline().strip()):  # type: ignore[union-attr]
            if header.lower().startswith(b"content-length:"):
                length = int(header.split(b":")[1])
        assert length, "the server closed its output"
        return json.loads(process.stdout.read(length))  # type: ignore[union-attr]

    received = []
    try:
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}})
        received.append(receive())
        send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": source}}})
        while not (received[-1].get("method") == "textDocument/publishDiagnostics" and received[-1]["params"]["uri"] == uri):
            received.append(receive())
        send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        send({"jsonrpc": "2.0", "method": "exit"})
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        process.wait()
    return received


def test_server_extra_as_the_readme_says(tmp_path: Path, installed: dict[str, str]) -> None:
    """README: "pip install '.[server]' adds a language server". Without the extra, `cowlint server` says which
    extra to install; with it (from the wheel, in the fresh environment), a real LSP exchange over stdio reports
    the example's finding."""
    plain = _shell('pip install -q "$COWLINT" && cowlint server', tmp_path, installed)
    pygls_there = _shell('python -c "import pygls"', tmp_path, installed).returncode == 0
    if not pygls_there:  # another test of this module may have installed the extra already
        assert plain.returncode == 2 and "pip install 'cowlint[server]'" in plain.stderr, plain.stderr
    extra = _shell('pip install -q "$COWLINT[server]"', tmp_path, installed)
    assert extra.returncode == 0, extra.stderr
    example = ROOT / "examples" / "embedding_search.py"
    env = {**os.environ, **installed}
    messages = _lsp_exchange([str(Path(installed["VIRTUAL_ENV"]) / "bin" / "cowlint"), "server"], env, example.read_text(encoding="utf-8"), example.as_uri())
    assert messages[0]["result"]["capabilities"]["codeActionProvider"], messages[0]
    diagnostics = messages[-1]["params"]["diagnostics"]
    cli = json.loads(_shell(f"cowlint --output-format json {example}", tmp_path, installed).stdout)
    assert "COW101" in {d["code"] for d in diagnostics}
    assert sorted((d["code"], d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1) for d in diagnostics) == sorted(
        (f["code"], f["line"], f["column"]) for f in cli
    )
