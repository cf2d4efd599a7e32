"""Screening of uploaded files before a parser sees them.

Uploads are untrusted. Before any XML parser reads a file we check that it is
not empty, not larger than a configured limit (before or after gunzipping), and
that it declares no DTD entities: LIGO-LW documents never need them, and
refusing them outright rules out entity-expansion bombs and external-entity
references whatever parser runs later.
"""

import gzip
import os
import re
import zlib

from .errors import EventInputError

#: Largest upload (bytes, after gunzip) that gwreplay will parse.
max_upload_bytes = 256 * 1024**2

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
