"""The real server failing under a request, through a proxy that stops forwarding (a stalled server) or drops the
connection and stops listening (a server killed mid-request): the summariser falls back to the offline screen
reader with the reason, a chat turn falls back to the local rules model or says what failed, each within the
request timeout (and the client's retries), and nothing is lost: the screenshots stay, the chat thread resumes
with every message it had."""

from __future__ import annotations

import json
import time

import pytest

from tests.real_model.conftest import names_local_model, run_cli
from tests.real_model.proxy import FaultyProxy
from tools.capture.frames import FrameStore

TIMEOUT_S = 2.0
# The openai client makes up to 4 attempts per request (3 retries, their backoff under 10 s in all): about 20 s
# for a request that never answers. A hang would outlast this bound by far; it is a bound, not a speed target.
BOUND_S = 60.0


def _frames(data_dir, session_id) -> list[str]:
    store = FrameStore(data_dir / "frames")
    try:
        return [f.frame_id for f in store.frames(session_id)]
    finally:
        store.close()


@pytest.mark.parametrize("mode", ["stall", "die"])
def test_the_summariser_falls_back_to_the_offline_reader(mode, endpoint, captured, data_dir, use):
    before = _frames(data_dir, captured["session_id"])
    with FaultyProxy(endpoint.url, mode) as proxy:
        use({**endpoint.env(), "INTERAREC_OPENAI_BASE_URL": proxy.url, "INTERAREC_REQUEST_TIMEOUT_S": str(TIMEOUT_S)})
        started = time.monotonic()
        code, out = run_cli(["summarize", captured["session_id"], "--json"])
        seconds = time.monotonic() - started
    assert proxy.failed.is_set()  # the request did reach the proxy and was stalled or dropped
    assert code == 0, out
    summary = json.loads(out)["summary"]
    assert "(fallback; the MLLM failed: " in summary["summariser"], summary["summariser"]
    reason = summary["summariser"].lower()
    assert ("timed out" in reason or "timeout" in reason) if mode == "stall" else ("connect" in reason), reason
    assert summary["frames_read"] >= 1  # the offline reader did read the screenshots
    assert seconds < BOUND_S, f"took {seconds:.0f} s with a {TIMEOUT_S} s request timeout"
    assert _frames(data_dir, captured["session_id"]) == before  # nothing lost


@pytest.mark.parametrize("mode", ["stall", "die"])
def test_a_chat_turn_falls_back_or_says_what_failed_and_the_thread_resumes(mode, endpoint, use, tmp_path):
    thread = f"faults-{mode}"
    messages = ["watches for men under 2000 rupees", "show me 3"]
    with FaultyProxy(endpoint.url, mode) as proxy:
        use({**endpoint.env(), "INTERAREC_OPENAI_BASE_URL": proxy.url, "INTERAREC_REQUEST_TIMEOUT_S": str(TIMEOUT_S)})
        started = time.monotonic()
        code, out = run_cli(["chat", "--session", thread], stdin="\n".join(messages) + "\n")
        seconds = time.monotonic() - started
    assert proxy.failed.is_set()
    assert code == 0, out
    assert "Traceback" not in out
    for text in messages:
        assert f"you> {text}" in out
    # Each turn either fell back to the local rules model (which says so) or says what failed, naming the endpoint.
    answers = out.split("you> ")[1:]
    for answer in answers:
        assert names_local_model(answer) or ("[chat model error]" in answer and proxy.url.split("/v1")[0] in answer), \
            answer
    assert seconds < 2 * BOUND_S, f"took {seconds:.0f} s with a {TIMEOUT_S} s request timeout"

    # Nothing lost: the thread resumes offline, and its next turn is the third, after both messages above.
    use({"INTERAREC_OPENAI_BASE_URL": "", "INTERAREC_VISION_MODEL": "", "INTERAREC_CHAT_MODEL": ""})
    transcript = tmp_path / "resumed.jsonl"
    code, out = run_cli(["chat", "--session", thread, "--transcript", str(transcript)], stdin="cheaper\n")
    assert code == 0, out
    resumed = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    assert [t["turn"] for t in resumed] == [len(messages) + 1]
