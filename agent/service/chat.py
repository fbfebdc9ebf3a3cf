"""The chat turn of `POST /v1/shoppers/{id}/messages`, run by a worker (which has the catalog open): the chat
agent of agent/chat, on the shopper's own checkpoint thread, reading the shopper's frames. Nothing of the chat
logic lives here; this only opens the graph once per worker and feeds it one message."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from agent.service import queue
from agent.settings import Settings

MAX_MESSAGE_CHARS = 2000


class ChatRunner:
    """One chat graph per worker, over the runtime the worker built, with a checkpointer of its own."""

    def __init__(self, settings: Settings, runtime) -> None:
        from agent.chat.graph import build_chat_graph
        from agent.chat.tools import ChatContext
        from agent.checkpointer import open_checkpointer
        from agent.wiring import build_chat_model, chat_backend_name

        self.settings = settings
        self.checkpointer = open_checkpointer(settings)
        runtime.backends.chat_model = chat_backend_name(settings)
        self.ctx = ChatContext(runtime)
        self.graph = build_chat_graph(self.ctx, build_chat_model(settings), self.checkpointer)

    def turn(self, thread: str, session_id: str, text: str) -> dict[str, Any]:
        from agent.chat.session import ChatSession

        chat = ChatSession(self.graph, thread, self.settings.chat_max_steps)
        if chat.turns_so_far() == 0:
            chat.seed(session_id=session_id)  # "recommend" reads the screenshots this shopper's browser posted
        turn = asdict(chat.ask(text))
        turn.pop("thread")
        return turn

    def close(self) -> None:
        from agent.checkpointer import close_checkpointer

        self.ctx.close()
        close_checkpointer(self.checkpointer)


async def chat_turn(ctx: dict[str, Any], shop: str, shopper: str, text: str) -> dict[str, Any]:
    """The arq job of one chat message; under the shopper's lock, so turns and frames of a shopper never overlap."""
    owner = ctx["store"].shopper(shop, shopper)
    if owner is None:
        return {"error": "erased"}
    redis, config = ctx["redis"], ctx["config"]
    async with queue.shopper_lock(redis, shop, shopper, config.claim_s, config.lock_retry_s):
        if "chat" not in ctx:
            ctx["chat"] = await asyncio.to_thread(ChatRunner, ctx["settings"], ctx["runtime"])
        return await asyncio.to_thread(ctx["chat"].turn, queue.chat_thread_id(shop, shopper), owner.session_id,
                                       text)
