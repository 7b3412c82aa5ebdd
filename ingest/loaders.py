"""Files in, `SourceDocument`s out: one per manual page, one per FAQ row.

Formats are recognised by extension: Markdown (with optional YAML front matter), plain
text, HTML (BeautifulSoup, headings kept as Markdown headings so chunks know their
section), PDF (pypdf, page by page) and CSV FAQ tables. A file that cannot be read raises
`UnreadableSource` with the reason; the pipeline records it and goes on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.documents import PAGE_BREAK, SourceDocument, SourceFile
from ingest.errors import SourceNotFound, UnreadableSource
from ingest.frontmatter import Labels, front_matter, plain, take_labels

TEXT_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
TABLE_SUFFIXES = {".csv", ".tsv"}
SUFFIXES = {*TEXT_SUFFIXES, *HTML_SUFFIXES, *PDF_SUFFIXES, *TABLE_SUFFIXES, ".parquet", ".xlsx"}  # + ingest/tables.py
QUESTION_COLUMNS = ("question", "questions", "q", "title", "frage", "질문")
ANSWER_COLUMNS = ("answer", "answers", "a", "response", "antwort", "답변")
LINK_COLUMNS = ("link", "url", "source_url", "href")
LINK_KEYS = ("link", "url", "source", "canonical")
"""Front-matter keys whose value is the page's address, shown to users as the source."""


@dataclass(frozen=True)
class TableColumns:
    """Which CSV columns hold the question, the answer and the link; None finds them by name."""

    question: str | None = None
    answer: str | None = None
    link: str | None = None


def supported(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


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


def load(file: SourceFile, columns: TableColumns = TableColumns()) -> list[SourceDocument]:
    suffix = file.path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return [_pdf_document(file)]
    raw = _read_text(file.path)
    if suffix in TABLE_SUFFIXES:
        return list(_faq_rows(file, raw, columns))
    if suffix in HTML_SUFFIXES:
        return [html_document(file, raw)]
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


def _document(file: SourceFile, text: str, fmt: str, *, title: str = "", source: str = "",
              metadata: dict[str, Any] | None = None, labels: Labels = Labels()) -> SourceDocument:
    return SourceDocument(
        doc_id=file.path.as_posix(), path=file.path.as_posix(),
        title=title or file.path.stem.replace("-", " ").replace("_", " ").title(),
        source=source or file.display, kind="doc", format=fmt, text=text, metadata=metadata or {},
        audience=labels.audience, tags=labels.tags,
    )


def _text_document(file: SourceFile, text: str, fmt: str) -> SourceDocument:
    if fmt != "markdown":
        return _document(file, text, fmt)
    front, body = front_matter(text)
    labels = take_labels(front)
    link = next((str(front.pop(k)) for k in LINK_KEYS if front.get(k)), "")
    title = str(front.pop("title", "") or "") or _markdown_title(body)
    return _document(file, body, fmt, title=title, source=link, metadata=plain(front), labels=labels)


HTML_DROP = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg")
HTML_BLOCKS = ("p", "div", "section", "article", "main", "li", "tr", "br", "pre", "blockquote",
               "table", "ul", "ol", "dl", "dt", "dd", "figure", "figcaption", "hr")


def html_document(file: SourceFile, raw: str) -> SourceDocument:
    """HTML as Markdown-ish text: headings become `#` lines so chunks carry their section."""
    from bs4 import BeautifulSoup  # imported here: only HTML ingests pay for it

    soup = BeautifulSoup(raw, "html.parser")
    canonical = soup.find("link", rel="canonical") or soup.find("meta", attrs={"property": "og:url"})
    link = (canonical.get("href") or canonical.get("content") or "") if canonical else ""
    head_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    body = soup.body or soup
    for tag in body.find_all(HTML_DROP):
        tag.decompose()
    for tag in body.find_all(re.compile(r"^h[1-6]$")):
        tag.replace_with(f"\n\n{'#' * int(tag.name[1])} {tag.get_text(' ', strip=True)}\n\n")
    for tag in body.find_all("li"):
        tag.insert_before("- ")
    for tag in body.find_all(HTML_BLOCKS):
        tag.insert_after("\n")
    text = _tidy(body.get_text())
    if not text:
        raise UnreadableSource("no text in the HTML body")
    title = _markdown_title(text) or head_title
    labels = take_labels({tag["name"]: tag.get("content", "") for tag in soup.find_all("meta", attrs={"name": True})})
    return _document(file, text, "markdown", title=title, source=link.strip(), labels=labels)


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _pdf_document(file: SourceFile) -> SourceDocument:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(file.path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableSource("the PDF is password-protected; save an unprotected copy")
        pages = [_tidy(page.extract_text() or "") for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except UnreadableSource:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as error:
        # pypdf signals damage with many exception types; all mean the same to the user.
        raise UnreadableSource(f"not a readable PDF ({type(error).__name__}: {error})") from None
    if not any(pages):
        raise UnreadableSource("the PDF has no extractable text (scanned pages?); run OCR on it first")
    return _document(file, PAGE_BREAK.join(pages), "pdf", title=str(title).strip(),
                     metadata={"pages": len(pages)})


def _markdown_title(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def _faq_rows(file: SourceFile, raw: str, columns: TableColumns) -> Iterator[SourceDocument]:
    try:
        reader = csv.DictReader(io.StringIO(raw), delimiter=delimiter(file, raw))
        header = reader.fieldnames or []
    except csv.Error as error:
        raise UnreadableSource(f"not a readable CSV table: {error}") from None
    question_col = _column(header, columns.question, QUESTION_COLUMNS, "--question-col")
    answer_col = _column(header, columns.answer, ANSWER_COLUMNS, "--answer-col")
    link_col = _column(header, columns.link, LINK_COLUMNS, "--link-col", required=False)
    rows = list(_rows(reader))
    occurrences: Counter[str] = Counter()
    for row in rows:
        question = (row.get(question_col) or "").strip()
        answer = (row.get(answer_col) or "").strip()
        if not question or not answer:
            continue
        link = (row.get(link_col) or "").strip() if link_col else ""
        metadata = {k: v for k, v in row.items() if k and k not in (question_col, answer_col) and v}
        labels = take_labels(metadata)
        # The same question asked twice (two agencies' answers to it) keeps both rows: the
        # second gets its own id, numbered in file order so re-runs find the same ids.
        occurrences[question] += 1
        repeat = f"-{occurrences[question]}" if occurrences[question] > 1 else ""
        yield SourceDocument(
            doc_id=f"{file.path.as_posix()}#{hashlib.sha256(question.encode()).hexdigest()[:16]}{repeat}",
            path=file.path.as_posix(), title=question, source=link or file.display, kind="faq", format="faq",
            text=answer, question=question, answer=answer, metadata=metadata, audience=labels.audience,
            tags=labels.tags,
        )


def delimiter(file: SourceFile, raw: str) -> str:
    """Tab for .tsv; else whichever of , ; tab the header line uses most (Excel in many
    locales writes semicolons). csv.Sniffer guesses quoting wrongly on multi-line cells."""
    if file.path.suffix.lower() == ".tsv":
        return "\t"
    header = raw.split("\n", 1)[0]
    return max(",;\t", key=header.count)


def _rows(reader: csv.DictReader) -> Iterator[dict[str, str]]:
    try:
        yield from reader
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise UnreadableSource(f"CSV line {reader.line_num}: a cell is longer than {csv.field_size_limit():,} "
                                   "characters; split it into several rows or a document") from None
        raise UnreadableSource(f"CSV line {reader.line_num}: {error}") from None


def _column(header: list[str], given: str | None, names: tuple[str, ...], option: str,
            required: bool = True) -> str | None:
    """The column named `given`, else the first header matching one of `names`."""
    lowered = {h.strip().lower(): h for h in header if h}
    if given is not None:
        if given.strip().lower() not in lowered:
            raise UnreadableSource(f"no column {given!r} (from {option}) among {header}")
        return lowered[given.strip().lower()]
    found = next((lowered[n] for n in names if n in lowered), None)
    if found is None and required:
        raise UnreadableSource(
            f"no {option[2:-4]} column among {header}; name it {names[0]!r} or pass {option}"
        )
    return found


def _hidden(path: Path, root: Path) -> bool:
    relative = path.relative_to(root) if path != root else Path(path.name)
    return any(part.startswith(".") for part in relative.parts)
