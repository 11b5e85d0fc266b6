"""The abstract values an expression can be, as far as reading (never running) the module can tell:
constants, imported names (as qualified names), multiprocessing contexts, pools and executors
with their start method, instances of classes of the module, and data with a size estimate.
:mod:`cowlint.engine.module.resolver` computes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from cowlint.engine.module import apis
from cowlint.engine.module.facts import ClassInfo, Scope

if TYPE_CHECKING:
    pass

class Value:
    """Base of the abstract values."""


@dataclass(frozen=True)
class Unknown(Value):
    """Nothing useful is known."""


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Foreign(Value):
    """An object made by a known class from another library that is not a process pool
    although its name says pool (``gevent.pool.Pool``, ``redis.ConnectionPool``)."""

    name: str


@dataclass(frozen=True)
class Const(Value):
    """A literal constant: int, float, str, bytes, bool, None, or a tuple of those."""

    value: object


@dataclass(frozen=True)
class Qualified(Value):
    """An imported module or object, by qualified name (``numpy.zeros``)."""

    name: str
    dill: bool = False  # from a multiprocessing fork that pickles with dill (``multiprocess``)


@dataclass(frozen=True)
class StartMethod:
    """The start method governing a pool or process: pinned, or the platform default (None)."""

    method: str | None
    how: str
    conditional: bool = False  # chosen under an if (``if sys.platform != "win32": set_start_method("fork")``)
    note: str = ""  # why an entry point of the project leaves it unpinned while others pin it
    platforms: frozenset[str] | None = None  # conditional on the platform alone: where ``method`` holds (elsewhere the default)

    @property
    def pinned_fork(self) -> bool:
        """True when fork is explicitly requested, so nothing is pickled to start a worker."""
        return self.method == "fork"


DEFAULT_START = StartMethod(None, "the platform default start method")


@dataclass(frozen=True)
class Context(Value):
    """A multiprocessing context (``get_context("fork")``) or the multiprocessing module's default."""

    start: StartMethod
    dill: bool = False


@dataclass(frozen=True)
class ContextMember(Value):
    """An attribute of a context not yet called: ``ctx.Pool``."""

    context: Context
    attr: str


@dataclass(frozen=True)
class PoolValue(Value):
    """A process pool, executor or Process object (or a thread pool, ``kind == "thread"``)."""

    kind: str  # "pool", "executor", "process", "thread"
    api: str
    start: StartMethod
    confidence: str = "high"
    subclass: ClassInfo | None = None  # a Process subclass defined in the module
    workers: int | None = None  # processes=/max_workers= when a literal
    dill: bool = False  # pickles with dill (or cloudpickle): lambdas and nested functions travel by value
    library: apis.LibraryPool | None = None  # a pool of another library (pathos, mpire): its methods' shapes
    memmaps: bool = False  # joblib: numpy arrays over max_nbytes are memory-mapped, not pickled per batch
    doubt: str = ""  # with medium confidence: why it may not be a process pool

    @property
    def shares_tensors(self) -> bool:
        """Its tasks travel through multiprocessing's ``ForkingPickler``, for which ``import torch``
        registers a reducer that moves a CPU tensor's storage to shared memory and sends a handle
        (measured with torch 2.13: a 64 MiB tensor in every task of a Pool or ProcessPoolExecutor,
        fork or spawn, pickles to a few hundred bytes). Not joblib's, dill's or another library's pickler,
        nor an InterpreterPoolExecutor's (torch does not even import in its worker interpreters)."""
        return (
            self.kind in ("pool", "executor", "process")
            and not self.dill
            and self.library is None
            and not self.api.startswith("joblib")
            and self.api not in apis.INTERPRETER_EXECUTORS
        )


@dataclass(frozen=True)
class Data(Value):
    """Data with a size estimate (``size`` bytes) or bulk data of unknown size."""

    size: int | None
    bulk: bool
    what: str
    confidence: str = "high"
    memmap: bool = False  # a memory-mapped array: pickling it copies all of its data
    array: bool = False  # a numpy array (joblib memory-maps those instead of pickling them)
    doubt: str = ""  # with medium confidence: why the size may be wrong
    flat: bool = False  # bytes or text: one buffer, its pickle as big as it is
    tensor: bool = False  # a torch tensor: multiprocessing's own pickler sends its storage as a shared-memory handle

    @property
    def pickles_whole(self) -> bool:
        """Its pickle is about as big as it is in memory (an array's buffer, bytes, a file's
        text); a container of Python objects pickles to a size of its own, usually smaller."""
        return self.flat or self.array or self.memmap


@dataclass(frozen=True)
class Container(Value):
    """A mutable container literal (list, dict, set): may grow, so never provably small."""

    size: int
    what: str


@dataclass(frozen=True)
class Construction:
    """Where an instance was made: ``Index(np.load(path))``, its arguments evaluated in ``scope`` at ``at``."""

    call: cst.Call
    scope: Scope
    at: int


@dataclass(frozen=True)
class Instance(Value):
    """An instance of a class defined in the module; ``is_self`` for a method's own instance.
    ``made`` is the constructor call when known: its arguments give the parameters of
    ``__init__`` their values (``self.table = table`` holds what was passed)."""

    cls: ClassInfo
    is_self: bool
    made: Construction | None = None

    @property
    def class_name(self) -> str:
        return self.cls.name


@dataclass(frozen=True)
class BoundMethod(Value):
    """``instance.method``: pickling it pickles the whole instance."""

    receiver: Instance
    name: str


@dataclass(frozen=True)
class FunctionRef(Value):
    """A function or lambda defined in the module."""

    node: cst.CSTNode
    scope: Scope | None


@dataclass(frozen=True)
class ClassRef(Value):
    """A class defined in the module."""

    cls: ClassInfo


def const_size(value: object) -> int:
    """Approximate ``sys.getsizeof`` of a constant on 64-bit CPython, recursively for tuples."""
    if value is None or isinstance(value, bool):
        return 0  # singletons
    if isinstance(value, int):
        return 28 + 4 * max(0, (value.bit_length() - 1) // 30)
    if isinstance(value, float):
        return 24
    if isinstance(value, str):
        return 49 + len(value)
    if isinstance(value, bytes):
        return 33 + len(value)
    if isinstance(value, tuple):
        return 40 + 8 * len(value) + sum(const_size(v) for v in value)
    return 64


# the start of what an attribute holding a bound method keeps (``a bound method of the whole Index``)
BOUND_METHOD_OF = "a bound method of the whole "


@dataclass(frozen=True)
class InstanceSize:
    """What pickling an instance ships: total bytes (None when unknown), and which attributes."""

    size: int | None
    bulk: bool
    provably_small: bool
    parts: tuple[tuple[str, int | None, str], ...]  # (attribute, bytes or None, what), biggest first
    custom_pickling: bool
    known_bytes: int = 0  # the sum over the attributes whose size is known (a lower bound)


def with_attributes(base: InstanceSize, items: Iterable[tuple[str, int | None, bool, bool, str]]) -> InstanceSize:
    """``base`` and more attributes, each ``(name, bytes or None, is bulk data, is provably
    small, what)``: a size is known while every attribute's is (or some is bulk data, which
    counts what is known as a lower bound)."""
    total, bulk, small = base.known_bytes, base.bulk, base.provably_small
    known = base.size is not None or base.bulk
    parts = list(base.parts)
    for name, size, item_bulk, item_small, what in items:
        small = small and item_small
        bulk = bulk or item_bulk
        parts.append((name, size, what))
        if size is None:
            known = known and item_bulk
        else:
            total += size
    size = total if known and not bulk else (total or None) if bulk else None
    parts.sort(key=lambda part: -(part[1] or 0))
    return InstanceSize(size, bulk, small and not bulk, tuple(parts), base.custom_pickling, known_bytes=total)


@dataclass(frozen=True)
class Kept:
    """An attribute an instance keeps as its constructor was given it (``self.vectors =
    vectors`` in ``__init__``), with the parameter's default when it has a portable one, and
    what its annotation says."""

    attribute: str
    param: str
    default: Value | None
    annotated: Value | None = None  # what the parameter's annotation says (``rate: float``: small)


@dataclass(frozen=True)
class ForeignInstance(Value):
    """An instance of a class of another module of the project, as that module describes it:
    plain data, so it crosses the module boundary. ``size`` leaves the constructor's arguments
    unknown; ``fixed`` is the size of what the instance holds besides the attributes it keeps
    as they were passed (``kept``), which a known call binds (``Index(np.load(path))``)."""

    qualname: str  # module.Class, absolute
    name: str
    size: InstanceSize
    built: tuple[str, ...]  # the attributes the class builds itself (see Resolver.built_attributes)
    methods: frozenset[str]  # the methods that bind the instance: not static, class or property
    kept: tuple[Kept, ...] = ()
    fixed: InstanceSize | None = None
    positional: tuple[str, ...] = ()  # ``__init__``'s positional parameters after ``self``
    posonly: int = 0  # how many of them are positional-only
    is_self = False

    @property
    def class_name(self) -> str:
        """Qualified, as messages name it: the reader of one module sees where the class lives."""
        return self.qualname


@dataclass(frozen=True)
class ForeignBound(Value):
    """``instance.method`` on an instance of another module's class: pickling it pickles the instance."""

    receiver: ForeignInstance
    name: str


def argument(call: cst.Call, keyword: str | None, position: int | None) -> cst.BaseExpression | None:
    """The expression passed as ``keyword=`` or as positional argument ``position``."""
    if keyword is not None:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == keyword:
                return arg.value
    if position is None:
        return None
    index = 0
    for arg in call.args:
        if arg.keyword is not None:
            continue
        if arg.star:
            return None  # a *args before the wanted argument hides its position
        if index == position:
            return arg.value
        index += 1
    return None


def bound_argument(call: cst.Call, function: cst.FunctionDef, param: str, *, bound_instance: bool = False) -> cst.BaseExpression | None:
    """The expression ``call`` passes for ``function``'s parameter ``param`` (None when it passes
    none, or hides it in ``*args``/``**kwargs``). ``bound_instance``: the first parameter is
    bound already (a constructor call, ``obj.method(...)``)."""
    params = function.params
    positional = [item.name.value for item in (*params.posonly_params, *params.params)]
    posonly = len(params.posonly_params)
    if bound_instance and positional:
        positional, posonly = positional[1:], max(posonly - 1, 0)
    return passed_for(call, tuple(positional), posonly, param)


def passed_for(call: cst.Call, positional: tuple[str, ...], posonly: int, param: str) -> cst.BaseExpression | None:
    """The expression ``call`` passes for ``param`` of a function whose positional parameters
    are ``positional`` (the first ``posonly`` positional-only); None as for :func:`bound_argument`."""
    keyword_allowed = param not in positional[:posonly]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == param and keyword_allowed:
            return arg.value
    if param not in positional:
        return None
    position = positional.index(param)
    index = 0
    for arg in call.args:
        if arg.keyword is not None:
            continue
        if arg.star:
            return None
        if index == position:
            return arg.value
        index += 1
    return None
