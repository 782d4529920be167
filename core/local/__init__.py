"""Local models from Hugging Face: `access.py` asks the Hub, with the signed-in user's own read token, whether they
may download a model (gated ones included)."""
