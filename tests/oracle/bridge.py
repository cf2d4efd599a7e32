"""Answer calls to gwcelery 3.0.0's own functions: the oracle of tests/oracle.

Runs under the oracle environment's python (``make oracle``), never under
gwreplay's. Each line of standard input is one batch, a JSON object
``{"function": NAME, "args": [ARGS, ...]}``; each batch is answered by one
line, a JSON list with one ``{"ok": RESULT}`` or ``{"error": "Type: text"}``
per ARGS, so that where gwcelery raises, the test can require gwreplay to
refuse the same input. Non-finite floats travel as JSON's ``Infinity``.
The process answers batches until its input ends: one process per session.
"""

import io
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")


def _import_gwcelery():
    """Import gwcelery's modules with their output kept off our stdout."""
    saved, sys.stdout = sys.stdout, io.StringIO()
    try:
        import gwcelery
        from gwcelery import app
        from gwcelery.tasks import alerts, detchar, superevents
    finally:
        sys.stdout = saved
    return gwcelery.__version__, app, alerts, detchar, superevents


VERSION, APP, ALERTS, DETCHAR, SUPEREVENTS = _import_gwcelery()


def keyfunc(event):
    """``superevents.keyfunc``: the comparison key, as a list."""
    return list(SUPEREVENTS.keyfunc(event))


def should_publish(event, significant):
    """``superevents.should_publish`` of one tier."""
    return SUPEREVENTS.should_publish(event, significant=significant)


def is_complete(event):
    """``superevents.is_complete``."""
    return SUPEREVENTS.is_complete(event)


def get_instruments(event):
    """``superevents.get_instruments``, sorted."""
    return sorted(SUPEREVENTS.get_instruments(event))


def select_preferred_event(events):
    """``superevents.select_preferred_event`` (run in-process): the GraceID."""
    return SUPEREVENTS.select_preferred_event(events)["graceid"]


def check_vector(paths, channel, start, end, bitdef_name):
    """``detchar.check_vector`` over frame files, with gwcelery's bit layout."""
    from glue.lal import Cache
    from gwpy.timeseries import Bits

    bitdef = APP.conf["detchar_bit_definitions"][bitdef_name]
    bits = Bits(channel=bitdef["channel"], bits=bitdef["bits"])
    return DETCHAR.check_vector(Cache.from_urls(paths), channel, start, end, bits)


def create_base_alert_dict(classification, superevent, alert_type):
    """``alerts._create_base_alert_dict``; classification is [em_bright, p_astro]."""
    return ALERTS._create_base_alert_dict(classification, superevent, alert_type)


def conf(name):
    """A value of gwcelery's configuration (``app.conf[name]``)."""
    return APP.conf[name]


def stock_p_astro(event):
    """The ``<pipeline>.p_astro.json`` gwcelery 3.0.0 computes for a new event.

    A ``new`` alert about ``event`` goes to ``orchestrator``'s
    ``handle_match_filter_cbc_event`` if it listens to the event's topic
    (``<group>_<pipeline>``), run in Celery's eager mode with the handler's
    other tasks mocked (as gwcelery's tests do) and the real
    ``p_astro.compute_p_astro``. Returns None when that task is not started,
    else ``{"args": [snr, far, mass1, mass2, pipeline, sorted instruments],
    "p_astro": the JSON it returns, parsed}``.
    """
    import contextlib
    from unittest import mock

    from gwcelery.tasks import igwn_alert, orchestrator, p_astro

    handler = orchestrator.handle_match_filter_cbc_event
    topic = f"{event['group']}_{event['pipeline']}".lower()
    if handler not in igwn_alert.handler.get(topic, ()):
        return None
    compute, found = p_astro.compute_p_astro.run, {}

    def record(*args):
        found["args"] = [*args[:-1], sorted(args[-1])]
        text = compute(*args)
        found["p_astro"] = json.loads(text)
        return text

    eager = {"task_always_eager": True, "task_eager_propagates": True}
    saved = {key: APP.conf.get(key) for key in eager}
    with contextlib.ExitStack() as stack:
        stack.callback(APP.conf.update, saved)
        APP.conf.update(eager)
        stack.enter_context(
            mock.patch.object(p_astro.compute_p_astro, "run", side_effect=record)
        )
        for name in (
            "gracedb.download._orig_run",
            "gracedb.upload.run",
            "gracedb.create_label.run",
            "bayestar.localize.run",
            "em_bright.source_properties.run",
            "mchirp_estimates.binned_mchirp.run",
        ):
            stack.enter_context(mock.patch(f"gwcelery.tasks.{name}"))
        handler({"uid": event["graceid"], "alert_type": "new", "object": event})
    return found or None


FUNCTIONS = {
    function.__name__: function
    for function in (
        keyfunc,
        should_publish,
        is_complete,
        get_instruments,
        select_preferred_event,
        check_vector,
        create_base_alert_dict,
        conf,
        stock_p_astro,
    )
}


def answer(request):
    """Results of one batch, one per argument list."""
    function = FUNCTIONS[request["function"]]
    results = []
    for args in request["args"]:
        try:
            results.append({"ok": function(*args)})
        except Exception as exc:  # noqa: BLE001 - the oracle's refusal is data
            results.append({"error": f"{type(exc).__name__}: {exc}"})
    return results


def main():
    """Answer every batch on stdin, one JSON line each, until stdin ends."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # library chatter must not corrupt the answers
    out.write(json.dumps({"ready": VERSION}) + "\n")
    out.flush()
    for line in sys.stdin:
        if line.strip():
            out.write(json.dumps(answer(json.loads(line))) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
