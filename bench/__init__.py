"""Speed benchmark: raw httpx, litellm and the app's chat path against the provider fakes (`python -m bench.run`)."""
