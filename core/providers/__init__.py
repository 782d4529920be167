"""The providers, as data: `registry.py` (one `ProviderSpec` per provider: fields, default models, base URL and
server-key variables, key shapes), `fields.py` (what users type into a credential's fields, checked),
`endpoints.py` (which Azure endpoints may be saved), `client.py` (how a provider is called: the one litellm
import, call arguments, no redirects), `failures.py` (turns any provider failure — a 401 included — into an
error kind and a message from the one table of wordings, `wording.py`), `listing.py` (each provider's list-models
call), `hub.py` (the Hugging Face Hub client)."""
