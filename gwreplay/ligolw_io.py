"""Reading LIGO-LW coinc and PSD files of one event, in both dialects.

O2-era files use ``ilwd:char`` row IDs, newer ones integers;
:mod:`ligo.skymap.io.events` reads both, so every reader of coinc.xml in
gwreplay goes through it. Files are screened first (:mod:`gwreplay.xmlguard`)
and every failure is reported as an :class:`~gwreplay.errors.EventInputError`
that names the event and the file.
"""

import os

from .errors import EventInputError
from .xmlguard import screen_upload


def open_event_source(graceid, coinc_path, psd_path=None):
    """Open ``coinc_path`` as a ligo.skymap event source with its PSDs.

    When ``psd_path`` is None the PSDs are read from coinc.xml itself, where
    newer pipelines embed them.
    """
    from ligo.skymap.io import events

    screen_upload(graceid, coinc_path)
    if psd_path is not None:
        screen_upload(graceid, psd_path)
    try:
        return events.ligolw.open(
            os.fspath(coinc_path),
            psd_file=os.fspath(psd_path or coinc_path),
            coinc_def=None,
        )
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad upload
        raise EventInputError(
            graceid, os.path.basename(coinc_path), f"not a readable coinc: {exc}"
        ) from exc
