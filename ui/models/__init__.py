"""The Models page's parts; pages/models.py draws one card per provider with them.

- table.py: a provider's models as one sortable table with single-row selection, a search box for long lists,
  and "Chat with …" under it.
- listing.py: what the card says about the provider's listing (when, failed, new, not offered, dropped).
- hub.py: the Hugging Face card's "Check access" form.
- servers.py: the team's servers, grouped after the providers: each one's status (up, or why not) and models.
"""
