"""Hostile input, generated: every loader given random bytes, truncated files and odd tables,
hostile front matter, and random settings values. Each gets a clean load or a clear error
(UnreadableSource, SettingsError) that names what to fix; never a crash, never a hang."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ingest.errors import UnreadableSource
from ingest.loaders import discover, load
from knowledge.errors import SettingsError
from tests.conftest import SAMPLE_KB
from tests.env import settings_from
from tests.fakes.pdf import write_pdf

SUFFIXES = (".md", ".txt", ".html", ".csv", ".tsv", ".pdf")
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def loaded_or_refused(path: Path) -> list:
    """The loader's contract: documents, or UnreadableSource with a reason a person can act on."""
    [file] = discover([path])
    try:
        return load(file)
    except UnreadableSource as error:
        # What a user gets: this one class (nothing else escapes), and one plain line saying what is wrong.
        message = str(error)
        assert type(error) is UnreadableSource
        assert message.strip() == message and message and "Traceback" not in message, message
        return []


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_in_any_format_load_or_are_refused_clearly(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    loaded_or_refused(path)


def real_files(tmp_path: Path) -> list[Path]:
    pdf = tmp_path / "page.pdf"
    write_pdf(pdf, ["Travel policy", "Hotels up to 150 EUR per night."])
    return [*sorted(SAMPLE_KB.rglob("*.md"))[:2], SAMPLE_KB / "faq.csv", pdf]


@FUZZ
@given(cut=st.floats(min_value=0.0, max_value=1.0), which=st.integers(min_value=0, max_value=3))
def test_a_truncated_file_loads_what_is_left_or_is_refused_clearly(tmp_path, cut, which):
    source = real_files(tmp_path)[which]
    data = source.read_bytes()
    path = tmp_path / f"cut{source.suffix}"
    path.write_bytes(data[: int(len(data) * cut)])
    loaded_or_refused(path)


@FUZZ
@given(
    rows=st.lists(st.lists(st.text(max_size=30), max_size=5), max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]),
    bom=st.booleans(),
)
def test_ragged_tables_keep_every_complete_row(tmp_path, rows, delimiter, bom):
    lines = [delimiter.join(["question", "answer"]), *(delimiter.join(r) for r in rows)]
    path = tmp_path / "faq.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + "\n".join(lines).encode())
    for doc in loaded_or_refused(path):
        assert doc.question.strip() and doc.answer.strip()


def test_a_windows_1252_table_says_to_save_it_as_utf8(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_bytes("question,answer\nCafé hours?,Open at 8 – closes at 17\n".encode("cp1252"))
    with pytest.raises(UnreadableSource, match="re-save the file as UTF-8"):
        load(discover([path])[0])


def test_a_ten_megabyte_cell_is_a_clear_error_not_a_hang(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text("question,answer\nBig?," + "x" * 10_000_000 + "\nSmall?,Yes.\n")
    with pytest.raises(UnreadableSource, match="longer than"):
        load(discover([path])[0])


@pytest.mark.parametrize(
    "front",
    [
        # A billion laughs: nine levels of aliases, each nine times the one before.
        "a: &a [x,x,x,x,x,x,x,x,x]\n"
        + "".join(
            f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n"
            for p, n in zip("abcdefgh", "bcdefghi", strict=False)
        ),
        "title: !!python/object/apply:os.system ['echo pwned']\n",
        "title: [unclosed\n",
    ],
)
def test_hostile_front_matter_is_refused_or_kept_small(tmp_path, front):
    path = tmp_path / "page.md"
    path.write_text(f"---\n{front}---\n# Page\nBody text.\n")
    for doc in loaded_or_refused(path):
        assert len(str(doc.metadata)) < 10_000 and "pwned" not in doc.title


NUMERIC = [
    "TOP_K",
    "MIN_RELEVANCE",
    "MEMORY_TURNS",
    "RATE_LIMIT_PER_MINUTE",
    "CHANNEL_DAILY_BUDGET_USD",
    "METRICS_PORT",
    "TRACE_KEEP",
]


@FUZZ
@given(name=st.sampled_from(NUMERIC), value=st.text(max_size=20))
def test_a_random_setting_value_is_accepted_or_names_the_variable(name, value):
    assume("\x00" not in value)  # no process environment can hold one
    try:
        settings_from({name: value}, env_file=None)
    except SettingsError as error:
        assert type(error) is SettingsError
        assert name in str(error) and str(error).endswith("fix it in the environment or .env")


# --- Slack payloads ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
EVENT_TYPES = st.sampled_from(
    ["app_mention", "message", "assistant_thread_started", "reaction_added", "", None]
)


@st.composite
def slack_bodies(draw) -> dict:
    """Shaped like Slack's envelopes often enough to reach the listeners, broken in every field."""
    event = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "user",
                    "text",
                    "ts",
                    "channel",
                    "thread_ts",
                    "channel_type",
                    "subtype",
                    "bot_id",
                    "blocks",
                ]
            ),
            json_values,
        )
    )
    if draw(st.booleans()):
        event["type"] = draw(EVENT_TYPES)
    body = {
        "type": draw(
            st.sampled_from(
                ["event_callback", "block_actions", "view_submission", "url_verification"]
            )
        ),
        "event": event,
        "team_id": "T1",
        "api_app_id": "A1",
    }
    body.update(
        draw(
            st.dictionaries(
                st.sampled_from(
                    ["event_id", "authorizations", "actions", "user", "view", "challenge", "token"]
                ),
                json_values,
                max_size=3,
            )
        )
    )
    return body


@pytest.fixture
def slack_edge(make_deps, slack_settings):
    """The WSGI app `bot serve --http` and gunicorn run, answering before it responds, so a
    listener that crashes shows here as a 500."""
    from bot.chain.agent import Agent
    from bot.deps import build_web_client
    from bot.slack.listeners import create_app
    from bot.web.app import wsgi_app

    deps = make_deps(slack_settings)
    app = create_app(
        deps,
        Agent(deps),
        client=build_web_client("xoxb-test", slack_settings.slack_api_url),
        process_before_response=True,
    )
    return wsgi_app(deps, app)


def post(application, raw: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    import io

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
        **{
            "CONTENT_TYPE" if k == "content-type" else "HTTP_" + k.upper().replace("-", "_"): v
            for k, v in headers.items()
        },
    }
    statuses = []
    body = b"".join(application(environ, lambda status, _headers: statuses.append(status)))
    return int(statuses[0].split()[0]), body


def signed_headers(raw: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """Slack's v0 signature over the raw bytes (slack_sdk's own signer wants text)."""
    import hashlib
    import hmac

    digest = hmac.new(
        secret.encode(), f"v0:{timestamp}:".encode() + raw, hashlib.sha256
    ).hexdigest()
    signature = f"v0={digest}"
    return {
        "content-type": "application/json",
        "x-slack-request-timestamp": str(timestamp),
        "x-slack-signature": signature,
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=slack_bodies())
def test_malformed_slack_payloads_never_crash_the_edge(slack_edge, body):
    import json
    import time

    from tests.slack_helpers import SECRET

    raw = json.dumps(body).encode()
    status, answer = post(slack_edge, raw, signed_headers(raw, SECRET, int(time.time())))
    # Acknowledged, refused as a bad request that says what the body is not, or not one of ours.
    assert status in (200, 400, 404), (status, answer)
    if status == 400:
        assert answer.startswith(
            (b'{"error": "the request body is not', b'{"error": "malformed Slack payload (')
        ), answer


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(min_size=1, max_size=200),
    secret=st.text(alphabet="abcdefghijklmnop0123456789", min_size=1, max_size=20),
    age=st.integers(0, 10_000),
)
def test_forged_or_stale_signatures_are_401(slack_edge, fake_slack, text, secret, age):
    import json
    import time

    from tests.slack_helpers import SECRET, mention

    raw = json.dumps(mention(text)).encode()
    stale = age > 300  # Slack's own replay window
    key = SECRET if stale or secret == SECRET else secret
    status, body = post(slack_edge, raw, signed_headers(raw, key, int(time.time()) - age))
    assert status == 401, body
    assert fake_slack.calls_to("chat.postMessage") == []


def test_the_edge_answers_a_well_formed_mention(slack_edge, fake_slack):
    import json
    import time

    from tests.slack_helpers import SECRET, mention

    raw = json.dumps(mention("<@UBOT> how much can I spend on a hotel?")).encode()
    assert post(slack_edge, raw, signed_headers(raw, SECRET, int(time.time())))[0] == 200
    [reply] = fake_slack.calls_to("chat.postMessage")
    assert "150 EUR" in reply["text"]


def test_a_body_that_is_not_utf8_is_a_400_that_says_so(slack_edge):
    import time

    from tests.slack_helpers import SECRET

    raw = b'{"type": "event_callback", "event": {"text": "\xff\xfe"}}'
    status, body = post(slack_edge, raw, signed_headers(raw, SECRET, int(time.time())))
    assert status == 400 and b"UTF-8" in body
