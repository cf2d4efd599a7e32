"""The report page in a real browser: headless Chromium from Debian's packages.

Builds a report from the small results trees of tests/test_report.py (tiny
hand-made sky maps, no BAYESTAR), with notices, circulars and plots in a
superevent folder (tests/test_report_page.py), serves the results folder on
127.0.0.1 with :mod:`http.server` and opens ``report/index.html``:

* no console message (Chromium's ``--enable-logging=stderr`` prints every
  console message, uncaught error and failed resource load as a ``CONSOLE``
  line), and no request the server answered with an error;
* every ``href`` and ``src`` of the DOM after the scripts ran resolves to a
  file (or, for ``#id``, to an element of the page); the sort script ran
  (it marks every sortable header with ``aria-sort``);
* the screenshot is not blank (more than one colour).

Chromium is installed with apt when ``/usr/bin/chromium`` is missing; the
test is skipped, with the reason, only when that fails.
"""

import functools
import http.server
import os
import re
import shutil
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from test_report import mdc_tree  # noqa: F401 - a fixture
from test_report_page import add_superevent_files

from gwreplay import report

CHROMIUM = "/usr/bin/chromium"
#: Flags of a headless, offline, unsandboxed (root in a container) Chromium.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]? ?(?P<message>.*)")


def _apt(*args):
    return subprocess.run(
        ["apt-get", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        check=False,
    )


@pytest.fixture(scope="module")
def chromium():
    """Path of Debian's chromium, installed with apt when missing."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if shutil.which("apt-get") is None:
        pytest.skip("no /usr/bin/chromium and no apt-get to install it")
    update = _apt("update")
    if update.returncode != 0:
        pytest.skip(f"apt-get update failed: {update.stderr.strip()[-300:]}")
    install = _apt("install", "-y", "chromium")
    if install.returncode != 0 or not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"apt-get install chromium failed: {install.stderr[-300:]}")
    return CHROMIUM


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and records (status, path) of every request."""

    def __init__(self, *args, requests, **kwargs):
        self.requests = requests
        super().__init__(*args, **kwargs)

    def log_request(self, code="-", size="-"):
        self.requests.append((int(code), self.path))

    def log_message(self, format, *args):  # noqa: A002 - http.server's name
        pass


@pytest.fixture
def serve():
    """serve(folder) -> (base URL, requests list); stopped after the test."""
    servers = []

    def start(folder):
        requests = []
        handler = functools.partial(_Handler, directory=str(folder), requests=requests)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", requests

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def open_page(chromium, url, tmp_path, *extra):
    """Run headless Chromium on ``url``: (stdout, console messages)."""
    result = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    messages = [
        m["message"] for m in map(CONSOLE.search, result.stderr.splitlines()) if m
    ]
    return result.stdout, messages


class DomLinks(HTMLParser):
    """hrefs, srcs and ids of a DOM, and the aria-sort of the headers of its
    sortable tables (None where the sort script did not mark one)."""

    def __init__(self):
        super().__init__()
        self.links, self.ids, self.sort_marks = [], set(), []
        self.in_sortable = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        self.links += [attrs[k] for k in ("href", "src") if attrs.get(k)]
        if tag == "table":
            self.in_sortable = "sortable" in (attrs.get("class") or "").split()
        elif tag == "th" and self.in_sortable:
            self.sort_marks.append(attrs.get("aria-sort"))

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_sortable = False


def test_console_messages_are_seen(chromium, serve, tmp_path):
    """The check below can fail: a page with an error is caught."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site/bad.html").write_text(
        "<!DOCTYPE html><html><body><img src='missing.png'>"
        "<script>undefinedFunction();</script></body></html>"
    )
    base, requests = serve(tmp_path / "site")
    _, messages = open_page(chromium, f"{base}/bad.html", tmp_path, "--dump-dom")
    assert any("undefinedFunction" in m for m in messages), messages
    assert (404, "/missing.png") in requests


def test_report_page_in_chromium(chromium, serve, mdc_tree, tmp_path):  # noqa: F811
    results, store = mdc_tree
    add_superevent_files(results)
    report_dir = Path(report.write_report(results, store=store, quiet=True))
    base, requests = serve(results)
    url = f"{base}/report/index.html"

    dom, messages = open_page(chromium, url, tmp_path, "--dump-dom")
    assert messages == []
    assert requests and all(code < 400 for code, _ in requests), requests
    page = DomLinks()
    page.feed(dom)
    assert page.sort_marks and all(mark for mark in page.sort_marks)
    checked = 0
    for href in page.links:
        if href == "data:,":  # the page's empty icon
            continue
        parts = urlsplit(href)
        assert not parts.scheme and not parts.netloc, f"external resource {href}"
        if href.startswith("#"):
            assert href[1:] in page.ids, href
            continue
        target = (report_dir / unquote(parts.path)).resolve()
        assert target.is_file(), href
        assert results.resolve() in target.parents, href
        checked += 1
    assert checked >= 20

    shot = tmp_path / "screenshot.png"
    _, messages = open_page(
        chromium, url, tmp_path, f"--screenshot={shot}", "--window-size=1200,1600"
    )
    assert messages == []
    from PIL import Image

    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 1
