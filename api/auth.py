"""Who is calling: the token comes from `Authorization: Bearer <token>` only (never a query string, `api-key` or
`x-api-key`), and is checked, counted and looked up afresh on every request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.accounts.tokens import TokenUser
from core.services import Services


def services_of(request: Request) -> Services:
    return request.app.state.services


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for any other header or none."""
    scheme, _, value = (header or "").strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def caller(request: Request) -> TokenUser:
    """The request's verified caller (a FastAPI dependency, run on a worker thread: it asks the database)."""
    return services_of(request).tokens.authenticate(bearer_token(request.headers.get("authorization")))


Caller = Annotated[TokenUser, Depends(caller)]
