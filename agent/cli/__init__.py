"""The `interarec` commands, one module per command group, and the rendering of their results. Thin: parse,
build (through agent.wiring), call, render."""
