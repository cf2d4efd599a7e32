"""The replay clock: when, in GPS seconds, each step of the live system happens.

Nothing in a replay reads the wall clock; every time comes from the store's
``created`` and upload times and from modelled running times, so reruns give
the same bytes:

* an event exists for the superevent manager from its ``created`` time;
* an annotation is on GraceDB ``replay_bayestar_seconds`` after the last of
  its input files was uploaded (BAYESTAR's typical running time);
* the preliminary notice goes out at the later of the superevent's creation
  plus ``orchestrator_timeout`` (gwcelery 2018 and O3) and the moment the
  preferred event's sky map and classification are ready.

The watcher's mapping of replay time onto wall time is
:class:`gwreplay.watch.clock.ReplayClock`.
"""

from .products import is_cbc_event

#: The settings this module reads (values: config/config.yaml).
CONFIG_KEYS = ("orchestrator_timeout", "replay_bayestar_seconds")


def upload_ready_time(event, files, replay_bayestar_seconds):
    """When the annotation made from ``files`` of ``event`` is on GraceDB.

    The last of its input files reaches GraceDB, then the work takes
    ``replay_bayestar_seconds``.
    """
    upload_times = event["upload_times"]
    started = max(upload_times[name] for name in files if name in upload_times)
    return started + replay_bayestar_seconds


def annotation_ready_time(event, replay_bayestar_seconds):
    """When the preferred event's annotations are on GraceDB.

    CBC: the last of its uploads, then ``replay_bayestar_seconds``. Burst:
    the pipeline's own sky-map upload.
    """
    uploads = event["upload_times"]
    if not uploads:
        return event["created"]
    if is_cbc_event(event):
        return max(uploads.values()) + replay_bayestar_seconds
    return max(uploads.values())


def notice_time(
    superevent, preferred_event, *, orchestrator_timeout, replay_bayestar_seconds
):
    """When the live system would have issued the preliminary notice (GPS)."""
    return max(
        superevent["created"] + orchestrator_timeout,
        annotation_ready_time(preferred_event, replay_bayestar_seconds),
    )


def events_known_at(events, time):
    """The G-events GraceDB already held at ``time``, by GraceID."""
    return {e["graceid"]: e for e in events if e["created"] <= time}
