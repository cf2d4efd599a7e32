"""What changed since the last complete replay: the completion stamp.

Snakemake decides what to rebuild by building the DAG of every target and
checking each job's outputs against its inputs, code, parameters and
software: about 1 ms per job, so 54 s for a store of 10^4 superevents in
which nothing changed (docs/benchmarks.md). ``gwreplay run`` knows more
about a replay than Snakemake does: a result depends only on the store's
files, the configuration and the workflow's code. So, after every run that
ended without error, it writes ``RESULTS/.gwreplay/stamp.json``:

* the digest of the workflow's code (Snakefile, rules, scripts, schemas,
  gwreplay's sources) and of the installed package versions;
* the digest of the configuration files and ``--config`` entries;
* the size, mtime, ctime and inode of every file under ``STORE/events``
  and ``STORE/superevents``;
* a digest of each superevent's record and each event's product list in
  the plan.

The next run compares: when the code or configuration differs, or there is
no stamp, Snakemake gets the whole workflow as before. Otherwise only the
targets of what changed are handed to Snakemake (which still decides, job by
job, what to rerun): the products of events whose files changed, the alerts
of superevents whose record changed or one of whose events changed, and
every planned result that is missing. When that list is empty there is
nothing to do and Snakemake is not started at all.

The stamp is removed before any run it cannot vouch for (a plain
``snakemake`` run, a ``gwreplay run`` with extra Snakemake options other
than ``--config`` entries), and is only replaced after a run that exited
without error, so a killed or failed run never leaves a stamp that claims
more than was done.
"""

import contextlib
import hashlib
import json
import os

from .atomic import write_text
from .policies import TIMEOUT_POLICIES
from .products import SUPEREVENT_OUTPUTS
from .provenance import package_versions, sources_digest, stat_key, store_files

#: Set to "1" in the environment of the Snakemake that ``gwreplay run``
#: starts: its hooks then leave provenance and tables to ``gwreplay run``.
DRIVER_VARIABLE = "GWREPLAY_RUN"
#: The stamp, under the results folder.
STAMP = os.path.join(".gwreplay", "stamp.json")
#: Version of the stamp layout; a stamp of another version is ignored.
STAMP_VERSION = 2
WORKFLOW_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: What the results depend on besides the store and the configuration.
CODE_PATHS = ("Snakefile", "rules", "scripts", "schemas", "gwreplay")
CODE_SUFFIXES = (".smk", ".py", ".yaml", "Snakefile")


def _digest(obj):
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def code_digest():
    """SHA-256 of the workflow's code and of the pinned packages' versions."""
    sources = sources_digest(WORKFLOW_DIR, CODE_PATHS, CODE_SUFFIXES)
    return _digest([sources, package_versions()])


def config_files_digest(configfiles, config_items):
    """SHA-256 of the configuration files' bytes and the ``--config`` entries."""
    contents = []
    for path in configfiles:
        with open(path, "rb") as f:
            contents.append(hashlib.sha256(f.read()).hexdigest())
    return _digest([contents, list(config_items)])


def store_listing(store_root, files=None):
    """``{"events/<GraceID>": {file: [size, mtime_ns, ctime_ns, inode]}}`` and
    likewise for ``superevents/<SID>``: the stat of every file of the store,
    by folder.

    ``files``: :func:`gwreplay.provenance.store_files` of the store, when the
    caller has listed it already (it is shared with the provenance record).
    """
    listing = {}
    if files is None:
        files = store_files(os.path.abspath(store_root))
    for relative, _, info in files:
        folder, _, name = relative.rpartition("/")
        listing.setdefault(folder, {})[name] = None if info is None else stat_key(info)
    return listing


def plan_digests(plan):
    """Per superevent and per event, a digest of what the plan says of it."""
    return {
        "superevents": {
            sid: _digest([record, plan.blocked_alerts.get(sid, "")])
            for sid, record in plan.superevents.items()
        },
        "events": {
            graceid: _digest(products)
            for graceid, products in plan.event_products.items()
        },
    }


def read_stamp(results):
    """The stamp of the last complete run, or None."""
    try:
        with open(os.path.join(results, STAMP), encoding="utf-8") as f:
            stamp = json.load(f)
        return stamp if stamp.get("version") == STAMP_VERSION else None
    except (OSError, ValueError, AttributeError):
        return None


def remove_stamp(results):
    """Forget the last complete run: the next one is judged by Snakemake alone."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(results, STAMP))


def write_stamp(results, *, code, config, listing, plan):
    """Record a run that ended without error (see the module docstring)."""
    stamp = {
        "version": STAMP_VERSION,
        "code": code,
        "config": config,
        "listing": listing,
        "plan": plan_digests(plan),
    }
    write_text(os.path.join(results, STAMP), json.dumps(stamp, sort_keys=True))


def superevent_outputs(plan, superevent_id):
    """Every result of a superevent's jobs that exists once it is complete,
    its target (``alert.json``) last.

    O3 and 2018: the one ``superevent`` job's :data:`SUPEREVENT_OUTPUTS`.
    O4: the checkpoint's ``superevent.json``, ``dq.json`` and
    ``sequence.json``, then every file of every notice the sequence lists
    (:func:`gwreplay.notice_plan.alert_record_inputs`), known only once
    ``sequence.json`` exists (a missing one is itself a missing output).
    """
    paths = [plan.superevent_result(superevent_id, n) for n in SUPEREVENT_OUTPUTS]
    if plan.policy in TIMEOUT_POLICIES:
        return paths
    # Imported here: the notices' modules load plotting code.
    from .notice_plan import alert_record_inputs
    from .products import SEQUENCE

    target = paths.pop()
    paths.append(plan.superevent_result(superevent_id, SEQUENCE))
    try:
        with open(paths[-1], encoding="utf-8") as f:
            sequence = json.load(f)
        paths += alert_record_inputs(plan, superevent_id, sequence)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no (readable) sequence.json: a missing output already
    return paths + [target]


def outdated_targets(plan, stamp, *, code, config, listing):
    """The targets a run must hand to Snakemake, or None for all of them.

    None when there is no usable stamp or the code or configuration changed.
    Otherwise a sorted list, empty when nothing changed.
    """
    if stamp is None or stamp["code"] != code or stamp["config"] != config:
        return None
    old_listing = stamp["listing"]
    changed = {
        folder.split("/")[1] if "/" in folder else folder
        for folder in old_listing.keys() | listing.keys()
        if old_listing.get(folder) != listing.get(folder)
    }
    old_plan, new_plan = stamp["plan"], plan_digests(plan)
    targets, rebuilt_events = set(), set()
    for graceid, products in plan.event_products.items():
        stale = graceid in changed or (
            old_plan["events"].get(graceid) != new_plan["events"][graceid]
        )
        for product in products:
            path = plan.event_result(graceid, product)
            if stale or not os.path.exists(path):
                targets.add(path)
                rebuilt_events.add(graceid)
    for sid, superevent in plan.superevents.items():
        outputs = superevent_outputs(plan, sid)
        # O4: each notice has a preferred event of its own, any G-event's.
        carried = (
            {superevent["preferred_event"]}
            if plan.policy in TIMEOUT_POLICIES
            else set(superevent["gw_events"])
        )
        if (
            old_plan["superevents"].get(sid) != new_plan["superevents"][sid]
            or sid in changed
            or changed.intersection(superevent["gw_events"])
            or carried & rebuilt_events
            or not all(os.path.exists(path) for path in outputs)
        ):
            targets.add(outputs[-1])
    return sorted(targets)
