"""The O4 orchestrator's decisions about one event (gwcelery 3.0.0).

Written after reading ``gwcelery/tasks/superevents.py`` of gwcelery 3.0.0
(``is_complete``, ``should_publish``/``_should_publish``, ``keyfunc``,
``select_preferred_event``, ``get_instruments``, ``get_snr``, ``handle``,
``process``) and checked against those functions, case by case, in
``tests/oracle/``. In O4 GraceDB groups events into superevents; gwcelery
picks the preferred event and freezes it with labels. These functions are
what that choice rests on:

* an event is *complete* once the labels of its products are on it
  (``SKYMAP_READY``, ``EMBRIGHT_READY``, ``PASTRO_READY``; bursts need the
  sky map only, SSM no p_astro);
* *publishable* in two tiers: significant (``significant_alert_*``) and
  less-significant (``preliminary_alert_*``), per group and search;
* the preferred event is the maximum of :func:`keyfunc`: completeness, both
  tiers, ``superevent_candidate_preference``, number of instruments, then
  SNR (CBC) or -FAR (burst).

Events are GraceDB-shaped dicts as :func:`gwreplay.store.load_event_json`
returns them; ``labels`` (list of str) and ``offline`` default to none and
false when absent. Settings are keyword-only arguments named as gwcelery's
configuration (:data:`CONFIG_KEYS`, values under ``policies: O4:`` in
``config/config.yaml``). Where gwcelery 3.0.0 itself fails on an event (a
group or search missing from its tables: Test events, burst MDC, a CBC
``BBH`` search, aframe SNR) these functions raise :class:`UnrankableEvent`,
so that a caller can treat it as gwcelery does, which never gets past it.
"""

import math

#: Configuration keys (under ``policies: O4:``) that :func:`should_publish`,
#: :func:`keyfunc` and :func:`select_preferred_event` read; every one of them
#: accepts the whole set, so one settings mapping serves all three.
CONFIG_KEYS = (
    "significant_alert_far_threshold",
    "significant_alert_trials_factor",
    "preliminary_alert_far_threshold",
    "preliminary_alert_trials_factor",
    "superevent_candidate_preference",
)

#: Label names of gwcelery 3.0.0 (``superevents.FROZEN_LABEL`` etc.): GraceDB
#: vocabulary, not configuration.
FROZEN_LABEL = "LOW_SIGNIF_LOCKED"
SIGNIFICANT_LABEL = "SIGNIF_LOCKED"
EARLY_WARNING_LABEL = "EARLY_WARNING"
READY_LABEL = "EM_READY"
SKYMAP_READY, EMBRIGHT_READY, PASTRO_READY = (
    "SKYMAP_READY",
    "EMBRIGHT_READY",
    "PASTRO_READY",
)
#: Labels that lift any event over both FAR thresholds / keep it private.
RAVEN_ALERT_LABEL = "RAVEN_ALERT"
INJECTION_LABEL = "INJ"

#: ``superevents.REQUIRED_LABELS_BY_GROUP_SEARCH`` (a constant of gwcelery's
#: code, not of its configuration): the product labels that make an event
#: complete, by lower-case group and search.
REQUIRED_LABELS_BY_GROUP_SEARCH = {
    "cbc": {
        "allsky": frozenset({PASTRO_READY, EMBRIGHT_READY, SKYMAP_READY}),
        "earlywarning": frozenset({PASTRO_READY, EMBRIGHT_READY, SKYMAP_READY}),
        "mdc": frozenset({PASTRO_READY, EMBRIGHT_READY, SKYMAP_READY}),
        "bbh": frozenset({PASTRO_READY, EMBRIGHT_READY, SKYMAP_READY}),
        "ssm": frozenset({EMBRIGHT_READY, SKYMAP_READY}),
    },
    "burst": {"allsky": frozenset({SKYMAP_READY})},
}


class UnrankableEvent(ValueError):
    """gwcelery 3.0.0 cannot rank or judge this event (it would raise)."""

    def __init__(self, event, why):
        self.graceid = event.get("graceid", "?")
        super().__init__(f"{self.graceid}: {why} (gwcelery 3.0.0 fails here too)")


def _lower(event, key):
    return str(event.get(key) or "").lower()


def _labels(event):
    return set(event.get("labels") or ())


def get_instruments(event):
    """Detectors that gave data to an event.

    As gwcelery 3.0.0's ``get_instruments``: every ``SingleInspiral`` ifo when
    the event has that table (chi-squared or not, unlike O3), else the
    comma-separated ``instruments``.
    """
    extra = event.get("extra_attributes") or {}
    if "SingleInspiral" in extra:
        return {single["ifo"] for single in extra["SingleInspiral"] or ()}
    return set(str(event.get("instruments") or "").split(","))


def has_kagra(event):
    """True when K1 gave data: gwcelery 3.0.0's ``handle`` skips such events."""
    return "K1" in get_instruments(event)


def is_early_warning(event):
    """True when the event carries ``EARLY_WARNING``.

    gwcelery 3.0.0 decides by this label (``process``), not by the search
    name ``EARLY_WARNING_SEARCH_NAME``, which it defines but never reads.
    """
    return EARLY_WARNING_LABEL in _labels(event)


def get_snr(event):
    """Network SNR of a CBC event (``CoincInspiral.snr``; aframe has none)."""
    if _lower(event, "pipeline") == "aframe":
        raise UnrankableEvent(event, "aframe reports no SNR")
    try:
        return event["extra_attributes"]["CoincInspiral"]["snr"]
    except (KeyError, TypeError):
        raise UnrankableEvent(event, "no CoincInspiral.snr") from None


def _completeness_group(event):
    """cWB's BBH search counts as CBC for completeness (gwcelery's special case)."""
    group = _lower(event, "group")
    if _lower(event, "pipeline") == "cwb" and _lower(event, "search") == "bbh":
        return "cbc"
    return group


def required_labels(event):
    """The product labels that make ``event`` complete."""
    group, search = _completeness_group(event), _lower(event, "search")
    try:
        return REQUIRED_LABELS_BY_GROUP_SEARCH[group][search]
    except KeyError:
        raise UnrankableEvent(
            event, f"no completeness rule for group {group!r} search {search!r}"
        ) from None


def is_complete(event):
    """True once every product label of the event's group and search is on it."""
    return required_labels(event) <= _labels(event)


def _threshold(value):
    """A FAR threshold; ``None`` (config's null) is gwcelery's -inf: no alert."""
    return -math.inf if value is None else value


def _tier(event, significant, settings):
    """gwcelery's ``_should_publish``: (not offline and not INJ, FAR passes).

    The significant tier is used when asked for, and also for a
    less-significant question whenever the event is strictly below the
    significant threshold, so that significant implies less-significant (a
    significant early-warning event, whose less-significant threshold is
    -inf, passes both).
    """
    group, search = _lower(event, "group"), _lower(event, "search")
    significant_thresholds = settings["significant_alert_far_threshold"]
    if group not in significant_thresholds or (
        search not in significant_thresholds[group]
    ):
        # gwcelery 3.0.0 falls through to an unbound threshold here.
        raise UnrankableEvent(event, f"no FAR threshold for {group}/{search}")
    try:
        low_threshold = _threshold(
            settings["preliminary_alert_far_threshold"][group][search]
        )
        low_far = settings["preliminary_alert_trials_factor"][group][search]
        high_threshold = _threshold(significant_thresholds[group][search])
        high_far = settings["significant_alert_trials_factor"][group][search]
    except KeyError:
        raise UnrankableEvent(
            event, f"no trials factor or threshold for {group}/{search}"
        ) from None
    low_far, high_far = low_far * event["far"], high_far * event["far"]
    if significant or high_far < high_threshold:
        far, threshold = high_far, high_threshold
    else:
        far, threshold = low_far, low_threshold
    labels = _labels(event)
    return (
        not event.get("offline", False) and INJECTION_LABEL not in labels,
        far <= threshold or RAVEN_ALERT_LABEL in labels,
    )


def should_publish(
    event,
    *,
    significant,
    significant_alert_far_threshold,
    significant_alert_trials_factor,
    preliminary_alert_far_threshold,
    preliminary_alert_trials_factor,
    superevent_candidate_preference=None,
):
    """Whether ``event`` may go out as a significant / less-significant alert.

    Not offline, not a hardware injection (``INJ``), and FAR times the
    trials factor of its group and search at most the tier's threshold (or
    a ``RAVEN_ALERT`` coincidence). ``superevent_candidate_preference`` is
    accepted, unused, so one settings mapping serves every function here.
    """
    return all(
        _tier(
            event,
            significant,
            {
                "significant_alert_far_threshold": significant_alert_far_threshold,
                "significant_alert_trials_factor": significant_alert_trials_factor,
                "preliminary_alert_far_threshold": preliminary_alert_far_threshold,
                "preliminary_alert_trials_factor": preliminary_alert_trials_factor,
            },
        )
    )


def lock_labels(event, **settings):
    """Superevent labels that ``superevents.process`` adds for this event.

    ``SIGNIF_LOCKED`` (``EARLY_WARNING`` instead when the event carries that
    label) for a complete significant event, ``LOW_SIGNIF_LOCKED`` for a
    complete less-significant one, ``ADVREQ`` for any significant one.
    """
    labels = set()
    complete = is_complete(event)
    if should_publish(event, significant=True, **settings):
        labels.add("ADVREQ")
        if complete:
            early = is_early_warning(event)
            labels.add(EARLY_WARNING_LABEL if early else SIGNIFICANT_LABEL)
    if complete and should_publish(event, significant=False, **settings):
        labels.add(FROZEN_LABEL)
    return labels


def keyfunc(
    event,
    *,
    significant_alert_far_threshold,
    significant_alert_trials_factor,
    preliminary_alert_far_threshold,
    preliminary_alert_trials_factor,
    superevent_candidate_preference,
):
    """Comparison key of the preferred event: the larger key is preferred.

    The tuple of gwcelery 3.0.0's ``keyfunc``: completeness; both fields of
    the significant tier, both of the less-significant tier; the rank of the
    group and search in ``superevent_candidate_preference`` (-1 when not
    listed; aframe's AllSky ranks as a burst); the number of instruments
    (CBC; -1 otherwise); the SNR (CBC) or -FAR (otherwise).
    """
    thresholds = {
        "significant_alert_far_threshold": significant_alert_far_threshold,
        "significant_alert_trials_factor": significant_alert_trials_factor,
        "preliminary_alert_far_threshold": preliminary_alert_far_threshold,
        "preliminary_alert_trials_factor": preliminary_alert_trials_factor,
    }
    group, search = _lower(event, "group"), _lower(event, "search")
    if _lower(event, "pipeline") == "aframe" and search == "allsky":
        group = "burst"
    group_rank = superevent_candidate_preference.get(group, {}).get(search, -1)
    if group == "cbc":
        n_ifos, ranking = len(get_instruments(event)), get_snr(event)
    else:
        n_ifos, ranking = -1, -event["far"]
    return (
        is_complete(event),
        *_tier(event, True, thresholds),
        *_tier(event, False, thresholds),
        group_rank,
        n_ifos,
        ranking,
    )


def select_preferred_event(events, **settings):
    """The event of ``events`` with the largest :func:`keyfunc` key.

    External (``group == "External"``) events are left out; on a tie the
    first event in ``events`` wins, as Python's ``max`` does in gwcelery.
    """
    candidates = [event for event in events if event.get("group") != "External"]
    if not candidates:
        raise ValueError("no gravitational-wave event to select from")
    return max(candidates, key=lambda event: keyfunc(event, **settings))
