"""Jinja2 templates of the report (shipped in ``common/report/templates``) and the markdown -> HTML filter."""

from __future__ import annotations

from functools import cache

import jinja2
from markdown_it import MarkdownIt


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_to_html(text: str) -> str:
    return _markdown().render(text or "")


def markdown_cell(text) -> str:
    """A table cell for a markdown table: pipes escaped, line breaks flattened."""
    return str(text).replace("|", "\\|").replace("\n", " ")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("common.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["markdown"] = lambda text: jinja2.utils.markupsafe.Markup(markdown_to_html(text))
    env.filters["mdcell"] = markdown_cell
    return env


def render(template: str, context: dict) -> str:
    return environment().get_template(template).render(**context)
