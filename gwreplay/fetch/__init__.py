"""``gwreplay fetch``: fill an event store from a GraceDB server.

The replay reads a store shaped like GraceDB (``docs/store.md``); this command
builds one from the real thing with the official client,
:class:`ligo.gracedb.rest.GraceDb`. For each superevent (named, or found by a
GraceDB superevent query) it writes ``superevents/<SID>/superevent.json`` and,
for each of its G-events, ``events/<GraceID>/event.json`` plus the uploads the
replay reads (``coinc.xml``, ``psd.xml.gz``, ``ranking_data.xml.gz``,
``skyprobcc_cWB.fits``, ``LIB.fits.gz``) when the server has them.

Behaviour worth knowing:

* **Resumable.** ``event.json`` is written last, once every upload of the
  event is in place, so it marks a complete event. A second call skips
  complete events and existing uploads and asks the server only for what is
  missing; an existing ``superevent.json`` is used as is.
* **Checked, atomic downloads.** Every upload is streamed to a temporary file
  beside its final name, checked (non-empty, under a size limit, gzip intact,
  XML well formed with no DTD/entities and a ``LIGO_LW`` root, FITS header
  and 2880-byte blocks) and only then renamed into place
  (:mod:`gwreplay.atomic`).
* **Retries like gwcelery.** gwcelery's GraceDB tasks retry HTTP 429, 502,
  503 and 504, timeouts, DNS and connection failures, with exponential
  back-off, up to 10 times (``gwcelery/tasks/gracedb.py``: ``autoretry_for``,
  ``retry_backoff=True``, ``max_retries=10``). We do the same, deterministic
  (no jitter: one client cannot stampede), honouring ``Retry-After``. The
  client's own urllib3 retries are switched off so attempts do not multiply.
  A 404 for an optional upload just means the pipeline did not upload it.
* **Authentication** is the client's: igwn-auth-utils finds a SciToken, an
  X.509 credential or (with SciTokens disabled) a ``~/.netrc`` password.
  gwreplay never sees, logs or stores a credential; URLs with embedded
  credentials and plain HTTP to remote hosts are refused.
* **Untrusted IDs.** Superevent and event IDs from the server pass
  :mod:`gwreplay.ids` before they become paths; a bad one is refused with a
  message naming it and the rest carry on. File names in log entries are
  only compared against the fixed list above, never used as paths.
"""

from .checks import check_fits, check_upload, check_xml
from .client import (
    NotOnServer,
    RetryPolicy,
    call_with_retries,
    check_service_url,
    make_client,
)
from .command import build_parser, main
from .fetcher import Fetcher, FetchReport, fetch
from .uploads import upload_times, wanted_uploads

__all__ = [
    "FetchReport",
    "Fetcher",
    "NotOnServer",
    "RetryPolicy",
    "build_parser",
    "call_with_retries",
    "check_fits",
    "check_service_url",
    "check_upload",
    "check_xml",
    "fetch",
    "main",
    "make_client",
    "upload_times",
    "wanted_uploads",
]
