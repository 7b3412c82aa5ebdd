"""Scale-out: two `bot serve --http` workers, each with its own store, sharing one Redis.
Slack delivers one event to both (a retry that lands on the other worker): it is answered once."""

import os
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import copy_store
from tests.serve import Serve
from tests.slack_helpers import SECRET, free_port, mention


def test_one_event_delivered_to_two_workers_is_answered_once(kb_settings, fake_slack, tmp_path):
    import json

    workers = []
    try:
        for n in range(2):
            store = copy_store(
                kb_settings.knowledge.qdrant_path, tmp_path / f"store-{n}"
            )  # Qdrant Edge is one process's
            workers.append(
                Serve(
                    dict(
                        os.environ,
                        QDRANT_PATH=str(store),
                        REDIS_URL=kb_settings.redis_url,
                        REDIS_PREFIX=kb_settings.redis_prefix,
                        SLACK_BOT_TOKEN="xoxb-test",
                        SLACK_SIGNING_SECRET=SECRET,
                        SLACK_API_URL=fake_slack.api_url,
                        # Each worker answers before it responds: when both responses are in, both are done.
                        SLACK_PROCESS_BEFORE_RESPONSE="on",
                    ),
                    free_port(),
                )
            )
        for worker in workers:
            worker.wait_ready()
        events = [
            json.dumps(mention(question, ts=f"17000001{n:02d}.000100"))
            for n, question in enumerate(
                [
                    "<@UBOT> how much can I spend on a hotel?",
                    "<@UBOT> which class can I fly in?",
                    "<@UBOT> how do I report a phishing email?",
                ]
            )
        ]
        with ThreadPoolExecutor(max_workers=6) as pool:  # every event to both workers at once
            statuses = list(
                pool.map(lambda job: job[0].post(job[1]), [(w, e) for e in events for w in workers])
            )
        assert statuses == [200] * 6
        posts = fake_slack.calls_to("chat.postMessage")
        assert sorted(p["thread_ts"] for p in posts) == [
            f"17000001{n:02d}.000100" for n in range(3)
        ]
    finally:
        for worker in workers:
            worker.stop()
