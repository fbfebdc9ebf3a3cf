"""The OpenAI-compatible multimodal summariser: request and response wire format, and its on-disk cache."""
