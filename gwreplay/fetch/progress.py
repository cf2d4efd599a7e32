"""Progress of a fetch: superevents (N of M) and bytes downloaded, as tqdm bars.

As ligo.skymap's command-line tools do (``ligo.skymap.util.progress``),
the bars go to stderr and only when it is a terminal; ``--quiet`` turns them
off. Log lines stay: while the bars are shown, logging is routed through
``tqdm.write`` (``tqdm.contrib.logging``) so lines do not tear the bars.
"""

import contextlib
import sys


def progress_wanted(quiet=False, stream=None):
    """Bars only on a terminal and without ``--quiet``."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not quiet and bool(isatty and isatty())


class Progress:
    """Two bars: superevents done of those selected, and bytes received."""

    def __init__(self, enabled):
        from tqdm import tqdm

        self.enabled = bool(enabled)
        disable = not self.enabled
        self.superevents = tqdm(
            total=0, desc="superevents", unit="superevent", disable=disable
        )
        self.bytes = tqdm(
            desc="downloaded",
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            disable=disable,
        )
        self.bytes_received = 0

    def plan(self, count):
        """``count`` more superevents to go (the total grows as they are listed)."""
        self.superevents.total = (self.superevents.total or 0) + count
        self.superevents.refresh()

    def superevent_done(self):
        """One superevent handled (fetched, skipped or failed)."""
        self.superevents.update(1)

    def received(self, nbytes):
        """``nbytes`` more of a download arrived."""
        self.bytes_received += nbytes
        self.bytes.update(nbytes)

    def close(self):
        """End both bars."""
        self.superevents.close()
        self.bytes.close()


@contextlib.contextmanager
def showing(enabled):
    """A :class:`Progress` for a ``with`` block, logging routed around its bars."""
    from tqdm.contrib.logging import logging_redirect_tqdm

    progress = Progress(enabled)
    try:
        if enabled:
            with logging_redirect_tqdm():
                yield progress
        else:
            yield progress
    finally:
        progress.close()
