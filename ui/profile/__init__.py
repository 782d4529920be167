"""The Profile page's parts; pages/profile.py draws one card per provider, then New chat defaults, API tokens,
then the account section.

- card.py: a provider card's body (state, form, Test again / Replace / Delete, the how-to).
- status.py: what a card says about its saved key (the title's verdict, the line on its health and use).
- actions.py: the card's callbacks (save, test, delete, modes), so a typed secret leaves session state at once.
- deployments.py: the deployment list on a deployments provider's card (Azure), each name tried first.
- defaults.py: New chat defaults (system prompt, temperature, max output tokens), the fields of a chat's settings.
- tokens.py: API tokens for the HTTP API: create (shown once, until "I have copied it" or the page is left), list
  masked, revoke.
- account.py: change password, where you are signed in, end those sessions.
"""
