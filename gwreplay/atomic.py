"""Atomic, reproducible file output.

Every output is written to a temporary file in the destination directory and
renamed into place, so a reader (Snakemake, the watcher, a user) never sees a
half-written file under its final name. Helpers here also strip the usual
sources of irreproducibility (gzip mtimes, JSON key order).
"""

import contextlib
import gzip
import io
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    Use this for libraries that insist on writing to a file name themselves
    (astropy, matplotlib). ``suffix`` defaults to that of ``path`` so that
    libraries choosing a format from the extension still do the right thing.
    On error the temporary file is removed and ``path`` is left untouched.
    """
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    if suffix is None:
        base = os.path.basename(path)
        suffix = base[base.index(".") :] if "." in base else ""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (fsync before the rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def dumps_json(obj):
    """Serialise ``obj`` as canonical JSON: sorted keys, 2-space indent, newline."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(path, obj):
    """Write ``obj`` as canonical JSON to ``path`` atomically."""
    write_text(path, dumps_json(obj))


def gzip_bytes(data):
    """Gzip ``data`` reproducibly: no file name and mtime 0 in the header."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", filename="", mtime=0) as f:
        f.write(data)
    return buf.getvalue()
