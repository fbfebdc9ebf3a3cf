"""The chat agent: the LangGraph chat graph, its tools, intents, answers and the deterministic local chat model."""
