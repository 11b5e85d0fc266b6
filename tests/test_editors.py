"""A real editor with the documented configuration: headless Neovim gets the CLI's findings from ``cowlint server``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, console_script, run_cowlint

pytest.importorskip("pygls")

NVIM = shutil.which("nvim")

# Runs after the documented configuration: wait for the diagnostics, write them as JSON, quit.
HARNESS = """
local out = os.getenv("COWLINT_NVIM_OUT")
local ok = vim.wait(60000, function() return #vim.diagnostic.get(0) > 0 end, 50)
local found = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  local code = d.code
  if code == nil and d.user_data and d.user_data.lsp then code = d.user_data.lsp.code end
  table.insert(found, { code = code, line = d.lnum + 1, column = d.col + 1, end_line = d.end_lnum + 1, end_column = d.end_col + 1, source = d.source, message = d.message })
end
local file = io.open(out, "w")
file:write(vim.fn.json_encode({ waited = ok, diagnostics = found }))
file:close()
vim.cmd("qall!")
"""


def documented_config(version: str) -> str:
    """The Lua block of docs/editors.md marked for this Neovim version, verbatim."""
    text = (ROOT / "docs" / "editors.md").read_text()
    match = re.search(rf"<!-- neovim-{re.escape(version)}-config -->\n```lua\n(.*?)```", text, re.DOTALL)
    assert match, f"docs/editors.md has no marked Neovim {version} block"
    return match.group(1)


@pytest.mark.skipif(NVIM is None, reason="Neovim is not installed (Debian's package: apt-get install neovim; the README's test command installs it)")
def test_headless_neovim_shows_the_cli_findings(tmp_path: Path) -> None:
    version = subprocess.run([NVIM, "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    assert version.startswith("NVIM v0."), version
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    example = project / "embedding_search.py"
    shutil.copy(ROOT / "examples" / "embedding_search.py", example)
    expected = json.loads(run_cowlint("--output-format", "json", "--no-cache", str(example), cwd=project).stdout)
    assert len(expected) >= 2
    init = tmp_path / "init.lua"
    init.write_text(documented_config("0.7"))
    harness = tmp_path / "harness.lua"
    harness.write_text(HARNESS)
    out = tmp_path / "diagnostics.json"
    env = {
        **os.environ,
        "COWLINT_NVIM_OUT": str(out),
        "PATH": f"{Path(console_script()).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # `cowlint` as the config names it
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    subprocess.run(
        [NVIM, "--headless", "-u", str(init), "-i", "NONE", "-c", f"luafile {harness}", str(example)],
        cwd=project,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    received = json.loads(out.read_text())
    assert received["waited"], "Neovim received no diagnostics within 60 s"
    shown = sorted((d["code"], d["line"], d["column"], d["end_line"], d["end_column"]) for d in received["diagnostics"])
    assert shown == sorted((f["code"], f["line"], f["column"], f["end_line"], f["end_column"]) for f in expected)
    assert all(d["source"] == "cowlint" for d in received["diagnostics"])
    messages = {d["code"]: d["message"] for d in received["diagnostics"]}
    assert all(messages[f["code"]].startswith(f["message"]) for f in expected)
