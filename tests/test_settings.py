from pathlib import Path

import pytest

from knowledge.errors import SettingsError
from knowledge.settings import Settings


def test_reads_the_environment():
    settings = Settings.from_env({"DATA_DIR": "/srv/kb", "SLACK_ADMIN_USERS": "U1, U2,", "RETRIEVAL_TOP_K": "8",
                                  "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}, env_file=None)
    assert settings.qdrant_path == Path("/srv/kb/qdrant")
    assert settings.slack_admin_users == {"U1", "U2"}
    assert settings.top_k == 8
    assert settings.llm_enabled


def test_extractive_without_key_or_base_url():
    assert not Settings.from_env({}, env_file=None).llm_enabled


def test_environment_wins_over_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("QDRANT_COLLECTION=from_file\nLLM_MODEL=file-model\n")
    settings = Settings.from_env({"QDRANT_COLLECTION": "from_env"}, env_file=str(env_file))
    assert settings.qdrant_collection == "from_env"
    assert settings.llm_model == "file-model"


def test_bad_number_names_the_setting():
    with pytest.raises(SettingsError, match="RETRIEVAL_TOP_K='five'"):
        Settings.from_env({"RETRIEVAL_TOP_K": "five"}, env_file=None)
