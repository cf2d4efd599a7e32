"""Matching MDC truth sources to the superevents a replay formed.

A source is matched by the G-events truth.json names for it, else by time
(docs/report.md, "Outcomes against the truth").
"""

from .load import P_ASTRO_CLASSES

#: Seconds outside a superevent's [t_start, t_end] within which an injection
#: still matches it by time (used only when truth.json does not name the G-events).
report_match_window = 1.0


def match_by_events(source, superevents):
    """The superevent sharing G-events with ``source`` (truth gw_events).

    When several do, the one holding the expected final preferred event,
    else the one sharing most events.
    """
    wanted = set(source["gw_events"])
    if not wanted:
        return None
    overlaps = [
        (len(wanted & set(se.gw_events)), se)
        for se in superevents.values()
        if wanted & set(se.gw_events)
    ]
    if not overlaps:
        return None
    final = source["expected"].get("final_preferred_event")
    for _, se in overlaps:
        if final and final in se.gw_events:
            return se
    return max(overlaps, key=lambda item: (item[0], item[1].superevent_id))[1]


def match_by_time(gps, superevents, window=report_match_window):
    """The superevent whose [t_start - window, t_end + window] holds ``gps``.

    Nearest t_0 first when several do.
    """
    if gps is None:
        return None
    candidates = []
    for se in superevents.values():
        t_0, start, end = se.time("t_0"), se.time("t_start"), se.time("t_end")
        if t_0 is None:
            continue
        start = t_0 if start is None else start
        end = t_0 if end is None else end
        if start - window <= gps <= end + window:
            candidates.append((abs(t_0 - gps), se.superevent_id, se))
    return min(candidates)[2] if candidates else None


def match_source(source, superevents, window=report_match_window):
    """Superevent of a truth source: by its G-events, else by time."""
    if source["gw_events"]:
        return match_by_events(source, superevents)
    return match_by_time(source["geocent_end_time"], superevents, window)


def injection_sources(truth, injections, problems):
    """The injections to score: truth sources with a simulation_id (positions
    from injections.xml), or every injections.xml row when there is no truth."""
    if truth is not None:
        sources = []
        for source in truth:
            if source["simulation_id"] is None:
                continue
            row = (injections or {}).get(source["simulation_id"])
            source = dict(source)
            if row is not None:
                source.update(
                    {key: row[key] for key in ("geocent_end_time", "ra", "dec")},
                    distance=row["distance"],
                )
            elif injections is not None:
                problems.append(
                    f"{source['id']}: simulation_id {source['simulation_id']} "
                    "not in injections.xml (truth.json position used)"
                )
            sources.append(source)
        return sources
    return [
        {
            "id": f"sim{simulation_id}",
            "class": row["source"] if row["source"] in P_ASTRO_CLASSES else "",
            "simulation_id": simulation_id,
            "gw_events": [],
            "expected": {},
            **{k: row[k] for k in ("geocent_end_time", "ra", "dec", "distance")},
        }
        for simulation_id, row in sorted((injections or {}).items())
    ]
