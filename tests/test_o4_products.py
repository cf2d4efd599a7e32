"""The products table per policy: O4's names and sources beside 2018's and O3's.

Expected names are gwcelery's (2.x in O3, 3.0.0 in O4: ``orchestrator.py``
``handle_cbc_event``, ``_get_preliminary_alert_payloads``-era file names),
written out here by hand.
"""

import pytest

from gwreplay import notice_plan, products
from gwreplay.plan import Plan
from gwreplay.store import KNOWN_PIPELINES, Store


def event(pipeline="gstlal", group="CBC", search="AllSky", files=("coinc.xml",), **kw):
    return dict(
        graceid=kw.pop("graceid", "G1"),
        pipeline=pipeline,
        group=group,
        search=search,
        instruments="H1,L1",
        files=list(files),
        **kw,
    )


@pytest.mark.parametrize("policy", ["2018", "O3"])
def test_o3_names_unchanged(policy):
    gstlal = event(files=("coinc.xml", "psd.xml.gz", "ranking_data.xml.gz"))
    assert products.event_products(gstlal, policy=policy) == [
        "bayestar.fits.gz",
        "source_classification.json",
        "p_astro_gstlal.json",
    ]
    assert products.skymap_source(gstlal, policy=policy) == (
        "result",
        "bayestar.fits.gz",
    )
    assert products.table(policy).rules["bayestar.fits.gz"] == "bayestar"


def test_o4_names_of_a_cbc_event():
    gstlal = event(files=("coinc.xml", "ranking_data.xml.gz", "gstlal.p_astro.json"))
    # No gstlal p_astro from ranking data: gwcelery 3.0.0 computes none.
    assert products.event_products(gstlal, policy="O4") == [
        "bayestar.multiorder.fits",
        "bayestar.fits.gz",
        "em_bright.json",
    ]
    assert products.skymap_source(gstlal, policy="O4") == (
        "result",
        "bayestar.multiorder.fits",
    )
    rules = products.table("O4").rules
    assert rules["bayestar.multiorder.fits"] == "bayestar"
    assert rules["bayestar.fits.gz"] == "flatten_skymap"
    assert products.table("O4").by_name["bayestar.fits.gz"].made_from == (
        "bayestar.multiorder.fits"
    )
    # A failed flattening is explained by its own rule or by BAYESTAR's.
    assert products.rules_making("bayestar.fits.gz") == ["bayestar", "flatten_skymap"]


@pytest.mark.parametrize(
    "pipeline, search, expected",
    [
        ("spiir", "EarlyWarning", "spiir.p_astro.json"),
        ("pycbc", "EarlyWarning", "pycbc.p_astro.json"),
        ("gstlal", "MDC", "gstlal.p_astro.json"),
        ("gstlal", "EarlyWarning", None),
        ("pycbc", "AllSky", None),
        ("MBTA", "EarlyWarning", None),
    ],
)
def test_stock_p_astro_only_where_gwcelery_computes_it(pipeline, search, expected):
    names = products.event_products(event(pipeline, search=search), policy="O4")
    stock = [name for name in names if name.endswith("p_astro.json")]
    assert stock == ([expected] if expected else [])
    assert products.event_products(event(pipeline, search=search), policy="O3")[:2] == [
        "bayestar.fits.gz",
        "source_classification.json",
    ]


def test_test_group_gets_no_stock_p_astro():
    """gwcelery's handler listens to ``cbc_<pipeline>`` only."""
    names = products.event_products(
        event("spiir", group="Test", search="EarlyWarning"), policy="O4"
    )
    assert names == ["bayestar.multiorder.fits", "bayestar.fits.gz", "em_bright.json"]


@pytest.mark.parametrize(
    "pipeline, group, files, o3, o4",
    [
        (
            "CWB",
            "Burst",
            ("skyprobcc_cWB.fits", "cwb.multiorder.fits"),
            "skyprobcc_cWB.fits",
            "cwb.multiorder.fits",
        ),
        # A store of another era: the one map there is.
        ("CWB", "Burst", ("skyprobcc_cWB.fits",), "skyprobcc_cWB.fits", None),
        ("CWB", "Burst", ("cwb.multiorder.fits",), None, "cwb.multiorder.fits"),
        ("oLIB", "Burst", ("LIB.fits.gz",), "LIB.fits.gz", None),
        ("MLy", "Burst", ("mly.multiorder.fits",), None, "mly.multiorder.fits"),
        ("aframe", "CBC", ("amplfi.multiorder.fits",), None, "amplfi.multiorder.fits"),
    ],
)
def test_own_skymaps(pipeline, group, files, o3, o4):
    e = event(pipeline, group=group, files=files)
    assert products.event_products(e, policy="O4") == []
    assert not products.is_cbc_event(e)
    assert products.skymap_source(e, policy="O3") == ("upload", o3 or files[0])
    assert products.skymap_source(e, policy="O4") == ("upload", o4 or files[0])


def test_missing_own_skymap_is_the_eras_name():
    e = event("CWB", group="Burst", files=())
    assert products.alert_source_upload(e, policy="O4") == "cwb.multiorder.fits"
    assert products.alert_source_upload(e, policy="O3") == "skyprobcc_cWB.fits"


@pytest.mark.parametrize(
    "pipeline, group, search, files, expected",
    [
        ("gstlal", "CBC", "AllSky", ("gstlal.p_astro.json",), "gstlal.p_astro.json"),
        ("gstlal", "CBC", "AllSky", ("p_astro.json",), "p_astro.json"),
        ("SGNL", "CBC", "AllSky", ("sgnl.p_astro.json",), "sgnl.p_astro.json"),
        ("MBTA", "CBC", "SSM", ("mbta.p_astro.json",), None),
        ("CWB", "Burst", "BBH", ("cwb.p_astro.json",), "cwb.p_astro.json"),
        ("CWB", "Burst", "AllSky", ("cwb.p_astro.json",), None),
    ],
)
def test_pipeline_p_astro_as_gwcelery_carries_it(
    pipeline, group, search, files, expected
):
    e = event(pipeline, group=group, search=search, files=files)
    assert products.pipeline_p_astro(e) == expected


def test_store_knows_the_o4_searches():
    assert {"SGNL", "aframe"} <= KNOWN_PIPELINES["CBC"]
    assert "MLy" in KNOWN_PIPELINES["Burst"]
    assert {"SGNL", "aframe", "MLy"} <= KNOWN_PIPELINES["Test"]


def test_plot_names():
    assert products.plot_name("bayestar.fits.gz") == "bayestar.png"
    assert products.plot_name("bayestar.multiorder.fits") == "bayestar.png"
    assert products.plot_name("bayestar.multiorder.fits", "volume") == (
        "bayestar.volume.png"
    )
    assert products.plot_name("skyprobcc_cWB.fits") == "skyprobcc_cWB.png"
    assert products.chart_name("gstlal.p_astro.json") == "gstlal.p_astro.png"


def _plan(events, gw_events, policy="O4"):
    store = Store(root="/store", events={e["graceid"]: e for e in events})
    plan = Plan(store=store, results="/results", policy=policy)
    plan.superevents["S1"] = {"superevent_id": "S1", "gw_events": gw_events}
    for e in events:
        plan.event_products[e["graceid"]] = products.event_products(e, policy=policy)
    return plan


def notice(number, alert_type, preferred, due, significant=True):
    return dict(
        alert_number=number,
        alert_type=alert_type,
        preferred_event=preferred,
        due=due,
        significant=significant,
    )


def test_notice_outputs_under_o4():
    g1 = event(graceid="G1", created=10.0, files=("coinc.xml", "gstlal.p_astro.json"))
    plan = _plan([g1], ["G1"])
    names = notice_plan.notice_outputs(plan, "S1", notice(2, "Preliminary", "G1", 20))
    assert names == [
        "S1-2-Preliminary.json",
        "S1-2-Preliminary.avro",
        "preliminary-circular-2.txt",
        "bayestar-2.png",
        "bayestar.volume-2.png",
        "em_bright-2.png",
        "gstlal.p_astro-2.png",
    ]


def test_no_circular_before_a_post_merger_event():
    """ligo-followup-advocate refuses "no post-merger events"; gwcelery's
    circular task fails and uploads none."""
    ew = event(graceid="G1", search="EarlyWarning", created=10.0)
    later = event(graceid="G2", created=30.0)
    plan = _plan([ew, later], ["G1", "G2"])
    first = notice_plan.notice_outputs(plan, "S1", notice(1, "EarlyWarning", "G1", 20))
    assert not any(name.endswith(".txt") for name in first)
    second = notice_plan.notice_outputs(plan, "S1", notice(2, "Preliminary", "G1", 40))
    assert "preliminary-circular-2.txt" in second


def test_burst_notice_has_no_volume_plot_nor_charts():
    cwb = event(
        "CWB", group="Burst", graceid="G1", created=1.0, files=("cwb.multiorder.fits",)
    )
    plan = _plan([cwb], ["G1"])
    names = notice_plan.notice_outputs(plan, "S1", notice(1, "Preliminary", "G1", 5))
    assert names[2:] == ["preliminary-circular-1.txt", "cwb-1.png"]
