"""``cowlint server``: the findings in the editor, as the code is typed (Language Server Protocol over stdio).

Built on pygls and lsprotocol (``pip install 'cowlint[server]'``). One engine: each open document
is checked as the command line checks the file (``[tool.cowlint]``, ``# noqa``, the project's other
modules read from disk), from the unsaved text of the buffer. Static only: the server never
imports the user's code and never runs ``--verify``.

- Diagnostics are pushed after ``didOpen``, ``didSave`` and, debounced, ``didChange``; a client that
  can pull them (``textDocument/diagnostic``) pulls instead. Severity follows the confidence:
  high is a warning, medium information; a file that cannot be checked (COW901) is a warning too.
- Code actions: a rule's fix (``quickfix``; an unsafe one says so in its title and is not the
  preferred action), "suppress with ``# noqa: COWnnn``", and ``source.fixAll.cowlint`` for every
  safe fix of the file (unsafe ones too where ``unsafe-fixes = true`` is configured).
- Hover on a finding: the rule, its summary, the size estimate and the platforms where it breaks.
- A re-check parses only the top-level statements whose text changed
  (:mod:`cowlint.engine.module.reparse`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sys
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cowlint._version import __version__
from cowlint.config import Config, ConfigError, find_pyproject, format_size, project_config
from cowlint.engine.finding import Finding
from cowlint.engine.module.check import check_bytes, check_in_project, describe_error, fix_bytes
from cowlint.engine.module.noqa import with_noqa
from cowlint.engine.module.reparse import StatementCache
from cowlint.engine.project.index import ProjectIndexes
from cowlint.engine.source import decode_source, python_lines
from cowlint.report.sarif import DOCS_URI
from cowlint.rules import ENGINE_CODES

try:
    from lsprotocol import types
    from pygls.lsp.server import LanguageServer
    from pygls.protocol import LanguageServerProtocol
    from pygls.uris import to_fs_path
    from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange
except ImportError:  # pragma: no cover - the optional extra is missing
    types = None  # type: ignore[assignment]

log = logging.getLogger("cowlint.server")

DEBOUNCE_SECONDS = 0.075  # a change waits this long for the next keystroke before it is checked
KEPT_TREES = 16  # documents whose statement trees are kept for the next re-check (most recently edited)
SOURCE = "cowlint"
FIX_ALL = "source.fixAll.cowlint"
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)
def buffer_bytes(text: str) -> bytes:
    """The buffer as the file's bytes: in the encoding its PEP 263 cookie declares, else UTF-8."""
    head = text[:400].encode("utf-8", "surrogatepass")
    match = _COOKIE.search(b"\n".join(head.splitlines()[:2]))
    if match is not None:
        try:
            return text.encode(match.group(1).decode("ascii"))
        except (LookupError, UnicodeError):
            pass
    return text.encode("utf-8", "surrogatepass")


@dataclass
class _Document:
    """What the server knows of one open document."""

    parser: StatementCache = field(default_factory=StatementCache)
    checked_text: str | None = None  # the text the findings are for
    findings: list[Finding] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None
    generation: int = 0  # bumped by every change: a check of an older text is not published


class Session:
    """The server's state: open documents, configurations, the projects read from disk."""

    def __init__(self, server: LanguageServer) -> None:
        self.server = server
        self.documents: dict[str, _Document] = {}
        self.trees: OrderedDict[str, None] = OrderedDict()  # documents keeping their trees, oldest first
        self.analysis = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cowlint-check")
        self._configs: dict[tuple[str, str, int], Config] = {}
        self._projects: dict[Config, ProjectIndexes] = {}
        self.told: set[str] = set()  # problems already shown to the user

    # ------------------------------------------------------------ checking (in the analysis thread)

    def config_for(self, folder: Path) -> Config:
        """``[tool.cowlint]`` of the nearest pyproject.toml, read again when that file changes."""
        pyproject = find_pyproject(folder)
        try:
            stamp = pyproject.stat().st_mtime_ns if pyproject is not None else 0
        except OSError:
            stamp = 0
        key = (str(folder), str(pyproject), stamp)
        config = self._configs.get(key)
        if config is None:
            config = self._configs[key] = project_config(folder)
        return config

    def projects_for(self, config: Config) -> ProjectIndexes:
        indexes = self._projects.get(config)
        if indexes is None:
            indexes = self._projects[config] = ProjectIndexes(config)
        return indexes

    def path_of(self, uri: str) -> Path | None:
        if not uri.startswith("file:"):
            return None
        path = to_fs_path(uri)
        return Path(path) if path else None

    def check(self, uri: str, text: str, parser: StatementCache | None) -> tuple[list[Finding], list[str]]:
        """The CLI's findings for ``text`` as the file at ``uri``, and the errors and warnings of the
        check (sent by the caller: only the event loop writes to the client)."""
        path = self.path_of(uri)
        root = self.server.workspace.root_path
        folder = path.parent if path is not None else Path(root) if root else Path.cwd()
        try:
            config = self.config_for(folder)
        except ConfigError as error:
            return [], [f"cowlint: {error}"]
        data = buffer_bytes(text)
        if path is not None:
            result = check_in_project(data, str(path), config, self.projects_for(config), statements=parser)
        else:
            result = check_bytes(data, uri, config, statements=parser)
        return result.findings, [f"cowlint: {line}" for line in result.errors + result.warnings]

    def fixed_text(self, uri: str, text: str, only: Sequence[Finding] | None) -> str | None:
        """``text`` with the fixes of ``only`` applied (unsafe ones too: the user picked them), or
        the safe fixes of every finding (and the unsafe ones when ``unsafe-fixes`` is configured)."""
        path = self.path_of(uri)
        folder = path.parent if path is not None else Path.cwd()
        config = self.config_for(folder)
        view = self.projects_for(config).view(path) if path is not None else None
        wanted = [(finding.code, finding.line, finding.column) for finding in only] if only is not None else None
        data = buffer_bytes(text)
        fixed = fix_bytes(data, str(path) if path is not None else uri, config, view, only=wanted, unsafe=True if only is not None else None)
        if fixed is None:
            return None
        code = decode_source(fixed[0], str(path) if path is not None else uri).text
        return code if code != text else None

    def saved(self, uri: str) -> None:
        """A file was written: its project's index reads it again; a changed configuration is read again."""
        path = self.path_of(uri)
        if path is None:
            return
        if path.name in ("pyproject.toml", "setup.cfg", "setup.py"):
            self._projects.clear()  # the layout may have changed
            return
        for indexes in self._projects.values():
            indexes.refresh(path)

    # ------------------------------------------------------------ publishing (on the event loop)

    def document(self, uri: str) -> _Document:
        state = self.documents.get(uri)
        if state is None:
            state = self.documents[uri] = _Document()
        self.trees.pop(uri, None)
        self.trees[uri] = None
        while len(self.trees) > KEPT_TREES:
            oldest, _ = self.trees.popitem(last=False)
            if oldest in self.documents:
                self.documents[oldest].parser = StatementCache()  # frees its trees
        return state

    def pushes(self) -> bool:
        """Whether diagnostics are pushed: the client cannot pull them."""
        capabilities = self.server.client_capabilities.text_document
        return capabilities is None or capabilities.diagnostic is None

    async def findings(self, uri: str) -> tuple[str, list[Finding]] | None:
        """The findings for the document's current text (None when it changed during the check)."""
        state = self.document(uri)
        text = self.server.workspace.get_text_document(uri).source
        if state.checked_text == text:
            return text, state.findings
        generation = state.generation
        loop = asyncio.get_running_loop()
        try:
            found, notes = await loop.run_in_executor(self.analysis, self.check, uri, text, state.parser)
        except Exception as error:  # noqa: BLE001 - one document's failure must not end the server
            found, notes = [], [f"cowlint: internal error, please report it: {describe_error(error)}"]
        for note in notes:
            if note not in self.told:  # each problem once, not at every keystroke
                self.told.add(note)
                self.server.window_show_message(types.ShowMessageParams(types.MessageType.Warning, note))
            self.server.window_log_message(types.LogMessageParams(types.MessageType.Warning, note))
        if state.generation != generation or uri not in self.documents:
            return None
        state.checked_text, state.findings = text, found
        return text, found

    async def publish(self, uri: str) -> None:
        checked = await self.findings(uri)
        if checked is None or uri not in self.documents:
            return
        text, found = checked
        document = self.server.workspace.get_text_document(uri)
        lines = python_lines(text)
        diagnostics = [self.diagnostic(uri, finding, text, lines) for finding in found]
        self.server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=document.version))

    def changed(self, uri: str) -> None:
        state = self.document(uri)
        state.generation += 1
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        if self.pushes():
            loop = asyncio.get_running_loop()
            state.timer = loop.call_later(DEBOUNCE_SECONDS, lambda: asyncio.ensure_future(self.publish(uri)))

    def recheck_open(self, except_uri: str | None = None) -> None:
        """Check every other open document again (a saved module or configuration may change their findings)."""
        for uri in list(self.documents):
            if uri != except_uri:
                self.documents[uri].checked_text = None
                if self.pushes():
                    asyncio.ensure_future(self.publish(uri))
        workspace = self.server.client_capabilities.workspace
        if not self.pushes() and workspace is not None and workspace.diagnostics is not None and workspace.diagnostics.refresh_support:
            self.server.workspace_diagnostic_refresh(None)

    # ------------------------------------------------------------ LSP shapes

    def range_of(self, finding: Finding, lines: Sequence[str]) -> types.Range:
        start = ServerTextPosition(finding.line - 1, finding.column - 1)
        end = ServerTextPosition(finding.end_line - 1, finding.end_column - 1)
        return self.server.workspace.position_codec.range_to_client_units(lines, ServerTextRange(start, end))

    def diagnostic(self, uri: str, finding: Finding, text: str, lines: Sequence[str] | None = None) -> types.Diagnostic:
        severity = types.DiagnosticSeverity.Warning
        if finding.code not in ENGINE_CODES and finding.confidence != "high":
            severity = types.DiagnosticSeverity.Information
        lines = lines if lines is not None else python_lines(text)
        codec = self.server.workspace.position_codec
        related = [
            types.DiagnosticRelatedInformation(
                location=types.Location(
                    uri=uri,
                    range=codec.range_to_client_units(lines, ServerTextRange(ServerTextPosition(line - 1, column - 1), ServerTextPosition(end_line - 1, end_column - 1))),
                ),
                message=what,
            )
            for line, column, end_line, end_column, what in finding.related
        ]
        return types.Diagnostic(
            range=self.range_of(finding, lines),
            message=f"{finding.explained()}\nhelp: {finding.fix}" if finding.fix else finding.explained(),
            severity=severity,
            code=finding.code,
            code_description=types.CodeDescription(href=DOCS_URI.format(code=finding.code)),
            source=SOURCE,
            related_information=related or None,
            data={"name": finding.name, "fixable": finding.autofix is not None},
        )


def text_edit(server: LanguageServer, old: str, new: str) -> types.TextEdit:
    """One edit that turns ``old`` into ``new``: the lines between their common head and tail."""
    before, after = python_lines(old), python_lines(new)
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < min(len(before), len(after)) - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    start = ServerTextPosition(head, 0)
    end = ServerTextPosition(len(before) - tail, 0)
    if len(before) - tail == len(before) and not before[-1].endswith(("\n", "\r")):  # the edit reaches the last, unterminated line
        end = ServerTextPosition(len(before) - 1, len(before[-1]))
    replaced = "".join(after[head : len(after) - tail])
    span = server.workspace.position_codec.range_to_client_units(before, ServerTextRange(start, end))
    return types.TextEdit(range=span, new_text=replaced)


def noqa_text(text: str, finding: Finding) -> str | None:
    """``text`` with ``finding``'s code added to a ``# noqa`` comment on its line (None when the line
    ends inside a string, where a comment cannot go)."""
    return with_noqa(text, finding.line, finding.code)


def hover_text(finding: Finding) -> str:
    from cowlint.rules.registry import RULES_BY_CODE

    rule = RULES_BY_CODE.get(finding.code)
    parts = [f"**{finding.code}** `{finding.name}` ({finding.confidence} confidence)"]
    if rule is not None:
        parts.append(rule.summary)
    parts.append(finding.explained())
    if finding.unsure:
        parts.append(f"Why {finding.confidence} confidence: {finding.unsure}")
    if finding.size_bytes is not None:
        parts.append(f"Size: ~{format_size(finding.size_bytes)}")
    if rule is not None and finding.code not in ENGINE_CODES:
        parts.append(f"Platforms: {rule.first_paragraph('Platform notes')}")
    if finding.fix:
        parts.append(f"Fix: {finding.fix}")
    parts.append(f"[{finding.code} rule page]({DOCS_URI.format(code=finding.code)})")
    return "\n\n".join(parts)


def _covers(finding: Finding, line: int, column: int) -> bool:
    """Whether the 1-based ``(line, column)`` (code points) is inside the finding's span."""
    return (finding.line, finding.column) <= (line, column) <= (finding.end_line, finding.end_column)


if types is not None:

    class _Protocol(LanguageServerProtocol):
        """pygls 2.1 files the future of every notification whose handler is a coroutine or a
        generator (its own document-sync handlers are) in ``_request_futures``, under a fresh id
        that only a response would remove: one future per keystroke, kept for the server's life
        (~1 MiB a minute of typing). Each is dropped here once it is done."""

        def _handle_notification(self, method_name: str, params: object) -> None:
            futures = self._request_futures
            before = set(futures)
            super()._handle_notification(method_name, params)
            for key in [key for key in futures if key not in before]:

                def forget(_done: object, key: object = key) -> None:
                    futures.pop(key, None)  # type: ignore[call-overload]

                futures[key].add_done_callback(forget)


def build_server() -> LanguageServer:
    """The language server with every feature registered."""
    server = LanguageServer("cowlint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental, protocol_cls=_Protocol)
    session = Session(server)
    server.cowlint = session  # type: ignore[attr-defined]

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        session.document(params.text_document.uri).generation += 1
        if session.pushes():
            await session.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        session.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: LanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        await asyncio.get_running_loop().run_in_executor(session.analysis, session.saved, uri)
        if uri in session.documents and session.pushes():
            await session.publish(uri)
        session.recheck_open(except_uri=uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        state = session.documents.pop(uri, None)
        session.trees.pop(uri, None)
        if state is not None and state.timer is not None:
            state.timer.cancel()
        if session.pushes():
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def watched(ls: LanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            await asyncio.get_running_loop().run_in_executor(session.analysis, session.saved, change.uri)
        session.recheck_open()

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(identifier=SOURCE, inter_file_dependencies=True, workspace_diagnostics=False),
    )
    async def pull(ls: LanguageServer, params: types.DocumentDiagnosticParams) -> types.DocumentDiagnosticReport:
        uri = params.text_document.uri
        checked = None
        while checked is None:  # the text changed during the check: check the newer one
            checked = await session.findings(uri)
        text, found = checked
        lines = python_lines(text)
        items = [session.diagnostic(uri, finding, text, lines) for finding in found]
        result_id = hashlib.blake2b(repr(found).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
        if params.previous_result_id == result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        return types.RelatedFullDocumentDiagnosticReport(items=items, result_id=result_id)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: LanguageServer, params: types.HoverParams) -> types.Hover | None:
        checked = await session.findings(params.text_document.uri)
        if checked is None:
            return None
        text, found = checked
        lines = python_lines(text)
        position = ls.workspace.position_codec.position_from_client_units(lines, params.position)
        here = [finding for finding in found if _covers(finding, position.line + 1, position.character + 1)]
        if not here:
            return None
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(hover_text(finding) for finding in here)),
            range=session.range_of(here[0], lines),
        )

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False),
    )
    async def code_action(ls: LanguageServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        checked = await session.findings(uri)
        if checked is None:
            return None
        text, found = checked
        lines = python_lines(text)
        wanted = params.context.only
        span = ls.workspace.position_codec.range_from_client_units(lines, params.range)
        first, last = (span.start.line + 1, span.start.character + 1), (span.end.line + 1, span.end.character + 1)
        here = [f for f in found if (f.line, f.column) <= last and first <= (f.end_line, f.end_column)]
        loop = asyncio.get_running_loop()
        actions: list[types.CodeAction] = []

        def edit(new: str) -> types.WorkspaceEdit:
            return types.WorkspaceEdit(changes={uri: [text_edit(ls, text, new)]})

        def quick_fix(title: str, diagnostic: types.Diagnostic, new: str, *, preferred: bool = False) -> types.CodeAction:
            return types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic], is_preferred=preferred or None, edit=edit(new))

        quick = wanted is None or any(kind.startswith(types.CodeActionKind.QuickFix) for kind in wanted)
        if quick:
            for finding in here:
                diagnostic = session.diagnostic(uri, finding, text, lines)
                if finding.autofix is not None:
                    new = await loop.run_in_executor(session.analysis, session.fixed_text, uri, text, [finding])
                    if new is not None:
                        safe = finding.fix_applicability == "safe"
                        title = f"cowlint: {finding.autofix} ({finding.code})" if safe else f"cowlint: {finding.autofix} ({finding.code}, unsafe)"
                        actions.append(quick_fix(title, diagnostic, new, preferred=safe))
                suppressed = noqa_text(text, finding) if finding.code not in ENGINE_CODES else None
                if suppressed is not None:
                    actions.append(quick_fix(f"cowlint: suppress {finding.code} on line {finding.line} (noqa comment)", diagnostic, suppressed))
        fix_all = wanted is None or any(FIX_ALL.startswith(kind) for kind in wanted)
        if fix_all and any(finding.autofix is not None and finding.fix_applicability == "safe" for finding in found):
            new = await loop.run_in_executor(session.analysis, session.fixed_text, uri, text, None)
            if new is not None:
                actions.append(types.CodeAction(title="cowlint: apply every safe fix in the file", kind=FIX_ALL, edit=edit(new)))
        return actions

    return server


def serve(argv: Sequence[str]) -> int:
    """``cowlint server``: serve the Language Server Protocol on standard input and output."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="cowlint server",
        description="Serve cowlint's findings, fixes and rule pages to an editor over the Language Server Protocol (stdio).",
        epilog="Editor setup: docs/editors.md. Needs the optional extra: pip install 'cowlint[server]'.",
    )
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="what the server logs to standard error")
    args = parser.parse_args(list(argv))
    if types is None:
        sys.stderr.write("cowlint: error: the language server needs pygls and lsprotocol: pip install 'cowlint[server]'\n")
        return 2
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="cowlint server: %(levelname)s %(message)s")
    build_server().start_io()
    return 0

