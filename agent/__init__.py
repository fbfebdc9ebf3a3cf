"""The composition root, the LangGraph pipeline and agent, and the `interarec` CLI."""
