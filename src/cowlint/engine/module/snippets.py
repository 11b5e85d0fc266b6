"""Source text of syntax nodes, as messages show it: one line, tidied, cut without rendering
what is cut (a 150,000-item literal costs as much to render as to parse)."""

from __future__ import annotations

import re

import libcst as cst

_LOOSE_SPACE = re.compile(r"(?<=[(\[{]) | (?=[)\]},])")


def snippet(module: cst.Module, node: cst.CSTNode, limit: int = 60) -> str:
    """The source of ``node`` on one line, tidied and shortened to ``limit`` characters."""
    text = _LOOSE_SPACE.sub("", " ".join(head_code(module, node).split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# A sequence cut to its first _KEEP items still renders to at least _KEEP characters (each
# item is at least one), past any snippet limit: what is cut is never shown.
_KEEP = 64
_BUDGET = 4_000  # nodes copied at most; a pathological tree is rendered whole instead


def head_code(module: cst.Module, node: cst.CSTNode) -> str:
    """The source of ``node`` when it is short; for a node holding long sequences (a
    150,000-item literal), a rendering whose first _KEEP characters are the source's,
    without generating the whole node (that costs as much as parsing it)."""
    budget = [_BUDGET]
    try:
        head, cut = _head(node, budget)
    except Exception:  # noqa: BLE001 - a node libcst will not rebuild cut: render it whole
        return module.code_for_node(node)
    return module.code_for_node(head) if cut else module.code_for_node(node)


def _head(node: cst.CSTNode, budget: list[int]) -> tuple[cst.CSTNode, bool]:
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("too many nodes to cut")
    changes: dict[str, object] = {}
    cut = False
    for name in node.__dataclass_fields__:
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            head, inner = _head(value, budget)
        elif isinstance(value, (tuple, list)) and value and isinstance(value[0], cst.CSTNode):
            parts = [_head(item, budget) for item in value[:_KEEP]]
            inner = len(value) > _KEEP or any(part_cut for _, part_cut in parts)
            head = type(value)(part for part, _ in parts) if inner else value  # type: ignore[assignment]
        else:
            continue
        if inner:
            changes[name] = head
            cut = True
    return (node.with_changes(**changes), True) if cut else (node, False)
