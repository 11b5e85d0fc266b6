"""Size estimates for data built by calls, repetition and comprehensions.

Estimates use literal arguments only (folded through module constants such as
``N = 10**8``): ``np.zeros(100000000)`` is 800,000,000 bytes (762.9 MiB).
Loaded data whose size cannot be known statically (``np.load``, ``pd.read_csv``,
``pickle.load``, ``f.read()``...) is bulk data of unknown size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import libcst as cst

from cowlint.engine.module import apis
from cowlint.engine.module.snippets import head_code
from cowlint.engine.module.values import UNKNOWN, Const, Container, Data, Qualified, Unknown, Value, argument, const_size

if TYPE_CHECKING:
    from cowlint.engine.module.facts import Binding, Scope
    from cowlint.engine.module.resolver import Resolver

POINTER = 8

_DTYPE_SIZES = {
    "bool": 1,
    "bool_": 1,
    "int8": 1,
    "uint8": 1,
    "byte": 1,
    "ubyte": 1,
    "i1": 1,
    "u1": 1,
    "b": 1,
    "B": 1,
    "?": 1,
    "int16": 2,
    "uint16": 2,
    "float16": 2,
    "half": 2,
    "bfloat16": 2,
    "i2": 2,
    "u2": 2,
    "f2": 2,
    "int32": 4,
    "uint32": 4,
    "float32": 4,
    "single": 4,
    "int": 8,
    "i4": 4,
    "u4": 4,
    "f4": 4,
    "float": 8,
    "int64": 8,
    "uint64": 8,
    "float64": 8,
    "double": 8,
    "long": 8,
    "complex64": 8,
    "i8": 8,
    "u8": 8,
    "f8": 8,
    "c8": 8,
    "complex128": 16,
    "complex": 16,
    "c16": 16,
}

_NUMPY_SHAPED = {"numpy.zeros": 1, "numpy.ones": 1, "numpy.empty": 1, "numpy.full": 2}  # name -> dtype position
# numpy's random functions that take a ``size``: the position it has, and the dtype they make (the
# module's functions, and the same methods of a ``Generator`` or a ``RandomState``)
_NUMPY_RANDOM_SIZED = {
    "random": (0, "float64"),
    "random_sample": (0, "float64"),
    "standard_normal": (0, "float64"),
    "uniform": (2, "float64"),
    "normal": (2, "float64"),
    "exponential": (1, "float64"),
    "poisson": (1, "int64"),
    "binomial": (2, "int64"),
    "randint": (2, "int64"),
    "integers": (2, "int64"),
}
_NUMPY_RANDOM_DIMS = {"numpy.random.rand", "numpy.random.randn", "numpy.random.RandomState.rand", "numpy.random.RandomState.randn"}
# what ``np.random.default_rng(seed)`` and ``np.random.RandomState(seed)`` make: a small object, whose methods make arrays
_RANDOM_MAKERS = {"numpy.random.default_rng": "numpy.random.Generator", "numpy.random.RandomState": "numpy.random.RandomState", "numpy.random.Generator": "numpy.random.Generator"}
_TORCH_SHAPED = {"torch.zeros", "torch.ones", "torch.empty", "torch.rand", "torch.randn", "torch.full"}

def _int(resolver: Resolver, expr: cst.BaseExpression | None, scope: Scope, at: int, depth: int) -> int | None:
    if expr is None:
        return None
    value = resolver.eval(expr, scope, at, depth)
    if isinstance(value, Const) and isinstance(value.value, int) and not isinstance(value.value, bool):
        return value.value
    return None


def integer(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int) -> int | None:
    """The int ``expr`` evaluates to, when it is one the code states."""
    return _int(resolver, expr, scope, at, 0)


def _shape_count(resolver: Resolver, expr: cst.BaseExpression | None, scope: Scope, at: int, depth: int) -> int | None:
    """Number of elements of a shape given as an int or a tuple/list of ints."""
    if expr is None:
        return None
    value = resolver.eval(expr, scope, at, depth)
    if isinstance(value, Const):
        raw = value.value
        if isinstance(raw, int) and not isinstance(raw, bool):
            return max(raw, 0)
        if isinstance(raw, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
            count = 1
            for dimension in raw:
                count *= max(dimension, 0)
            return count
    if isinstance(expr, cst.List):
        count = 1
        for element in expr.elements:
            dimension = _int(resolver, element.value, scope, at, depth)
            if dimension is None:
                return None
            count *= max(dimension, 0)
        return count
    return None


def _dtype_size(resolver: Resolver, expr: cst.BaseExpression | None, scope: Scope, at: int, default: int) -> tuple[int, str]:
    if expr is None:
        return default, {8: "float64", 4: "float32"}.get(default, f"{default}-byte")
    value = resolver.eval(expr, scope, at)
    name: str | None = None
    if isinstance(value, Const) and isinstance(value.value, str):
        name = value.value.lstrip("<>=|")
    elif hasattr(value, "name") and isinstance(value.name, str):
        name = str(value.name).rsplit(".", 1)[-1]
    if name is not None and name in _DTYPE_SIZES:
        return _DTYPE_SIZES[name], name
    return default, "unknown dtype"


def _array(count: int | None, itemsize: int, dtype: str, label: object) -> Value:
    # an array of Python objects pickles each object (and joblib does not memory-map it)
    flat = dtype not in ("object", "O", "object_")
    if count is None:
        return Data(None, True, f"{label} array", array=flat)
    return Data(count * itemsize, False, f"{label} {dtype} array", array=flat)


class _Label:
    """The call's source as the description of the data it makes, rendered only when a value
    uses it: most calls estimated are not data, and rendering each one cost a third of the run."""

    def __init__(self, resolver: Resolver, call: cst.Call) -> None:
        self.resolver, self.call = resolver, call
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = _label(self.resolver, self.call)
        return self._text

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def estimate_call(resolver: Resolver, name: str, call: cst.Call, scope: Scope, at: int, depth: int) -> Value:
    """The data a call to the qualified name ``name`` returns, if it is known data."""
    label = _Label(resolver, call)
    if name in _NUMPY_SHAPED:
        count = _shape_count(resolver, argument(call, "shape", 0), scope, at, depth)
        itemsize, dtype = _dtype_size(resolver, argument(call, "dtype", _NUMPY_SHAPED[name]), scope, at, 8)
        return _array(count, itemsize, dtype, label)
    if name in _NUMPY_RANDOM_DIMS:
        count = 1
        for arg in call.args:
            dimension = _int(resolver, arg.value, scope, at, depth) if arg.keyword is None and not arg.star else None
            if dimension is None:
                return Data(None, True, f"{label} array", array=True)
            count *= max(dimension, 0)
        return _array(count, 8, "float64", label)
    if name in _RANDOM_MAKERS:
        return Qualified(_RANDOM_MAKERS[name])  # a generator: pickled small; ``rng.standard_normal(n)`` is sized below
    owner, _, method = name.rpartition(".")
    if method in _NUMPY_RANDOM_SIZED and owner in ("numpy.random", "numpy.random.Generator", "numpy.random.RandomState"):
        position, dtype = _NUMPY_RANDOM_SIZED[method]
        size = argument(call, "size", position)
        if size is None:
            return UNKNOWN  # a scalar
        return _array(_shape_count(resolver, size, scope, at, depth), 8, dtype, label)
    if name == "numpy.arange":
        positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
        ints = [_int(resolver, p, scope, at, depth) for p in positional]
        if positional and all(i is not None for i in ints):
            start, stop, step = (0, ints[0], 1) if len(ints) == 1 else (ints[0], ints[1], ints[2] if len(ints) > 2 else 1)
            count = max(0, -(-(stop - start) // step)) if step else None  # type: ignore[operator]
            itemsize, dtype = _dtype_size(resolver, argument(call, "dtype", None), scope, at, 8)
            return _array(count, itemsize, dtype if dtype != "float64" or argument(call, "dtype", None) else "int64", label)
        return Data(None, True, f"{label} array", array=True)
    if name in _TORCH_SHAPED:
        dims = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
        if name == "torch.full":
            dims = dims[:1]
        if len(dims) == 1:
            count = _shape_count(resolver, dims[0], scope, at, depth)
        elif dims:
            count = 1
            for dim in dims:
                value = _int(resolver, dim, scope, at, depth)
                count = None if value is None or count is None else count * max(value, 0)
        else:
            count = _shape_count(resolver, argument(call, "size", None), scope, at, depth)
        itemsize, dtype = _dtype_size(resolver, argument(call, "dtype", None), scope, at, 4)
        if count is None:
            return Data(None, True, f"{label} tensor", tensor=True)
        return Data(count * itemsize, False, f"{label} {dtype} tensor", tensor=True)
    if name in apis.LIKE_CONSTRUCTORS:
        source = argument(call, None, 0)
        return resolver.eval(source, scope, at, depth) if source is not None else UNKNOWN
    if name in ("os.urandom", "builtins.bytes", "builtins.bytearray", "secrets.token_bytes"):
        count = _int(resolver, argument(call, None, 0), scope, at, depth)
        if count is None:
            return UNKNOWN
        return Data(count, False, f"{label} of {count} bytes", flat=True)
    if name in ("builtins.list", "builtins.tuple", "builtins.set", "builtins.dict", "builtins.frozenset", "builtins.sorted"):
        source = argument(call, None, 0)
        if source is None:
            return Container(56, f"empty {name[9:]}") if name != "builtins.tuple" else Const(())
        return _from_iterable(resolver, source, scope, at, depth, label)
    if name == "numpy.memmap":
        count = _shape_count(resolver, argument(call, "shape", 5), scope, at, depth)
        itemsize, dtype = _dtype_size(resolver, argument(call, "dtype", 1), scope, at, 1)
        mapped = count * itemsize if count is not None else None
        return Data(mapped, mapped is None, f"{label} memmap", memmap=True)
    mmap_mode = argument(call, "mmap_mode", 1) if name == "numpy.load" else None
    if mmap_mode is not None:
        mode = resolver.eval(mmap_mode, scope, at, depth)
        if not (isinstance(mode, Const) and mode.value is None):
            return Data(None, True, f"{label} memmap", memmap=True)
    if name in ("builtins.int", "builtins.float"):
        return _numeric_cast(resolver, name, argument(call, None, 0), scope, at, depth)
    if name in apis.BULK_CONSTRUCTORS or name.startswith(apis.BULK_CONSTRUCTOR_PREFIXES):
        literals = literal_count(call, lambda callee: _builds_from_arguments(resolver.qualname(callee, scope, at) or ""))
        if _builds_from_arguments(name) and literals is not None and literals < LITERAL_LIMIT:
            return Data(literals * 64, False, f"{label} of {literals} literal values")  # a small test table
        return Data(None, True, f"{label} result", array=name.startswith("numpy."))
    return UNKNOWN


_LITERAL_CALLEES = frozenset({"numpy", "pandas", "polars", "builtins", "datetime", "decimal"})
_LOADERS = ("load", "read", "from", "genfromtxt", "open", "fetch", "memmap")


def _builds_from_arguments(qualname: str) -> bool:
    """A library function whose result is made of its arguments (``np.array``), not read from elsewhere (``np.load``)."""
    parts = qualname.split(".")
    return parts[0] in _LITERAL_CALLEES and not parts[-1].lower().startswith(_LOADERS)
#: A constructor fed only literals with fewer values than this (and no number this big) builds small data.
LITERAL_LIMIT = 10_000


def literal_count(node: cst.CSTNode, library_callee: Callable[[cst.BaseExpression], bool]) -> int | None:
    """How many literal values an expression is built from, or None when it reads anything else.

    ``pd.DataFrame({"a": np.array([1, 2, 3] * 3)})`` is 4 values repeated: 10 at most. Any name that is
    a library function called (``np.array``, ``pd.date_range``), any number of ``LITERAL_LIMIT`` or more
    (``periods=10**6``), makes it unknown.
    """

    def count(child: cst.CSTNode) -> int | None:
        return literal_count(child, library_callee)

    if isinstance(node, cst.Integer):
        try:
            return 1 if int(node.value.replace("_", ""), 0) < LITERAL_LIMIT else None
        except ValueError:
            return None
    if isinstance(node, (cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)):
        return 1
    if isinstance(node, cst.Name):
        return 1 if node.value in ("True", "False", "None") else None
    if isinstance(node, cst.UnaryOperation):
        return count(node.expression)
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return _sum(count(element.value) for element in node.elements)
    if isinstance(node, cst.Dict):
        counts = []
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return None
            counts += [count(element.key), count(element.value)]
        return _sum(counts)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
        left, right = count(node.left), count(node.right)
        factor = node.right if isinstance(node.right, cst.Integer) else node.left if isinstance(node.left, cst.Integer) else None
        if left is None or right is None or factor is None:
            return None
        return (left + right) * int(factor.value.replace("_", ""), 0)
    if isinstance(node, cst.Call):
        callee = node.func
        total = 0
        if isinstance(callee, cst.Attribute) and not isinstance(callee.value, (cst.Name, cst.Attribute)):
            inner = count(callee.value)  # pd.Series([...]).astype("category")
            if inner is None:
                return None
            total += inner
        elif not library_callee(callee):
            return None
        args = _sum(count(arg.value) if not arg.star else None for arg in node.args)
        return None if args is None else total + args
    return None


def _sum(counts: Iterable[int | None]) -> int | None:
    total = 0
    for count in counts:
        if count is None:
            return None
        total += count
    return total


def _numeric_cast(resolver: Resolver, name: str, source: cst.BaseExpression | None, scope: Scope, at: int, depth: int) -> Value:
    """``int(1e8)``, ``float(n)`` of a constant."""
    value = resolver.eval(source, scope, at, depth) if source is not None else UNKNOWN
    if isinstance(value, Const) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
        try:
            return Const(int(value.value) if name == "builtins.int" else float(value.value))
        except (OverflowError, ValueError):
            return UNKNOWN
    return UNKNOWN


def _label(resolver: Resolver, call: cst.Call) -> str:

    text = " ".join(head_code(resolver.facts.module, call).split())
    if len(text) <= 40:
        return text
    from cowlint.engine.module.facts import dotted_name

    dotted = dotted_name(call.func)
    return f"{dotted}(...)" if dotted else "call"


def _element_size(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int, depth: int) -> int | None:
    value = resolver.eval(expr, scope, at, depth)
    size, bulk, _ = resolver.size_of(value)
    if bulk:
        return None
    if size is None:
        return 32  # an int or a small object: the usual case for comprehension elements
    return size


def _from_iterable(resolver: Resolver, source: cst.BaseExpression, scope: Scope, at: int, depth: int, label: object) -> Value:
    """``list(range(N))``, ``list(f)``: the size of a container built from an iterable."""
    count = range_count(resolver, source, scope, at, depth)
    if count is not None and isinstance(source, cst.Call) and resolver.qualname(source.func, scope, at) == "itertools.product":
        width = sum(1 for arg in source.args if arg.keyword is None) * max(_int(resolver, argument(source, "repeat", None), scope, at, depth) or 1, 1)
        return Data(56 + count * (POINTER + 40 + POINTER * width), False, f"{label} of {count:,} tuples of {width}")  # the items are shared
    if count is not None:
        return Data(56 + count * (POINTER + 32), False, f"{label} of {count} items")
    value = resolver.eval(source, scope, at, depth)
    if isinstance(value, Data):
        return Data(value.size, value.bulk, f"{label} of {value.what}")
    return UNKNOWN


def range_count(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int, depth: int) -> int | None:
    """How many items iterating ``expr`` yields, when it is ``range(...)`` of literals or
    ``itertools.product(...)`` of iterables of known length (``repeat=k`` included)."""
    if not isinstance(expr, cst.Call):
        return None
    called = resolver.qualname(expr.func, scope, at)
    if called == "itertools.product":
        return _product_count(resolver, expr, scope, at, depth)
    if called != "builtins.range":
        return None
    positional = [arg.value for arg in expr.args if arg.keyword is None and not arg.star]
    ints = [_int(resolver, p, scope, at, depth) for p in positional]
    if not positional or any(i is None for i in ints):
        return None
    if len(ints) == 1:
        return max(0, ints[0])  # type: ignore[type-var]
    start, stop = ints[0], ints[1]
    step = ints[2] if len(ints) > 2 else 1
    if not step:
        return None
    return max(0, -(-(stop - start) // step))  # type: ignore[operator]


def item_count(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int) -> int | None:
    """How many items iterating ``expr`` yields, when the code says: ``range(8)``, a display,
    ``[(x, i) for i in range(8)]`` (no ``if``), ``[x] * 16``."""
    if isinstance(expr, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
        total = 1
        clause: cst.CompFor | None = expr.for_in
        while clause is not None:
            count = None if clause.ifs else range_count(resolver, clause.iter, scope, at, 0)
            if count is None:
                return None
            total *= count
            clause = clause.inner_for_in
        return total
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Multiply) and type(expr.left) in (cst.List, cst.Tuple):
        width, times = _literal_length(resolver, expr.left, scope, at, 0), _int(resolver, expr.right, scope, at, 0)
        return width * max(times, 0) if width is not None and times is not None else None
    return _literal_length(resolver, expr, scope, at, 0)


def _product_count(resolver: Resolver, call: cst.Call, scope: Scope, at: int, depth: int) -> int | None:
    count = 1
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is not None:
            continue
        length = _literal_length(resolver, arg.value, scope, at, depth)
        if length is None:
            return None
        count *= length
    repeat = argument(call, "repeat", None)
    times = _int(resolver, repeat, scope, at, depth) if repeat is not None else 1
    return count ** max(times, 0) if times is not None and times <= 64 else None


def _literal_length(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int, depth: int) -> int | None:
    """The length of ``range(N)``, a list, tuple or set display, or a string literal."""
    if type(expr) in (cst.List, cst.Tuple, cst.Set):
        elements = expr.elements  # type: ignore[attr-defined]
        return None if any(isinstance(element, cst.StarredElement) for element in elements) else len(elements)
    if type(expr) is cst.SimpleString and isinstance(text := expr.evaluated_value, str):
        return len(text)
    return range_count(resolver, expr, scope, at, depth)


# what each method adds to the container it is called on: the position of the added value, or
# "all" for the items of an iterable
_ADDS = {"append": 0, "appendleft": 0, "add": 0, "insert": 1, "extend": "all", "extendleft": "all"}
# what empties a container again: a fill before one of these says nothing of its size at the use
_EMPTIES = frozenset({"clear", "pop", "popleft", "popitem", "remove", "discard"})


class _Stops(cst.CSTVisitor):
    """The ``break``s and ``return``s under a node (not those of functions defined in it), and
    what empties the container ``name`` there: ``name.clear()``, ``.pop()``..., any ``del``."""

    def __init__(self, name: str, frame: cst.CSTNode) -> None:
        super().__init__()
        self.name, self.frame = name, frame
        self.exits = self.empties = 0

    def visit_Break(self, node: cst.Break) -> None:
        self.exits += 1

    def visit_Return(self, node: cst.Return) -> None:
        self.exits += 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.frame

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _EMPTIES and isinstance(func.value, cst.Name) and func.value.value == self.name:
            self.empties += 1

    def visit_Del(self, node: cst.Del) -> None:
        self.empties += 1


def _only_grows(name: str, binding: Binding) -> bool:
    """The container ``name`` is bound once in its frame (no ``batch = []`` again) and never
    emptied there (``clear``, ``pop``, ``del batch[:]``)."""
    if len(binding.scope.bindings.get(name, ())) != 1:
        return False
    frame = binding.scope.frame().node
    stops = _Stops(name, frame)
    frame.visit(stops)
    return not stops.empties


def _fills_each_time(name: str, frame: cst.CSTNode, loop: cst.For, mutation: cst.CSTNode) -> bool:
    """The fill is a plain statement of its loop's body (no ``if`` around it) in a loop that
    never ``break``s or returns: it runs once per iteration."""
    if not any(isinstance(line, cst.SimpleStatementLine) and any(isinstance(small, cst.Expr) and small.value is mutation for small in line.body) for line in loop.body.body):
        return False
    stops = _Stops(name, frame)
    loop.body.visit(stops)
    return not stops.exits


def filled_size(resolver: Resolver, name: str, binding: Binding, base: Container, scope: Scope, at: int, depth: int) -> Value | None:
    """``rows = []`` then ``rows.append(x)`` (``insert``, ``add``, ``extend``) in a loop before
    ``at``: as big as the loops make it, like the comprehension it could have been (a loop over
    ``range(N)``: N items; over the lines of a file or loaded data: bulk data). None when nothing
    fills it in a loop of its own, or when it does not only grow (bound again, emptied, filled
    under a condition or in a loop that breaks: sent in batches, say)."""
    total, bulk, whats = base.size, False, []
    grows: bool | None = None  # _only_grows, read once
    for mutation in resolver.facts.mutations_of(name, binding.eval_scope):
        if mutation.order < binding.order or (mutation.order > at and binding.scope.frame() is scope.frame()):
            continue  # filled before this binding, or after the use
        adds = _ADDS.get(mutation.method)
        loops = mutation.loops[len(binding.loops) :]
        if adds is None or not mutation.args or (not loops and adds != "all") or not all(isinstance(loop, cst.For) for loop in loops):
            continue  # one item added once, or in a while loop or comprehension: no count to follow
        if grows is None:
            grows = _only_grows(name, binding)
        if not grows or (loops and not _fills_each_time(name, binding.scope.frame().node, loops[-1], mutation.node)):  # type: ignore[arg-type]
            return None  # emptied again, refilled in batches, or added to only under a condition
        frame = mutation.scope.frame()
        count: int | None = 1
        loaded = ""
        for loop in loops:
            assert isinstance(loop, cst.For)
            times = range_count(resolver, loop.iter, frame, mutation.order, depth)
            if times is None:
                source = resolver.eval(loop.iter, frame, mutation.order, depth)
                if iterates_file(resolver, loop.iter, frame, mutation.order):
                    loaded = "the lines of a file"
                elif isinstance(source, Data) and source.bulk:
                    loaded = source.what
                count = None
            elif count is not None:
                count *= times
        added = mutation.args[0] if adds == "all" else mutation.args[adds if isinstance(adds, int) and adds < len(mutation.args) else -1]
        if adds == "all":
            value = resolver.eval(added, mutation.scope, mutation.order, depth)
            if not isinstance(value, Data) and not iterates_file(resolver, added, mutation.scope, mutation.order):
                continue  # a display or a value of unknown size: its items are not counted
            each, item_bulk, _ = resolver.size_of(value)
            item_bulk = item_bulk or iterates_file(resolver, added, mutation.scope, mutation.order)
        else:
            each = _element_size(resolver, added, mutation.scope, mutation.order, depth)
            item_bulk = each is None
            each = each + POINTER if each is not None else None
        if item_bulk or (count is None and loaded):
            bulk = True
        elif count is not None and each is not None:
            total += count * each
        else:
            continue
        over = f"{count:,} iterations" if count is not None else loaded or "its items"
        whats.append(f"{name}.{mutation.method}() in a loop over {over}" if loops else f"{name}.{mutation.method}({_label(resolver, added) if isinstance(added, cst.Call) else '...'})")
    if not whats:
        return None
    kind = base.what.replace("empty ", "").replace(" literal", "")
    return Data(None if bulk else total, bulk, f"a {kind} filled by {whats[0]}")


def comprehension_size(resolver: Resolver, expr: cst.ListComp | cst.SetComp | cst.DictComp, scope: Scope, at: int, depth: int) -> Value:
    """A comprehension over ``range(N)`` (N literal) or over loaded data."""
    inner = resolver.facts.scopes.get(expr, scope)
    comp = expr.for_in
    count = range_count(resolver, comp.iter, scope, at, depth)
    if count is not None and comp.inner_for_in is None:
        if isinstance(expr, cst.DictComp):
            each = (_element_size(resolver, expr.key, inner, at, depth) or 32) + (_element_size(resolver, expr.value, inner, at, depth) or 32) + 40
        else:
            element = _element_size(resolver, expr.elt, inner, at, depth)
            if element is None:
                return Data(None, True, "comprehension of bulk items")
            each = element + POINTER
        return Data(56 + count * each, False, f"comprehension of {count} items")
    source = resolver.eval(comp.iter, scope, at, depth)
    if isinstance(source, Data) and source.bulk:
        return Data(None, True, f"comprehension over {source.what}")
    if iterates_file(resolver, comp.iter, scope, at):
        return Data(None, True, "comprehension over the lines of a file")
    return UNKNOWN


def iterates_file(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int) -> bool:
    if isinstance(expr, cst.Call) and resolver.qualname(expr.func, scope, at) in apis.FILE_READERS:
        return True
    if isinstance(expr, cst.Name):
        for binding in resolver.lookup(expr.value, scope, at):
            if binding.kind in ("enter", "assign") and binding.value is not None and isinstance(binding.value, cst.Call):
                if resolver.qualname(binding.value.func, binding.eval_scope, binding.order) in apis.FILE_READERS:
                    return True
    return False


def repetition_size(resolver: Resolver, expr: cst.BinaryOperation, left: Value, right: Value) -> Value:
    """``[x] * N`` (N references to one object) and ``"ab" * N``."""
    if isinstance(right, Const) and isinstance(right.value, int) and not isinstance(right.value, bool):
        sequence, times, node = left, right.value, expr.left
    elif isinstance(left, Const) and isinstance(left.value, int) and not isinstance(left.value, bool):
        sequence, times, node = right, left.value, expr.right
    else:
        return UNKNOWN
    times = max(times, 0)
    if isinstance(node, (cst.List, cst.Tuple)):
        width = len(node.elements)
        size, bulk, _ = resolver.size_of(sequence)
        element_total = 0 if isinstance(sequence, Unknown) else (size or 0)
        what = "list" if isinstance(node, cst.List) else "tuple"
        # the elements are shared references; only the pointer array grows
        return Data(56 + POINTER * width * times + element_total, bulk and not element_total, f"[...] * {times} {what}")
    if isinstance(sequence, Const) and isinstance(sequence.value, (str, bytes)):
        return Data(const_size(sequence.value) + len(sequence.value) * (times - 1), False, "repeated string")
    return UNKNOWN
