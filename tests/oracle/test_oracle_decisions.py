"""gwreplay's O4 decisions against gwcelery 3.0.0's own functions, case by case.

On 1,200 seeded event sets (:mod:`eventsets`): every event's ``keyfunc`` key
and ``is_complete``, both tiers of ``should_publish``, the ``keyfunc`` order
of every set and its ``select_preferred_event`` must equal gwcelery's, and
where gwcelery raises, gwreplay must refuse the same event
(:class:`~gwreplay.policies.o4.UnrankableEvent`). Mismatches are reported
with the events involved.
"""

import json
import math

import pytest
from eventsets import boundary_fars, event_sets

from gwreplay.policies import o4

SEED = 20260513
SETS = 1200


def _settings(config_block):
    return {key: config_block[key] for key in o4.CONFIG_KEYS}


def _ours(function, *args, **kwargs):
    """gwreplay's answer in the bridge's shape."""
    try:
        value = function(*args, **kwargs)
    except ValueError as exc:  # UnrankableEvent, or max() of no event
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "ok": json.loads(json.dumps(list(value) if isinstance(value, tuple) else value))
    }


def _same(theirs, ours):
    """Both refused, or both answered the same."""
    if "error" in theirs or "error" in ours:
        return "error" in theirs and "error" in ours
    return theirs["ok"] == ours["ok"]


def _report(mismatches, what):
    shown = "\n".join(json.dumps(m, sort_keys=True)[:1500] for m in mismatches[:3])
    return f"{len(mismatches)} {what} differ from gwcelery 3.0.0, e.g.:\n{shown}"


@pytest.fixture(scope="module")
def cases(o4_settings):
    return event_sets(SEED, SETS, o4_settings)


@pytest.fixture(scope="module")
def events(cases):
    return [event for events in cases for event in events]


@pytest.fixture(scope="module")
def settings(o4_settings):
    return _settings(o4_settings)


def test_configuration_is_gwcelerys(gwcelery, o4_settings):
    """policies: O4: holds gwcelery 3.0.0's values (null standing for -inf)."""
    names = list(o4.CONFIG_KEYS) + [
        "superevent_far_threshold",
        "superevent_clean_up_timeout",
    ]
    theirs = gwcelery.call("conf", [[name] for name in names])

    def inf(value):
        if isinstance(value, dict):
            return {k: inf(v) for k, v in value.items()}
        return -math.inf if value is None else value

    for name, answer in zip(names, theirs, strict=True):
        assert inf(o4_settings[name]) == answer["ok"], name


def test_per_event_decisions_equal_gwcelerys(gwcelery, events, settings):
    functions = {
        "keyfunc": (
            lambda e: [[e]],
            lambda e: _ours(o4.keyfunc, e, **settings),
        ),
        "is_complete": (lambda e: [[e]], lambda e: _ours(o4.is_complete, e)),
        "get_instruments": (
            lambda e: [[e]],
            lambda e: _ours(lambda x: sorted(o4.get_instruments(x)), e),
        ),
    }
    for tier in (True, False):
        functions[f"should_publish significant={tier}"] = (
            lambda e, tier=tier: [[e, tier]],
            lambda e, tier=tier: _ours(
                o4.should_publish, e, significant=tier, **settings
            ),
        )
    failures = []
    for name, (arguments, ours) in functions.items():
        requests = [args for e in events for args in arguments(e)]
        theirs = gwcelery.call(name.split()[0], requests)
        mismatches = [
            {"function": name, "event": e, "gwcelery": t, "gwreplay": o}
            for e, t, o in zip(events, theirs, map(ours, events), strict=True)
            if not _same(t, o)
        ]
        if mismatches:
            failures.append(_report(mismatches, name))
    assert not failures, "\n".join(failures)


def test_order_and_preferred_event_equal_gwcelerys(gwcelery, cases, settings):
    theirs_keys = gwcelery.call("keyfunc", [[e] for events in cases for e in events])
    theirs_preferred = gwcelery.call("select_preferred_event", [[s] for s in cases])
    keys = iter(theirs_keys)
    mismatches = []
    for events, preferred in zip(cases, theirs_preferred, strict=True):
        answers = [next(keys) for _ in events]
        ours = _ours(
            lambda s: o4.select_preferred_event(s, **settings)["graceid"], events
        )
        if not _same(preferred, ours):
            mismatches.append({"set": events, "gwcelery": preferred, "gwreplay": ours})
            continue
        if any("error" in a for a in answers):
            continue
        # Stable sort by key, best first: the order in which gwcelery ranks.
        order_theirs = sorted(
            range(len(events)), key=lambda i: answers[i]["ok"], reverse=True
        )
        order_ours = sorted(
            range(len(events)),
            key=lambda i: o4.keyfunc(events[i], **settings),
            reverse=True,
        )
        if order_theirs != order_ours:
            mismatches.append({"set": events, "order": [order_theirs, order_ours]})
    assert not mismatches, _report(mismatches, "event sets")


def test_generated_sets_exercise_every_rule(cases, settings, o4_settings):
    """The generator reaches each branch, so agreement above means something."""
    events = [e for s in cases for e in s]
    assert len(cases) >= 1000
    seen = {"unrankable": 0, "significant": 0, "less-significant only": 0}
    for event in events:
        try:
            high = o4.should_publish(event, significant=True, **settings)
            low = o4.should_publish(event, significant=False, **settings)
            o4.keyfunc(event, **settings)
        except o4.UnrankableEvent:
            seen["unrankable"] += 1
            continue
        seen["significant"] += high
        seen["less-significant only"] += low and not high
    assert all(count >= 20 for count in seen.values()), seen
    boundaries = set(boundary_fars(o4_settings))
    assert sum(e["far"] in boundaries for e in events) >= 500
    for needle in ("K1", "H1"):
        assert any(
            e["instruments"] == needle or needle in e["instruments"] for e in events
        )
    assert {e["pipeline"] for e in events} >= {
        "gstlal",
        "pycbc",
        "MBTA",
        "spiir",
        "CWB",
        "oLIB",
        "MLy",
        "aframe",
    }
    assert {e["search"] for e in events} >= {
        "AllSky",
        "EarlyWarning",
        "BBH",
        "SSM",
        "MDC",
    }
    rankable_sets = 0
    for events in cases:
        try:
            o4.select_preferred_event(events, **settings)
            rankable_sets += len(events) > 1
        except ValueError:  # unrankable, or External events only
            pass
    assert rankable_sets >= 300
