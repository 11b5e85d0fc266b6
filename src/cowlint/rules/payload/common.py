"""Wording shared by the payload rules: how often, how big, through what."""

from __future__ import annotations

import libcst as cst

from cowlint.config import format_size
from cowlint.engine.finding import doubt_of
from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.dispatch import EVERY_TASK, PER_PROCESS, PER_WORKER, THIS_CALL
from cowlint.engine.module.facts import Scope
from cowlint.engine.module.shipping import Shipped
from cowlint.engine.module.sizes import integer, item_count
from cowlint.engine.module.targets import StartVerdict
from cowlint.engine.module.values import BOUND_METHOD_OF, Data, ForeignInstance, Instance, InstanceSize, argument

# how often a payload is pickled, as a message says it
SHORT_FREQUENCY = {
    EVERY_TASK: "into every task",
    THIS_CALL: "with this call",
    PER_WORKER: "into every worker at start",
    PER_PROCESS: "into the new process",
}


# Pool methods that cut their items into chunks, one task (one pickle of the function) each:
# chunksize defaults to ceil(len(items) / (4 * workers)), about four chunks per worker
_CHUNKED = frozenset({"map", "starmap", "map_async", "starmap_async"})


def payload_detail(module: ModuleContext, shipped: Shipped, verdict: StartVerdict, what: str = "", pickled: int | None = None) -> str:
    """The detail of a payload finding: what the object is, how many times it is pickled, the
    pool wrapper it goes through, and why it is pickled at all when it travels as a worker
    starts. ``pickled``: the bytes of one pickle, when known, for the total."""
    parts = [what] if what else []
    times = times_text(module, shipped, pickled)
    if times:
        parts.append(times)
    if shipped.site.through:
        parts.append(f"through {shipped.site.through}")
    note = start_note(shipped, verdict)
    if note:
        parts.append(note)
    return "; ".join(parts)


def times_text(module: ModuleContext, shipped: Shipped, pickled: int | None = None) -> str:
    """How many times a payload is pickled and unpickled into a new copy in a worker, with the
    count where the code says it: the items of ``range(8)``, ``processes=4``, ``chunksize=``.
    One pickle shares what repeats inside it, so task items that all hold the same object send
    it once per chunk of items, not once per item."""
    site, payload = shipped.site, shipped.payload
    count: int | None = None
    if payload.frequency == PER_WORKER:  # no total: a pool may replace its workers, an executor starts them on demand
        workers = site.receiver.workers
        text = "pickled once for each worker as it starts" + (f" (up to {workers} at a time)" if workers else " (os.cpu_count() at a time unless the pool says)")
    elif payload.frequency != EVERY_TASK or site.through or site.receiver.library is not None:
        return ""
    elif site.api == "Parallel":
        text = 'pickled once per batch of tasks (joblib\'s batch_size, "auto" by default)'
    elif site.receiver.kind not in ("pool", "executor") or site.confidence != "high":
        return ""  # a Process, or a pool known only by its name: how it cuts its tasks is not known
    else:
        method = site.api.rsplit(".", 1)[-1]
        items = next((p.expr for p in site.payloads if p.role == "items"), None)
        length = _length(module, items, site.scope, site.order) if items is not None else None
        pool = site.receiver.kind == "pool"
        maps = method in _CHUNKED or method in ("imap", "imap_unordered") if pool else method == "map"
        chunk = argument(site.call, "chunksize", 2 if pool else None) if maps else None
        if isinstance(chunk, cst.Name) and chunk.value == "None":
            chunk = None  # the default
        size = integer(module.resolver, chunk, site.scope, site.order) if chunk is not None else None
        if size is not None and size < 1:
            return ""  # map sends nothing, imap and executor.map raise ValueError
        if maps and chunk is None and pool and method in _CHUNKED:
            workers = site.receiver.workers
            if length is not None and workers:
                per = max(1, -(-length // (4 * workers)))
                count = -(-length // per)
                text = f"pickled once per chunk of items: Pool.{method} cuts the {length:,} items into {count:,} chunks of {per:,}"
            else:
                text = f"pickled once per chunk of items: Pool.{method} cuts them into about 4 chunks per worker (its default chunksize)"
        elif chunk is not None and size != 1:
            count = -(-length // size) if length is not None and size else None
            text = f"pickled once per chunk of {f'{size:,}' if size else 'chunksize'} items" + (f": {count:,} chunks" if count is not None else "")
        elif maps or payload.role == "items":
            count = length
            text = "pickled once per task item" + (f": {count:,} items" if count is not None else "")
        else:  # apply_async or submit in a loop
            text = "pickled with every call"
    text += ", each unpickled into a new copy in the worker"
    if pickled is not None and count is not None and count > 1:
        text += f" (~{format_size(pickled * count)} pickled in all)"
    return text


def _length(module: ModuleContext, expr: cst.BaseExpression, scope: Scope, at: int) -> int | None:
    """The number of items of ``expr``, or of the one value a name is bound to."""
    if isinstance(expr, cst.Name):
        if module.facts.mutations_of(expr.value, scope):
            return None  # filled or grown after it was bound: its literal does not say how long it is
        bindings = module.resolver.lookup(expr.value, scope, at)
        value = bindings[0].value if len(bindings) == 1 and bindings[0].kind == "assign" else None
        return item_count(module.resolver, value, bindings[0].eval_scope, bindings[0].order) if value is not None else None
    return item_count(module.resolver, expr, scope, at)


def instance_size_text(estimate: InstanceSize) -> str:
    """``~762.9 MiB in memory, mostly self.data``, ``at least ~97.7 MiB in memory, in
    self.weights`` or ``size unknown``: the size of the object rebuilt in each worker."""
    biggest = next((name for name, size, _ in estimate.parts if size), None)
    bulky = next(((name, what) for name, size, what in estimate.parts if size is None and what), None)
    if estimate.size is not None and not estimate.bulk:
        text = f"~{format_size(estimate.size)} in memory"
        return f"{text}, mostly self.{biggest}" if biggest and len(estimate.parts) > 1 else text
    if estimate.bulk and bulky:
        name, what = bulky
        return f"bulk data in self.{name}, {what}" if what.startswith(BOUND_METHOD_OF) else f"bulk data in self.{name}"
    if estimate.known_bytes >= 1024 * 1024 and biggest:
        return f"at least ~{format_size(estimate.known_bytes)} in memory, in self.{biggest}"
    return "size unknown"


def carrier_text(code: str, shipped: Shipped, expr_is_name: bool) -> str:
    """The payload expression, with what it was bound to or filled by when it is a name."""
    path = shipped.path
    if expr_is_name and len(path) > 2:
        step = path[1]
        if step.startswith(code + "."):
            return f"{code} (filled by {step})"
        return f"{code} = {step}"
    return code


def size_text(size: int | None, bulk: bool, whole: bool = False, memory: str = " in memory") -> str:
    """``~762.9 MiB in memory`` (``~762.9 MiB, in memory and pickled`` when its pickle is as
    big: ``whole``; ``memory=""`` where only memory is meant) or ``size unknown``."""
    if size is not None:
        return f"~{format_size(size)}, in memory and pickled" if whole else f"~{format_size(size)}{memory}"
    return "bulk data, size unknown" if bulk else "size unknown"


def start_note(shipped: Shipped, verdict: StartVerdict) -> str:
    """Why a payload that travels when a worker starts is pickled at all."""
    site = shipped.site
    if not site.ships_at_start(shipped.payload):
        return ""
    if site.start.conditional and site.start.method == "fork":  # fork where the platform has it, or where the code asks
        return f"fork, from {site.start.how}, is not there: {verdict.defaults_text()}"
    if site.start.conditional:
        return f"the start method is {verdict.defaults_text()} ({site.start.how})"
    if site.start.method is not None:
        return f"the start method is {site.start.method}, from {site.start.how}"
    return f"the start method is not pinned to fork: {verdict.defaults_text()}"


def large_shipped(module: ModuleContext, shipped: Shipped) -> tuple[int | None, str, str, str] | None:
    """(size, what it is, its size as text, doubt: why it is uncertain, "" when it is not) when
    ``shipped`` is large or bulk data: what COW102 reports."""
    threshold = module.config.large_threshold
    value = shipped.value
    if shipped.kind == "data" and isinstance(value, Data):
        if value.size is not None and value.size < threshold and not value.bulk:
            return None
        doubt = shipped.site.doubt or doubt_of(value.confidence, value.doubt)
        return value.size, value.what, size_text(value.size, value.bulk, value.pickles_whole), doubt
    if shipped.kind == "instance" and isinstance(value, (Instance, ForeignInstance)):
        estimate = module.resolver.estimate(value)
        if estimate.custom_pickling or not (estimate.bulk or (estimate.size is not None and estimate.size >= threshold)):
            return None
        article = "an" if value.class_name[:1].lower() in "aeiou" else "a"
        return estimate.size, "", f"{article} {value.class_name}, {instance_size_text(estimate)}", shipped.site.doubt
    return None
