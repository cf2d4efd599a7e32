"""The ligo-gracedb client: timeout, authentication, service URL checks, retries."""

import contextlib
import ipaddress
import logging
import os
import time
from dataclasses import dataclass
from http.client import HTTPException
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from ..errors import EventInputError

log = logging.getLogger(__name__)

#: Retries after the first attempt, as gwcelery's GraceDB tasks (max_retries=10).
fetch_max_retries = 10
#: First back-off (s); doubles each retry, like Celery's ``retry_backoff=True``.
fetch_retry_backoff = 1.0
#: Longest back-off (s), Celery's default ``retry_backoff_max``.
fetch_retry_backoff_max = 600.0
#: Connect and read timeout (s) of each HTTP request.
fetch_timeout = 60.0

#: HTTP statuses worth retrying: gwcelery's set plus 408 (request timeout).
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
#: Transport failures worth retrying (gwcelery: gaierror, TimeoutError,
#: HTTPException; requests and urllib3 wrap these in their own classes).
RETRY_EXCEPTIONS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,
    HTTPException,
    TimeoutError,
    ConnectionError,
)


AUTH_CHOICES = ("all", "scitoken", "x509", "netrc")

#: What malformed server JSON raises in the client or in our code reading it.
_SERVER_DATA_ERRORS = (ValueError, TypeError, KeyError, AttributeError)


class NotOnServer(Exception):
    """The server answered 404: the object or upload does not exist there."""


# --- the client --------------------------------------------------------------


def _client_class():
    """:class:`GraceDb` with a default timeout on every request.

    ``GraceDb.files`` and friends take no timeout, and ``requests`` waits
    forever without one; a stalled server must instead raise a timeout that
    the retry loop handles, as gwcelery's tasks retry ``TimeoutError``.
    """
    from ligo.gracedb.rest import GraceDb

    class GraceDbWithTimeout(GraceDb):
        request_timeout = fetch_timeout

        def request(self, method, url, *args, timeout=None, **kwargs):
            if timeout is None:
                timeout = self.request_timeout
            return super().request(method, url, *args, timeout=timeout, **kwargs)

    return GraceDbWithTimeout


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


def make_client(service_url, *, auth="all", timeout=fetch_timeout):
    """A GraceDB client for ``service_url`` (call inside :func:`auth_environment`).

    Retries are gwreplay's (:class:`RetryPolicy`), so the client's own are off.
    """
    use_auth = "all" if auth == "netrc" else auth
    client = _client_class()(service_url, use_auth=use_auth, retries=0)
    client.request_timeout = timeout
    return client


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


# --- retries -----------------------------------------------------------------


@dataclass
class RetryPolicy:
    """How often and how patiently to retry a failing request."""

    max_retries: int = fetch_max_retries
    backoff: float = fetch_retry_backoff
    backoff_max: float = fetch_retry_backoff_max
    sleep: object = time.sleep

    def delay(self, retry, retry_after=None):
        """Pause before retry number ``retry`` (0-based): doubling, capped."""
        pause = min(self.backoff * 2**retry, self.backoff_max)
        if retry_after is not None:
            pause = max(pause, min(retry_after, self.backoff_max))
        return pause


def _status(exc):
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def is_retryable(exc):
    """True for transient failures: 408/429/5xx gateway errors and transport errors."""
    if isinstance(exc, requests.exceptions.HTTPError):
        return _status(exc) in RETRY_STATUSES
    return isinstance(exc, RETRY_EXCEPTIONS)


def _retry_after(exc):
    """Seconds from a numeric ``Retry-After`` header, if the server sent one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


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
    if isinstance(exc, (requests.exceptions.Timeout, TimeoutError)) or isinstance(
        exc, urllib3.exceptions.TimeoutError
    ):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def call_with_retries(object_id, filename, func, policy):
    """Run ``func()``, retrying transient failures; name the object on failure.

    Returns what ``func`` returns. Raises :class:`NotOnServer` on HTTP 404 and
    :class:`EventInputError` (``"<id>: <file>: <reason>"``) for anything else
    that does not succeed; errors ``func`` raises itself as EventInputError
    (a download that fails its checks) pass through unretried.
    """
    retry = 0
    while True:
        try:
            return func()
        except EventInputError:
            raise
        except Exception as exc:
            if _status(exc) == 404:
                raise NotOnServer(object_id, filename) from exc
            if not is_retryable(exc):
                if isinstance(exc, requests.exceptions.RequestException):
                    reason = describe_error(exc)
                elif isinstance(exc, _SERVER_DATA_ERRORS):
                    reason = f"unexpected server response: {describe_error(exc)}"
                else:
                    raise
                raise EventInputError(object_id, filename, reason) from exc
            if retry >= policy.max_retries:
                raise EventInputError(
                    object_id,
                    filename,
                    f"gave up after {retry} retries: {describe_error(exc)}",
                ) from exc
            pause = policy.delay(retry, _retry_after(exc))
            retry += 1
            log.warning(
                "%s: %s: %s; retry %d/%d in %.3g s",
                object_id,
                filename,
                describe_error(exc),
                retry,
                policy.max_retries,
                pause,
            )
            policy.sleep(pause)
