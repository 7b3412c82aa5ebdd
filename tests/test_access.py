"""Access control's foundation: the audience filter inside both Qdrant engines (real Edge and
qdrant-client local mode, real embeddings). The rest of issue 14 (ingest labels, the asker
from the edges, cache and memory) builds on it."""

from dataclasses import replace

from knowledge.access import ALL, Access, Asker, Scope
from knowledge.engines import DENSE, QUESTION, SPARSE, ClientEngine, EdgeEngine
from knowledge.sparse import SparseEncoder

PAGES = {"salary": ("Engineering salary bands: level E3 earns 71,000 to 84,000 EUR.", ["channel:CHR"], ["hr"]),
         "payday": ("Salaries are paid on the 25th of each month.", ["everyone"], ["hr"]),
         "oncall": ("The security on-call rotation hands over on Tuesdays.", ["usergroup:SSEC"], [])}
IDS = {name: f"00000000-0000-0000-0000-00000000000{n}" for n, name in enumerate(PAGES, start=1)}


def test_both_engines_filter_by_audience_and_scope_inside_the_query(tmp_path, embedder):
    sparse = SparseEncoder()
    question = "What are the salary bands for engineers?"
    dense, terms = embedder.embed_query(question), sparse.encode_query(question)
    for engine in (EdgeEngine(tmp_path / "edge"), ClientEngine.local(tmp_path / "client")):
        try:
            engine.create("kb-1", len(dense))
            engine.upsert("kb-1", [(IDS[name], {DENSE: vector, QUESTION: vector, SPARSE: sparse.encode_document(text)},
                                    {"text": text, "audience": audience, "tags": tags})
                                   for (name, (text, audience, tags)), vector
                                   in zip(PAGES.items(), embedder.embed_documents([p[0] for p in PAGES.values()]))])

            def seen(access: Access) -> set[str]:
                sides = [(DENSE, dense), (QUESTION, dense), (SPARSE, terms)]
                return {hit.id for hit in engine.query("kb-1", sides, 10, 20, None, access.clauses())}

            assert seen(ALL) == set(IDS.values())
            hr, elsewhere = Asker(user="U1", channel="CHR"), Asker(user="U1", channel="CGEN")
            assert seen(Access.of(hr)) == {IDS["salary"], IDS["payday"]}
            assert seen(Access.of(elsewhere)) == {IDS["payday"]}
            assert seen(Access.of(replace(hr, direct=True))) == {IDS["payday"]}  # a DM: the user alone
            assert seen(Access.of(replace(elsewhere, usergroups=frozenset({"SSEC"})))) == {IDS["payday"], IDS["oncall"]}
            assert seen(Access.of(Asker(everything=True), Scope(tags=("hr",)))) == {IDS["salary"], IDS["payday"]}
            assert Access.of(elsewhere).allows({"audience": ["everyone"]})
            assert not Access.of(elsewhere).allows({"audience": ["channel:CHR"]})
        finally:
            engine.close()
