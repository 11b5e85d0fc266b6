"""``cowlint server`` driven by a real LSP client (pytest-lsp) over stdio, against the real CLI's findings."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from tests.conftest import console_script, run_cowlint  # noqa: E402

SERVER = ClientServerConfig(server_command=[console_script(), "server"])

SHIPS_SELF = '''\
from multiprocessing import Pool

import numpy as np


class Index:
    def __init__(self, path):
        self.vectors = np.load(path)

    def nearest(self, query):
        return int((self.vectors @ self.vectors[query]).argmax())

    def search(self, queries):
        with Pool(4) as pool:
            return pool.map(self.nearest, queries)
'''

NOT_SHIPPING = SHIPS_SELF.replace("pool.map(self.nearest, queries)", "pool.map(abs, queries)")

HEAP_THEN_FORK = '''\
from multiprocessing import Pool


def work(item):
    return item


def run():
    rows = [(i, [i]) for i in range(2_000_000)]
    with Pool(4) as pool:
        return pool.map(work, range(len(rows)))


if __name__ == "__main__":
    run()
'''


def _project(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    path = tmp_path / name
    path.write_text(text)
    return path


def _cli_findings(path: Path) -> list[dict[str, object]]:
    result = run_cowlint("--output-format", "json", "--no-cache", str(path), cwd=path.parent)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def _capabilities(*, pull: bool) -> types.ClientCapabilities:
    document = types.TextDocumentClientCapabilities(
        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True),
        code_action=types.CodeActionClientCapabilities(
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(value_set=[types.CodeActionKind.QuickFix, "source.fixAll"])
            )
        ),
        hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
        diagnostic=types.DiagnosticClientCapabilities() if pull else None,
    )
    return types.ClientCapabilities(text_document=document)


async def _start(tmp_path: Path, *, pull: bool = False) -> LanguageClient:
    client = await SERVER.start()
    client.published = []  # type: ignore[attr-defined]  # every publishDiagnostics, in order
    features = client.protocol.fm.features
    keep = features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def record(params: types.PublishDiagnosticsParams) -> None:
        client.published.append(params)  # type: ignore[attr-defined]
        keep(params)

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record
    await client.initialize_session(types.InitializeParams(capabilities=_capabilities(pull=pull), root_uri=tmp_path.as_uri(), workspace_folders=None))
    return client


async def _diagnostics(client: LanguageClient, uri: str, seen: int) -> list[types.Diagnostic]:
    """The next diagnostics published for ``uri`` after the ``seen`` earlier ones."""
    for _ in range(400):
        published = client.published  # type: ignore[attr-defined]
        if len(published) > seen and published[-1].uri == uri:
            return list(published[-1].diagnostics)
        await asyncio.sleep(0.05)
    raise AssertionError("no diagnostics were published")


def _published(client: LanguageClient) -> int:
    return len(client.published)  # type: ignore[attr-defined]


def _open(client: LanguageClient, uri: str, text: str) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))


def _replace(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def _apply(text: str, edit: types.WorkspaceEdit, uri: str) -> str:
    """Apply a workspace edit's text edits (one, as the server makes them) to ``text``."""
    assert edit.changes is not None
    (change,) = edit.changes[uri]
    lines = text.splitlines(keepends=True)

    def offset(position: types.Position) -> int:
        return sum(len(line) for line in lines[: position.line]) + position.character

    return text[: offset(change.range.start)] + change.new_text + text[offset(change.range.end) :]


async def _opened(tmp_path: Path, name: str, text: str) -> tuple[LanguageClient, str, list[types.Diagnostic]]:
    """A server on a project holding ``name`` with ``text``, the document opened: its first diagnostics."""
    path = _project(tmp_path, name, text)
    client = await _start(tmp_path)
    uri = path.as_uri()
    _open(client, uri, text)
    return client, uri, await _diagnostics(client, uri, 0)


async def _stop(client: LanguageClient) -> int | None:
    await client.shutdown_session()
    process = client._server
    return process.returncode if process is not None else None


@pytest.mark.asyncio
async def test_open_change_and_syntax_error(tmp_path: Path) -> None:
    path = _project(tmp_path, "index.py", SHIPS_SELF)
    expected = _cli_findings(path)
    assert [finding["code"] for finding in expected] == ["COW101"]
    client = await _start(tmp_path)
    uri = path.as_uri()
    _open(client, uri, SHIPS_SELF)
    diagnostics = await _diagnostics(client, uri, 0)
    assert [(d.code, d.range.start.line + 1, d.range.start.character + 1, d.range.end.character + 1) for d in diagnostics] == [
        (finding["code"], finding["line"], finding["column"], finding["end_column"]) for finding in expected
    ]
    assert diagnostics[0].message.startswith(str(expected[0]["message"]))
    assert diagnostics[0].source == "cowlint"
    assert diagnostics[0].code_description is not None and diagnostics[0].code_description.href.endswith("COW101.md")

    seen = _published(client)
    _replace(client, uri, 2, NOT_SHIPPING)
    assert await _diagnostics(client, uri, seen) == []

    seen = _published(client)
    _replace(client, uri, 3, SHIPS_SELF.replace("def nearest(self, query):", "def nearest(self, query:"))
    broken = await _diagnostics(client, uri, seen)
    assert [d.code for d in broken] == ["COW901"]  # the file is not checked: no stale COW101 either

    seen = _published(client)
    _replace(client, uri, 4, SHIPS_SELF)
    assert [d.code for d in await _diagnostics(client, uri, seen)] == ["COW101"]
    assert await _stop(client) == 0


@pytest.mark.asyncio
async def test_quick_fix_matches_the_cli_fix(tmp_path: Path) -> None:
    client, uri, diagnostics = await _opened(tmp_path, "server.py", HEAP_THEN_FORK)
    assert [d.code for d in diagnostics] == ["COW301"]
    (related,) = diagnostics[0].related_information or []
    assert related.location.uri == uri and related.location.range.start.line == HEAP_THEN_FORK.splitlines().index("    rows = [(i, [i]) for i in range(2_000_000)]")
    assert related.message.startswith("rows is built here")
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=diagnostics),
        )
    )
    assert actions is not None
    titles = [action.title for action in actions if isinstance(action, types.CodeAction)]
    fix = next(action for action in actions if isinstance(action, types.CodeAction) and action.is_preferred)
    assert fix.kind == types.CodeActionKind.QuickFix and fix.edit is not None, titles
    fixed = _apply(HEAP_THEN_FORK, fix.edit, uri)

    cli_copy = tmp_path / "cli" / "server.py"
    cli_copy.parent.mkdir()
    cli_copy.write_text(HEAP_THEN_FORK)
    run_cowlint("--fix", "--no-cache", str(cli_copy), cwd=tmp_path)
    assert fixed == cli_copy.read_text()
    assert "gc.freeze()" in fixed

    fix_all = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(0, 0), types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=["source.fixAll"]),
        )
    )
    assert fix_all is not None and [action.kind for action in fix_all if isinstance(action, types.CodeAction)] == ["source.fixAll.cowlint"]
    assert _apply(HEAP_THEN_FORK, fix_all[0].edit, uri) == fixed  # type: ignore[union-attr]

    seen = _published(client)
    _replace(client, uri, 2, fixed)
    assert "COW301" not in [d.code for d in await _diagnostics(client, uri, seen)]
    assert await _stop(client) == 0


MODULE_HEAP = (
    "import multiprocessing\n\nROWS = [[n] for n in range(2_000_000)]\n\n\ndef work(i):\n    return len(ROWS[i])\n\n\n"
    'if __name__ == "__main__":\n    with multiprocessing.get_context("fork").Pool(2) as pool:\n        pool.map(work, range(3))\n'
)


@pytest.mark.asyncio
async def test_an_unsafe_fix_is_offered_marked_and_left_out_of_fix_all(tmp_path: Path) -> None:
    client, uri, diagnostics = await _opened(tmp_path, "job.py", MODULE_HEAP)
    assert [d.code for d in diagnostics] == ["COW301"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostics[0].range, context=types.CodeActionContext(diagnostics=diagnostics))
    )
    assert actions is not None
    (unsafe,) = [action for action in actions if isinstance(action, types.CodeAction) and "unsafe" in action.title]
    assert unsafe.kind == types.CodeActionKind.QuickFix and not unsafe.is_preferred and unsafe.edit is not None
    fixed = _apply(MODULE_HEAP, unsafe.edit, uri)
    cli_copy = tmp_path / "cli" / "job.py"
    cli_copy.parent.mkdir()
    cli_copy.write_text(MODULE_HEAP)
    run_cowlint("--fix", "--unsafe-fixes", "--no-cache", str(cli_copy), cwd=tmp_path)
    assert fixed == cli_copy.read_text() and "gc.disable()\nROWS" in fixed
    fix_all = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(0, 0), types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=["source.fixAll"]),
        )
    )
    assert not fix_all  # safe fixes only, and there is none
    assert await _stop(client) == 0


@pytest.mark.asyncio
async def test_suppress_with_noqa_and_hover(tmp_path: Path) -> None:
    client, uri, (diagnostic,) = await _opened(tmp_path, "index.py", SHIPS_SELF)

    hover = await client.text_document_hover_async(types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=diagnostic.range.start))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "**COW101**" in hover.contents.value and "Platforms:" in hover.contents.value
    away = await client.text_document_hover_async(types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 0)))
    assert away is None

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostic.range, context=types.CodeActionContext(diagnostics=[diagnostic]))
    )
    assert actions is not None
    suppress = next(action for action in actions if isinstance(action, types.CodeAction) and "noqa" in action.title)
    assert suppress.edit is not None
    suppressed = _apply(SHIPS_SELF, suppress.edit, uri)
    assert suppressed.splitlines()[diagnostic.range.start.line].endswith("  # noqa: COW101")
    assert len(suppressed.splitlines()) == len(SHIPS_SELF.splitlines())

    seen = _published(client)
    _replace(client, uri, 2, suppressed)
    assert await _diagnostics(client, uri, seen) == []
    assert await _stop(client) == 0


@pytest.mark.asyncio
async def test_pull_diagnostics(tmp_path: Path) -> None:
    path = _project(tmp_path, "index.py", SHIPS_SELF)
    client = await _start(tmp_path, pull=True)
    uri = path.as_uri()
    _open(client, uri, SHIPS_SELF)
    report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
    assert [item.code for item in report.items] == ["COW101"]
    again = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id)
    )
    assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport) and again.result_id == report.result_id
    _replace(client, uri, 2, NOT_SHIPPING)
    report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert isinstance(report, types.RelatedFullDocumentDiagnosticReport) and list(report.items) == []
    assert _published(client) == 0  # a client that pulls is not pushed to
    assert await _stop(client) == 0


@pytest.mark.asyncio
async def test_another_module_saved(tmp_path: Path) -> None:
    """The finding depends on another module of the project (the pool wrapper): saving that module
    re-checks the open document."""
    _project(tmp_path, "__init__.py", "")
    (tmp_path / "runner.py").write_text("from multiprocessing import Pool\n\n\ndef parallel(fn, items):\n    with Pool() as pool:\n        return pool.map(fn, items)\n")
    caller = tmp_path / "jobs.py"
    caller_text = (
        "import numpy as np\n\nfrom runner import parallel\n\n\nclass Scorer:\n    def __init__(self):\n        self.weights = np.zeros((4096, 4096))\n\n"
        "    def score(self, item):\n        return float(self.weights[item].sum())\n\n    def run(self, items):\n        return parallel(self.score, items)\n"
    )
    caller.write_text(caller_text)
    expected = [finding["code"] for finding in _cli_findings(caller)]
    assert expected == ["COW101"]
    client = await _start(tmp_path)
    uri = caller.as_uri()
    _open(client, uri, caller_text)
    assert [d.code for d in await _diagnostics(client, uri, 0)] == expected

    runner = tmp_path / "runner.py"
    runner.write_text("def parallel(fn, items):\n    return [fn(item) for item in items]\n")
    seen = _published(client)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=runner.as_uri())))
    assert await _diagnostics(client, uri, seen) == []
    assert await _stop(client) == 0


def test_server_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    """Without pygls, ``cowlint server`` says what to install (exit 2), instead of a traceback."""
    import subprocess

    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "pygls").mkdir()
    (blocker / "pygls" / "__init__.py").write_text("raise ImportError('pygls is not installed here')\n")
    env = {"PYTHONPATH": str(blocker), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "cowlint", "server"], capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert "pip install 'cowlint[server]'" in result.stderr


def test_server_help() -> None:
    import subprocess

    result = subprocess.run([console_script(), "server", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "Language Server Protocol" in " ".join(result.stdout.split()) and "docs/editors.md" in result.stdout


@pytest.mark.asyncio
async def test_a_bad_configuration_is_shown_once_and_read_again_when_fixed(tmp_path: Path) -> None:
    path = _project(tmp_path, "index.py", SHIPS_SELF)
    pyproject = tmp_path / "pyproject.toml"
    good = pyproject.read_text()
    pyproject.write_text(good + '\n[tool.cowlint]\nlarge-threshold = "lots"\n')
    client = await _start(tmp_path)
    uri = path.as_uri()
    _open(client, uri, SHIPS_SELF)
    assert await _diagnostics(client, uri, 0) == []
    seen = _published(client)
    _replace(client, uri, 2, SHIPS_SELF + "\n")
    assert await _diagnostics(client, uri, seen) == []
    shown = [message.message for message in client.messages]
    assert len(shown) == 1 and "large-threshold" in shown[0], shown
    pyproject.write_text(good)
    seen = _published(client)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=pyproject.as_uri())))
    assert [d.code for d in await _diagnostics(client, uri, seen)] == ["COW101"]
    assert await _stop(client) == 0


@pytest.mark.asyncio
async def test_notifications_leave_nothing_behind() -> None:
    """pygls 2.1 kept one future per notification (every keystroke) for the server's life; the
    server's protocol drops each once its handler is done. Driven in this process, through the
    server's real JSON-RPC protocol object."""
    import io

    from pygls.io_ import StdoutWriter

    from cowlint.integrations.lsp import build_server

    server = build_server()
    protocol = server.protocol
    protocol.set_writer(StdoutWriter(io.BytesIO()))

    def send(message: dict[str, object]) -> None:
        protocol.handle_message(protocol.structure_message({"jsonrpc": "2.0", **message}))

    send({"id": 1, "method": "initialize", "params": {"capabilities": {}, "rootUri": None}})
    send({"method": "initialized", "params": {}})
    uri = "untitled:job.py"
    send({"method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}}})
    for version in range(2, 202):
        change = {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": f"x = {version}\n"}]}
        send({"method": "textDocument/didChange", "params": change})
        await asyncio.sleep(0)
    await asyncio.sleep(0.5)
    assert server.workspace.get_text_document(uri).source == "x = 201\n"  # every change was handled
    assert len(protocol._request_futures) == 0
