"""An O4 replay of an O4 MDC store decides as gwcelery 3.0.0 does.

``gwreplay mdc --era O4`` writes a store with GraceDB's superevents and ADV
sign-offs; the workflow's superevent jobs (state-vector check, then the
alert sequence: ``sequence.json``) run through Snakemake as in any replay.
gwcelery 3.0.0's own ``superevents`` and ``orchestrator`` handlers
(``sequence_bridge.py``) are then driven with the same events, completion
times (the plan's), sign-offs and state-vector labels (the replay's
``dq.json``), and every notice must agree: number, type, significance,
preferred event, due time.
"""

import glob
import json
import os
import subprocess
import sys

from builders import REPO
from test_oracle_sequence import comparable, gwcelery_notices, oracle_python

from gwreplay.config import defaults
from gwreplay.mdc.generate import generate_store
from gwreplay.plan import make_plan


def _replay_sequences(store, results):
    """Run the workflow's superevent jobs only (their sequence.json targets)."""
    plan = make_plan(store, results, dict(defaults(), store=store, results=results))
    targets = [plan.superevent_result(sid, "sequence.json") for sid in plan.superevents]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "2",
            "--quiet",
            "--config",
            f"store={store}",
            f"results={results}",
            "--",
            *targets,
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return plan


def _case(plan, sid, results):
    superevent = plan.superevents[sid]
    events = {g: plan.store.events[g] for g in superevent["gw_events"]}
    signoffs = []
    if sid in plan.store.signoffs:
        with open(plan.store.signoffs[sid], encoding="utf-8") as f:
            signoffs = json.load(f)["signoffs"]
    with open(os.path.join(results, "superevents", sid, "dq.json")) as f:
        dq = json.load(f)
    return {
        "superevent": superevent,
        "events": events,
        "ready": {g: plan.ready[g] for g in events if g in plan.ready},
        "signoffs": signoffs,
        "dq_labels": sorted(set(dq["labels"]) & {"DQV", "INJ"}),
    }


def test_o4_replay_of_an_mdc_decides_as_gwcelery(tmp_path):
    python = oracle_python()
    store, results = str(tmp_path / "store"), str(tmp_path / "results")
    generate_store(store, superevents=10, seed=4, era="O4")
    plan = _replay_sequences(store, results)
    sids = sorted(plan.superevents)
    assert len(sids) >= 8
    answers = gwcelery_notices(python, [_case(plan, sid, results) for sid in sids])
    kinds = set()
    for sid, answer in zip(sids, answers, strict=True):
        with open(os.path.join(results, "superevents", sid, "sequence.json")) as f:
            ours = json.load(f)["notices"]
        theirs = answer["notices"]
        assert [comparable(n) for n in ours] == [comparable(n) for n in theirs], sid
        kinds.update(n["alert_type"] for n in ours)
    # The MDC reaches significant alerts, sign-offs of both kinds.
    assert {"Preliminary", "Initial", "Retraction"} <= kinds, kinds
    assert glob.glob(os.path.join(results, "superevents", "*", "dq.json"))
