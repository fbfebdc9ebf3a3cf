"""Entry point for LangGraph Studio and `langgraph dev` (see langgraph.json): the chat agent on the settings
of the environment. The LangGraph server brings its own checkpointer, so none is attached here."""

from __future__ import annotations

from agent.chat.graph import build_chat_graph
from agent.chat.tools import ChatContext
from agent.settings import load_settings
from agent.wiring import build_chat_model, build_runtime


def make_graph():
    """Build the chat agent graph (the catalog is loaded once, when the server first asks for the graph)."""
    settings = load_settings()
    return build_chat_graph(ChatContext(build_runtime(settings)), build_chat_model(settings))
