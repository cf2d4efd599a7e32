"""Tests of gwreplay.p_astro_compat: p-astro 1.0.2 run locally, nothing patched.

p-astro's ``np.trapz`` (removed in numpy 2.4) must resolve to
``numpy.trapezoid`` inside its gstlal functions only, and O2-era LIGO-LW must
load without emptying igwn_ligolw's shared table registry, not even during
the call.
"""

import warnings
from pathlib import Path

import numpy
import pytest
from igwn_ligolw import ligolw, lsctables
from scipy import optimize

from gwreplay import p_astro, p_astro_compat

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared/data/reference"


@pytest.fixture(scope="module")
def o2_coinc():
    """The O2-era G322589 coinc.xml (ilwd:char IDs) from ../shared/data/reference."""
    path = REFERENCE / "G322589" / "coinc.xml"
    if not path.is_file():
        pytest.skip("reference data ../shared/data/reference not found")
    return path


def _global_state():
    """What a global patch would change: numpy, p-astro's np, the registry."""
    from ligo.p_astro import gstlal_utils

    return {
        "gstlal_utils.np is numpy": gstlal_utils.np is numpy,
        "numpy has trapz": hasattr(numpy, "trapz"),
        "registry": dict(ligolw.Table.TableByName),
        "registry is lsctables'": lsctables.TableByName is ligolw.Table.TableByName,
    }


# --- np.trapz as numpy.trapezoid ----------------------------------------------------


def test_trapz_is_the_trapezoidal_rule_by_hand():
    """y = x**2 on x = 0..3: (0+1)/2 + (1+4)/2 + (4+9)/2 = 9.5."""
    x = numpy.array([0.0, 1.0, 2.0, 3.0])
    assert p_astro_compat.NUMPY_WITH_TRAPZ.trapz(x**2, x) == 9.5


def test_trapz_skips_masked_intervals_as_p_astros_fit_needs():
    """p-astro integrates masked arrays: an interval touching a masked bin drops.

    Masking the last point of y = x**2 leaves (0+1)/2 + (1+4)/2 = 3.0.
    """
    x = numpy.array([0.0, 1.0, 2.0, 3.0])
    y = numpy.ma.masked_array(x**2, [False, False, False, True])
    assert p_astro_compat.NUMPY_WITH_TRAPZ.trapz(y, x) == 3.0


def test_the_namespace_is_numpy_otherwise():
    ns = p_astro_compat.NUMPY_WITH_TRAPZ
    assert ns.exp is numpy.exp
    assert ns.ma is numpy.ma
    assert ns.inf == numpy.inf
    with pytest.raises(AttributeError):
        ns.no_such_numpy_function  # noqa: B018


def test_ranking_statistic_runs_without_deprecated_numpy(packaged):
    """p-astro's own test_get_ln_f_over_b, on our copy: lam_0 = 32575 +- 1.

    Same inputs as p-astro 1.0.2's ``tests/test_p_astro_gstlal.py``. Every
    warning is an error, so numpy 2.0-2.3's deprecated ``np.trapz`` (a
    DeprecationWarning) would fail here just as its absence in 2.4 would.
    """
    ranking_bytes = p_astro.read_ranking_data("G322589", packaged["ranking"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with numpy.errstate(divide="ignore", invalid="ignore"):
            ln_f_over_b, lam_0 = p_astro_compat.get_ln_f_over_b(
                ranking_bytes,
                [100.0, 200.0, 300.0],
                livetime=14394240,
                extinct_zerowise_elems=40,
            )
    assert lam_0 == pytest.approx(32575, abs=1.0)
    assert numpy.all(numpy.isfinite(ln_f_over_b))


# --- nothing patched, before, during or after -----------------------------------


def test_nothing_global_changes_during_the_ranking_statistic_fit(packaged, monkeypatch):
    """Seen from inside p-astro's fit (scipy's fmin calling its ``ssr``)."""
    before = _global_state()
    seen = []
    fmin = optimize.fmin

    def spying_fmin(*args, **kwargs):
        seen.append(_global_state())
        return fmin(*args, **kwargs)

    monkeypatch.setattr(optimize, "fmin", spying_fmin)
    ranking_bytes = p_astro.read_ranking_data("G322589", packaged["ranking"])
    with numpy.errstate(divide="ignore", invalid="ignore"):
        p_astro_compat.get_ln_f_over_b(
            ranking_bytes, [100.0], livetime=14394240, extinct_zerowise_elems=40
        )
    assert seen == [before]
    assert _global_state() == before
    assert before["gstlal_utils.np is numpy"]
    assert before["registry"]


def test_o2_document_loads_untyped_with_the_registry_intact(o2_coinc, monkeypatch):
    """Each table of the ilwd:char file is generic; the registry is full meanwhile."""
    before = _global_state()
    seen = []
    start_table = p_astro_compat.UntypedContentHandler.startTable

    def spying_start_table(self, parent, attrs):
        seen.append(_global_state())
        return start_table(self, parent, attrs)

    monkeypatch.setattr(
        p_astro_compat.UntypedContentHandler, "startTable", spying_start_table
    )
    xmldoc = p_astro_compat.load_untyped(o2_coinc.read_bytes())
    tables = xmldoc.getElementsByTagName(ligolw.Table.tagName)
    assert {table.Name for table in tables} >= {"coinc_inspiral", "sngl_inspiral"}
    assert all(type(table) is p_astro_compat.UntypedTable for table in tables)
    assert seen and all(state == before for state in seen)
    assert _global_state() == before
    assert "sngl_inspiral" in before["registry"]
