"""Screening of uploads before any XML parser reads them."""

import gzip

import pytest

from gwreplay.errors import EventInputError
from gwreplay.xmlguard import screen_upload

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<LIGO_LW>&lol2;</LIGO_LW>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><LIGO_LW>&xxe;</LIGO_LW>"""


@pytest.mark.parametrize("content", [BOMB, EXTERNAL, gzip.compress(BOMB)])
def test_entities_refused(tmp_path, content):
    path = tmp_path / "coinc.xml"
    path.write_bytes(content)
    with pytest.raises(EventInputError, match="^G1: coinc.xml: XML declares"):
        screen_upload("G1", path)


def test_size_limits(tmp_path):
    path = tmp_path / "coinc.xml"
    path.write_bytes(b"<LIGO_LW>" + b" " * 5000 + b"</LIGO_LW>")
    with pytest.raises(EventInputError, match="larger than the 1000-byte limit"):
        screen_upload("G1", path, limit=1000)
    gz = tmp_path / "psd.xml.gz"
    gz.write_bytes(gzip.compress(b" " * 50_000))  # ~100 bytes on disk
    with pytest.raises(EventInputError, match="decompressed size exceeds"):
        screen_upload("G1", gz, limit=10_000)


def test_truncated_gzip_and_empty(tmp_path):
    gz = tmp_path / "psd.xml.gz"
    gz.write_bytes(gzip.compress(b"<LIGO_LW>" + b"x" * 10000)[:30])
    with pytest.raises(EventInputError, match="^G1: psd.xml.gz: truncated or corrupt"):
        screen_upload("G1", gz)
    empty = tmp_path / "coinc.xml"
    empty.write_bytes(b"")
    with pytest.raises(EventInputError, match="file is empty"):
        screen_upload("G1", empty)


def test_real_reference_files_pass(reference_dir):
    for name in (
        "G211117/coinc.xml",
        "G211117/psd.xml.gz",
        "G322589/ranking_data.xml.gz",
    ):
        screen_upload("G", reference_dir / name)
