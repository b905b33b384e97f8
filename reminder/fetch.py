"""A published plan from its web address: one bounded HTTP GET, then the readers as for a file.

Offices publish plans as web pages (the table in the page) or as attachments (.docx, .xlsx, .pdf)
linked from one. ``fetch_url`` downloads exactly what the address names, within bounds that a slow,
huge or looping server cannot stretch: a total deadline (not a per-read timeout, which a server
trickling one byte at a time would renew forever), a size cap read in chunks, and a limit on
redirects. What the server says about the charset (``Content-Type: text/html; charset=gbk``) is
handed to the reader, which puts it before the page's own declaration, as browsers do.

Everything that goes wrong is an ``InputError`` naming the address and saying what to do.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from reminder.errors import InputError

TIMEOUT_SECONDS = 30.0           # the whole download, connection included
MAX_BYTES = 50 * 1024 * 1024     # a plan page or attachment is far smaller
MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
USER_AGENT = "reminder (plan reader)"


@dataclass(frozen=True)
class Fetched:
    """What the server sent: the body, the file name its address (or Content-Disposition) gives, and
    the charset it declared (None when it declared none)."""

    url: str
    data: bytes
    name: str
    charset: str | None


def fetch_url(url: str, timeout: float = TIMEOUT_SECONDS, max_bytes: int = MAX_BYTES,
              max_redirects: int = MAX_REDIRECTS) -> Fetched:
    """GET ``url`` within the bounds above; raise ``InputError`` for anything but a complete 200 answer."""
    import requests

    if not urlsplit(url).hostname:
        raise InputError("is not a complete web address (http://host/path)", url)
    deadline = time.monotonic() + timeout
    session = requests.Session()
    session.max_redirects = max_redirects
    session.headers["User-Agent"] = USER_AGENT
    try:
        with session.get(url, stream=True, timeout=(min(timeout, 10.0), min(timeout, 10.0))) as response:
            if response.status_code != 200:
                raise InputError(f"the server answered {response.status_code} {response.reason or ''}".rstrip()
                                 + "; check the address in a browser", url)
            data = _read_body(response, url, deadline, max_bytes)
            return Fetched(url=response.url, data=data, name=_file_name(response),
                           charset=_charset(response.headers.get("Content-Type", "")))
    except requests.TooManyRedirects:
        raise InputError(f"redirects more than {max_redirects} times; open it in a browser and use the "
                         "address it ends at", url) from None
    except requests.Timeout:
        raise InputError(f"did not answer within {timeout:g} s; try again later", url) from None
    except requests.RequestException as err:
        raise InputError(f"cannot be downloaded ({type(err).__name__}: {_short(err)})", url) from None
    finally:
        session.close()


def _read_body(response, url: str, deadline: float, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise InputError(f"is {int(declared) // 2**20} MB; plans larger than {max_bytes // 2**20} MB are "
                         "refused", url)
    chunks: list[bytes] = []
    size = 0
    for chunk in _chunks(response):
        size += len(chunk)
        if size > max_bytes:
            raise InputError(f"is larger than {max_bytes // 2**20} MB; plans larger than that are refused", url)
        if time.monotonic() > deadline:
            raise InputError("took too long to download; try again later, or save it and read the file",
                             url)
        chunks.append(chunk)
    return b"".join(chunks)


def _chunks(response):
    """The body as it arrives: ``read1`` returns what one read of the socket gives, so a server that
    trickles bytes cannot keep one call waiting past the read timeout, and the deadline is checked
    between reads."""
    raw = response.raw
    if not hasattr(raw, "read1"):  # urllib3 before 2.0
        yield from response.iter_content(CHUNK_BYTES)
        return
    while True:
        chunk = raw.read1(CHUNK_BYTES, decode_content=True)
        if not chunk:
            return
        yield chunk


def _file_name(response) -> str:
    """The attachment's file name: Content-Disposition's, else the address's last part (for .xls …)."""
    disposition = response.headers.get("Content-Disposition", "")
    found = re.search(r"filename\*=(?:UTF-8'')?([^;]+)|filename=\"?([^\";]+)", disposition, re.IGNORECASE)
    if found:
        return unquote((found.group(1) or found.group(2)).strip())
    return unquote(urlsplit(response.url).path.rsplit("/", 1)[-1])


def _charset(content_type: str) -> str | None:
    found = re.search(r"charset\s*=\s*\"?([\w.:-]+)", content_type, re.IGNORECASE)
    return found.group(1) if found else None


def _short(err: Exception) -> str:
    text = str(err)
    return text if len(text) <= 160 else text[:159] + "…"
