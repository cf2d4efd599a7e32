"""``gwreplay.dq.check_vector`` against gwcelery 3.0.0's ``detchar.check_vector``.

The frames are MDC frames, written by gwreplay's MDC writer
(:func:`gwreplay.mdc.frames.state_vectors` and ``write_frame``) with bits
cleared as the MDC plans its vetoes and injections, plus the real O2
low-latency frame of the reference data. Every bit of every channel must
agree over windows inside, across the edges of and outside the frames.
"""

from pathlib import Path

import pytest
import yaml

from gwreplay import dq
from gwreplay.mdc import frames

CONFIG = Path(__file__).resolve().parents[2] / "config" / "config.yaml"
#: The workflow's channels and their bit layouts (gwcelery's llhoft_channels).
LLHOFT_CHANNELS = yaml.safe_load(CONFIG.read_text())["llhoft_channels"]

T0 = 1400000000
DURATION = 8
#: Bits cleared, as the MDC's DQ plan writes vetoes and injections.
BAD_BITS = {
    "H1": [
        {
            "channel": "H1:GDS-CALIB_STATE_VECTOR",
            "bit": 1,
            "start": T0 + 3,
            "end": T0 + 3.5,
        },
        {"channel": "H1:DMT-DQ_VECTOR", "bit": 1, "start": T0 + 6, "end": T0 + 6.0625},
    ],
    "L1": [
        {
            "channel": "L1:GDS-CALIB_STATE_VECTOR",
            "bit": 6,
            "start": T0 + 5,
            "end": T0 + 6,
        },
    ],
    "V1": [
        {
            "channel": "V1:DQ_ANALYSIS_STATE_VECTOR",
            "bit": 10,
            "start": T0 + 1,
            "end": T0 + 1.0625,
        },
    ],
}
#: [start, end) windows relative to T0: inside, around each bad stretch,
#: fractional edges, across the frame's ends and outside it.
WINDOWS = [
    (0, 8),
    (0, 1),
    (1, 1.0625),
    (1.0625, 2),
    (0.99, 1.01),
    (2.9, 3.01),
    (3.49, 3.6),
    (3.5, 4),
    (4.5, 5.0),
    (4.9, 5.2),
    (6, 6.0625),
    (6.0625, 7),
    (5.9375, 6.001),
    (7.5, 8),
    (7.5, 9),
    (-1, 0.5),
    (-3, -1),
    (9, 12),
]


@pytest.fixture(scope="module")
def frame_files(tmp_path_factory):
    """One MDC frame per detector, with the bits above cleared."""
    folder = tmp_path_factory.mktemp("mdc-frames")
    paths = {}
    for ifo, bad in BAD_BITS.items():
        arrays = frames.state_vectors(ifo, T0, DURATION, bad, LLHOFT_CHANNELS)
        path = folder / frames.frame_filename(ifo, T0, DURATION)
        frames.write_frame(str(path), ifo, T0, DURATION, arrays)
        paths[ifo] = str(path)
    return paths


def _cases(frame_files, reference_dir):
    cases = []
    for channel, layout in sorted(LLHOFT_CHANNELS.items()):
        path = frame_files[channel[:2]]
        for start, end in WINDOWS:
            cases.append(([path], channel, T0 + start, T0 + end, layout))
    o2 = str(reference_dir / "llhoft" / "H1" / "H-H1_O2_llhoft-1216577976-4.gwf")
    for start, end in [(0, 4), (1, 3), (3.5, 5)]:
        cases.append(
            (
                [o2],
                "H1:GDS-CALIB_STATE_VECTOR",
                1216577976 + start,
                1216577976 + end,
                "ligo_state_vector_bits",
            )
        )
    return cases


def test_check_vector_equals_gwcelerys_bit_by_bit(gwcelery, frame_files, reference_dir):
    cases = _cases(frame_files, reference_dir)
    theirs = gwcelery.call("check_vector", [list(case) for case in cases])
    mismatches, bad_seen = [], 0
    for case, answer in zip(cases, theirs, strict=True):
        paths, channel, start, end, layout = case
        states, _ = dq.check_vector(
            paths, channel, start, end, dq.detchar_bit_definitions[layout]
        )
        ours = {f"{channel[:2]}:{name}": state for name, state in states.items()}
        bad_seen += False in ours.values()
        if answer.get("ok") != ours:
            mismatches.append({"case": case, "gwcelery": answer, "gwreplay": ours})
    assert not mismatches, f"{len(mismatches)} windows differ: {mismatches[:3]}"
    assert bad_seen >= 8, "the windows should catch the cleared bits"
