"""The MDC generator's O4 era (``gwreplay mdc --era O4``, the default).

One store (8 superevents, two copies for the reproducibility check) per
module. Expected values are worked out independently of the generator:
thresholds come from config/config.yaml's ``policies: O4:`` block, sign-off
and superevent formats from gwreplay.fetch.signoffs and gwreplay.store, and
the notices of the truth (the generator's own model, gwreplay.mdc.rules) are
checked against gwreplay.policies.sequence, the replay's model, which is
written from gwcelery 3.0.0 and tested against it in tests/oracle/.
"""

import hashlib
import json
import logging
import math
from pathlib import Path

import pytest

from gwreplay import config as gwconfig
from gwreplay.mdc.generate import generate_store

N_SUPEREVENTS = 8
SEED = 4
O4 = gwconfig.defaults()["policies"]["O4"]


@pytest.fixture(scope="module", autouse=True)
def quiet_bayestar():
    logger = logging.getLogger("BAYESTAR")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    first = tmp_path_factory.mktemp("mdc_o4") / "store"
    second = tmp_path_factory.mktemp("mdc_o4") / "store"
    generate_store(first, superevents=N_SUPEREVENTS, seed=SEED)
    generate_store(second, superevents=N_SUPEREVENTS, seed=SEED, jobs=2)
    return first, second


@pytest.fixture(scope="module")
def store(stores):
    return stores[0]


@pytest.fixture(scope="module")
def truth(store):
    return json.loads((store / "truth.json").read_text())


@pytest.fixture(scope="module")
def events(store):
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted((store / "events").glob("*/event.json"))
    }


def _hashes(root):
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(root).rglob("*"))
        if p.is_file()
    }


def _superevent_entries(truth):
    return [e for e in truth["sources"] if e["expected"]["o4"]["superevent_id"]]


def test_same_seed_gives_identical_bytes(stores):
    assert _hashes(stores[0]) == _hashes(stores[1])


def test_era_and_o4_names(truth, events):
    assert truth["era"] == "O4"
    pipelines = {event["pipeline"] for event in events.values()}
    assert "MBTAOnline" not in pipelines
    searches = {(e["pipeline"], e["search"]) for e in events.values()}
    assert {s for _, s in searches} <= {"AllSky", "EarlyWarning", "BBH"}
    assert ("CWB", "BBH") in searches and ("CWB", "AllSky") in searches
    assert any(s == "EarlyWarning" for _, s in searches)


def test_every_cbc_pipeline_embeds_its_psds(store, events):
    for graceid, event in events.items():
        if event["group"] != "CBC":
            continue
        folder = store / "events" / graceid
        assert not (folder / "psd.xml.gz").exists()
        assert b'Name="psd"' in (folder / "coinc.xml").read_bytes() or (
            b"REAL8FrequencySeries" in (folder / "coinc.xml").read_bytes()
        )


def test_p_astro_uploads_are_valid(store, events):
    seen = 0
    for graceid, event in events.items():
        pipeline, search = event["pipeline"].lower(), event["search"]
        name = f"{pipeline}.p_astro.json"
        path = store / "events" / graceid / name
        stock = pipeline in ("spiir", "pycbc") and search == "EarlyWarning"
        expected = (event["group"] == "CBC" and not stock) or search == "BBH"
        assert path.exists() == expected, (graceid, name)
        if not expected:
            continue
        seen += 1
        p_astro = json.loads(path.read_text())
        assert set(p_astro) == {"BBH", "BNS", "NSBH", "Terrestrial"}
        assert all(math.isfinite(v) and 0 <= v <= 1 for v in p_astro.values())
        assert math.isclose(sum(p_astro.values()), 1.0, abs_tol=1e-12)
        logged = {u["filename"] for u in event["uploads"]}
        assert name in logged
        # The model: loud candidates are astrophysical, threshold ones are not.
        snr = event["extra_attributes"].get("CoincInspiral", {}).get("snr")
        if snr is not None and snr > 12:
            assert p_astro["Terrestrial"] < 0.01
        if event["far"] > 1e-5:
            assert p_astro["Terrestrial"] > 0.9
    assert seen


def test_cwb_multiorder_maps_read_back(store, events):
    from ligo.skymap.io import read_sky_map

    for graceid, event in events.items():
        if event["pipeline"] != "CWB":
            continue
        table = read_sky_map(
            str(store / "events" / graceid / "cwb.multiorder.fits"), moc=True
        )
        import astropy.units as u
        from ligo.skymap.moc import uniq2pixarea

        total = (table["PROBDENSITY"] * uniq2pixarea(table["UNIQ"]) * u.sr).to_value(
            u.dimensionless_unscaled
        )
        assert math.isclose(float(total.sum()), 1.0, rel_tol=1e-9)


def test_early_warning_events_come_before_their_merger(truth, events):
    early = [e for e in events.values() if e["search"] == "EarlyWarning"]
    assert early
    for event in early:
        assert event["created"] < event["gpstime"]
        assert event["group"] == "CBC" and event["pipeline"] != "CWB"
        far_limit = (
            O4["significant_alert_far_threshold"]["cbc"]["earlywarning"]
            / O4["significant_alert_trials_factor"]["cbc"]["earlywarning"]
        )
        assert event["far"] <= far_limit
    for entry in truth["sources"]:
        if entry["scenario"].get("early_warning"):
            assert entry["class"] == "BNS"


def test_less_significant_candidates_lie_between_the_thresholds(truth):
    low = (
        O4["significant_alert_far_threshold"]["cbc"]["allsky"]
        / O4["significant_alert_trials_factor"]["cbc"]["allsky"]
    )
    high = (
        O4["preliminary_alert_far_threshold"]["cbc"]["allsky"]
        / O4["preliminary_alert_trials_factor"]["cbc"]["allsky"]
    )
    entries = [e for e in truth["sources"] if e["scenario"].get("less_significant")]
    assert entries
    for entry in entries:
        (event,) = entry["events"]
        assert low < event["far"] < high
        notices = entry["expected"]["o4"]["notices"]
        assert [(n["alert_type"], n["significant"]) for n in notices] == [
            ("Preliminary", False),
            ("Preliminary", False),
        ]


def test_superevents_as_graceDB_forms_them(store, truth):
    from gwreplay import store as store_module
    from gwreplay.superevents import superevent_id

    loaded = store_module.load_store(store)
    assert loaded.problems == []
    entries = _superevent_entries(truth)
    assert len(entries) == N_SUPEREVENTS == len(loaded.superevents)
    for number, entry in enumerate(
        sorted(entries, key=lambda e: e["expected"]["o4"]["created"]), 1
    ):
        o4 = entry["expected"]["o4"]
        sid = o4["superevent_id"]
        record = loaded.superevents[sid]
        raw = json.loads((store / "superevents" / sid / "superevent.json").read_text())
        assert set(raw) >= {
            "superevent_id",
            "t_start",
            "t_0",
            "t_end",
            "preferred_event",
            "gw_events",
            "created",
            "category",
        }
        first = min(o4["gw_events"], key=lambda g: loaded.events[g]["created"])
        assert record["preferred_event"] == first == o4["preferred_event_at_creation"]
        assert record["created"] == loaded.events[first]["created"]
        assert record["t_0"] == pytest.approx(loaded.events[first]["gpstime"])
        assert set(record["gw_events"]) == set(o4["gw_events"]) <= set(loaded.events)
        for graceid in record["gw_events"]:
            assert (
                record["t_start"] < loaded.events[graceid]["gpstime"] < record["t_end"]
            )
            assert loaded.events[graceid]["far"] <= O4["superevent_far_threshold"]
        # All in one UTC day (2024-01-01): letters in creation order.
        assert sid == superevent_id("production", record["t_0"], number)


def test_signoffs_format_and_times(store, truth):
    statuses = set()
    for entry in _superevent_entries(truth):
        o4 = entry["expected"]["o4"]
        sid = o4["superevent_id"]
        data = json.loads((store / "superevents" / sid / "signoffs.json").read_text())
        assert (
            set(data) == {"superevent_id", "signoffs"} and data["superevent_id"] == sid
        )
        significant = any(
            e["o4_significant"]
            for e in entry["events"]
            if e["graceid"] in o4["gw_events"]
        )
        if not significant:
            assert data["signoffs"] == [] and o4["signoff"] is None
            continue
        (signoff,) = data["signoffs"]
        assert set(signoff) == {
            "signoff_type",
            "instrument",
            "status",
            "time",
            "comment",
        }
        assert signoff["signoff_type"] == "ADV" and signoff["instrument"] == ""
        assert signoff["status"] in ("OK", "NO")
        assert signoff == {
            **signoff,
            "status": o4["signoff"]["status"],
            "time": o4["signoff"]["time"],
        }
        # After the superevent and after its second preliminary is due.
        assert signoff["time"] > o4["created"] + O4["superevent_clean_up_timeout"]
        statuses.add(signoff["status"])
        last = o4["notices"][-1]
        assert (
            last["alert_type"]
            == {"OK": "Initial", "NO": "Retraction"}[signoff["status"]]
        )
    assert statuses == {"OK", "NO"}


def test_notice_scenarios_are_covered(truth):
    kinds = set()
    for entry in truth["sources"]:
        notices = entry["expected"]["o4"]["notices"]
        kinds.add(tuple((n["alert_type"], n["significant"]) for n in notices))
        if not entry["expected"]["superevent"]:
            assert notices == []
        if entry["expected"]["vetoed"]:
            assert all(n["alert_type"] not in ("Preliminary",) for n in notices)
    types = {t for kind in kinds for t, _ in kind}
    assert {"EarlyWarning", "Preliminary", "Initial", "Retraction"} <= types
    assert () in kinds  # quiet superevents and sub-threshold candidates


def _replay_notices(store, entry):
    """gwreplay.policies.sequence's notices for one truth entry's superevent."""
    from gwreplay.policies import sequence
    from gwreplay.superevents import superevent_record

    o4 = entry["expected"]["o4"]
    sid = o4["superevent_id"]
    folder = store / "superevents" / sid
    record = superevent_record(
        sid, json.loads((folder / "superevent.json").read_text())
    )
    signoffs = json.loads((folder / "signoffs.json").read_text())["signoffs"]
    events = {
        g: json.loads((store / "events" / g / "event.json").read_text())
        for g in record["gw_events"]
    }
    # The generator's completion model: an event is complete at its last upload.
    ready = {
        g: max([e["created"], *(u["created"] for u in e["uploads"])])
        for g, e in events.items()
    }
    dq_labels = ["DQV"] if entry["expected"]["vetoed"] else []
    dq_labels += ["INJ"] if entry["expected"]["inj"] else []
    settings = {key: O4[key] for key in sequence.CONFIG_KEYS}
    notices = sequence.alert_sequence(
        record, events, ready=ready, signoffs=signoffs, dq_labels=dq_labels, **settings
    )
    return [(n["alert_type"], n["significant"], n["preferred_event"]) for n in notices]


def test_truth_notices_agree_with_the_replay_sequence(store, truth):
    """The generator's model and gwreplay.policies.sequence, notice for notice."""
    entries = _superevent_entries(truth)
    disagree = {}
    for entry in entries:
        expected = [
            (n["alert_type"], n["significant"], n["preferred_event"])
            for n in entry["expected"]["o4"]["notices"]
        ]
        got = _replay_notices(store, entry)
        if got != expected:
            disagree[entry["expected"]["o4"]["superevent_id"]] = (expected, got)
    assert disagree == {}


def test_command_line_era_option(tmp_path):
    import argparse

    from gwreplay.mdc import command

    parser = argparse.ArgumentParser()
    command.build_parser(parser)
    assert parser.parse_args([str(tmp_path)]).era == "O4"
    args = parser.parse_args([str(tmp_path / "x"), "--mdc"])
    assert command.main(args) == 2  # --mdc is not modelled for O4 yet
    with pytest.raises(SystemExit):
        parser.parse_args([str(tmp_path), "--era", "O5"])
