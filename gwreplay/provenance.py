"""``RESULTS/provenance.json``: what a replay was made from.

A replay is reproducible only if one can tell what went into it. Once per
run (Snakemake's ``onstart``) :func:`write_provenance` records

* the configuration and its SHA-256 (of the canonical JSON, the store and
  results locations left out: they say where, not how);
* the versions of Python, of gwreplay and of every direct dependency that
  gwreplay pins (read with :mod:`importlib.metadata`, so they are the
  versions that actually ran);
* the SHA-256 and size of every file under ``STORE/events`` and
  ``STORE/superevents``, and one digest over that list.

The file holds no time stamp, host name or absolute path, so two replays of
the same store with the same software and configuration write the same
bytes. Hashing a store of 10^4 events reads gigabytes, so digests are cached
in ``RESULTS/.provenance-cache.json`` keyed by each file's size, mtime,
ctime and inode: a rerun hashes only what changed (docs/reliability.md has
the figures).
"""

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import stat
from concurrent.futures import ThreadPoolExecutor

from .atomic import dumps_json, write_json, write_text
from .xmlguard import max_upload_bytes

#: Store sub-folders whose every file is hashed.
HASHED_FOLDERS = ("events", "superevents")
#: Configuration keys that locate the run rather than set it up.
LOCATION_KEYS = ("store", "results")
#: Name of the digest cache, beside provenance.json.
CACHE_NAME = ".provenance-cache.json"
#: Version of the cache layout; a cache of another version is ignored.
CACHE_VERSION = 1
#: Threads hashing files (hashlib releases the GIL on large buffers).
HASH_THREADS = 4


def config_digest(config):
    """SHA-256 of the canonical JSON of ``config`` without its location keys."""
    settings = {k: v for k, v in dict(config).items() if k not in LOCATION_KEYS}
    return hashlib.sha256(dumps_json(settings).encode("utf-8")).hexdigest(), settings


def sources_digest(base, tops, suffixes):
    """SHA-256 of the files under ``base/<top>`` (or the file ``base/<top>``)
    whose names end with one of ``suffixes``: their paths and contents."""
    digest = hashlib.sha256()
    for top in tops:
        path = os.path.join(base, top)
        paths = [path] if os.path.isfile(path) else []
        for directory, subdirs, files in os.walk(path):
            subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
            paths += [os.path.join(directory, name) for name in sorted(files)]
        for name in paths:
            if name.endswith(suffixes):
                digest.update(os.path.relpath(name, base).encode())
                with open(name, "rb") as f:
                    digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def _requirement_name(requirement):
    """``'ligo.skymap==2.5.4'`` -> ``'ligo.skymap'``; None for an extra's."""
    if "extra ==" in requirement.replace('"', " ").replace("'", " "):
        return None
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0]


def package_versions(distribution="gwreplay"):
    """Python, ``distribution`` and its direct (non-extra) dependencies.

    Returns ``{name: version}``; a dependency that is not installed maps to
    None, which is itself worth recording.
    """
    versions = {
        "python": platform.python_version(),
        distribution: importlib.metadata.version(distribution),
    }
    for requirement in importlib.metadata.requires(distribution) or []:
        name = _requirement_name(requirement)
        if not name:
            continue
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def store_files(store_root):
    """``(relative posix path, path, stat)`` of every entry under the hashed folders."""
    entries = []
    for folder in HASHED_FOLDERS:
        top = os.path.join(store_root, folder)
        for directory, subdirs, files in os.walk(top):
            subdirs.sort()
            for name in sorted(files):
                path = os.path.join(directory, name)
                try:
                    info = os.stat(path)
                except OSError:
                    info = None  # a dangling symbolic link
                relative = os.path.relpath(path, store_root).replace(os.sep, "/")
                entries.append((relative, path, info))
    return entries


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def stat_key(info):
    """What tells a changed file from an unchanged one without reading it."""
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


def _load_cache(path):
    try:
        with open(path, encoding="utf-8") as f:
            cache = json.load(f)
        if cache.get("version") == CACHE_VERSION:
            return cache["files"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    return {}


def store_digests(store_root, cache_path=None, *, limit=max_upload_bytes, files=None):
    """``{relative path: {"size", "sha256"}}`` of every file of the store.

    Files larger than ``limit`` are not read (gwreplay refuses them unread,
    :mod:`gwreplay.xmlguard`): their ``sha256`` is None with a ``note``.
    Entries that are not regular files (a FIFO would block the reader, a
    dangling link has no content) are listed with a note as well.
    ``cache_path``, when given, is read and rewritten atomically. ``files``:
    :func:`store_files` of the store, when the caller has listed it already.
    """
    cache = _load_cache(cache_path) if cache_path else {}
    records, to_hash, new_cache = {}, [], {}
    if files is None:
        files = store_files(store_root)
    for relative, path, info in files:
        if info is None or not stat.S_ISREG(info.st_mode):
            records[relative] = {"size": None, "sha256": None, "note": "not a file"}
            continue
        record = {"size": info.st_size}
        records[relative] = record
        if info.st_size > limit:
            record.update(sha256=None, note=f"larger than {limit} bytes; not read")
            continue
        key = stat_key(info)
        cached = cache.get(relative)
        if cached and cached[:-1] == key:
            record["sha256"] = cached[-1]
            new_cache[relative] = cached
        else:
            to_hash.append((relative, path, key))
    with ThreadPoolExecutor(max_workers=HASH_THREADS) as pool:
        digests = pool.map(lambda item: _sha256(item[1]), to_hash)
        for (relative, _, key), digest in zip(to_hash, digests, strict=True):
            records[relative]["sha256"] = digest
            new_cache[relative] = [*key, digest]
    if cache_path and new_cache != cache:
        write_text(
            cache_path, json.dumps({"version": CACHE_VERSION, "files": new_cache})
        )
    return records


def provenance_record(plan, config, cache_path=None, files=None):
    """The content of provenance.json for ``plan`` run with ``config``."""
    digest, settings = config_digest(config)
    files = store_digests(plan.store.root, cache_path, files=files)
    listing = dumps_json(files).encode("utf-8")
    return {
        "config": settings,
        "config_sha256": digest,
        "packages": package_versions(),
        "store": {
            "files": files,
            "files_sha256": hashlib.sha256(listing).hexdigest(),
            "events": len(plan.store.events),
            "problems": len(plan.store.problems),
        },
        "plan": {
            "event_products": sum(len(p) for p in plan.event_products.values()),
            "superevents": len(plan.superevents),
            "skipped": len(plan.skipped),
        },
    }


def write_provenance(plan, config, path, files=None):
    """Write ``provenance.json`` for ``plan`` and ``config`` atomically.

    The digest cache lives beside ``path`` (:data:`CACHE_NAME`); ``files`` as
    for :func:`store_digests`.
    """
    cache_path = os.path.join(os.path.dirname(os.path.abspath(path)), CACHE_NAME)
    record = provenance_record(plan, config, cache_path, files=files)
    write_json(path, record)
    return record
