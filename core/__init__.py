"""All of the app's logic, with no Streamlit in it. Packages, from the bottom up (imports only go down):

- `errors`, `config`, `paths`, `text`: the vocabulary, the settings (read in one place), the data folder, chat text
- `db/`: the engine and the tables; `security/`: the master key ring, log redaction
- `accounts/`: users, sign-in sessions, the sign-in throttle; `providers/`: the provider registry, how to call a
  provider, the one table of provider failures, list-models dialects, the Hub client
- `credentials/`: the encrypted key store, the key test on save, key rotation
- `local/`: local models (today: a user's Hugging Face access check)
- `models/`: model references, the catalog per user, listings, the admin's registry file, Azure deployments
- `chat/`: conversations, streamed replies, retries, pacing, turns, compare, export, the ChatService
- `services.py` builds every store and service once (the only module that wires domains); `cli.py` is
  `python -m core.cli`.
"""
