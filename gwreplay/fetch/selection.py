"""``fetch()``: which superevents to fetch, from which server, with which client.

The entry point for code (``gwreplay fetch`` calls it): it checks the
selection (IDs or a GraceDB query, and a category), makes the ligo-gracedb
client and drives the :class:`~gwreplay.fetch.fetcher.Fetcher` over the
superevents with progress bars, stopping early on GraceDB maintenance.
"""

import logging

from ..ids import validate_superevent_id
from .checks import fetch_max_bytes
from .client import (
    ServerUnavailable,
    auth_environment,
    check_service_url,
    default_service_url,
    fetch_timeout,
    make_client,
)
from .fetcher import Fetcher
from .progress import progress_wanted, showing

log = logging.getLogger(__name__)

#: ``--category`` value -> (GraceDB category name, superevent ID prefix).
CATEGORIES = {
    "production": ("Production", "S"),
    "mdc": ("MDC", "MS"),
    "test": ("Test", "TS"),
}


def category_query(query, category):
    """Add GraceDB's ``category:`` term for ``--category`` to a superevent query."""
    if category is None:
        return query
    if "category:" in query.lower():
        raise ValueError("give the category either in --query or with --category")
    return f"{query} category: {CATEGORIES[category][0]}".strip()


def check_superevent_ids(superevent_ids, category):
    """Validate IDs given on the command line and their category prefix."""
    for sid in superevent_ids:
        validate_superevent_id(sid)
        if category is not None:
            prefix = CATEGORIES[category][1]
            if not (sid.startswith(prefix) and sid[len(prefix)].isdigit()):
                raise ValueError(f"{sid} is not a {category} superevent ({prefix}...)")
    return list(superevent_ids)


def fetch(
    store,
    *,
    service_url=None,
    superevent_ids=None,
    query=None,
    category=None,
    auth="all",
    client=None,
    retries=None,
    backoff=None,
    timeout=fetch_timeout,
    max_bytes=fetch_max_bytes,
    progress=None,
):
    """Fill ``store`` from GraceDB; return a :class:`FetchReport`.

    Give either ``superevent_ids`` or a superevent ``query`` (GraceDB's query
    language, e.g. ``"gpstime: 1238166018 .. 1238170000"``); ``category``
    (``production``, ``mdc``, ``test``) restricts either. ``service_url``
    None is ligo-gracedb's default server. ``retries`` and ``backoff`` go to
    the client (None: its defaults). ``progress`` True/False shows or hides
    the bars; None shows them when stderr is a terminal. ``client`` replaces
    the GraceDb client; otherwise one is made for ``service_url``.
    """
    if (superevent_ids is None) == (query is None):
        raise ValueError("give either superevent IDs or a query")
    service_url = check_service_url(service_url or default_service_url())
    if superevent_ids is not None:
        superevent_ids = check_superevent_ids(superevent_ids, category)
    else:
        query = category_query(query, category)
    category_name = CATEGORIES[category][0] if category else None
    enabled = progress_wanted() if progress is None else progress
    with auth_environment(auth), showing(enabled) as bars:
        if client is None:
            client = make_client(
                service_url,
                auth=auth,
                timeout=timeout,
                retries=retries,
                backoff=backoff,
            )
        fetcher = Fetcher(client, store, max_bytes=max_bytes, progress=bars)
        try:
            _fetch_all(fetcher, bars, superevent_ids, query, category_name)
        except ServerUnavailable as exc:
            fetcher.report.stop(exc)
    return fetcher.report


def _fetch_all(fetcher, bars, superevent_ids, query, category_name):
    """Fetch each selected superevent, counting them on the progress bar."""
    if superevent_ids is not None:
        bars.plan(len(superevent_ids))
        for sid in superevent_ids:
            superevent = fetcher.superevent_by_id(sid)
            if superevent is not None:
                fetcher.fetch_superevent(superevent, category_name)
            bars.superevent_done()
        return
    log.info("querying superevents: %s", query)
    superevents = fetcher.superevents_by_query(query)
    bars.plan(len(superevents))
    for superevent in superevents:
        fetcher.fetch_superevent(superevent, category_name)
        bars.superevent_done()
