"""Files in, `SourceDocument`s out: one per manual page, one per FAQ row.

Formats are recognised by extension: Markdown (with optional YAML front matter), plain
text, HTML (BeautifulSoup, headings kept as Markdown headings so chunks know their
section), PDF (pypdf, page by page) and CSV FAQ tables (read by
ingest/faq_tables.py). A file that cannot be read raises
`UnreadableSource` with the reason; the pipeline records it and goes on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.documents import PAGE_BREAK, SourceDocument, SourceFile
from ingest.errors import SourceNotFound, UnreadableSource
from ingest.faq_tables import TableColumns, faq_rows
from ingest.frontmatter import Labels, front_matter, plain, take_labels

if TYPE_CHECKING:
    from bs4 import BeautifulSoup

TEXT_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
TABLE_SUFFIXES = {".csv", ".tsv"}
SUFFIXES = {
    *TEXT_SUFFIXES,
    *HTML_SUFFIXES,
    *PDF_SUFFIXES,
    *TABLE_SUFFIXES,
    ".parquet",
    ".xlsx",
}  # + ingest/tables.py
LINK_KEYS = ("link", "url", "source", "canonical")
"""Front-matter keys whose value is the page's address, shown to users as the source."""


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
        files.extend(
            SourceFile(p, p.relative_to(root.parent).as_posix())
            for p in candidates
            if supported(p) and not _hidden(p, root)
        )
    return files


def load(file: SourceFile, columns: TableColumns = TableColumns()) -> list[SourceDocument]:
    suffix = file.path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return [_pdf_document(file)]
    raw = _read_text(file.path)
    if suffix in TABLE_SUFFIXES:
        return list(faq_rows(file, raw, columns))
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
        raise UnreadableSource(
            f"not UTF-8 text (byte {error.start}); re-save the file as UTF-8"
        ) from None


def _document(
    file: SourceFile,
    text: str,
    fmt: str,
    *,
    title: str = "",
    source: str = "",
    metadata: dict[str, Any] | None = None,
    labels: Labels = Labels(),
) -> SourceDocument:
    return SourceDocument(
        doc_id=file.path.as_posix(),
        path=file.path.as_posix(),
        title=title or file.path.stem.replace("-", " ").replace("_", " ").title(),
        source=source or file.display,
        kind="doc",
        format=fmt,
        text=text,
        metadata=metadata or {},
        audience=labels.audience,
        tags=labels.tags,
    )


def _text_document(file: SourceFile, text: str, fmt: str) -> SourceDocument:
    if fmt != "markdown":
        return _document(file, text, fmt)
    front, body = front_matter(text)
    labels = take_labels(front)
    link = next((str(front.pop(k)) for k in LINK_KEYS if front.get(k)), "")
    title = str(front.pop("title", "") or "") or _markdown_title(body)
    return _document(
        file, body, fmt, title=title, source=link, metadata=plain(front), labels=labels
    )


HTML_DROP = (
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "svg",
)
HTML_BLOCKS = (
    "p",
    "div",
    "section",
    "article",
    "main",
    "li",
    "tr",
    "br",
    "pre",
    "blockquote",
    "table",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "hr",
)


def html_document(file: SourceFile, raw: str | BeautifulSoup) -> SourceDocument:
    """HTML as Markdown-ish text: headings become `#` lines so chunks carry their section. `raw`
    may be parsed already (the website connector reads its links first); it is changed here."""
    from bs4 import BeautifulSoup  # imported here: only HTML ingests pay for it

    soup = BeautifulSoup(raw, "html.parser") if isinstance(raw, str) else raw
    canonical = soup.find("link", rel="canonical") or soup.find(
        "meta", attrs={"property": "og:url"}
    )
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
    labels = take_labels(
        {tag["name"]: tag.get("content", "") for tag in soup.find_all("meta", attrs={"name": True})}
    )
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
        raise UnreadableSource(
            "the PDF has no extractable text (scanned pages?); run OCR on it first"
        )
    return _document(
        file,
        PAGE_BREAK.join(pages),
        "pdf",
        title=str(title).strip(),
        metadata={"pages": len(pages)},
    )


def _markdown_title(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def _hidden(path: Path, root: Path) -> bool:
    relative = path.relative_to(root) if path != root else Path(path.name)
    return any(part.startswith(".") for part in relative.parts)
