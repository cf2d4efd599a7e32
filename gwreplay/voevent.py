"""The preliminary GCN Notice of a superevent, as a VOEvent 2.0 packet.

In the live system gwcelery does not write the VOEvent itself: its
orchestrator (``gwcelery/tasks/orchestrator.py``, ``_create_voevent``) asks
GraceDB to build one from the superevent, the em_bright and p_astro results
and the sky map file name, and GraceDB's ``construct_voevent_file`` writes it
with voevent-parse. We build the same packet here with :mod:`voeventparse`,
following the O4 layout of that GraceDB builder:

* ``What``: ``Packet_Type`` (150 = LVC_PRELIMINARY), ``internal``,
  ``Pkt_Ser_Num``, ``GraceID``, ``AlertType``, ``HardwareInj``, ``OpenAlert``,
  ``EventPage``, ``Instruments``, ``FAR``, ``Significant``, ``Group``,
  ``Pipeline``, ``Search``; the ``GW_SKYMAP`` group with the ``skymap_fits``
  URL; burst ``CentralFreq``/``Duration``; the ``Classification`` group
  (p_astro: BNS, NSBH, BBH, Terrestrial) and the ``Properties`` group
  (em_bright: HasNS, HasRemnant, HasMassGap), filled for CBC candidates only.
  gwcelery hands em_bright's ``HasNS``/``HasRemnant`` to GraceDB under the
  names ``ProbHasNS``/``ProbHasRemnant``; since O3 the notice carries them as
  ``HasNS``/``HasRemnant`` inside ``Properties`` (O2 notices such as
  G298048-1-Initial had top-level ``ProbHasNS``/``ProbHasRemnant`` params).
* ``WhereWhen``: the time of the preferred event in UTC (leap seconds applied
  by astropy) and *no* sky position: LVK notices never carry one, the sky
  map is the localisation.

Differences from the live notice, all to make the bytes a function of the
inputs: ``Who/Date`` is the replay's notice time, not the wall clock; the
voevent-parse version banner is dropped (GraceDB drops it too); the role is
configurable and defaults to ``test`` so that no replayed packet can pass as
a real observation.
"""

import os

from .atomic import write_bytes
from .errors import EventInputError
from .ids import validate_graceid, validate_superevent_id

#: The settings of the notices: the VOEvent role (``observation``, ``test``
#: or ``utility``) and the GraceDB host named in event-page and file URLs
#: (gwcelery ``gracedb_host``; values in config/config.yaml).
CONFIG_KEYS = ("voevent_role", "gracedb_host")
#: IVORN prefix of the notices (GraceDB setting ``VOEVENT_STREAM`` =
#: ``gwnet/LVC``); the packet's IVORN is this plus ``<SID>-<N>-Preliminary``.
voevent_ivorn_base = "ivo://gwnet/LVC#"

#: GCN notice type numbers, as GraceDB assigns them.
PACKET_TYPES = {"Preliminary": (150, "LVC_PRELIMINARY")}
#: Author of LVK notices in O4.
AUTHOR = "LIGO Scientific Collaboration, Virgo Collaboration, and KAGRA Collaboration"
#: ``How`` descriptions: the analysis, then one line per participating detector.
HOW_DESCRIPTION = (
    "Candidate gravitational wave event identified by low-latency analysis"
)
INSTRUMENT_DESCRIPTIONS = {
    "H1": "H1: LIGO Hanford 4 km gravitational wave detector",
    "L1": "L1: LIGO Livingston 4 km gravitational wave detector",
    "V1": "V1: Virgo 3 km gravitational wave detector",
    "K1": "K1: KAGRA 3 km gravitational wave detector",
}
#: p_astro categories reported in the ``Classification`` group, in order.
CLASSIFICATION_PARAMS = {
    "BNS": "Probability that the source is a binary neutron star merger "
    "(both objects lighter than 3 solar masses)",
    "NSBH": "Probability that the source is a neutron star-black hole merger "
    "(secondary lighter than 3 solar masses)",
    "BBH": "Probability that the source is a binary black hole merger "
    "(both objects heavier than 3 solar masses)",
    "Terrestrial": "Probability that the source is terrestrial (i.e., a "
    "background noise fluctuation or a glitch)",
}
#: em_bright source properties reported in the ``Properties`` group, in order.
PROPERTY_PARAMS = {
    "HasNS": "Probability that at least one object in the binary has a mass "
    "that is less than 3 solar masses",
    "HasRemnant": "Probability that a nonzero mass was ejected outside the "
    "central remnant object",
    "HasMassGap": "Probability that the source has at least one object "
    "between 3 and 5 solar masses",
}


# --- helpers shared with gwalert.py and circular.py --------------------------


def gracedb_base_url(host):
    """Return ``https://host`` for a bare host name, or ``host`` if it has a scheme.

    gwcelery's ``gracedb_host`` is a bare host; accepting a full URL as well
    lets a replay point the links at any server (or a local mirror).
    """
    host = str(host).rstrip("/")
    return host if "://" in host else f"https://{host}"


def superevent_page_url(superevent_id, host):
    """GraceDB web page of a superevent (the notices' ``EventPage``)."""
    return f"{gracedb_base_url(host)}/superevents/{superevent_id}/view/"


def superevent_file_url(superevent_id, filename, host):
    """GraceDB REST URL of a file of a superevent (as ``skymap_fits`` gives it)."""
    return f"{gracedb_base_url(host)}/api/superevents/{superevent_id}/files/{filename}"


def gps_to_isot(gps_time, precision=3):
    """UTC ISO 8601 string (``YYYY-MM-DDTHH:MM:SS.fff``) of a GPS time.

    astropy applies the leap seconds (GPS - UTC = 18 s since 2017).
    """
    from astropy.time import Time

    return Time(float(gps_time), format="gps", precision=precision).utc.isot


def gps_to_isot_seconds(gps_time):
    """UTC ISO 8601 string truncated to whole seconds, as gwcelery stamps alerts.

    gwcelery writes ``Time.now().utc.isot.split('.')[0] + 'Z'``; we do the
    same with the replay's clock instead of ``now()``.
    """
    return gps_to_isot(gps_time).split(".")[0] + "Z"


def require(mapping, key, event_id, filename):
    """Return ``mapping[key]``, or raise EventInputError naming what is missing."""
    try:
        value = mapping[key]
    except (KeyError, TypeError):
        raise EventInputError(event_id, filename, f"missing key {key!r}") from None
    if value is None:
        raise EventInputError(event_id, filename, f"key {key!r} is null")
    return value


def probability(value, key, event_id, filename):
    """Return ``value`` as a float in [0, 1] or raise EventInputError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EventInputError(
            event_id, filename, f"{key} is not a number: {value!r}"
        ) from None
    if not 0.0 <= number <= 1.0:
        raise EventInputError(event_id, filename, f"{key} = {number} not in [0, 1]")
    return number


def has_coinc_inspiral(event):
    """True for a compact-binary candidate (GraceDB's CoincInspiralEvent)."""
    return event.get("group") == "CBC" or "CoincInspiral" in (
        event.get("extra_attributes") or {}
    )


# --- the packet -----------------------------------------------------------------


def _param(name, value, description, **kwargs):
    """A ``Param`` element; plain Python types are converted by voevent-parse."""
    import voeventparse as vp

    param = vp.Param(name, value=value, **kwargs)
    param.Description = description
    return param


def _group(name, params, description=None):
    """A ``Group`` element; ``type`` repeats the name as GraceDB does."""
    import voeventparse as vp

    group = vp.Group(params, name=name, type=name)
    if description is not None:
        group.Description = description
    return group


def _stream_and_id(ivorn_base, voevent_id):
    """Split ``ivo://stream#`` into the parts voevent-parse wants."""
    if not (ivorn_base.startswith("ivo://") and ivorn_base.endswith("#")):
        raise ValueError(
            f"voevent_ivorn_base must look like 'ivo://authority/stream#', "
            f"got {ivorn_base!r}"
        )
    return ivorn_base[len("ivo://") : -1], voevent_id


def _who(v, notice_time):
    """``Who``: the notice time (replay clock, whole seconds, ``Z``) and author."""
    import voeventparse as vp

    v.Who.remove(v.Who.Description)  # voevent-parse version banner
    v.Who.Date = gps_to_isot_seconds(notice_time)
    vp.set_author(v, contactName=AUTHOR)


def _how(v, instruments):
    """``How``: the analysis and the detectors that took part.

    Descriptions are added one string at a time: voevent-parse 1.0.3 tests a
    list with ``collections.Iterable``, which Python 3.10 removed.
    """
    import voeventparse as vp

    descriptions = [HOW_DESCRIPTION]
    descriptions += [
        text for ifo, text in INSTRUMENT_DESCRIPTIONS.items() if ifo in instruments
    ]
    for text in descriptions:
        vp.add_how(v, descriptions=text)


def _where_when(v, gpstime):
    """``WhereWhen``: the event time in UTC, without a sky position.

    The elements are those voevent-parse's ``add_where_when`` writes, less
    ``Position2D``: GraceDB removes the position from LVK notices.
    """
    import voeventparse as vp
    from lxml import etree

    location = etree.SubElement(v.WhereWhen, "ObsDataLocation")
    etree.SubElement(location, "ObservatoryLocation", id="LIGO Virgo")
    observation = etree.SubElement(location, "ObservationLocation")
    system = vp.definitions.sky_coord_system.utc_fk5_geo
    etree.SubElement(observation, "AstroCoordSystem", id=system)
    coords = etree.SubElement(observation, "AstroCoords", coord_system_id=system)
    time = etree.SubElement(coords, "Time", unit="s")
    instant = etree.SubElement(time, "TimeInstant")
    instant.ISOTime = gps_to_isot(gpstime, precision=6) + "Z"


def _header_params(superevent_id, pkt_ser_num, hardware_inj, event_page):
    """The bookkeeping params every LVK notice starts with."""
    number, name = PACKET_TYPES["Preliminary"]
    return [
        _param(
            "Packet_Type",
            int(number),
            f"The Notice Type number is assigned/used within GCN, "
            f"eg type={number} is an {name} notice",
        ),
        _param(
            "internal",
            0,
            "Indicates whether this event should be distributed to "
            "LSC/Virgo/KAGRA members only",
        ),
        _param(
            "Pkt_Ser_Num",
            int(pkt_ser_num),
            "A number that increments by 1 each time a new revision is issued "
            "for this event",
        ),
        _param(
            "GraceID",
            superevent_id,
            "Identifier in GraceDB",
            ucd="meta.id",
            dataType="string",
        ),
        _param(
            "AlertType",
            "Preliminary",
            "VOEvent alert type",
            ucd="meta.version",
            dataType="string",
        ),
        _param(
            "HardwareInj",
            int(hardware_inj),
            "Indicates that this event is a hardware injection if 1, no if 0",
            ucd="meta.number",
        ),
        _param(
            "OpenAlert",
            1,
            "Indicates that this event is an open alert if 1, no if 0",
            ucd="meta.number",
        ),
        _param(
            "EventPage",
            event_page,
            "Web page for evolving status of this GW candidate",
            ucd="meta.ref.url",
            dataType="string",
        ),
    ]


def _event_params(event, significant, event_id):
    """Instruments, FAR, significance, group, pipeline and search of the event."""
    params = [
        _param(
            "Instruments",
            str(require(event, "instruments", event_id, "event.json")),
            "List of instruments used in analysis to identify this event",
            ucd="meta.code",
            dataType="string",
        )
    ]
    far = float(require(event, "far", event_id, "event.json"))
    if far:  # GraceDB omits a zero FAR (``if event.far``)
        params.append(
            _param(
                "FAR",
                far,
                "False alarm rate for GW candidates with this strength or greater",
                ucd="arith.rate;stat.falsealarm",
                unit="Hz",
            )
        )
    params.append(
        _param(
            "Significant",
            int(bool(significant)),
            "Indicates that this event is significant if 1, no if 0",
            ucd="meta.number",
        )
    )
    for key, description in (
        ("group", "Data analysis working group"),
        ("pipeline", "Low-latency data analysis pipeline"),
    ):
        params.append(
            _param(
                key.capitalize(),
                str(require(event, key, event_id, "event.json")),
                description,
                ucd="meta.code",
                dataType="string",
            )
        )
    if event.get("search"):
        params.append(
            _param(
                "Search",
                str(event["search"]),
                "Specific low-latency search",
                ucd="meta.code",
                dataType="string",
            )
        )
    return params


def _burst_params(event):
    """``CentralFreq``/``Duration`` (cWB) or ``frequency`` (oLIB) of a burst."""
    extra = event.get("extra_attributes") or {}
    params = []
    multiburst = extra.get("MultiBurst") or {}
    if multiburst.get("central_freq") is not None:
        params.append(
            _param(
                "CentralFreq",
                float(multiburst["central_freq"]),
                "Central frequency of GW burst signal",
                ucd="gw.frequency",
                unit="Hz",
            )
        )
    if multiburst.get("duration") is not None:
        params.append(
            _param(
                "Duration",
                float(multiburst["duration"]),
                "Measured duration of GW burst signal",
                ucd="time.duration",
                unit="s",
            )
        )
    lib = extra.get("LalInferenceBurst") or {}
    if lib.get("frequency_mean") is not None:
        params.append(
            _param(
                "frequency",
                float(lib["frequency_mean"]),
                "Mean frequency of GW burst signal",
                ucd="gw.frequency",
                unit="Hz",
            )
        )
    return params


def _probability_params(values, names, event_id, filename):
    """One ``stat.probability`` param per name present in ``values``."""
    values = values or {}
    return [
        _param(
            name,
            probability(values[name], name, event_id, filename),
            description,
            ucd="stat.probability",
        )
        for name, description in names.items()
        if values.get(name) is not None
    ]


#: The 2018 notice parameters of em_bright (gwcelery 2018 passed them to
#: GraceDB under these names; O2 notices carried them at the top of ``What``).
PARAMS_2018 = {
    "ProbHasNS": ("HasNS", PROPERTY_PARAMS["HasNS"]),
    "ProbHasRemnant": ("HasRemnant", PROPERTY_PARAMS["HasRemnant"]),
}


def _params_2018(event, source_classification, event_id):
    """``ProbHasNS`` and ``ProbHasRemnant`` params of a 2018 notice (CBC only)."""
    if not has_coinc_inspiral(event):
        return []
    values = {
        name: (source_classification or {}).get(key)
        for name, (key, _) in PARAMS_2018.items()
    }
    names = {name: description for name, (_, description) in PARAMS_2018.items()}
    return _probability_params(values, names, event_id, "source_classification.json")


def _classification_groups(event, source_classification, p_astro, event_id):
    """The ``Classification`` and ``Properties`` groups (filled for CBC only).

    GraceDB appends both groups to every non-retraction notice and fills them
    only for CoincInspiral events, so a burst notice has them empty.
    """
    if has_coinc_inspiral(event):
        classification = _probability_params(
            p_astro, CLASSIFICATION_PARAMS, event_id, "p_astro.json"
        )
        properties = _probability_params(
            source_classification,
            PROPERTY_PARAMS,
            event_id,
            "source_classification.json",
        )
    else:
        classification = properties = []
    return [
        _group(
            "Classification",
            classification,
            "Source classification: binary neutron star (BNS), neutron "
            "star-black hole (NSBH), binary black hole (BBH), or terrestrial "
            "(noise)",
        ),
        _group(
            "Properties",
            properties,
            "Qualitative properties of the source, conditioned on the "
            "assumption that the signal is an astrophysical compact binary "
            "merger",
        ),
    ]


def build_preliminary_voevent(
    superevent,
    preferred_event,
    labels,
    skymap_path,
    source_classification,
    p_astro,
    notice_time,
    *,
    significant=True,
    voevent_role,
    gracedb_host,
    voevent_ivorn_base=voevent_ivorn_base,
    pkt_ser_num=1,
    layout="O3",
):
    """Return the preliminary VOEvent of ``superevent`` as UTF-8 XML bytes.

    Parameters
    ----------
    superevent : dict
        GraceDB superevent JSON (``superevent_id`` is used).
    preferred_event : dict
        GraceDB JSON of the preferred event: instruments, FAR, group,
        pipeline, search, gpstime (the notice's event time, as GraceDB takes
        it from the preferred event) and extra_attributes.
    labels : list of str
        Superevent labels; ``INJ`` sets ``HardwareInj`` to 1.
    skymap_path : str or path
        The sky map as published for the superevent; only its file name is
        used, for the ``skymap_fits`` URL.
    source_classification : dict or None
        em_bright output (HasNS, HasRemnant, HasMassGap); None for bursts.
    p_astro : dict or None
        p_astro output (BNS, NSBH, BBH, Terrestrial); None for bursts.
    notice_time : float
        GPS time at which the notice is issued (replay clock): ``Who/Date``.
    significant : bool
        O4 ``Significant`` flag: False for a less-significant alert.
    layout : str
        ``"O3"`` (the ``Classification`` and ``Properties`` groups) or
        ``"2018"`` (em_bright as top-level ``ProbHasNS``/``ProbHasRemnant``
        params, p_astro in ``Classification``).

    The packet is checked against the VOEvent 2.0 schema before it is
    returned; identical inputs give identical bytes.
    """
    import voeventparse as vp

    superevent_id = validate_superevent_id(
        require(superevent, "superevent_id", "superevent", "superevent.json")
    )
    event_id = validate_graceid(
        require(preferred_event, "graceid", superevent_id, "event.json")
    )
    if voevent_role not in vars(vp.definitions.roles).values():
        raise ValueError(f"voevent_role {voevent_role!r} is not a VOEvent role")

    voevent_id = f"{superevent_id}-{int(pkt_ser_num)}-Preliminary"
    v = vp.Voevent(*_stream_and_id(voevent_ivorn_base, voevent_id), voevent_role)
    v.Description = "Report of a candidate gravitational wave event"
    _who(v, notice_time)
    instruments = str(require(preferred_event, "instruments", event_id, "event.json"))
    _how(v, instruments.split(","))

    skymap_name = os.path.basename(os.fspath(skymap_path))
    skymap_group = _group(
        "GW_SKYMAP",
        [
            _param(
                "skymap_fits",
                superevent_file_url(superevent_id, skymap_name, gracedb_host),
                "Sky Map FITS",
                ucd="meta.ref.url",
                dataType="string",
            )
        ],
    )
    v.What.extend(
        _header_params(
            superevent_id,
            pkt_ser_num,
            "INJ" in (labels or ()),
            superevent_page_url(superevent_id, gracedb_host),
        )
        + _event_params(preferred_event, significant, event_id)
        + [skymap_group]
        + _burst_params(preferred_event)
        + (
            _params_2018(preferred_event, source_classification, event_id)
            + _classification_groups(preferred_event, None, p_astro, event_id)[:1]
            if layout == "2018"
            else _classification_groups(
                preferred_event, source_classification, p_astro, event_id
            )
        )
    )
    _where_when(v, require(preferred_event, "gpstime", event_id, "event.json"))
    vp.assert_valid_as_v2_0(v)
    return vp.dumps(v, pretty_print=True)


def write_voevent(path, *args, **kwargs):
    """Build the preliminary VOEvent (see :func:`build_preliminary_voevent`) and
    write it to ``path`` atomically. Returns the bytes written."""
    data = build_preliminary_voevent(*args, **kwargs)
    write_bytes(path, data)
    return data
