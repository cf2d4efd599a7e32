"""Shared fixtures: the real reference files and small stores built from them."""

import json
from importlib import resources
from pathlib import Path

import pytest
from builders import (  # noqa: F401 - the builders, for the tests that import them here
    BURST_EVENT,
    G211117_EVENT,
    REFERENCE,
    REPO,
    burst_event,
    conf,
    gwreplay,
    with_defaults,
    write_event,
    write_gaussian_skymap,
)


@pytest.fixture(scope="session")
def reference_dir():
    """``../shared/data/reference`` beside the checkout, or skip with the reason."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data {REFERENCE} not found (../shared/data/reference)")
    return REFERENCE


@pytest.fixture
def cbc_superevent(reference_dir):
    """MS220722v: a real MDC superevent (the file is GraceDB superevent JSON)."""
    text = (reference_dir / "notices/MS220722v-1-Preliminary.xml").read_text()
    return json.loads(text)


@pytest.fixture
def gracedb_burst_event(reference_dir):
    """G000005: a cWB event as GraceDB's REST API returns it."""
    text = (reference_dir / "gracedb/event_G000005_burst.json").read_text()
    return json.loads(text)["object"]


@pytest.fixture(scope="module")
def packaged():
    """p-astro's test data: the integer-ID G322589 and G5351 coincs and the
    O3 ranking data, or skip with the reason."""
    folder = resources.files("ligo.p_astro.tests") / "data"
    paths = {
        "coinc": Path(str(folder / "coinc_G322589.xml")),
        "ranking": Path(str(folder / "ranking_data_G322589.xml.gz")),
        "coinc_G5351": Path(str(folder / "coinc_G5351.xml")),
    }
    for path in paths.values():
        if not path.is_file():
            pytest.skip(f"p-astro test data {path} not installed")
    return paths


#: Test files that take minutes (worker time of the clean-clone run in
#: docs/benchmarks.md, "The test suite on two workers"), longest first.
#: pytest-xdist's ``--dist loadfile`` hands files to its workers in
#: collection order, so these go first: a long file started last would run
#: alone while the other worker sits idle (longest-first scheduling).
LONGEST_FILES = (
    "test_o4_replay.py",
    "test_reproducible.py",
    "test_slurm.py",
    "test_workflow.py",
    "test_fetch.py",
    "test_bad_inputs.py",
    "test_watch.py",
    "test_stamp.py",
    "test_bayestar.py",
    "test_watch_o4.py",
    "test_shards.py",
)


def pytest_collection_modifyitems(config, items):
    """Run the files of :data:`LONGEST_FILES` first, in that order; the rest
    keep their order. Each test file still runs whole on one worker."""
    rank = {name: i for i, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
