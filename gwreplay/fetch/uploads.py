"""What to fetch for an event: its uploads and when each reached GraceDB."""

from ..errors import EventInputError
from ..products import EVENT_UPLOADS as EVENT_FILES
from ..products import MULTIORDER_UPLOADS, P_ASTRO_UPLOADS, is_cbc_event
from ..store import normalise_time

#: Optional uploads each pipeline (lower case) makes, beyond those its log lists.
PIPELINE_UPLOADS = {
    "gstlal": ("psd.xml.gz", "ranking_data.xml.gz"),
    "pycbc": ("psd.xml.gz",),
    "mbtaonline": ("psd.xml.gz",),
    "mbta": ("psd.xml.gz",),
    "spiir": ("psd.xml.gz",),
    "cwb": ("skyprobcc_cWB.fits",),
    "olib": ("LIB.fits.gz",),
}

#: The O4 uploads, fetched only when the event's log lists them (issue 14):
#: the pipelines' own p_astro and multi-order sky maps, store uploads like
#: the others (gwreplay.products). ``bayestar.multiorder.fits`` is not among
#: them on purpose: it is what the replay computes.
O4_UPLOADS = P_ASTRO_UPLOADS + MULTIORDER_UPLOADS

#: Every upload name gwreplay fetch knows, in the order event.json lists them.
#: Names from the server are only compared against this list, never used as
#: paths themselves.
FETCHED_FILES = EVENT_FILES


def upload_times(graceid, log_entries):
    """When each replay-relevant upload reached GraceDB, from the event's log.

    Every file upload is a log entry with ``filename``, ``file_version`` and
    ``created`` (GraceDB's "YYYY-MM-DD HH:MM:SS UTC"). ``GET files/<name>``
    serves the newest version, so the time kept is that of the entry with the
    highest version. Returns ``{filename: GPS seconds}`` for names in
    :data:`FETCHED_FILES` only.
    """
    newest = {}
    for entry in log_entries:
        if not isinstance(entry, dict) or entry.get("filename") not in FETCHED_FILES:
            continue
        version = entry.get("file_version")
        version = version if isinstance(version, int) else -1
        try:
            created = normalise_time(entry["created"])
        except (KeyError, TypeError, ValueError) as exc:
            raise EventInputError(
                graceid,
                "log",
                f"log entry for {entry['filename']} has no usable time: {exc}",
            ) from exc
        key = (version, created)
        if entry["filename"] not in newest or key > newest[entry["filename"]][0]:
            newest[entry["filename"]] = (key, created)
    return {name: created for name, (_, created) in newest.items()}


def required_uploads(event):
    """Uploads without which the event cannot be replayed: coinc.xml for CBC."""
    return ("coinc.xml",) if is_cbc_event(_group_pipeline(event)) else ()


def wanted_uploads(event, logged_names):
    """Uploads to try, in store order: required, the pipeline's usual, logged.

    The O4 uploads (:data:`O4_UPLOADS`) are never guessed: only a log entry
    makes them wanted.
    """
    pipeline = str(event.get("pipeline", "")).lower()
    names = set(required_uploads(event)) | set(logged_names)
    names |= set(PIPELINE_UPLOADS.get(pipeline, ()))
    if not is_cbc_event(_group_pipeline(event)):
        names.discard("psd.xml.gz")
        names.discard("ranking_data.xml.gz")
    return [name for name in FETCHED_FILES if name in names]


def _group_pipeline(event):
    return {"group": event.get("group"), "pipeline": event.get("pipeline")}
