"""`interarec serve` and `interarec worker` fail in one clear line (exit 2) when they cannot start."""

from __future__ import annotations

import pytest

from agent.cli.main import main
from tests.conftest import free_port


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_redis_not_reachable_is_one_line_and_exit_2(command, monkeypatch, capsys):
    monkeypatch.setenv("INTERAREC_SERVICE_KEYS", "shop-a=key-of-shop-a-0123456789")
    url = f"redis://user:s3cret-word@127.0.0.1:{free_port()}/0"  # nothing listens there
    assert main([command, "--redis-url", url]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Redis is not reachable" in err and "s3cret-word" not in err


def test_serve_without_api_keys_says_how_to_give_them(capsys):
    assert main(["serve"]) == 2
    assert "INTERAREC_SERVICE_KEYS" in capsys.readouterr().err


def test_help_lists_both_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "serve" in out and "worker" in out
