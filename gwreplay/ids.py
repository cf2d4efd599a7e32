"""Validation of GraceDB event and superevent IDs before they become paths.

IDs come from files and servers we do not control; an ID such as ``../x`` or
``a/b`` must never reach ``os.path.join``. GraceDB's own IDs are short
alphanumeric strings (``G211117``, ``M12345``, ``S190425z``, ``MS220722v``,
``TS230101abc``), so we accept exactly that shape.
"""

import re

from .errors import InvalidIdError

#: G-events: optional category prefix letters then digits (G, M, T, H, E...).
GRACEID_PATTERN = r"[A-Z]{1,2}[0-9]{1,12}"
#: Superevents: S, MS or TS, six-digit UTC date, lower-case letter suffix.
SUPEREVENT_ID_PATTERN = r"[MT]?S[0-9]{6}[a-z]{1,4}"

_GRACEID_RE = re.compile(rf"\A{GRACEID_PATTERN}\Z")
_SUPEREVENT_ID_RE = re.compile(rf"\A{SUPEREVENT_ID_PATTERN}\Z")


def validate_graceid(graceid):
    """Return ``graceid`` if it is a plain GraceDB event ID; else raise."""
    if not isinstance(graceid, str) or not _GRACEID_RE.match(graceid):
        raise InvalidIdError(f"refusing event ID {graceid!r}: not a GraceDB event ID")
    return graceid


def validate_superevent_id(superevent_id):
    """Return ``superevent_id`` if it is a plain GraceDB superevent ID, else raise."""
    if not isinstance(superevent_id, str) or not _SUPEREVENT_ID_RE.match(superevent_id):
        raise InvalidIdError(
            f"refusing superevent ID {superevent_id!r}: not a GraceDB superevent ID"
        )
    return superevent_id
