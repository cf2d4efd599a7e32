"""The O4 era's slot plan: the O3 plan plus what gwcelery 3.0.0 exercises.

:func:`o4_slots` takes the slots of :func:`gwreplay.mdc.schedule.plan_slots`
(which it leaves as they are for the O3 era) and, with a generator of its own
(seeded from the main seed, so the O3 draws are untouched):

* renames pipelines as GraceDB names them in O4 (``MBTAOnline`` -> ``MBTA``);
* gives every candidate its search: ``AllSky`` for CBC and noise, ``BBH``
  for cWB finding a BBH source (cWB's BBH search), ``AllSky`` for cWB noise;
* marks a share of the BNS sources (at least one when there is a BNS) as
  also found, before the merger, by an ``EarlyWarning`` search of one of
  ``mdc_early_warning_pipelines``, with its final frequency;
* turns the first significant noise slot (the gstlal one) into a
  *less-significant* candidate: its FAR lies between the significant and the
  less-significant limits of CBC AllSky (``policies: O4:``), so it gets two
  less-significant Preliminary notices;
* draws each source slot's ADV sign-off status (OK or NO) from the slot's
  own seed. Only superevents with a significant candidate are signed off;
  when all of them drew the same status and there are two or more, the last
  one gets the other (:func:`settle_signoffs`), so both branches are
  exercised.
"""

import math

import numpy as np

EARLY_WARNING_SEARCH = "EarlyWarning"


def rename(pipeline, conf):
    """O4 GraceDB name of a pipeline (``MBTAOnline`` -> ``MBTA``)."""
    return conf["mdc_o4_pipeline_names"].get(pipeline, pipeline)


def o4_conf(conf):
    """The configuration with O4 pipeline names (latencies keyed by them too).

    Every CBC pipeline embeds its PSDs in coinc.xml in O4.
    """
    conf = dict(conf)
    conf["mdc_cbc_pipelines"] = [rename(p, conf) for p in conf["mdc_cbc_pipelines"]]
    conf["mdc_pipeline_latency"] = {
        rename(p, conf): v for p, v in conf["mdc_pipeline_latency"].items()
    }
    conf["mdc_psd_in_coinc"] = dict.fromkeys(conf["mdc_cbc_pipelines"], True)
    return conf


def threshold(policy, kind, group, search):
    """A FAR limit (Hz) over its trials factor; None (no alerts) for null."""
    limit = policy[f"{kind}_alert_far_threshold"][group][search]
    trials_key = "significant" if kind == "significant" else "preliminary"
    trials = policy[f"{trials_key}_alert_trials_factor"][group][search]
    return None if limit is None else limit / trials


def less_significant_far(rng, conf):
    """A FAR (Hz) inside the CBC AllSky less-significant band."""
    policy = conf["mdc_o4_policy"]
    low = threshold(policy, "significant", "cbc", "allsky")
    high = threshold(policy, "preliminary", "cbc", "allsky")
    if low is None or high is None or not low < high:
        raise ValueError("policies: O4: has no CBC AllSky less-significant band")
    fraction = rng.uniform(*conf["mdc_less_significant_band"])
    return float(math.exp(math.log(low) + fraction * (math.log(high) - math.log(low))))


def signoff_status(slot):
    """The ADV status a slot's own seed gives (``OK`` or ``NO``)."""
    rng = np.random.default_rng(np.random.SeedSequence([slot["seed"], 2]))
    return "OK" if rng.uniform() < 0.5 else "NO"


def o4_slots(slots, seed, conf):
    """Mark the O3 ``slots`` (in place) with their O4 scenario; returns them."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    for slot in slots:
        slot["era"] = "O4"
        slot["pipelines"] = [rename(p, conf) for p in slot["pipelines"]]
        slot["burst_search"] = "BBH" if slot["kind"] == "source" else "AllSky"
        slot["early_warning"] = None
        slot["less_significant"] = False
        slot["signoff"] = None
    bns = [s for s in slots if s["kind"] == "source" and s["class"] == "BNS"]
    pipelines = conf["mdc_early_warning_pipelines"]
    if bns and pipelines and conf["mdc_early_warning_fraction"] > 0:
        count = max(1, round(conf["mdc_early_warning_fraction"] * len(bns)))
        for i in sorted(rng.choice(len(bns), size=min(count, len(bns)), replace=False)):
            f_highs = conf["mdc_early_warning_f_high"]
            bns[i]["early_warning"] = {
                "pipeline": pipelines[int(rng.integers(len(pipelines)))],
                "f_high": float(f_highs[int(rng.integers(len(f_highs)))]),
            }
    noise = [s for s in slots if s["kind"] == "noise" and s["significant"]]
    cbc_noise = [s for s in noise if s["pipelines"][0] != "CWB"]
    if cbc_noise:
        cbc_noise[0]["less_significant"] = True
    for slot in slots:
        if slot["kind"] == "source":
            slot["signoff"] = signoff_status(slot)
    return slots


def settle_signoffs(signed_slots):
    """Both statuses among two or more signed slots: flip the last if needed."""
    if len(signed_slots) >= 2 and len({s["signoff"] for s in signed_slots}) == 1:
        last = signed_slots[-1]
        last["signoff"] = "NO" if last["signoff"] == "OK" else "OK"
