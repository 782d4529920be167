"""Which models a user can pick: `target.py` (a `provider/model` reference resolved to the provider to call),
`catalog.py` (the `Catalog` service: each provider's models for a user — the guide's defaults, which live in
providers/registry.py, the admin's registry, Azure deployments and the live listing), `listings.py` (listings
cached per user and refreshed when due), `registry_file.py` (the admin's `models.toml`), `deployments.py` (Azure
deployment names, each tried with a one-token call first), `model_info.py` (litellm's context windows and prices)."""
