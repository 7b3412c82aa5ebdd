"""Files in, `SourceDocument`s out: one per manual page, one per FAQ row.

Formats are recognised by extension. A file that cannot be read raises
`UnreadableSource` with the reason; the pipeline records it and goes on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import SourceNotFound, UnreadableSource
from knowledge.models import Kind

TEXT_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text"}
TABLE_SUFFIXES = {".csv"}
QUESTION_COLUMNS = ("question", "questions", "q", "title", "frage", "질문")
ANSWER_COLUMNS = ("answer", "answers", "a", "response", "antwort", "답변")
LINK_COLUMNS = ("link", "url", "source_url", "href")


@dataclass(frozen=True)
class SourceDocument:
    doc_id: str
    """Stable identity: the file path, plus the question for FAQ rows."""
    title: str
    source: str
    """What users see: the row's link, else the file path."""
    kind: Kind
    format: str
    """How the text is structured: "markdown", "text" or "faq"."""
    text: str
    question: str = ""
    answer: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        material = json.dumps([self.title, self.source, self.text, self.question, self.answer, self.metadata],
                              sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(material.encode()).hexdigest()[:32]


def supported(path: Path) -> bool:
    return path.suffix.lower() in TEXT_SUFFIXES or path.suffix.lower() in TABLE_SUFFIXES


@dataclass(frozen=True)
class SourceFile:
    path: Path
    """Resolved, so a file has one identity whatever directory ingest runs from."""
    display: str
    """What users see when the file has no link: its path from the folder that was ingested."""


def discover(paths: list[Path]) -> list[SourceFile]:
    """Every supported file under `paths`, in a stable order; a missing path is an error."""
    files: list[SourceFile] = []
    for path in paths:
        if not path.exists():
            raise SourceNotFound(f"{path}: no such file or directory")
        root = path.resolve()
        candidates = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        files.extend(SourceFile(p, p.relative_to(root.parent).as_posix()) for p in candidates
                     if supported(p) and not _hidden(p, root))
    return files


def load(file: SourceFile) -> list[SourceDocument]:
    suffix = file.path.suffix.lower()
    raw = _read_text(file.path)
    if suffix in TABLE_SUFFIXES:
        return list(_faq_rows(file, raw))
    return [_text_document(file, raw, TEXT_SUFFIXES[suffix])]


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableSource(f"cannot read: {error.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableSource(f"not UTF-8 text (byte {error.start}); re-save the file as UTF-8") from None


def _text_document(file: SourceFile, text: str, fmt: str) -> SourceDocument:
    title = _markdown_title(text) if fmt == "markdown" else ""
    return SourceDocument(
        doc_id=file.path.as_posix(), title=title or file.path.stem.replace("-", " ").replace("_", " ").title(),
        source=file.display, kind="doc", format=fmt, text=text,
    )


def _markdown_title(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def _faq_rows(file: SourceFile, raw: str) -> Iterator[SourceDocument]:
    try:
        reader = csv.DictReader(io.StringIO(raw))
        header = reader.fieldnames or []
    except csv.Error as error:
        raise UnreadableSource(f"not a readable CSV table: {error}") from None
    question_col = _find_column(header, QUESTION_COLUMNS)
    answer_col = _find_column(header, ANSWER_COLUMNS)
    if question_col is None or answer_col is None:
        raise UnreadableSource(
            f"no question/answer columns among {header}; name them 'question' and 'answer'"
        )
    link_col = _find_column(header, LINK_COLUMNS)
    for row in reader:
        question = (row.get(question_col) or "").strip()
        answer = (row.get(answer_col) or "").strip()
        if not question or not answer:
            continue
        link = (row.get(link_col) or "").strip() if link_col else ""
        metadata = {k: v for k, v in row.items() if k and k not in (question_col, answer_col) and v}
        yield SourceDocument(
            doc_id=f"{file.path.as_posix()}#{hashlib.sha256(question.encode()).hexdigest()[:16]}",
            title=question, source=link or file.display, kind="faq", format="faq",
            text=answer, question=question, answer=answer, metadata=metadata,
        )


def _find_column(header: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {h.strip().lower(): h for h in header if h}
    return next((lowered[n] for n in names if n in lowered), None)


def _hidden(path: Path, root: Path) -> bool:
    relative = path.relative_to(root) if path != root else Path(path.name)
    return any(part.startswith(".") for part in relative.parts)
