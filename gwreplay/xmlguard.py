"""Screening of uploaded files before a parser sees them.

Uploads are untrusted. Before any XML parser reads a file we check that it is
not empty, not larger than a configured limit (before or after gunzipping), and
that it declares no DTD entities: LIGO-LW documents never need them, and
refusing them outright rules out entity-expansion bombs and external-entity
references whatever parser runs later.

Sky maps (FITS) get the same size checks plus a look at the table header
(:func:`screen_skymap`): a header that promises an absurd HEALPix resolution
or more data than the file holds is refused before a reader allocates for it.
"""

import gzip
import os
import re
import zlib

from .errors import EventInputError

#: Largest upload (bytes, after gunzip) that gwreplay will parse.
max_upload_bytes = 256 * 1024**2
#: Largest NSIDE of a flat (RING/NESTED) HEALPix sky map that gwreplay reads:
#: 12 * 8192**2 pixels is already 6 GB at 8 bytes a pixel.
skymap_max_nside = 2**13
#: Deepest HEALPix order of a multi-order (NUNIQ) map: the 64-bit limit.
skymap_max_order = 29

_CHUNK = 1 << 20
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE[^>\[]*\[|<!ENTITY", re.IGNORECASE)


def _open_maybe_gzip(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def screen_upload(event_id, path, *, limit=max_upload_bytes, xml=True):
    """Refuse an empty, oversized, truncated-gzip or entity-declaring file.

    Reads the file once in 1 MiB chunks, so memory stays bounded whatever the
    file holds. Raises :class:`EventInputError` naming ``event_id`` and the file.
    """
    name = os.path.basename(path)
    if not os.path.exists(path):
        raise EventInputError(event_id, name, "file is missing")
    if os.path.getsize(path) == 0:
        raise EventInputError(event_id, name, "file is empty")
    if os.path.getsize(path) > limit:
        raise EventInputError(
            event_id, name, f"file is larger than the {limit}-byte limit; refused"
        )
    total = 0
    tail = b""
    try:
        with _open_maybe_gzip(path) as f:
            while chunk := f.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise EventInputError(
                        event_id,
                        name,
                        f"decompressed size exceeds the {limit}-byte limit; refused",
                    )
                if xml and _DOCTYPE_RE.search(tail + chunk):
                    raise EventInputError(
                        event_id,
                        name,
                        "XML declares a DTD or entities (entity expansion and "
                        "external entities are refused)",
                    )
                tail = chunk[-64:]
    except (EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, EventInputError):
            raise
        raise EventInputError(event_id, name, f"truncated or corrupt: {exc}") from exc
    if total == 0:
        raise EventInputError(event_id, name, "file is empty after decompression")
    return total


def _column_repeat(tform):
    """Elements per cell of a FITS binary-table column (``1024E`` -> 1024)."""
    digits = ""
    for char in str(tform).strip():
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else 1


def _check_skymap_header(header, data_bytes, limit, max_nside, max_order):
    """The reason a sky-map table header is refused, or None when it is sane."""
    declared = int(header.get("NAXIS1", 0)) * int(header.get("NAXIS2", 0))
    declared += int(header.get("PCOUNT", 0))
    if declared > limit:
        return f"header declares {declared} bytes of data, above the {limit}-byte limit"
    if declared > data_bytes:
        return f"header declares {declared} bytes of data; the file holds {data_bytes}"
    ordering = str(header.get("ORDERING", "")).strip().upper()
    if ordering == "NUNIQ":
        order = header.get("MOCORDER")
        if order is not None and not 0 <= int(order) <= max_order:
            return f"MOCORDER {order} outside 0..{max_order}"
        return None
    if ordering not in ("NESTED", "RING"):
        return f"unknown HEALPix ORDERING {ordering!r}"
    nside = header.get("NSIDE")
    if not isinstance(nside, int) or nside < 1 or nside & (nside - 1):
        return f"NSIDE {nside!r} is not a power of two"
    if nside > max_nside:
        return f"NSIDE {nside} is above the limit {max_nside}"
    explicit = str(header.get("INDXSCHM", "IMPLICIT")).strip().upper() == "EXPLICIT"
    pixels = int(header.get("NAXIS2", 0)) * _column_repeat(header.get("TFORM1", ""))
    if not explicit and pixels != 12 * nside**2:
        return f"NSIDE {nside} needs {12 * nside**2} pixels; the table holds {pixels}"
    return None


def screen_skymap(
    event_id,
    path,
    *,
    limit=max_upload_bytes,
    max_nside=skymap_max_nside,
    max_order=skymap_max_order,
):
    """Refuse a sky map that is empty, oversized, truncated or absurd.

    The file gets :func:`screen_upload`'s size checks (as binary, not XML),
    then only the headers are parsed (astropy reads the table data lazily):
    the declared data must fit in ``limit`` and in the file, a flat map's
    ``NSIDE`` must be a power of two no larger than ``max_nside`` that
    matches its pixel count, and a multi-order map's ``MOCORDER`` must be
    at most ``max_order``. Raises :class:`EventInputError` naming
    ``event_id`` and the file.
    """
    from astropy.io import fits

    name = os.path.basename(path)
    data_bytes = screen_upload(event_id, path, limit=limit, xml=False)
    try:
        with fits.open(path, memmap=False, lazy_load_hdus=True) as hdus:
            if len(hdus) < 2:
                raise EventInputError(
                    event_id,
                    name,
                    "not a FITS sky map: no table after the "
                    "primary header (truncated?)",
                )
            header = hdus[1].header.copy()
    except EventInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure here is a bad upload
        raise EventInputError(
            event_id, name, f"not a FITS sky map: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        reason = _check_skymap_header(header, data_bytes, limit, max_nside, max_order)
    except (TypeError, ValueError) as exc:
        reason = f"malformed header: {exc}"
    if reason:
        raise EventInputError(event_id, name, f"refused sky map: {reason}")
