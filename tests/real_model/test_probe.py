"""The capability probe against the real server: `interarec models probe URL --json` reports every check of both
roles, and the verdicts follow from what the checks found (not from the server's name)."""

from __future__ import annotations

import json

from tests.real_model.conftest import run_cli

CHECKS = {"chat completion", "tool call (auto)", "tool call (forced)", "streaming", "structured output: json_schema",
          "structured output: json_object_schema", "structured output: none", "image input"}


def test_the_probe_reports_every_check_and_a_verdict_per_role(endpoint):
    code, out = run_cli(["models", "probe", endpoint.url, "--model", endpoint.model, "--api-key",
                         endpoint.api_key, "--timeout", str(endpoint.timeout_s), "--json"])
    assert code == 0, out
    report = json.loads(out)
    assert report["model"] == endpoint.model
    checks = {c["name"]: c for c in report["checks"]}
    assert set(checks) >= CHECKS, sorted(checks)
    plain = checks["chat completion"]
    assert plain["ok"] and plain["seconds"] > 0
    assert set(report["roles"]) == {"summariser", "chat"}
    # The summariser's mode is the first structured mode whose check passed, or none when none did.
    passed = [name.split(": ")[1] for name, c in checks.items() if name.startswith("structured output: ") and c["ok"]]
    if report["structured_mode"] is None:
        assert "offline screen reader" in report["roles"]["summariser"]
    else:
        assert report["structured_mode"] in passed
        assert report["structured_mode"] in report["roles"]["summariser"]
    # A model that refused the image part is sent page text alone.
    if checks["image input"]["ok"] is False:
        assert report["images"] is False and "page text alone" in report["roles"]["summariser"]
    if checks["tool call (auto)"]["ok"]:
        assert "drives the tools" in report["roles"]["chat"]
    else:
        assert "local rules model" in report["roles"]["chat"]


def test_the_probe_table_names_the_endpoint_and_each_check(endpoint):
    code, out = run_cli(["models", "probe", endpoint.url, "--model", endpoint.model, "--api-key",
                         endpoint.api_key, "--timeout", str(endpoint.timeout_s)])
    assert code == 0, out
    assert endpoint.url in out and endpoint.model in out
    for name in CHECKS:
        assert name in out
    assert "summariser: " in out and "chat: " in out
