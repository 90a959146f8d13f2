"""The benchmark harness: `python -m bench` (see bench/README or bench/RESULTS.md)."""
