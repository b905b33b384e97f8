"""A web page (or an HTML "Excel" export) -> rows, with the standard library's ``html.parser`` only.

The page is first built into a small tree, closing the tags HTML lets authors leave open (``<td>``,
``<tr>``, ``<p>``, ``<li>``), then walked in document order:

* What a reader of the plan does not see is left out: ``<head>``, ``<script>``, ``<style>``,
  ``<noscript>``, ``<template>``, ``<nav>``, ``<aside>``, form controls, comments, elements hidden
  with ``hidden`` or ``display:none``; the site's ``<header>`` and ``<footer>`` (but not those of an
  ``<article>`` or ``<main>``, which hold the title and date); a ``<form>`` unless it holds a table
  (ASP.NET sites wrap the whole page in one form).
* Text outside tables becomes one-cell rows, one per block (``p``, ``div``, ``h1``–``h6``, ``li`` …)
  and per ``<br>``-separated line, so the ingest can find the title and the publication date.
* Every ``<table>`` becomes rows (the ingest decides which table is the plan). ``rowspan`` and
  ``colspan`` are resolved so that every grid position a cell covers holds its text. Inside a cell,
  ``<br>`` and block boundaries (``<p>``, ``<div>`` …) become "\\n"; other whitespace collapses to a
  single space, as a browser shows it.
* Nested tables: an outer table that holds a nested table at least as long as itself is a layout
  table (a page frame around the data): it gives no grid of its own; its cells are read as flowing
  text and its nested tables as tables of their own, so the data table comes out with its own
  columns. Otherwise the nested table is part of one cell and contributes its rows as lines of that
  cell's text, its cells separated by a space.

``Row.line`` is the source line of the ``<tr>`` or of the paragraph's first text.
Charset: a byte-order mark, else ``<meta charset>`` / ``<?xml encoding>``, else UTF-8, else GB18030.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from reminder.errors import InputError
from reminder.readers import (
    MAX_GRID_CELLS,
    Row,
    check_grid,
    check_span,
    codec_for,
    decode_text,
)

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr", "keygen"}
DROPPED = {"head", "script", "style", "noscript", "template", "nav", "aside", "iframe", "object", "svg",
           "math", "select", "option", "textarea", "button", "input", "audio", "video", "canvas", "map"}
SITE_FRAME = {"header", "footer"}  # dropped unless inside <article> / <main>
BLOCKS = {"address", "article", "blockquote", "caption", "center", "dd", "details", "dialog", "div", "dl",
          "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
          "header", "hgroup", "hr", "li", "main", "menu", "ol", "p", "pre", "section", "summary", "table",
          "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "body", "html", "title"}
# Starting one of these closes an open <p> (HTML's "p in button scope" rule).
P_CLOSERS = BLOCKS - {"caption", "td", "th", "tr", "tbody", "thead", "tfoot", "body", "html", "title",
                      "center"}
SCOPE = {"table", "td", "th", "caption", "html", "button", "object", "template"}
TABLE_SCOPE = {"table", "html", "template"}
MAX_DEPTH = 256  # unclosed <font>/<div> soup nests deeper than anyone means; flatten past this depth
MAX_SPAN = 1000  # a colspan/rowspan beyond this is an authoring error, not a grid to allocate

_SPACES = re.compile(r"[ \t\n\r\f\xa0]+")  # source whitespace and &nbsp;
_INVISIBLE = str.maketrans("", "", "\u200b\u200c\u200d\ufeff")  # zero-width characters CMSs leave behind
_DECLARED_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)"""
                               rb"""|<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)


def read_html(data: bytes, path: str, charset: str | None = None) -> tuple[Row, ...]:
    """Rows of a web page given as bytes (see the module docstring for what is kept); ``charset`` is
    what the server declared in its Content-Type, which comes before the page's own declaration."""
    builder = _TreeBuilder()
    try:
        builder.feed(_decode(data, path, charset))
        builder.close()
        flow = _Flow(path)
        _walk(builder.root, flow, framed=False)
        flow.flush()
    except (AssertionError, RecursionError) as err:
        raise InputError(f"is not HTML this reader can follow ({type(err).__name__}); open it in a browser "
                         f"and save it again, or copy the table into Word", path) from None
    return tuple(flow.rows)


def _decode(data: bytes, path: str, charset: str | None) -> str:
    """Honour a BOM, then the server's charset, then the page's declared one; else UTF-8, else GB18030."""
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return decode_text(data, path)
    if charset and codec_for(charset):
        return decode_text(data, path, charset)
    match = _DECLARED_CHARSET.search(data[:8192])
    codec = codec_for((match.group(1) or match.group(2)).decode("ascii")) if match else None
    if codec:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass  # the page lies about its charset (common after a CMS migration); guess instead
    return decode_text(data, path)


# ---- building the tree ---------------------------------------------------------------------------

class _Node:
    __slots__ = ("attrs", "children", "line", "tag", "text")

    def __init__(self, tag: str, attrs: dict[str, str | None], line: int, text: str = ""):
        self.tag, self.attrs, self.line, self.text = tag, attrs, line, text
        self.children: list[_Node] = []


class _TreeBuilder(HTMLParser):
    """HTMLParser events -> a tree, with the implied end tags HTML allows authors to omit."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {}, 1)
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._close_implied(tag)
        node = _Node(tag, dict(attrs), self.getpos()[0])
        self.stack[-1].children.append(node)
        if tag not in VOID and (len(self.stack) < MAX_DEPTH or tag in {"table", "tr", "td", "th"}):
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "br":  # browsers read a stray </br> as <br>
            self.handle_starttag("br", [])
            return
        boundary = TABLE_SCOPE if tag in {"td", "th", "tr", "thead", "tbody", "tfoot", "caption"} else SCOPE
        index = self._open(tag, {"html"} if tag == "table" else boundary - {tag})
        if index is not None:
            del self.stack[index:]

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(_Node("#text", {}, self.getpos()[0], data))

    def _close_implied(self, tag: str) -> None:
        """Close what the new tag ends implicitly, and open the <tr> a bare <td> implies."""
        if tag in P_CLOSERS:
            self._pop_to(self._open("p", SCOPE))
        if tag in {"td", "th"}:
            self._pop_to(self._open({"td", "th"}, TABLE_SCOPE | {"tr"}))
            if self._open("tr", TABLE_SCOPE) is None and self._open("table", {"html"}) is not None:
                self.handle_starttag("tr", [])
        elif tag == "tr":
            self._pop_to(self._open("tr", TABLE_SCOPE))
        elif tag in {"thead", "tbody", "tfoot"}:
            self._pop_to(self._open({"thead", "tbody", "tfoot"}, TABLE_SCOPE))
        elif tag == "li":
            self._pop_to(self._open("li", {"ul", "ol"} | SCOPE))
        elif tag in {"dd", "dt"}:
            self._pop_to(self._open({"dd", "dt"}, {"dl"} | SCOPE))

    def _open(self, tags: str | set[str], boundary: set[str]) -> int | None:
        """Stack index of the innermost open ``tags`` element, unless a ``boundary`` element comes first."""
        wanted = {tags} if isinstance(tags, str) else tags
        for index in range(len(self.stack) - 1, 0, -1):
            tag = self.stack[index].tag
            if tag in wanted:
                return index
            if tag in boundary:
                return None
        return None

    def _pop_to(self, index: int | None) -> None:
        if index is not None:
            del self.stack[index:]


# ---- walking the tree ----------------------------------------------------------------------------

class _Flow:
    """Text outside tables, gathered into one-cell rows at block boundaries."""

    def __init__(self, path: str) -> None:
        self.path = path  # for messages about a table too large to build
        self.rows: list[Row] = []
        self.parts: list[str] = []
        self.line = 0
        self.started = False  # whether the paragraph being gathered has visible text yet

    def add(self, text: str, line: int) -> None:
        if not self.started and text.strip():
            self.line, self.started = line, True
        self.parts.append(text)

    def flush(self) -> None:
        text = _clean("".join(self.parts))
        if text:
            self.rows.append(Row(cells=(text,), line=self.line))
        self.parts, self.started = [], False


def _walk(node: _Node, flow: _Flow, framed: bool) -> None:
    """Emit ``node``'s children in order; ``framed`` is True inside <article> / <main>."""
    for child in node.children:
        if child.tag == "#text":
            flow.add(_collapse(child.text), child.line)
        elif _dropped(child, framed):
            continue
        elif child.tag == "br":
            flow.flush()
        elif child.tag == "table":
            flow.flush()
            _emit_table(child, flow)
        elif child.tag in BLOCKS:
            flow.flush()
            _walk(child, flow, framed or child.tag in {"article", "main"})
            flow.flush()
        else:
            _walk(child, flow, framed or child.tag in {"article", "main"})


def _dropped(node: _Node, framed: bool) -> bool:
    """True for content a reader of the page does not see or does not mean (see the module docstring)."""
    if node.tag in DROPPED or "hidden" in node.attrs:
        return True
    style = (node.attrs.get("style") or "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return True
    if node.tag in SITE_FRAME:
        return not framed
    return node.tag == "form" and not _contains(node, "table")


def _contains(node: _Node, tag: str) -> bool:
    return any(child.tag == tag or _contains(child, tag) for child in node.children)


def _emit_table(table: _Node, flow: _Flow) -> None:
    """A data table as grid rows; a layout table as the flow of its cells (see the module docstring)."""
    for caption in _find(table, {"caption"}):
        _walk(caption, flow, framed=True)
        flow.flush()
    trs = list(_find(table, {"tr"}))
    nested = [inner for tr in trs for cell in _cells(tr) for inner in _find(cell, {"table"})]
    if any(len(list(_find(inner, {"tr"}))) >= len(trs) for inner in nested):
        for tr in trs:
            for cell in _cells(tr):
                _walk(cell, flow, framed=True)
                flow.flush()
        return
    for line, cells in _grid(trs, flow.path):
        if any(cells):
            flow.rows.append(Row(cells=tuple(cells), line=line))


def _find(node: _Node, tags: set[str]):
    """Descendants named ``tags``, not looking inside them nor inside nested tables."""
    for child in node.children:
        if child.tag in tags:
            yield child
        elif child.tag != "table" and child.tag != "#text":
            yield from _find(child, tags)


def _cells(tr: _Node) -> list[_Node]:
    return [cell for cell in _find(tr, {"td", "th"}) if not _dropped(cell, framed=True)]


def _grid(trs: list[_Node], path: str) -> list[tuple[int, list[str]]]:
    """(line, cells) per <tr>, rowspan/colspan resolved: every covered position holds the cell's text.

    The spans are checked before they are filled in, so colspan="1000" rowspan="1000" is refused
    (``check_span``, ``check_grid``) rather than allocated."""
    taken: dict[tuple[int, int], str] = {}
    for r, tr in enumerate(trs):
        c = 0
        for cell in _cells(tr):
            while (r, c) in taken:
                c += 1
            text = _cell_text(cell)
            rows, cols = _span(cell, "rowspan", len(trs) - r), _span(cell, "colspan", MAX_SPAN)
            check_span(rows, cols, path, "a table of the page")
            if len(taken) + rows * cols > MAX_GRID_CELLS:
                check_grid(len(trs), c + cols, path, "a table of the page")
                check_grid(MAX_GRID_CELLS + 1, 1, path, "a table of the page")
            for dr in range(rows):
                for dc in range(cols):
                    taken[(r + dr, c + dc)] = text
            c += cols
    width = max((col + 1 for _, col in taken), default=0)
    check_grid(len(trs), width, path, "a table of the page")
    return [(tr.line, [taken.get((r, col), "") for col in range(width)]) for r, tr in enumerate(trs)]


def _span(cell: _Node, name: str, limit: int) -> int:
    """A span attribute as browsers read it: leading digits, at least 1; rowspan="0" runs to the end."""
    match = re.match(r"\s*(\d+)", cell.attrs.get(name) or "")
    value = int(match.group(1)) if match else 1
    if value == 0 and name == "rowspan":
        return max(limit, 1)
    return max(1, min(value, limit))


def _cell_text(cell: _Node) -> str:
    parts: list[str] = []
    _inline(cell, parts)
    return _clean("".join(parts))


def _inline(node: _Node, parts: list[str]) -> None:
    """Text of a cell: <br> and block boundaries as "\\n"; a nested table's cells spaced, rows as lines."""
    for child in node.children:
        if child.tag == "#text":
            parts.append(_collapse(child.text))
        elif _dropped(child, framed=True):
            continue
        elif child.tag == "br":
            parts.append("\n")
        elif child.tag in {"td", "th"}:
            parts.append(" ")
            _inline(child, parts)
        elif child.tag in BLOCKS:
            parts.append("\n")
            _inline(child, parts)
            parts.append("\n")
        else:
            _inline(child, parts)


def _collapse(text: str) -> str:
    """Source whitespace (newlines included) as a browser shows it: one space. Hard breaks come later."""
    return _SPACES.sub(" ", text.translate(_INVISIBLE))


def _clean(text: str) -> str:
    """Strip the lines made by hard breaks ("\n" from <br> and blocks) and drop the blank ones."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
