"""Model endpoints seen from outside the client: a local llama.cpp server to run, and what an endpoint can do."""
