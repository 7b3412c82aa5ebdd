"""The restricted documents the access tests share: a salary-band page and an FAQ row for the
HR channel CHR, an on-call page for the Slack user group SSEC, the words that must not leak,
and who asks from where (tests/conftest.py makes `restricted_settings` every test's)."""

import pytest

from ingest.pipeline import Pipeline
from knowledge.access import Asker
from knowledge.sparse import SparseEncoder
from knowledge.store import Store

SALARY = """---
title: Salary bands 2026
audience: channel:CHR
tags: [hr, pay]
---
# Salary bands 2026

Engineering salary bands for 2026: level E3 earns between 71,000 and 84,000 EUR a year, level E4
between 86,000 and 101,000 EUR a year. The HR committee reviews the salary bands every March.
"""

ONCALL = """---
audience: usergroup:SSEC
---
# Security on-call handover

The security on-call rotation hands over every Tuesday at 09:00 in meeting room Kestrel.
"""

HR_FAQ = (
    "question,answer,audience,tags\n"
    '"What is the salary band for level E4?","Level E4 earns between 86,000 and 101,000 EUR a year.",channel:CHR,hr\n'
    '"Where do I find the holiday calendar?","On the intranet page Holidays.",,hr\n'
)

SECRETS = ("71,000", "84,000", "86,000", "101,000", "Kestrel")

SALARY_QUESTIONS = [
    "What are the salary bands for engineers?",
    "How much does a level E3 engineer earn?",
    "what's the pay range for E4 engineers",
    "Salary band level E4?",
    "What is the salary band for level E4?",
]

HR, ELSEWHERE = Asker(user="U1", channel="CHR"), Asker(user="U1", channel="CGEN")

DM = Asker(user="U1", channel="D1", direct=True)


def write_restricted(folder):
    folder.mkdir()
    (folder / "salary-bands.md").write_text(SALARY)
    (folder / "oncall.md").write_text(ONCALL)
    (folder / "hr-faq.csv").write_text(HR_FAQ)
    return folder


@pytest.fixture
def restricted_settings(kb_settings, embedder):
    """The sample knowledge base plus the restricted documents."""
    store = Store.open(kb_settings.knowledge)
    try:
        summary = Pipeline(store, embedder, SparseEncoder()).run(
            [write_restricted(kb_settings.knowledge.data_dir / "hr")]
        )
    finally:
        store.close()
    assert summary.ok and summary.added == 4
    return kb_settings
