"""p-astro 1.0.2 on today's numpy and on O2-era LIGO-LW, with nothing patched.

Two incompatibilities sit between gwcelery's O3 p_astro (``p-astro`` 1.0.2,
Kapadia et al. 2020, arXiv:1903.06881) and the libraries gwreplay runs on.
Each is handled where it arises; no module attribute of numpy, igwn_ligolw or
p-astro is changed, not even for the duration of a call.

1. ``gstlal_utils._RankingStatPDF.new_with_extinction`` (reached from
   ``_get_ln_f_over_b``) integrates with ``np.trapz``, which numpy 2.0
   deprecated and numpy 2.4 removed in favour of ``numpy.trapezoid`` (the same
   trapezoidal rule under its new name, numpy 2.0 release notes).
   :func:`get_ln_f_over_b` runs p-astro's own code objects with a private
   copy of ``gstlal_utils``' globals in which ``np`` is :data:`NUMPY_WITH_TRAPZ`:
   numpy itself, except that ``trapz`` is ``numpy.trapezoid``. Only O3's
   gstlal ranking-statistic path calls it.
2. O2-era uploads use ``ilwd:char`` row IDs, which the table classes
   igwn_ligolw registers in ``ligolw.Table.TableByName`` refuse.
   :func:`load_untyped` parses with :class:`UntypedContentHandler`, whose
   tables look themselves up in an empty registry of their own (as
   ``igwn_ligolw_no_ilwdchar`` needs generic tables), so the shared registry
   is never emptied.
"""

import io
import types
import warnings

import numpy
from igwn_ligolw import ligolw
from igwn_ligolw import utils as ligolw_utils

with warnings.catch_warnings():
    # p-astro 1.0.2 imports the deprecated igwn_ligolw.param module.
    warnings.filterwarnings(
        "ignore", message="igwn_ligolw.param module is deprecated", category=UserWarning
    )
    from ligo.p_astro import gstlal_utils


class UntypedTable(ligolw.Table):
    """A LIGO-LW table that stays generic: its own, empty, name registry.

    ``ligolw.Table.__new__`` swaps in the class registered for a table's name
    in ``cls.TableByName``; this subclass's registry is empty, so every table
    is read as the columns and types the file declares.
    """

    TableByName = {}


class UntypedContentHandler(ligolw.LIGOLWContentHandler):
    """igwn_ligolw's SAX handler, building :class:`UntypedTable` for every table."""

    def startTable(self, parent, attrs):  # noqa: N802 - igwn_ligolw's name
        """Return an untyped table for the ``<Table>`` element with ``attrs``."""
        return UntypedTable(attrs)


def load_untyped(data):
    """Parse the LIGO-LW document in bytes ``data`` with untyped tables."""
    return ligolw_utils.load_fileobj(
        io.BytesIO(data), contenthandler=UntypedContentHandler
    )


class _NumpyWithTrapz:
    """numpy as p-astro 1.0.2 was written for: ``trapz`` is ``numpy.trapezoid``."""

    trapz = staticmethod(numpy.trapezoid)

    def __getattr__(self, name):
        return getattr(numpy, name)


#: The ``np`` that p-astro's gstlal functions see in :func:`get_ln_f_over_b`.
NUMPY_WITH_TRAPZ = _NumpyWithTrapz()


def _with_globals(function, namespace):
    """A copy of ``function`` (same code, defaults, closure) with other globals.

    Functions defined inside it (p-astro's nested ``ssr``) take their globals
    from the running frame, so they see ``namespace`` too.
    """
    copy = types.FunctionType(
        function.__code__,
        namespace,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__qualname__ = function.__qualname__
    copy.__doc__ = function.__doc__
    return copy


def _gstlal_utils_with_trapz():
    """A private copy of ``gstlal_utils``' globals, ``np`` bound to numpy+trapz.

    The ranking-statistic class is subclassed so that its
    ``new_with_extinction`` runs with these globals, and the two functions on
    the way to it (``_parse_likelihood_control_doc``, ``_get_ln_f_over_b``)
    are copied so that they build that subclass.
    """
    namespace = dict(vars(gstlal_utils), np=NUMPY_WITH_TRAPZ)
    original = gstlal_utils._RankingStatPDF
    namespace["_RankingStatPDF"] = type(
        original.__name__,
        (original,),
        {
            "__module__": __name__,
            "new_with_extinction": _with_globals(
                original.new_with_extinction, namespace
            ),
        },
    )
    for name in ("_parse_likelihood_control_doc", "_get_ln_f_over_b"):
        namespace[name] = _with_globals(getattr(gstlal_utils, name), namespace)
    return namespace


#: p-astro's ``gstlal_utils._get_ln_f_over_b(ranking_data_bytes,
#: ln_likelihood_ratios, livetime, extinct_zerowise_elems)``, run with
#: :data:`NUMPY_WITH_TRAPZ` as its ``np``: returns ``(ln_f_over_b, lam_0)``.
get_ln_f_over_b = _gstlal_utils_with_trapz()["_get_ln_f_over_b"]
