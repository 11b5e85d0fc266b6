"""Reporters: one module per output format, each with one ``render(findings, sources, color)``
(``color``: ANSI colours, which the text and concise formats use and the others ignore)."""

from __future__ import annotations

from collections.abc import Callable

from cowlint.engine.finding import Finding
from cowlint.engine.source import SourceText
from cowlint.report import concise, github, grouped, json_format, pylint, sarif, text

Renderer = Callable[[list[Finding], dict[str, SourceText], bool], str]

RENDERERS: dict[str, Renderer] = {
    "text": text.render,
    "concise": concise.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
    "full": text.render,  # ruff's name for the text output
    "grouped": grouped.render,
    "pylint": pylint.render,
}

__all__ = ["RENDERERS", "Renderer"]
