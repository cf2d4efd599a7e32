"""The superevent manager's rules, as the MDC's truth must respect them.

Written from gwcelery's documented behaviour (``gwcelery.tasks.superevents``,
O3 configuration), independently of gwreplay's own replay of it, so that the
MDC truth is a real check of the replay:

* a candidate with FAR above ``superevent_far_threshold`` is ignored;
* the first remaining upload creates the superevent, and the orchestrator
  reads the preferred event ``orchestrator_timeout`` seconds later;
* the preferred event is the best by ``keyfunc``: publishable candidates
  first (two or more detectors and FAR times the group's trials factor within
  ``preliminary_alert_far_threshold``), then CBC before burst, then the
  highest network SNR among CBC or the lowest FAR among bursts.

Candidates here are dicts with ``group``, ``far``, ``snr``, ``created`` and
``instruments``.
"""


def is_significant(candidate, conf):
    """Whether the superevent manager considers the candidate at all."""
    return candidate["far"] <= conf["superevent_far_threshold"]


def is_publishable(candidate, conf):
    """gwcelery's ``should_publish`` for a candidate (O3 thresholds)."""
    group = candidate["group"].lower()
    trials = conf["preliminary_alert_trials_factor"].get(group)
    threshold = conf["preliminary_alert_far_threshold"].get(group)
    if trials is None or threshold is None:
        return False
    return len(candidate["instruments"]) > 1 and trials * candidate["far"] <= threshold


def preference_key(candidate, conf):
    """Sort key: the smallest key is the preferred event."""
    group = candidate["group"].lower()
    group_rank = {"cbc": 0, "burst": 1}.get(group, 2)
    tie_breaker = -candidate["snr"] if group == "cbc" else candidate["far"]
    return (not is_publishable(candidate, conf), group_rank, tie_breaker)


def preferred(candidates, conf):
    """The preferred candidate among ``candidates`` (None if there are none)."""
    if not candidates:
        return None
    return min(candidates, key=lambda c: preference_key(c, conf))


def expected_preferred(candidates, conf):
    """``(at_timeout, final)`` preferred candidates of a slot's candidates.

    Both are None when no candidate is significant (no superevent).
    """
    significant = [c for c in candidates if is_significant(c, conf)]
    if not significant:
        return None, None
    deadline = min(c["created"] for c in significant) + conf["orchestrator_timeout"]
    at_timeout = [c for c in significant if c["created"] <= deadline]
    return preferred(at_timeout, conf), preferred(significant, conf)
