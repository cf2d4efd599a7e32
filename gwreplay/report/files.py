"""The files of a superevent folder that the report page links.

A superevent's folder (``RESULTS/superevents/<SID>/``) holds its records
(``superevent.json``, ``dq.json``, ``alert.json``), its notices, named as
GraceDB names them (``<SID>-<N>-<Type>.json|.xml|.avro``, gwcelery's
``{superevent_id}-{count}-{alert_type}`` file names), its GCN Circular
drafts (``circular.txt``, gwcelery's ``<alert_type>-circular.txt``), the sky
map and its plots (gwcelery's ``bayestar.png`` beside ``bayestar.fits.gz``,
volume renderings such as ``bayestar.volume.png``). Everything is found by
pattern, so a notice, circular or plot added by a later policy appears on
the page without a change here.
"""

import os
import re
from dataclasses import dataclass, field

from ..products import SKYMAP_STEMS

#: GraceDB's notice types (gwcelery 3.0.0 ``alert_type``), in the order of a
#: superevent's life.
NOTICE_TYPES = ("EarlyWarning", "Preliminary", "Initial", "Update", "Retraction")
#: File formats of a notice: IGWN alert JSON, VOEvent XML, IGWN alert Avro.
NOTICE_FORMATS = ("json", "xml", "avro")
#: Records the workflow writes for every superevent.
RECORD_NAMES = ("superevent.json", "dq.json", "alert.json")
#: Sky-map file name endings (multi-order and flat FITS).
SKYMAP_SUFFIXES = (".fits", ".fits.gz", ".multiorder.fits")

_NOTICE = re.compile(
    r"^(?P<sid>.+)-(?P<number>[0-9]+)-(?P<type>{})\.(?P<format>{})$".format(
        "|".join(NOTICE_TYPES), "|".join(NOTICE_FORMATS)
    )
)


@dataclass
class Notice:
    """One notice of a superevent: its number, type and files by format."""

    number: int
    type: str
    files: dict = field(default_factory=dict)  # format -> file name


@dataclass
class SupereventFiles:
    """The linked files of one superevent folder (names relative to it)."""

    superevent_id: str
    notices: list = field(default_factory=list)
    circulars: list = field(default_factory=list)
    skymaps: list = field(default_factory=list)
    skymap_plots: list = field(default_factory=list)
    volume_plots: list = field(default_factory=list)
    other_plots: list = field(default_factory=list)
    records: list = field(default_factory=list)
    #: Anything else (p_astro.json, em_bright.json, ...): linked too.
    other_files: list = field(default_factory=list)


def _stem(name):
    """``bayestar`` of ``bayestar.multiorder.fits``, ``bayestar.png``, ..."""
    return name.split(".", 1)[0]


def _sort_plot(found, name):
    """Put a PNG among the volume, sky-map or other plots of ``found``.

    A volume rendering (``ligo-skymap-plot-volume``) carries "volume" in its
    name, as gwcelery's ``bayestar.volume.png``; an all-sky plot shares the
    stem of a sky map beside it (gwcelery's ``bayestar.png``) or of a sky
    map the workflow knows (O4's per-notice ``bayestar-2.png``:
    :data:`gwreplay.products.SKYMAP_STEMS`); anything else (bar charts of
    p_astro or em_bright) is an other plot.
    """
    stem = _stem(re.sub(r"-[0-9]+\.png$", ".png", name))
    if "volume" in name.lower():
        found.volume_plots.append(name)
    elif stem in {_stem(skymap) for skymap in found.skymaps} | set(SKYMAP_STEMS):
        found.skymap_plots.append(name)
    else:
        found.other_plots.append(name)


def notices_of(superevent_id, names):
    """The notices among ``names``, sorted by number then type order."""
    notices = {}
    for name in names:
        match = _NOTICE.match(name)
        if match is None or match["sid"] != superevent_id:
            continue
        key = (int(match["number"]), match["type"])
        notice = notices.setdefault(key, Notice(*key))
        notice.files[match["format"]] = name
    order = {kind: index for index, kind in enumerate(NOTICE_TYPES)}
    return [notices[k] for k in sorted(notices, key=lambda k: (k[0], order[k[1]]))]


def classify_files(superevent_id, names):
    """:class:`SupereventFiles` of the file ``names`` of a superevent folder."""
    names = sorted(names)
    found = SupereventFiles(superevent_id, notices=notices_of(superevent_id, names))
    found.skymaps = [name for name in names if name.endswith(SKYMAP_SUFFIXES)]
    in_notices = {name for notice in found.notices for name in notice.files.values()}
    for name in names:
        lower = name.lower()
        if name in in_notices or name in found.skymaps:
            continue
        if name in RECORD_NAMES:
            found.records.append(name)
        elif "circular" in lower and lower.endswith(".txt"):
            found.circulars.append(name)
        elif lower.endswith(".png"):
            _sort_plot(found, name)
        else:
            found.other_files.append(name)
    return found


def superevent_files(results, superevent_id):
    """:class:`SupereventFiles` of ``RESULTS/superevents/<SID>/`` (empty if absent)."""
    folder = os.path.join(os.fspath(results), "superevents", superevent_id)
    try:
        names = [
            entry.name
            for entry in os.scandir(folder)
            if entry.is_file() and not entry.name.startswith(".")
        ]
    except FileNotFoundError:
        names = []
    return classify_files(superevent_id, names)
