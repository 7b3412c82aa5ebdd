"""Errors of ingest.

IngestError
 ├── SourceNotFound     a path given on the command line does not exist
 └── UnreadableSource   one file could not be read or parsed (the run goes on without it)
"""


class IngestError(Exception):
    """Base of every error raised by `ingest`."""


class SourceNotFound(IngestError):
    pass


class UnreadableSource(IngestError):
    pass
