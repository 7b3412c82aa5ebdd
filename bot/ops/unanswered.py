"""The questions nobody answered, grouped by meaning: what the owners of the manuals should
write next.

Refusals for `no_answer` are grouped by the embedding model (e5 question vectors, average-linkage
agglomerative clustering on cosine distance, scikit-learn's): two wordings of one need land in
one group, however they are worded. Groups are ranked by how often they were asked, then by
how many channels asked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.chain.turn_log import TurnRecord

GAP_MATCH = 0.86
"""Average cosine similarity within a group (e5's scores sit in a narrow band, ~0.75-0.95).
`bot eval gaps` measures it on labelled wordings (adjusted Rand index, 1 perfect): on needs the
sample handbook lacks (tests/data/gap_needs.jsonl) 0.86 gives the best, 0.69, with one group of
24 over two needs; 0.875 mixes none but splits more (0.59: "Is there parking for employees?" and
"how do I get a parking permit" are 0.864 alike); 0.85 mixes 21%, and at 0.8 or below nearly
everything is one group. (MiniLM gave 0.62 unmixed at 0.5, 0.79-0.81 at 0.35-0.4 with 5-20%
mixed.) A mixed group hides a need behind another's wording, a split one only undercounts it."""
MAX_QUESTIONS = 3000
"""Distinct wordings clustered (the latest ones): clustering holds an n x n distance matrix."""
EXAMPLES = 3

Embed = Callable[[Sequence[str]], list[list[float]]]


@dataclass(frozen=True)
class Gap:
    count: int
    """How many times a question of this group was refused."""
    examples: list[str]
    """Distinct wordings, the most typical first."""
    channels: list[str]
    """Where it was asked, most often first ("" is outside Slack)."""
    closest: list[str] = field(default_factory=list)
    """The title of the document that came closest most often (below the relevance bar): where
    the answer might be written."""
    last_asked: float = 0.0

    def as_dict(self) -> dict:
        return {
            "count": self.count,
            "examples": self.examples,
            "channels": self.channels,
            "closest": self.closest,
            "last_asked": self.last_asked,
        }


def asked(turn: TurnRecord) -> str:
    """What the user needed: a follow-up ("and for interns?") means little without its thread.
    A restricted turn's rewrite is a model's words drawn from its thread: its question is shown."""
    return turn.question if turn.restricted else turn.searched or turn.question


def unanswered(turns: Sequence[TurnRecord]) -> list[TurnRecord]:
    return [t for t in turns if t.refused and t.reason == "no_answer" and t.question.strip()]


def group(refusals: Sequence[TurnRecord], embed: Embed, threshold: float = GAP_MATCH) -> list[Gap]:
    """The refusals grouped by meaning, most asked first."""
    by_wording: dict[str, list[TurnRecord]] = {}
    for turn in sorted(refusals, key=lambda t: t.at):
        by_wording.setdefault(" ".join(asked(turn).lower().split()), []).append(turn)
    wordings = list(by_wording)[-MAX_QUESTIONS:]
    if not wordings:
        return []
    vectors = np.asarray(embed([asked(by_wording[w][0]) for w in wordings]), dtype=np.float32)
    labels = cluster(vectors, threshold)
    gaps = []
    for label in set(labels):
        members = [i for i, other in enumerate(labels) if other == label]
        gaps.append(_gap([by_wording[wordings[i]] for i in members], vectors[members]))
    return sorted(gaps, key=lambda g: (-g.count, -len(g.channels), -g.last_asked))


def cluster(vectors: np.ndarray, threshold: float) -> list[int]:
    """A group label per vector; vectors are normalised, so cosine distance is 1 - dot."""
    if len(vectors) == 1:
        return [0]
    from sklearn.cluster import AgglomerativeClustering  # scikit-learn (~1 s): only for a report

    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=1 - threshold
    )
    return model.fit(vectors).labels_.tolist()


def _gap(wordings: list[list[TurnRecord]], vectors: np.ndarray) -> Gap:
    turns = [t for asked in wordings for t in asked]
    # The headline is the most typical standalone wording (closest to all the others); a
    # follow-up only when there is nothing else, since it leans on its thread.
    centrality = (vectors @ vectors.T).mean(axis=1)
    order = sorted(
        range(len(wordings)), key=lambda i: (bool(wordings[i][0].searched), -centrality[i])
    )
    typical = [wordings[order[0]], *sorted((wordings[i] for i in order[1:]), key=len, reverse=True)]
    channels = Counter(t.channel for t in turns)
    closest = Counter(s["title"] for t in turns for s in t.sources[:1])
    return Gap(
        count=len(turns),
        examples=[asked(times[-1]) for times in typical[:EXAMPLES]],
        channels=[c for c, _ in channels.most_common()],
        closest=[c for c, _ in closest.most_common(1)],
        last_asked=max(t.at for t in turns),
    )
