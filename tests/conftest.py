"""Shared fixtures: the real reference files and small stores built from them."""

import json

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
