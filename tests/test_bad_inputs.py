"""Bad inputs: one whole replay over a store of broken uploads beside good events.

Every case of the matrix lives in the same store as good events (the real
CBC event G211117 and cWB/oLIB bursts), and the store is replayed once with
``gwreplay run`` as a user would. For each case we then check what
docs/reliability.md promises: the bad event fails alone with a message that
names it and the file, ``failures.csv`` lists the failure with its reason
(plan-time problems with stage ``store``; job failures with the rule name),
and every good event's products are complete.

BAYESTAR runs for G211117 only: every broken CBC upload must be refused
before BAYESTAR starts (screening, parsing, the SNR check), which the job
logs show.
"""

import csv
import gzip
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from builders import (
    G211117_EVENT,
    burst_event,
    conf,
    gwreplay,
    write_event,
    write_gaussian_skymap,
)

from gwreplay.config import defaults
from gwreplay.errors import EventInputError
from gwreplay.xmlguard import screen_skymap

pytestmark = pytest.mark.slow

#: Times of the cases: 2000 s apart, so that each forms its own superevent.
T0 = 1186440000.0
#: The reference frame file (H1 state vectors) spans 1216577976 + 4 s.
FRAME = "llhoft/H1/H-H1_O2_llhoft-1216577976-4.gwf"
FRAME_T0 = 1216577976

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE LIGO_LW [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>
<LIGO_LW>&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;</LIGO_LW>
"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE LIGO_LW [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<LIGO_LW><Param Name="x" Type="lstring">&secret;</Param></LIGO_LW>
"""


@dataclass
class Expect:
    """One expected row of failures.csv: stage, id, file and a reason pattern."""

    stage: str
    id: str
    file: str
    reason: str


# --- building the store --------------------------------------------------------


def cbc_event(graceid, number, **changes):
    """G211117's event.json moved to its own time slot."""
    return dict(
        G211117_EVENT,
        graceid=graceid,
        gpstime=T0 + 2000 * number + 0.17,
        created=T0 + 2000 * number + 8.0,
        **changes,
    )


def stream_rows(text, table):
    """(start, end) character span of the rows of ``table``'s Stream."""
    match = re.search(
        rf'<Stream [^>]*Name="{table}:table"[^>]*>\n(.*?)\t\t</Stream>', text, re.S
    )
    return match.span(1)


def columns(text, table):
    """Column names of ``table``, in order."""
    return re.findall(rf'<Column [^>]*Name="{table}:(\w+)"', text)


def split_row(line):
    """Fields of one LIGO-LW Stream row; quoted strings keep their quotes."""
    fields, current, quoted = [], "", False
    for char in line:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            fields.append(current)
            current = ""
        else:
            current += char
    return fields + [current]


def rows(text, table):
    """Rows of ``table`` as lists of raw fields."""
    start, end = stream_rows(text, table)
    width = len(columns(text, table))
    table_rows = []
    for line in text[start:end].splitlines():
        fields = split_row(line.strip())
        if len(fields) == width + 1 and fields[-1] == "":
            fields.pop()  # the row delimiter
        if line.strip():
            assert len(fields) == width, (table, fields)
            table_rows.append(fields)
    return table_rows


def with_rows(text, table, new_rows):
    """``text`` with the rows of ``table`` replaced."""
    start, end = stream_rows(text, table)
    body = ",\n".join("\t\t\t" + ",".join(row) for row in new_rows)
    return text[:start] + (body + "\n" if new_rows else "") + text[end:]


def coinc_without_coinc_event(text):
    """The coinc with its coinc_event row removed."""
    return with_rows(text, "coinc_event", [])


def coinc_with_snr(text, ifo, snr):
    """The coinc with ``ifo``'s sngl_inspiral SNR replaced by ``snr``."""
    names = columns(text, "sngl_inspiral")
    table = rows(text, "sngl_inspiral")
    for row in table:
        if row[names.index("ifo")] == f'"{ifo}"':
            row[names.index("snr")] = snr
    return with_rows(text, "sngl_inspiral", table)


def single_detector_coinc(text, ifo="H1"):
    """The coinc reduced to the trigger of one detector, as a single-IFO event."""
    names = columns(text, "sngl_inspiral")
    kept = [
        r for r in rows(text, "sngl_inspiral") if r[names.index("ifo")] == f'"{ifo}"'
    ]
    event_id = kept[0][names.index("event_id")]
    text = with_rows(text, "sngl_inspiral", kept)
    mapping = [r for r in rows(text, "coinc_event_map") if r[0] == event_id]
    return with_rows(text, "coinc_event_map", mapping)


def gzip_text(text):
    """gzip of a document, as pipelines upload psd.xml.gz and ranking data."""
    return gzip.compress(text if isinstance(text, bytes) else text.encode())


def build_store(store, reference):
    """Write the bad-input store; return {case: [Expect...]} for its failures."""
    store = Path(store)
    ref = reference / "G211117"
    coinc = (ref / "coinc.xml").read_text()
    psd = ref / "psd.xml.gz"
    expect = {}

    def cbc(case, number, graceid, files, failures, **changes):
        # Only G900010 forms a superevent (its alert cannot be made); the
        # others have a FAR above superevent_far_threshold: they are
        # annotated but join no superevent, which keeps the run short.
        changes.setdefault("far", 5.2e-16 if graceid == "G900010" else 1e-3)
        write_event(store, cbc_event(graceid, number, **changes), files)
        expect[case] = failures

    # The one good CBC event: BAYESTAR, source classification, alert.
    write_event(
        store,
        dict(
            G211117_EVENT, uploads=[{"filename": "psd.xml.gz", "created": 1186436425.0}]
        ),
        {"coinc.xml": ref / "coinc.xml", "psd.xml.gz": psd},
    )
    # Good bursts: cWB (flat FITS) and oLIB (gzipped FITS).
    folder = write_event(store, burst_event("G900001", T0 + 101.5))
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 120.0, -30.0)
    folder = write_event(store, burst_event("G900002", T0 + 3101.5, "oLIB"))
    write_gaussian_skymap(folder / "LIB.fits", 20.0, 45.0)
    (folder / "LIB.fits.gz").write_bytes(gzip_text((folder / "LIB.fits").read_bytes()))
    (folder / "LIB.fits").unlink()

    # Broken CBC uploads: refused before BAYESTAR.
    def both(graceid, file, reason):
        return [
            Expect("bayestar", graceid, file, reason),
            Expect("source_classification", graceid, file, reason),
        ]

    cbc(
        "empty coinc.xml",
        10,
        "G900010",
        {"coinc.xml": b"", "psd.xml.gz": psd},
        both("G900010", "coinc.xml", "file is empty"),
    )
    cbc(
        "truncated coinc.xml",
        11,
        "G900011",
        {"coinc.xml": coinc[: len(coinc) // 2].encode(), "psd.xml.gz": psd},
        both("G900011", "coinc.xml", "not a readable"),
    )
    cbc(
        "non-XML coinc.xml",
        12,
        "G900012",
        {"coinc.xml": b"GPS time, SNR\n1186436412, 15.6\n" * 20, "psd.xml.gz": psd},
        both("G900012", "coinc.xml", "not a readable"),
    )
    cbc(
        "coinc.xml without coinc_event",
        13,
        "G900013",
        {"coinc.xml": coinc_without_coinc_event(coinc).encode(), "psd.xml.gz": psd},
        both("G900013", "coinc.xml", "coinc_event"),
    )
    cbc(
        "NaN SNR",
        14,
        "G900014",
        {"coinc.xml": coinc_with_snr(coinc, "L1", "nan").encode(), "psd.xml.gz": psd},
        both("G900014", "coinc.xml", "(?i)snr"),
    )
    cbc(
        "negative SNR",
        15,
        "G900015",
        {"coinc.xml": coinc_with_snr(coinc, "H1", "-9.7").encode(), "psd.xml.gz": psd},
        both("G900015", "coinc.xml", "(?i)snr"),
    )
    cbc(
        "truncated psd.xml.gz",
        16,
        "G900016",
        {"coinc.xml": ref / "coinc.xml", "psd.xml.gz": psd.read_bytes()[:50000]},
        [Expect("bayestar", "G900016", "psd.xml.gz", "truncated or corrupt")],
    )
    cbc(
        "entity-expansion bomb",
        17,
        "G900017",
        {"coinc.xml": BOMB, "psd.xml.gz": psd},
        both("G900017", "coinc.xml", "DTD or entities"),
    )
    cbc(
        "external entity",
        18,
        "G900018",
        {"coinc.xml": EXTERNAL, "psd.xml.gz": psd},
        both("G900018", "coinc.xml", "DTD or entities"),
    )
    cbc(
        "external entity in psd.xml.gz",
        19,
        "G900019",
        {"coinc.xml": ref / "coinc.xml", "psd.xml.gz": gzip_text(EXTERNAL)},
        [Expect("bayestar", "G900019", "psd.xml.gz", "DTD or entities")],
    )
    # 2 GB coinc.xml, sparse: refused on its size, never read.
    cbc(
        "2 GB coinc.xml",
        20,
        "G900020",
        {"psd.xml.gz": psd},
        both("G900020", "coinc.xml", "larger than the 268435456-byte limit"),
    )
    with open(store / "events/G900020/coinc.xml", "wb") as f:
        f.truncate(2 * 1024**3)
    # Ranking data of the wrong document type (a PSD file). Its instrument
    # K1 is disabled for BAYESTAR in this run, so that no second BAYESTAR
    # job runs: source classification and p_astro only.
    cbc(
        "ranking_data.xml.gz of the wrong type",
        21,
        "G900021",
        {"coinc.xml": ref / "coinc.xml", "ranking_data.xml.gz": psd},
        [
            Expect(
                "p_astro_gstlal",
                "G900021",
                "ranking_data.xml.gz",
                "not gstlal ranking data",
            )
        ],
        instruments="K1",
    )

    # event.json problems: refused when the store is loaded.
    def bad_json(case, graceid, content, reason, file="event.json"):
        folder = store / "events" / graceid
        folder.mkdir(parents=True)
        if content is not None:
            data = content if isinstance(content, bytes) else json.dumps(content)
            (folder / "event.json").write_bytes(
                data if isinstance(data, bytes) else data.encode()
            )
        expect[case] = [Expect("store", graceid, file, reason)]

    good = burst_event("G900030", T0 + 60101.5)
    missing = {k: v for k, v in good.items() if k != "far"}
    bad_json("event.json missing a key", "G900030", missing, "missing key 'far'")
    bad_json(
        "event.json wrong type",
        "G900031",
        dict(good, graceid="G900031", gpstime="soon"),
        "key 'gpstime' has type str",
    )
    bad_json(
        "event.json not UTF-8",
        "G900032",
        json.dumps(dict(good, graceid="G900032", search="Allsky\u00e9"))
        .encode("utf-8")
        .replace(b"\\u00e9", b"\xe9"),
        "not UTF-8",
    )
    bad_json("event.json not JSON", "G900033", b'{"graceid": "G900033",', "not JSON")
    bad_json("event.json missing", "G900034", None, "file is missing")
    bad_json(
        "unknown pipeline",
        "G900035",
        dict(good, graceid="G900035", pipeline="FooPipe"),
        "unknown pipeline 'FooPipe'",
    )
    bad_json(
        "unknown group",
        "G900036",
        dict(good, graceid="G900036", group="Bogus"),
        "unknown group 'Bogus'",
    )
    bad_json(
        "burst without MultiBurst.duration",
        "G900037",
        dict(good, graceid="G900037", extra_attributes={"MultiBurst": {}}),
        "MultiBurst.duration",
    )
    bad_json(
        "extra_attributes not an object",
        "G900038",
        dict(good, graceid="G900038", extra_attributes="oops"),
        "extra_attributes",
    )
    bad_json(
        "CBC without CoincInspiral.snr",
        "G900039",
        cbc_event("G900039", 39, extra_attributes={}),
        "CoincInspiral.snr",
    )
    bad_json(
        "duplicate GraceID",
        "G900040",
        dict(good, graceid="G900001"),
        "graceid 'G900001' does not match its folder",
    )
    bad_json(
        "GraceID with a slash",
        "G900041",
        dict(good, graceid="../events/G900001"),
        "does not match its folder",
    )

    # Folder names that are not GraceIDs (never joined to a path).
    for case, name, shown in (
        ("GraceID with ..", "G9..42", "G9..42"),
        ("GraceID with a space", "G 900043", "G 900043"),
        ("GraceID with a control character", "G900044\x07", "G900044\\x07"),
        ("GraceID not UTF-8", os.fsdecode(b"G900045\xff"), "G900045\\udcff"),
    ):
        folder = store / "events" / name
        folder.mkdir()
        (folder / "event.json").write_text(json.dumps(dict(good, graceid=name)))
        expect[case] = [Expect("store", shown, "event.json", "refusing event ID")]

    # Superevent folders with bad names, and one whose JSON names a path.
    for case, name, shown in (
        ("superevent ID with ..", "S..0101a", "S..0101a"),
        ("superevent ID with a space", "S230101 a", "S230101 a"),
        ("superevent ID with a control character", "S230101\x1ba", "S230101\\x1ba"),
    ):
        folder = store / "superevents" / name
        folder.mkdir(parents=True)
        (folder / "superevent.json").write_text("{}")
        expect[case] = [
            Expect("store", shown, "superevent.json", "refusing superevent ID")
        ]
    folder = store / "superevents" / "S230102a"
    folder.mkdir()
    (folder / "superevent.json").write_text(
        json.dumps(
            {
                "superevent_id": "S230102a",
                "preferred_event": "../../G900001",
                "gw_events": ["../../G900001"],
                "t_start": T0,
                "t_0": T0 + 1,
                "t_end": T0 + 2,
                "created": T0 + 10,
            }
        )
    )
    expect["superevent naming a path"] = [
        Expect("store", "S230102a", "superevent.json", "refusing event ID")
    ]

    # Burst sky maps: corrupt, and a header with an absurd NSIDE.
    folder = write_event(store, burst_event("G900050", T0 + 50 * 2000 + 1.5))
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 0.0, 0.0)
    data = (folder / "skyprobcc_cWB.fits").read_bytes()
    (folder / "skyprobcc_cWB.fits").write_bytes(data[:4000])
    expect["corrupt burst sky map"] = [
        Expect("preliminary_alert", "*", "skyprobcc_cWB.fits", ".")
    ]
    folder = write_event(store, burst_event("G900051", T0 + 51 * 2000 + 1.5))
    write_absurd_nside_skymap(folder / "skyprobcc_cWB.fits")
    expect["absurd NSIDE in a sky map header"] = [
        Expect("preliminary_alert", "*", "skyprobcc_cWB.fits", "NSIDE 536870912")
    ]

    # Frames: H1 real; L1 a copy of H1's file (no L1 channel); V1 truncated;
    # H1 also has two files around a 2-s gap at FRAME_T0 + 4024.
    frame = (reference / FRAME).read_bytes()
    for ifo, name, content in (
        ("H1", FRAME.rsplit("/", 1)[1], frame),
        ("H1", f"H-H1_llhoft-{FRAME_T0 + 4020}-4.gwf", frame),
        ("H1", f"H-H1_llhoft-{FRAME_T0 + 4026}-4.gwf", frame),
        ("L1", f"L-L1_llhoft-{FRAME_T0}-4.gwf", frame),
        ("V1", f"V-V1_llhoft-{FRAME_T0}-4.gwf", frame[:4000]),
    ):
        (store / "frames" / ifo).mkdir(parents=True, exist_ok=True)
        (store / "frames" / ifo / name).write_bytes(content)
    for graceid, gpstime, instruments in (
        ("G900060", FRAME_T0 + 2.0, "H1,L1,V1"),
        ("G900061", FRAME_T0 + 4024.5, "H1,L1"),
    ):
        event = burst_event(graceid, gpstime, instruments=instruments)
        folder = write_event(store, event)
        write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 200.0, 5.0)
    return expect


def write_absurd_nside_skymap(path):
    """A cWB-like flat sky map whose header claims NSIDE = 2**29."""
    from astropy.io import fits

    write_gaussian_skymap(path, 60.0, 10.0)
    with fits.open(path) as hdus:
        hdus[1].header["NSIDE"] = 2**29
        hdus.writeto(path, overwrite=True)


# --- running it ----------------------------------------------------------------


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def replay(reference_dir, tmp_path_factory):
    """The bad-input store, replayed once; (store, results, status, output, expect)."""
    root = tmp_path_factory.mktemp("bad_inputs")
    store, results = root / "store", root / "results"
    expect = build_store(store, reference_dir)
    configfile = root / "config.yaml"
    configfile.write_text(
        # The sky-map cases expect O3's one preliminary_alert step per superevent.
        "orchestrator_policy: O3\nbayestar_disabled_detectors: [K1]\n"
    )
    status, output = gwreplay(
        "run",
        str(store),
        "--results",
        str(results),
        "--cores",
        "2",
        "--configfile",
        str(configfile),
    )
    (root / "output.txt").write_text(output)
    return store, results, status, output, expect


@pytest.fixture(scope="module")
def superevent_of(replay):
    """GraceID -> superevent ID, from alerts.csv (preferred events)."""
    _, results, _, _, _ = replay
    return {
        row["preferred_event"]: row["superevent_id"]
        for row in read_csv(results / "alerts.csv")
    }


def matches(row, expected):
    """Whether a failures.csv row is the expected failure."""
    return (
        row["stage"] == expected.stage
        and expected.id in ("*", row["id"])  # "*": a superevent job's ID
        and row["file"] == expected.file
        and re.search(expected.reason, row["reason"])
    )


CASES = [
    "empty coinc.xml",
    "truncated coinc.xml",
    "non-XML coinc.xml",
    "coinc.xml without coinc_event",
    "NaN SNR",
    "negative SNR",
    "truncated psd.xml.gz",
    "entity-expansion bomb",
    "external entity",
    "external entity in psd.xml.gz",
    "2 GB coinc.xml",
    "ranking_data.xml.gz of the wrong type",
    "event.json missing a key",
    "event.json wrong type",
    "event.json not UTF-8",
    "event.json not JSON",
    "event.json missing",
    "unknown pipeline",
    "unknown group",
    "burst without MultiBurst.duration",
    "extra_attributes not an object",
    "CBC without CoincInspiral.snr",
    "duplicate GraceID",
    "GraceID with a slash",
    "GraceID with ..",
    "GraceID with a space",
    "GraceID with a control character",
    "GraceID not UTF-8",
    "superevent ID with ..",
    "superevent ID with a space",
    "superevent ID with a control character",
    "superevent naming a path",
    "corrupt burst sky map",
]


@pytest.mark.parametrize("case", CASES)
def test_failure_listed_and_named(replay, superevent_of, case):
    """failures.csv lists the case with its stage, ID, file and reason, and
    the run's output names the event and the file."""
    _, _, status, output, expect = replay
    assert status != 0
    failures = read_csv(replay[1] / "failures.csv")
    for expected in expect[case]:
        found = [row for row in failures if matches(row, expected)]
        assert found, (expected, failures)
        row = found[0]
        assert f"FAILED {row['stage']}: {row['id']}: {row['file']}: " in output


def test_every_failure_is_an_expected_one(replay, superevent_of):
    """Nothing else failed: no good event, no surprise."""
    _, results, _, _, expect = replay
    expected = [e for failures in expect.values() for e in failures]
    failures = read_csv(results / "failures.csv")
    unexplained = [
        row for row in failures if not any(matches(row, e) for e in expected)
    ]
    assert unexplained == []
    # The corrupt sky map is the preferred event's upload: the failure of
    # its superevent's alert names that superevent.
    (row,) = [
        r
        for r in failures
        if "NSIDE" not in r["reason"] and r["stage"] == "preliminary_alert"
    ]
    assert row["id"] in (superevent_of["G900050"], "G900050")


def test_good_events_complete(replay, superevent_of):
    """G211117 and the good bursts get every product; their alerts are sent."""
    _, results, _, _, _ = replay
    event_dir = results / "events" / "G211117"
    assert (event_dir / "bayestar.fits.gz").stat().st_size > 0
    assert (event_dir / "source_classification.json").exists()
    rows = {r["preferred_event"]: r for r in read_csv(results / "alerts.csv")}
    for graceid in ("G211117", "G900001", "G900002", "G900060", "G900061"):
        assert rows[graceid]["status"] == "sent", rows[graceid]
        folder = results / "superevents" / rows[graceid]["superevent_id"]
        alert = json.loads((folder / "alert.json").read_text())
        for name in alert["files"]:
            assert (folder / name).stat().st_size > 0
    # Annotations that do not need the broken file are still made.
    for graceid in ("G900016", "G900019", "G900021"):
        assert (results / "events" / graceid / "source_classification.json").exists()
    # A broken CBC event's superevent is left without an alert.
    assert rows["G900010"]["status"] == "not done"


def test_bad_cbc_uploads_never_reach_bayestar(replay):
    """BAYESTAR's computation ran for G211117 and for none of the broken events."""
    _, results, _, _, expect = replay
    logs = results / "logs" / "bayestar"
    assert "computationally-intensive" in (logs / "G211117.log").read_text()
    broken = {e.id for case in CASES for e in expect[case] if e.stage == "bayestar"}
    assert len(broken) == 11
    for graceid in broken:
        text = (logs / f"{graceid}.log").read_text()
        assert "computationally-intensive" not in text
        assert "BAYESTAR failed" not in text
        assert not (results / "events" / graceid / "bayestar.fits.gz").exists()


def test_frames_missing_gaps_or_without_channel_are_unknown_dq(replay, superevent_of):
    """Missing data is 'unknown' state (no DQOK, no veto), never a failure."""
    _, results, _, _, _ = replay

    def dq(graceid):
        path = results / "superevents" / superevent_of[graceid] / "dq.json"
        return json.loads(path.read_text())

    real = dq("G900060")  # H1 read; L1 file lacks the channel; V1 file truncated
    channels = real["channels"]
    assert channels["H1:GDS-CALIB_STATE_VECTOR"]["status"] == "ok"
    assert "not found" in channels["L1:GDS-CALIB_STATE_VECTOR"]["reason"]
    assert "could not read" in channels["V1:DQ_ANALYSIS_STATE_VECTOR"]["reason"]
    assert real["labels"] == [] and real["vetoed"] is False
    gap = dq("G900061")
    reason = gap["channels"]["H1:GDS-CALIB_STATE_VECTOR"]["reason"]
    assert f"frames of H1 do not cover [{FRAME_T0 + 4024.0!r}, " in reason
    assert gap["labels"] == [] and gap["vetoed"] is False
    missing = dq("G900001")
    assert all(c["status"] == "unknown" for c in missing["channels"].values())
    assert missing["labels"] == [] and missing["vetoed"] is False


def test_absurd_nside_sky_map_is_refused(replay, superevent_of):
    """A header claiming NSIDE = 2**29 is refused before any reader trusts it."""
    _, results, _, output, _ = replay
    sid = superevent_of["G900051"]
    failures = read_csv(results / "failures.csv")
    rows = [r for r in failures if r["file"] == "skyprobcc_cWB.fits"]
    assert any("NSIDE 536870912" in r["reason"] for r in rows), rows
    assert not (results / "superevents" / sid / "alert.json").exists()


def test_single_detector_coinc_is_localisable(reference_dir, tmp_path):
    """A single-detector coinc is a valid BAYESTAR input (gwcelery localises
    it): it loads with one trigger and its PSD, and is classified. (BAYESTAR
    itself is not run here, to keep the suite to one BAYESTAR job.)"""
    from gwreplay.bayestar import load_event
    from gwreplay.em_bright import classify_coinc
    from gwreplay.plan import event_products
    from gwreplay.store import load_store

    ref = reference_dir / "G211117"
    coinc = single_detector_coinc((ref / "coinc.xml").read_text(), "H1")
    write_event(
        tmp_path,
        cbc_event("G900070", 70, instruments="H1"),
        {"coinc.xml": coinc.encode(), "psd.xml.gz": ref / "psd.xml.gz"},
    )
    folder = tmp_path / "events" / "G900070"
    event = load_event("G900070", folder / "coinc.xml", folder / "psd.xml.gz")
    assert [single.detector for single in event.singles] == ["H1"]
    assert event.singles[0].snr > 0 and event.singles[0].psd is not None
    classification = classify_coinc(
        "G900070", folder / "coinc.xml", **conf("gwreplay.em_bright")
    )
    assert set(classification) == {"HasNS", "HasRemnant", "HasMassGap"}
    store = load_store(tmp_path)
    for policy, skymap in (
        ("O3", "bayestar.fits.gz"),
        ("O4", "bayestar.multiorder.fits"),
    ):
        assert event_products(store.events["G900070"], policy=policy)[0] == skymap


# --- resource limits, without the workflow --------------------------------------


def test_huge_sparse_sky_map_refused_without_reading(tmp_path):
    """A 100 GB sparse FITS file is refused on its size, in well under a second."""
    import time

    path = tmp_path / "skyprobcc_cWB.fits"
    write_gaussian_skymap(path, 0.0, 0.0)
    os.truncate(path, 100 * 1024**3)  # sparse: no disk used
    started = time.monotonic()
    with pytest.raises(
        EventInputError, match="^G1: skyprobcc_cWB.fits: file is larger"
    ):
        screen_skymap("G1", path)
    assert time.monotonic() - started < 1.0


def test_sky_map_header_promising_more_than_the_file_is_refused(tmp_path):
    """A flat map whose NSIDE does not match its pixel count, or whose header
    promises more data than the file holds, is refused; a sane one passes."""
    from astropy.io import fits

    path = tmp_path / "LIB.fits"
    write_gaussian_skymap(path, 0.0, 0.0, nside=16)
    screen_skymap("G1", path)
    with fits.open(path) as hdus:
        hdus[1].header["NSIDE"] = 32
        hdus.writeto(path, overwrite=True)
    with pytest.raises(EventInputError, match="NSIDE 32 needs 12288 pixels"):
        screen_skymap("G1", path)
    with fits.open(path) as hdus:
        hdus[1].header["NSIDE"] = 16
        hdus[1].header["NAXIS2"] = 10**6
        hdus.writeto(path, overwrite=True, output_verify="ignore")
    with pytest.raises(EventInputError, match="the file holds"):
        screen_skymap("G1", path)


@pytest.mark.parametrize("policy", ["O4", "O3"])
def test_missing_upload_fails_its_event_not_the_run(tmp_path, policy):
    """A burst without its sky map and a CBC event without coinc.xml are plan
    failures of their own; the good burst beside them still gets its alert."""
    store, results = tmp_path / "store", tmp_path / "results"
    folder = write_event(store, burst_event("G900080", T0 + 101.5))
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 120.0, -30.0)
    write_event(store, burst_event("G900081", T0 + 2101.5))
    write_event(store, cbc_event("G900082", 2, far=5.2e-16))
    status, output = gwreplay(
        "run",
        str(store),
        "--results",
        str(results),
        "--",
        "--config",
        f"orchestrator_policy={policy}",
    )
    assert status != 0
    # Neither of cWB's maps is there: the one the era expects is named.
    skymap = "cwb.multiorder.fits" if policy == "O4" else "skyprobcc_cWB.fits"
    failures = read_csv(results / "failures.csv")
    assert {(r["stage"], r["id"], r["file"]) for r in failures} == {
        ("plan", "G900081", skymap),
        ("plan", "G900082", "coinc.xml"),
    }
    assert all("missing" in r["reason"] for r in failures)
    rows = {r["preferred_event"]: r for r in read_csv(results / "alerts.csv")}
    assert rows["G900080"]["status"] == "sent"
    # Their superevents are processed (DQ checked) and say why no alert went out.
    for graceid, missing in (
        ("G900081", skymap),
        ("G900082", "coinc.xml"),
    ):
        folder = results / "superevents" / rows[graceid]["superevent_id"]
        assert (folder / "dq.json").exists()
        if policy != "O3":
            continue
        # Status "no sky map" and the record's "blocked" are O3's superevent job's.
        assert rows[graceid]["status"] == "no sky map"
        alert = json.loads((folder / "alert.json").read_text())
        assert alert["blocked"] == f"{graceid}: {missing}: file is missing"
        assert alert["notice"] == "" and (folder / "dq.json").exists()


@pytest.mark.parametrize(
    "policy, classification, upstream_explained",
    [
        ("O3", "source_classification", ()),
        # O4's flattened map is made from BAYESTAR's multi-order one: the
        # missing source is the one row.
        ("O4", "em_bright", ("flatten_skymap",)),
    ],
)
def test_job_that_died_without_a_record_is_listed(
    tmp_path, policy, classification, upstream_explained
):
    """At the end of a run, a planned result that is missing with no failure
    record (a job killed by a signal, the OOM killer, a batch limit) is a
    failure of its own; one explained by an upstream failure is not; and
    the temporary files of killed writers are swept."""
    from gwreplay.atomic import write_json
    from gwreplay.plan import make_plan
    from gwreplay.summary import write_summaries

    store, results = tmp_path / "store", tmp_path / "results"
    folder = write_event(store, burst_event("G900090", T0 + 101.5))
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 120.0, -30.0)
    write_event(
        store,
        cbc_event("G900091", 2, far=5.2e-16),
        {"coinc.xml": b"<LIGO_LW/>", "psd.xml.gz": b"x"},
    )
    plan = make_plan(store, results, dict(defaults(), orchestrator_policy=policy))
    burst_sid, cbc_sid = sorted(plan.superevents)
    assert plan.superevents[burst_sid]["preferred_event"] == "G900090"
    for sid in plan.superevents:
        write_json(plan.superevent_result(sid, "superevent.json"), {})
        write_json(plan.superevent_result(sid, "dq.json"), {})
    # The classification job recorded its failure; BAYESTAR's and the burst
    # alert's jobs left nothing.
    write_json(
        results / f".failures/{classification}/G900091.json",
        {
            "rule": classification,
            "key": "G900091",
            "event_id": "G900091",
            "file": "coinc.xml",
            "reason": "broken",
        },
    )
    # A killed writer's temporary file; Snakemake's own files are not ours.
    litter = results / "superevents" / burst_sid / ".tmp-k1ll3d.png"
    litter.write_bytes(b"\x89PNG")
    snakemake_file = results / ".snakemake" / "incomplete" / ".tmp-keep"
    snakemake_file.parent.mkdir(parents=True)
    snakemake_file.write_bytes(b"")
    _, during = write_summaries(plan)
    assert [(r["stage"], r["id"]) for r in during] == [(classification, "G900091")]
    assert litter.exists()
    _, final = write_summaries(plan, final=True)
    assert not litter.exists() and snakemake_file.exists()
    assert [(r["stage"], r["id"], r["file"]) for r in final] == [
        (classification, "G900091", "coinc.xml"),
        ("bayestar", "G900091", "-"),
        ("superevent", burst_sid, "-"),
    ]
    assert not {r["stage"] for r in final} & set(upstream_explained)
    assert "no failure record" in final[1]["reason"]
    assert read_csv(results / "failures.csv") == final
