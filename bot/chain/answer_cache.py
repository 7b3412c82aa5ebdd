"""Answer cache in Redis: exact, then semantic. Staff ask the same questions again and again.

Entries are scoped by the answer prompt's version (bot/chain/prompt_variants.py: a new prompt, or another
A/B variant, changes answers) and by what else shapes an answer in this deployment: the business rules file, the model tiers and the embedding model
(`answer_scope`). A reindex retires only what it touched: each entry records the content hash
of every document it cites, and a hit whose cited documents were changed or deleted since
(by an ingest, a rebuild or a rollback) is dropped, not served. One point lookup by id.
Only answers that passed the guards are stored (the agent stores them); a 👎 evicts one.
An answer from a table (its SQL result and rows kept with it) is found again by its exact
wording only: "how many offices in France" reads like "... in Germany" and retrieves the same
table card, so no semantic match could tell their answers apart.

Access: an entry keeps its sources' payloads, audience and tags included, and is served only
to an asker whose `Access` allows every one of them (audience and channel scope), exact and
semantic hits alike. One question may have several answers, one per set of audiences cited
(`variant`): the answer given in a restricted channel does not replace the public one, nor the
reverse. Each question's answers are one Redis hash, field = variant.

- Exact: key = hash of the normalised question (+ scope). One GET.
- Semantic: every entry's question vector is appended to a Redis list per scope (a new list
  after MAX_VECTORS); each process mirrors that list in a NumPy matrix (catching up with
  LRANGE from where it stopped), so a lookup is two small Redis calls plus a matrix
  product, then one pipelined read of the closest questions' answers. A hit needs cosine
  similarity >= SEMANTIC_CACHE_MATCH, calibrated on the COVID paraphrase pairs where wrong
  hits are counted (`bot eval cache`); a Korean question >= SEMANTIC_CACHE_MATCH_KO, calibrated
  on Korean pairs (`bot eval cache --dataset knowledge/eval/ko-pairs.jsonl`). Each language has
  its own vector list: an answer is only found again by a question in its own language.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import redis

from bot.chain.answer import TABLE_RESULT, Answer
from knowledge.access import EVERYONE, Access
from knowledge.language import language_of
from knowledge.models import Chunk, Passage

TTL_S = 7 * 24 * 3600
SEMANTIC_TRIES = 5
"""Close questions tried, best first, for one an asker may see the answer of."""
MAX_VECTORS = 20_000
"""Question vectors per list (~40 MB in Redis, a 30 MB matrix per worker, ~3 ms a lookup).
A full list is retired for a new one, so the semantic cache never grows without bound; its
answers stay reachable by exact match until they expire."""


@dataclass(frozen=True)
class CacheHit:
    answer: dict
    """The cached answer as `freeze` stored it (text, mode, confidence, sources) plus `cache_key`."""
    kind: str
    """"exact" or "semantic"."""
    similarity: float


def _in_language(scope: str, language: str) -> str:
    """Where a language's question vectors are listed (English's keys are those from before
    other languages had any)."""
    return scope if language == "en" else f"{scope}:{language}"


def normalised(question: str) -> str:
    text = unicodedata.normalize("NFKC", question).casefold()
    return " ".join(text.replace("?", " ").replace("!", " ").split())


class AnswerCache:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        embed_query: Callable[[str], Sequence[float]],
        threshold: float,
        current_hashes: Callable[[list[str]], dict[str, str]],
        scope: str = "",
        other_languages: Mapping[str, float] | None = None,
    ) -> None:
        """`threshold` is for English questions, `other_languages` maps other languages to theirs;
        a language with none is found again by its exact wording only. `current_hashes` maps chunk
        ids to the content hash the index holds now (absent: gone)."""
        self._redis = client
        self._prefix = prefix
        self._embed = embed_query
        self.thresholds = {"en": threshold, **(other_languages or {})}
        self._current_hashes = current_hashes
        self._fixed_scope = scope
        self._mirror: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._lock = threading.Lock()

    def _scope(self, prompt_version: str) -> str:
        return f"{self._prefix}cache:{prompt_version}:{self._fixed_scope}"

    @staticmethod
    def key_for(question: str) -> str:
        return hashlib.sha256(normalised(question).encode()).hexdigest()[:32]

    def get(self, question: str, prompt_version: str, access: Access) -> CacheHit | None:
        """`prompt_version`: the answer prompt's (`PromptText.version`); other prompts' answers never
        match. `access`: who asks; an answer citing anything they may not see is not theirs."""
        scope = self._scope(prompt_version)
        found = self._first_current(scope, [self.key_for(question)], access)
        if found is not None:
            return CacheHit(found[1], "exact", 1.0)
        language = language_of(question)
        threshold = self.thresholds.get(language)
        if threshold is None:
            return None
        vectors, keys = self._catch_up(_in_language(scope, language))
        if not keys:
            return None
        scores = vectors @ np.asarray(self._embed(question), dtype=np.float32)
        # The closest question may have been answered for someone else: the next ones are tried.
        rows: dict[str, int] = {}  # key -> its closest row: a question stored twice is read once
        for row in closest(scores, SEMANTIC_TRIES):
            if scores[row] >= threshold:
                rows.setdefault(keys[row], int(row))
        found = self._first_current(scope, list(rows), access)
        if found is None:
            return None
        return CacheHit(found[1], "semantic", float(scores[list(rows.values())[found[0]]]))

    def _first_current(
        self, scope: str, keys: list[str], access: Access
    ) -> tuple[int, dict] | None:
        """The first of `keys` (best first) with an answer `access` may see, as (its index, the
        answer): of a key's answers, the most restricted one they may see, that is the one made
        for rights like theirs. Answers citing documents changed since are dropped on the way.
        One Redis round trip for all the keys and one index lookup for all their citations."""
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(f"{scope}:answer:{key}")
        readable = []
        for index, stored in enumerate(pipe.execute()):
            for variant in sorted(stored, key=len, reverse=True):
                answer = json.loads(stored[variant])
                if all(access.allows(source["payload"]) for source in answer.get("sources", [])):
                    readable.append((index, variant, answer))
        cited = {chunk_id for *_, answer in readable for chunk_id in cited_hashes(answer)}
        now = self._current_hashes(list(cited)) if cited else {}
        for index, variant, answer in readable:
            if any(
                now.get(chunk_id) != content_hash
                for chunk_id, content_hash in cited_hashes(answer).items()
            ):
                self._redis.hdel(f"{scope}:answer:{keys[index]}", variant)
                continue
            return index, answer
        return None

    def put(self, question: str, answer: dict, prompt_version: str, semantic: bool = True) -> str:
        """`semantic` False: found again by its exact (normalised) wording only."""
        scope = self._scope(prompt_version)
        key = self.key_for(question)
        pipe = self._redis.pipeline()
        pipe.hset(
            f"{scope}:answer:{key}",
            variant_of(answer),
            json.dumps({**answer, "cache_key": key}, ensure_ascii=False),
        )
        pipe.expire(f"{scope}:answer:{key}", TTL_S)
        language = language_of(question)
        if not semantic or language not in self.thresholds:
            pipe.execute()  # found again by its exact wording only
            return key
        vector = np.asarray(self._embed(question), dtype=np.float32)
        entry = json.dumps({"key": key, "vector": base64.b64encode(vector.tobytes()).decode()})
        vector_scope = _in_language(scope, language)
        vectors = self._vectors_key(vector_scope)
        pipe.rpush(vectors, entry)
        pipe.expire(vectors, TTL_S)
        length = pipe.execute()[2]
        if length >= MAX_VECTORS:
            # Start a new list: the full one expires untouched, taking its vectors (and those of
            # answers that expired or were evicted meanwhile) with it.
            self._redis.incr(f"{vector_scope}:generation")
        return key

    def evict(self, key: str, prompt_version: str) -> bool:
        """Drop one question's answers (a 👎); its vector stays but finds nothing."""
        return bool(self._redis.delete(f"{self._scope(prompt_version)}:answer:{key}"))

    def _vectors_key(self, scope: str) -> str:
        return f"{scope}:vectors:{int(self._redis.get(f'{scope}:generation') or 0)}"

    def _catch_up(self, scope: str) -> tuple[np.ndarray, list[str]]:
        vectors_key = self._vectors_key(scope)
        with self._lock:
            vectors, keys = self._mirror.get(vectors_key, (np.zeros((0, 0), dtype=np.float32), []))
            new = self._redis.lrange(vectors_key, len(keys), -1)
            if new:
                entries = [json.loads(raw) for raw in new]
                rows = np.stack(
                    [
                        np.frombuffer(base64.b64decode(e["vector"]), dtype=np.float32)
                        for e in entries
                    ]
                )
                vectors = rows if not keys else np.vstack([vectors, rows])
                keys = keys + [e["key"] for e in entries]
                self._mirror = {
                    vectors_key: (vectors, keys)
                }  # older lists are done: a new one replaced them
            return vectors, keys


def closest(scores: np.ndarray, count: int) -> np.ndarray:
    """The rows of the `count` highest scores, highest first, without sorting them all."""
    top = np.argpartition(-scores, count)[:count] if len(scores) > count else np.arange(len(scores))
    return top[np.argsort(-scores[top], kind="stable")]


def answer_scope(rules_fingerprint: str, models: Sequence[str], embedding_model: str) -> str:
    """What, besides the cited documents and the prompt, decides an answer: the business rules
    (refusals, banned phrases, disclaimers), the models that may write it, and the embedding
    model (which retrieved the sources and whose vectors the semantic cache compares)."""
    return hashlib.sha256(
        "|".join([rules_fingerprint, *models, embedding_model]).encode()
    ).hexdigest()[:12]


def variant_of(answer: dict) -> str:
    """The audiences an answer's sources are restricted to ("" when everyone may read them all)."""
    restricted = {
        tuple(sorted(s["payload"].get("audience", [EVERYONE]))) for s in answer.get("sources", [])
    }
    return "|".join(sorted(",".join(a) for a in restricted if a != (EVERYONE,)))


def cited_hashes(answer: dict) -> dict[str, str]:
    """Chunk id -> the content hash of its document, for every source a cached answer cites."""
    return {
        source["id"]: source["payload"].get("content_hash", "")
        for source in answer.get("sources", [])
    }


def freeze(answer: Answer) -> dict:
    """An Answer as cached: enough to rebuild it, sources and all."""
    return {
        "text": answer.text,
        "mode": answer.mode,
        "confidence": answer.confidence,
        "sources": [
            {
                "id": p.id,
                "payload": p.chunk.payload(),
                "score": p.score,
                "rank": p.rank,
                "question_score": p.question_score,
            }
            for p in answer.sources
        ],
        **(
            {"table": TABLE_RESULT.dump_python(answer.table, mode="json")}
            if answer.table is not None
            else {}
        ),
    }


def thaw(data: dict, hit: CacheHit) -> Answer:
    sources = [
        Passage(
            Chunk.from_payload(s["id"], s["payload"]), s["score"], s["rank"], s["question_score"]
        )
        for s in data["sources"]
    ]
    note = f"cache: {hit.kind} hit" + (f" ({hit.similarity:.2f})" if hit.kind == "semantic" else "")
    table = data.get("table")
    return Answer(
        data["text"],
        "cache",
        sources=sources,
        confidence=data["confidence"],
        notes=[note, f"first answered in mode {data['mode']}"],
        cache_key=data.get("cache_key", ""),
        table=TABLE_RESULT.validate_python(table) if table else None,
    )
