"""Vectors of fixed texts, kept in a file so that a new process reads them instead of embedding
them again: the input guard's 49 attack styles took ~0.6 s of every cold `bot ask` (2 s under
load) to embed, the same vectors each time.

A file is named after its texts' SHA-256, so texts that change get a new file (and the old one
is removed); the directory must hold one embedding model's vectors only (the caller names it
after the model). A file that cannot be read is embedded again, one that cannot be written is
only a slower start: neither changes a vector.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def kept_vectors(
    directory: Path,
    name: str,
    texts: Sequence[str],
    embed: Callable[[Sequence[str]], list[list[float]]],
) -> np.ndarray:
    """`embed(texts)` as a float64 array, read from `directory` when a process kept it there."""
    digest = hashlib.sha256("\0".join(texts).encode("utf-8")).hexdigest()[:16]
    path = directory / f"{name}-{digest}.npy"
    kept = _read(path, len(texts))
    if kept is not None:
        return kept
    vectors = np.asarray(embed(texts), dtype=np.float64)
    _write(path, name, vectors)
    return vectors


def _read(path: Path, rows: int) -> np.ndarray | None:
    try:
        vectors = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError) as error:  # cut short or not ours: embed again
        log.warning("could not read the kept vectors %s (%s): embedding them again", path, error)
        return None
    if vectors.ndim != 2 or vectors.shape[0] != rows or vectors.dtype != np.float64:
        return None
    return vectors


def _write(path: Path, name: str, vectors: np.ndarray) -> None:
    """Atomically (workers starting together each write the same bytes), then the files of
    earlier texts go."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as file:
            np.save(file, vectors, allow_pickle=False)
        os.replace(partial, path)
        for earlier in path.parent.glob(f"{name}-*.npy"):
            if earlier != path:
                earlier.unlink(missing_ok=True)
    except OSError as error:
        with suppress(OSError):
            partial.unlink(missing_ok=True)
        # Info, not a warning: a read-only data dir is a set-up, and the answers are the same.
        log.info("could not keep vectors in %s (%s): the next start embeds them again", path, error)
