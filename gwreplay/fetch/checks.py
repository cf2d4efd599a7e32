"""Checks of downloaded uploads: XML, FITS and JSON screening; streaming to a file."""

import gzip
import logging
import os
import xml.etree.ElementTree
import zlib

import urllib3.exceptions

from ..atomic import atomic_path
from ..errors import EventInputError
from ..xmlguard import max_upload_bytes, screen_upload
from .client import retry_of

log = logging.getLogger(__name__)

#: How a response body fails after its headers arrived. urllib3 raises these
#: from ``raw.read``, after the client's Retry has handed over the response.
BODY_ERRORS = (
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    urllib3.exceptions.IncompleteRead,
)

#: Largest upload (bytes, after any HTTP decoding) gwreplay will download.
fetch_max_bytes = max_upload_bytes

_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_FITS_BLOCK = 2880


def _open_maybe_gzip(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else open(path, "rb")


def _screen(graceid, filename, path, limit, xml):
    """xmlguard's screening, with the upload's name (not the temp file's) in errors."""
    try:
        screen_upload(graceid, path, limit=limit, xml=xml)
    except EventInputError as exc:
        raise EventInputError(graceid, filename, exc.reason) from None


def check_xml(graceid, filename, path, *, limit=fetch_max_bytes):
    """Refuse an upload that is not a well-formed LIGO-LW document.

    Screening (empty, size, gzip, DTD/entities) comes first; then a streaming
    parse with defusedxml, which refuses entities and external references,
    checks that the XML is complete and that its root is ``LIGO_LW`` (an HTML
    error page served with status 200 is caught here).
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    _screen(graceid, filename, path, limit, xml=True)
    try:
        with _open_maybe_gzip(path) as f:
            root = None
            for event, element in iterparse(f, events=("start", "end")):
                if root is None:
                    root = element.tag
                if event == "end":
                    element.clear()
    except (xml.etree.ElementTree.ParseError, DefusedXmlException) as exc:
        raise EventInputError(graceid, filename, f"not well-formed XML: {exc}") from exc
    except (EOFError, OSError, zlib.error) as exc:
        raise EventInputError(
            graceid, filename, f"truncated or corrupt: {exc}"
        ) from exc
    if root != "LIGO_LW":
        raise EventInputError(
            graceid, filename, f"root element is {root!r}, not a LIGO_LW document"
        )


def check_fits(graceid, filename, path, *, limit=fetch_max_bytes):
    """Refuse an upload that is not a complete FITS file (plain or gzipped).

    A FITS file starts with the card ``SIMPLE  =  T`` and is a whole number
    of 2880-byte blocks (FITS Standard 4.0, sections 3.1 and 4.4.1.1), so a
    truncated download fails here; astropy then reads every HDU header.
    """
    from astropy.io import fits

    _screen(graceid, filename, path, limit, xml=False)
    with _open_maybe_gzip(path) as f:
        first = f.read(_FITS_BLOCK)
        size = len(first)
        while chunk := f.read(_CHUNK):
            size += len(chunk)
    if not (first.startswith(b"SIMPLE  =") and first[29:30] == b"T"):
        raise EventInputError(graceid, filename, "no FITS primary header (SIMPLE = T)")
    if size % _FITS_BLOCK:
        raise EventInputError(
            graceid,
            filename,
            f"truncated: {size} bytes is not a whole number of 2880-byte FITS blocks",
        )
    try:
        with fits.open(path) as hdus:
            for hdu in hdus:
                hdu.header  # noqa: B018 - reading every header is the check
    except (OSError, ValueError, fits.VerifyError) as exc:
        raise EventInputError(graceid, filename, f"unreadable FITS: {exc}") from exc


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def check_json(graceid, filename, path, *, limit=fetch_max_bytes):
    """Refuse an upload that is not one JSON object (a pipeline's p_astro.json).

    Screening (empty, size) first; then strict JSON (RFC 8259): UTF-8, and
    no ``NaN`` or ``Infinity``, which Python's json module would otherwise
    accept. What the object must hold is the store's concern
    (:mod:`gwreplay.store`), not the download's.
    """
    import json

    _screen(graceid, filename, path, limit, xml=False)
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise EventInputError(graceid, filename, f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EventInputError(graceid, filename, "not a JSON object")


def check_upload(graceid, filename, path, *, limit=fetch_max_bytes):
    """Check one downloaded upload according to its type (by file name)."""
    if filename.endswith((".xml", ".xml.gz")):
        check_xml(graceid, filename, path, limit=limit)
    elif filename.endswith((".fits", ".fits.gz")):
        check_fits(graceid, filename, path, limit=limit)
    elif filename.endswith(".json"):
        check_json(graceid, filename, path, limit=limit)
    else:
        _screen(graceid, filename, path, limit, xml=False)


def stream_to_file(graceid, filename, raw, path, limit, on_chunk=None):
    """Copy the response body to ``path``; return the number of bytes received.

    ``on_chunk(nbytes)`` is told of each piece as it arrives (progress).

    ligo-gracedb decodes ``Content-Encoding: gzip``, so a web server that
    labels ``*.gz`` files that way hands us the uncompressed bytes; those are
    gzipped again (mtime 0, reproducibly) so that the file matches its name.
    """
    chunk = raw.read(_CHUNK)
    regzip = filename.endswith(".gz") and chunk and not chunk.startswith(_GZIP_MAGIC)
    total = 0
    with open(path, "wb") as f:
        out = gzip.GzipFile(fileobj=f, mode="wb", filename="", mtime=0) if regzip else f
        while chunk:
            total += len(chunk)
            if on_chunk is not None:
                on_chunk(len(chunk))
            if total > limit:
                raise EventInputError(
                    graceid,
                    filename,
                    f"download exceeds the {limit}-byte limit; refused",
                )
            out.write(chunk)
            chunk = raw.read(_CHUNK)
        if regzip:
            out.close()
        f.flush()
        os.fsync(f.fileno())
    if total == 0:
        raise EventInputError(graceid, filename, "the server sent an empty file")
    return total


def download(client, graceid, filename, dest, *, limit, on_chunk=None):
    """Stream one upload to a temp file beside ``dest``, check it, rename it.

    Returns the number of bytes received. A body broken off half-way
    (truncated, reset, stalled past the timeout) is asked for again under
    the client's own urllib3 ``Retry`` (its count and back-off), which
    covers the request and its headers but not the body read afterwards.
    """
    retry = retry_of(client)
    while True:
        raw = client.files(graceid, filename)
        try:
            with atomic_path(dest) as tmp:
                size = stream_to_file(graceid, filename, raw, tmp, limit, on_chunk)
                check_upload(graceid, filename, tmp, limit=limit)
            return size
        except BODY_ERRORS as exc:
            retry = _next_attempt(retry, graceid, filename, exc)
        finally:
            raw.close()


def _next_attempt(retry, graceid, filename, exc):
    """Count one broken body against ``retry``; sleep its back-off; return it."""
    read_errors = (
        urllib3.exceptions.ProtocolError,
        urllib3.exceptions.ReadTimeoutError,
    )
    error = (
        exc if isinstance(exc, read_errors) else urllib3.exceptions.ProtocolError(exc)
    )
    try:
        retry = retry.increment(method="GET", url=filename, error=error)
    except (urllib3.exceptions.MaxRetryError, *BODY_ERRORS) as final:
        reason = f"download broken off and the client's retries exhausted: {exc}"
        raise EventInputError(graceid, filename, reason) from final
    log.warning(
        "%s: %s: download broken off (%s); asking again", graceid, filename, exc
    )
    retry.sleep()
    return retry
