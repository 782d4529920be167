"""The provider fakes speak each real protocol well enough for the real litellm client.

No mocks: every call goes through ``litellm.completion`` over loopback HTTP. The
expected exception tables record what litellm 1.110 actually raises for each
provider, which is what the app's error handling has to map.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # must precede the litellm import, else it downloads

import litellm
from litellm.exceptions import MidStreamFallbackError

from tests.fakes.providers import (
    DEFAULT_KEYS,
    REDIRECT_PATH,
    REDIRECT_STATUS,
    FailureKind,
    FakeProviders,
    ProviderId,
)

AZURE_API_VERSION = "2024-10-21"
WRONG_KEY = "wrong-key-0000"


@dataclass(frozen=True)
class Case:
    """How the app calls one provider through litellm."""

    provider: ProviderId
    model: str
    extra: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("openai", "gpt-4o-mini"),
    Case("xai", "grok-2"),
    Case("anthropic", "claude-3-5-sonnet-latest"),
    Case("gemini", "gemini-1.5-flash"),
    Case("azure", "my-gpt4o", {"api_version": AZURE_API_VERSION}),
]
BY_PROVIDER = {case.provider: case for case in CASES}

# litellm maps xAI's real "400 Incorrect API key" to BadRequestError, not AuthenticationError.
WRONG_KEY_ERRORS: dict[str, type[Exception]] = {
    "openai": litellm.AuthenticationError,
    "xai": litellm.BadRequestError,
    "anthropic": litellm.AuthenticationError,
    "gemini": litellm.AuthenticationError,
    "azure": litellm.AuthenticationError,
}
# Gemini's stream is lazy: litellm sends the request, and so raises, only on the first next().
RAISES_ON_ITERATION = {"gemini"}
# (provider, injected failure) -> what a non-streaming call raises; "cut_stream" truncates the JSON body.
INJECTED_ERRORS: dict[tuple[ProviderId, FailureKind], type[Exception]] = {
    **{(p, "rate_limit"): litellm.RateLimitError for p in BY_PROVIDER},
    ("openai", "server_error"): litellm.InternalServerError,
    ("xai", "server_error"): litellm.InternalServerError,
    ("anthropic", "server_error"): litellm.InternalServerError,
    ("gemini", "server_error"): litellm.InternalServerError,
    ("azure", "server_error"): litellm.APIError,
    ("openai", "forbidden"): litellm.APIError,
    ("xai", "forbidden"): litellm.APIError,
    ("anthropic", "forbidden"): litellm.PermissionDeniedError,
    ("gemini", "forbidden"): litellm.BadRequestError,
    ("azure", "forbidden"): litellm.APIError,
    ("openai", "cut_stream"): litellm.InternalServerError,
    ("xai", "cut_stream"): litellm.InternalServerError,
    ("anthropic", "cut_stream"): litellm.InternalServerError,
    ("gemini", "cut_stream"): litellm.APIConnectionError,
    ("azure", "cut_stream"): litellm.APIConnectionError,
    **{(p, "not_found"): litellm.NotFoundError for p in BY_PROVIDER},
}

by_provider = pytest.mark.parametrize("case", CASES, ids=lambda case: case.provider)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(fake: FakeProviders) -> None:
    fake.reset()


def complete(
    fake: FakeProviders,
    case: Case,
    *,
    key: str | None = None,
    model: str | None = None,
    stream: bool = False,
    timeout: float = 5,
) -> Any:
    """One chat turn the way the app makes it: explicit key, base, timeout, no SDK retries."""
    return litellm.completion(
        model=f"{case.provider}/{model or case.model}",
        messages=[{"role": "user", "content": "Say hello."}],
        api_key=key or DEFAULT_KEYS[case.provider],
        api_base=fake.base(case.provider),
        timeout=timeout,
        stream=stream,
        max_tokens=64,
        max_retries=0,
        **case.extra,
    )


def texts(chunks: Iterable[Any]) -> Iterator[str]:
    for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


def stream_error(fake: FakeProviders, case: Case, **kwargs: Any) -> tuple[str, Exception]:
    """Where (``call`` or ``iteration``) a streaming call fails, and with what."""
    try:
        chunks = complete(fake, case, stream=True, **kwargs)
    except Exception as error:
        return "call", error
    try:
        list(chunks)
    except Exception as error:
        return "iteration", error
    raise AssertionError("the stream completed without an error")


@by_provider
def test_completion_returns_fake_text_and_usage(fake: FakeProviders, case: Case) -> None:
    response = complete(fake, case)

    assert response.choices[0].message.content == fake.reply_text(case.provider, case.model)
    assert response.usage.prompt_tokens > 0
    assert response.usage.completion_tokens > 0
    [request] = fake.requests
    assert (request.provider, request.key, request.model) == (case.provider, DEFAULT_KEYS[case.provider], case.model)


@by_provider
def test_stream_concatenates_to_fake_text(fake: FakeProviders, case: Case) -> None:
    pieces = list(texts(complete(fake, case, stream=True)))

    assert "".join(pieces) == fake.reply_text(case.provider, case.model)
    assert len(pieces) == fake.chunks
    [request] = fake.requests
    assert (request.key, request.model) == (DEFAULT_KEYS[case.provider], case.model)


def test_custom_reply_is_used_everywhere(fake: FakeProviders) -> None:
    fake.reply = "Custom answer."

    assert complete(fake, BY_PROVIDER["gemini"]).choices[0].message.content == "Custom answer."
    assert "".join(texts(complete(fake, BY_PROVIDER["anthropic"], stream=True))) == "Custom answer."


@by_provider
def test_wrong_key_raises_the_providers_auth_error(fake: FakeProviders, case: Case) -> None:
    expected = WRONG_KEY_ERRORS[case.provider]
    with pytest.raises(expected):
        complete(fake, case, key=WRONG_KEY)

    phase, error = stream_error(fake, case, key=WRONG_KEY)
    assert type(error) is expected
    assert phase == ("iteration" if case.provider in RAISES_ON_ITERATION else "call")
    assert {request.key for request in fake.requests} == {WRONG_KEY}


@by_provider
def test_unknown_model_raises_not_found(fake: FakeProviders, case: Case) -> None:
    with pytest.raises(litellm.NotFoundError):
        complete(fake, case, model="no-such-model")

    _, error = stream_error(fake, case, model="no-such-model")
    assert type(error) is litellm.NotFoundError
    assert fake.requests[-1].model == "no-such-model"


@pytest.mark.parametrize(("provider", "kind"), list(INJECTED_ERRORS))
def test_injected_failure_maps_to_litellm_class(fake: FakeProviders, provider: ProviderId, kind: FailureKind) -> None:
    case = BY_PROVIDER[provider]
    fake.fail(provider, kind)
    with pytest.raises(openai.APIError) as caught:  # every litellm exception derives from it
        complete(fake, case)

    assert type(caught.value) is INJECTED_ERRORS[provider, kind]
    assert len(fake.requests) == 1, "max_retries=0 must mean a single attempt"
    if kind == "rate_limit":
        assert caught.value.litellm_response_headers["retry-after"] == "2"
    assert complete(fake, case).choices[0].message.content, "a times=1 failure affects one request only"


@by_provider
def test_rate_limit_while_streaming(fake: FakeProviders, case: Case) -> None:
    fake.fail(case.provider, "rate_limit")

    phase, error = stream_error(fake, case)

    if case.provider in RAISES_ON_ITERATION:
        # Gemini's 429 arrives on the first next() and is wrapped as a fallback-worthy stream failure.
        assert (phase, type(error)) == ("iteration", MidStreamFallbackError)
        assert isinstance(error, MidStreamFallbackError)
        assert type(error.original_exception) is litellm.RateLimitError
        assert (error.generated_content, error.is_pre_first_chunk) == ("", True)
    else:
        assert (phase, type(error)) == ("call", litellm.RateLimitError)


@by_provider
def test_cut_stream_raises_mid_stream_with_partial_text(fake: FakeProviders, case: Case) -> None:
    fake.fail(case.provider, "cut_stream")
    received: list[str] = []

    with pytest.raises(MidStreamFallbackError) as caught:
        for piece in texts(complete(fake, case, stream=True)):
            received.append(piece)

    error = caught.value
    full = fake.reply_text(case.provider, case.model)
    assert type(error.original_exception) is litellm.APIConnectionError
    assert error.generated_content == "".join(received)
    assert 0 < len(error.generated_content) < len(full)
    assert full.startswith(error.generated_content)


@by_provider
def test_hang_raises_timeout(fake: FakeProviders, case: Case) -> None:
    fake.fail(case.provider, "hang")
    started = time.monotonic()

    with pytest.raises(litellm.Timeout):
        complete(fake, case, timeout=1)

    assert time.monotonic() - started < 3


def test_anthropic_without_max_tokens_sends_litellm_default(fake: FakeProviders) -> None:
    """Without max_tokens litellm, unable to size claude-3-5-* (gone from its cost map), asks for 128000."""
    case = BY_PROVIDER["anthropic"]
    litellm.completion(
        model=f"anthropic/{case.model}",
        messages=[{"role": "user", "content": "Hi"}],
        api_key=DEFAULT_KEYS["anthropic"],
        api_base=fake.base("anthropic"),
        timeout=5,
    )

    assert fake.requests[-1].body["max_tokens"] == 128_000


def list_models(fake: FakeProviders, provider: ProviderId, key: str) -> httpx.Response:
    """GET the provider's model (for Azure: deployment) listing the way its own SDK would."""
    requests: dict[ProviderId, tuple[str, dict[str, str]]] = {
        "openai": (fake.base("openai") + "/models", {"Authorization": f"Bearer {key}"}),
        "xai": (fake.base("xai") + "/models", {"Authorization": f"Bearer {key}"}),
        "anthropic": (fake.base("anthropic") + "/v1/models", {"x-api-key": key, "anthropic-version": "2023-06-01"}),
        "gemini": (fake.base("gemini") + "/models", {"x-goog-api-key": key}),
        "azure": (f"{fake.url}/openai/deployments?api-version={AZURE_API_VERSION}", {"api-key": key}),
    }
    url, headers = requests[provider]
    return httpx.get(url, headers=headers, timeout=5)


def listed_ids(body: dict[str, Any]) -> list[str]:
    if "models" in body:  # Gemini
        return [model["name"].removeprefix("models/") for model in body["models"]]
    return [model["id"] for model in body["data"]]


@by_provider
def test_model_listing(fake: FakeProviders, case: Case) -> None:
    listing = list_models(fake, case.provider, DEFAULT_KEYS[case.provider])
    rejected = list_models(fake, case.provider, WRONG_KEY)

    assert listed_ids(listing.json()) == fake.models[case.provider]
    assert rejected.status_code == (400 if case.provider in ("xai", "gemini") else 401)


@by_provider
def test_an_injected_404_is_the_providers_own_also_on_a_listing(fake: FakeProviders, case: Case) -> None:
    fake.fail(case.provider, "not_found")

    missing = list_models(fake, case.provider, DEFAULT_KEYS[case.provider])

    assert missing.status_code == 404
    assert "error" in missing.json()
    assert list_models(fake, case.provider, DEFAULT_KEYS[case.provider]).status_code == 200, "once only"


@by_provider
def test_an_injected_redirect_points_at_the_fake_which_records_a_followed_one(fake: FakeProviders, case: Case) -> None:
    fake.fail(case.provider, "redirect")

    moved = list_models(fake, case.provider, DEFAULT_KEYS[case.provider])
    path = fake.requests[-1].path

    assert moved.status_code == REDIRECT_STATUS
    assert moved.headers["location"] == fake.url + REDIRECT_PATH + path
    assert fake.unrouted == [], "not followed (httpx does not by default)"
    assert httpx.get(moved.headers["location"], timeout=5).status_code == 404
    assert fake.unrouted == [f"GET {REDIRECT_PATH}{path}"]
    fake.reset()
    assert fake.unrouted == []


def test_stop_is_prompt_while_another_request_hangs() -> None:
    with FakeProviders() as server:
        server.fail("openai", "hang")
        errors: list[httpx.HTTPError] = []

        def post_hanging_request() -> None:
            try:
                httpx.post(
                    server.base("openai") + "/chat/completions",
                    json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]},
                    headers={"Authorization": f"Bearer {DEFAULT_KEYS['openai']}"},
                    timeout=10,
                )
            except httpx.HTTPError as error:
                errors.append(error)

        hanging = threading.Thread(target=post_hanging_request)
        hanging.start()
        deadline = time.monotonic() + 5
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)

        served = complete(server, BY_PROVIDER["openai"])  # a second request is served meanwhile
        started = time.monotonic()
        server.stop()

        assert time.monotonic() - started < 1
        assert served.choices[0].message.content
        hanging.join(timeout=2)
        assert not hanging.is_alive()
        assert [type(error) for error in errors] == [httpx.RemoteProtocolError]
