"""Writing one G-event into the store: event.json and its uploads.

``event.json`` is shaped like GraceDB's event JSON (see docs/store.md):
graceid, pipeline, group, search, gpstime, far, instruments, created (GPS),
extra_attributes (``CoincInspiral`` or ``MultiBurst``) and the ``uploads``
log of when each file reached GraceDB.
"""

import os

from ..atomic import gzip_bytes, write_bytes, write_json
from ..ids import validate_graceid
from . import bursts, coinc, ligolw_out, pastro, psd
from .coinc import PIPELINE_SUBMITTERS
from .population import chirp_mass


def _uploads(candidate):
    return [
        {"filename": name, "created": created}
        for name, created in sorted(candidate["uploads"].items())
    ]


def _common(graceid, candidate, search):
    return {
        "graceid": graceid,
        "pipeline": candidate["pipeline"],
        "group": candidate["group"],
        "search": search,
        "gpstime": round(candidate["gpstime"], 6),
        "far": candidate["far"],
        "instruments": ",".join(candidate["instruments"]),
        "created": candidate["created"],
        "submitter": PIPELINE_SUBMITTERS[candidate["pipeline"]],
        "offline": False,
        "labels": [],
        "uploads": _uploads(candidate),
    }


def cbc_event_json(graceid, candidate, search):
    """GraceDB event JSON of a CBC candidate."""
    template = candidate["template"]
    end_time = candidate["realization"].end_time
    event = _common(graceid, candidate, search)
    event["likelihood"] = candidate["lnl"]
    event["nevents"] = len(candidate["instruments"])
    event["extra_attributes"] = {
        "CoincInspiral": {
            "snr": candidate["snr"],
            "mchirp": chirp_mass(template["mass1"], template["mass2"]),
            "mass": template["mass1"] + template["mass2"],
            "ifos": ",".join(candidate["instruments"]),
            "end_time": int(end_time.gpsSeconds),
            "end_time_ns": int(end_time.gpsNanoSeconds),
            "combined_far": candidate["far"],
            "false_alarm_rate": candidate["far"],
            "minimum_duration": None,
        }
    }
    return event


def burst_event_json(graceid, candidate, search):
    """GraceDB event JSON of a cWB candidate."""
    event = _common(graceid, candidate, search)
    event["likelihood"] = None
    event["nevents"] = 1
    event["extra_attributes"] = bursts.multiburst_attributes(candidate["burst"])
    return event


def psd_document_bytes(psds):
    """``psd.xml.gz`` content: the PSDs as lal.series writes them, gzipped."""
    xmldoc, _ = ligolw_out.new_document()
    psd.append_psds(xmldoc.childNodes[0], psds)
    return gzip_bytes(ligolw_out.to_bytes(xmldoc))


def _write_o4_uploads(folder, graceid, candidate, conf):
    """``<pipeline>.p_astro.json`` and ``cwb.multiorder.fits`` (O4 era)."""
    name = pastro.p_astro_filename(candidate)
    if name is not None:
        write_json(os.path.join(folder, name), pastro.p_astro(candidate, conf))
    name = pastro.multiorder_filename(candidate)
    if name is not None:
        bursts.write_multiorder_sky_map(
            os.path.join(folder, name),
            graceid,
            candidate["burst"],
            candidate["uploads"][name],
            conf,
        )


def write_event(store, graceid, candidate, *, search, psds, ranking_bytes, conf):
    """Write one candidate's folder: its uploads first, event.json last.

    An O4 candidate carries its own ``search`` and gets the O4 uploads.
    """
    folder = os.path.join(store, "events", validate_graceid(graceid))
    o4 = "search" in candidate
    search = candidate.get("search", search)
    if o4:
        _write_o4_uploads(folder, graceid, candidate, conf)
    if candidate["group"] == "CBC":
        stamped = psd.stamped(psds, candidate["gpstime"])
        embed = "psd.xml.gz" not in candidate["uploads"]
        xmldoc = coinc.coinc_document(
            candidate["pipeline"],
            candidate["realization"],
            candidate["template"],
            far=candidate["far"],
            ln_likelihood_ratio=candidate["lnl"],
            created=candidate["created"],
            template_id=candidate["template_id"],
            psds=stamped if embed else None,
        )
        write_bytes(os.path.join(folder, "coinc.xml"), ligolw_out.to_bytes(xmldoc))
        if not embed:
            write_bytes(os.path.join(folder, "psd.xml.gz"), psd_document_bytes(stamped))
        if "ranking_data.xml.gz" in candidate["uploads"]:
            write_bytes(os.path.join(folder, "ranking_data.xml.gz"), ranking_bytes)
        event = cbc_event_json(graceid, candidate, search)
    else:
        bursts.write_burst_sky_map(
            os.path.join(folder, "skyprobcc_cWB.fits"),
            graceid,
            candidate["burst"],
            candidate["uploads"]["skyprobcc_cWB.fits"],
            conf,
        )
        event = burst_event_json(graceid, candidate, search)
    write_json(os.path.join(folder, "event.json"), event)
    return event
