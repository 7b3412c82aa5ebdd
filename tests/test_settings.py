from pathlib import Path

import pytest

from bot.settings import Settings
from knowledge.errors import SettingsError
from knowledge.settings import KnowledgeSettings
from tests.env import settings_from


def test_reads_the_environment():
    settings = settings_from(
        {
            "DATA_DIR": "/srv/kb",
            "SLACK_ADMIN_USERS": "U1, U2,",
            "RETRIEVAL_TOP_K": "8",
            "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1",
            "KB_SOURCES": "docs, faq.csv",
            "GUARD_RULES": "/etc/kb/rules.toml",
            "ANSWER_CACHE": "off",
            "PII_PHONE_REGION": "gb",
        }
    )
    assert settings.knowledge.qdrant_path == Path("/srv/kb/qdrant")
    assert settings.slack_admin_users == {"U1", "U2"}
    assert settings.knowledge.top_k == 8
    assert settings.ingest.sources == ("docs", "faq.csv")
    assert settings.guards.rules == Path("/etc/kb/rules.toml")
    assert settings.guards.pii_phone_region == "GB"
    assert settings.llm_enabled and not settings.answer_cache


def test_tokens_and_keys_are_kept_out_of_reprs_and_dumps():
    secrets = {
        "SLACK_BOT_TOKEN": "xoxb-secret-1",
        "SLACK_SIGNING_SECRET": "signing-secret-2",
        "SLACK_APP_TOKEN": "xapp-secret-3",
        "OPENAI_API_KEY": "sk-secret-4",
    }
    settings = settings_from(secrets)
    shown = f"{settings!r} {settings} {settings.model_dump()}"
    assert [value for value in secrets.values() if value in shown] == []
    assert settings.slack_bot_token.get_secret_value() == "xoxb-secret-1"
    assert settings.tiers[0].api_key == "sk-secret-4"
    assert (
        settings.replace(slack_bot_token="xoxb-other").slack_bot_token.get_secret_value()
        == "xoxb-other"
    )


def test_extractive_without_key_or_base_url():
    assert not settings_from({}).llm_enabled


def test_an_empty_variable_counts_as_unset():
    assert settings_from({"RETRIEVAL_TOP_K": "", "REDIS_PREFIX": ""}).redis_prefix == "kb:"


def test_environment_wins_over_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("QDRANT_COLLECTION=from_file\nLLM_MODEL=file-model\n")
    settings = settings_from({"QDRANT_COLLECTION": "from_env"}, env_file=str(env_file))
    assert settings.knowledge.qdrant_collection == "from_env"
    assert settings.llm_model == "file-model"


def test_bad_number_names_the_setting():
    with pytest.raises(
        SettingsError,
        match=r"RETRIEVAL_TOP_K='five': Input should be a valid integer.*fix it in the",
    ):
        settings_from({"RETRIEVAL_TOP_K": "five"})


def test_a_bad_bot_setting_names_the_setting():
    with pytest.raises(
        SettingsError, match="ANSWER_CACHE='maybe': Input should be a valid boolean"
    ):
        settings_from({"ANSWER_CACHE": "maybe"})


def test_an_unknown_phone_region_says_what_to_write():
    with pytest.raises(
        SettingsError,
        match="PII_PHONE_REGION='UK': not a region phonenumbers knows; use a two-letter",
    ):
        settings_from({"PII_PHONE_REGION": "UK"})


def test_replace_changes_the_part_a_setting_belongs_to():
    settings = Settings(knowledge=KnowledgeSettings(qdrant_path=Path("/kb")))
    changed = settings.replace(faq_match=2.0, answer_cache=False, sources=("docs",))
    assert (changed.knowledge.faq_match, changed.answer_cache, changed.ingest.sources) == (
        2.0,
        False,
        ("docs",),
    )
    assert changed.knowledge.qdrant_path == Path("/kb")
    assert (
        settings.knowledge.faq_match == KnowledgeSettings(qdrant_path=Path("/kb")).faq_match != 2.0
    )
    with pytest.raises(TypeError, match="top_kk"):
        settings.replace(top_kk=3)


def test_suggested_prompts_can_be_set_and_may_hold_commas():
    from bot.slack.suggestions import Suggestions

    long = "How do I book a business trip abroad, and who approves it?"
    settings = settings_from({"SLACK_SUGGESTED_PROMPTS": f"{long}| What is the hotel limit? |"})
    assert settings.slack_suggested_prompts == (long, "What is the hotel limit?")
    prompts = Suggestions(
        settings.slack_suggested_prompts, store=None
    ).prompts()  # set: the index is not read
    assert [p["message"] for p in prompts] == [long, "What is the hotel limit?"]
    assert prompts[0]["title"].endswith("…") and len(prompts[0]["title"]) == 40
