"""How relevant a passage is to a question the embedding model cannot read (Korean), on an
absolute 0..1 scale like the cosine similarity used for English: the share of the question's
key morphemes (its nouns, roots, foreign words and numbers; particles, endings and verb stems
dropped) that the passage, with its heading, contains among its content morphemes.

A rank fusion score says nothing absolute; for Korean this is what `no_answer` refusals are
judged by (MIN_RELEVANCE_KO) while knowledge/retrieval.py lists Korean in LEXICAL_SCORES.
"""

from __future__ import annotations


def lexical_relevance(question: set[str], passage: set[str]) -> float:
    if not question:
        return 0.0
    return len(question & passage) / len(question)
