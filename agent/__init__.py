"""The composition root (settings, wiring), the browse-and-recommend pipeline, live mode, the report, and the
chat/, mllm/ and cli/ subpackages. The only place that builds clients and reads the environment; may import
shop, tools, catalog and prompts, never evals or benchmarks."""
