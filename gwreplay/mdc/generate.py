"""Generate a mock-data challenge store: the whole pipeline of the generator.

1. Plan the slots (:mod:`gwreplay.mdc.schedule`).
2. Simulate every slot (:mod:`gwreplay.mdc.candidates`), in parallel worker
   processes when ``jobs > 1``; each slot depends only on its own seed.
3. Number the G-events in upload order, as GraceDB does.
4. Write the events, the frames, ``injections.xml`` and finally
   ``truth.json`` (whose presence marks a complete store).

The same seed and options give a byte-identical store.
"""

import functools
import os

import numpy as np

from ..atomic import write_json
from . import candidates as candidates_module
from . import (
    events,
    frames,
    injections,
    o4plan,
    o4superevents,
    psd,
    ranking_data,
    schedule,
    truth,
)
from .config import DEFAULT_ERA, ERAS, make_conf

#: First number of the G-event IDs (``G`` + six digits).
FIRST_EVENT_NUMBER = 100001
#: Store entries a generator writes (and may replace with ``overwrite``).
STORE_ENTRIES = ("events", "frames", "superevents", "injections.xml", "truth.json")


def _simulate_all(slots, conf, jobs, progress=True):
    """Simulate the slots, in ``jobs`` processes; results in slot order.

    Through ligo.skymap's ``progress_map`` (tqdm, a process pool for
    ``jobs > 1``), as ligo.skymap's own tools run their work: a bar on a
    terminal, nothing elsewhere or without ``progress``. Each slot depends
    on its own seed only, so the store is the same for any ``jobs``.
    """
    from ligo.skymap.util.progress import progress_map

    simulate = functools.partial(candidates_module.simulate_slot, conf=conf)
    return list(
        progress_map(
            simulate,
            slots,
            jobs=jobs,
            desc="simulating",
            unit="slot",
            disable=None if progress else True,
        )
    )


def assign_graceids(results, mdc):
    """Number every candidate in upload order: ``G100001``... (``M`` for MDC)."""
    prefix = "M" if mdc else "G"
    everything = [
        (
            candidate["created"],
            result["slot"]["index"],
            candidate["pipeline"],
            candidate,
        )
        for result in results
        for candidate in result["candidates"]
    ]
    everything.sort(key=lambda item: item[:3])
    for number, (*_, candidate) in enumerate(everything, FIRST_EVENT_NUMBER):
        candidate["graceid"] = f"{prefix}{number}"


def assign_simulation_ids(results):
    """Number the injections in time order (their sim_inspiral IDs)."""
    sources = [result["source"] for result in results if result["source"]]
    for simulation_id, source in enumerate(sources):
        source["simulation_id"] = simulation_id
    return sources


def write_frames(store, result, conf):
    """Frames of every detector around one slot's candidate, per its DQ plan."""
    plan = result["dq_plan"]
    if not plan["frames"]:
        return
    start, duration = plan["frame_start"], plan["frame_duration"]
    for ifo in conf["mdc_detectors"]:
        arrays = frames.state_vectors(
            ifo, start, duration, plan["bad_bits"], conf["llhoft_channels"]
        )
        path = os.path.join(
            store, "frames", ifo, frames.frame_filename(ifo, start, duration)
        )
        frames.write_frame(path, ifo, start, duration, arrays)


def _check_store(store, overwrite):
    """Refuse to mix a new MDC with an old one; clear it when asked to."""
    import shutil

    present = [
        name for name in STORE_ENTRIES if os.path.lexists(os.path.join(store, name))
    ]
    if present and not overwrite:
        raise FileExistsError(
            f"{store}: already holds {', '.join(present)}; use a new directory "
            "or --overwrite"
        )
    for name in present:
        path = os.path.join(store, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def _conf(conf, mix, detectors, psd_models):
    options = {}
    if mix is not None:
        options["mdc_mix"] = mix
    if detectors is not None:
        options["mdc_detectors"] = list(detectors)
    conf = make_conf(conf, **options)
    if psd_models is not None:
        conf["mdc_psd_models"] = {**conf["mdc_psd_models"], **psd_models}
    return conf


def generate_store(
    store,
    superevents=8,
    seed=1,
    *,
    mix=None,
    detectors=None,
    psd_models=None,
    mdc=False,
    jobs=1,
    overwrite=False,
    conf=None,
    progress=False,
    era=DEFAULT_ERA,
):
    """Generate an MDC store of ``superevents`` superevents in ``store``.

    ``mix`` maps BNS/NSBH/BBH to shares, ``detectors`` lists detector
    prefixes, ``psd_models`` maps detectors to lalsimulation noise curves,
    ``mdc`` makes MDC events (search ``MDC``, ``M`` IDs). Returns the truth
    document. ``progress``: a progress bar of the simulation on a terminal.
    ``era``: ``O4`` (default: O4 names, searches, uploads, early warning,
    less-significant candidates, GraceDB's superevents and sign-offs) or
    ``O3`` (the store of gwcelery 2.x replays, unchanged).
    """
    if era not in ERAS:
        raise ValueError(f"unknown era {era!r}: choose from {', '.join(ERAS)}")
    if era == "O4" and mdc:
        raise ValueError("MDC events (--mdc) are not modelled for the O4 era yet")
    store = os.path.abspath(os.fspath(store))
    conf = _conf(conf, mix, detectors, psd_models)
    if era == "O4":
        conf = o4plan.o4_conf(conf)
    _check_store(store, overwrite)
    slots = schedule.plan_slots(superevents, seed, conf)
    if era == "O4":
        o4plan.o4_slots(slots, seed, conf)
    results = _simulate_all(slots, conf, jobs, progress)
    assign_graceids(results, mdc)
    sources = assign_simulation_ids(results)
    if era == "O4":
        o4superevents.plan_superevents(results, conf)

    search = "MDC" if mdc else "AllSky"
    psds = psd.model_psds(
        conf["mdc_detectors"],
        conf["mdc_psd_models"],
        conf["mdc_psd_df"],
        conf["mdc_psd_f_max"],
    )
    ranking_rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    ranking_bytes = ranking_data.ranking_data_bytes(conf, ranking_rng)
    for result in results:
        for candidate in result["candidates"]:
            events.write_event(
                store,
                candidate["graceid"],
                candidate,
                search=search,
                psds=psds,
                ranking_bytes=ranking_bytes,
                conf=conf,
            )
        write_frames(store, result, conf)
    if era == "O4":
        o4superevents.write_superevents(store, results)
    injections.write_injections(os.path.join(store, "injections.xml"), sources, conf)
    document = truth.truth_document(results, seed, superevents, conf, mdc, era)
    write_json(os.path.join(store, "truth.json"), document)
    return document
