"""Tests of the Avro form of the IGWN alert (gwreplay.avro_alert)."""

import base64
import copy
import io
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import fastavro
import pytest
from builders import BURST_EVENT, G211117_EVENT, with_defaults, write_gaussian_skymap

from gwreplay.avro_alert import (
    ALERT_AVSC,
    avro_record,
    load_avro_schema,
    read_avro_alert,
    sync_marker,
    write_avro_alert,
)
from gwreplay.errors import EventInputError
from gwreplay.gwalert import build_gwalert, multiorder_fits_bytes

build_gwalert = with_defaults(build_gwalert, "gwreplay.voevent")

EM_BRIGHT = {"HasNS": 0.0, "HasRemnant": 0.0, "HasMassGap": 0.01}
P_ASTRO = {"BNS": 0.0, "NSBH": 0.0, "BBH": 0.99, "Terrestrial": 0.01}
ORACLE = Path.home() / ".cache/gwreplay/oracle-gwcelery-3.0.0/bin/python"


def package_avsc():
    """The Alert .avsc file as shipped by igwn-gwalert-schema, as JSON."""
    path = resources.files("igwn_gwalert_schema") / ALERT_AVSC
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def multiorder(tmp_path_factory):
    """A multi-order FITS sky map (a Gaussian blob made by ligo.skymap)."""
    directory = tmp_path_factory.mktemp("skymaps")
    flat = directory / "bayestar.fits.gz"
    write_gaussian_skymap(flat, 150.0, 30.0, nside=16)
    path = directory / "bayestar.multiorder.fits"
    path.write_bytes(multiorder_fits_bytes(flat, "S170810a"))
    return path


def cbc_alert(skymap, superevent_id="S170810a", **kwargs):
    """The JSON alert of G211117 as the preferred event of ``superevent_id``."""
    superevent = {"superevent_id": superevent_id, "t_0": G211117_EVENT["gpstime"]}
    return build_gwalert(
        superevent,
        G211117_EVENT,
        skymap,
        EM_BRIGHT,
        P_ASTRO,
        G211117_EVENT["gpstime"] + 30.0,
        **kwargs,
    )


def burst_alert(skymap):
    superevent = {"superevent_id": "S170810b", "t_0": BURST_EVENT["gpstime"]}
    return build_gwalert(
        superevent, BURST_EVENT, skymap, None, None, BURST_EVENT["gpstime"] + 60.0
    )


def assert_same_content(record, alert):
    """The Avro record carries the JSON alert field by field."""
    event = alert["event"]
    assert set(record) == {field["name"] for field in package_avsc()["fields"]}
    for key in ("alert_type", "time_created", "superevent_id", "urls"):
        assert record[key] == alert[key], key
    assert record["external_coinc"] is None and alert["external_coinc"] is None
    for key, value in event.items():
        if key == "skymap":
            assert record["event"][key] == base64.b64decode(value, validate=True)
        else:
            assert record["event"][key] == value, key
    assert set(record["event"]) - set(event) == {"mchirp_source"}
    assert record["event"]["mchirp_source"] is None


def test_the_schema_is_the_packages():
    avsc = package_avsc()
    schema, named = load_avro_schema()
    assert schema["name"] == f"{avsc['namespace']}.{avsc['name']}"
    assert [f["name"] for f in schema["fields"]] == [f["name"] for f in avsc["fields"]]
    assert schema == fastavro.parse_schema(avsc)
    alert_type = next(f["type"] for f in avsc["fields"] if f["name"] == "alert_type")
    assert named["igwn.alerts.AlertType"]["symbols"] == alert_type["symbols"]
    assert "PRELIMINARY" in alert_type["symbols"]


@pytest.mark.parametrize("kind", ["cbc", "burst"])
def test_avro_decodes_to_the_json_alert(kind, multiorder, tmp_path):
    alert = cbc_alert(multiorder) if kind == "cbc" else burst_alert(multiorder)
    path = tmp_path / "alert.avro"
    written = write_avro_alert(path, copy.deepcopy(alert), alert_number=1)
    record = read_avro_alert(path)
    assert record == written
    assert_same_content(record, alert)
    skymap = record["event"]["skymap"]
    assert skymap == multiorder.read_bytes() == multiorder_fits_bytes(multiorder)
    assert skymap[:6] == b"SIMPLE"
    with open(path, "rb") as f:
        reader = fastavro.reader(f)
        header_schema = reader.writer_schema
        codec = reader.metadata["avro.codec"]
        keys = set(reader.metadata)
    assert fastavro.parse_schema(header_schema) == fastavro.parse_schema(package_avsc())
    assert (codec, keys) == ("null", {"avro.codec", "avro.schema"})


def test_record_follows_the_schemas_types(multiorder):
    alert = burst_alert(multiorder)
    record = avro_record(alert)
    assert isinstance(record["event"]["skymap"], bytes)
    assert record["event"]["properties"] == {} == record["event"]["classification"]
    assert (
        record["event"]["duration"]
        == BURST_EVENT["extra_attributes"]["MultiBurst"]["duration"]
    )
    assert avro_record(dict(alert, event=None))["event"] is None


def test_a_retraction_has_no_event(multiorder, tmp_path):
    """A retraction's JSON alert (gwcelery: the base dict) has event null."""
    alert = dict(cbc_alert(multiorder), alert_type="RETRACTION", event=None)
    alert["urls"] = {"gracedb": alert["urls"]["gracedb"]}
    path = tmp_path / "S170810a-2-Retraction.avro"
    write_avro_alert(path, alert, alert_number=2)
    assert read_avro_alert(path) == alert


def test_writes_are_byte_identical_and_atomic(multiorder, tmp_path):
    path = tmp_path / "S170810a-1-Preliminary.avro"
    write_avro_alert(path, cbc_alert(multiorder), alert_number=1)
    first = path.read_bytes()
    write_avro_alert(path, cbc_alert(multiorder), alert_number=1)
    assert path.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    marker = sync_marker("S170810a", 1)
    assert len(marker) == 16
    assert first[-16:] == marker and first.count(marker) == 2  # header, block


def test_the_sync_marker_is_the_notices(multiorder, tmp_path):
    markers = set()
    for superevent_id, number in (("S170810a", 1), ("S170810c", 1), ("S170810a", 2)):
        path = tmp_path / f"{superevent_id}-{number}.avro"
        write_avro_alert(
            path, cbc_alert(multiorder, superevent_id), alert_number=number
        )
        markers.add(path.read_bytes()[-16:])
        assert path.read_bytes()[-16:] == sync_marker(superevent_id, number)
    assert len(markers) == 3


def test_invalid_records_are_refused(multiorder, tmp_path):
    path = tmp_path / "S170810a-1-Preliminary.avro"
    bad = dict(cbc_alert(multiorder), alert_type="BOGUS")
    with pytest.raises(
        EventInputError,
        match=r"^S170810a: S170810a-1-Preliminary\.avro: not a valid IGWN Avro "
        r"alert: .*alert_type",
    ):
        write_avro_alert(path, bad, alert_number=1)
    bad = cbc_alert(multiorder)
    bad["event"]["far"] = "rare"
    with pytest.raises(EventInputError, match=r"far"):
        write_avro_alert(path, bad, alert_number=1)
    bad = cbc_alert(multiorder)
    bad["event"]["skymap"] = "not base64!"
    with pytest.raises(EventInputError, match=r"alert\.event\.skymap: not base64"):
        write_avro_alert(path, bad, alert_number=1)
    bad = dict(cbc_alert(multiorder), extra="field")
    with pytest.raises(EventInputError, match=r"not in the Avro schema: extra"):
        write_avro_alert(path, bad, alert_number=1)
    assert not list(tmp_path.iterdir())


def test_read_refuses_a_file_without_one_alert(tmp_path):
    path = tmp_path / "empty.avro"
    with open(path, "wb") as f:
        fastavro.writer(f, load_avro_schema()[0], [])
    with pytest.raises(ValueError, match="0 records"):
        read_avro_alert(path)


# --- gwcelery 3.0.0's own Avro path (the oracle environment) --------------------

#: Run under the oracle's python: gwcelery 3.0.0's ``alerts._send`` with an
#: Avro broker (identity skymap_encoder, bootsteps.AvroBlobWrapper), its
#: schema parsed as ``bootsteps.schema()`` does but from this package's file
#: (the oracle has no igwn-gwalert-schema; gwcelery names 1.0's files), and
#: hop's AvroBlob decoding gwreplay's file.
ORACLE_SCRIPT = r"""
import base64, io, json, sys, warnings
warnings.simplefilter("ignore")
request = json.load(sys.stdin)
saved, sys.stdout = sys.stdout, io.StringIO()
try:
    import gwcelery
    from fastavro.schema import parse_schema
    from gwcelery import app
    from gwcelery.kafka import bootsteps
    from gwcelery.tasks import alerts
finally:
    sys.stdout = saved
with open(request["avsc"]) as f:
    schema = parse_schema(json.load(f), {}, expand=True)
bootsteps.schema = lambda: schema
class Stream:
    serialization_model = bootsteps.AvroBlobWrapper
    def write(self, payload):
        self.payload = payload
app.conf["kafka_alert_config"] = {
    "scimma": {"url": "kafka://replay/", "suffix": "avro",
               "skymap_encoder": lambda b: b}}
app.conf["kafka_streams"] = {"scimma": Stream()}
alert = request["alert"]
skymap = base64.b64decode(alert["event"].pop("skymap"))
payload = alerts._send(alert, skymap, "scimma")
with open(request["avro"], "rb") as f:
    decoded = bootsteps.AvroBlob.deserialize(f.read()).content
def plain(value):
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
print(json.dumps({
    "version": gwcelery.__version__,
    "serialized": base64.b64encode(payload.serialize()["content"]).decode(),
    "decoded": plain(decoded),
}))
"""


def oracle_python():
    python = Path(os.environ.get("GWREPLAY_ORACLE_PYTHON", ORACLE))
    if not python.exists():
        pytest.skip(f"gwcelery 3.0.0 oracle python {python} absent (make oracle)")
    return python


def bytes_back(value):
    if isinstance(value, dict) and set(value) == {"bytes"}:
        return base64.b64decode(value["bytes"])
    if isinstance(value, dict):
        return {k: bytes_back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [bytes_back(v) for v in value]
    return value


def test_gwcelery_sends_the_same_avro(multiorder, tmp_path):
    python = oracle_python()
    alert = cbc_alert(multiorder)
    path = tmp_path / "S170810a-1-Preliminary.avro"
    record = write_avro_alert(path, alert, alert_number=1)
    avsc = resources.files("igwn_gwalert_schema") / ALERT_AVSC
    with resources.as_file(avsc) as avsc_path:
        request = {"avsc": str(avsc_path), "avro": str(path), "alert": alert}
        done = subprocess.run(
            [str(python), "-c", ORACLE_SCRIPT],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["version"] == "3.0.0"
    # hop's AvroBlob reads gwreplay's file back to gwreplay's record ...
    assert bytes_back(answer["decoded"]) == [record]
    # ... and gwcelery's _send writes the same file, but for its random sync
    # marker and its header's key order (fastavro's depends on the hash seed).
    theirs = container_parts(base64.b64decode(answer["serialized"]))
    assert theirs == container_parts(path.read_bytes())


def container_parts(data):
    """(header metadata, schema as JSON, data blocks without sync markers) of an
    Avro container file; its sync marker ends the header and every block."""
    marker = data[-16:]
    with io.BytesIO(data) as f:
        metadata = dict(fastavro.reader(f).metadata)
    schema = json.loads(metadata.pop("avro.schema"))
    header, blocks = data.split(marker, 1)
    return metadata, schema, blocks.replace(marker, b"")


WRITE_SCRIPT = """
import json, sys
from gwreplay.avro_alert import write_avro_alert
with open(sys.argv[1]) as f:
    alert = json.load(f)
write_avro_alert(sys.argv[2], alert, alert_number=1)
"""


def test_the_file_does_not_depend_on_the_hash_seed(multiorder, tmp_path):
    """fastavro orders a field's doc/default by a set: the header must not."""
    alert_json = tmp_path / "alert.json"
    alert_json.write_text(json.dumps(cbc_alert(multiorder)))
    written = []
    for seed in ("1", "2", "3"):
        path = tmp_path / f"seed{seed}.avro"
        subprocess.run(
            [sys.executable, "-c", WRITE_SCRIPT, str(alert_json), str(path)],
            env=dict(os.environ, PYTHONHASHSEED=seed),
            check=True,
        )
        written.append(path.read_bytes())
    assert written[0] == written[1] == written[2]
