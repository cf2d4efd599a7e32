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
``instruments`` (O4: ``search`` and ``uploads`` too).
"""

import heapq


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


# --------------------------------------------------------------------------
# O4 era: the notices of gwcelery 3.0.0 (docs/mdc.md, "O4 truth").
#
# Written from gwcelery 3.0.0's ``superevents.handle``/``process`` and the
# label handlers of ``orchestrator.handle_superevent``, for the MDC's own
# scenarios (no K1, no offline events, no RAVEN), independently of
# gwreplay.policies: an event counts once it is complete, which the MDC
# models as the moment of its last upload; it is then ranked, may become
# preferred (unless LOW_SIGNIF_LOCKED is on) and may lock the superevent.
# --------------------------------------------------------------------------

SECOND_ALERT_DELAY_KEY = "superevent_clean_up_timeout"


def ready_time(candidate):
    """When the MDC expects a candidate complete: its last upload."""
    return max([candidate["created"], *candidate["uploads"].values()])


def _limit(policy, key, candidate):
    group, search = candidate["group"].lower(), candidate["search"].lower()
    return policy[key][group][search]


def o4_tiers(candidate, policy):
    """``(significant, less_significant)`` of a candidate under ``policy``.

    FAR times the tier's trials factor at most the tier's threshold (a null
    threshold: never); a candidate strictly below the significant limit is
    less-significant too.
    """
    far = candidate["far"]
    high = _limit(policy, "significant_alert_far_threshold", candidate)
    high_far = far * _limit(policy, "significant_alert_trials_factor", candidate)
    low = _limit(policy, "preliminary_alert_far_threshold", candidate)
    low_far = far * _limit(policy, "preliminary_alert_trials_factor", candidate)
    significant = high is not None and high_far <= high
    if high is not None and high_far < high:
        return significant, significant
    return significant, low is not None and low_far <= low


def o4_key(candidate, complete, policy):
    """Ranking of a candidate, the largest preferred (gwcelery 3.0.0 keyfunc)."""
    significant, less = o4_tiers(candidate, policy)
    group, search = candidate["group"].lower(), candidate["search"].lower()
    rank = policy["superevent_candidate_preference"].get(group, {}).get(search, -1)
    if group == "cbc":
        tail = (len(candidate["instruments"]), candidate["snr"])
    else:
        tail = (-1, -candidate["far"])
    return (complete, significant, less, rank, *tail)


class _O4Superevent:
    """The labels and notices of one MDC superevent, as time goes by."""

    def __init__(self, members, policy, dq):
        self.members = members  # in upload (GraceID) order
        self.policy = policy
        self.labels = {"DQV"} if dq == "DQV" else {"INJ"} if dq == "INJ" else set()
        self.preferred = members[0]
        self.notices = []
        self.copied = False
        self.timers = []

    def key(self, candidate, now):
        return o4_key(candidate, ready_time(candidate) <= now, self.policy)

    def best(self, now):
        known = [c for c in self.members if c["created"] <= now]
        return max(known, key=lambda c: self.key(c, now))

    def notice(self, alert_type, significant, now):
        if alert_type != "Retraction" and "INJ" in self.labels:
            return
        self.notices.append(
            {
                "alert_type": alert_type,
                "significant": significant,
                "preferred_event": self.preferred["graceid"],
            }
        )

    def attempt(self, kind, now, checked):
        """A preliminary-type alert for the preferred event chosen again."""
        self.copied = True
        significant, less = o4_tiers(self.preferred, self.policy)
        if not (significant if kind != "less" else less):
            return
        if checked and "DQV" in self.labels:
            return
        blocking = {"ADVOK", "ADVNO"}
        if kind != "prelim":
            blocking |= {"SIGNIF_LOCKED"}
        if kind == "less":
            blocking |= {"EARLY_WARNING"}
        if self.labels & blocking:
            return
        alert_type = "EarlyWarning" if kind == "ew" else "Preliminary"
        before = len(self.notices)
        self.notice(alert_type, kind != "less", now)
        if kind != "ew" and len(self.notices) > before:
            self.timers.append((now + self.policy[SECOND_ALERT_DELAY_KEY], kind))

    def complete(self, candidate, now):
        """``process`` of a complete candidate, then the handlers of its locks."""
        significant, less = o4_tiers(candidate, self.policy)
        if "LOW_SIGNIF_LOCKED" not in self.labels:
            if self.key(candidate, now) > self.key(self.preferred, now):
                self.preferred = candidate
        if significant:
            self.labels.add("ADVREQ")
            early = candidate["search"] == "EarlyWarning"
            lock = "EARLY_WARNING" if early else "SIGNIF_LOCKED"
            if lock not in self.labels:
                self.labels.add(lock)
                if not (early and "SIGNIF_LOCKED" in self.labels):
                    self.labels.add("LOW_SIGNIF_LOCKED")
                    self.preferred = self.best(now)
                    self.attempt("ew" if early else "prelim", now, checked=not early)
        if less and "LOW_SIGNIF_LOCKED" not in self.labels:
            self.labels.add("LOW_SIGNIF_LOCKED")
            if not self.labels & {"SIGNIF_LOCKED", "EARLY_WARNING"}:
                self.attempt("less", now, checked=True)

    def second(self, kind, now):
        if kind == "less" and self.labels & {
            "ADVREQ",
            "ADVOK",
            "ADVNO",
            "SIGNIF_LOCKED",
            "EARLY_WARNING",
        }:
            return
        self.preferred = self.best(now)
        significant, less = o4_tiers(self.preferred, self.policy)
        if (significant if kind == "prelim" else less) and not (
            self.labels & {"ADVOK", "ADVNO"}
        ):
            self.notice("Preliminary", kind == "prelim", now)

    def sign_off(self, status):
        label = "ADV" + status
        if label in self.labels:
            return
        self.labels.add(label)
        if status == "OK" and self.copied:
            self.notice("Initial", True, None)
        elif status == "NO":
            self.notice("Retraction", None, None)


def expected_o4_notices(members, conf, dq, signoff):
    """The notices gwcelery 3.0.0 sends for an MDC superevent, in order.

    ``members``: the superevent's candidates (``gw_events``) in upload order;
    ``dq``: the expected state-vector result (``DQV`` blocks preliminaries,
    ``INJ`` every notice but a Retraction); ``signoff``: ``{"status", "time"}``
    or None. At one moment completions come first, then second notices, then
    the sign-off. Returns dicts with ``alert_type``, ``significant`` and
    ``preferred_event``.
    """
    state = _O4Superevent(members, conf["mdc_o4_policy"], dq)
    queue = [(ready_time(c), 0, n, c) for n, c in enumerate(members)]
    if signoff is not None:
        queue.append((signoff["time"], 2, len(members), signoff["status"]))
    heapq.heapify(queue)
    count = len(queue)
    while queue:
        now, phase, _, item = heapq.heappop(queue)
        if phase == 0:
            state.complete(item, now)
        elif phase == 1:
            state.second(item, now)
        else:
            state.sign_off(item)
        for when, kind in state.timers:
            count += 1
            heapq.heappush(queue, (when, 1, count, kind))
        state.timers = []
    return state.notices
