"""The products table: every file of the orchestrator flow chart, in one place.

Which rule makes which result from which uploads, and which events or
superevents get it, is declared here once. The workflow's input functions
(``rules/common.smk``), the plan (:mod:`gwreplay.plan`), the watcher, the
end-of-run tables (:mod:`gwreplay.summary`), the stamp
(:mod:`gwreplay.stamp`) and the orchestrator step ask this module; adding a
product is one entry in :data:`EVENT_PRODUCTS` plus its rule.

The per-event annotations follow gwcelery's ``orchestrator.handle_cbc_event``
(gwcelery 2018 flow chart; gwcelery 2.x in O3): BAYESTAR starts on
``psd.xml.gz`` (or on ``coinc.xml`` alone when the pipeline embedded its
PSDs), the source classification on ``coinc.xml``, and gstlal's p_astro on
``ranking_data.xml.gz`` with ``coinc.xml``. Burst pipelines (cWB, oLIB)
upload their own sky maps and get no annotation.
"""

from dataclasses import dataclass, field

#: Sky map each burst pipeline uploads itself, by pipeline (GraceDB names).
BURST_SKYMAPS = {"CWB": "skyprobcc_cWB.fits", "oLIB": "LIB.fits.gz"}

#: O4 pipelines' own p_astro (gwcelery 3.0.0 reads
#: ``<pipeline in lower case>.p_astro.json``; ``p_astro.json`` is the name of
#: the one it passes on). An O4 notice carries it as uploaded, validated.
P_ASTRO_UPLOADS = (
    "p_astro.json",
    "gstlal.p_astro.json",
    "mbta.p_astro.json",
    "pycbc.p_astro.json",
    "spiir.p_astro.json",
    "cwb.p_astro.json",
)
#: O4 burst searches' multi-order sky maps (fetched; not yet replayed).
MULTIORDER_UPLOADS = (
    "cwb.multiorder.fits",
    "olib.multiorder.fits",
    "mly.multiorder.fits",
    "aframe.multiorder.fits",
)

#: Every upload of an event folder the replay reads, besides event.json.
EVENT_UPLOADS = (
    "coinc.xml",
    "psd.xml.gz",
    "ranking_data.xml.gz",
    *BURST_SKYMAPS.values(),
    *P_ASTRO_UPLOADS,
)


def pipeline_p_astro(event):
    """The p_astro upload an O4 notice of ``event`` carries, or None.

    The pipeline's own ``<pipeline>.p_astro.json`` first, then
    ``p_astro.json`` (gwcelery 3.0.0 ``orchestrator``: ``alert_pipeline +
    '.p_astro.json'``).
    """
    own = f"{str(event['pipeline']).lower()}.p_astro.json"
    for name in (own, "p_astro.json"):
        if name in event["files"]:
            return name
    return None


def is_cbc_event(event):
    """True for events that get CBC annotations (BAYESTAR, classification).

    CBC events, and Test events of a CBC pipeline: everything whose pipeline
    does not bring its own sky map.
    """
    return event["group"] == "CBC" or (
        event["group"] == "Test" and event["pipeline"] not in BURST_SKYMAPS
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
    preferred (None: the alert does not use it).
    """

    name: str
    rule: str
    needs: tuple
    may_use: tuple = ()
    embedded: dict = field(default_factory=dict, compare=False)
    applies: object = field(default=_always, compare=False)
    alert_input: str | None = None

    def uploads(self, present):
        """The uploads this product is made from, given the ones present."""
        return [*self.needs, *(name for name in self.may_use if name in present)]


#: The per-event annotations, in the order a plan lists them.
EVENT_PRODUCTS = (
    Product(
        "bayestar.fits.gz",
        rule="bayestar",
        needs=("coinc.xml",),
        may_use=("psd.xml.gz",),
        embedded={"psd.xml.gz": "coinc.xml"},
        applies=_localisable,
        alert_input="skymap",
    ),
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

PRODUCTS_BY_NAME = {product.name: product for product in EVENT_PRODUCTS}

#: The rule that makes each per-event result.
PRODUCT_RULES = {product.name: product.rule for product in EVENT_PRODUCTS}

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
    "alert_sequence",  # O4 (scripts/alert_sequence.py)
)


def event_products(event, disabled_detectors=()):
    """Names of the results one event gets (empty for bursts and events
    lacking their coinc.xml)."""
    if not is_cbc_event(event):
        return []
    return [
        product.name
        for product in EVENT_PRODUCTS
        if all(name in event["files"] for name in product.needs)
        and product.applies(event, disabled_detectors)
    ]


def all_detectors_disabled(event, disabled_detectors):
    """True when BAYESTAR must skip a CBC event (it logs why)."""
    return not _localisable(event, disabled_detectors)


def product_uploads(product_name, present):
    """The uploads ``product_name`` is made from, given the ``present`` ones."""
    return PRODUCTS_BY_NAME[product_name].uploads(present)


def skymap_source(event):
    """Where the alert's sky map of ``event`` comes from.

    ``("result", name)`` for CBC events (BAYESTAR's result), ``("upload",
    name)`` for bursts, which upload their own.
    """
    if is_cbc_event(event):
        return "result", "bayestar.fits.gz"
    return "upload", BURST_SKYMAPS[event["pipeline"]]


def alert_source_upload(event):
    """The upload an event's alert ultimately needs: coinc.xml for CBC
    events, the pipeline's own sky map for bursts."""
    return "coinc.xml" if is_cbc_event(event) else BURST_SKYMAPS[event["pipeline"]]


def alert_annotations(products):
    """``{alert input name: product name}`` of a preferred event's products
    that its alert copies, besides the sky map."""
    return {
        PRODUCTS_BY_NAME[name].alert_input: name
        for name in products
        if PRODUCTS_BY_NAME[name].alert_input not in (None, "skymap")
    }


def plot_name(skymap_name):
    """``bayestar.fits.gz`` -> ``bayestar.png``, as gwcelery names its plots."""
    return skymap_name.split(".fits")[0] + ".png"


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
