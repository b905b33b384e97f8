"""File -> grid of rows: the first step of the flow, and the only one that knows file formats.

``read_document(path)`` detects the format from the file's content (magic bytes first, the extension
only where the content cannot tell), hands the bytes to one reader and returns a ``Document``:

=========================  ==========================================================
content                    reader
=========================  ==========================================================
zip with word/document.xml ``docx.read_docx``
zip with xl/workbook.xml   ``xlsx.read_xlsx``
OLE2, RTF, ODF, or a name  LibreOffice converts it to .docx / .xlsx first (``soffice``
ending .doc .wps .et …     on PATH), then as above
HTML                       ``html.read_html``
anything else              ``decode_text`` here, then ``text.read_text_rows``
=========================  ==========================================================

Every reader returns rows in reading order, merged cells already resolved (each grid position a
merged cell covers holds its text), fully empty rows left out. Deciding which rows are the plan is
the ingest's job, not ours. Anything that cannot be read raises ``InputError`` naming the file and
saying what to do about it.

The readers import python-docx / openpyxl inside the function that needs them, so importing this
package (and ``reminder --help``) stays fast.
"""

from __future__ import annotations

import io
import os
import re
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from reminder.errors import InputError

SUPPORTED = (".txt, .docx, .xlsx, .xls, .html, .pdf with a text layer, or a web address "
             "(and .doc, .wps, .et through LibreOffice)")

# Limits against zip bombs and runaway inputs. A real plan is a few hundred kilobytes; the largest
# Office file an office might send (a ledger with images) stays far below these.
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_FLOOR = 1024 * 1024  # tiny members compress absurdly well (a blank styles.xml); only check big ones
MAX_ZIP_MEMBERS = 10_000

# Limits on what a document may make us build. A plan of 2,000 tasks in 12 columns is 24,000 cells; a
# crafted file (one merged range over a whole sheet, colspan="1000" rowspan="1000", a 190 MB document
# part) asks for gigabytes. Each is checked before the structure is built.
MAX_GRID_CELLS = 500_000   # rows x columns of one table or sheet
MAX_SPAN_CELLS = 50_000    # positions one merged cell may cover
MAX_XML_PART_BYTES = 32 * 1024 * 1024  # an Office part that is parsed into a tree (document.xml, a sheet)

LIBREOFFICE_TIMEOUT_SECONDS = 180

# Extensions whose files LibreOffice must convert, and what it converts them to.
LEGACY_EXTENSIONS = {
    ".doc": "docx", ".dot": "docx", ".wps": "docx", ".wpt": "docx", ".rtf": "docx", ".odt": "docx",
    ".xls": "xlsx", ".xlt": "xlsx", ".et": "xlsx", ".ett": "xlsx", ".ods": "xlsx",
}
SPREADSHEET_EXTENSIONS = {".xlsx", ".xlsm", ".xltx", ".xltm"}

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# Formats we recognise only to refuse them with a useful message.
UNSUPPORTED_MAGICS = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"\x1f\x8b": "a gzip archive",
}

def check_grid(rows: int, columns: int, path: str, where: str) -> None:
    """Refuse a table whose grid would exceed ``MAX_GRID_CELLS``, before it is built."""
    if rows * columns > MAX_GRID_CELLS:
        raise InputError(f"{where} spans {rows} rows by {columns} columns, more than the {MAX_GRID_CELLS:,} "
                         "cells a plan table may have; remove the stray cells or merges far outside the table "
                         "and save it again", path)


def check_span(rows: int, columns: int, path: str, where: str) -> None:
    """Refuse one merged cell covering more than ``MAX_SPAN_CELLS`` positions, before it is resolved."""
    if rows * columns > MAX_SPAN_CELLS:
        raise InputError(f"{where} has a merged cell of {rows} rows by {columns} columns, more than the "
                         f"{MAX_SPAN_CELLS:,} positions a merged cell may cover; unmerge it and save it again",
                         path)


_HTML_START = re.compile(  # optional XML declaration and comments, then the first tag of a page
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>]|meta\s)", re.IGNORECASE | re.DOTALL)
_HTML_TABLE = re.compile(rb"<table[\s>].*?<t[dh][\s>]", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Row:
    """One row of the grid: a table row, or a paragraph outside tables as a one-cell row."""

    cells: tuple[str, ...]  # cell texts; paragraphs inside one cell joined with "\n"; outer whitespace stripped
    line: int  # 1-based: the line in a text or HTML file, the row in a sheet, the block index in a .docx
    # The first row of a table that goes on from the previous page (PDF): it may be the rest of the row
    # above, broken by the page. Whether it is (no number of its own …) is the ingest's call.
    continued: bool = False


@dataclass(frozen=True)
class Document:
    """What a reader saw in one file, in reading order."""

    path: str
    format: str  # "text" | "docx" | "xlsx" | "html"
    rows: tuple[Row, ...]


def read_source(source: str) -> Document:
    """Read a plan from a file path or from the web address of a published page (http:// or https://)."""
    if is_url(source):
        from reminder.fetch import fetch_url

        fetched = fetch_url(source)
        return read_bytes(fetched.data, source, name=fetched.name, charset=fetched.charset)
    return read_document(source)


def is_url(source: str) -> bool:
    return bool(re.match(r"(?i)https?://", source))


def read_bytes(data: bytes, source: str, name: str | None = None, charset: str | None = None) -> Document:
    """Read a document held in memory; ``source`` names it in messages, ``name`` (a file name) hints at
    its format where the content cannot tell, ``charset`` is what the server declared for it."""
    if not data.strip():
        raise InputError("is empty; export the plan again", source)
    fmt, data = _resolve_format(data, name or source, source)
    return Document(path=source, format=fmt, rows=_READERS[fmt](data, source, charset))


def read_document(path: str | os.PathLike[str]) -> Document:
    """Read ``path`` into a ``Document``, whatever its format; raise ``InputError`` if it cannot be read."""
    name = str(path)
    data = _read_file(name)
    fmt, data = _resolve_format(data, name, name)
    return Document(path=name, format=fmt, rows=_READERS[fmt](data, name, None))


def _read_file(path: str) -> bytes:
    """Read the whole file, refusing empty and oversized ones before any parser sees them."""
    if "\0" in path:
        raise InputError("is not a usable file name (it holds a NUL character); check the path", 
                         path.replace("\0", "\\0"))
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise InputError(f"is {size // 2**20} MB; plan documents larger than "
                             f"{MAX_FILE_BYTES // 2**20} MB are refused", path)
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise InputError("is a directory, not a plan document", path) from None
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except (OSError, ValueError) as err:
        raise InputError(f"cannot be read ({getattr(err, 'strerror', None) or err})", path) from None
    if not data.strip():
        raise InputError("is empty; export the plan again", path)
    return data


def _resolve_format(data: bytes, name: str, path: str) -> tuple[str, bytes]:
    """Decide the reader from the content; convert legacy formats. Returns (format, bytes for the reader).

    ``name`` is the file name (a URL's last part) whose extension breaks ties; ``path`` names the
    document in messages.
    """
    ext = Path(name.split("?")[0]).suffix.lower()
    if data.startswith(ZIP_MAGICS):
        return _zip_format(data, path)
    if data.startswith(OLE2_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:  # a password-protected .docx / .xlsx
            raise InputError("is protected by a password; open it, remove the password (文件 > 信息 > 保护) "
                             "and save it again", path)
        target = LEGACY_EXTENSIONS.get(ext) or _ole2_target(data)
        if target == "xlsx" and _ole2_target(data) == "xlsx":
            return "xls", data  # legacy Excel: read directly, no LibreOffice needed
        return target, convert_with_libreoffice(data, path, target, ext)
    if data.startswith(b"{\\rtf"):
        return "docx", convert_with_libreoffice(data, path, "docx", ext)
    if data.lstrip()[:5] == b"%PDF-" or data.startswith(b"%PDF"):
        return "pdf", data
    for magic, what in UNSUPPORTED_MAGICS.items():
        if data.startswith(magic):
            raise InputError(f"is {what}, which cannot be read; supported formats are {SUPPORTED}", path)
    if looks_like_html(data):
        return "html", data
    if ext in LEGACY_EXTENSIONS:
        return LEGACY_EXTENSIONS[ext], convert_with_libreoffice(data, path, LEGACY_EXTENSIONS[ext], ext)
    if ext in {".docx", ".docm", ".dotx"} | SPREADSHEET_EXTENSIONS:
        kind, app = _office_kind(path)
        raise InputError(f"is not a valid {kind} (it is not a zip archive, so the name does not match the "
                         f"content); re-save it from {app}", path)
    if ext == ".pdf":
        raise InputError("is not a valid PDF (it does not start with %PDF); download or export it again", path)
    return "text", data


def looks_like_html(data: bytes) -> bool:
    """True for a web page or an HTML fragment with a table (as saved from a browser or an "Excel" export)."""
    head = data[:65536]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    head = head.removeprefix(b"\xef\xbb\xbf")
    return bool(_HTML_START.match(head) or _HTML_TABLE.search(head))


def _ole2_target(data: bytes) -> str:
    """An OLE2 file without a telling extension: a workbook stream means a spreadsheet, else a Word file."""
    workbook = "Workbook".encode("utf-16-le") in data or "Book\0".encode("utf-16-le") in data
    word = "WordDocument".encode("utf-16-le") in data
    return "xlsx" if workbook and not word else "docx"


def _office_kind(path: str) -> tuple[str, str]:
    """The format a broken zip was meant to be, from its name, for the error message."""
    if Path(path).suffix.lower() in SPREADSHEET_EXTENSIONS:
        return ".xlsx", "Excel (or WPS)"
    return ".docx", "Word (or WPS)"


def _zip_format(data: bytes, path: str) -> tuple[str, bytes]:
    """Tell .docx from .xlsx (and ODF, OFD) by the members the archive holds."""
    names = set(check_zip(data, path).namelist())
    if "word/document.xml" in names:
        return "docx", data
    if "xl/workbook.xml" in names:
        return "xlsx", data
    if "content.xml" in names and "mimetype" in names:  # OpenDocument (.odt / .ods from WPS or LibreOffice)
        target = "xlsx" if b"opendocument.spreadsheet" in data[:200] else "docx"
        return target, convert_with_libreoffice(data, path, target, ".ods" if target == "xlsx" else ".odt")
    if "OFD.xml" in names:
        raise InputError(f"is an OFD document, which cannot be read; open it in an OFD reader and export "
                         f"the plan as .docx, or use one of {SUPPORTED}", path)
    kind, app = _office_kind(path)
    if Path(path).suffix.lower() in {".docx", ".xlsx"}:
        raise InputError(f"is not a valid {kind} (the zip archive lacks its main part); re-save it from {app}",
                         path)
    raise InputError(f"is a zip archive, not a plan document; unpack it, or use one of {SUPPORTED}", path)


def check_zip(data: bytes, path: str) -> zipfile.ZipFile:
    """Open a zip after checking its declared sizes, so a zip bomb is refused before anything inflates it."""
    kind, app = _office_kind(path)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except NotImplementedError as err:  # "zip file version 6.3", an unsupported feature
        raise InputError(f"is not a valid {kind} (its zip archive uses a feature Word and Excel do not: "
                         f"{err}); re-save it from {app}", path) from None
    except (zipfile.BadZipFile, EOFError, ValueError) as err:
        raise InputError(f"is not a valid {kind} (the zip archive is truncated or corrupt: {err}); "
                         f"re-save it from {app}", path) from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise InputError(f"holds {len(infos)} files inside its zip archive (at most {MAX_ZIP_MEMBERS} are "
                         f"accepted); it is not a plain {kind}, re-save it from {app}", path)
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise InputError(f"would unpack to {total // 2**20} MB (more than {MAX_UNCOMPRESSED_BYTES // 2**20} MB); "
                         f"refusing it as a possible zip bomb — re-save the plan from {app} without "
                         f"embedded media", path)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_CHECK_FLOOR and ratio > MAX_COMPRESSION_RATIO:
            raise InputError(f"has a member ({info.filename}) compressed {ratio:.0f} to 1 (more than "
                             f"{MAX_COMPRESSION_RATIO} to 1); refusing it as a possible zip bomb — re-save "
                             f"it from {app}", path)
    for info in infos:
        if info.filename.endswith((".xml", ".rels")) and info.file_size > MAX_XML_PART_BYTES:
            raise InputError(f"has a part ({info.filename}) that unpacks to {info.file_size // 2**20} MB, more "
                             f"than the {MAX_XML_PART_BYTES // 2**20} MB a document part may have; re-save it "
                             f"from {app}", path)
        if info.flag_bits & 0x41:  # traditional or strong encryption of a member
            raise InputError(f"is not a valid {kind} (a member of its zip archive, {info.filename}, is "
                             f"encrypted); remove the password and re-save it from {app}", path)
        _check_member_size(data, info, path, kind, app)
    return archive


_INFLATE_IN = 64 * 1024     # compressed bytes fed to zlib at a time
_INFLATE_OUT = 1024 * 1024  # most bytes zlib may produce per call: memory stays bounded whatever the input


def _check_member_size(data: bytes, info: zipfile.ZipInfo, path: str, kind: str, app: str) -> None:
    """Refuse a member that unpacks to more than its declared size.

    The checks above trust the sizes the archive declares, and a crafted zip can understate them:
    zipfile (and so python-docx and openpyxl) then inflates the whole stream in one call before
    cutting it to the declared size, so a 200 MB file could demand hundreds of gigabytes. Inflating
    here in bounded steps, and stopping one step past the declared size, makes the declared sizes
    true, so the limits above hold for what the readers will really unpack.
    """
    if info.compress_type == zipfile.ZIP_STORED:
        return  # read as is, never more than its compressed size
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise InputError(f"has a member ({info.filename}) packed with a compression method Word and Excel do "
                         f"not use; re-save it from {app}", path)
    try:
        if data[info.header_offset:info.header_offset + 4] != b"PK\x03\x04":
            raise zlib.error("no local header where the directory says")
        name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
        start = info.header_offset + 30 + name_length + extra_length
        stream = memoryview(data)[start:start + info.compress_size]
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        produced = 0
        for offset in range(0, len(stream), _INFLATE_IN):
            pending: bytes | memoryview = stream[offset:offset + _INFLATE_IN]
            while pending and produced <= info.file_size:
                produced += len(inflater.decompress(pending, _INFLATE_OUT))
                pending = inflater.unconsumed_tail
            if inflater.eof or produced > info.file_size:
                break
        while not inflater.eof and produced <= info.file_size:  # output zlib still holds
            chunk = inflater.decompress(b"", _INFLATE_OUT)
            if not chunk:
                break
            produced += len(chunk)
    except (zlib.error, struct.error) as err:
        raise InputError(f"is not a valid {kind} (the zip archive is truncated or corrupt: {err}); "
                         f"re-save it from {app}", path) from None
    if produced > info.file_size:
        raise InputError(f"has a member ({info.filename}) that unpacks to more than the {info.file_size} bytes "
                         f"it declares; refusing it as a possible zip bomb — re-save it from {app}", path)


def convert_with_libreoffice(data: bytes, path: str, target: str, ext: str = "") -> bytes:
    """Convert a legacy document (.doc, .wps, .xls, .et, RTF, ODF) to ``target`` with LibreOffice headless.

    The input is copied into a private temporary directory with a private LibreOffice profile, so a
    LibreOffice the operator has open (or another conversion running) does not block this one.
    """
    import shutil
    import subprocess
    import tempfile

    exe = shutil.which("soffice") or shutil.which("libreoffice")
    app = "Excel or WPS" if target == "xlsx" else "Word or WPS"
    if exe is None:
        raise InputError(f"is a legacy document that needs LibreOffice to read; install LibreOffice (so that "
                         f"'soffice' is on PATH), or open it in {app} and save it as .{target}", path)
    with tempfile.TemporaryDirectory(prefix="reminder-convert-") as tmp:
        ext = ext or Path(path).suffix.lower() or (".xls" if target == "xlsx" else ".doc")
        source = Path(tmp, "input" + ext)
        source.write_bytes(data)
        outdir = Path(tmp, "out")
        command = [exe, f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}", "--headless", "--norestore",
                   "--convert-to", target, "--outdir", str(outdir), str(source)]
        try:
            done = subprocess.run(command, capture_output=True, timeout=LIBREOFFICE_TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise InputError(f"LibreOffice did not finish converting it within {LIBREOFFICE_TIMEOUT_SECONDS} s; "
                             f"open it in {app} and save it as .{target}", path) from None
        result = outdir / f"input.{target}"
        if not result.is_file():
            detail = (done.stderr or done.stdout).decode("utf-8", errors="replace").strip()[-300:]
            raise InputError(f"LibreOffice could not convert it to .{target} ({detail or 'no output'}); "
                             f"open it in {app} and save it as .{target}", path)
        return result.read_bytes()


# ---- text decoding -------------------------------------------------------------------------------

_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# A text with more bad characters (undecodable, control, private-use, unassigned) than this share, and
# more than MIN_BAD_CHARS of them, is a binary file. Random bytes decode as GB18030 more often than not,
# but then a tenth of the characters land in the private-use area no real Chinese text uses.
MAX_BAD_CHAR_SHARE = 0.02
MIN_BAD_CHARS = 16


def decode_text(data: bytes, path: str, charset: str | None = None) -> str:
    """Decode a text document: BOM first, then the charset a server declared, then UTF-16 by its NUL
    pattern, then UTF-8, then GB18030.

    GB18030 is a superset of GBK and GB2312, the encodings of Chinese Windows. Binary content (NUL
    bytes that are not UTF-16, or mostly undecodable bytes) is refused rather than turned into noise.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _checked(data[len(bom):].decode(codec, errors="replace"), path)
    declared = codec_for(charset) if charset else None
    if declared:
        try:
            return _checked(data.decode(declared), path)
        except UnicodeDecodeError:
            pass  # the server's word was wrong; guess as for a file
    if b"\0" in data:
        return _checked(_decode_utf16_by_nuls(data, path), path)
    try:
        return _checked(data.decode("utf-8"), path)
    except UnicodeDecodeError:
        pass
    try:
        return _checked(data.decode("gb18030"), path)
    except UnicodeDecodeError:
        # A few broken bytes (a file cut mid-character, one stray byte) should not cost the whole plan.
        candidates = [data.decode(codec, errors="replace") for codec in ("utf-8", "gb18030")]
        return _checked(min(candidates, key=_bad_chars), path)


def _decode_utf16_by_nuls(data: bytes, path: str) -> str:
    """UTF-16 without a BOM: ASCII characters put NULs at odd offsets (LE) or even ones (BE).

    Chinese characters put NULs on the other side (一 is U+4E00), so the NUL pattern only breaks ties:
    both byte orders are decoded and the one with fewer impossible characters wins, if plausible.
    Random binary rarely survives: it almost always holds an unpaired surrogate.
    """
    sample = data[:65536]
    little_first = sample[1::2].count(0) >= sample[0::2].count(0)
    texts = []
    for codec in ("utf-16-le", "utf-16-be") if little_first else ("utf-16-be", "utf-16-le"):
        try:
            texts.append(data[: len(data) // 2 * 2].decode(codec))  # a file cut mid-character loses it
        except UnicodeDecodeError:
            continue
    best = min(texts, key=_bad_chars, default=None)  # min keeps the first of equals: the NUL pattern's pick
    if best is not None and _plausible(best):
        return best
    raise InputError(f"is not a text document (it holds NUL bytes and is not UTF-16); supported formats "
                     f"are {SUPPORTED}", path)


def _checked(text: str, path: str) -> str:
    """Refuse decoded text that is empty or mostly replacement / control characters (a binary file)."""
    if not text.replace("\ufeff", "").strip():
        raise InputError("is empty; export the plan again", path)
    if not _plausible(text):
        raise InputError(f"is not a text document (most of it cannot be decoded as UTF-8, UTF-16 or GBK); "
                         f"supported formats are {SUPPORTED}", path)
    return text


_GB_ALIASES = {"gb2312", "gbk", "x-gbk", "cp936", "gb_2312-80", "chinese", "csgb2312", "euc-cn"}


def codec_for(name: str) -> str | None:
    """A Python codec for a declared charset; GB2312/GBK widen to GB18030, which contains them.
    UTF-16/32 are left to the byte-order mark (a page that declares them in ASCII is not one)."""
    import codecs

    name = name.strip().strip("\"'").lower()
    if name in _GB_ALIASES:
        return "gb18030"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return None if codec.startswith(("utf-16", "utf-32")) else codec


def _plausible(text: str) -> bool:
    return _bad_chars(text) <= max(MIN_BAD_CHARS, MAX_BAD_CHAR_SHARE * len(text))


def _bad_chars(text: str) -> int:
    """How many characters no real document holds: replacement, control (but whitespace), private-use, unassigned."""
    return sum(1 for char in text if char == "\ufffd" or (char not in "\t\n\r\f\v\x1a" and
                                                           unicodedata.category(char) in {"Cc", "Co", "Cn"}))


# ---- dispatch ------------------------------------------------------------------------------------
# Each reader takes (bytes, the name for messages, the charset a web server declared or None).

def _read_text(data: bytes, path: str, charset: str | None) -> tuple[Row, ...]:
    from reminder.readers.text import read_text_rows

    return read_text_rows(decode_text(data, path, charset), path)


def _read_docx(data: bytes, path: str, charset: str | None) -> tuple[Row, ...]:
    from reminder.readers.docx import read_docx

    return read_docx(data, path)


def _read_xlsx(data: bytes, path: str, charset: str | None) -> tuple[Row, ...]:
    from reminder.readers.xlsx import read_xlsx

    return read_xlsx(data, path)


def _read_xls(data: bytes, path: str, charset: str | None) -> tuple[Row, ...]:
    """Legacy Excel (and WPS .et) read directly; what the reader cannot follow goes through LibreOffice."""
    import shutil

    from reminder.readers.xls import XlsFormatError, read_xls

    try:
        return read_xls(data, path)
    except XlsFormatError as err:
        if not (shutil.which("soffice") or shutil.which("libreoffice")):
            raise InputError(f"is a legacy Excel file that cannot be read directly ({err}); open it in Excel "
                             "or WPS and save it as .xlsx, or install LibreOffice", path) from None
        return _read_xlsx(convert_with_libreoffice(data, path, "xlsx", ".xls"), path, charset)


def _read_html(data: bytes, path: str, charset: str | None) -> tuple[Row, ...]:
    from reminder.readers.html import read_html

    return read_html(data, path, charset)


def _read_pdf(data: bytes, path: str, charset: str | None) -> tuple[Row, ...]:
    from reminder.readers.pdf import read_pdf

    return read_pdf(data, path)


_READERS = {"text": _read_text, "docx": _read_docx, "xlsx": _read_xlsx, "xls": _read_xls, "html": _read_html,
            "pdf": _read_pdf}
