"""The order in which a module starts threads and forks processes.

Code runs in the order of its statements within one body (module or
function); a call of a module function runs that function's body (and the
functions it calls) at that point. That is all the flow cowlint follows:
enough to see a thread started at import time, or in ``main()``, before a
pool forks in a function that ``main()`` calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import libcst as cst

from cowlint.engine.module import apis
from cowlint.engine.module.budget import spend
from cowlint.engine.module.facts import FUNCTION, MODULE, CallSite, ModuleFacts, Scope, walk
from cowlint.engine.module.resolver import Resolver
from cowlint.engine.module.values import Instance, PoolValue, Qualified

_END = 1 << 62  # a position after every statement


def _ALWAYS(at: int, node: cst.CSTNode | None) -> bool:
    return True
def _blocks(owner: cst.CSTNode) -> list[list[cst.BaseStatement]]:
    """Every statement list under ``owner`` (a module or function body, and the blocks nested in it)."""
    found: list[list[cst.BaseStatement]] = []
    for node in walk(owner):
        if isinstance(node, cst.Module):
            found.append(list(node.body))
        elif isinstance(node, cst.IndentedBlock):
            found.append(_suite(node))
    return found


def _assigned_name(statement: cst.BaseStatement, call: cst.Call) -> str | None:
    """``name`` when ``statement`` is ``name = call``."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    assign = statement.body[0]
    if isinstance(assign, cst.Assign) and assign.value is call and len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name):
        return assign.targets[0].target.value
    return None


def _is_name(name: str) -> Callable[[cst.BaseExpression], bool]:
    return lambda expr: isinstance(expr, cst.Name) and expr.value == name


def _child_statements(test: cst.If, is_pid: Callable[[cst.BaseExpression], bool], rest: list[cst.BaseStatement]) -> list[cst.BaseStatement] | None:
    """The statements the child runs, when ``test`` asks whether the pid (``is_pid``) is 0:
    its body, its ``else``, or (``if pid: return``) the statements after it, ``rest``."""
    condition = test.test
    child: bool | None = None
    if isinstance(condition, cst.UnaryOperation) and isinstance(condition.operator, cst.Not) and is_pid(condition.expression):
        child = True
    elif is_pid(condition):
        child = False
    elif isinstance(condition, cst.Comparison) and len(condition.comparisons) == 1:
        left, right = condition.left, condition.comparisons[0].comparator
        zero_left, zero_right = (isinstance(side, cst.Integer) and side.value == "0" for side in (left, right))
        if (is_pid(left) and zero_right) or (zero_left and is_pid(right)):
            operator = condition.comparisons[0].operator
            if isinstance(operator, (cst.Equal, cst.Is)):
                child = True
            elif isinstance(operator, (cst.NotEqual, cst.IsNot)) or (isinstance(operator, cst.GreaterThan) and zero_right):
                child = False
    if child is None:
        return None
    if child:
        return _suite(test.body)
    if isinstance(test.orelse, cst.Else):
        return _suite(test.orelse.body)
    parent = _suite(test.body)
    return list(rest) if test.orelse is None and parent and _leaves(parent[-1]) else None


def _suite(body: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(body, cst.IndentedBlock):
        return [statement for statement in body.body if isinstance(statement, cst.BaseStatement)]
    return [cst.SimpleStatementLine(body=body.body)] if isinstance(body, cst.SimpleStatementSuite) else []


def _leaves(statement: cst.BaseStatement) -> bool:
    """``return``, ``raise``, ``sys.exit(...)`` or ``os._exit(...)`` as a statement."""
    if not isinstance(statement, cst.SimpleStatementLine) or not statement.body:
        return False
    last = statement.body[-1]
    if isinstance(last, (cst.Return, cst.Raise)):
        return True
    call = last.value if isinstance(last, cst.Expr) else None
    return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value in ("exit", "_exit")


# the last names of the thread pool constructors
_THREAD_POOL_NAMES = frozenset({name.rsplit(".", 1)[-1] for name in apis.THREAD_POOLS})


@dataclass(frozen=True)
class ThreadStart:
    """Where threads start: ``t.start()``, ``Thread(...).start()``, or a thread pool made."""

    site: CallSite
    handle: str | None  # the name the thread or pool is bound to, to see it joined
    block: cst.With | None  # the ``with`` statement whose end joins the pool
    inside: str = ""  # a call of another module's function that leaves a thread running: where it starts


@dataclass(frozen=True)
class Fork:
    """A call that forks this process: ``os.fork()``, or a process start (see dispatch.ProcessStart)."""

    site: CallSite


class Flow:
    """Thread starts, and whether one runs before a given call, for one module."""

    def __init__(self, facts: ModuleFacts, resolver: Resolver) -> None:
        self.facts = facts
        self.resolver = resolver

    # ---------------------------------------------------------------- events

    def thread_starts(self, frame: Scope | None = None) -> list[ThreadStart]:
        """Every place the module starts threads, in source order (the calls of other modules'
        functions only in ``frame`` when given: another module asks about one function)."""
        starts = []
        for site in self.facts.calls:
            func = site.node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "start" and not site.node.args:
                receiver = self.resolver.eval(func.value, site.scope, site.order)
                if self._is_thread(receiver):
                    handle = func.value.value if isinstance(func.value, cst.Name) else None
                    starts.append(ThreadStart(site, handle, None))
                continue
            last = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else None
            if last not in _THREAD_POOL_NAMES:
                continue
            made = self.resolver.eval(site.node, site.scope, site.order)
            if isinstance(made, PoolValue) and made.kind == "thread" and made.api in apis.THREAD_POOLS:
                handle, block = self._holder(site)
                if made.api in apis.LAZY_THREAD_POOLS:  # threads start at the first submit of each body
                    starts.extend(ThreadStart(use, handle, block) for use in self._first_uses(site, handle))
                else:
                    starts.append(ThreadStart(site, handle, block))
        starts.extend(self._project_thread_starts(frame))
        starts.sort(key=lambda start: start.site.order)
        return starts

    def _project_thread_starts(self, frame: Scope | None) -> list[ThreadStart]:
        """Calls of another project module's function that returns (or yields, for a ``with``
        block) with a thread it started still running: ``with heartbeat():`` of ``app.monitor``."""
        project = self.resolver.project
        if project is None:
            return []
        starts = []
        for site in self.facts.calls if frame is None else self.resolver.calls_in(frame):
            absolute = self.resolver.imported_name(site.node.func, site.scope, site.order)  # read from the imports, not evaluated
            where = project.leaves_threads(absolute) if absolute and "." in absolute else None
            if where:
                block = next((node for node in walk(site.scope.frame().node) if type(node) is cst.With and any(item.item is site.node for item in node.items)), None)
                starts.append(ThreadStart(site, None, block, where))
        return starts

    def outlives(self, start: ThreadStart) -> bool:
        """Whether the threads of ``start`` may still run when their function returns."""
        return not self._ended(start, _END, None)

    def _first_uses(self, made: CallSite, handle: str | None) -> list[CallSite]:
        """Where a ThreadPoolExecutor starts threads: its first submit or map in each body that
        uses it (the construction itself when where it goes is unknown)."""
        if handle is None:
            return [made]
        first: dict[int, CallSite] = {}
        for site in self.facts.calls:
            func = site.node.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in apis.EXECUTOR_METHODS
                and isinstance(func.value, cst.Name)
                and func.value.value == handle
                and (site.scope.frame() is not made.scope.frame() or site.order > made.order)
            ):
                first.setdefault(id(site.scope.frame()), site)
        return list(first.values())

    def _is_thread(self, value: object) -> bool:
        if isinstance(value, PoolValue):
            return value.kind == "thread" and value.api in apis.THREAD_CLASSES
        if isinstance(value, Instance):
            for info in self.resolver.class_chain(value.cls):
                for base in info.node.bases:
                    made = self.resolver.eval(base.value, info.outer, 0)
                    if isinstance(made, Qualified) and made.name in apis.THREAD_CLASSES:
                        return True
        return False

    def _holder(self, site: CallSite) -> tuple[str | None, cst.With | None]:
        """The name a constructed pool is bound to, and the ``with`` statement that holds it."""
        for bindings in site.scope.frame().bindings.values():
            for binding in bindings:
                if binding.value is site.node:
                    return binding.name, binding.node if isinstance(binding.node, cst.With) else None
        return None, None

    def os_forks(self) -> list[Fork]:
        """``os.fork()``, ``os.forkpty()``, ``pty.fork()``."""
        forks = []
        for site in self.facts.calls:
            func = site.node.func
            if isinstance(func, (cst.Name, cst.Attribute)) and (func.value if isinstance(func, cst.Name) else func.attr.value) in apis.FORK_NAMES:
                if self.resolver.qualname(func, site.scope, site.order) in apis.OS_FORKS:
                    forks.append(Fork(site))
        return forks

    def child_only_execs(self, fork: CallSite) -> bool:
        """``pid = os.fork()`` followed by ``if pid == 0:`` (or ``if not pid:``, the ``else`` of
        ``if pid:``, or what follows ``if pid: return``) whose child branch runs only ``os`` calls
        up to an ``os.exec*()``: the child replaces its image at once and keeps no heap."""

        def is_fork(expr: cst.BaseExpression) -> bool:
            return expr is fork.node or (isinstance(expr, cst.NamedExpr) and expr.value is fork.node)

        for block in _blocks(fork.scope.frame().node):
            for index, statement in enumerate(block):
                if isinstance(statement, cst.If):  # if os.fork() == 0: os.execv(...), or with (pid := os.fork())
                    child = _child_statements(statement, is_fork, block[index + 1 :])
                    if child is not None:
                        return self._execs_first(child, fork.scope, fork.order)
                pid = _assigned_name(statement, fork.node)
                if pid is None:
                    continue
                after = block[index + 1] if index + 1 < len(block) else None
                child = _child_statements(after, _is_name(pid), block[index + 2 :]) if isinstance(after, cst.If) else None
                return child is not None and self._execs_first(child, fork.scope, fork.order)
        return False

    def _execs_first(self, statements: list[cst.BaseStatement], scope: Scope, at: int) -> bool:
        if statements and isinstance(statements[0], cst.Try):
            statements = _suite(statements[0].body)  # try: os.execv(...) finally: os._exit(127)
        for statement in statements:
            if not isinstance(statement, cst.SimpleStatementLine):
                return False
            for small in statement.body:
                call = small.value if isinstance(small, cst.Expr) else None
                if not isinstance(call, cst.Call):
                    return False
                name = self.resolver.qualname(call.func, scope, at) or ""
                if name.startswith("os.exec"):
                    return True
                if not name.startswith(("os.", "signal.")):
                    return False  # Python work in the child before it execs: its heap matters
        return False

    # ---------------------------------------------------------------- order

    def running_before(self, start: ThreadStart, call: CallSite) -> bool:
        """Whether the threads of ``start`` have started, and are not yet joined, when ``call`` runs."""
        thread_frame = start.site.scope.frame()
        if thread_frame.kind == FUNCTION and thread_frame is not call.scope.frame() and self._ended(start, _END, None):
            return False  # joined before its function returns
        return self.precedes(thread_frame, start.site.order, start.site.guarded, call, lambda at, node: not self._ended(start, at, node))

    def precedes(self, frame: Scope, order: int, guarded: bool, call: CallSite, holds: Callable[[int, cst.CSTNode | None], bool] = _ALWAYS) -> bool:
        """Whether position ``order`` of body ``frame`` runs before ``call`` (see ``precedes_point``)."""
        return self.precedes_point(frame, order, guarded, call.scope.frame(), call.order, call.node, holds)

    def precedes_point(
        self,
        frame: Scope,
        order: int,
        guarded: bool,
        target_frame: Scope,
        target_order: int,
        target_node: cst.CSTNode,
        holds: Callable[[int, cst.CSTNode | None], bool] = _ALWAYS,
    ) -> bool:
        """Whether position ``order`` of body ``frame`` runs before position ``target_order`` of
        body ``target_frame``, and what happened there still ``holds`` (asked with the position
        in ``frame`` where the target's flow resumes).

        Either both are in one body, in that order; or some body (the module, ``main()``) reaches
        the position, itself or through a call, and later reaches the target; or the position is
        in the module body at import time, before any function runs.
        """
        spend()
        if frame is target_frame:
            return order < target_order and holds(target_order, target_node)
        if target_frame.kind == FUNCTION and frame.kind == MODULE and not guarded:
            return holds(_END, None)  # at import time
        # the bodies that reach the position: its own, and those whose calls run its function
        bodies = [(frame, order)] if id(frame) in self._frame_ids else []
        bodies.extend((body, first) for body, first in self._reachers.get(id(frame.node), ()) if body is not frame)
        for body, first in bodies:
            last_reaching = self._reach_index[id(body)][1]
            if body is target_frame:
                if first < target_order and (body is not frame or holds(target_order, target_node)):
                    return True
                continue
            if body is not frame:
                last = last_reaching.get(id(target_frame.node))
                if last is not None and last > first:
                    return True
                continue
            for site in self.resolver.calls_in(body):
                if site.order > first and id(target_frame.node) in self.reach(site) and holds(site.order, site.node):
                    return True
        return False

    @cached_property
    def _reach_index(self) -> dict[int, tuple[dict[int, int], dict[int, int]]]:
        """For each body (by id): the position of the first and of the last call there that runs
        each module function (by id of its node). Built once: asked for every pair of events, a
        scan of the body's calls made a 5,000-line module take minutes."""
        index: dict[int, tuple[dict[int, int], dict[int, int]]] = {}
        for body in self._frames:
            first: dict[int, int] = {}
            last: dict[int, int] = {}
            for site in self.resolver.calls_in(body):
                for function in self.reach(site):
                    if function not in first or site.order < first[function]:
                        first[function] = site.order
                    if function not in last or site.order > last[function]:
                        last[function] = site.order
            index[id(body)] = (first, last)
        return index

    @cached_property
    def _reachers(self) -> dict[int, list[tuple[Scope, int]]]:
        """For each module function (by id of its node): the bodies with a call that runs it, and
        the position of the first such call there."""
        reachers: dict[int, list[tuple[Scope, int]]] = {}
        for body in self._frames:
            for function, first in self._reach_index[id(body)][0].items():
                reachers.setdefault(function, []).append((body, first))
        return reachers

    @cached_property
    def _frame_ids(self) -> frozenset[int]:
        return frozenset(id(body) for body in self._frames)

    @cached_property
    def reached_anywhere(self) -> frozenset[int]:
        """The module functions (ids of their nodes) some call of the module runs."""
        return frozenset(function for site in self.facts.calls for function in self.reach(site))

    @cached_property
    def _frames(self) -> list[Scope]:
        """The bodies that run code: the module and every function (asked for every pair of events)."""
        frames = {id(site.scope.frame()): site.scope.frame() for site in self.facts.calls}
        return [frame for frame in frames.values() if frame.kind in (MODULE, FUNCTION)]

    def _ended(self, start: ThreadStart, at: int, inside: cst.CSTNode | None) -> bool:
        """Whether the threads of ``start`` were joined before position ``at`` of their own body
        (``inside``: the node that runs there, to see whether a ``with`` block still holds it)."""
        if start.block is not None and (inside is None or not any(node is inside for node in walk(start.block.body))):
            return True  # the with block that joins the pool ended before the call
        if start.handle is None:
            return False
        frame = start.site.scope.frame()
        for site in self.facts.calls:
            func = site.node.func
            if (
                start.site.order < site.order < at
                and site.scope.frame() is frame
                and isinstance(func, cst.Attribute)
                and func.attr.value in apis.THREAD_ENDS
                and isinstance(func.value, cst.Name)
                and func.value.value == start.handle
            ):
                return True
        return False

    def reach(self, site: CallSite) -> set[int]:
        """The module functions (ids of their nodes) a call runs, transitively."""
        return self.resolver.reached(site)
