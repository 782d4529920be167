"""The OpenAI-compatible HTTP API (FastAPI), `make api`: `GET /v1/models` and `POST /v1/chat/completions`, each
request authenticated by a personal access token (core/accounts/tokens.py) and answered with that user's own
models and keys, through the same services the Streamlit pages call.

- `main.py`: the app; `core.services` are opened once per process, in its lifespan.
- `auth.py`: the one place a token is read from (`Authorization: Bearer`), and the caller it belongs to.
- `schemas.py`: what a chat completion request may hold (OpenAI's fields, checked strictly) and the body limit.
- `routes.py`: the two routes and the shapes of their answers.
- `streaming.py`: a streamed reply read on a thread of its own and sent as server-sent events.
- `errors.py`: every refusal in OpenAI's error shape, from one table of statuses (never FastAPI's own 422).
"""
