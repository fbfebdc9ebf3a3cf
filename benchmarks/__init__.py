"""On-demand benchmarks: each prints a table and writes JSON; none runs in the test suite."""
