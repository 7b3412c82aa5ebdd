"""Errors of the knowledge layer. Messages say what to do; the CLI and Slack edges show them.

KnowledgeError
 ├── SettingsError        a setting has a value the program cannot use
 ├── StoreLocked          another process holds the embedded Qdrant store
 ├── StoreUnavailable     the Qdrant server cannot be reached
 ├── StoreCorrupt         a file of the embedded store cannot be read
 ├── EmptyKnowledgeBase   nothing has been ingested yet
 ├── IndexModelMismatch   the index was built by another embedding model
 ├── EmbeddingModelMissing  the embedding model's package is missing or not the one pinned
 ├── TableError           a file is not a readable table, or a query on the tables failed
 └── TableUnavailable     the tables database cannot be opened right now
"""


class KnowledgeError(Exception):
    """Base of every error raised by `knowledge`."""


class SettingsError(KnowledgeError, ValueError):
    """A setting has a value the program cannot use."""


class StoreLocked(KnowledgeError):
    """The embedded store is open in another process (qdrant local mode allows one)."""


class StoreUnavailable(KnowledgeError):
    """The Qdrant server at QDRANT_URL did not answer."""


class StoreCorrupt(KnowledgeError):
    """A file of the embedded store was damaged outside the program (ours are replaced atomically)."""


class EmptyKnowledgeBase(KnowledgeError):
    """The collection the bot reads does not exist or holds no points."""


class IndexModelMismatch(KnowledgeError):
    """The serving index holds vectors of another embedding model: never searched with ours."""


class EmbeddingModelMissing(KnowledgeError):
    """The embedding model's package is not installed, or its files are not the pinned ones."""


class TableError(KnowledgeError):
    """A file cannot be loaded as a table, or a query on the tables failed (the reason says which)."""


class TableUnavailable(KnowledgeError):
    """The tables database cannot be opened (none ingested yet, or an ingest is writing it)."""
