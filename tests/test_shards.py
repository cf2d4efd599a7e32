"""Shards: a replay cut into UTC days writes the same bytes as one run.

The store holds cWB bursts with their multi-order sky maps on three UTC days
(2017-08-17 to 2017-08-19): significant ones (two Preliminary notices each,
their plots and circulars), one less significant, and a superevent whose two
events lie either side of midnight, 0.02 s apart (cWB segments: 0.05 s
either side). It is replayed from
scratch twice, by one Snakemake run (``--shards none``) and by one run per
day (``--shards days --shard-superevents 1``); every output must be
byte-identical. Then a new event on the last day is replayed by that day's
run alone.
"""

import json
import re

import pytest
from builders import (
    burst_event,
    gaussian_multiorder,
    gwreplay,
    write_event,
)
from test_reproducible import outputs

from gwreplay.config import defaults
from gwreplay.plan import make_plan
from gwreplay.shards import assign_days, group_days, superevent_day, validate_day
from gwreplay.superevents import utc_to_gps

pytestmark = pytest.mark.slow

MIDNIGHT = utc_to_gps("2017-08-18T00:00:00Z")
#: (GraceID, GPS time, FAR): three days, one superevent either side of midnight.
BURSTS = [
    ("G800001", MIDNIGHT - 40000.0, 1e-10),
    ("G800002", MIDNIGHT - 20000.0, 2.5e-4),
    ("G800003", MIDNIGHT - 0.01, 1e-10),
    ("G800004", MIDNIGHT + 0.01, 1e-9),
    ("G800005", MIDNIGHT + 30000.0, 1e-10),
    ("G800006", MIDNIGHT + 100000.0, 1e-10),
]
#: A significant burst on the middle day whose sky map is not FITS.
BROKEN = ("G800009", MIDNIGHT + 40000.0, 1e-10)


def write_burst(store, graceid, gpstime, far, skymap):
    event = burst_event(graceid, gpstime, created=gpstime + 8.0, far=far)
    write_event(store, event, {"cwb.multiorder.fits": skymap})


@pytest.fixture(scope="module")
def skymap(tmp_path_factory):
    from ligo.skymap.io import fits

    path = tmp_path_factory.mktemp("skymap") / "cwb.multiorder.fits"
    fits.write_sky_map(str(path), gaussian_multiorder(120, -30, 5), moc=True)
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory, skymap):
    store = tmp_path_factory.mktemp("shards") / "store"
    for graceid, gpstime, far in BURSTS:
        write_burst(store, graceid, gpstime, far, skymap)
    graceid, gpstime, far = BROKEN
    event = burst_event(graceid, gpstime, created=gpstime + 8.0, far=far)
    write_event(store, event, {"cwb.multiorder.fits": b"not a FITS file\n"})
    return store


#: One shard per UTC day with work.
ONE_DAY_SHARDS = ("--shards", "days", "--shard-superevents", "1")


def run(store, results, *options):
    """``gwreplay run`` on two cores (with the tests' configuration)."""
    return gwreplay(
        "run", str(store), "--results", str(results), "--cores", "2", *options
    )


@pytest.fixture(scope="module")
def replays(store, tmp_path_factory):
    root = tmp_path_factory.mktemp("shard_results")
    whole = run(store, root / "whole", "--shards", "none")
    days = run(store, root / "days", *ONE_DAY_SHARDS)
    at_once = run(store, root / "at_once", *ONE_DAY_SHARDS, "--shard-jobs", "2")
    return root, whole, days, at_once


def test_days_follow_the_superevent_ids_and_keep_superevents_whole(store):
    plan = make_plan(str(store), "/tmp/unused", defaults())
    superevent_days, event_days = assign_days(plan)
    straddling = [
        sid
        for sid, superevent in plan.superevents.items()
        if set(superevent["gw_events"]) == {"G800003", "G800004"}
    ]
    assert len(straddling) == 1
    assert superevent_days[straddling[0]] == "2017-08-17"
    # G800004 is on 2017-08-18 by its own time, but goes with its superevent.
    assert event_days["G800004"] == "2017-08-17"
    assert event_days["G800005"] == "2017-08-18"
    assert event_days["G800006"] == "2017-08-19"
    for sid, day in superevent_days.items():
        assert sid[1:7] == day[2:].replace("-", "")


def test_consecutive_days_share_a_shard_up_to_the_limit():
    superevent_days = {"S1": "2017-08-17", "S2": "2017-08-17", "S3": "2017-08-18"}
    superevent_days |= {"S4": "2017-08-20", "S5": "2017-08-21"}
    event_days = {"G1": "2017-08-19", "G2": "2017-08-22"}
    assert group_days(superevent_days, event_days, 3) == {
        "2017-08-17": "2017-08-17",
        "2017-08-18": "2017-08-17",
        "2017-08-19": "2017-08-17",  # no superevent: it adds none
        "2017-08-20": "2017-08-20",
        "2017-08-21": "2017-08-20",
        "2017-08-22": "2017-08-20",
    }
    # A day above the limit is a shard of its own.
    assert group_days(superevent_days, event_days, 1)["2017-08-18"] == "2017-08-18"
    assert group_days(superevent_days, {}, 1)["2017-08-17"] == "2017-08-17"


def test_superevent_day_and_shard_names():
    assert superevent_day("S190425z") == "2019-04-25"
    assert superevent_day("MS231231abc") == "2023-12-31"
    with pytest.raises(ValueError):
        superevent_day("G123456")
    assert validate_day("2017-08-17") == "2017-08-17"
    for bad in ("../x", "2017-8-17", "2017-08-17/..", ""):
        with pytest.raises(ValueError):
            validate_day(bad)


@pytest.mark.parametrize("folder", ["days", "at_once"])
def test_sharded_replay_writes_the_same_bytes(replays, folder):
    root = replays[0]
    whole, sharded = outputs(root / "whole"), outputs(root / folder)
    notices = [name for name in whole if re.search(r"-Preliminary\.json$", name)]
    assert len(notices) >= 6  # two per significant superevent
    assert sorted(whole) == sorted(sharded)
    assert [name for name in whole if whole[name] != sharded[name]] == []


def test_a_bad_event_fails_alone_in_its_shard(replays):
    root, *runs = replays
    for status, output in runs:
        assert status == 1, output
        assert "FAILED" in output and BROKEN[0] in output
    for folder in ("whole", "days", "at_once"):
        rows = (root / folder / "failures.csv").read_text().splitlines()[1:]
        assert rows and all(BROKEN[0] in row for row in rows), rows
        assert all("cwb.multiorder.fits" in row for row in rows), rows
        alerts = (root / folder / "alerts.csv").read_text()
        for graceid, _, _ in BURSTS:
            assert graceid in alerts


def test_each_day_is_a_snakemake_run_of_its_own(replays):
    root, (_, output), (_, day_output), _ = replays
    shards = re.findall(r"shard (\S+) \((\d) of (\d)\)", day_output)
    assert shards == [
        ("2017-08-17", "1", "3"),
        ("2017-08-18", "2", "3"),
        ("2017-08-19", "3", "3"),
    ]
    assert "gwreplay: shard" not in output
    logs = sorted(p.name for p in (root / "days" / "logs" / "snakemake").iterdir())
    assert [name.rsplit("-", 3)[-3:] for name in logs] == [
        ["2017", "08", "17.log"],
        ["2017", "08", "18.log"],
        ["2017", "08", "19.log"],
    ]
    plan = json.loads(
        (root / "days" / ".gwreplay" / "shards" / "2017-08-19.json").read_text()
    )["plan"]
    assert sorted(plan["store"]["events"]) == ["G800006"]


def test_a_new_event_reruns_only_its_shard(skymap, tmp_path):
    store, results = tmp_path / "store", tmp_path / "results"
    for graceid, gpstime, far in BURSTS[3:]:
        write_burst(store, graceid, gpstime, far, skymap)
    status, output = run(store, results, *ONE_DAY_SHARDS)
    assert status == 0, output
    assert len(re.findall(r"gwreplay: shard ", output)) == 2  # 08-18, 08-19
    write_burst(store, "G800007", MIDNIGHT + 110000.0, 1e-10, skymap)
    status, output = run(store, results, *ONE_DAY_SHARDS)
    assert status == 0, output
    assert re.findall(r"shard (\S+) \((\d) of (\d)\)", output) == [
        ("2017-08-19", "1", "1")
    ]
    alerts = (results / "alerts.csv").read_text()
    assert "G800007" in alerts and "G800004" in alerts

    # A target named after `--` goes to its own shard's run alone.
    write_burst(store, "G800008", MIDNIGHT + 50000.0, 1e-10, skymap)
    plan = make_plan(str(store), str(results), defaults())
    (new,) = [s for s, v in plan.superevents.items() if v["gw_events"] == ["G800008"]]
    alert = results / "superevents" / new / "alert.json"
    status, output = run(store, results, *ONE_DAY_SHARDS, "--", str(alert))
    assert status == 0, output
    assert re.findall(r"shard (\S+) \((\d) of (\d)\)", output) == [
        ("2017-08-18", "1", "1")
    ]
    assert alert.exists()
    assert "G800008" in (results / "alerts.csv").read_text()


def test_a_target_outside_the_plan_is_refused_before_any_shard(store, tmp_path):
    unknown = "superevents/S170101a/alert.json"
    status, output = run(store, tmp_path / "results", *ONE_DAY_SHARDS, "--", unknown)
    assert status == 2, output
    assert f"{unknown}: no superevent S170101a in the plan of {store}" in output
    assert "gwreplay: shard" not in output


def test_a_shard_whose_snakemake_stops_says_why(store, tmp_path):
    """A file no rule makes: no job runs, and the shard's line says why."""
    plan = make_plan(str(store), str(tmp_path), defaults())
    (sid,) = [s for s, v in plan.superevents.items() if v["gw_events"] == ["G800006"]]
    target = f"superevents/{sid}/nonsense.txt"
    status, output = run(store, tmp_path / "results", *ONE_DAY_SHARDS, "--", target)
    assert status == 1, output
    assert re.search(
        r"gwreplay: shard 2017-08-19: MissingRuleException: No rule to produce "
        rf"\S*{target}",
        output,
    ), output


def test_a_dry_run_plans_each_shard_and_builds_nothing(store, tmp_path):
    results = tmp_path / "results"
    status, output = gwreplay(
        "run", str(store), "--results", str(results), "-n", *ONE_DAY_SHARDS
    )
    assert status == 0, output
    assert len(re.findall(r"gwreplay: shard ", output)) == 3
    assert "This was a dry-run" in output
    assert not (results / "superevents").exists()
