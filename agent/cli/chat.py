"""`interarec chat`: talk to the shopping agent in the terminal, or pipe a script of messages into it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from agent.checkpointer import close_checkpointer, open_checkpointer
from agent.cli import render
from agent.cli.common import EXIT_OK, browser_options, common_options, model_options, settings_from
from agent.wiring import build_chat_model, build_runtime, chat_backend_name

_QUIT = {"exit", "quit", "bye", ":q"}
# Free sentences the local chat model reads (tools/recommend/request.py); shown by `interarec chat --help`.
EXAMPLES = """\
examples of what to type (any order, several wishes in one message):
  black leather wallet for my dad, under 1500     type, colour, material, who it is for, budget
  brown and more premium                          refine: another colour, the upper price band of the type
  running shoes for men between 2000 and 4000     a price range ("around 2k", "not too expensive" work too)
  not Puma, rated 4+ / levis only / show me 3     brands out or in, rating, how many
  cheaper / more like #2 / why #1 / show #3       refine, explain or open a product on the list
  start over                                      forget what was said (back to what was browsed)
  browse as watch-buyer / recommend from session ID / help
piped: printf 'black leather wallet for my dad, under 1500\\nbrown and more premium\\n' | interarec chat
"""


def _messages(interactive: bool) -> Iterator[str]:
    """User messages: prompted on a terminal, one per line when piped."""
    if interactive:
        while True:
            try:
                yield render.stdout.input("[bold green]you>[/bold green] ")
            except EOFError:
                return
    else:
        for line in sys.stdin:
            yield line.rstrip("\n")


def _print_tool(name: str, args: dict) -> None:
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
    render.stderr.print(f"[dim]  -> {name}({shown})[/dim]", highlight=False)


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


class _StreamedAnswer:
    """Writes the answer as it streams; its prompt goes out with the first word, after any tool-call lines."""

    def __init__(self) -> None:
        self.begun = False

    def __call__(self, token: str) -> None:
        if not self.begun:
            self.begun = True
            _write("interarec> ")
        _write(token)


def cmd_chat(args: argparse.Namespace) -> int:
    import openai

    from agent.chat.graph import build_chat_graph
    from agent.chat.session import ChatError, ChatSession, new_thread_id
    from agent.chat.tools import ChatContext

    settings = settings_from(args)
    checkpointer = open_checkpointer(settings)  # first: a Postgres server that is down fails before any other work
    try:
        runtime = build_runtime(settings)
        # A chat searches again at every turn: filter in memory (about 1 s per 10,000 products to load, once).
        runtime.store.load_filter_index()
    except BaseException:
        close_checkpointer(checkpointer)
        raise
    runtime.backends.chat_model = chat_backend_name(settings)
    ctx = ChatContext(runtime)
    interactive = sys.stdin.isatty()
    thread = args.session or new_thread_id()
    try:
        graph = build_chat_graph(ctx, build_chat_model(settings), checkpointer)
        chat = ChatSession(graph, thread, settings.chat_max_steps,
                           Path(args.transcript) if args.transcript else None)
        earlier = chat.turns_so_far()
        if not earlier and args.session and any(s.session_id == args.session for s in runtime.frames.sessions()):
            chat.seed(session_id=args.session)  # "recommend" will read this capture session's screenshots
        render.stderr.print(f"chat model: {runtime.backends.chat_model}\nsummariser: {runtime.backends.summariser}\n"
                            f"session {thread}" + (f" (resumed after {earlier} turns)" if earlier else "")
                            + "; 'help' lists what I understand, 'exit' ends", highlight=False)
        for text in _messages(interactive):
            if text.strip().lower() in _QUIT:
                break
            if not text.strip():
                continue
            if not interactive:
                _write(f"you> {text}\n")
            try:
                chat.ask(text, on_token=_StreamedAnswer(), on_tool=_print_tool)
            except ChatError as exc:
                _write(f"\n[stopped] {exc}")
            except openai.OpenAIError as exc:  # the endpoint failed after the client's retries: say so, go on
                _write(f"\n[chat model error] {settings.chat_model} at {settings.openai_base_url}: {exc}")
            except ValueError as exc:  # an endpoint's answer that is no chat completion (bad JSON, no choices)
                if not (settings.uses_endpoint and settings.chat_model):
                    raise  # the local model's own mistake: a bug, not a fault to carry on from
                _write(f"\n[chat model error] {settings.chat_model} at {settings.openai_base_url} answered with "
                       f"something that is not a chat completion: {str(exc).splitlines()[0][:200]}")
            _write("\n\n")
    except KeyboardInterrupt:
        render.stderr.print(f"\ninterrupted; the conversation so far is saved: interarec chat --session {thread}")
        return 130
    finally:
        ctx.close()
        close_checkpointer(checkpointer)
        runtime.close()
    render.stderr.print(f"saved; resume with: interarec chat --session {thread}", highlight=False)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    chat = sub.add_parser("chat", parents=[common_options(), browser_options(), model_options()],
                          help="chat with the shopping agent (reads piped standard input too)",
                          description="Chat with the shopping agent in your own words.", epilog=EXAMPLES,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    chat.add_argument("--session", help="resume this chat, or start one on a captured session's screenshots")
    chat.add_argument("--transcript", help="append one JSON line per turn to this file")
    chat.set_defaults(func=cmd_chat)
