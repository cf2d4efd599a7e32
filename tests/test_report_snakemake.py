"""Snakemake's ``--report`` offers the figures of the report page.

The report rule runs on a results tree of tests/test_report.py (an MDC
store with truth.json and injections.xml but no events, so the rule's
inputs are already there and no BAYESTAR runs), then ``snakemake --report``
bundles its ``report()`` figures with their captions (docs/report/figure.rst).
Two Snakemake starts: about 20 s.
"""

import os
import subprocess

import pytest
from test_report import mdc_tree  # noqa: F401 - a fixture

from gwreplay.report.plots import FIGURE_CAPTIONS
from gwreplay.run import snakemake_command


def snakemake(store, results, *extra):
    command = snakemake_command(store, results, cores=1, extra=extra)
    command += ["--", "report"]
    env = {**os.environ, "CONDOR_CONFIG": "/dev/null"}
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


@pytest.mark.slow
def test_snakemake_report_has_the_figures(mdc_tree, tmp_path):  # noqa: F811
    results, store = mdc_tree
    (store / "events").mkdir()
    snakemake(store, results)
    figures = sorted(p.name for p in (results / "report/figures").glob("*.png"))
    assert figures == sorted(FIGURE_CAPTIONS)
    html = tmp_path / "snakemake-report.html"
    log = snakemake(store, results, "--report", str(html))
    for name in FIGURE_CAPTIONS:
        assert f"Adding {name}" in log
    text = html.read_text()
    assert "cumulative histogram of 90% credible areas, from" in text
    assert "RESULTS/report/figures/latency.png" in text
