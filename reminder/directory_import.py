"""Read the unit directory an office keeps in Excel or CSV; write it out as ``[[units]]`` TOML.

Offices keep a 通讯录 sheet: a title row or two, then a header row (单位名称, 别名, 邮箱, 钉钉 …) and
one unit per row. We find the header row, map the columns we know (Chinese or English headers,
see ``COLUMNS``), ignore the rest (序号, 联系人, 电话), and validate each row exactly as a
``[[units]]`` table in the config is validated, so an import that succeeds also loads.

``import_units`` (reads the sheet) and ``add_to_config`` (rewrites the config file, atomically) are the
edges; ``units_to_toml`` and ``merge_units`` are pure.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import tempfile
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from reminder.config import parse_unit
from reminder.directory import Directory, DirectoryConflict, UnitConfig, normalize_name, redact_url
from reminder.errors import ConfigError, InputError

# Header words per field, tried in this order; a header belongs to the first field with a word
# it contains. Order matters: 成员单位 and 下属单位 contain 单位, 钉钉webhook contains webhook.
COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("members", ("成员", "下属单位", "包含单位", "member")),
    ("aliases", ("别名", "简称", "又称", "alias")),
    ("dingtalk", ("钉钉", "dingtalk", "dingding")),
    ("wecom", ("企业微信", "企微", "wecom", "wechatwork", "workwechat")),
    ("feishu", ("飞书", "feishu", "lark")),
    ("emails", ("邮箱", "电子邮件", "邮件", "email", "e-mail", "mail")),
    ("generic", ("webhook", "回调")),
)
# The name column must match exactly: 单位联系人 or 单位电话 are not names.
NAME_HEADERS = frozenset({"单位名称", "单位全称", "名称", "单位", "责任单位", "部门名称", "部门",
                          "name", "unit", "unitname", "unit name"})
WEBHOOK_FIELDS = ("dingtalk", "wecom", "feishu", "generic")
HEADER_SEARCH_ROWS = 10  # title rows an office puts above the header

_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# Names split on 、，,;； and line breaks, but not inside brackets: 各镇（街、园区） is one name.
_NAME_SEPARATORS = "、，,;；\n"
# Addresses and URLs also split on whitespace.
_ADDRESS_SPLIT = re.compile(r"[\s、，,;；]+")


def import_units(path: str | Path) -> list[UnitConfig]:
    """The units listed in an .xlsx or .csv directory; InputError names the file and row (the first bad one)."""
    units, problems = read_units(path)
    if problems:
        raise problems[0]
    return units


def read_units(path: str | Path) -> tuple[list[UnitConfig], list[InputError]]:
    """The good rows' units, and one InputError (naming the file and line) per row that is not a valid unit
    (a bad email, a URL that is none): the caller decides whether to take the rest (``--skip-bad``).
    A sheet without a header, or two rows claiming one name, is an InputError raised at once."""
    path = Path(path)
    rows = list(_read_rows(path))
    header_line, columns, headers = _find_header(rows, path)
    units: list[UnitConfig] = []
    lines: list[int] = []
    problems: list[InputError] = []
    for line, cells in rows:
        if line <= header_line:
            continue
        try:
            unit = _row_unit(cells, columns, headers, path, line)
        except InputError as problem:
            problems.append(problem)
            continue
        if unit is not None:
            units.append(unit)
            lines.append(line)
    _check_names(units, lines, path)
    return units, problems


# ---------------------------------------------------------------------------------------------
# Reading grids


def _read_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(1-based line or row number, cells as stripped text) for every row of the first sheet."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _csv_rows(path)
    elif suffix in (".xlsx", ".xlsm"):
        yield from _xlsx_rows(path)
    else:
        raise InputError("cannot read this kind of file; save the directory as .xlsx or .csv",
                         str(path))


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """CSV saved by Excel in China is often GB18030 rather than UTF-8; accept both."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read the file: {err.strerror}", str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise InputError("is neither UTF-8 nor GB18030 text; save it as CSV UTF-8",
                             str(path)) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    for cells in reader:
        yield reader.line_num, [c.strip() for c in cells]


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    import openpyxl  # heavy; only the import command needs it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"cannot open as an Excel workbook ({err}); save it as .xlsx",
                         str(path)) from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, ["" if v is None else str(v).strip() for v in values]
    finally:
        book.close()


# ---------------------------------------------------------------------------------------------
# Header and rows


def _header_key(text: str) -> str:
    """A header as compared: NFKC, lower case, no bracketed notes (（必填）), no spaces or *."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _BRACKETED.sub("", text)
    return "".join(ch for ch in text if not ch.isspace() and ch not in "*：:")


def _field_of(header: str) -> str | None:
    """Which field a header names, or None for a column we do not use."""
    key = _header_key(header)
    if not key:
        return None
    if key in NAME_HEADERS:
        return "name"
    for field, words in COLUMNS:
        if any(word in key for word in words):
            return field
    return None


def _find_header(rows: Sequence[tuple[int, list[str]]], path: Path):
    """(header line, {column index: field}, {field: header as written}) from the first rows."""
    for line, cells in rows[:HEADER_SEARCH_ROWS]:
        columns = {i: f for i, c in enumerate(cells) if (f := _field_of(c))}
        if "name" in columns.values():
            headers: dict[str, str] = {}
            for i, field in columns.items():
                headers.setdefault(field, cells[i])
            return line, columns, headers
    raise InputError(
        f"no header row with a unit name column in the first {HEADER_SEARCH_ROWS} rows; "
        "add a header row with 单位名称 (or 'name'), and optionally 别名, 邮箱, 钉钉, 企业微信, "
        "飞书, webhook, 成员单位",
        str(path),
    )


def _row_unit(cells: list[str], columns: dict[int, str], headers: dict[str, str], path: Path,
              line: int) -> UnitConfig | None:
    """The unit on one row; None for a row with nothing in the columns we use."""
    values: dict[str, list[str]] = {}
    for i, field in columns.items():
        cell = cells[i] if i < len(cells) else ""
        if cell:
            values.setdefault(field, []).append(cell)
    if not values:
        return None
    names = values.get("name", [])
    if not names:
        raise InputError("this row has contacts but no unit name; fill in the 单位名称 column "
                         "or delete the row", str(path), line)
    raw, origin = _raw_unit(names[0], values)
    try:
        return parse_unit(raw, "unit", env={})
    except ConfigError as err:
        detail = getattr(err, "detail", str(err))
        column = next((f for k, f in origin.items() if (err.key or "").startswith(k)), None)
        where = f"column {headers[column]}: " if column is not None and column in headers else ""
        raise InputError(f"unit '{names[0]}': {where}{detail}", str(path), line) from None


def _raw_unit(name: str, values: dict[str, list[str]]) -> tuple[dict, dict[str, str]]:
    """A ``[[units]]`` table for ``parse_unit``, and {config key prefix: field it came from}."""
    raw: dict = {"name": name}
    origin: dict[str, str] = {"unit.emails": "emails", "unit.aliases": "aliases",
                              "unit.members": "members"}
    for field in ("aliases", "members"):
        if field in values:
            raw[field] = [n for cell in values[field] for n in split_names(cell)]
    if "emails" in values:
        raw["emails"] = [a for cell in values["emails"] for a in _split_addresses(cell, "@")]
    hooks: list[dict[str, str]] = []
    for field in WEBHOOK_FIELDS:
        for cell in values.get(field, []):
            for url in _split_addresses(cell, "http"):
                origin[f"unit.webhooks[{len(hooks)}]"] = field
                hooks.append({"kind": field, "url": url})
    if hooks:
        raw["webhooks"] = hooks
    return raw, origin


def _split_addresses(cell: str, marker: str) -> list[str]:
    """Addresses or URLs in one cell. If a piece lacks ``marker`` the cell is kept whole, so the
    error shows what was typed ('czj at example') rather than a fragment of it."""
    pieces = [p for p in _ADDRESS_SPLIT.split(cell) if p]
    return pieces if all(marker in p for p in pieces) else [cell]


def split_names(cell: str) -> list[str]:
    """Split a list of unit names on 、，,;； and newlines, except inside （…） or (…)."""
    names: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in cell:
        depth += ch in "(（[【"
        depth -= ch in ")）]】" and depth > 0
        if depth == 0 and ch in _NAME_SEPARATORS:
            names.append("".join(current))
            current = []
        else:
            current.append(ch)
    names.append("".join(current))
    return [n.strip() for n in names if n.strip()]


def _check_names(units: list[UnitConfig], lines: list[int], path: Path) -> None:
    """Two rows may not claim one name. Members are checked when the config loads, since they
    may name units that are already in the config rather than in this sheet."""
    try:
        Directory([replace(u, members=()) for u in units])
    except DirectoryConflict as err:
        raise InputError(str(err), str(path), lines[err.index]) from None


# ---------------------------------------------------------------------------------------------
# Writing TOML


def _toml_str(text: str) -> str:
    """A TOML basic string. JSON's escapes are a subset of TOML's; TOML also forbids a raw DEL."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_str(i) for i in items) + "]"


def _webhook_toml(hook) -> str:
    parts = [f"kind = {_toml_str(hook.kind)}"]
    if hook.url_env:
        parts.append(f"url_env = {_toml_str(hook.url_env)}")
    else:
        parts.append(f"url = {_toml_str(hook.url)}")
    if hook.secret is not None:
        parts.append(f"secret_env = {_toml_str(hook.secret.env)}")
    return "{ " + ", ".join(parts) + " }"


def unit_to_toml(unit: UnitConfig) -> str:
    """One ``[[units]]`` block; secrets are written as the names of their env variables."""
    lines = ["[[units]]", f"name = {_toml_str(unit.name)}"]
    for key in ("aliases", "emails", "members"):
        if getattr(unit, key):
            lines.append(f"{key} = {_toml_list(getattr(unit, key))}")
    if unit.webhooks:
        lines.append("webhooks = [")
        lines += [f"  {_webhook_toml(h)}," for h in unit.webhooks]
        lines.append("]")
    return "\n".join(lines) + "\n"


def units_to_toml(units: Iterable[UnitConfig]) -> str:
    """``[[units]]`` blocks, blank-line separated, ready to append to a config file."""
    return "\n".join(unit_to_toml(u) for u in units)


CONTACT_KEYS = ("emails", "webhooks")
"""What an import updates in a unit the config already has; its name, aliases and members are the office's."""


def merge_units(config_text: str, units: Iterable[UnitConfig]) -> tuple[str, list[str], list[str]]:
    """Append to a config's text the units it does not have yet, and update the contacts (emails,
    webhooks) of those it has where the sheet gives others, keeping the config's comments and its other keys.

    Returns (new text, names of the units added, one line per contact changed: "县财政局: emails a -> b").
    A contact cell left empty in the sheet keeps the config's contact (an empty cell erases nothing). A
    unit whose webhooks name their URL by ``url_env`` keeps them (the sheet's URL would put a token into
    the file), and the change line says so.
    """
    blocks = _unit_blocks(config_text)
    by_name: dict[str, tuple[int, int, dict]] = {}
    for start, end, table in blocks:
        for name in [table.get("name", ""), *table.get("aliases", [])]:
            if isinstance(name, str):
                by_name.setdefault(normalize_name(name), (start, end, table))
    new: list[UnitConfig] = []
    changes: list[str] = []
    edits: list[tuple[int, int, str]] = []
    for unit in units:
        found = next((by_name[n] for n in map(normalize_name, (unit.name, *unit.aliases)) if n in by_name), None)
        if found is None:
            new.append(unit)
            for name in (unit.name, *unit.aliases):
                by_name[normalize_name(name)] = (-1, -1, {})
            continue
        start, end, table = found
        if start < 0:
            continue  # two rows of the sheet for one unit: the first counts (read_units refuses true duplicates)
        block, changed = _update_contacts(config_text[start:end], table, unit)
        if changed:
            edits.append((start, end, block))
            changes += changed
    text = config_text
    for start, end, block in sorted(edits, reverse=True):
        text = text[:start] + block + text[end:]
    if new:
        text = text if text.endswith("\n") or not text else text + "\n"
        text += "\n" + units_to_toml(new)
    return text, [u.name for u in new], changes


_TABLE_HEADER = re.compile(r"^\s*\[", re.MULTILINE)


def _unit_blocks(text: str) -> list[tuple[int, int, dict]]:
    """Each ``[[units]]`` table of a config's text: (start, end) in the text, and its parsed keys."""
    blocks = []
    for match in re.finditer(r"^\s*\[\[units\]\]\s*(#.*)?$", text, re.MULTILINE):
        following = _TABLE_HEADER.search(text, match.end())
        end = following.start() if following else len(text)
        try:
            table = tomllib.loads(text[match.end():end])
        except tomllib.TOMLDecodeError:
            continue  # the whole text was checked to be TOML; a block alone may hold a multi-line string
        blocks.append((match.start(), end, table))
    return blocks


def _update_contacts(block: str, table: dict, unit: UnitConfig) -> tuple[str, list[str]]:
    """One ``[[units]]`` block with the sheet's contacts, and a line per change."""
    changes = []
    if unit.emails and list(unit.emails) != table.get("emails", []):
        before = "、".join(table.get("emails", [])) or "-"
        block = _set_key(block, "emails", _toml_list(unit.emails))
        changes.append(f"{table['name']}: emails {before} -> {'、'.join(unit.emails)}")
    hooks = [{"kind": h.kind, "url": h.url} for h in unit.webhooks]
    existing = table.get("webhooks", [])
    if hooks and [{"kind": h.get("kind"), "url": h.get("url")} for h in existing] != hooks:
        if any("url_env" in h for h in existing):
            changes.append(f"{table['name']}: webhooks kept (the config names their URLs by url_env; edit them "
                           "there)")
        else:
            kept = {(h.get("kind"), h.get("url")): h for h in existing}
            tables = [kept.get((h["kind"], h["url"]), h) for h in hooks]  # an unchanged hook keeps its keys
            block = _set_key(block, "webhooks", "[\n" + "".join(f"  {_inline_table(t)},\n" for t in tables) + "]")
            changes.append(f"{table['name']}: webhooks {len(existing)} -> {len(hooks)} "
                           f"({'、'.join(redact_url(h['url']) for h in hooks)})")
    return block, changes


def _inline_table(table: dict) -> str:
    return "{ " + ", ".join(f"{k} = {_toml_str(v) if isinstance(v, str) else json.dumps(v)}"
                            for k, v in table.items()) + " }"


def _set_key(block: str, key: str, value: str) -> str:
    """``block`` with ``key = value``: the key's old assignment (an array over several lines too) replaced
    in place, or the line added after the table's last key."""
    match = re.search(rf"^{key}\s*=\s*", block, re.MULTILINE)
    if match is None:
        body = block.rstrip("\n")
        return body + f"\n{key} = {value}\n" + block[len(body) + 1:]
    end = _value_end(block, match.end())
    return block[:match.start()] + f"{key} = {value}" + block[end:]


def _value_end(text: str, start: int) -> int:
    """Where a TOML value that starts at ``start`` ends: brackets balanced, strings skipped."""
    depth, quote, i = 0, "", start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char in "\n#" and depth == 0:
            return i
        i += 1
    return i


def add_to_config(path: Path, units: Sequence[UnitConfig]) -> tuple[list[str], list[str]]:
    """Add ``units`` to the config file at ``path`` (created if missing): new ones appended, the contacts of
    those it has updated (:func:`merge_units`). Returns (names added, one line per contact changed).

    The new text is checked to be TOML before anything is written, and written through a temporary file
    in the same folder that then replaces the config, so a crash or a full disk never leaves half a
    config. A config that is not TOML, or a folder that does not exist, is a ConfigError naming it.
    """
    if not path.parent.is_dir():
        raise ConfigError(f"folder {path.parent} does not exist; create it, or point --config (or "
                          f"$REMINDER_CONFIG) at the config file to add the units to")
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read config file {path} ({err}); fix it, then import the units again") from None
    try:
        merged, added, changes = merge_units(text, units)
        tomllib.loads(merged)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not valid TOML ({err}); fix it, then import the units again; "
                          "nothing was written") from None
    if merged != text or not path.exists():
        _replace_file(path, merged)
    return added, changes


def _replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it, keeping the file's permissions."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ConfigError(f"cannot write config file {path} ({err.strerror}); it was left as it was") from None
