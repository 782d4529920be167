"""The lean stream (core/providers/sse.py) against litellm's own, at the provider call: for every provider that
streams OpenAI's SSE and every failure the fakes can produce, both paths give the same chunks' text, finish reason
and usage, and end in the same error kind and message. Real litellm, httpx and openai clients against the fakes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings, load_settings
from core.providers import client, sse
from core.providers.failures import explain_error
from core.providers.registry import PROVIDERS, ProviderSpec, get_provider
from tests.fakes.providers import DEFAULT_KEYS, SERVER_KEY, FakeProviders

LEAN_PROVIDERS = ("openai", "xai", "azure", "server")
MODELS = {"openai": "gpt-4o-mini", "xai": "grok-2", "azure": "my-gpt4o", "server": "Qwen/Qwen2.5-7B-Instruct"}
FAILURES = ("none", "rejected", "forbidden", "not_found", "rate_limit", "server_error", "redirect", "cut_stream")


@dataclass(frozen=True)
class Outcome:
    """What a reply came to: its text, last finish reason, token counts, and the error kind and message."""

    text: str
    finish_reason: str | None
    usage: tuple[int | None, int | None] | None
    error: tuple[str, str] | None
    chunk_types: frozenset[str]


def team_server(fake: FakeProviders) -> ProviderSpec:
    """A team's OpenAI-compatible server as the models registry builds one."""
    from core.models.registry_file import parse_servers

    section = {"gpu-box": {"base_url": fake.base("server"), "api_key_env": "GPU_BOX_KEY", "models": "list"}}
    [server] = parse_servers(section, "test")
    return server.spec


def call(fake: FakeProviders, provider: str, key: str | None = None) -> tuple[ProviderSpec, dict[str, str], str]:
    """The spec, the credential's values and the litellm model of a call to `provider` on the fakes."""
    if provider == "server":
        return team_server(fake), {}, f"openai/{MODELS['server']}"
    spec = get_provider(provider)
    values = {"api_key": key or DEFAULT_KEYS[provider]}
    if provider == "azure":
        values |= {"endpoint": fake.url, "api_version": "2024-10-21"}
    return spec, values, f"{spec.litellm_prefix}/{MODELS[provider]}"


def stream(spec: ProviderSpec, values: dict[str, str], settings: Settings, model: str) -> Outcome:
    """Read one streamed reply at the provider call, as the reply stream reads it."""
    text, finish, usage, types, error = "", None, None, set(), None
    request = client.ChatRequest(model=model, messages=[{"role": "user", "content": "Hello?"}], max_tokens=64)
    try:
        for chunk in client.stream_chat(spec, values, settings, request):
            types.add(type(chunk).__module__)
            choices: Any = chunk.choices
            if choices:
                text += choices[0].delta.content or ""
                finish = choices[0].finish_reason or finish
            if counted := getattr(chunk, "usage", None):  # litellm's chunks have one only when it is set
                usage = (counted.prompt_tokens, counted.completion_tokens)
    except Exception as failure:
        explained = explain_error(failure, spec, model.split("/", 1)[1], partial=bool(text))
        error = (explained.kind.value, str(explained))
    return Outcome(text, finish, usage, error, frozenset(types))


def both(fake: FakeProviders, provider: str, failure: str, monkeypatch: pytest.MonkeyPatch) -> list[Outcome]:
    """The same call on litellm's stream, then on the lean one, each meeting `failure` afresh."""
    monkeypatch.setenv("GPU_BOX_KEY", SERVER_KEY)
    settings = load_settings()
    key = "wrong-key-0000" if failure == "rejected" else None
    outcomes = []
    for lean in (False, True):
        if failure not in ("none", "rejected"):
            fake.fail(provider, failure)  # type: ignore[arg-type]
        spec, values, model = call(fake, provider, key)
        if failure == "rejected" and provider == "server":
            monkeypatch.setenv("GPU_BOX_KEY", "wrong-key-0000")
        outcomes.append(stream(spec, values, dataclasses.replace(settings, lean_streams=lean), model))
    return outcomes


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("provider", LEAN_PROVIDERS)
def test_both_stream_paths_end_alike(
    env: Path, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch, provider: str, failure: str
) -> None:
    litellm_path, lean_path = both(fake, provider, failure, monkeypatch)
    assert dataclasses.replace(lean_path, chunk_types=frozenset()) == dataclasses.replace(
        litellm_path, chunk_types=frozenset()
    ), (litellm_path, lean_path)
    if failure in ("none", "cut_stream"):
        assert lean_path.chunk_types == {sse.__name__}, "the lean path read the stream itself"
        assert litellm_path.chunk_types == {"litellm.types.utils"}
    if failure == "none":
        assert lean_path.error is None and lean_path.text and lean_path.finish_reason == "stop"
        assert lean_path.usage is not None and all(lean_path.usage)
    else:
        assert lean_path.error is not None


def test_a_hanging_stream_times_out_alike(env: Path, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_REQUEST_TIMEOUT", "0.5")
    litellm_path, lean_path = both(fake, "openai", "hang", monkeypatch)
    assert lean_path.error == litellm_path.error
    assert lean_path.error is not None and lean_path.error[0] == "timeout"


def test_only_providers_that_stream_openais_sse_take_the_lean_path() -> None:
    assert {spec.id for spec in PROVIDERS if spec.openai_stream} == {"openai", "xai", "azure"}


def test_the_lean_path_can_be_turned_off(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().lean_streams is True
    for word in ("0", "false", "off", "no"):
        monkeypatch.setenv("APP_LEAN_STREAMS", word)
        assert load_settings().lean_streams is False


def test_sse_events_are_split_as_the_sdk_splits_them() -> None:
    """Multi-line data is joined, CRLF ends lines too, comments and other fields are skipped, and an event the body
    ends in the middle of is dropped."""
    import httpx

    body = b': keep-alive\r\n\r\nevent: x\r\ndata: {"a":\r\ndata:1}\r\n\r\nid: 7\ndata:[DONE]\n\ndata: {"cut"'
    response = httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    assert list(sse.events(response)) == [b'{"a":\n1}', b"[DONE]"]
