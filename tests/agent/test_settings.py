"""Settings precedence (flag > env > config file > default) and the errors a user sees for bad values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.settings import DEFAULT_DATA_DIR, SettingsError, load_settings


@pytest.fixture
def config(monkeypatch, tmp_path):
    """Write a TOML config file and point INTERAREC_CONFIG at it."""

    def write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("INTERAREC_CONFIG", str(path))
        return path

    return write


def test_defaults(monkeypatch):
    monkeypatch.delenv("INTERAREC_DATA_DIR")
    settings = load_settings()
    assert settings.k == 5
    assert settings.data_dir == DEFAULT_DATA_DIR
    assert settings.headless is True
    assert settings.uses_endpoint is False


def test_config_file_overrides_default(monkeypatch, config, tmp_path):
    monkeypatch.delenv("INTERAREC_DATA_DIR")
    config(f'k = 7\ndata_dir = "{tmp_path / "from-config"}"\nheadless = false\n')
    settings = load_settings()
    assert settings.k == 7
    assert settings.data_dir == tmp_path / "from-config"
    assert settings.headless is False


def test_env_overrides_config_file(monkeypatch, config, tmp_path):
    config(f'k = 7\ndata_dir = "{tmp_path / "from-config"}"\n')
    monkeypatch.setenv("INTERAREC_K", "9")
    monkeypatch.setenv("INTERAREC_DATA_DIR", str(tmp_path / "from-env"))
    settings = load_settings()
    assert settings.k == 9
    assert settings.data_dir == tmp_path / "from-env"


def test_flag_overrides_env_and_config(monkeypatch, config, tmp_path):
    config(f'k = 7\ndata_dir = "{tmp_path / "from-config"}"\n')
    monkeypatch.setenv("INTERAREC_K", "9")
    monkeypatch.setenv("INTERAREC_DATA_DIR", str(tmp_path / "from-env"))
    settings = load_settings(k=11, data_dir=str(tmp_path / "from-flag"))
    assert settings.k == 11
    assert settings.data_dir == tmp_path / "from-flag"


def test_flag_given_as_none_means_not_given(monkeypatch, config):
    config("k = 7\n")
    monkeypatch.setenv("INTERAREC_K", "9")
    assert load_settings(k=None, data_dir=None).k == 9
    monkeypatch.delenv("INTERAREC_K")
    assert load_settings(k=None).k == 7


def test_missing_config_file_is_fine():
    # conftest points INTERAREC_CONFIG at a file that does not exist
    assert not Path(os.environ["INTERAREC_CONFIG"]).exists()
    assert load_settings().k == 5


@pytest.mark.parametrize(
    ("env", "value", "variable", "flag"),
    [
        ("INTERAREC_K", "0", "INTERAREC_K", "--k"),
        ("INTERAREC_K", "many", "INTERAREC_K", "--k"),
        ("INTERAREC_VIEWPORT_WIDTH", "100", "INTERAREC_VIEWPORT_WIDTH", "viewport_width = ..."),
        ("INTERAREC_OPENAI_BASE_URL", "localhost:8000", "INTERAREC_OPENAI_BASE_URL", "--openai-base-url"),
    ],
)
def test_invalid_env_value_names_variable_and_flag(monkeypatch, env, value, variable, flag):
    """Settings with a CLI flag name it; the others name the config-file key instead of a flag that
    does not exist."""
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    message = str(excinfo.value)
    assert variable in message
    assert flag in message


def test_invalid_flag_value_names_variable_and_flag():
    with pytest.raises(SettingsError) as excinfo:
        load_settings(k=51)
    assert "INTERAREC_K" in str(excinfo.value) and "--k" in str(excinfo.value)


def test_invalid_config_value_is_a_settings_error(config):
    config("k = 0\n")
    with pytest.raises(SettingsError, match="INTERAREC_K"):
        load_settings()


def test_malformed_config_file_is_a_settings_error_naming_the_file(config):
    path = config("k = = 3\n")
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    assert str(path) in str(excinfo.value)
    assert "INTERAREC_CONFIG" in str(excinfo.value)


def test_endpoint_without_model_names_the_missing_variable(monkeypatch):
    monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("INTERAREC_OPENAI_API_KEY", "local")
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    message = str(excinfo.value)
    assert "INTERAREC_VISION_MODEL" in message and "INTERAREC_CHAT_MODEL" in message


def test_endpoint_without_key_names_the_missing_variable(monkeypatch):
    monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("INTERAREC_VISION_MODEL", "some-vlm")
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    assert "INTERAREC_OPENAI_API_KEY" in str(excinfo.value)


def test_complete_endpoint_settings_load(monkeypatch):
    monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("INTERAREC_OPENAI_API_KEY", "local")
    monkeypatch.setenv("INTERAREC_CHAT_MODEL", "some-llm")
    settings = load_settings()
    assert settings.uses_endpoint
    assert settings.chat_model == "some-llm"


def test_empty_base_url_means_offline(monkeypatch):
    monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", "")
    assert load_settings().uses_endpoint is False


def test_catalog_and_frames_paths_default_under_data_dir(tmp_path):
    settings = load_settings(data_dir=str(tmp_path / "data"))
    assert settings.catalog_path == tmp_path / "data" / "catalog"
    assert settings.frames_path == tmp_path / "data" / "frames"


def test_catalog_and_frames_dirs_can_be_set_separately(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERAREC_CATALOG_DIR", str(tmp_path / "chroma"))
    monkeypatch.setenv("INTERAREC_FRAMES_DIR", str(tmp_path / "shots"))
    settings = load_settings(data_dir=str(tmp_path / "data"))
    assert settings.catalog_path == tmp_path / "chroma"
    assert settings.frames_path == tmp_path / "shots"


def test_data_dir_from_env_is_used_for_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERAREC_DATA_DIR", str(tmp_path / "env-data"))
    assert load_settings().catalog_path == tmp_path / "env-data" / "catalog"


def test_settings_without_a_flag_do_not_suggest_one(monkeypatch):
    monkeypatch.setenv("INTERAREC_VIEWPORT_WIDTH", "100")
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    assert "--viewport-width" not in str(excinfo.value)


def test_unknown_config_key_is_named_with_the_file(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("kk = 3\n", encoding="utf-8")
    monkeypatch.setenv("INTERAREC_CONFIG", str(config))
    with pytest.raises(SettingsError, match=r"unknown setting 'kk'.*config.toml"):
        load_settings()
