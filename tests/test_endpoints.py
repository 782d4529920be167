"""Outbound requests: Azure endpoints are Azure's own hosts over https (or an admin-listed origin), no redirect is
followed to another host, and a provider that never answers times out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.accounts.users import UserPublic
from core.chat.conversations import Conversation
from core.config import load_settings
from core.errors import InvalidEndpoint, ProviderErrorKind
from core.providers.endpoints import validate_endpoint
from core.providers.registry import base_url_variables
from core.services import Services, open_services
from tests.fakes.loopback import LoopbackFake, LoopbackHandler, LoopbackServer
from tests.fakes.providers import DEFAULT_KEYS, FakeProviders

ALLOWED = ("http://127.0.0.1:8099",)
AZURE_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com")
MODEL_REFS = {
    "openai": "openai/gpt-4o",
    "anthropic": "anthropic/claude-3-5-sonnet",
    "gemini": "gemini/gemini-1.5-flash",
    "xai": "xai/grok-2",
    "azure": "azure/my-gpt4o",
}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://my-resource.openai.azure.com", "https://my-resource.openai.azure.com"),
        ("https://my-resource.openai.azure.com/", "https://my-resource.openai.azure.com"),
        ("  https://My-Resource.OpenAI.Azure.com  ", "https://my-resource.openai.azure.com"),
        ("\thttps://my-resource.openai.azure.com\n", "https://my-resource.openai.azure.com"),
        ("HTTPS://MY-RESOURCE.OPENAI.AZURE.COM", "https://my-resource.openai.azure.com"),
        ("https://my-resource.openai.azure.com:443", "https://my-resource.openai.azure.com"),
        ("https://my-resource.openai.azure.com:443/", "https://my-resource.openai.azure.com"),
        ("https://eastus-ai.cognitiveservices.azure.com", "https://eastus-ai.cognitiveservices.azure.com"),
        ("https://a1.openai.azure.com", "https://a1.openai.azure.com"),
        ("https://" + "a" * 63 + ".openai.azure.com", "https://" + "a" * 63 + ".openai.azure.com"),
        ("http://127.0.0.1:8099", "http://127.0.0.1:8099"),
        ("http://127.0.0.1:8099/", "http://127.0.0.1:8099"),
    ],
)
def test_accepted(url: str, expected: str) -> None:
    assert validate_endpoint(url, ALLOWED) == expected


@pytest.mark.parametrize(
    "url",
    [
        # scheme
        pytest.param("http://my-resource.openai.azure.com", id="http"),
        pytest.param("ftp://my-resource.openai.azure.com", id="ftp"),
        pytest.param("my-resource.openai.azure.com", id="no-scheme"),
        pytest.param("//my-resource.openai.azure.com", id="scheme-relative"),
        pytest.param("https:my-resource.openai.azure.com", id="no-slashes"),
        pytest.param("https:///my-resource.openai.azure.com", id="three-slashes"),
        # look-alike hosts
        pytest.param("https://openai.azure.com.evil.com", id="azure-suffix-as-prefix"),
        pytest.param("https://my-resource.openai.azure.com.evil.example", id="azure-host-as-prefix"),
        pytest.param("https://evilopenai.azure.com", id="no-dot-boundary"),
        pytest.param("https://openai.azure.com", id="bare-suffix"),
        pytest.param("https://a.b.openai.azure.com", id="two-labels"),
        pytest.param("https://my-resource.openai-azure.com", id="dash-for-dot"),
        pytest.param("https://my-resource.openai.azure.co", id="wrong-tld"),
        pytest.param("https://my-resource.openai.azure.us", id="other-azure-cloud"),
        pytest.param("https://my-resource.blob.core.windows.net", id="other-azure-service"),
        pytest.param("https://-my.openai.azure.com", id="leading-dash"),
        pytest.param("https://my-.openai.azure.com", id="trailing-dash"),
        pytest.param("https://" + "a" * 64 + ".openai.azure.com", id="label-over-63"),
        # user info and @ tricks
        pytest.param("https://user@my-resource.openai.azure.com", id="user"),
        pytest.param("https://user:pass@my-resource.openai.azure.com", id="user-password"),
        pytest.param("https://my.openai.azure.com@evil.com", id="azure-as-userinfo"),
        pytest.param("https://my-resource.openai.azure.com@evil.example", id="azure-as-userinfo-2"),
        pytest.param("https://evil.example#@my-resource.openai.azure.com", id="fragment-at"),
        pytest.param("https://my.openai.azure.com%2F@evil.com", id="encoded-slash-at"),
        pytest.param("https://my.openai.azure.com\\@evil.com", id="backslash-at"),
        # ports
        pytest.param("https://my-resource.openai.azure.com:8443", id="port-8443"),
        pytest.param("https://my-resource.openai.azure.com:80", id="port-80"),
        pytest.param("https://my-resource.openai.azure.com:0", id="port-0"),
        pytest.param("https://my-resource.openai.azure.com:65536", id="port-out-of-range"),
        pytest.param("https://my-resource.openai.azure.com:notaport", id="port-word"),
        pytest.param("https://my-resource.openai.azure.com:443:443", id="port-twice"),
        # IP literals and local names
        pytest.param("https://127.0.0.1", id="ipv4-loopback"),
        pytest.param("https://10.0.0.1", id="ipv4-private"),
        pytest.param("https://169.254.169.254", id="metadata"),
        pytest.param("https://2130706433", id="ipv4-as-integer"),
        pytest.param("https://[::1]", id="ipv6-loopback"),
        pytest.param("https://[::1]:443", id="ipv6-loopback-443"),
        pytest.param("https://[::ffff:127.0.0.1]", id="ipv4-mapped-ipv6"),
        pytest.param("https://[fe80::1]", id="ipv6-link-local"),
        pytest.param("https://localhost", id="localhost"),
        pytest.param("http://127.0.0.1:8098", id="unlisted-port"),
        pytest.param("http://localhost:8099", id="listed-origin-by-other-name"),
        # trailing dot, unicode and punycode look-alikes
        pytest.param("https://my-resource.openai.azure.com.", id="trailing-dot"),
        pytest.param("https://my-rеsource.openai.azure.com", id="cyrillic-e"),
        pytest.param("https://my.openai.аzure.com", id="cyrillic-a-in-azure"),
        pytest.param("https://my．openai．azure．com", id="fullwidth-dots"),
        pytest.param("https://my.openai.azure.com\u3002", id="ideographic-dot"),
        pytest.param("https://ｍｙ.openai.azure.com", id="fullwidth-letters"),
        pytest.param("https://my-\u212av.openai.azure.com", id="kelvin-sign-lowers-to-k"),
        pytest.param("https://my\u200b.openai.azure.com", id="zero-width-space"),
        pytest.param("https://xn--80ak6aa92e.openai.azure.com", id="punycode-label"),
        pytest.param("https://my.xn--openai-9ua.azure.com", id="punycode-suffix"),
        # query, fragment, path, backslashes
        pytest.param("https://my-resource.openai.azure.com?api-version=1", id="query"),
        pytest.param("https://my-resource.openai.azure.com?", id="empty-query"),
        pytest.param("https://my-resource.openai.azure.com/#x", id="fragment"),
        pytest.param("https://my-resource.openai.azure.com#", id="empty-fragment"),
        pytest.param("https://my-resource.openai.azure.com/openai/deployments", id="path"),
        pytest.param("https://my-resource.openai.azure.com//", id="double-slash-path"),
        pytest.param("https://my-resource.openai.azure.com/%2e%2e", id="encoded-dots"),
        pytest.param("https://my%2eopenai.azure.com", id="encoded-dot-in-host"),
        pytest.param("https://evil.com\\my.openai.azure.com", id="backslash-path"),
        pytest.param("https:\\\\my.openai.azure.com", id="backslash-slashes"),
        pytest.param("https://my.openai.azure.com\\", id="trailing-backslash"),
        # whitespace and control characters inside
        pytest.param("https://my.open\tai.azure.com", id="inner-tab"),
        pytest.param("https://my.open\nai.azure.com", id="inner-newline"),
        pytest.param("https://my.openai.azure.com/\r\nHost: evil", id="header-injection"),
        pytest.param("https://my .openai.azure.com", id="inner-space"),
        pytest.param("https://my.openai.azure.com\x00", id="nul"),
        pytest.param("https://my.openai.azure.com\x7f", id="delete"),
        # empty and over-long
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("https://", id="scheme-only"),
        pytest.param("https://my.openai.azure.com/" + "a" * 5000, id="over-long"),
        pytest.param("https://" + "a" * 5000 + ".openai.azure.com", id="over-long-host"),
    ],
)
def test_refused(url: str) -> None:
    with pytest.raises(InvalidEndpoint) as caught:
        validate_endpoint(url, ALLOWED)
    assert caught.value.field == "endpoint"


def assert_azure_origin(result: str) -> None:
    """What validate_endpoint may return without an allow-list: `https://<one label>.<Azure suffix>`."""
    parts = urlsplit(result)
    host = parts.hostname or ""
    assert parts.scheme == "https"
    assert host.endswith(AZURE_SUFFIXES) and host.count(".") == 3
    assert (parts.username, parts.password, parts.port) == (None, None, None)
    assert (parts.path, parts.query, parts.fragment) == ("", "", "")
    assert result == f"https://{host}"


@given(st.text())
def test_arbitrary_text_is_refused_or_an_azure_origin(text: str) -> None:
    try:
        result = validate_endpoint(text)
    except InvalidEndpoint:
        return
    assert_azure_origin(result)
    assert validate_endpoint(result) == result


URL_PIECES = {
    "scheme": ["https://", "http://", "HTTPS://", "ftp://", "https:/", "//", "", "https:\\\\"],
    "userinfo": ["", "", "user@", "user:pass@", "my.openai.azure.com@", ":@", "a%40b@"],
    "host": [
        "my-resource.openai.azure.com",
        "eastus.cognitiveservices.azure.com",
        "openai.azure.com",
        "evil.com",
        "127.0.0.1",
        "[::1]",
        "169.254.169.254",
        "localhost",
        "xn--80ak6aa92e.openai.azure.com",
        "my.openai.аzure.com",
    ],
    "port": ["", "", ":443", ":8443", ":", ":0", ":99999", ":x"],
    "tail": ["", "/", "/path", "?q", "#f", "\\", "\\@evil.com", ".", ".evil.com", "@evil.com", "\t", "%00"],
}


@st.composite
def near_urls(draw: st.DrawFn) -> str:
    """URLs assembled from tricky pieces, each piece sometimes replaced by arbitrary text."""
    pieces = [draw(st.sampled_from(options) | st.text(max_size=4)) for options in URL_PIECES.values()]
    return "".join(pieces)


@settings(max_examples=500)
@given(near_urls())
def test_near_urls_are_refused_or_allowed(url: str) -> None:
    try:
        result = validate_endpoint(url, ALLOWED)
    except InvalidEndpoint:
        return
    if result != ALLOWED[0]:
        assert_azure_origin(result)


class RecordingFake(LoopbackFake):
    """A second host: records every request it gets and answers 200 with an empty JSON body."""

    thread_name = "recording-fake"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def _make_server(self) -> LoopbackServer:
        fake = self

        class Handler(LoopbackHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append((self.command, self.path, dict(self.headers.items())))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = _answer

        return LoopbackServer(Handler)


class RedirectingFake(LoopbackFake):
    """A provider that answers every request with a redirect to the same path on another host."""

    thread_name = "redirecting-fake"

    def __init__(self, status: int, target: LoopbackFake) -> None:
        super().__init__()
        self.status = status
        self.target = target
        self.paths: list[str] = []

    def _make_server(self) -> LoopbackServer:
        fake = self

        class Handler(LoopbackHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.paths.append(self.path)
                self.send_response(fake.status)
                self.send_header("Location", fake.target.url + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer

        return LoopbackServer(Handler)


def services_routed_to(base: str, monkeypatch: pytest.MonkeyPatch) -> Services:
    """Services whose provider bases, and the one allowed Azure endpoint, are `base`."""
    for variable in base_url_variables().values():
        monkeypatch.setenv(variable, base + "/v1")
    monkeypatch.setenv("APP_ALLOW_ENDPOINTS", base)
    return open_services(load_settings())


def save_valid_key(services: Services, user: UserPublic, provider: str, endpoint: str) -> None:
    values: dict[str, Any] = {"api_key": DEFAULT_KEYS[provider]}
    if provider == "azure":
        values |= {"endpoint": endpoint, "api_version": ""}
    services.credentials.save(user.id, provider, values)


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("provider", list(MODEL_REFS))
def test_a_redirect_to_another_host_is_not_followed(
    env: Path, alice: UserPublic, monkeypatch: pytest.MonkeyPatch, provider: str, status: int
) -> None:
    """The real litellm client meets a redirect: the chat fails, and the other host (and the key) sees nothing."""
    with RecordingFake() as elsewhere, RedirectingFake(status, elsewhere) as provider_host:
        services = services_routed_to(provider_host.url, monkeypatch)
        save_valid_key(services, alice, provider, provider_host.url)
        turn = services.chat.send(alice.id, Conversation(), "hi", MODEL_REFS[provider])
        assert list(turn.batches()) == []
        reply = turn.reply
        assert elsewhere.url not in str(reply.error)
    assert len(provider_host.paths) == 1
    assert elsewhere.requests == []
    assert reply.error is not None and reply.error.kind is not ProviderErrorKind.INTERRUPTED
    assert f"answered with a redirect (HTTP {status}), which the app does not follow" in str(reply.error)


@pytest.mark.parametrize("provider", ["anthropic", "gemini", "xai", "azure"])
def test_every_hanging_provider_times_out(
    services: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    """tests/test_chat.py proves it for OpenAI; the other four go through different litellm clients."""
    save_valid_key(services, alice, provider, fake.url)
    monkeypatch.setenv("APP_REQUEST_TIMEOUT", "1")
    fake.fail(provider, "hang")
    started = time.monotonic()
    turn = open_services(load_settings()).chat.send(alice.id, Conversation(), "hi", MODEL_REFS[provider])
    list(turn.batches())
    reply = turn.reply
    assert reply.error is not None and reply.error.kind is ProviderErrorKind.TIMEOUT, str(reply.error)
    assert time.monotonic() - started < 10
    assert [r.provider for r in fake.requests] == [provider]
