"""Pool wrappers across modules, told from text and CPython's syntax tree (never libcst).

A pool wrapper is a function that hands one of its parameters to a process
dispatch: ``def parallel(fn, items): with Pool() as pool: return pool.map(fn,
items)``. A module that only calls one (``from app.parallel import parallel``,
then ``parallel(self.score, ids)``) names no pool, so the byte prefilter would
rule it out. :func:`called_wrappers` tells, from the module's text and the
project modules it imports, whether it calls a project function that may be a
wrapper: the module is then checked, and the check decides from the wrapper's
own analysis (:meth:`~cowlint.engine.project.linking.ProjectModules.wrapper_dispatches`).

The test here keeps every real wrapper and some that are not (a thread pool's
wrapper, a function passing its parameter to ``.map`` of a list's name): those
cost a parse, never a finding. Only project files are read (the import roots of
the layout); each is read once per process for each content, and every file
read is named, with its digest, so a result cached on this answer is dropped
when one of them changes.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cowlint.engine.module import apis
from cowlint.engine.project.index import ProjectView
from cowlint.engine.project.layout import Layout, absolute_module

# a wrapper of a wrapper of a wrapper in other modules is followed; deeper is not
MAX_DEPTH = 3
# a module that names no dispatch is asked about only when it calls one that does
MAX_HELPER_HOPS = 1
# bigger modules are not read for this (as for linking: their names stay unknown)
MAX_WRAPPER_BYTES = 256 * 1024

# an import statement, matched where a line or a ``;`` starts one (never searched for: a
# pattern that may start anywhere costs a step at every byte of the text)
_FROM_IMPORT = re.compile(rb"[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)")
_PLAIN_IMPORT = re.compile(rb"[ \t]*import[ \t]+([^\n#;]+)")
_COMMENT = re.compile(rb"#[^\n]*")
_TOP_LEVEL_DEF = re.compile(rb"^(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
_NEXT_TOP_LEVEL = re.compile(rb"^[^\s#)\]}]", re.MULTILINE)
# after a name: a call of it, or of one of its attributes (``par.parallel(``)
_CALL_AFTER = re.compile(rb"(?:\.([A-Za-z_]\w*))?[ \t]*\(")
# a module that may dispatch: it passes the dispatch rules' own prefilter
_DISPATCHING = apis.DISPATCH_NEEDLES
_DISPATCH_ATTRIBUTES = apis.DISPATCH_METHODS | {apis.RUN_IN_EXECUTOR} | apis.CONSTRUCTOR_ATTRIBUTES


def wrapper_candidates(data: bytes, view: ProjectView) -> tuple[dict[str, tuple[str, Signature]], dict[str, str | None]]:
    """The names through which the module ``data`` may call another module's pool wrapper with
    an argument for a parameter that reaches a dispatch (``parallel``, ``par.parallel``), each
    with the function's qualified name and signature; and the files read to tell (path -> digest).

    Cheapest first: the project names the text imports and calls; those that may be wrappers by
    the syntax tree of their own lines; those that some call of this module passes an argument
    for one of the parameters that reach a dispatch. ``linking.called_wrappers`` then asks the
    wrapper's own analysis."""
    depends: dict[str, str | None] = {}
    script = script_folder(view)
    imports = []
    for local, qualname in _imports(data, view.module):
        if _in_project(view.layout, qualname, script):
            imports.append((local, qualname))
        else:  # a module of a project package written later may hold a wrapper
            depends.update(dict.fromkeys(view.layout.absent_module_files(qualname.split("."), script)))
    if not imports:
        return {}, depends
    plain, dotted = _calls(data, {local for local, _ in imports})
    finder = _Finder(view.layout, script)
    candidates: dict[str, tuple[str, Signature]] = {}  # the name as the module calls it -> the function
    for local, qualname in imports:
        if "." not in local and local in plain and (signature := finder.may_wrap(qualname, depends, 0)) is not None:
            candidates[local] = (qualname, signature)
        for attribute in dotted.get(local, ()):
            if (signature := finder.may_wrap(f"{qualname}.{attribute}", depends, 0)) is not None:
                candidates[f"{local}.{attribute}"] = (f"{qualname}.{attribute}", signature)
    passing = passing_calls(data, {name: [signature] for name, (_, signature) in candidates.items()})
    return {name: candidates[name] for name in passing}, depends


@dataclass(frozen=True)
class Signature:
    """A function's positional parameters (the first ``posonly`` positional-only), and those of
    its parameters that reach a dispatch."""

    positional: tuple[str, ...]
    posonly: int
    dispatched: frozenset[str]
    varargs: str | None = None  # its ``*args``, which takes the positional arguments after ``positional``
    varkw: str | None = None  # its ``**kwargs``, which takes every keyword no parameter names


def _calls(data: bytes, names: Iterable[str]) -> tuple[set[str], dict[str, set[str]]]:
    """Which of ``names`` the text calls (``parallel(``), and which attributes of them
    (``par.parallel(`` -> ``{"par": {"parallel"}}``): a search for each name, not a pattern over
    the whole text (most of a module's imports are never asked about)."""
    plain: set[str] = set()
    dotted: dict[str, set[str]] = {}
    for name in names:
        word = name.encode("ascii", "replace")
        at = data.find(word)
        while at != -1:
            end = at + len(word)
            before = data[at - 1 : at]
            if not (before.isalnum() or before in (b"_", b".")):
                after = _CALL_AFTER.match(data, end)
                if after is not None:
                    if after.group(1) is not None:
                        dotted.setdefault(name, set()).add(after.group(1).decode("ascii"))
                    else:
                        plain.add(name)
            at = data.find(word, end)
    return plain, dotted


def passing_calls(data: bytes, called: dict[str, list[Signature]]) -> frozenset[str]:
    """The names of ``called`` that some call in the text passes an argument for a dispatched
    parameter (``cluster()``, which passes none of them, ships nothing). Each call is cut from
    the text and parsed alone; one that cannot be is taken to pass one."""
    found = set()
    for name, signatures in called.items():
        for call in _call_texts(data, name):
            try:
                node = ast.parse(call, mode="eval").body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                node = None
            if not isinstance(node, ast.Call) or any(_passes(node, signature) for signature in signatures):
                found.add(name)
                break
    return frozenset(found)


def _call_texts(data: bytes, name: str) -> Iterator[bytes]:
    """The text of each call of ``name`` (``par.parallel(self.score, ids)``), from the name to
    its closing bracket, counted outside strings and comments (to the end of the text when the
    count never closes)."""
    word = name.encode("ascii", "replace")
    at = data.find(word)
    while at != -1:
        end = at + len(word)
        before = data[at - 1 : at]
        after = _CALL_AFTER.match(data, end)
        if not (before.isalnum() or before in (b"_", b".")) and after is not None and after.group(1) is None:
            close = _closing(data, after.end())
            yield data[at:close]
            end = close
        at = data.find(word, end)


_TRIPLE_QUOTES = (b"'" * 3, b'"' * 3)


def _closing(data: bytes, start: int) -> int:
    """Where the bracket opened just before ``start`` closes (past it), or the end of the text."""
    depth = 1
    index, size = start, len(data)
    while index < size:
        char = data[index]
        if char in b"([{":
            depth += 1
        elif char in b")]}":
            depth -= 1
            if depth == 0:
                return index + 1
        elif char == 35:  # "#": a comment runs to the end of the line
            newline = data.find(b"\n", index)
            index = size if newline == -1 else newline
        elif char in (34, 39):  # a string: skipped to its closing quote
            quote = data[index : index + 3] if data[index : index + 3] in _TRIPLE_QUOTES else data[index : index + 1]
            index += len(quote)
            while index < size and data[index : index + len(quote)] != quote:
                index += 2 if data[index] == 92 else 1  # a backslash escapes the next character
            index += len(quote) - 1
        index += 1
    return size


def _passes(call: ast.Call, signature: Signature) -> bool:
    """Whether ``call`` passes an argument for a dispatched parameter (the twin of ``values.argument``)."""
    by_keyword = signature.dispatched - set(signature.positional[: signature.posonly])
    named = set(signature.positional[signature.posonly :])
    if any(keyword.arg in by_keyword or (signature.varkw in signature.dispatched and keyword.arg not in named) for keyword in call.keywords):
        return True  # ``**kwargs`` handed on takes any other keyword (``start_process(target=f)``), a ``**options`` too
    for index, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            return signature.varargs in signature.dispatched  # it hides the positions of the arguments after it
        if index < len(signature.positional) and signature.positional[index] in signature.dispatched:
            return True
        if index >= len(signature.positional) and signature.varargs in signature.dispatched:
            return True
    return False


def may_wrap(view: ProjectView, qualname: str, depends: dict[str, str | None]) -> Signature | None:
    """The signature of the project function ``qualname``, called from ``view``'s module, when
    it may be a pool wrapper (the files read to tell are added to ``depends``)."""
    return _Finder(view.layout, script_folder(view)).may_wrap(qualname, depends, 0)


def script_folder(view: ProjectView) -> Path | None:
    """A script's own folder, first on ``sys.path`` when it runs (a module in no package)."""
    return view.path.parent if view.module is not None and "." not in view.module[0] else None


def _in_project(layout: Layout, qualname: str, script: Path | None) -> bool:
    """Whether ``qualname`` is a project module or a name in one (never a third-party module)."""
    key = (layout.import_roots, script, qualname)
    found = _IN_PROJECT.get(key)
    if found is None:
        parts = qualname.split(".")
        found = layout.module_file(parts, script) is not None or (len(parts) > 1 and layout.module_file(parts[:-1], script) is not None)
        _remember(_IN_PROJECT, key, found)
    return found


_IN_PROJECT: dict[tuple[tuple[Path, ...], Path | None, str], bool] = {}


def _imports(data: bytes, named: tuple[str, bool] | None) -> list[tuple[str, str]]:
    """``(local name, absolute qualified name)`` of each name the module imports:
    ``from .io import read as r`` -> ``("r", "app.io.read")``; ``import app.io`` -> ``("app.io", "app.io")``."""
    found: list[tuple[str, str]] = []
    if b"import" not in data:
        return found
    if b"\\" in data:
        data = data.replace(b"\\\r\n", b" ").replace(b"\\\n", b" ")  # ``from m import a, \``
    for start in _statement_starts(data, b"import"):
        if (match := _FROM_IMPORT.match(data, start)) is not None:
            module = match.group(1).decode("ascii", "replace")
            level = len(module) - len(module.lstrip("."))
            base = absolute_module(level, module[level:], named)
            if base is None:
                continue
            for name, alias in _names(match.group(2).strip(b"()")):
                if name != "*" and "." not in name:
                    found.append((alias or name, f"{base}.{name}" if base else name))
        elif (match := _PLAIN_IMPORT.match(data, start)) is not None:
            for name, alias in _names(match.group(1)):
                found.append((alias or name, name))
    return found


def _statement_starts(data: bytes, word: bytes) -> Iterator[int]:
    """Where a statement may start on each line that holds ``word``: the line's start, and after
    each ``;`` before the word's last occurrence on it."""
    at = data.find(word)
    while at != -1:
        start = data.rfind(b"\n", 0, at) + 1
        end = data.find(b"\n", at)
        end = len(data) if end == -1 else end
        last = data.rfind(word, at, end)
        yield start
        semicolon = data.find(b";", start, last)
        while semicolon != -1:
            yield semicolon + 1
            semicolon = data.find(b";", semicolon + 1, last)
        at = data.find(word, end)


def _names(raw: bytes) -> list[tuple[str, str | None]]:
    """``a.b as c, d`` -> ``[("a.b", "c"), ("d", None)]``; anything that is not a name is dropped."""
    names = []
    for item in _COMMENT.sub(b"", raw).replace(b"\n", b" ").replace(b"\\", b" ").split(b","):
        words = item.decode("ascii", "replace").split()
        if not words or not all(part.isidentifier() for part in words[0].split(".")) and words[0] != "*":
            continue
        alias = words[2] if len(words) == 3 and words[1] == "as" and words[2].isidentifier() else None
        names.append((words[0], alias))
    return names


@dataclass(frozen=True)
class _Text:
    """What one module's text says, for the question: its top-level functions, what it imports
    and calls, and whether it names a dispatch at all."""

    digest: str
    defined: dict[str, int]  # top-level ``def`` names -> where the last one starts
    segments: dict[str, str]  # top-level ``def`` names -> the digest of the last one's lines
    imported: dict[str, str]  # local name -> qualified name
    called: frozenset[str]  # the imported names it calls, or calls attributes of
    dispatching: bool
    module_facts: str  # a digest of what the question reads of the module as a whole


_NO_CYCLE = 1 << 30


class _Finder:
    """Which functions of the project's modules may be pool wrappers, asked by name."""

    def __init__(self, layout: Layout, script: Path | None) -> None:
        self.layout = layout
        self.script = script
        # the questions being answered, each with how deep it was asked; and the least depth a
        # cycle cut short in the answer being computed (see ``_answer``)
        self._active: dict[tuple[object, ...], int] = {}
        self._cut_at = _NO_CYCLE

    def may_wrap(self, qualname: str, depends: dict[str, str | None], depth: int) -> Signature | None:
        """Whether the project function ``module.name`` may hand a parameter to a dispatch
        (defined so in ``module``, or imported there from a module where it is): its signature,
        or None."""
        if depth > MAX_DEPTH or "." not in qualname:
            return None
        module, name = qualname.rsplit(".", 1)
        script = self.script if depth == 0 else None
        path = self.layout.module_file(module.split("."), script)
        if path is None:  # ``from app import fan`` before app/fan.py is written
            depends.update(dict.fromkeys(self.layout.absent_module_files(module.split("."), script)))
            return None
        text = self._text(path)
        if text is None:
            return None
        if name in text.defined:
            if not self._dispatches(path, text, depends, 0):
                depends[_key(name, path, self.layout)] = _recorded(text, name)
                return None  # no dispatch is seen there, nor in what it calls of the project
            return self._wraps(path, text, name, depends, depth)
        depends[_key(name, path, self.layout)] = _recorded(text, name)
        source = text.imported.get(name)  # re-exported: ``from .parallel import parallel`` in a package
        return self.may_wrap(source, depends, depth + 1) if source is not None else None

    def _dispatches(self, path: Path, text: _Text, depends: dict[str, str | None], hops: int) -> bool:
        """Whether the module may dispatch, or calls a module of the project that does (one
        module away: a helper over a wrapper), read from their text alone. Further chains of
        helpers are not followed: in a large project nearly every module reaches one that
        dispatches, and each would cost a parse of the functions asked about."""
        depends[_key("*", path, self.layout)] = _recorded(text, "*")
        if text.dispatching:
            return True
        if hops >= MAX_HELPER_HOPS:
            return False
        key = (str(path), text.digest, self.layout.import_roots)
        return bool(self._answer(_DISPATCHES, key, False, depends, lambda read: self._calls_dispatching(path, text, read, hops)))

    def _calls_dispatching(self, path: Path, text: _Text, read: dict[str, str | None], hops: int) -> bool:
        for local in sorted(text.called):
            parts = text.imported[local].split(".")
            other = self.layout.module_file(parts) or (self.layout.module_file(parts[:-1]) if len(parts) > 1 else None)
            inner = self._text(other) if other is not None and other != path else None
            if inner is not None and self._dispatches(other, inner, read, hops + 1):  # type: ignore[arg-type]
                return True
        return False

    def _answer(self, memo: dict[Any, Any], key: tuple[object, ...], on_cycle: Any, depends: dict[str, str | None], compute: Callable[[dict[str, str | None]], Any]) -> Any:
        """``compute(read)`` once per process for ``key``, with the files it read added to
        ``depends``. A cycle back to a question still being answered gets ``on_cycle``. The
        answer of the question a cycle returns to is whole (a path through it again adds
        nothing) and is remembered; those asked inside the cycle, which saw it cut short, are
        not (asked first, each may differ)."""
        cached = memo.get(key)
        if cached is None:
            asked = self._active.get(key)
            if asked is not None:
                self._cut_at = min(self._cut_at, asked)
                return on_cycle
            depth = self._active[key] = len(self._active)
            outer, self._cut_at = self._cut_at, _NO_CYCLE
            read: dict[str, str | None] = {}
            try:
                cached = (compute(read), read)
            finally:
                del self._active[key]
                cut_at, self._cut_at = self._cut_at, min(outer, self._cut_at)
            if cut_at >= depth:
                _remember(memo, key, cached)
        value, read = cached
        depends.update(read)
        return value

    def _text(self, path: Path) -> _Text | None:
        """The module's text, read once per process while the file is unchanged (same size,
        modification time and inode)."""
        from cowlint.engine.source import TruncatedRead, digest, read_file

        try:
            info = path.stat()
        except OSError:
            return None
        stamp = (info.st_size, info.st_mtime_ns, info.st_ino, self.layout.import_roots)
        cached = _TEXTS.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            data = read_file(path, limit=MAX_WRAPPER_BYTES)
        except OSError:
            return None
        if isinstance(data, TruncatedRead):
            return None
        imported = {local: qualname for local, qualname in _imports(data, self.layout.module_name(path)) if "." not in local and _in_project(self.layout, qualname, None)}
        plain, dotted = _calls(data, imported)
        defined = {match.group(1).decode("ascii", "replace"): match.start() for match in _TOP_LEVEL_DEF.finditer(data)}
        segments = {name: digest(_cut(data, start)) for name, start in defined.items()}
        called = frozenset(plain | dotted.keys())
        dispatching = all(any(needle in data for needle in group) for group in _DISPATCHING)
        facts = repr((dispatching, sorted(imported.items()), sorted(called), sorted(defined))).encode("utf-8", "surrogatepass")
        text = _Text(digest(data), defined, segments, imported, called, dispatching, hashlib.blake2b(facts, digest_size=12).hexdigest())
        _remember(_TEXTS, path, (stamp, text))
        return text

    def _wraps(self, path: Path, text: _Text, name: str, depends: dict[str, str | None], depth: int) -> Signature | None:
        """The signature of the module's top-level function ``name`` when it passes one of its
        parameters, as it is, to a dispatch-like call, to another such function of the module,
        or to one imported. Only that function's own lines are parsed (the whole module when
        they cannot be cut)."""
        key = (str(path), text.digest, self.layout.import_roots, name)
        depends[_key(name, path, self.layout)] = _recorded(text, name)
        return self._answer(_WRAPS, key, None, depends, lambda read: self._signature(path, text, name, read, depth))  # type: ignore[no-any-return]

    def _signature(self, path: Path, text: _Text, name: str, read: dict[str, str | None], depth: int) -> Signature | None:
        read[_key(name, path, self.layout)] = _recorded(text, name)
        function = _function(path, text, name)
        if function is None:
            return None
        dispatched = frozenset(param for callee, params in _callees(function) if self._wrapping(path, text, callee, read, depth) for param in params)
        if not dispatched:
            return None
        arguments = function.args
        return Signature(
            tuple(item.arg for item in (*arguments.posonlyargs, *arguments.args)),
            len(arguments.posonlyargs),
            dispatched,
            arguments.vararg.arg if arguments.vararg is not None else None,
            arguments.kwarg.arg if arguments.kwarg is not None else None,
        )

    def _wrapping(self, path: Path, text: _Text, callee: ast.expr, depends: dict[str, str | None], depth: int) -> bool:
        """Whether what a function calls with one of its parameters dispatches it."""
        if text.dispatching and _dispatch_like(callee):  # else no dispatch of the module is seen
            return True
        imported = text.imported
        if isinstance(callee, ast.Name):
            if callee.id in text.defined:
                return self._wraps(path, text, callee.id, depends, depth) is not None
            if callee.id not in imported:
                return False
            qualname = imported[callee.id]
        elif isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name) and callee.value.id in imported:
            qualname = f"{imported[callee.value.id]}.{callee.attr}"
        else:
            return False
        return self.may_wrap(qualname, depends, depth + 1) is not None


FINGERPRINT = "wrapper:"


def _key(name: str, path: Path, layout: Layout) -> str:
    """The dependency on what ``path`` says of ``name`` (``*``: of the module as a whole), as read
    in the project at ``layout.root`` (which names its relative imports)."""
    return f"{FINGERPRINT}{name}\n{layout.root}\n{path}"


def _fingerprint(text: _Text, name: str) -> str:
    """A digest of what the question reads of a module for ``name``: the function's own lines,
    and the module's imports, calls and whether it names a dispatch. A change anywhere else (a
    comment, another function) leaves it, and the results that depend on it, as they are."""
    facts = (name in text.defined, text.segments.get(name) if name != "*" else None, text.module_facts)
    return hashlib.blake2b(repr(facts).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _recorded(text: _Text, name: str) -> str:
    """The value a dependency on ``name`` of the module holds: the file's digest (an unchanged
    file needs no more) and the fingerprint (compared when the file changed)."""
    return f"{text.digest} {_fingerprint(text, name)}"


def fingerprint(key: str, layout_of: Callable[[Path], Layout]) -> str | None:
    """The current value of a dependency recorded by this module (``wrapper:<name>``, the project
    root and the path, one per line), for the result cache; None when the file cannot be read."""
    name, root, path = key[len(FINGERPRINT) :].split("\n", 2)
    text = _Finder(layout_of(Path(root)), None)._text(Path(path))
    return _fingerprint(text, name) if text is not None else None


def _function(path: Path, text: _Text, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The syntax tree of the module's last top-level function ``name``, when its text may pass
    a parameter on: it names a dispatch, or calls a function the module defines or imports.
    Parsed from its own lines (from its ``def`` to the next line that starts in column 0), or
    from the whole module when those lines do not parse alone (a string that runs on at column 0)."""
    from cowlint.engine.source import digest, read_file

    try:
        data = read_file(path, limit=MAX_WRAPPER_BYTES)
    except OSError:
        return None
    if digest(data) != text.digest:
        return None  # changed since it was read: the check reads it again
    segment = _cut(data, text.defined[name])
    dispatches = text.dispatching and any(needle in segment for needle in _DISPATCHING[1])
    if not dispatches:
        words = segment.decode("ascii", "replace")
        plain, dotted = _calls(segment, [callee for callee in (*text.imported, *text.defined) if callee != name and callee in words])
        if not plain and not dotted:
            return None
    for source in (segment, data):
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        found = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name]
        if found:
            return found[-1]
    return None


# strings and comments, read left to right as the tokenizer does (a triple-quoted string before a
# one-line one, so that its quotes are not taken for an empty string and a third quote): the
# brackets and quotes inside them do not count
_NOT_CODE = re.compile(
    rb'"""(?:[^"\\]|\\.|"(?!""))*"""'
    rb"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    rb'|"(?:[^"\\\n]|\\.)*"'
    rb"|'(?:[^'\\\n]|\\.)*'"
    rb"|#[^\n]*",
    re.DOTALL,
)


def _closed(region: bytes) -> bool:
    """Whether ``region`` leaves no string or bracket open. Strings and comments are skipped first
    (``"({}".format(...)`` opens nothing, a ``# (see below`` comment neither): what is left of a
    string that does not end in the region is a quote, and the region is open. Read as the
    tokenizer reads (an f-string's nested quotes aside), so a top-level function's lines end
    where Python's do: an edit of the next function leaves them as they are."""
    code = _NOT_CODE.sub(b"", region)
    return (
        b'"' not in code
        and b"'" not in code
        and code.count(b"(") <= code.count(b")")
        and code.count(b"[") <= code.count(b"]")
        and code.count(b"{") <= code.count(b"}")
    )


def _cut(data: bytes, start: int) -> bytes:
    """The lines of a top-level statement starting at ``start``: up to the next line that starts
    with code in column 0 (not a comment, not a blank line, not a closing bracket), without the
    comments and blank lines in column 0 that end it (they belong to no function)."""
    newline = data.find(b"\n", start)
    end = len(data)
    if newline != -1:
        for match in _NEXT_TOP_LEVEL.finditer(data, newline + 1):
            if _closed(data[start : match.start()]):  # not a docstring's or a bracket's own line
                end = match.start()
                break
    lines = data[start:end].split(b"\n")
    while len(lines) > 1 and (not lines[-1].strip() or lines[-1].startswith(b"#")):
        lines.pop()
    return b"\n".join(lines)


def _callees(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[ast.expr, frozenset[str]]]:
    """What the function calls with some of its parameters, as they are, among the arguments;
    with those parameters."""
    arguments = function.args
    params = {item.arg for item in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg) if item is not None}
    found = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            values = [value.value if isinstance(value, ast.Starred) else value for value in (*node.args, *(keyword.value for keyword in node.keywords))]
            values += [element for value in values if isinstance(value, (ast.Tuple, ast.List)) for element in value.elts]  # ``args=(fn, chunk)``
            passed = frozenset(value.id for value in values if isinstance(value, ast.Name) and value.id in params)
            if passed:
                found.append((node.func, passed))
    return found


def _dispatch_like(callee: ast.expr) -> bool:
    """``pool.map``, ``executor.submit``, ``Process``; not a class's own method (``Fn.apply``:
    a pool or executor is an instance, and PyTorch's autograd functions are applied this way)."""
    if isinstance(callee, ast.Attribute):
        if callee.attr in apis.CONSTRUCTOR_ATTRIBUTES:
            return True
        owner = callee.value
        if isinstance(owner, ast.Call):  # ``Pool(4).map(...)``, not ``make_op(...).apply(...)``
            made = owner.func.attr if isinstance(owner.func, ast.Attribute) else owner.func.id if isinstance(owner.func, ast.Name) else ""
            return made in apis.CONSTRUCTOR_ATTRIBUTES and callee.attr in _DISPATCH_ATTRIBUTES
        receiver = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else ""
        if receiver[:1].isupper() and not receiver.isupper():
            return False
        return callee.attr in _DISPATCH_ATTRIBUTES
    return isinstance(callee, ast.Name) and callee.id in apis.CONSTRUCTOR_ATTRIBUTES


KEEP_SUMMARIES = 8192


def _remember(memo: dict[Any, Any], key: object, value: object) -> None:
    """Keep ``value``, and at most ``KEEP_SUMMARIES`` entries (the oldest go first)."""
    memo[key] = value
    while len(memo) > KEEP_SUMMARIES:
        del memo[next(iter(memo))]

# path -> ((size, mtime, inode, import roots), what its text says)
_TEXTS: dict[Path, tuple[tuple[int, int, int, tuple[Path, ...]], _Text]] = {}
# (path, digest, import roots) -> whether it, or a project module it calls, may dispatch
_DISPATCHES: dict[tuple[str, str, tuple[Path, ...]], tuple[bool, dict[str, str | None]]] = {}
# (path, digest, import roots, function) -> whether it may be a wrapper, the other files read to tell
_WRAPS: dict[tuple[str, str, tuple[Path, ...], str], tuple[Signature | None, dict[str, str | None]]] = {}
