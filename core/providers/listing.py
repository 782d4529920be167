"""Ask a provider, with the user's own credential, which models it offers: the cheapest authenticated call.

Each provider's list-models endpoint is read directly (litellm's `get_valid_models` hides every failure), so a
rejected key, a missing permission or an outage surfaces as a `ProviderError` the caller can explain.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from core.config import Settings
from core.errors import ProviderError, ProviderErrorKind
from core.providers.endpoints import validate_endpoint
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


def _read_openai(body: Any) -> _Page:
    items = body.get("data", []) if isinstance(body, dict) else []
    return _Page([DiscoveredModel(str(item["id"])) for item in items if isinstance(item, dict) and "id" in item], None)


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
    return (settings.provider_base(spec.id) or spec.api_base).rstrip("/")


def _status_error(spec: ProviderSpec, response: httpx.Response) -> ProviderError:
    """A user-safe error for a refused listing call; the provider's text is never passed on."""
    status, label = response.status_code, spec.label
    text = response.text[:2000].lower()
    if status == 401 or (status == 400 and ("api key" in text or "api_key_invalid" in text)):
        return ProviderError(ProviderErrorKind.REJECTED_KEY, f"{label} rejected this key: it is wrong or was revoked.")
    if status in {402, 403}:
        return ProviderError(
            ProviderErrorKind.NO_ACCESS,
            f"{label} accepted the key but refused access (HTTP {status}): check its permissions, billing or credit.",
        )
    if status == 429:
        return ProviderError(
            ProviderErrorKind.RATE_LIMITED,
            f"{label} is rate limiting this key or its quota is used up: check the plan's limits and credit.",
        )
    if status == 404 and any(f.is_endpoint for f in spec.fields):
        return ProviderError(
            ProviderErrorKind.NOT_FOUND, f"No {label} resource answered at this endpoint: check the endpoint URL."
        )
    if 300 <= status < 400:
        return ProviderError(
            ProviderErrorKind.PROVIDER_DOWN, f"{label} answered with a redirect (HTTP {status}), which is not followed."
        )
    if status >= 500:
        return ProviderError(ProviderErrorKind.PROVIDER_DOWN, f"{label} is having problems (HTTP {status}).")
    return ProviderError(ProviderErrorKind.BAD_REQUEST, f"{label} refused the request (HTTP {status}).")


def _network_error(spec: ProviderSpec, error: httpx.HTTPError) -> ProviderError:
    if isinstance(error, httpx.TimeoutException):
        return ProviderError(ProviderErrorKind.TIMEOUT, f"{spec.label} did not answer in time.")
    return ProviderError(ProviderErrorKind.UNREACHABLE, f"Could not reach {spec.label}: check the server's network.")


def _pages(
    spec: ProviderSpec, dialect: _Dialect, values: Mapping[str, str], settings: Settings, timeout: float
) -> Iterator[_Page]:
    url = _base(spec, values, settings) + dialect.path
    cursor: str | None = None
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_PAGES):
            try:
                response = client.get(url, headers=dialect.headers(values), params=dialect.params(values, cursor))
            except httpx.HTTPError as error:
                log.info("model listing failed: provider=%s error=%s", spec.id, type(error).__name__)
                raise _network_error(spec, error) from None
            if response.status_code != 200:
                log.info("model listing refused: provider=%s status=%s", spec.id, response.status_code)
                raise _status_error(spec, response)
            try:
                page = dialect.read(response.json())
            except ValueError:
                raise ProviderError(
                    ProviderErrorKind.PROVIDER_DOWN, f"{spec.label} sent a model list the app cannot read."
                ) from None
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor


def list_models(
    spec: ProviderSpec,
    values: Mapping[str, str],
    settings: Settings,
    dialect: str | None = None,
) -> list[DiscoveredModel]:
    """Every model the credential can see, in the provider's order; ProviderError when the provider refuses."""
    timeout = min(settings.request_timeout, LISTING_TIMEOUT_SECONDS)
    name = dialect or spec.listing
    if name is None:
        raise ValueError(f"{spec.label} has no model list")
    secrets = tuple(values[f.name] for f in spec.fields if f.secret and values.get(f.name))
    with secrets_in_use(secrets):
        return [model for page in _pages(spec, DIALECTS[name], values, settings, timeout) for model in page.models]


def list_chat_models(spec: ProviderSpec, values: Mapping[str, str], settings: Settings) -> list[DiscoveredModel]:
    """The models a chat can use: embeddings, speech, image and moderation models left out."""
    return [model for model in list_models(spec, values, settings) if is_chat_model(model.id)]
