"""``gwreplay fetch``: fill an event store from a GraceDB server.

The replay reads a store shaped like GraceDB (``docs/store.md``); this command
builds one from the real thing with the official client,
:class:`ligo.gracedb.rest.GraceDb`. For each superevent (named, or found by a
GraceDB superevent query) it writes ``superevents/<SID>/superevent.json`` and
``signoffs.json`` (:mod:`.signoffs`) and, for each of its G-events,
``events/<GraceID>/event.json`` plus the uploads the replay reads
(:mod:`.uploads`: ``coinc.xml``, ``psd.xml.gz``, ``ranking_data.xml.gz``,
``skyprobcc_cWB.fits``, ``LIB.fits.gz`` and, when the log lists them, the O4
pipelines' p_astro JSON and burst multi-order maps).

Modules: :mod:`.client` (the ligo-gracedb client, auth, URL checks, one
request), :mod:`.checks` (download checks and atomic streaming),
:mod:`.uploads` (what to fetch), :mod:`.signoffs`, :mod:`.fetcher` (the
Fetcher), :mod:`.selection` (``fetch()``), :mod:`.progress` (tqdm bars),
:mod:`.command` (argparse and ``main``).

Behaviour worth knowing:

* **Resumable.** ``event.json`` is written last, once every upload of the
  event is in place, so it marks a complete event. A second call skips
  complete events and existing files and asks the server only for what is
  missing; an existing ``superevent.json`` or ``signoffs.json`` is kept.
* **Checked, atomic downloads.** Every upload is streamed to a temporary file
  beside its final name, checked (non-empty, under a size limit, gzip intact,
  XML well formed with no DTD/entities and a ``LIGO_LW`` root, FITS header
  and 2880-byte blocks, JSON one strict object) and only then renamed into
  place (:mod:`gwreplay.atomic`).
* **Retries are ligo-gracedb's** (:mod:`.client`): its urllib3 ``Retry``
  with back-off and ``Retry-After``, an explicit timeout on every request.
  A 503 without ``Retry-After`` (GraceDB in maintenance) stops the fetch
  with one message; the next call resumes. A 404 for an optional upload
  just means the pipeline did not upload it.
* **Authentication** is the client's: igwn-auth-utils finds a SciToken, an
  X.509 credential or (with SciTokens disabled) a ``~/.netrc`` password.
  gwreplay never sees, logs or stores a credential; URLs with embedded
  credentials and plain HTTP to remote hosts are refused.
* **Untrusted IDs.** Superevent and event IDs from the server pass
  :mod:`gwreplay.ids` before they become paths; a bad one is refused with a
  message naming it and the rest carry on. File names in log entries are
  only compared against the fixed list of :mod:`.uploads`, never used as
  paths.
"""

from .checks import check_fits, check_json, check_upload, check_xml
from .client import NotOnServer, ServerUnavailable, check_service_url, make_client
from .command import build_parser, main
from .fetcher import Fetcher, FetchReport
from .selection import fetch
from .signoffs import signoff_record
from .uploads import FETCHED_FILES, O4_UPLOADS, upload_times, wanted_uploads

__all__ = [
    "FETCHED_FILES",
    "FetchReport",
    "Fetcher",
    "NotOnServer",
    "O4_UPLOADS",
    "ServerUnavailable",
    "build_parser",
    "check_fits",
    "check_json",
    "check_service_url",
    "check_upload",
    "check_xml",
    "fetch",
    "main",
    "make_client",
    "signoff_record",
    "upload_times",
    "wanted_uploads",
]
