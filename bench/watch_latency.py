"""Latency of the near-live watcher (``gwreplay watch``).

Plays uploads into an empty watched store on the replay schedule, with
``gwreplay watch`` following it, and measures for every superevent when its
first notice appeared (O4, the default: ``<SID>-1-<Type>.json``, due at
its ``due`` in sequence.json; ``--policy O3``: the preliminary alert's
``alert.json``, due at creation + ``orchestrator_timeout``):

* ``lag``: notice time (wall time alert.json appeared) minus the time the
  alert fell due (superevent creation + ``orchestrator_timeout``, on the
  replay clock mapped to wall time);
* ``overhead``: notice time minus the later of the due time and the moment
  the preferred event's last input was ready (its sky map uploaded for a
  burst; its BAYESTAR map, classification and p_astro written for a CBC
  event). For bursts the two agree unless the sky map came late; for CBC
  events ``overhead`` takes BAYESTAR's own running time out.

It does so with ``--existing`` superevents already processed in the results
folder before the measured ones arrive (10 and 1,000 by default), to show
whether the time to react grows with the history. The history is synthetic
cWB bursts (cheap); it is processed either by the same library calls the
workflow's rules make, in one process (``--prepopulate direct``, the
default: seconds for 1,000 superevents) or by running the workflow once
(``--prepopulate workflow``). Finally it times Snakemake runs that have
nothing to do (start, parse with the store loaded, DAG, end-of-run tables):
the fixed cost of every run of the watcher.

``--modes warm,cold`` measures the watcher with its long-lived Snakemake
process (the default) and with a Snakemake process per run (``gwreplay
watch --cold``), one after the other on the same schedule.

The measured superevents are synthetic bursts, or an MDC store
(``--mdc N``: ``gwreplay mdc``, CBC events with real BAYESTAR). Gaps between
uploads longer than ``--keep-seconds`` are divided by ``--speedup``; the
``created`` times of the played copies are rewritten to that schedule.

    python -m bench.watch_latency --superevents 8 --existing 10,1000
    python -m bench.watch_latency --mdc 2 --existing 10
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from tests import builders  # noqa: E402 - the tests' event builders

GPS_EPOCH_UNIX = 315964800
#: First measured burst: 2017-08-10 21:56:34 UTC.
T_MEASURED = 1186437412.5
#: Non-publishable but below the superevent threshold: FAR x 4 > 1/365 d.
HISTORY_FAR = 1e-6
#: O4: above the less-significant threshold (2/day x 8 = 1.85e-4 Hz) and
#: below the superevent threshold (1/h): a superevent with no notice.
HISTORY_FAR_O4 = 2.5e-4
#: Publishable burst: FAR x 4 <= 1/365 d.
MEASURED_FAR = 1e-10

#: ``--policy O4`` (the default) measures each superevent's first notice
#: (``<SID>-1-<Type>.json``) against its ``due`` in sequence.json;
#: ``--policy O3`` the 2018/O3 flow (one alert.json per superevent at the
#: timeout; its history can be prepopulated with that flow's library calls).
POLICY_ARGS = ["--config", "orchestrator_policy=O4"]


def set_policy(policy):
    """Measure ``policy`` (module-wide: every run of this bench uses one)."""
    POLICY_ARGS[:] = ["--config", f"orchestrator_policy={policy}"]


def first_notice(results, sid):
    """(path, due GPS) of the superevent's first notice, or None (O4)."""
    path = os.path.join(results, "superevents", sid, "sequence.json")
    try:
        with open(path) as f:
            notices = json.load(f)["notices"]
    except (OSError, ValueError):
        return None
    if not notices:
        return None
    n = notices[0]
    name = f"{sid}-{n['alert_number']}-{n['alert_type']}.json"
    return os.path.join(results, "superevents", sid, name), n["due"]


def measured_file(results, sid):
    """The file whose appearance is the superevent's alert, if known yet."""
    if POLICY_ARGS[-1].endswith("O3"):
        return os.path.join(results, "superevents", sid, "alert.json")
    found = first_notice(results, sid)
    return found[0] if found else None


def leap_seconds():
    """GPS - UTC now (LAL)."""
    import lal

    return int(lal.GPSLeapSeconds(int(lal.GPSTimeNow())))


def gps_now():
    """GPS now, to the millisecond."""
    return time.time() - GPS_EPOCH_UNIX + LEAP


LEAP = leap_seconds()


# --------------------------------------------------------------------------
# Stores.
# --------------------------------------------------------------------------


def skymap_name():
    """cWB's upload: its multi-order map under O4, the flat one under O3."""
    return (
        "skyprobcc_cWB.fits"
        if POLICY_ARGS[-1].endswith("O3")
        else "cwb.multiorder.fits"
    )


def skymap_bytes(workdir, ra_deg, dec_deg, sigma_deg=5.0, nside=64):
    """A Gaussian-blob sky map written by ligo.skymap (as a cWB upload):
    multi-order under O4 (``builders.gaussian_multiorder``)."""
    if not POLICY_ARGS[-1].endswith("O3"):
        from ligo.skymap.io import fits

        path = os.path.join(workdir, f"skymap-{ra_deg}-{dec_deg}.multiorder.fits")
        table = builders.gaussian_multiorder(ra_deg, dec_deg, sigma_deg)
        fits.write_sky_map(path, table, moc=True)
        with open(path, "rb") as f:
            return f.read()
    import astropy_healpix as ah
    import numpy as np
    from astropy import units as u
    from ligo.skymap.io import fits

    hpx = ah.HEALPix(nside=nside, order="nested")
    lon, lat = hpx.healpix_to_lonlat(np.arange(hpx.npix))
    ra, dec = np.deg2rad(ra_deg), np.deg2rad(dec_deg)
    lat, lon = lat.to_value(u.rad), lon.to_value(u.rad)
    cos_sep = np.sin(lat) * np.sin(dec) + np.cos(lat) * np.cos(dec) * np.cos(lon - ra)
    prob = np.exp((cos_sep - 1) / np.deg2rad(sigma_deg) ** 2)
    path = os.path.join(workdir, f"skymap-{ra_deg}-{dec_deg}.fits")
    fits.write_sky_map(path, prob / prob.sum(), nest=True, objid="bench")
    with open(path, "rb") as f:
        return f.read()


def burst_event(graceid, gpstime, created, far, skymap_delay=1.0):
    """cWB event.json; its sky map is uploaded ``skymap_delay`` s after it."""
    return dict(
        builders.burst_event(graceid, gpstime, created=created, far=far),
        uploads=[{"filename": skymap_name(), "created": created + skymap_delay}],
    )


def write_history(store, count, skymap):
    """``count`` old, non-publishable burst superevents, one event each."""
    first = T_MEASURED - 1000.0 * (count + 10)
    events = []
    for i in range(count):
        graceid = f"G{2000000 + i}"
        folder = os.path.join(store, "events", graceid)
        os.makedirs(folder)
        gpstime = first + 1000.0 * i
        far = HISTORY_FAR if POLICY_ARGS[-1].endswith("O3") else HISTORY_FAR_O4
        event = burst_event(graceid, gpstime, gpstime + 8.0, far)
        with open(os.path.join(folder, skymap_name()), "wb") as f:
            f.write(skymap)
        with open(os.path.join(folder, "event.json"), "w") as f:
            json.dump(event, f)
        events.append(event)
    return events


def measured_bursts(count, skymaps):
    """Synthetic measured superevents: one or two bursts each, 1000 s apart.

    Every other superevent gets a second burst 1 s after the first, with a
    lower FAR: it becomes the preferred event before the timeout.
    """
    events, files = [], {}
    for i in range(count):
        gpstime = T_MEASURED + 1000.0 * i
        created = gpstime + 8.0
        graceid = f"G{1000 + 2 * i}"
        events.append(burst_event(graceid, gpstime, created, MEASURED_FAR))
        files[graceid] = {skymap_name(): skymaps[0]}
        if i % 2:
            second = f"G{1001 + 2 * i}"
            events.append(
                burst_event(second, gpstime + 0.01, created + 1.0, MEASURED_FAR / 100)
            )
            files[second] = {skymap_name(): skymaps[1]}
    return events, files


def mdc_events(workdir, count, seed):
    """Events and files of a generated MDC store (``gwreplay mdc``)."""
    source = os.path.join(workdir, "mdc-source")
    if not os.path.isdir(source):
        subprocess.run(
            [sys.executable, "-m", "gwreplay.cli", "mdc", source]
            + ["--superevents", str(count), "--seed", str(seed)],
            check=True,
        )
    events, files = [], {}
    root = os.path.join(source, "events")
    for graceid in sorted(os.listdir(root)):
        with open(os.path.join(root, graceid, "event.json")) as f:
            events.append(json.load(f))
        files[graceid] = {}
        for name in os.listdir(os.path.join(root, graceid)):
            if name != "event.json":
                with open(os.path.join(root, graceid, name), "rb") as f:
                    files[graceid][name] = f.read()
    return events, files, os.path.join(source, "frames")


# --------------------------------------------------------------------------
# The schedule.
# --------------------------------------------------------------------------


def upload_schedule(events, files):
    """(replay time, graceid, filename) of every upload, in order.

    Files come at their ``uploads`` time (else with the event), event.json
    at ``created``; files of the same instant before event.json, as
    producers upload them.
    """
    schedule = []
    for event in events:
        graceid = event["graceid"]
        times = {u["filename"]: float(u["created"]) for u in event.get("uploads", [])}
        for name in files[graceid]:
            schedule.append((times.get(name, event["created"]), 0, graceid, name))
        schedule.append((float(event["created"]), 1, graceid, "event.json"))
    schedule.sort()
    return [(t, graceid, name) for t, _, graceid, name in schedule]


def compress(times, speedup, keep):
    """Map replay times so that gaps longer than ``keep`` are ``speedup`` x shorter."""
    mapping, previous, shifted = {}, None, None
    for t in sorted(set(times)):
        if previous is None:
            shifted = t
        else:
            gap = t - previous
            shifted += gap if gap <= keep else keep + (gap - keep) / speedup
        mapping[t] = shifted
        previous = t
    return mapping


def retime(events, mapping):
    """Copies of ``events`` with ``created`` and upload times on the new schedule."""
    out = []
    for event in events:
        event = json.loads(json.dumps(event))
        event["created"] = mapping[float(event["created"])]
        for upload in event.get("uploads", []):
            upload["created"] = mapping[float(upload["created"])]
        out.append(event)
    return out


# --------------------------------------------------------------------------
# Producer: uploads as the contract of docs/watcher.md says.
# --------------------------------------------------------------------------


def upload(store, graceid, name, data):
    """A new event's folder is built under a dot name and renamed into place;
    later files are written to a dot-named temporary and renamed."""
    folder = os.path.join(store, "events", graceid)
    if not os.path.isdir(folder):
        staging = os.path.join(store, "events", f".{graceid}.tmp")
        os.makedirs(staging)
        with open(os.path.join(staging, name), "wb") as f:
            f.write(data)
        os.rename(staging, folder)
        return
    tmp = os.path.join(folder, f".{name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(folder, name))


# --------------------------------------------------------------------------
# Pre-processing the history.
# --------------------------------------------------------------------------


def prepopulate_direct(store, results):
    """Process the history with the library calls the rules make, in one process."""
    from gwreplay.atomic import write_json
    from gwreplay.config import module_settings
    from gwreplay.dq import check_vectors, write_dq
    from gwreplay.orchestrator import preliminary_alert
    from gwreplay.plan import make_plan, preferred_skymap
    from gwreplay.summary import write_summaries
    from gwreplay.watch import load_config

    conf = load_config(None, POLICY_ARGS)
    plan = make_plan(store, results, conf)
    dq_keys = (
        "llhoft_glob",
        "llhoft_channels",
        "check_vector_prepost",
        "uses_gatedhoft",
    )
    alert_conf = module_settings(conf, "gwreplay.orchestrator")
    for sid, record in plan.superevents.items():
        out = plan.superevent_result(sid, "")
        write_json(os.path.join(out, "superevent.json"), record)
        preferred = plan.store.events[record["preferred_event"]]
        dq = check_vectors(
            record, preferred, store=store, **{k: conf[k] for k in dq_keys}
        )
        write_dq(os.path.join(out, "dq.json"), dq)
        preliminary_alert(
            record,
            preferred,
            dq,
            skymap=preferred_skymap(plan, preferred["graceid"]),
            out_dir=out,
            events=[plan.store.events[g] for g in record["gw_events"]],
            **alert_conf,
        )
    write_summaries(plan)


def prepopulate_workflow(store, results, cores):
    """Process the history by running the workflow once."""
    subprocess.run(
        [sys.executable, "-m", "gwreplay.cli", "run", store, "--results", results]
        + ["--cores", str(cores), "--", *POLICY_ARGS],
        check=True,
        stdout=subprocess.DEVNULL,
    )


# --------------------------------------------------------------------------
# Measurement.
# --------------------------------------------------------------------------


def wall(gps, offset):
    """Unix time at which the replay clock (GPS now + offset) reads ``gps``."""
    return gps - offset - LEAP + GPS_EPOCH_UNIX


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-q * len(ordered) // 100))
    return ordered[int(rank) - 1]


def noop_run_seconds(store, results, target, repeats=3):
    """Seconds of Snakemake runs with nothing to do: the fixed cost of a run."""
    from gwreplay.run import snakemake_command, snakemake_environment

    command = snakemake_command(store, results, cores=1, extra=[target])
    seconds = []
    for _ in range(repeats):
        start = time.monotonic()
        subprocess.run(
            command,
            env=snakemake_environment(None),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        seconds.append(time.monotonic() - start)
    return seconds


def plan_seconds(store, results):
    """Seconds to load the store and form the superevents (the parse's share)."""
    from gwreplay.plan import make_plan
    from gwreplay.watch import load_config

    conf = load_config(None, POLICY_ARGS)
    start = time.monotonic()
    make_plan(store, results, conf)
    return time.monotonic() - start


def ready_time(results, store, event, offset, written):
    """Wall time the preferred event's last input was ready for its alert."""
    from gwreplay.products import is_cbc_event

    graceid = event["graceid"]
    times = [written.get((graceid, "event.json"), 0.0)]
    if is_cbc_event(event):
        folder = os.path.join(results, "events", graceid)
        for name in os.listdir(folder) if os.path.isdir(folder) else ():
            times.append(os.stat(os.path.join(folder, name)).st_mtime)
    else:
        times += [t for (g, _), t in written.items() if g == graceid]
    return max(times)


def measure(args, existing, workdir):
    """One configuration: ``existing`` superevents of history, then play."""
    from gwreplay.superevents import form_superevents
    from gwreplay.watch import load_config

    root = os.path.join(workdir, f"existing-{existing}-{args.mode}")
    shutil.rmtree(root, ignore_errors=True)
    store, results = os.path.join(root, "store"), os.path.join(root, "results")
    os.makedirs(os.path.join(store, "events"))
    skymaps = [skymap_bytes(workdir, 120, -30), skymap_bytes(workdir, 100, 10)]

    frames = None
    if args.mdc:
        events, files, frames = mdc_events(workdir, args.mdc, args.seed)
    else:
        events, files = measured_bursts(args.superevents, skymaps)
    schedule = upload_schedule(events, files)
    mapping = compress([t for t, _, _ in schedule], args.speedup, args.keep_seconds)
    events = retime(events, mapping)
    by_id = {e["graceid"]: e for e in events}
    schedule = [(mapping[t], g, n) for t, g, n in schedule]

    start = time.monotonic()
    history = write_history(store, existing, skymaps[0])
    if frames:
        shutil.copytree(frames, os.path.join(store, "frames"))
    if args.prepopulate == "workflow":
        prepopulate_workflow(store, results, args.cores)
    else:
        prepopulate_direct(store, results)
    history_seconds = time.monotonic() - start

    conf = load_config(None, POLICY_ARGS)
    timeout = float(conf["orchestrator_timeout"])
    # Superevent IDs count every superevent of the day, history included.
    expected = [
        r
        for r in form_superevents(history + events, **_manager_conf(conf))
        if r["preferred_event"] in by_id
    ]

    # The replay clock reads the first upload time LEAD seconds from now.
    offset = schedule[0][0] - args.lead - gps_now()
    logfile = os.path.join(root, "watch.log")
    with open(logfile, "wb") as out:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "gwreplay.cli", "watch", store]
            + ["--results", results, "--cores", str(args.cores)]
            + [
                "--clock-offset",
                repr(offset),
                "--batch-seconds",
                str(args.batch_seconds),
                *(["--cold"] if args.mode == "cold" else []),
                "--",
                *POLICY_ARGS,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        startup = _wait_log(logfile, r"resumed:", 300, watcher)
        written = {}
        seen = {}
        stop_polling = threading.Event()
        poller = threading.Thread(
            target=_poll_alerts,
            args=(results, [r["superevent_id"] for r in expected], seen, stop_polling),
            daemon=True,
        )
        poller.start()
        for t, graceid, name in schedule:
            delay = wall(t, offset) - time.time()
            if delay > 0:
                time.sleep(delay)
            late = time.time() - wall(t, offset)
            if name == "event.json":
                data = json.dumps(by_id[graceid]).encode()
            else:
                data = files[graceid][name]
            upload(store, graceid, name, data)
            written[(graceid, name)] = time.time()
            if late > 1.0:
                print(f"  warning: {graceid}/{name} written {late:.1f} s late")
        last_due = max(r["created"] for r in expected) + timeout
        end = wall(last_due, offset) + args.max_wait
        while time.time() < end and len(seen) < len(expected):
            time.sleep(0.2)
        stop_polling.set()
        poller.join()
    finally:
        watcher.send_signal(signal.SIGTERM)
        try:
            watcher.wait(timeout=300)
        except subprocess.TimeoutExpired:
            watcher.kill()
            watcher.wait()

    with open(logfile) as f:
        log = f.read()
    rows = []
    for record in expected:
        sid = record["superevent_id"]
        due = wall(record["created"] + timeout, offset)
        path = measured_file(results, sid)
        if not POLICY_ARGS[-1].endswith("O3") and path:
            due = wall(first_notice(results, sid)[1], offset)
        if not path or not os.path.exists(path):
            rows.append({"superevent_id": sid, "missing": True})
            continue
        notice = os.stat(path).st_mtime
        preferred = by_id[record["preferred_event"]]
        if not POLICY_ARGS[-1].endswith("O3"):
            with open(os.path.join(os.path.dirname(path), "sequence.json")) as f:
                preferred = by_id[json.load(f)["notices"][0]["preferred_event"]]
        ready = ready_time(results, store, preferred, offset, written)
        rows.append(
            {
                "superevent_id": sid,
                "preferred_event": preferred["graceid"],
                "group": preferred["group"],
                "lag": notice - due,
                "overhead": notice - max(due, ready),
                "issued_lines": len(re.findall(rf"alert issued {sid}:", log))
                if POLICY_ARGS[-1].endswith("O3")
                else 1,
            }
        )
    runs = [float(s) for s in re.findall(r"finished: status \d+ in ([0-9.]+) s", log)]
    if POLICY_ARGS[-1].endswith("O3"):
        # A finished alert no event joined later: its run has nothing to do.
        with open(os.path.join(results, "watch_state.json")) as f:
            alerts = json.load(f)["alerts"]
        quiet = [
            sid
            for sid, a in sorted(alerts.items())
            if a["status"] == "produced" and not a.get("late_events")
        ]
        target = os.path.join(results, "superevents", quiet[0], "alert.json")
    else:
        target = next(r for r in rows if not r.get("missing"))["superevent_id"]
        target = measured_file(results, target)
    return {
        "existing": existing,
        "prepopulate": args.prepopulate,
        "history_seconds": history_seconds,
        "watcher_startup_seconds": startup,
        "rows": rows,
        "run_seconds": runs,
        "noop_run_seconds": noop_run_seconds(store, results, target),
        "plan_seconds": plan_seconds(store, results),
        "load_average": os.getloadavg(),
    }


def _manager_conf(conf):
    from gwreplay.superevents import CONFIG_KEYS

    return {key: conf[key] for key in CONFIG_KEYS if key in conf}


def _wait_log(logfile, pattern, timeout, proc):
    """Seconds until the watcher's log matches ``pattern``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with open(logfile) as f:
            if re.search(pattern, f.read()):
                return time.monotonic() - start
        if proc.poll() is not None:
            raise RuntimeError(f"watcher exited: see {logfile}")
        time.sleep(0.1)
    raise RuntimeError(f"watcher never logged {pattern!r}: see {logfile}")


def _poll_alerts(results, sids, seen, stop):
    """Record when each measured file is first seen (a check on its mtime)."""
    while not stop.is_set():
        for sid in sids:
            if sid in seen:
                continue
            path = measured_file(results, sid)
            if path and os.path.exists(path):
                seen[sid] = time.time()
        time.sleep(0.05)


def summarise(result):
    """Print one configuration's figures."""
    rows = [r for r in result["rows"] if not r.get("missing")]
    missing = [r["superevent_id"] for r in result["rows"] if r.get("missing")]
    lags = [r["lag"] for r in rows]
    overheads = [r["overhead"] for r in rows]
    duplicates = [r["superevent_id"] for r in rows if r["issued_lines"] != 1]
    noop = result["noop_run_seconds"]
    print(
        f"\n== {result['existing']} superevents already processed, "
        f"{result['mode']} Snakemake =="
    )
    print(
        f"history processed ({result['prepopulate']}) in "
        f"{result['history_seconds']:.1f} s; watcher started in "
        f"{result['watcher_startup_seconds']:.1f} s; load average "
        + ", ".join(f"{x:.2f}" for x in result["load_average"])
    )
    for r in result["rows"]:
        if r.get("missing"):
            print(f"  {r['superevent_id']}: no alert")
        else:
            print(
                f"  {r['superevent_id']} ({r['group']}, preferred "
                f"{r['preferred_event']}): lag {r['lag']:.2f} s, "
                f"overhead {r['overhead']:.2f} s"
            )
    if rows:
        print(
            f"lag      median {statistics.median(lags):.2f} s, "
            f"p90 {percentile(lags, 90):.2f} s  (n={len(lags)})"
        )
        print(
            f"overhead median {statistics.median(overheads):.2f} s, "
            f"p90 {percentile(overheads, 90):.2f} s"
        )
    runs = result["run_seconds"]
    if runs:
        print(
            f"watcher runs: {len(runs)}, median {statistics.median(runs):.2f} s, "
            f"max {max(runs):.2f} s"
        )
    print(
        f"no-op Snakemake run: median {statistics.median(noop):.2f} s "
        f"(of {', '.join(f'{x:.2f}' for x in noop)}); store load + superevents "
        f"{result['plan_seconds']:.3f} s"
    )
    print(
        f"alerts missing: {missing or 'none'}; "
        f"issued more than once: {duplicates or 'none'}"
    )


def main(argv=None):
    """Run the configurations; print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--superevents", type=int, default=8, help="measured (bursts)")
    parser.add_argument(
        "--mdc", type=int, default=0, help="measure an MDC of N instead"
    )
    parser.add_argument("--seed", type=int, default=1, help="MDC seed")
    parser.add_argument(
        "--existing", default="10,1000", help="history sizes (comma-separated)"
    )
    parser.add_argument("--policy", choices=("O3", "O4"), default="O4")
    parser.add_argument(
        "--prepopulate",
        choices=("direct", "workflow"),
        help="direct (O3 only; its default) or workflow (O4's)",
    )
    parser.add_argument("--speedup", type=float, default=100.0)
    parser.add_argument("--keep-seconds", type=float, default=20.0)
    parser.add_argument(
        "--lead", type=float, default=10.0, help="s before the first upload"
    )
    parser.add_argument("--max-wait", type=float, default=240.0)
    parser.add_argument("--batch-seconds", type=float, default=1.0)
    parser.add_argument("--cores", default="2")
    parser.add_argument("--workdir", help="keep everything here (default: a temp dir)")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument(
        "--modes",
        default="warm",
        help="the watcher's Snakemake: warm (one long-lived process, the "
        "default), cold (gwreplay watch --cold: a process per run), or both "
        "(warm,cold), measured one after the other",
    )
    args = parser.parse_args(argv)
    set_policy(args.policy)
    if args.prepopulate is None:
        args.prepopulate = "direct" if args.policy == "O3" else "workflow"
    if args.prepopulate == "direct" and args.policy != "O3":
        parser.error("--prepopulate direct makes O3's files; use workflow")

    workdir = args.workdir or tempfile.mkdtemp(prefix="gwreplay-watch-bench-")
    os.makedirs(workdir, exist_ok=True)
    results = []
    for existing in [int(x) for x in args.existing.split(",")]:
        for mode in args.modes.split(","):
            args.mode = mode
            result = dict(measure(args, existing, workdir), mode=mode)
            summarise(result)
            results.append(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, sort_keys=True)
    print(f"\nworking files in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
