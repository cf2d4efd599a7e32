"""The IGWN alert in Avro, the form gwcelery sends to SCiMMA.

gwcelery 3.0.0 sends each alert twice over Kafka: JSON to GCN (the sky map
base64-encoded, :mod:`gwreplay.gwalert`) and Avro to SCiMMA. For Avro,
``gwcelery/tasks/alerts.py`` (``_send``) puts the sky map in the record as
raw bytes (that broker's ``skymap_encoder`` is the identity), and
``gwcelery/kafka/bootsteps.py`` serializes it with hop-client's ``AvroBlob``:
one record in an Avro object container file written by ``fastavro.writer``
with the Alert schema of igwn-gwalert-schema, parsed by fastavro.

Here the schema is the package's own ``.avsc`` loaded by
:func:`fastavro.schema.load_schema`, which resolves named types defined in
sibling ``<namespace>.<Name>.avsc`` files (gwcelery 3.0.0 names the four
``igwn.alerts.v1_0.*.avsc`` files of older releases; igwn-gwalert-schema
1.3.0 ships one self-contained ``igwn.alerts.Alert.avsc``).

Replay differences: the container file's 16-byte sync marker, random in
``fastavro.writer``, is derived from the superevent ID and the alert number,
so that a replay writes the same bytes every time; codec ``null`` and no
metadata beyond the schema and codec, as hop's ``AvroBlob`` writes; the
schema in the header is written with sorted keys (fastavro's own order
depends on the hash seed).
"""

import base64
import binascii
import functools
import hashlib
import io
import json
import os
from importlib import resources

from .atomic import write_bytes
from .errors import EventInputError

#: The Alert schema file of igwn-gwalert-schema (Avro form).
ALERT_AVSC = "igwn.alerts.Alert.avsc"
#: Avro container codec: hop's AvroBlob (fastavro.writer's default).
CODEC = "null"
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "string"}


@functools.cache
def load_avro_schema():
    """Return ``(schema, named)``: the parsed Alert schema and its named types.

    ``named`` maps each full name (``igwn.alerts.EventInfo``...) to its
    parsed definition, as :func:`fastavro.schema.load_schema` fills it in.
    Loaded once per process (cached): callers must not modify either.
    """
    from fastavro.schema import load_schema

    named = {}
    # The package is installed as files: its .avsc's real path, so that
    # load_schema finds named types' files beside it.
    avsc = resources.files("igwn_gwalert_schema").joinpath(ALERT_AVSC)
    with resources.as_file(avsc) as path:
        schema = load_schema(str(path), named_schemas=named)
    return schema, named


@functools.cache
def _header_schema():
    """The parsed schema with every object's keys sorted, for the writer.

    ``fastavro.writer`` stores ``json.dumps`` of the schema it is given in
    the file header, and :func:`fastavro.parse_schema` orders a field's
    ``doc``/``default`` by iterating over a set, i.e. by the process's hash
    seed: sorted keys make the header, and so the file, the same in every
    process. The writer parses this copy again (its named types are all
    defined inline, as in the parsed schema).
    """
    schema, _ = load_avro_schema()
    plain = {k: v for k, v in schema.items() if not k.startswith("__")}
    return json.loads(json.dumps(plain, sort_keys=True))


def sync_marker(superevent_id, alert_number):
    """16-byte container sync marker of one notice: sha256 prefix of its name."""
    name = f"{superevent_id}-{int(alert_number)}"
    return hashlib.sha256(name.encode("utf-8")).digest()[:16]


def _convert(value, avro_type, named, where):
    """``value`` (JSON form) as a datum of ``avro_type``, following the schema.

    Records take their fields (a missing field takes the schema's default,
    else ``None``; a key outside the schema is refused), a nullable union
    gives ``None`` or its other branch, maps and arrays convert their items,
    and ``bytes`` are base64-decoded (the JSON form of a sky map). Anything
    else, e.g. ``gcn_notice_id`` (int or string), is passed on as given for
    :func:`fastavro.validation.validate` to judge.
    """
    if isinstance(avro_type, list):
        if value is None:
            return None
        branches = [t for t in avro_type if t != "null"]
        if len(branches) == 1:
            return _convert(value, branches[0], named, where)
        return value
    if isinstance(avro_type, str) and avro_type not in _PRIMITIVES | {"bytes"}:
        avro_type = named.get(avro_type, avro_type)
    kind = avro_type.get("type") if isinstance(avro_type, dict) else avro_type
    if kind == "record" and isinstance(value, dict):
        out = {}
        for field in avro_type["fields"]:
            key = field["name"]
            item = value.get(key, field.get("default"))
            out[key] = _convert(item, field["type"], named, f"{where}.{key}")
        unknown = sorted(set(value) - set(out))
        if unknown:
            raise ValueError(f"{where}: not in the Avro schema: {', '.join(unknown)}")
        return out
    if kind == "map" and isinstance(value, dict):
        return {
            k: _convert(v, avro_type["values"], named, f"{where}.{k}")
            for k, v in value.items()
        }
    if kind == "array" and isinstance(value, list | tuple):
        return [_convert(v, avro_type["items"], named, where) for v in value]
    if kind == "bytes" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"{where}: not base64: {exc}") from None
    return value


def avro_record(alert):
    """The JSON alert (as :func:`gwreplay.gwalert.build_gwalert` returns it)
    as the Avro record of the Alert schema.

    Sky maps (``event.skymap``, ``external_coinc.combined_skymap``) become
    raw multi-order FITS bytes; ``event.mchirp_source``, which the Avro
    schema has and the JSON alert may omit, becomes ``None`` (its default).
    The record is not validated here: :func:`write_avro_alert` does.
    """
    schema, named = load_avro_schema()
    superevent_id = alert.get("superevent_id", "superevent")
    try:
        return _convert(alert, schema, named, "alert")
    except ValueError as exc:
        raise EventInputError(superevent_id, "Avro alert", str(exc)) from None


def validate_avro_record(record, filename="Avro alert"):
    """Raise :class:`~gwreplay.errors.EventInputError` naming the superevent
    and ``filename`` unless ``record`` fits the Alert schema (strictly: no
    field outside the schema, none missing)."""
    from fastavro.validation import ValidationError, validate

    schema, _ = load_avro_schema()
    superevent_id = record.get("superevent_id", "superevent")
    try:
        validate(record, schema, raise_errors=True, strict=True)
    except ValidationError as exc:
        reasons = "; ".join(str(e) for e in exc.errors) or str(exc)
        raise EventInputError(
            superevent_id, filename, f"not a valid IGWN Avro alert: {reasons}"
        ) from None


def _encode(alert, alert_number, filename):
    """``(record, container bytes)`` of the JSON ``alert``, validated."""
    import fastavro

    try:
        record = avro_record(alert)
    except EventInputError as exc:
        raise EventInputError(exc.event_id, filename, exc.reason) from None
    validate_avro_record(record, filename)
    buffer = io.BytesIO()
    fastavro.writer(
        buffer,
        _header_schema(),
        [record],
        codec=CODEC,
        sync_marker=sync_marker(record["superevent_id"], alert_number),
        strict=True,
    )
    return record, buffer.getvalue()


def write_avro_alert(path, alert, *, alert_number):
    """Write the JSON ``alert`` as an Avro container file at ``path``,
    atomically and byte-reproducibly; return the Avro record.

    ``alert_number`` is the notice's number in the superevent's sequence
    (1 for the first preliminary notice); with the superevent ID it fixes
    the sync marker. A record outside the schema raises
    :class:`~gwreplay.errors.EventInputError` naming the superevent and the
    file, and nothing is written.
    """
    record, data = _encode(alert, alert_number, os.path.basename(os.fspath(path)))
    write_bytes(path, data)
    return record


def read_avro_alert(path):
    """Decode the Avro alert file at ``path``: its one record (sky map bytes raw).

    Raises :class:`ValueError` unless the file holds exactly one record.
    """
    import fastavro

    with open(path, "rb") as f:
        records = list(fastavro.reader(f))
    if len(records) != 1:
        raise ValueError(f"{path}: {len(records)} records, expected one alert")
    return records[0]
