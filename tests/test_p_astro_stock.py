"""Tests of gwreplay.p_astro_stock: which events get gwcelery 3.0.0's stock
p_astro, its value on hand-checked cases, and the refusal of bad inputs.

The values are checked against gwcelery 3.0.0 itself, bit for bit, in
``tests/oracle/test_oracle_p_astro_stock.py``.
"""

import copy
import json

import pytest
from builders import write_event

from gwreplay import p_astro_stock
from gwreplay.errors import EventInputError
from gwreplay.o4_uploads import validate_p_astro

#: p-astro's mean counts (``H1L1V1-mean_counts-1126051217-61603201.json``).
COUNTS_BNS, COUNTS_BBH = 2.11050326523, 10.4644247052
#: far_star (1/30 days) times p-astro's livetime (14394240 s).
LAM_0 = 14394240 / (30 * 86400)


def cbc_event(pipeline="pycbc", search="EarlyWarning", **changes):
    """A PyCBC EarlyWarning BNS candidate as GraceDB gives it."""
    single = {"chisq": 1.1, "mass1": 1.4, "mass2": 1.3, "spin1z": 0.0, "spin2z": 0.0}
    return dict(
        {
            "graceid": "G100001",
            "group": "CBC",
            "pipeline": pipeline,
            "search": search,
            "gpstime": 1400000000.0,
            "created": 1400000010.0,
            "far": 1e-9,
            "instruments": "H1,L1",
            "labels": [],
            "offline": False,
            "extra_attributes": {
                "CoincInspiral": {"snr": 12.0, "mchirp": 1.17},
                "SingleInspiral": [
                    dict(single, ifo="H1"),
                    dict(single, ifo="L1"),
                ],
            },
        },
        **changes,
    )


def with_extra(event, edit):
    """A deep copy of ``event`` with ``edit(extra_attributes)`` applied."""
    event = copy.deepcopy(event)
    edit(event["extra_attributes"])
    return event


# --- which events ---------------------------------------------------------


def test_the_pairs_are_gwcelerys():
    assert p_astro_stock.STOCK_P_ASTRO == {
        ("spiir", "earlywarning"),
        ("pycbc", "earlywarning"),
        ("gstlal", "mdc"),
    }


@pytest.mark.parametrize("pipeline", ["gstlal", "pycbc", "spiir", "MBTA", "sgnl"])
@pytest.mark.parametrize(
    "search", ["AllSky", "EarlyWarning", "MDC", "SSM", "BBH", "VTInjection"]
)
def test_selection_by_pipeline_and_search(pipeline, search):
    expected = (pipeline.lower(), search.lower()) in {
        ("spiir", "earlywarning"),
        ("pycbc", "earlywarning"),
        ("gstlal", "mdc"),
    }
    event = cbc_event(pipeline, search)
    assert p_astro_stock.computes_stock_p_astro(event) is expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"pipeline": "SPIIR", "search": "EARLYWARNING"}, True),  # lower case
        ({"group": "cbc"}, True),
        ({"processing_status": "production"}, True),
        ({"group": "Test"}, False),  # topic test_pycbc: not gwcelery's handler
        ({"group": "Burst"}, False),
        ({"processing_status": "reserved"}, False),  # the handler returns
    ],
)
def test_selection_by_group_and_status(changes, expected):
    event = cbc_event(**changes)
    assert p_astro_stock.computes_stock_p_astro(event) is expected


def test_store_default_search_is_not_selected():
    event = cbc_event("gstlal")
    del event["search"]  # the store's default: AllSky
    assert not p_astro_stock.computes_stock_p_astro(event)


# --- values ----------------------------------------------------------------


def test_bns_value_by_hand():
    """Kapadia et al. (2020) eq. for the FAR/SNR Bayes factor, on mass cuts."""
    values = p_astro_stock.stock_p_astro(cbc_event())
    assert list(values) == list(p_astro_stock.CLASSES)
    assert all(type(value) is float for value in values.values())
    f_over_b = (3 * 8.5**3 / 12.0**4) / (1e-9 * 30 * 86400)
    astro = COUNTS_BNS * 3 * f_over_b  # three bins, BNS weight 1
    assert values["BNS"] == pytest.approx(astro / (LAM_0 + astro), rel=1e-12)
    assert values["Terrestrial"] == pytest.approx(LAM_0 / (LAM_0 + astro), rel=1e-12)
    assert values["NSBH"] == values["BBH"] == 0.0


def test_bbh_masses():
    def heavy(extra):
        for single in extra["SingleInspiral"]:
            single.update(mass1=30.0, mass2=25.0)

    values = p_astro_stock.stock_p_astro(with_extra(cbc_event(), heavy))
    f_over_b = (3 * 8.5**3 / 12.0**4) / (1e-9 * 30 * 86400)
    astro = COUNTS_BBH * 3 * f_over_b
    assert values["BBH"] == pytest.approx(astro / (LAM_0 + astro), rel=1e-12)
    assert values["BNS"] == values["NSBH"] == 0.0


def _snr(snr):
    def edit(extra):
        extra["CoincInspiral"]["snr"] = snr

    return edit


def test_pycbc_snr_is_capped_below_its_far_threshold():
    """choose_snr: PyCBC H1L1, FAR < 3.2e-10 Hz: an SNR above 10 counts as 10."""
    quiet = cbc_event(far=1e-11)
    at_20 = p_astro_stock.stock_p_astro(with_extra(quiet, _snr(20.0)))
    at_30 = p_astro_stock.stock_p_astro(with_extra(quiet, _snr(30.0)))
    at_10 = p_astro_stock.stock_p_astro(with_extra(quiet, _snr(10.0)))
    assert at_20 == at_30 == at_10
    loud = cbc_event(far=1e-9)  # above the FAR threshold: no cap
    assert p_astro_stock.stock_p_astro(
        with_extra(loud, _snr(20.0))
    ) != p_astro_stock.stock_p_astro(with_extra(loud, _snr(30.0)))


def test_gstlal_snr_is_never_capped_and_k1_is_fine():
    """gstlal's SNR is kept, and no thresholds table is read (K1 allowed)."""

    def k1(extra):
        extra["SingleInspiral"][1]["ifo"] = "K1"

    event = with_extra(cbc_event("gstlal", "MDC", far=1e-11), k1)
    at_20 = p_astro_stock.stock_p_astro(with_extra(event, _snr(20.0)))
    at_30 = p_astro_stock.stock_p_astro(with_extra(event, _snr(30.0)))
    assert at_20 != at_30
    inputs = p_astro_stock.stock_p_astro_inputs(event)
    assert inputs.instruments == {"H1", "K1"}
    assert inputs.pipeline == "gstlal"


def test_instruments_are_those_in_the_ranking_statistic():
    def no_chisq(extra):
        extra["SingleInspiral"][1]["chisq"] = None

    inputs = p_astro_stock.stock_p_astro_inputs(with_extra(cbc_event(), no_chisq))
    assert inputs.instruments == {"H1"}
    assert (inputs.snr, inputs.far, inputs.mass1, inputs.mass2) == (
        12.0,
        1e-9,
        1.4,
        1.3,
    )


# --- bad inputs ----------------------------------------------------------------


def _delete(*keys):
    def edit(extra):
        target = extra
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return edit


def _set(value, *keys):
    def edit(extra):
        target = extra
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (_delete("SingleInspiral"), "no extra_attributes.SingleInspiral rows"),
        (_set([], "SingleInspiral"), "no extra_attributes.SingleInspiral rows"),
        (_set(["H1"], "SingleInspiral"), "a SingleInspiral row is not an object"),
        (_delete("SingleInspiral", 0, "mass1"), "no mass1 in the first"),
        (_delete("SingleInspiral", 0, "spin2z"), "no spin2z in the first"),
        (_delete("CoincInspiral", "mchirp"), "CoincInspiral.mchirp"),
        (_delete("CoincInspiral", "snr"), "CoincInspiral.snr"),
        (_delete("CoincInspiral"), "CoincInspiral.mchirp"),
        (_set(0.0, "CoincInspiral", "snr"), r"CoincInspiral.snr is 0.0, not"),
        (_set(-12.0, "CoincInspiral", "snr"), r"CoincInspiral.snr is -12.0"),
        (_set(float("nan"), "CoincInspiral", "snr"), r"CoincInspiral.snr is nan"),
        (_set("12", "CoincInspiral", "snr"), r"CoincInspiral.snr is '12'"),
        (_set(None, "SingleInspiral", 0, "mass1"), r"mass1 is None"),
        (_set(True, "SingleInspiral", 0, "mass2"), r"mass2 is True"),
        (_set(-1.4, "SingleInspiral", 0, "mass1"), r"mass1 is -1.4"),
        (_set("K1", "SingleInspiral", 1, "ifo"), r"no FAR/SNR threshold.*'H1,K1'"),
        (_set(None, "SingleInspiral", 0, "chisq"), None),  # H1L1 -> L1: fine
        (_delete("SingleInspiral", 0, "ifo"), "row with a chisq has no ifo"),
    ],
)
def test_bad_inputs_are_refused(edit, reason):
    event = with_extra(cbc_event(), edit)
    if reason is None:
        p_astro_stock.stock_p_astro(event)
        return
    with pytest.raises(EventInputError, match=reason) as info:
        p_astro_stock.stock_p_astro(event)
    assert (info.value.event_id, info.value.filename) == ("G100001", "event.json")


def test_no_detector_with_chisq_is_refused_for_pycbc():
    def none(extra):
        for single in extra["SingleInspiral"]:
            single["chisq"] = None

    with pytest.raises(EventInputError, match=r"detectors '' in the ranking"):
        p_astro_stock.stock_p_astro(with_extra(cbc_event(), none))


@pytest.mark.parametrize("far", [0.0, -1e-9, 0, None, "1e-9", float("inf")])
def test_far_must_be_positive(far):
    with pytest.raises(EventInputError, match=r"far is .*, not a finite number > 0"):
        p_astro_stock.stock_p_astro(cbc_event(far=far))


def test_an_event_without_stock_p_astro_is_refused():
    with pytest.raises(EventInputError, match="computes no stock p_astro"):
        p_astro_stock.stock_p_astro(cbc_event("gstlal", "AllSky"))


# --- the file ------------------------------------------------------------------


def test_write_stock_p_astro(tmp_path):
    folder = write_event(tmp_path / "store", cbc_event("spiir"))
    out = tmp_path / "results" / "G100001" / "spiir.p_astro.json"
    values = p_astro_stock.write_stock_p_astro("G100001", folder / "event.json", out)
    text = out.read_text()
    assert text == json.dumps(values, indent=2, sort_keys=True) + "\n"
    assert validate_p_astro("G100001", out) == values  # as an O4 notice reads it
    assert values == p_astro_stock.stock_p_astro(cbc_event("spiir"))


def test_write_refuses_without_writing(tmp_path):
    folder = write_event(tmp_path / "store", cbc_event(far=0.0))
    out = tmp_path / "out.json"
    with pytest.raises(EventInputError, match=r"^G100001: event.json: far is 0.0"):
        p_astro_stock.write_stock_p_astro("G100001", folder / "event.json", out)
    assert not out.exists()
    assert not list(tmp_path.glob(".tmp-*"))


def test_write_missing_event_json(tmp_path):
    path = tmp_path / "store" / "events" / "G100001" / "event.json"
    with pytest.raises(EventInputError, match=r"^G100001: event.json: file is missing"):
        p_astro_stock.write_stock_p_astro("G100001", path, tmp_path / "out.json")


def test_write_event_of_another_folder(tmp_path):
    folder = write_event(tmp_path / "store", cbc_event())
    with pytest.raises(EventInputError, match=r"^G100002: event.json: holds event"):
        p_astro_stock.write_stock_p_astro(
            "G100002", folder / "event.json", tmp_path / "out.json"
        )


def test_write_folder_not_a_graceid(tmp_path):
    folder = tmp_path / "store" / "events" / "not-an-id"
    folder.mkdir(parents=True)
    (folder / "event.json").write_text(json.dumps(cbc_event()))
    with pytest.raises(EventInputError, match=r"^G100001: event.json: refusing"):
        p_astro_stock.write_stock_p_astro(
            "G100001", folder / "event.json", tmp_path / "out.json"
        )
