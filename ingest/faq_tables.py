"""FAQ tables: a CSV or TSV with a question and an answer column (found by name, or named with
--question-col and --answer-col) becomes one `SourceDocument` per row, the row's link its source."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.documents import SourceDocument, SourceFile
from ingest.errors import UnreadableSource
from ingest.frontmatter import take_labels

QUESTION_COLUMNS = ("question", "questions", "q", "title", "frage", "질문")
ANSWER_COLUMNS = ("answer", "answers", "a", "response", "antwort", "답변")
LINK_COLUMNS = ("link", "url", "source_url", "href")


@dataclass(frozen=True)
class TableColumns:
    """Which CSV columns hold the question, the answer and the link; None finds them by name."""

    question: str | None = None
    answer: str | None = None
    link: str | None = None


def faq_rows(file: SourceFile, raw: str, columns: TableColumns) -> Iterator[SourceDocument]:
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
            path=file.path.as_posix(),
            title=question,
            source=link or file.display,
            kind="faq",
            format="faq",
            text=answer,
            question=question,
            answer=answer,
            metadata=metadata,
            audience=labels.audience,
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
            raise UnreadableSource(
                f"CSV line {reader.line_num}: a cell is longer than {csv.field_size_limit():,} "
                "characters; split it into several rows or a document"
            ) from None
        raise UnreadableSource(f"CSV line {reader.line_num}: {error}") from None


def _column(
    header: list[str], given: str | None, names: tuple[str, ...], option: str, required: bool = True
) -> str | None:
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
