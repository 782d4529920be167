"""Speed benchmark: every row beside its floor, one table (`python -m bench.run`; bench/README.md)."""
