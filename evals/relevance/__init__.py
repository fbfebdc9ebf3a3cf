"""The chat relevance eval: multi-turn shopping conversations from the real catalogs, each turn scored on the
list the chat shows (docs/chat-relevance.md). ``python -m evals.relevance --split dev|test|all``."""
