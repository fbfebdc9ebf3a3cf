"""What every `interarec` command shares: exit codes, the usage error, common options, settings from flags."""

from __future__ import annotations

import argparse

from agent.settings import Settings, load_settings

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class UsageError(ValueError):
    """Bad command-line input."""


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="where the catalog store and screenshots live")
    common.add_argument("--chroma-url", help="use the Chroma server at this URL (e.g. http://127.0.0.1:8000) "
                                             "instead of the embedded catalog store")
    common.add_argument("--checkpoint-url", help="keep chat memory in this PostgreSQL database (e.g. "
                                                 "postgresql://user:password@host:5432/db; prefer "
                                                 "INTERAREC_CHECKPOINT_URL) instead of DATA_DIR/chat.sqlite")
    common.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    return common


def browser_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--headed", action="store_true", help="show the browser window")
    options.add_argument("--rate", dest="capture_rate_hz", type=float,
                         help="interval screenshots per second while dwelling (default 2)")
    options.add_argument("--retention", dest="retention_days", type=float,
                         help="delete sessions older than this many days first")
    return options


def model_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--k", type=int, help="how many products to recommend (default 5)")
    options.add_argument("--openai-base-url", help="OpenAI-compatible endpoint (default: offline)")
    options.add_argument("--openai-api-key", help="its key (prefer INTERAREC_OPENAI_API_KEY)")
    options.add_argument("--vision-model", help="vision model for the MLLM summariser")
    options.add_argument("--chat-model", help="chat model (used by the chat agent)")
    return options


_FLAG_SETTINGS = ("data_dir", "chroma_url", "checkpoint_url", "k", "openai_base_url", "openai_api_key",
                  "vision_model", "chat_model", "capture_rate_hz", "retention_days")


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings with the flags this command was given (flags not given fall back to env, file, default)."""
    flags = {name: getattr(args, name, None) for name in _FLAG_SETTINGS}
    if getattr(args, "headed", False):
        flags["headless"] = False
    return load_settings(**flags)
