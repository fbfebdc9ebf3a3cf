"""Product catalog: the Product model, the offline embedding function, the Chroma store and ingestion.

Nothing here imports an LLM client, HTTP server or LangGraph.
"""
