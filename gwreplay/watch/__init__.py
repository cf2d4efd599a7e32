"""``gwreplay watch``: follow a store near-live and replay what arrives.

    gwreplay watch STORE --results DIR [--cores N] [--profile P] [--poll]
                   [--batch-seconds S] [--clock-offset S] [--configfile F]

The watcher is the live face of the same Snakemake workflow that
``gwreplay run`` drives in batch. It follows ``STORE/events/`` with watchdog
(inotify, or polling on network filesystems where inotify does not see
other hosts' writes) and, as gwcelery's orchestrator does on GraceDB's
LVAlert messages, reacts to each upload:

* ``psd.xml.gz`` (or ``coinc.xml`` when the pipeline embedded the PSDs in
  it) starts BAYESTAR and the source classification, ``ranking_data.xml.gz``
  starts p_astro (``handle_cbc_event``; the products per event are those of
  :func:`gwreplay.plan.event_products`);
* a new ``event.json`` feeds the superevent manager
  (:func:`gwreplay.superevents.form_superevents`, the same function the
  workflow runs at parse time);
* ``orchestrator_timeout`` is honoured in real time: a superevent's
  preliminary alert (``RESULTS/superevents/<SID>/alert.json``) is requested
  once the replay clock has passed its creation time plus the timeout, so
  the workflow, which recomputes the superevents from the ``created`` times,
  takes the preferred event as it stood then. An event that joins later
  changes nothing: the alert is requested once and never again.

Each Snakemake run asks only for the targets that the new files made
buildable, so the work per run does not grow with the number of events
already processed; the fixed cost of a run (starting Snakemake, parsing the
workflow, which loads the store) is measured by ``bench/watch_latency.py``.
Runs never overlap; what arrives during a run is batched into the next one.
The list of alerts already requested and produced is kept in
``RESULTS/watch_state.json`` (written atomically) so that a restart neither
misses nor repeats an alert. Producer contract, replay clock and figures:
``docs/watcher.md``.

The parts, each a module of its own:

* :mod:`~gwreplay.watch.command`: the command line, configuration, logging;
* :mod:`~gwreplay.watch.observer`: watchdog on ``STORE/events/``;
* :mod:`~gwreplay.watch.uploads`: upload records, temporary names,
  settling, validation;
* :mod:`~gwreplay.watch.targets`: which product needs which uploads, the
  superevents, what an alert needs;
* :mod:`~gwreplay.watch.clock`: the replay clock, when alerts fall due;
* :mod:`~gwreplay.watch.runner`: the Snakemake runs, stop requests, failures;
* :mod:`~gwreplay.watch.state`: ``watch_state.json``, resume;
* :mod:`~gwreplay.watch.watcher`: the :class:`Watcher` that composes them.

watchdog is imported only when the watcher starts following the store.
"""

from .clock import AlertSchedule, ReplayClock
from .command import build_parser, load_config, main
from .observer import filesystem_type
from .targets import coinc_embeds_psds
from .uploads import Upload, Uploads, is_temporary
from .watcher import Watcher

__all__ = [
    "AlertSchedule",
    "ReplayClock",
    "Upload",
    "Uploads",
    "Watcher",
    "build_parser",
    "coinc_embeds_psds",
    "filesystem_type",
    "is_temporary",
    "load_config",
    "main",
]
