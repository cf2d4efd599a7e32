"""The state-vector check against a real O2 frame and frames written with gwpy.

Synthetic frames hold 16-Hz state vectors. Bit values by hand:
LIGO GDS-CALIB_STATE_VECTOR good = bits 0, 1, 5, 6, 7, 8 = 1+2+32+64+128+256 = 483;
Virgo DQ_ANALYSIS_STATE_VECTOR good = 483 + bit 10 (1024) = 1507;
LIGO DMT-DQ_VECTOR good = bits 1, 2 = 6.
"""

import json

import numpy as np
import pytest
from builders import with_defaults
from gwpy.timeseries import StateVector, TimeSeries, TimeSeriesDict
from igwn_segments import segment

from gwreplay import dq

check_vectors = with_defaults(dq.check_vectors, "gwreplay.dq")

T0 = 1000000000
RATE = 16
LIGO_GOOD = 483
VIRGO_GOOD = 1507
DMT_GOOD = 6

#: Superevent [T0+7, T0+9]: the gstlal window is [T0+5, T0+11) (2 s each side).
SUPEREVENT = {"superevent_id": "S010914a", "t_start": T0 + 7.0, "t_end": T0 + 9.0}


def event(instruments="H1,L1", pipeline="gstlal", search="AllSky"):
    return {
        "graceid": "G1",
        "pipeline": pipeline,
        "search": search,
        "instruments": instruments,
    }


def state(value, duration=16, dtype=np.uint32):
    return np.full(duration * RATE, value, dtype=dtype)


def write_frame(store, ifo, channels, start=T0, duration=16):
    """Write one llhoft-like frame ``<I>-<IFO>_llhoft-<start>-<duration>.gwf``."""
    folder = store / "frames" / ifo
    folder.mkdir(parents=True, exist_ok=True)
    data = TimeSeriesDict()
    for name, values in channels.items():
        cls = StateVector if np.issubdtype(values.dtype, np.integer) else TimeSeries
        data[name] = cls(values, t0=start, sample_rate=RATE, name=name, channel=name)
    path = folder / f"{ifo[0]}-{ifo}_llhoft-{start}-{duration}.gwf"
    data.write(str(path))
    return path


def good_frames(store, **overrides):
    """H1, L1 and V1 frames over [T0, T0+16) with all bits on, unless overridden."""
    channels = {
        "H1": {
            "H1:GDS-CALIB_STATE_VECTOR": state(LIGO_GOOD),
            "H1:DMT-DQ_VECTOR": state(6),
        },
        "L1": {
            "L1:GDS-CALIB_STATE_VECTOR": state(LIGO_GOOD),
            "L1:DMT-DQ_VECTOR": state(6),
        },
        "V1": {"V1:DQ_ANALYSIS_STATE_VECTOR": state(VIRGO_GOOD)},
    }
    for name, values in overrides.items():
        channels[name[:2]][name] = values
    for ifo, chans in channels.items():
        write_frame(store, ifo, chans)


def with_sample(values, gps, value):
    """``values`` with the sample at ``gps`` replaced by ``value``."""
    values = values.copy()
    values[int(round((gps - T0) * RATE))] = value
    return values


# --- the real O2 frame -----------------------------------------------------

O2_TIME = 1216577978.0  # the frame spans [1216577976, 1216577980)


def o2_glob(reference_dir):
    return str(reference_dir / "llhoft" / "{detector}" / "*.gwf")


def test_real_o2_frame_is_good(reference_dir, tmp_path):
    superevent = {"t_start": O2_TIME, "t_end": O2_TIME}
    result = check_vectors(
        superevent,
        event(instruments="H1"),
        store=tmp_path,
        llhoft_glob=o2_glob(reference_dir),
    )
    assert result["labels"] == ["DQOK"]
    assert result["vetoed"] is False and result["checked"] is True
    assert result["window"] == [O2_TIME - 2, O2_TIME + 2]
    h1 = result["channels"]["H1:GDS-CALIB_STATE_VECTOR"]
    assert h1 == {
        "status": "ok",
        "active": True,
        "bits": {
            "HOFT_OK": True,
            "OBSERVATION_INTENT": True,
            "NO_STOCH_HW_INJ": True,
            "NO_CBC_HW_INJ": True,
            "NO_BURST_HW_INJ": True,
            "NO_DETCHAR_HW_INJ": True,
        },
        "reason": None,
    }
    # gstlal analyses gated h(t): DMT-DQ_VECTOR is not checked.
    assert "H1:DMT-DQ_VECTOR" not in result["channels"]
    assert result["summary"] == (
        "detector state for active instruments is good. For all instruments, "
        "bits good (H1:HOFT_OK, H1:OBSERVATION_INTENT), bad (), "
        "unknown(L1:HOFT_OK, L1:OBSERVATION_INTENT, V1:HOFT_OK, "
        "V1:OBSERVATION_INTENT, V1:GOOD_DATA_QUALITY_CAT1) within -2/+2 seconds "
        "of superevent. Pipeline gstlal uses gated h(t), LIGO DMT-DQ_VECTOR "
        "not checked."
    )
    assert result["injection_summary"] == (
        "Injection state unknown within -2/+2 seconds of superevent"
    )


def test_real_o2_frame_dmt_vector_for_ungated_pipeline(reference_dir, tmp_path):
    # oLIB pads 0.5 s: [O2_TIME - 1.5 - 0.5, O2_TIME + 1.5 + 0.5] is the frame.
    superevent = {"t_start": O2_TIME - 1.5, "t_end": O2_TIME + 1.5}
    result = check_vectors(
        superevent,
        event(instruments="H1", pipeline="oLIB"),
        store=tmp_path,
        llhoft_glob=o2_glob(reference_dir),
    )
    assert result["labels"] == ["DQOK"]
    assert result["channels"]["H1:DMT-DQ_VECTOR"]["bits"] == {
        "NO_OMC_DCPD_ADC_OVERFLOW": True,
        "NO_DMT-ETMY_ESD_DAC_OVERFLOW": True,
    }
    assert result["summary"].endswith("within -0.5/+0.5 seconds of superevent")


def test_real_o2_frame_without_l1_is_unknown(reference_dir, tmp_path):
    result = check_vectors(
        {"t_start": O2_TIME, "t_end": O2_TIME},
        event(instruments="H1,L1"),
        store=tmp_path,
        llhoft_glob=o2_glob(reference_dir),
    )
    assert result["labels"] == []
    assert result["vetoed"] is False
    assert result["summary"].startswith(
        "detector state for active instruments is unknown."
    )


# --- synthetic frames ------------------------------------------------------


def test_all_good(tmp_path):
    good_frames(tmp_path)
    result = check_vectors(SUPEREVENT, event(), store=tmp_path)
    assert result["labels"] == ["DQOK"]
    assert result["window"] == [T0 + 5.0, T0 + 11.0]
    assert {c: v["status"] for c, v in result["channels"].items()} == {
        "H1:GDS-CALIB_STATE_VECTOR": "ok",
        "L1:GDS-CALIB_STATE_VECTOR": "ok",
        "V1:DQ_ANALYSIS_STATE_VECTOR": "ok",
    }
    assert result["injection_summary"] == (
        "No HW injections found within -2/+2 seconds of superevent"
    )


def test_bad_bit_in_active_detector_vetoes(tmp_path):
    # One sample at T0+10 (inside [T0+5, T0+11)) without HOFT_OK (bit 0).
    bad = with_sample(state(LIGO_GOOD), T0 + 10, LIGO_GOOD - 1)
    good_frames(tmp_path, **{"L1:GDS-CALIB_STATE_VECTOR": bad})
    result = check_vectors(SUPEREVENT, event(), store=tmp_path)
    assert result["labels"] == ["DQV"]
    assert result["vetoed"] is True
    l1 = result["channels"]["L1:GDS-CALIB_STATE_VECTOR"]
    assert l1["status"] == "bad" and l1["active"] is True
    assert l1["bits"]["HOFT_OK"] is False
    assert l1["bits"]["OBSERVATION_INTENT"] is True
    assert "bad (L1:HOFT_OK)" in result["summary"]
    assert result["summary"].startswith("detector state for active instruments is bad.")


@pytest.mark.parametrize(
    "pipeline, labels",
    [
        ("gstlal", ["DQV"]),  # window [T0+5, T0+11) contains T0+10
        ("CWB", ["DQOK"]),  # window [T0+6.5, T0+9.5) does not
    ],
)
def test_window_padding_depends_on_pipeline(tmp_path, pipeline, labels):
    bad = with_sample(state(LIGO_GOOD), T0 + 10, LIGO_GOOD - 2)  # no OBSERVATION_INTENT
    good_frames(tmp_path, **{"H1:GDS-CALIB_STATE_VECTOR": bad})
    result = check_vectors(SUPEREVENT, event(pipeline=pipeline), store=tmp_path)
    assert result["labels"] == labels


def test_bad_sample_just_after_the_window_is_ignored(tmp_path):
    # The window is [T0+5, T0+11): the sample at T0+11 is outside.
    bad = with_sample(state(LIGO_GOOD), T0 + 11, 0)
    good_frames(tmp_path, **{"H1:GDS-CALIB_STATE_VECTOR": bad})
    assert check_vectors(SUPEREVENT, event(), store=tmp_path)["labels"] == ["DQOK"]


def test_bad_bit_only_in_inactive_detector_does_not_veto(tmp_path):
    bad = with_sample(state(VIRGO_GOOD), T0 + 8, VIRGO_GOOD - 1024)  # no CAT1
    good_frames(tmp_path, **{"V1:DQ_ANALYSIS_STATE_VECTOR": bad})
    result = check_vectors(SUPEREVENT, event(instruments="H1,L1"), store=tmp_path)
    assert result["labels"] == ["DQOK"]
    v1 = result["channels"]["V1:DQ_ANALYSIS_STATE_VECTOR"]
    assert v1["status"] == "bad" and v1["active"] is False
    assert "bad (V1:GOOD_DATA_QUALITY_CAT1)" in result["summary"]
    # With V1 active the same data vetoes.
    active = check_vectors(SUPEREVENT, event(instruments="H1,L1,V1"), store=tmp_path)
    assert active["labels"] == ["DQV"]


def test_injection_bit_in_active_detector(tmp_path):
    injecting = state(LIGO_GOOD - 64)  # NO_CBC_HW_INJ (bit 6) cleared
    good_frames(tmp_path, **{"H1:GDS-CALIB_STATE_VECTOR": injecting})
    result = check_vectors(SUPEREVENT, event(), store=tmp_path)
    assert result["labels"] == ["DQOK", "INJ"]  # an injection is not bad data
    assert result["vetoed"] is False
    h1 = result["channels"]["H1:GDS-CALIB_STATE_VECTOR"]
    assert h1["status"] == "ok"
    assert h1["bits"]["NO_CBC_HW_INJ"] is False
    assert result["injection_summary"] == (
        "Looking across all ifos, H1:NO_CBC_HW_INJ is False. No other HW "
        "injections found within -2/+2 seconds of superevent"
    )


def test_injection_bit_in_inactive_detector_only(tmp_path):
    good_frames(tmp_path, **{"V1:DQ_ANALYSIS_STATE_VECTOR": state(VIRGO_GOOD - 128)})
    result = check_vectors(SUPEREVENT, event(instruments="H1,L1"), store=tmp_path)
    assert result["labels"] == ["DQOK"]
    assert "V1:NO_BURST_HW_INJ is False" in result["injection_summary"]


def test_no_frames_is_unknown(tmp_path):
    result = check_vectors(SUPEREVENT, event(), store=tmp_path)
    assert result["labels"] == [] and result["vetoed"] is False
    assert result["checked"] is True
    for info in result["channels"].values():
        assert info["status"] == "unknown"
        assert set(info["bits"].values()) == {None}
        assert info["reason"].startswith("no frame files for ")


def test_gap_in_frames_is_unknown(tmp_path):
    good_frames(tmp_path)
    l1 = tmp_path / "frames" / "L1"
    for path in l1.iterdir():
        path.unlink()
    # L1 covers [T0, T0+8) and [T0+10, T0+16): a gap inside [T0+5, T0+11).
    chans = {"L1:GDS-CALIB_STATE_VECTOR": state(LIGO_GOOD, 8)}
    write_frame(tmp_path, "L1", chans, start=T0, duration=8)
    chans = {"L1:GDS-CALIB_STATE_VECTOR": state(LIGO_GOOD, 6)}
    write_frame(tmp_path, "L1", chans, start=T0 + 10, duration=6)
    result = check_vectors(SUPEREVENT, event(), store=tmp_path)
    info = result["channels"]["L1:GDS-CALIB_STATE_VECTOR"]
    assert info["status"] == "unknown"
    assert info["reason"] == "frames of L1 do not cover [1000000008.0, 1000000010.0)"
    assert result["labels"] == []  # L1 is active: unknown, no veto


def test_frames_ending_inside_the_window_are_unknown(tmp_path):
    chans = {"H1:GDS-CALIB_STATE_VECTOR": state(LIGO_GOOD, 10)}
    write_frame(tmp_path, "H1", chans, start=T0, duration=10)
    result = check_vectors(SUPEREVENT, event(instruments="H1"), store=tmp_path)
    info = result["channels"]["H1:GDS-CALIB_STATE_VECTOR"]
    assert info["reason"] == "frames of H1 do not cover [1000000010.0, 1000000011.0)"
    assert result["labels"] == []


def test_frame_without_the_channel_is_unknown(tmp_path):
    good_frames(tmp_path)
    for path in (tmp_path / "frames" / "L1").iterdir():
        path.unlink()
    strain = np.zeros(16 * RATE, dtype=np.float64)
    write_frame(tmp_path, "L1", {"L1:GDS-CALIB_STRAIN": strain})
    result = check_vectors(SUPEREVENT, event(), store=tmp_path)
    info = result["channels"]["L1:GDS-CALIB_STATE_VECTOR"]
    assert info["status"] == "unknown"
    assert "not found" in info["reason"]
    assert result["labels"] == []


def test_mdc_events_are_skipped(tmp_path):
    good_frames(tmp_path, **{"H1:GDS-CALIB_STATE_VECTOR": state(0)})
    result = check_vectors(SUPEREVENT, event(search="MDC"), store=tmp_path)
    assert result["checked"] is False
    assert result["labels"] == [] and result["channels"] == {}
    assert result["summary"] == "Skipping detchar checks because G1 is an MDC"


def test_only_frames_overlapping_the_window_are_opened(tmp_path):
    good_frames(tmp_path)
    # Not a frame at all, but named as if it held [T0+100, T0+104).
    (tmp_path / "frames" / "H1" / "H-H1_llhoft-1000000100-4.gwf").write_bytes(b"junk")
    assert check_vectors(SUPEREVENT, event(), store=tmp_path)["labels"] == ["DQOK"]
    # The same junk named into the window makes H1 unknown, with the reason.
    (tmp_path / "frames" / "H1" / "H-H1_llhoft-1000000004-2.gwf").write_bytes(b"junk")
    result = check_vectors(SUPEREVENT, event(), store=tmp_path)
    info = result["channels"]["H1:GDS-CALIB_STATE_VECTOR"]
    assert info["status"] == "unknown"
    assert info["reason"].startswith("could not read H1:GDS-CALIB_STATE_VECTOR")


def test_frames_found_by_file_name_span():
    frames = [
        (segment(T0, T0 + 4), "a"),
        (segment(T0 + 4, T0 + 8), "b"),
        (segment(T0 + 8, T0 + 12), "c"),
    ]
    paths, missing = dq.select_frames(frames, T0 + 3.5, T0 + 6)
    assert paths == ["a", "b"] and not missing
    paths, missing = dq.select_frames(frames, T0 + 10, T0 + 14)
    assert paths == ["c"] and list(missing) == [(T0 + 12, T0 + 14)]


def test_virgo_float_state_vector(tmp_path):
    # Virgo has written its state vector as floating point; CAT1 off at T0+9.
    values = with_sample(state(VIRGO_GOOD), T0 + 9, VIRGO_GOOD - 1024)
    good_frames(tmp_path, **{"V1:DQ_ANALYSIS_STATE_VECTOR": values.astype(np.float64)})
    result = check_vectors(SUPEREVENT, event(instruments="H1,L1,V1"), store=tmp_path)
    assert result["labels"] == ["DQV"]
    bits = result["channels"]["V1:DQ_ANALYSIS_STATE_VECTOR"]["bits"]
    assert bits["GOOD_DATA_QUALITY_CAT1"] is False and bits["HOFT_OK"] is True


@pytest.mark.parametrize("pipeline, labels", [("gstlal", ["DQOK"]), ("oLIB", ["DQV"])])
def test_dmt_vector_checked_only_for_ungated_pipelines(tmp_path, pipeline, labels):
    # NO_OMC_DCPD_ADC_OVERFLOW (bit 1) off: 6 - 2 = 4. oLIB's window is
    # [T0+6.5, T0+9.5), so the overflow is put at T0+8.
    dmt = with_sample(state(DMT_GOOD), T0 + 8, 4)
    good_frames(tmp_path, **{"H1:DMT-DQ_VECTOR": dmt})
    result = check_vectors(SUPEREVENT, event(pipeline=pipeline), store=tmp_path)
    assert result["labels"] == labels
    assert ("H1:DMT-DQ_VECTOR" in result["channels"]) is (pipeline == "oLIB")


def test_unknown_pipeline_is_a_configuration_error(tmp_path):
    with pytest.raises(KeyError, match="check_vector_prepost"):
        check_vectors(SUPEREVENT, event(pipeline="nope"), store=tmp_path)
    # Pipeline names match case-insensitively (gwcelery's conf says MBTAOnline).
    result = check_vectors(SUPEREVENT, event(pipeline="mbtaonline"), store=tmp_path)
    assert result["window"] == [T0 + 5.0, T0 + 11.0]


def test_store_path_with_glob_characters(tmp_path):
    store = tmp_path / "run[1]"
    good_frames(store)
    assert check_vectors(SUPEREVENT, event(), store=store)["labels"] == ["DQOK"]


def test_write_dq_is_canonical_json(tmp_path):
    good_frames(tmp_path)
    result = check_vectors(SUPEREVENT, event(), store=tmp_path)
    path = tmp_path / "out" / "dq.json"
    dq.write_dq(path, result)
    text = path.read_text()
    assert json.loads(text) == result
    assert text == json.dumps(result, indent=2, sort_keys=True) + "\n"
