"""Wording shared by the payload rules: how often, how big, through what."""

from __future__ import annotations

from cowlint.config import format_size
from cowlint.engine.finding import doubt_of
from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.dispatch import EVERY_TASK, PER_PROCESS, PER_WORKER, THIS_CALL
from cowlint.engine.module.shipping import Shipped
from cowlint.engine.module.targets import StartVerdict
from cowlint.engine.module.values import BOUND_METHOD_OF, Data, ForeignInstance, Instance, InstanceSize

# how often a payload is pickled, as a message says it
SHORT_FREQUENCY = {
    EVERY_TASK: "into every task",
    THIS_CALL: "with this call",
    PER_WORKER: "into every worker at start",
    PER_PROCESS: "into the new process",
}


def payload_detail(shipped: Shipped, verdict: StartVerdict, what: str = "") -> str:
    """The detail of a payload finding: what the object is, the pool wrapper it goes through, and
    why it is pickled at all when it travels as a worker starts."""
    parts = [what] if what else []
    if shipped.site.through:
        parts.append(f"through {shipped.site.through}")
    note = start_note(shipped, verdict)
    if note:
        parts.append(note)
    return "; ".join(parts)


def instance_size_text(estimate: InstanceSize) -> str:
    """``~762.9 MiB, mostly self.data``, ``at least ~97.7 MiB`` or ``size unknown``."""
    biggest = next((name for name, size, _ in estimate.parts if size), None)
    bulky = next(((name, what) for name, size, what in estimate.parts if size is None and what), None)
    if estimate.size is not None and not estimate.bulk:
        text = f"~{format_size(estimate.size)}"
        return f"{text}, mostly self.{biggest}" if biggest and len(estimate.parts) > 1 else text
    if estimate.bulk and bulky:
        name, what = bulky
        return f"bulk data in self.{name}, {what}" if what.startswith(BOUND_METHOD_OF) else f"bulk data in self.{name}"
    if estimate.known_bytes >= 1024 * 1024 and biggest:
        return f"at least ~{format_size(estimate.known_bytes)} in self.{biggest}"
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


def size_text(size: int | None, bulk: bool) -> str:
    """``~762.9 MiB`` or ``size unknown``."""
    if size is not None:
        return f"~{format_size(size)}"
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
        return value.size, value.what, size_text(value.size, value.bulk), doubt
    if shipped.kind == "instance" and isinstance(value, (Instance, ForeignInstance)):
        estimate = module.resolver.estimate(value)
        if estimate.custom_pickling or not (estimate.bulk or (estimate.size is not None and estimate.size >= threshold)):
            return None
        article = "an" if value.class_name[:1].lower() in "aeiou" else "a"
        return estimate.size, "", f"{article} {value.class_name}, {instance_size_text(estimate)}", shipped.site.doubt
    return None
