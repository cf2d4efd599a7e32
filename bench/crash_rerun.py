"""Crash and rerun: kill -9 a replay at random moments, rerun it, compare bytes.

    python -m bench.crash_rerun --trials 10 --seed 1 [--cbc] [--workdir DIR]
    python -m bench.crash_rerun --hash-scale 10000   # provenance hashing cost

Builds a small store (cWB bursts with sky maps written by ligo.skymap, one of
them over the real H1 frame file so that state vectors are read; with
``--cbc`` also the real CBC event G211117 with its PSDs, so BAYESTAR runs),
replays it once without interruption (the reference), then for each trial:

1. starts ``gwreplay run STORE --results R --cores 2`` as a user would, in a
   new session (its own process group);
2. after a delay drawn from a seeded generator in [0, reference duration),
   sends SIGKILL to the whole process group (the CLI, snakemake and every
   job process), and to any descendant that left the group;
3. checks every file that exists under its final name: it must be complete
   (JSON parses, FITS reads with ligo.skymap, PNG decodes to its IEND chunk,
   XML parses, CSV rows are whole; a failure record, when not empty, parses)
   and, unless it is one of the end-of-run tables, byte-identical to the
   reference's file of the same name;
4. reruns ``gwreplay run`` (after ``--unlock`` when the killed run left
   Snakemake's lock behind) and checks that the final results equal the
   reference's byte for byte, file for file.

Temporary files (``.tmp-*``) that a killed writer leaves behind are counted
and reported, not compared: they never carry a final name. ``logs/``,
``.failures/`` and ``.snakemake/`` are Snakemake's state and the jobs'
declared logs (with wall-clock durations), not outputs. Prints one line
per trial and a summary; exits non-zero if any check failed.
"""

import argparse
import csv
import gzip
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
from tests.builders import G211117_EVENT, burst_event, write_event  # noqa: E402

REFERENCE = REPO.parent / "shared" / "data" / "reference"
#: The reference H1 frame file and the GPS second it starts at.
FRAME = "llhoft/H1/H-H1_O2_llhoft-1216577976-4.gwf"
FRAME_T0 = 1216577976
#: End-of-run tables: rewritten from the results as they stand, so a killed
#: run's copy describes a partial state; checked for form only.
SUMMARIES = {"alerts.csv", "failures.csv"}
#: Not outputs: Snakemake's state and the jobs' declared logs: per-job logs
#: (with wall-clock times) and failure records, which Snakemake creates
#: empty when a job starts and the job removes when it succeeds.
NOT_OUTPUTS = (".snakemake", ".gwreplay", "logs", ".failures")
#: gwreplay's hash cache for provenance.json (file mtimes inside).
CACHE_FILES = {".provenance-cache.json"}


# --- the store ------------------------------------------------------------------


def write_gaussian_skymap(path, ra_deg, dec_deg, sigma_deg=8.0, nside=32):
    """A flat cWB-like sky map: a Gaussian blob, written by ligo.skymap."""
    import astropy_healpix as ah
    import numpy as np
    from astropy import units as u
    from ligo.skymap.io import fits

    hpx = ah.HEALPix(nside=nside, order="nested")
    lon, lat = hpx.healpix_to_lonlat(np.arange(hpx.npix))
    ra, dec = np.deg2rad(ra_deg), np.deg2rad(dec_deg)
    lat = lat.to_value(u.rad)
    cos_sep = np.sin(lat) * np.sin(dec) + np.cos(lat) * np.cos(dec) * np.cos(
        lon.to_value(u.rad) - ra
    )
    prob = np.exp((cos_sep - 1) / np.deg2rad(sigma_deg) ** 2)
    fits.write_sky_map(
        os.fspath(path),
        prob / prob.sum(),
        nest=True,
        objid="cWB",
        gps_time=1e9,
        gps_creation_time=1e9,
    )


def build_store(store, bursts=4, cbc=False):
    """The trial store: ``bursts`` cWB events (one over the H1 frame file)
    and, with ``cbc``, the real G211117."""
    store.mkdir(parents=True)
    frames = store / "frames" / "H1"
    frames.mkdir(parents=True)
    shutil.copy(REFERENCE / FRAME, frames)
    times = [FRAME_T0 + 2.0] + [1.2e9 + 3000.0 * n for n in range(1, bursts)]
    for number, gpstime in enumerate(times):
        folder = write_event(store, burst_event(f"G80000{number}", gpstime))
        write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 40.0 * number, -20.0)
    if cbc:
        ref = REFERENCE / "G211117"
        write_event(
            store,
            G211117_EVENT,
            {"coinc.xml": ref / "coinc.xml", "psd.xml.gz": ref / "psd.xml.gz"},
        )


# --- running and killing -----------------------------------------------------------


def gwreplay_command(store, results, *extra):
    """``gwreplay run`` as a user types it."""
    command = [sys.executable, "-m", "gwreplay.cli", "run", str(store)]
    command += ["--results", str(results), "--cores", "2"]
    return command + (["--", *extra] if extra else [])


def run(store, results, *extra):
    """Run to completion; return (exit status, seconds, output)."""
    started = time.monotonic()
    proc = subprocess.run(
        gwreplay_command(store, results, *extra), capture_output=True, text=True
    )
    return proc.returncode, time.monotonic() - started, proc.stdout + proc.stderr


def descendants(pid):
    """PIDs of every live descendant of ``pid`` (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def run_and_kill(store, results, delay):
    """Start a replay in its own process group and SIGKILL all of it after
    ``delay`` seconds. Returns True if it was killed, False if it finished."""
    with open(results.parent / f"{results.name}.killed.log", "w") as log:
        proc = subprocess.Popen(
            gwreplay_command(store, results),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=delay)
            return False
        except subprocess.TimeoutExpired:
            pass
        family = descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)
        for pid in family:  # anything that started its own session
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        deadline = time.monotonic() + 10
        while any(os.path.exists(f"/proc/{pid}") for pid in family):
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes survived SIGKILL: {family}")
            time.sleep(0.05)
    return True


# --- checking ------------------------------------------------------------------


def output_files(results):
    """Relative paths of the outputs under ``results``, and temp-file litter."""
    outputs, litter = [], []
    for path in sorted(results.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(results)
        if relative.parts[0] in NOT_OUTPUTS or relative.name in CACHE_FILES:
            continue
        if relative.name.startswith(".tmp-"):
            litter.append(relative)
        else:
            outputs.append(relative)
    return outputs, litter


def check_complete(path):
    """Raise unless ``path`` is a whole file of its kind."""
    name = path.name
    data = path.read_bytes()
    if name.endswith(".json"):
        json.loads(data)
    elif name.endswith((".fits", ".fits.gz")):
        from ligo.skymap.io.fits import read_sky_map

        if name.endswith(".gz"):
            gzip.decompress(data)  # raises on a truncated stream
        read_sky_map(os.fspath(path), moc=True)
    elif name.endswith(".png"):
        from PIL import Image

        if not data.endswith(b"IEND\xaeB`\x82"):
            raise ValueError("PNG without its IEND chunk")
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    elif name.endswith(".xml"):
        from lxml import etree

        etree.fromstring(data, etree.XMLParser(resolve_entities=False))
    elif name.endswith(".csv"):
        text = data.decode("utf-8")
        if not text.endswith("\n"):
            raise ValueError("CSV does not end with a newline")
        rows = list(csv.reader(io.StringIO(text)))
        if any(len(row) != len(rows[0]) for row in rows):
            raise ValueError("CSV row of the wrong length")
    elif not data:
        raise ValueError("empty file")


def check_after_kill(results, reference):
    """Problems with the files a killed run left under their final names."""
    problems = []
    outputs, litter = output_files(results)
    for record in sorted((results / ".failures").glob("*/*.json")):
        if record.stat().st_size:  # written by a job that failed: whole
            try:
                json.loads(record.read_bytes())
            except ValueError as exc:
                problems.append(f"{record.relative_to(results)}: incomplete: {exc}")
    for relative in outputs:
        try:
            check_complete(results / relative)
        except Exception as exc:  # noqa: BLE001 - report every kind of damage
            problems.append(f"{relative}: incomplete: {type(exc).__name__}: {exc}")
            continue
        if relative.name in SUMMARIES:
            continue
        expected = reference / relative
        if (
            expected.exists()
            and expected.read_bytes() != (results / relative).read_bytes()
        ):
            problems.append(f"{relative}: differs from the reference")
    return problems, len(outputs), len(litter)


def compare_results(results, reference):
    """Problems when the final results differ from the reference."""
    got, litter = output_files(results)
    want, _ = output_files(reference)
    problems = [f"missing: {p}" for p in sorted(set(want) - set(got))]
    problems += [f"extra: {p}" for p in sorted(set(got) - set(want))]
    for relative in sorted(set(got) & set(want)):
        if (results / relative).read_bytes() != (reference / relative).read_bytes():
            problems.append(f"differs: {relative}")
    return problems, len(want), len(litter)


# --- provenance hashing at scale ---------------------------------------------------


def hash_scale(workdir, events):
    """Time :func:`gwreplay.provenance.store_digests` over ``events`` CBC
    events (event.json, coinc.xml, psd.xml.gz of G211117 as hard links:
    344 kB an event, real sizes without the disk), cold and with the cache."""
    from gwreplay.provenance import store_digests

    store = workdir / "hash-store"
    shutil.rmtree(store, ignore_errors=True)
    ref = REFERENCE / "G211117"
    for number in range(events):
        folder = store / "events" / f"G{number:07d}"
        folder.mkdir(parents=True)
        (folder / "event.json").write_text(json.dumps({"graceid": folder.name}))
        os.link(ref / "coinc.xml", folder / "coinc.xml")
        os.link(ref / "psd.xml.gz", folder / "psd.xml.gz")
    cache = workdir / "hash-cache.json"
    cache.unlink(missing_ok=True)
    total = events * sum(os.path.getsize(ref / n) for n in ("coinc.xml", "psd.xml.gz"))
    for label in ("no cache", "cache written", "cache reused"):
        started = time.monotonic()
        records = store_digests(store, None if label == "no cache" else cache)
        seconds = time.monotonic() - started
        print(
            f"{events} events, {len(records)} files, {total / 1e9:.2f} GB:"
            f" {label}: {seconds:.2f} s"
        )
    shutil.rmtree(store)


# --- the trials ------------------------------------------------------------------


def rerun(store, results):
    """Rerun after a crash, unlocking first if the killed run left its lock."""
    status, seconds, output = run(store, results)
    unlocked = False
    if status and "LockException" in output:
        unlocked = True
        run(store, results, "--unlock")
        status, more, output = run(store, results)
        seconds += more
    return status, seconds, output, unlocked


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bursts", type=int, default=4)
    parser.add_argument("--cbc", action="store_true", help="add G211117 (BAYESTAR)")
    parser.add_argument("--workdir", type=Path, help="kept afterwards if given")
    parser.add_argument(
        "--hash-scale",
        type=int,
        metavar="EVENTS",
        help="instead of crash trials, time provenance hashing of a store this big",
    )
    args = parser.parse_args(argv)
    if not REFERENCE.is_dir():
        print(f"reference data {REFERENCE} not found", file=sys.stderr)
        return 2

    import tempfile

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gwreplay-crash-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.hash_scale:
        hash_scale(workdir, args.hash_scale)
        if not args.workdir:
            shutil.rmtree(workdir)
        return 0
    store, reference = workdir / "store", workdir / "reference"
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(reference, ignore_errors=True)
    build_store(store, args.bursts, args.cbc)
    status, duration, output = run(store, reference)
    if status:
        print(output)
        print("reference run failed", file=sys.stderr)
        return 1
    n_outputs = len(output_files(reference)[0])
    print(f"reference: {n_outputs} output files in {duration:.1f} s")

    rng = random.Random(args.seed)
    failed = 0
    for trial in range(args.trials):
        results = workdir / f"trial{trial:02d}"
        shutil.rmtree(results, ignore_errors=True)
        delay = rng.uniform(0, duration)
        killed = run_and_kill(store, results, delay)
        after_kill, present, litter = check_after_kill(results, reference)
        status, seconds, output, unlocked = rerun(store, results)
        final, expected, final_litter = compare_results(results, reference)
        problems = after_kill + final + ([f"rerun exit {status}"] if status else [])
        failed += bool(problems)
        print(
            f"trial {trial:2d}: kill at {delay:5.1f} s"
            f" ({'killed' if killed else 'had finished'}),"
            f" {present:3d} files present, all complete: {not after_kill};"
            f" {'unlock + ' if unlocked else ''}rerun {seconds:5.1f} s,"
            f" {expected - len(final)}/{expected} identical;"
            f" temp litter {litter}/{final_litter}"
            + (f"; PROBLEMS: {problems}" if problems else "")
        )
        if not args.workdir:
            shutil.rmtree(results)
    print(f"{args.trials - failed}/{args.trials} trials passed")
    if not args.workdir:
        shutil.rmtree(workdir)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
