"""Errors that name the event and the file they concern.

A replay of an observing run meets broken uploads. Every such problem must fail
only the job of the event concerned, with a message a user can act on: which
event, which file, what is wrong.
"""


class ReplayError(Exception):
    """Base class of gwreplay's own errors."""


class EventInputError(ReplayError):
    """A file of one event (or superevent) is missing, malformed or refused.

    The message always reads ``"<id>: <file>: <reason>"``.
    """

    def __init__(self, event_id, filename, reason):
        self.event_id = str(event_id)
        self.filename = str(filename)
        self.reason = str(reason)
        super().__init__(f"{self.event_id}: {self.filename}: {self.reason}")


class StoreError(ReplayError, FileNotFoundError):
    """The store as a whole cannot be read (not a folder of event folders)."""


class InvalidIdError(ReplayError, ValueError):
    """An event or superevent ID that is not safe to use as a path component."""


class UsageError(ReplayError, ValueError):
    """A command line gwreplay cannot carry out as given (the message says why)."""
