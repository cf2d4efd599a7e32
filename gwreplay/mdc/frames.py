"""Low-latency state-vector frames (llhoft) of the simulated detectors.

For every candidate we write, per detector, one GWF file named like the real
low-latency h(t) frames (``H-H1_llhoft-<gps>-<duration>.gwf``, LIGO-T050017)
under ``STORE/frames/<IFO>/``, holding that detector's state-vector channels
of gwcelery's ``llhoft_channels`` at 16 Hz:

* ``H1:GDS-CALIB_STATE_VECTOR`` / ``L1:...`` with ``ligo_state_vector_bits``,
* ``H1:DMT-DQ_VECTOR`` / ``L1:...`` with ``dmt_dq_vector_bits``,
* ``V1:DQ_ANALYSIS_STATE_VECTOR`` with ``virgo_state_vector_bits``,

bit layouts as in gwcelery (``gwcelery.tasks.detchar``). Every defined bit is
on ("good") except where the DQ plan clears one over a time window.

Files are written with gwpy (LALFrame/FrameL backend). FrameL stamps the
wall-clock time into the frame's FrHistory record; to keep the store
byte-identical for a given seed we set that time to the frame's start time
and recompute the CRC checksums FrameL uses (POSIX ``cksum``, LIGO-T970130).
"""

import math
import os
import struct
import tempfile

import numpy as np

from ..atomic import write_bytes
from ..dq import detchar_bit_definitions as _DETCHAR_LAYOUTS

#: Sample rate of the state vectors (Hz).
SAMPLE_RATE = 16

#: gwcelery's bit layouts (bit number -> name), as the state-vector check
#: reads them (:data:`gwreplay.dq.detchar_bit_definitions`).
detchar_bit_definitions = {
    name: layout["bits"] for name, layout in _DETCHAR_LAYOUTS.items()
}

#: Frame name (FrameH.name) per observatory.
FRAME_NAMES = {"H": "LIGO", "L": "LIGO", "V": "Virgo", "K": "KAGRA"}


def detector_channels(ifo, llhoft_channels):
    """``[(channel, bits), ...]`` of one detector, sorted by channel name."""
    return [
        (channel, detchar_bit_definitions[layout])
        for channel, layout in sorted(llhoft_channels.items())
        if channel.split(":")[0] == ifo
    ]


def find_bit(ifo, bit_name, llhoft_channels):
    """``(channel, bit number)`` of the bit named ``bit_name`` in detector ``ifo``."""
    for channel, bits in detector_channels(ifo, llhoft_channels):
        for number, name in bits.items():
            if name == bit_name:
                return channel, number
    raise KeyError(f"{ifo} has no state-vector bit {bit_name!r}")


def nominal_word(bits):
    """State-vector value with every defined bit on."""
    return sum(1 << number for number in bits)


def frame_span(gpstime, pad):
    """Integer ``(start, duration)`` of a frame covering ``gpstime +/- pad``."""
    start = math.floor(gpstime - pad)
    return start, math.ceil(gpstime + pad) - start


def frame_filename(ifo, start, duration):
    """Frame file name following LIGO-T050017, as llhoft frames are named."""
    return f"{ifo[0]}-{ifo}_llhoft-{int(start)}-{int(duration)}.gwf"


def sample_slice(start, window_start, window_end):
    """Samples of a 16 Hz series starting at ``start`` that lie in the window."""
    first = max(0, math.floor((window_start - start) * SAMPLE_RATE))
    last = max(first, math.ceil((window_end - start) * SAMPLE_RATE))
    return slice(first, last)


def state_vectors(ifo, start, duration, bad_bits, llhoft_channels):
    """Channel -> uint32 samples for one detector's frame.

    ``bad_bits`` is a list of dicts with ``channel``, ``bit``, ``start`` and
    ``end``: that bit is cleared for the samples in ``[start, end)``.
    """
    n = int(duration * SAMPLE_RATE)
    arrays = {}
    for channel, bits in detector_channels(ifo, llhoft_channels):
        arrays[channel] = np.full(n, nominal_word(bits), dtype=np.uint32)
    for bad in bad_bits:
        if bad["channel"] in arrays:
            window = sample_slice(start, bad["start"], bad["end"])
            arrays[bad["channel"]][window] &= np.uint32(~(1 << bad["bit"]) & 0xFFFFFFFF)
    return arrays


def write_frame(path, ifo, start, duration, arrays):
    """Write the state vectors ``arrays`` of ``ifo`` to GWF file ``path`` atomically."""
    from gwpy.timeseries import StateVector, StateVectorDict

    vectors = StateVectorDict()
    for channel, samples in arrays.items():
        vectors[channel] = StateVector(
            samples, t0=start, sample_rate=SAMPLE_RATE, name=channel, channel=channel
        )
    with tempfile.TemporaryDirectory(prefix="gwreplay-mdc-") as tmp:
        scratch = os.path.join(tmp, os.path.basename(path))
        vectors.write(
            scratch,
            format="gwf",
            start=start,
            end=start + duration,
            name=FRAME_NAMES.get(ifo[0], "gwreplay"),
        )
        with open(scratch, "rb") as f:
            data = f.read()
    write_bytes(path, pin_history_time(data, int(start)))


# --------------------------------------------------------------------------
# Reproducible GWF: FrHistory time and checksums.
# --------------------------------------------------------------------------

_FRAME_HEADER_BYTES = 40  # FrHeader of frame format version 8
_STRUCTURE_HEADER = struct.Struct("<QBBI")  # length, chkType, class, instance
_CRC_TABLE = []
for _i in range(256):
    _c = _i << 24
    for _ in range(8):
        _c = ((_c << 1) ^ 0x04C11DB7) if _c & 0x80000000 else (_c << 1)
    _CRC_TABLE.append(_c & 0xFFFFFFFF)


def posix_cksum(data):
    """CRC-32 of POSIX ``cksum`` (the frame format's checksum)."""
    crc = 0
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) ^ byte) & 0xFF]
    length = len(data)
    while length:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) ^ length) & 0xFF]
        length >>= 8
    return ~crc & 0xFFFFFFFF


def _read_string(data, offset):
    """A frame STRING (INT_2U length incl. NUL, then bytes): (text, next offset)."""
    (length,) = struct.unpack_from("<H", data, offset)
    text = bytes(data[offset + 2 : offset + 2 + length]).rstrip(b"\0").decode()
    return text, offset + 2 + length


def pin_history_time(data, gps):
    """Set every FrHistory time of GWF ``data`` to ``gps``; fix the checksums."""
    data = bytearray(data)
    if data[:5] != b"IGWD\0" or data[5] != 8:
        raise ValueError("not a version-8 GWF file")
    history_class = None
    offset = _FRAME_HEADER_BYTES
    while offset < len(data):
        length, checksum_type, klass, _ = _STRUCTURE_HEADER.unpack_from(data, offset)
        body = offset + _STRUCTURE_HEADER.size
        if klass == 1:  # FrSH: a structure definition (name, class id, ...)
            name, after = _read_string(data, body)
            if name == "FrHistory":
                (history_class,) = struct.unpack_from("<H", data, after)
        elif klass == history_class:
            _, time_offset = _read_string(data, body)
            struct.pack_into("<I", data, time_offset, gps)
            if checksum_type:
                end = offset + length - 4
                struct.pack_into("<I", data, end, posix_cksum(data[offset:end]))
        offset += length
    if struct.unpack_from("<I", data, len(data) - 4)[0]:  # file checksum in use
        struct.pack_into("<I", data, len(data) - 4, posix_cksum(data[:-4]))
    return bytes(data)
