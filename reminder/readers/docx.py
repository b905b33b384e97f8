"""A .docx file -> rows, in the order a reader of the document meets them.

Paragraphs outside tables become one-cell rows; every table row becomes a row with one cell per grid
column. Merged cells are resolved so that each grid position a merged cell covers holds its text:
a header cell spanning two columns (``w:gridSpan``) appears twice, and the cells under a vertical
merge (``w:vMerge``) repeat the text of the cell that starts it. That keeps columns aligned across
header and data rows, and a blank "same as above" unit cell carries its units down.

Text is read from the XML rather than through python-docx's ``.text``, so that tracked deletions,
field codes, duplicate fallback content and bookmarks stay out, and runs inside content controls,
hyperlinks and insertions stay in. Paragraphs inside a cell are joined with "\\n", blank ones
dropped; a table nested in a cell contributes its paragraphs as further lines of that cell.

``Row.line`` counts body blocks (each paragraph and each table row, empty ones included) from 1, so
the numbers stay put when empty blocks are skipped.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator

from reminder.errors import InputError
from reminder.readers import MAX_GRID_CELLS, Row, check_grid, check_zip

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"

# Elements that only wrap block or row content (content controls, custom XML): look through them.
_WRAPPERS = {W + "sdt", W + "sdtContent", W + "customXml", W + "smartTag"}
# Subtrees whose text a reader does not see: deleted or moved-away text, field instructions, the
# fallback copy of alternate content (its twin in mc:Choice is read), and properties (w:pPr holds
# tab-stop definitions named w:tab).
_HIDDEN = {W + "del", W + "moveFrom", W + "delText", W + "instrText", W + "pPr", W + "rPr", W + "tcPr",
           W + "trPr", W + "tblPr", W + "sdtPr", MC + "Fallback"}
_CHARS = {W + "tab": "\t", W + "br": "\n", W + "cr": "\n", W + "noBreakHyphen": "-"}
# What converters leave of Word's hidden bookmarks (_GoBack, _Hlk…) when they turn them into text.
_BOOKMARK_NOISE = re.compile(r"\[bookmark: [^\]\n]*\]")


def read_docx(data: bytes, path: str) -> tuple[Row, ...]:
    """Rows of a .docx given as bytes; ``InputError`` if it is not a readable Word document."""
    body = _open_body(data, path)
    rows = []
    for line, cells in enumerate(_blocks(body, path), start=1):
        if any(cells):
            rows.append(Row(cells=tuple(cells), line=line))
    return tuple(rows)


def _open_body(data: bytes, path: str):
    """The document's w:body element, after the zip-bomb checks."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    check_zip(data, path)
    try:
        body = docx.Document(io.BytesIO(data)).element.body
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError, EOFError,
            zlib.error) as err:
        raise InputError(f"is not a valid .docx ({type(err).__name__}: {err}); re-save it from Word "
                         f"(or WPS) as .docx", path) from None
    except Exception:  # noqa: BLE001 - python-docx trusts the package's structure and fails in any way
        # when a part is damaged (AttributeError on a foreign root element, TypeError on a broken
        # relationship); whatever it raises, the file is what is wrong.
        raise InputError("is not a valid .docx (a part inside it is damaged); re-save it from Word "
                         "(or WPS) as .docx", path) from None
    if body is None:
        raise InputError("is not a valid .docx (its document part has no body); re-save it from Word "
                         "(or WPS) as .docx", path)
    return body


def _blocks(parent, path: str) -> Iterator[list[str]]:
    """Cells of each body block in order: one cell per paragraph, a grid row per table row."""
    for child in parent:
        if child.tag == W + "p":
            yield [_clean(_text(child))]
        elif child.tag == W + "tbl":
            yield from _table_rows(child, path)
        elif child.tag in _WRAPPERS:
            yield from _blocks(child, path)


def _table_rows(tbl, path: str) -> list[list[str]]:
    """The table as a rectangular grid, merges resolved (see the module docstring); a table whose
    grid would pass ``MAX_GRID_CELLS`` is refused as it grows, before it is all built."""
    grid: list[list[str]] = []
    cells = 0
    for tr in _children(tbl, W + "tr"):
        row = [""] * _int(tr.find(f"{W}trPr/{W}gridBefore"), 0)
        for tc in _children(tr, W + "tc"):
            props = tc.find(W + "tcPr")
            span = max(1, min(_int(_prop(props, "gridSpan"), 1), 1000))
            if _merge_continues(_prop(props, "vMerge")):
                text = grid[-1][len(row)] if grid and len(row) < len(grid[-1]) else ""
            elif _merge_continues(_prop(props, "hMerge")):  # Word 97-style horizontal merge
                text = row[-1] if row else ""
            else:
                text = _clean(_text(tc))
            cells += span
            if cells > MAX_GRID_CELLS:
                check_grid(len(grid) + 1, max(len(row) + span, 1), path, "a table of the document")
                check_grid(MAX_GRID_CELLS + 1, 1, path, "a table of the document")
            row.extend([text] * span)
        grid.append(row)
    width = max((len(row) for row in grid), default=0)
    check_grid(len(grid), width, path, "a table of the document")
    return [row + [""] * (width - len(row)) for row in grid]


def _children(parent, tag: str) -> Iterator:
    """Children named ``tag``, looking through content-control and custom-XML wrappers."""
    for child in parent:
        if child.tag == tag:
            yield child
        elif child.tag in _WRAPPERS:
            yield from _children(child, tag)


def _prop(props, name: str):
    return None if props is None else props.find(W + name)


def _merge_continues(element) -> bool:
    """A vMerge / hMerge element without val="restart" continues the merge above (or to the left)."""
    return element is not None and element.get(W + "val", "continue") != "restart"


def _int(element, default: int) -> int:
    try:
        return int(element.get(W + "val")) if element is not None else default
    except (TypeError, ValueError):
        return default


def _text(element) -> str:
    """Visible text under ``element``; paragraphs end with "\\n"."""
    parts: list[str] = []
    _collect(element, parts)
    return "".join(parts)


def _collect(element, parts: list[str]) -> None:
    for child in element:
        tag = child.tag
        if tag in _HIDDEN:
            continue
        if tag == W + "t":
            parts.append(child.text or "")
        elif tag in _CHARS:
            parts.append(_CHARS[tag])
        else:
            _collect(child, parts)
            if tag == W + "p":
                parts.append("\n")


def _clean(text: str) -> str:
    """Drop bookmark noise, strip each line, drop blank lines."""
    lines = (line.strip() for line in _BOOKMARK_NOISE.sub("", text).split("\n"))
    return "\n".join(line for line in lines if line)
