"""Which models a user can pick: `target.py` (a `provider/model` reference resolved to the provider to call;
a team server's models are `server/<name>/<model-id>`), `catalog.py` (the `Catalog` service: each provider's
models for a user — the guide's defaults, which live in providers/registry.py, the admin's registry, Azure
deployments and the live listing — then the team's servers), `listings.py` (listings cached per user and refreshed
when due), `registry_file.py` (the admin's `models.toml`: models per provider, and the team's servers, each one a
provider entry `server/<name>`), `servers.py` (the servers in effect, and their listings, cached per server and
not per user), `deployments.py` (Azure deployment names, each tried with a one-token call first), `model_info.py`
(litellm's context windows and prices)."""
