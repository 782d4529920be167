"""Ask a provider, with the user's own credential, which models it offers: the cheapest authenticated call.

Each provider's list-models endpoint is read directly (litellm's `get_valid_models` hides every failure), so a
rejected key, a missing permission or an outage surfaces as a `ProviderError`, worded by core.providers.failures
for the call that listed (a key test, or a model listing).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from core.config import Settings
from core.errors import ProviderErrorKind
from core.providers.client import secrets_of
from core.providers.endpoints import validate_endpoint
from core.providers.failures import LISTING, Call, Failure, classify_response, classify_transport, explain
from core.providers.registry import ProviderSpec
from core.security.redaction import secrets_in_use

log = logging.getLogger(__name__)

LISTING_TIMEOUT_SECONDS = 10.0
MAX_PAGES = 20
ANTHROPIC_VERSION = "2023-06-01"
# Azure dropped the deployments list from newer data-plane versions; this one still has it.
AZURE_DEPLOYMENTS_API_VERSION = "2022-12-01"
# Model families that cannot hold a chat: embeddings, speech, images, moderation, legacy completions.
NOT_CHAT = re.compile(
    r"embed|whisper|tts|transcribe|dall-e|image|sora|moderation|davinci|babbage|realtime|audio|search-api|aqa",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DiscoveredModel:
    """A model as the provider lists it; `label` and `context_window` only when the provider says."""

    id: str
    label: str = ""
    context_window: int | None = None


def is_chat_model(model_id: str) -> bool:
    return not NOT_CHAT.search(model_id)


@dataclass(frozen=True)
class _Page:
    models: list[DiscoveredModel]
    next_cursor: str | None


@dataclass(frozen=True)
class _Dialect:
    """How one provider family lists its models: where to ask, how to sign, how to read a page."""

    path: str
    headers: Callable[[Mapping[str, str]], dict[str, str]]
    params: Callable[[Mapping[str, str], str | None], dict[str, str]]
    read: Callable[[Any], _Page]


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _read_openai(body: Any) -> _Page:
    items = body.get("data", []) if isinstance(body, dict) else []
    # vLLM says each model's context window (`max_model_len`); OpenAI and the others say none.
    models = [
        DiscoveredModel(str(item["id"]), "", _positive(item.get("max_model_len")))
        for item in items
        if isinstance(item, dict) and "id" in item
    ]
    return _Page(models, None)


def _read_anthropic(body: Any) -> _Page:
    items = body.get("data", []) if isinstance(body, dict) else []
    models = [
        DiscoveredModel(str(item["id"]), str(item.get("display_name") or ""))
        for item in items
        if isinstance(item, dict) and "id" in item
    ]
    return _Page(models, str(body.get("last_id")) if body.get("has_more") and body.get("last_id") else None)


def _read_gemini(body: Any) -> _Page:
    items = body.get("models", []) if isinstance(body, dict) else []
    models = [
        DiscoveredModel(
            str(item["name"]).removeprefix("models/"),
            str(item.get("displayName") or ""),
            item.get("inputTokenLimit") if isinstance(item.get("inputTokenLimit"), int) else None,
        )
        for item in items
        if isinstance(item, dict) and "name" in item and "generateContent" in item.get("supportedGenerationMethods", [])
    ]
    return _Page(models, body.get("nextPageToken") or None)


DIALECTS: dict[str, _Dialect] = {
    "openai": _Dialect(
        "/models", lambda v: {"Authorization": f"Bearer {v['api_key']}"}, lambda v, cursor: {}, _read_openai
    ),
    "anthropic": _Dialect(
        "/v1/models",
        lambda v: {"x-api-key": v["api_key"], "anthropic-version": ANTHROPIC_VERSION},
        lambda v, cursor: {"limit": "1000"} | ({"after_id": cursor} if cursor else {}),
        _read_anthropic,
    ),
    "gemini": _Dialect(
        "/models",
        lambda v: {"x-goog-api-key": v["api_key"]},
        lambda v, cursor: {"pageSize": "1000"} | ({"pageToken": cursor} if cursor else {}),
        _read_gemini,
    ),
    # The models the resource can deploy: the cheapest call that proves an Azure key and endpoint.
    "azure": _Dialect(
        "/openai/models",
        lambda v: {"api-key": v["api_key"]},
        lambda v, cursor: {"api-version": v["api_version"]},
        _read_openai,
    ),
    "azure-deployments": _Dialect(
        "/openai/deployments",
        lambda v: {"api-key": v["api_key"]},
        lambda v, cursor: {"api-version": AZURE_DEPLOYMENTS_API_VERSION},
        _read_openai,
    ),
}


def _base(spec: ProviderSpec, values: Mapping[str, str], settings: Settings) -> str:
    """The API root: the user's validated endpoint (Azure), else the deployment's setting, else the provider's."""
    endpoint_field = next((f for f in spec.fields if f.is_endpoint), None)
    if endpoint_field is not None:
        return validate_endpoint(values.get(endpoint_field.name, ""), settings.allow_endpoints).rstrip("/")
    return (settings.provider_base(spec.base_url_variable) or spec.api_base).rstrip("/")


@dataclass(frozen=True)
class _Request:
    """One listing: whose, where, how long to wait, and for which call (a key test or a model listing)."""

    spec: ProviderSpec
    dialect: _Dialect
    url: str
    timeout: float
    call: Call


def _pages(request: _Request, values: Mapping[str, str]) -> Iterator[_Page]:
    spec, dialect, call = request.spec, request.dialect, request.call
    cursor: str | None = None
    with httpx.Client(timeout=request.timeout, follow_redirects=False) as client:
        for _ in range(MAX_PAGES):
            try:
                response = client.get(
                    request.url, headers=dialect.headers(values), params=dialect.params(values, cursor)
                )
            except httpx.HTTPError as error:
                log.info("model listing got no answer: provider=%s error=%s", spec.id, type(error).__name__)
                raise explain(classify_transport(error), spec, call) from None
            if response.status_code != 200:
                raise explain(classify_response(response), spec, call)
            try:
                page = dialect.read(response.json())
            except ValueError:
                log.info("model listing unreadable: provider=%s", spec.id)
                raise explain(Failure(ProviderErrorKind.PROVIDER_DOWN), spec, call) from None
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor


def list_models(
    spec: ProviderSpec,
    values: Mapping[str, str],
    settings: Settings,
    dialect: str | None = None,
    call: Call = LISTING,
) -> list[DiscoveredModel]:
    """Every model the credential can see, in the provider's order; ProviderError (worded for `call`) if refused."""
    name = dialect or spec.listing
    if name is None:
        raise ValueError(f"{spec.label} has no model list")
    chosen = DIALECTS[name]
    request = _Request(
        spec=spec,
        dialect=chosen,
        url=_base(spec, values, settings) + chosen.path,
        timeout=min(settings.request_timeout, LISTING_TIMEOUT_SECONDS),
        call=call,
    )
    with secrets_in_use(secrets_of(spec, values)):
        return [model for page in _pages(request, values) for model in page.models]


def list_chat_models(
    spec: ProviderSpec, values: Mapping[str, str], settings: Settings, call: Call = LISTING
) -> list[DiscoveredModel]:
    """The models a chat can use: embeddings, speech, image and moderation models left out."""
    return [model for model in list_models(spec, values, settings, call=call) if is_chat_model(model.id)]
