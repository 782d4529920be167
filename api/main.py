"""The HTTP API's app, `uvicorn api.main:app` (`make api`): the deployment's services are opened once per worker
process, in the lifespan, from the same settings as the Streamlit app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from api import errors
from api.routes import router
from core.config import load_settings
from core.errors import StartupError
from core.providers.client import warm_in_background
from core.security import redaction
from core.services import open_services

log = logging.getLogger(__name__)
# The loggers whose handlers get the redaction filter: uvicorn's access log prints every request line.
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    redaction.install(LOGGERS)
    try:
        services = await run_in_threadpool(open_services, load_settings())
    except StartupError as error:
        log.error("The API cannot start: %s", error)
        raise
    app.state.services = services
    warm_in_background()  # litellm's import takes seconds: not on the first request's time
    try:
        yield
    finally:
        services.engine.dispose()


def create_app() -> FastAPI:
    """The API, its services opened when it starts; every error answered in OpenAI's shape."""
    api = FastAPI(title="Chat dashboard API", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    errors.install(api)
    api.include_router(router)
    return api


app = create_app()
