"""The products table: every file of the orchestrator flow chart, in one place.

Which rule makes which result from which uploads, and which events or
superevents get it, is declared here once, per orchestrator policy
(:mod:`gwreplay.policies`): :func:`table` gives the policy's. The
workflow's input functions (``rules/common.smk``), the plan
(:mod:`gwreplay.plan`), the watcher, the end-of-run tables
(:mod:`gwreplay.summary`), the stamp (:mod:`gwreplay.stamp`) and the
orchestrator step ask this module; adding a product is one entry in a
table plus its rule.

2018 and O3 (:data:`O3_PRODUCTS`) follow gwcelery's
``orchestrator.handle_cbc_event`` of the 2018 flow chart (gwcelery 2.x in
O3): BAYESTAR starts on ``psd.xml.gz`` (or on ``coinc.xml`` alone when the
pipeline embedded its PSDs) and writes ``bayestar.fits.gz``, the source
classification on ``coinc.xml``, and gstlal's p_astro on
``ranking_data.xml.gz`` with ``coinc.xml``. O4 (:data:`O4_PRODUCTS`) follows
gwcelery 3.0.0: BAYESTAR's ``bayestar.multiorder.fits``, ``em_bright.json``,
and a p_astro only for the searches gwcelery computes one for
(:data:`STOCK_P_ASTRO`); the other pipelines upload their own. Beside them
the flattened copy ``bayestar.fits.gz`` that O4 users find on GraceDB
(gwcelery 3.0.0 has the task, ``skymaps.flatten``, but none of its handlers
calls it; no notice reads the copy). Burst pipelines (and aframe) upload their own
sky maps and get no annotation.
"""

from dataclasses import dataclass, field, replace

#: Sky map each burst pipeline uploads itself under 2018 and O3 (GraceDB names).
BURST_SKYMAPS = {"CWB": "skyprobcc_cWB.fits", "oLIB": "LIB.fits.gz"}
#: The multi-order sky maps pipelines upload in O4 (gwcelery 3.0.0
#: ``orchestrator``: ``<pipeline>.multiorder.fits`` for bursts, AMPLFI's
#: ``amplfi.multiorder.fits`` for aframe).
O4_SKYMAPS = {
    "CWB": "cwb.multiorder.fits",
    "oLIB": "olib.multiorder.fits",
    "MLy": "mly.multiorder.fits",
    "aframe": "amplfi.multiorder.fits",
}
#: Pipelines that bring their own sky map (no BAYESTAR, no annotations).
OWN_SKYMAP_PIPELINES = frozenset(BURST_SKYMAPS) | frozenset(O4_SKYMAPS)

#: O4 pipelines' own p_astro (gwcelery 3.0.0 reads
#: ``<pipeline in lower case>.p_astro.json``; ``p_astro.json`` is the name of
#: the one it passes on). An O4 notice carries it as uploaded, validated.
P_ASTRO_UPLOADS = (
    "p_astro.json",
    "gstlal.p_astro.json",
    "mbta.p_astro.json",
    "pycbc.p_astro.json",
    "spiir.p_astro.json",
    "sgnl.p_astro.json",
    "aframe.p_astro.json",
    "cwb.p_astro.json",
)
#: O4 pipelines' multi-order sky maps.
MULTIORDER_UPLOADS = tuple(O4_SKYMAPS.values())

#: (pipeline, search), in lower case, whose p_astro gwcelery 3.0.0 computes
#: itself (``orchestrator.handle_cbc_event``'s ``pipelines_stock_p_astro``,
#: :mod:`gwreplay.p_astro_stock`) and uploads as ``<pipeline>.p_astro.json``.
STOCK_P_ASTRO = frozenset(
    {("spiir", "earlywarning"), ("pycbc", "earlywarning"), ("gstlal", "mdc")}
)

#: Every upload of an event folder the replay reads, besides event.json.
EVENT_UPLOADS = (
    "coinc.xml",
    "psd.xml.gz",
    "ranking_data.xml.gz",
    *BURST_SKYMAPS.values(),
    *P_ASTRO_UPLOADS,
    *MULTIORDER_UPLOADS,
)


def pipeline_p_astro(event):
    """The p_astro upload an O4 notice of ``event`` carries, or None.

    The pipeline's own ``<pipeline>.p_astro.json`` first, then
    ``p_astro.json`` (gwcelery 3.0.0 ``orchestrator``: ``alert_pipeline +
    '.p_astro.json'``), for the searches whose alerts carry one there: CBC
    searches but SSM, and cWB's BBH search.
    """
    group, pipeline, search = (
        str(event[key]).lower() for key in ("group", "pipeline", "search")
    )
    # gwcelery's alert payloads: CBC searches but SSM, and cWB's BBH search.
    if (group == "burst" and (pipeline, search) != ("cwb", "bbh")) or search == "ssm":
        return None
    own = f"{pipeline}.p_astro.json"
    for name in (own, "p_astro.json"):
        if name in event["files"]:
            return name
    return None


def is_cbc_event(event):
    """True for events that get CBC annotations (BAYESTAR, classification).

    CBC events, and Test events of a CBC pipeline: everything whose pipeline
    does not bring its own sky map (aframe, a CBC search, brings AMPLFI's).
    """
    return (
        event["group"] in ("CBC", "Test")
        and event["pipeline"] not in OWN_SKYMAP_PIPELINES
    )


def _instruments(event):
    return {ifo.strip() for ifo in event["instruments"].split(",") if ifo.strip()}


def _localisable(event, disabled_detectors):
    """BAYESTAR skips an event whose detectors are all disabled (gwcelery)."""
    instruments = _instruments(event)
    return not instruments or bool(instruments - set(disabled_detectors))


def _gstlal(event, disabled_detectors):
    return event["pipeline"] == "gstlal"


def _always(event, disabled_detectors):
    return True


@dataclass(frozen=True)
class Product:
    """One per-event annotation of ``handle_cbc_event``.

    ``needs``: uploads without which it is not planned; ``may_use``: uploads
    it reads when the event has them; ``embedded``: for an optional upload,
    the upload that may carry its content instead (O4 pipelines put their
    PSDs in coinc.xml); ``applies(event, disabled_detectors)``:
    whether a CBC event with the needed uploads gets it; ``alert_input``: the
    name under which the superevent job receives it when the event is
    preferred (None: the alert does not use it); ``made_from``: the result of
    the same event it is made from (O4's flattened sky map), whose uploads
    ``needs`` and ``may_use`` repeat for the replay clock.
    """

    name: str
    rule: str
    needs: tuple
    may_use: tuple = ()
    embedded: dict = field(default_factory=dict, compare=False)
    applies: object = field(default=_always, compare=False)
    alert_input: str | None = None
    made_from: str | None = None

    def uploads(self, present):
        """The uploads this product is made from, given the ones present."""
        return [*self.needs, *(name for name in self.may_use if name in present)]


def computes_stock_p_astro(event):
    """True when gwcelery 3.0.0 computes a stock p_astro for this new event.

    The event must reach ``handle_match_filter_cbc_event`` (group CBC), not be
    ``reserved`` (``processing_status``; the handler returns at once), and
    have a (pipeline, search) of :data:`STOCK_P_ASTRO`, compared in lower case.
    Whether its inputs are usable is
    :func:`gwreplay.p_astro_stock.stock_p_astro_inputs`' business.
    """
    return (
        lower_field(event, "group") == "cbc"
        and event.get("processing_status") != "reserved"
        and (lower_field(event, "pipeline"), lower_field(event, "search"))
        in STOCK_P_ASTRO
    )


def lower_field(event, key):
    """``event[key]`` in lower case ('' when absent), as gwcelery compares
    pipelines and searches."""
    return str(event.get(key) or "").lower()


def _stock_p_astro(pipeline):
    """``applies`` of ``<pipeline>.p_astro.json``: the events of that
    pipeline that :func:`computes_stock_p_astro`."""

    def applies(event, disabled_detectors):
        return lower_field(event, "pipeline") == pipeline and (
            computes_stock_p_astro(event)
        )

    return applies


def _bayestar(name):
    return Product(
        name,
        rule="bayestar",
        needs=("coinc.xml",),
        may_use=("psd.xml.gz",),
        embedded={"psd.xml.gz": "coinc.xml"},
        applies=_localisable,
        alert_input="skymap",
    )


#: The per-event annotations of 2018 and O3, in the order a plan lists them.
O3_PRODUCTS = (
    _bayestar("bayestar.fits.gz"),
    Product(
        "source_classification.json",
        rule="source_classification",
        needs=("coinc.xml",),
        alert_input="source_classification",
    ),
    Product(
        "p_astro_gstlal.json",
        rule="p_astro_gstlal",
        needs=("coinc.xml", "ranking_data.xml.gz"),
        applies=_gstlal,
        alert_input="p_astro",
    ),
)

#: The per-event annotations of O4 (gwcelery 3.0.0 ``handle_cbc_event``):
#: the flattened map is made from the multi-order one (``made_from``).
O4_PRODUCTS = (
    _bayestar("bayestar.multiorder.fits"),
    # BAYESTAR's uploads and conditions, for the replay clock and the plan.
    replace(
        _bayestar("bayestar.fits.gz"),
        rule="flatten_skymap",
        alert_input=None,
        made_from="bayestar.multiorder.fits",
    ),
    Product(
        "em_bright.json",
        rule="em_bright",
        needs=("coinc.xml",),
        alert_input="source_classification",
    ),
    *(
        Product(
            f"{pipeline}.p_astro.json",
            rule=f"stock_p_astro_{pipeline}",
            needs=(),
            applies=_stock_p_astro(pipeline),
            alert_input="p_astro",
        )
        for pipeline in sorted({pipeline for pipeline, _ in STOCK_P_ASTRO})
    ),
)


@dataclass(frozen=True)
class ProductTable:
    """One policy's per-event products, by name and by rule."""

    products: tuple

    @property
    def by_name(self):
        """``{file name: Product}``."""
        return {product.name: product for product in self.products}

    @property
    def rules(self):
        """``{file name: rule}``: the rule that makes each per-event result."""
        return {product.name: product.rule for product in self.products}


#: Each policy's table (the names of :data:`gwreplay.policies.POLICIES`).
TABLES = {
    "2018": ProductTable(O3_PRODUCTS),
    "O3": ProductTable(O3_PRODUCTS),
    "O4": ProductTable(O4_PRODUCTS),
}


def table(policy):
    """The products table of ``policy`` (``"2018"``, ``"O3"`` or ``"O4"``)."""
    return TABLES[str(policy)]


#: Every per-event rule of every policy, in table order.
EVENT_RULES = tuple(dict.fromkeys(p.rule for t in TABLES.values() for p in t.products))


def rules_making(name):
    """The rules that make the per-event result ``name`` under any policy,
    with those of the result it is made from (a failure record of either
    explains why it is missing)."""
    rules = []
    for t in TABLES.values():
        product = t.by_name.get(name)
        while product is not None:
            rules.append(product.rule)
            product = t.by_name.get(product.made_from)
    return list(dict.fromkeys(rules))


#: The outputs of the one ``superevent`` job (rules/superevent.smk), in the
#: order it writes them; the last is the superevent's target.
SUPEREVENT_OUTPUTS = ("superevent.json", "dq.json", "alert.json")

#: The O4 superevent job's record of its alert sequence (a Snakemake
#: checkpoint: rules/superevent_o4.smk), beside superevent.json and dq.json.
SEQUENCE = "sequence.json"

#: The steps of the ``superevent`` job, as its failure records name them.
SUPEREVENT_STAGES = (
    "superevent",
    "check_vectors",
    "preliminary_alert",  # 2018, O3
    "alert_sequence",  # O4 (gwreplay.notice_jobs)
)


def event_products(event, disabled_detectors=(), *, policy):
    """Names of the results one event gets under ``policy`` (empty for
    events that bring their own sky map and events lacking their coinc.xml)."""
    if not is_cbc_event(event):
        return []
    return [
        product.name
        for product in table(policy).products
        if all(name in event["files"] for name in product.needs)
        and product.applies(event, disabled_detectors)
    ]


def all_detectors_disabled(event, disabled_detectors):
    """True when BAYESTAR must skip a CBC event (it logs why)."""
    return not _localisable(event, disabled_detectors)


def product_uploads(product_name, present, *, policy):
    """The uploads ``product_name`` is made from, given the ``present`` ones."""
    return table(policy).by_name[product_name].uploads(present)


def own_skymap(event, *, policy):
    """The sky map a pipeline uploads itself: under O4 its multi-order map
    (:data:`O4_SKYMAPS`), under 2018 and O3 the flat one
    (:data:`BURST_SKYMAPS`); the other name when only that one was uploaded
    (a store of another era), else the era's name (then missing)."""
    pipeline = event["pipeline"]
    names = [BURST_SKYMAPS.get(pipeline), O4_SKYMAPS.get(pipeline)]
    if str(policy) == "O4":
        names.reverse()
    names = [name for name in names if name]
    present = [name for name in names if name in event["files"]]
    return (present or names)[0]


def skymap_source(event, *, policy):
    """Where the alert's sky map of ``event`` comes from.

    ``("result", name)`` for CBC events (BAYESTAR's result:
    ``bayestar.fits.gz`` under 2018 and O3, ``bayestar.multiorder.fits``
    under O4), ``("upload", name)`` for pipelines that upload their own.
    """
    if is_cbc_event(event):
        (name,) = (p.name for p in table(policy).products if p.alert_input == "skymap")
        return "result", name
    return "upload", own_skymap(event, policy=policy)


def alert_source_upload(event, *, policy):
    """The upload an event's alert ultimately needs: coinc.xml for CBC
    events, the pipeline's own sky map for the others."""
    if is_cbc_event(event):
        return "coinc.xml"
    return own_skymap(event, policy=policy)


def alert_annotations(products, *, policy):
    """``{alert input name: product name}`` of a preferred event's products
    that its alert copies, besides the sky map."""
    by_name = table(policy).by_name
    return {
        by_name[name].alert_input: name
        for name in products
        if by_name[name].alert_input not in (None, "skymap")
    }


def plot_name(skymap_name, kind=""):
    """``bayestar.fits.gz`` -> ``bayestar.png``; ``bayestar.multiorder.fits``
    -> ``bayestar.png``, or ``bayestar.volume.png`` for ``kind="volume"``: as
    gwcelery names its plots (``skymaps.annotate_fits``)."""
    stem = skymap_name.partition(".multiorder.fits")[0].split(".fits")[0]
    return f"{stem}.{kind}.png" if kind else f"{stem}.png"


#: The stems of every sky-map name (:func:`plot_name`): the names a notice's
#: plots may start with.
SKYMAP_STEMS = tuple(
    dict.fromkeys(
        plot_name(name)[: -len(".png")]
        for name in (
            "bayestar.fits.gz",
            "bayestar.multiorder.fits",
            *BURST_SKYMAPS.values(),
            *O4_SKYMAPS.values(),
        )
    )
)


def chart_name(annotation_name):
    """``em_bright.json`` -> ``em_bright.png``, ``gstlal.p_astro.json`` ->
    ``gstlal.p_astro.png``: gwcelery's bar charts, named after their JSON."""
    return annotation_name.replace(".json", ".png")


def notice_names(superevent_id, number=1, alert_type="Preliminary"):
    """The VOEvent and IGWN-alert file names of one notice, as GraceDB
    names them (``S190425z-1-Preliminary.xml``)."""
    stem = f"{superevent_id}-{number}-{alert_type}"
    return f"{stem}.xml", f"{stem}.json"


#: Circular draft of the preliminary alert.
CIRCULAR = "circular.txt"

#: Everything the alert step may write beside alert.json, but the notices:
#: the sky-map copies and plots, the annotation copies and the circular.
ALERT_COPIES = (
    *(
        name
        for skymap in ("bayestar.fits.gz", *BURST_SKYMAPS.values())
        for name in (skymap, plot_name(skymap))
    ),
    "source_classification.json",
    "p_astro.json",
    CIRCULAR,
)
