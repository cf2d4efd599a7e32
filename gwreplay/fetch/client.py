"""The ligo-gracedb client: its retries, a request timeout, auth, service URLs.

Retries are the client's own (ligo-gracedb 2.16.1, ``ligo/gracedb/client.py``):
``GraceDb(retries=, backoff_factor=, retry_codes=)`` mounts a urllib3
``Retry`` (``GraceDbRetry``) that retries 408, 409, 502, 504, a 503 *with*
``Retry-After`` and a 429 with ``Retry-After`` (urllib3's
``RETRY_AFTER_STATUS_CODES``), connection failures and read timeouts, with
urllib3's exponential back-off, honouring ``Retry-After`` up to the
client's ``MAX_RETRY_AFTER_SECONDS``. A 503 *without* ``Retry-After`` is
GraceDB's maintenance mode and is not retried: :func:`call` turns it into
:class:`ServerUnavailable`, which stops the whole fetch.
"""

import contextlib
import ipaddress
import logging
import os
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from ..errors import EventInputError

log = logging.getLogger(__name__)

#: Connect and read timeout (s) of each HTTP request; requests has none.
fetch_timeout = 60.0

AUTH_CHOICES = ("all", "scitoken", "x509", "netrc")

#: What malformed server JSON raises in the client or in our code reading it.
_SERVER_DATA_ERRORS = (ValueError, TypeError, KeyError, AttributeError)


class NotOnServer(Exception):
    """The server answered 404: the object or upload does not exist there."""


class ServerUnavailable(Exception):
    """GraceDB answered 503 without Retry-After: maintenance; stop the fetch."""

    def __init__(self, object_id, filename):
        self.object_id, self.filename = str(object_id), str(filename)
        super().__init__(
            f"GraceDB is unavailable (HTTP 503 without Retry-After: maintenance) "
            f"while fetching {object_id}: {filename}; fetch stopped, run the same "
            "command again later to resume"
        )


# --- the client --------------------------------------------------------------


def _client_class():
    """:class:`GraceDb` with a default timeout on every request.

    ``GraceDb.files`` and friends take no timeout, and ``requests`` waits
    forever without one; a stalled server must instead raise a read timeout,
    which the client's urllib3 ``Retry`` then retries.
    """
    from ligo.gracedb.rest import GraceDb

    class GraceDbWithTimeout(GraceDb):
        request_timeout = fetch_timeout

        def request(self, method, url, *args, timeout=None, **kwargs):
            if timeout is None:
                timeout = self.request_timeout
            return super().request(method, url, *args, timeout=timeout, **kwargs)

    return GraceDbWithTimeout


def default_service_url():
    """ligo-gracedb's own default API root (``DEFAULT_SERVICE_URL``)."""
    from ligo.gracedb.client import DEFAULT_SERVICE_URL

    return DEFAULT_SERVICE_URL


@contextlib.contextmanager
def auth_environment(auth):
    """Select the client's credential discovery for the duration of a fetch.

    ``all``, ``scitoken`` and ``x509`` are ligo-gracedb's ``use_auth``
    choices. ``netrc`` is igwn-auth-utils' basic auth: it reads ``~/.netrc``
    (or ``$NETRC``) only when SciToken discovery is off, which its
    ``IGWN_AUTH_UTILS_FIND_SCITOKEN`` switch does (X.509 discovery is turned
    off too, so the password is the one credential sent).
    """
    if auth not in AUTH_CHOICES:
        raise ValueError(f"unknown auth method {auth!r}; choose from {AUTH_CHOICES}")
    settings = {}
    if auth == "netrc":
        settings = {
            "IGWN_AUTH_UTILS_FIND_SCITOKEN": "0",
            "IGWN_AUTH_UTILS_FIND_X509": "0",
        }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def make_client(
    service_url, *, auth="all", timeout=fetch_timeout, retries=None, backoff=None
):
    """A GraceDB client for ``service_url`` (call inside :func:`auth_environment`).

    ``retries`` and ``backoff`` (urllib3's ``backoff_factor``) go to
    :class:`GraceDb`; None keeps ligo-gracedb's own defaults. The client
    mounts its retrying adapter for ``https://`` only; plain ``http`` (which
    :func:`check_service_url` allows to the local machine only, i.e. a test
    server) gets an adapter with the same ``Retry``.
    """
    from requests.adapters import HTTPAdapter

    options = {"retries": retries, "backoff_factor": backoff}
    options = {key: value for key, value in options.items() if value is not None}
    use_auth = "all" if auth == "netrc" else auth
    client = _client_class()(service_url, use_auth=use_auth, **options)
    client.request_timeout = timeout
    client.mount("http://", HTTPAdapter(max_retries=retry_of(client)))
    return client


def retry_of(client):
    """The urllib3 ``Retry`` the client's HTTPS adapter applies to each request."""
    return client.get_adapter("https://").max_retries


def check_service_url(url):
    """Refuse service URLs that would leak credentials; return the URL.

    Credentials belong in the client's stores (token, certificate, netrc),
    never in a URL that ends up in logs and shell history; and a password or
    token must not cross the network in clear, so plain ``http`` is allowed
    only to the local machine (a test server).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--service-url must be an http(s) URL, got {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "--service-url must not contain credentials; put them in ~/.netrc "
            "or use a SciToken or X.509 credential (docs/orun_replay.md)"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(
            f"refusing plain http to {parts.hostname}: credentials would travel "
            "in clear; use https"
        )
    return url


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- one request -------------------------------------------------------------


def _status(exc):
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _is_maintenance(exc):
    """GraceDB's maintenance 503 is the one that carries no Retry-After."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    return _status(exc) == 503 and "Retry-After" not in headers


def describe_error(exc):
    """A one-line account of a failed request, free of headers and credentials."""
    status = _status(exc)
    if status is not None:
        reason = getattr(exc.response, "reason", "") or ""
        text = f"HTTP {status} {reason}".strip()
        if status in (401, 403):
            text += " (check your GraceDB credentials: docs/orun_replay.md)"
        elif status == 400:
            body = (getattr(exc.response, "text", "") or "").strip()
            text += f": {body[:200]}" if body else ""
        return text
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, urllib3.exceptions.MaxRetryError):
        # The client's Retry ran out; its reason says of what.
        return f"gave up after the client's retries: {inner.reason}"
    if isinstance(exc, (requests.exceptions.Timeout, TimeoutError)):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def call(object_id, filename, func):
    """Run ``func()`` once (the client retries inside it); name the object on failure.

    Returns what ``func`` returns. Raises :class:`NotOnServer` on HTTP 404,
    :class:`ServerUnavailable` on a maintenance 503, and
    :class:`EventInputError` (``"<id>: <file>: <reason>"``) for any other
    failed request or unreadable answer; errors ``func`` raises itself as
    EventInputError (a download that fails its checks) pass through.
    """
    try:
        return func()
    except EventInputError:
        raise
    except requests.exceptions.RequestException as exc:
        if _status(exc) == 404:
            raise NotOnServer(object_id, filename) from exc
        if _is_maintenance(exc):
            raise ServerUnavailable(object_id, filename) from exc
        raise EventInputError(object_id, filename, describe_error(exc)) from exc
    except _SERVER_DATA_ERRORS as exc:
        reason = f"unexpected server response: {describe_error(exc)}"
        raise EventInputError(object_id, filename, reason) from exc
