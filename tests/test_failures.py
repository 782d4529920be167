"""One table words every provider failure: each path the app takes, against each failure the loopback fakes can
produce, ends in one error kind and one exact message (all from core/providers/failures.py).

Every path runs as the app runs it, with the real litellm, httpx and huggingface_hub clients against the fakes.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.accounts.users import UserPublic
from core.chat.conversations import Conversation
from core.config import load_settings
from core.credentials.key_test import KeyRejected
from core.errors import ProviderError, ProviderErrorKind
from core.local.access import check_user_access
from core.providers import failures
from core.providers.hub import HubError
from core.providers.registry import base_url_variables, get_provider
from core.services import Services, open_services
from tests.fakes.hub import GATED_REPO, OPEN_REPO, FakeHub
from tests.fakes.providers import DEFAULT_KEYS, FakeProviders
from tests.helpers import STREAM_PATHS

HF_TOKEN = "hf_test_reader_token"
WRONG = {"openai": "sk-wrong-key-0000", "anthropic": "sk-ant-wrong-0000", "azure": "azure-wrong-0000"}
WRONG_TOKEN = "hf_wrong_token_0000"


@dataclass
class World:
    """One user of a freshly opened app, and what the failure being tested changed in it."""

    services: Services
    user: UserPublic
    fake: FakeProviders
    key: str | None = None  # a wrong key or token, for "rejected"
    model: str | None = None  # a model, deployment or repo the provider does not have, for "not_found"
    endpoint: str | None = None  # the Azure endpoint the user saved

    def save(self, provider: str, values: dict[str, str]) -> None:
        self.services.credentials.save(self.user.id, provider, values)


@dataclass(frozen=True)
class Outcome:
    """What the user is told: the kind a failure was classified as (None: nothing failed) and the message.

    `verdict` is a key test's result (valid, rejected, no access, unverified).
    """

    kind: str | None
    message: str
    verdict: str | None = None


def chat(world: World) -> Outcome:
    """A chat reply, streamed and saved as the Chat page does it."""
    world.save("openai", {"api_key": world.key or DEFAULT_KEYS["openai"]})
    turn = world.services.chat.send(world.user.id, Conversation(), "Hello?", f"openai/{world.model or 'gpt-4o-mini'}")
    list(turn.batches())
    message = turn.finish()
    return Outcome(message.error_kind, message.error or "")


def _key_test(world: World, provider: str, values: dict[str, str]) -> Outcome:
    services = world.services
    try:
        _, outcome = services.key_tests.save(world.user.id, provider, values)
    except KeyRejected as rejected:
        return Outcome(rejected.kind and rejected.kind.value, str(rejected), "rejected")
    return Outcome(outcome.kind and outcome.kind.value, outcome.detail, outcome.result.value)


def key_test(world: World) -> Outcome:
    """The key test when a key is saved on Profile."""
    return _key_test(world, "openai", {"api_key": world.key or DEFAULT_KEYS["openai"]})


def listing(world: World) -> Outcome:
    """Models → Refresh, with the saved key."""
    world.save("anthropic", {"api_key": world.key or DEFAULT_KEYS["anthropic"]})
    [section] = [s for s in world.services.catalog.load(world.user.id, refresh=True) if s.spec.id == "anthropic"]
    assert section.listing is not None
    return Outcome(section.listing.error_kind, section.listing.error or "")


def probe(world: World) -> Outcome:
    """Adding an Azure deployment on Profile: it is tried with one token first."""
    values = {"api_key": world.key or DEFAULT_KEYS["azure"], "endpoint": world.endpoint or world.fake.url}
    world.save("azure", values | {"api_version": ""})
    services = world.services
    try:
        added = services.deployments.add(world.user.id, "azure", world.model or "my-gpt4o")
    except ProviderError as error:
        return Outcome(error.kind.value, str(error))
    return Outcome(None, added.note)


def token_test(world: World) -> Outcome:
    """The token test when a Hugging Face token is saved on Profile."""
    return _key_test(world, "huggingface", {"token": world.key or HF_TOKEN})


def access_check(world: World) -> Outcome:
    """Models → Check access, with the saved Hugging Face token."""
    world.save("huggingface", {"token": world.key or HF_TOKEN})
    services = world.services
    try:
        check_user_access(services.credentials, services.settings, world.user.id, world.model or OPEN_REPO)
    except HubError as error:
        return Outcome(error.kind.value, str(error))
    return Outcome(None, "")


PATHS: dict[str, tuple[Callable[[World], Outcome], str]] = {  # each path, and the provider it calls
    "chat": (chat, "openai"),
    "key test": (key_test, "openai"),
    "listing": (listing, "anthropic"),
    "probe": (probe, "azure"),
    "token test": (token_test, "huggingface"),
    "access check": (access_check, "huggingface"),
}


@pytest.fixture
def closed_url() -> Iterator[str]:
    """An address on this machine where nothing listens (the port stays bound, so nobody else takes it)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}"


FAILURES = ("rejected", "forbidden", "not_found", "rate_limit", "server_error", "hang", "refused", "redirect", "cut")
# What the fakes are told for each failure (a rejected key, an unknown model and a closed port need no telling).
FAKE_FAILURE = {
    "forbidden": "forbidden",
    "rate_limit": "rate_limit",
    "server_error": "server_error",
    "hang": "hang",
    "redirect": "redirect",
    "cut": "cut_stream",
}
HUB_FAILURE = FAKE_FAILURE | {"cut": "cut"}
# The model, deployment or repo a path asks for that its provider does not have; a listing's 404 is injected.
UNKNOWN = {"chat": "gpt-9", "probe": "not-deployed", "access check": "nobody/nothing"}
GUIDE_GATED = (
    "This model is gated on Hugging Face. Please request access and accept the license terms on the model page, "
    "then try again."
)


def world_for(
    path: str, failure: str, monkeypatch: pytest.MonkeyPatch, fake: FakeProviders, hub: FakeHub, closed_url: str
) -> World:
    """The app as `failure` finds it on `path`: settings first (a short timeout, a closed port), then the fakes."""
    provider = PATHS[path][1]
    endpoint = None
    if failure == "hang":
        monkeypatch.setenv("APP_REQUEST_TIMEOUT", "0.5")
    if failure == "refused":
        for variable in base_url_variables().values():
            monkeypatch.setenv(variable, closed_url + "/v1")
        monkeypatch.setenv("HF_ENDPOINT", closed_url)
        monkeypatch.setenv("APP_ALLOW_ENDPOINTS", f"{fake.url},{closed_url}")
        endpoint = closed_url
    services = open_services(load_settings())
    user = services.users.add("alice", "Alice Example", "alice@example.com", "correct horse battery")
    world = World(services, user, fake, endpoint=endpoint)
    if failure == "rejected":
        world.key = WRONG_TOKEN if provider == "huggingface" else WRONG[provider]
    elif failure == "not_found" and path in UNKNOWN:
        world.model = UNKNOWN[path]
    elif failure == "gated":
        world.model = GATED_REPO
    elif provider == "huggingface" and failure in HUB_FAILURE:
        hub.fail(HUB_FAILURE[failure])
    elif failure in FAKE_FAILURE or failure == "not_found":
        fake.fail(provider, FAKE_FAILURE.get(failure, "not_found"))
    return world


# Each path's failures -> (kind, the exact message); a deployment that is only rate limited is kept, with a note.
CHAT: dict[str, tuple[str | None, str]] = {
    "rejected": ("rejected_key", "OpenAI rejected the saved key. Update it in Profile → Provider Keys → OpenAI."),
    "forbidden": (
        "no_access",
        "OpenAI accepted the key but refused access to gpt-4o-mini (HTTP 403): "
        "check its permissions, billing or credit.",
    ),
    "not_found": (
        "not_found",
        "OpenAI does not offer the model gpt-9 to your key. Check the ID, or pick another model.",
    ),
    "rate_limit": (
        "rate_limited",
        "OpenAI is rate limiting your key; wait 2 s and try again. If it persists, check your plan's quota and credit.",
    ),
    "server_error": ("provider_down", "OpenAI is having problems (HTTP 500). Try again in a moment."),
    "hang": ("timeout", "OpenAI did not answer in time. Try again in a moment."),
    "refused": ("unreachable", "Could not reach OpenAI. Check the server's network connection, then try again."),
    "redirect": (
        "redirected",
        "OpenAI answered with a redirect (HTTP 307), which the app does not follow. "
        "If the server reaches OpenAI through a gateway, ask your admin to check its address.",
    ),
    "cut": (
        "interrupted",
        "The reply from OpenAI was cut off. What arrived is kept; regenerate or send your message again.",
    ),
}
KEY_TEST: dict[str, tuple[str | None, str]] = {
    "rejected": ("rejected_key", "OpenAI rejected this key: it is wrong or was revoked. Nothing was saved."),
    "forbidden": (
        "no_access",
        "OpenAI accepted the key but refused access (HTTP 403): check its permissions, billing or credit.",
    ),
    "not_found": (
        "not_found",
        "OpenAI has nothing at this address (HTTP 404). "
        "If the server reaches OpenAI through a gateway, ask your admin to check its address. "
        "Nothing was saved.",
    ),
    "rate_limit": (
        "rate_limited",
        "OpenAI is rate limiting your key; wait 2 s and try again. If it persists, check your plan's quota and credit.",
    ),
    "server_error": ("provider_down", "OpenAI is having problems (HTTP 500). Try again in a moment."),
    "hang": ("timeout", "OpenAI did not answer in time. Try again in a moment."),
    "refused": ("unreachable", "Could not reach OpenAI. Check the server's network connection, then try again."),
    "redirect": (
        "redirected",
        "OpenAI answered with a redirect (HTTP 307), which the app does not follow. "
        "If the server reaches OpenAI through a gateway, ask your admin to check its address.",
    ),
    "cut": ("interrupted", "The answer from OpenAI was cut off. Try again in a moment."),
}
LISTING: dict[str, tuple[str | None, str]] = {
    "rejected": ("rejected_key", "Anthropic rejected the saved key. Update it in Profile → Provider Keys → Anthropic."),
    "forbidden": (
        "no_access",
        "Anthropic accepted the key but refused access (HTTP 403): check its permissions, billing or credit.",
    ),
    "not_found": (
        "not_found",
        "Anthropic has nothing at this address (HTTP 404). "
        "If the server reaches Anthropic through a gateway, ask your admin to check its address.",
    ),
    "rate_limit": (
        "rate_limited",
        "Anthropic is rate limiting your key; wait 2 s and try again. "
        "If it persists, check your plan's quota and credit.",
    ),
    "server_error": ("provider_down", "Anthropic is having problems (HTTP 500). Try again in a moment."),
    "hang": ("timeout", "Anthropic did not answer in time. Try again in a moment."),
    "refused": ("unreachable", "Could not reach Anthropic. Check the server's network connection, then try again."),
    "redirect": (
        "redirected",
        "Anthropic answered with a redirect (HTTP 307), which the app does not follow. "
        "If the server reaches Anthropic through a gateway, ask your admin to check its address.",
    ),
    "cut": ("interrupted", "The answer from Anthropic was cut off. Try again in a moment."),
}
PROBE: dict[str, tuple[str | None, str]] = {
    "rejected": (
        "rejected_key",
        "Azure OpenAI rejected the saved key. Update it in Profile → Provider Keys → Azure OpenAI.",
    ),
    "forbidden": (
        "no_access",
        "Azure OpenAI accepted the key but refused access to my-gpt4o (HTTP 403): "
        "check its permissions, billing or credit.",
    ),
    "not_found": (
        "not_found",
        "There is no deployment named not-deployed at your Azure endpoint. "
        "Check the deployment name in the Azure portal.",
    ),
    "rate_limit": (None, "Azure OpenAI is rate limiting this deployment right now, but it exists."),
    "server_error": ("provider_down", "Azure OpenAI is having problems (HTTP 500). Try again in a moment."),
    "hang": ("timeout", "Azure OpenAI did not answer in time. Try again in a moment."),
    "refused": ("unreachable", "Could not reach Azure OpenAI. Check the server's network connection, then try again."),
    "redirect": (
        "redirected",
        "Azure OpenAI answered with a redirect (HTTP 307), which the app does not follow. Check the endpoint URL.",
    ),
    "cut": ("interrupted", "The answer from Azure OpenAI was cut off. Try again in a moment."),
}
TOKEN_TEST: dict[str, tuple[str | None, str]] = {
    "rejected": ("rejected_key", "Hugging Face rejected this token: it is wrong or was revoked. Nothing was saved."),
    "forbidden": (
        "no_access",
        "Hugging Face accepted the token but refused access (HTTP 403): check its permissions, billing or credit.",
    ),
    "rate_limit": (
        "rate_limited",
        "Hugging Face is rate limiting your token; wait 2 s and try again. "
        "If it persists, check your plan's quota and credit.",
    ),
    "server_error": ("provider_down", "Hugging Face is having problems (HTTP 500). Try again in a moment."),
    "hang": ("timeout", "Hugging Face did not answer in time. Try again in a moment."),
    "refused": ("unreachable", "Could not reach Hugging Face. Check the server's network connection, then try again."),
    "redirect": (
        "redirected",
        "Hugging Face answered with a redirect (HTTP 307), which the app does not follow. "
        "If the server reaches Hugging Face through a gateway, ask your admin to check its address.",
    ),
    "cut": ("interrupted", "The answer from Hugging Face was cut off. Try again in a moment."),
}
ACCESS_CHECK: dict[str, tuple[str | None, str]] = {
    "rejected": (
        "rejected_key",
        "Hugging Face rejected the saved token. Update it in Profile → Provider Keys → Hugging Face.",
    ),
    "forbidden": (
        "no_access",
        "Hugging Face accepted the token but refused access to tiny/open-model (HTTP 403): "
        "check its permissions, billing or credit.",
    ),
    "not_found": (
        "not_found",
        "Hugging Face does not offer the model nobody/nothing to your token. Check the ID, or pick another model.",
    ),
    "rate_limit": (
        "rate_limited",
        "Hugging Face is rate limiting your token; wait 2 s and try again. "
        "If it persists, check your plan's quota and credit.",
    ),
    "server_error": ("provider_down", "Hugging Face is having problems (HTTP 500). Try again in a moment."),
    "hang": ("timeout", "Hugging Face did not answer in time. Try again in a moment."),
    "refused": ("unreachable", "Could not reach Hugging Face. Check the server's network connection, then try again."),
    "redirect": (
        "redirected",
        "Hugging Face answered with a redirect (HTTP 307), which the app does not follow. "
        "If the server reaches Hugging Face through a gateway, ask your admin to check its address.",
    ),
    "cut": ("interrupted", "The answer from Hugging Face was cut off. Try again in a moment."),
    "gated": ("gated", GUIDE_GATED),
}

TABLE = {
    (path, failure): expected
    for path, failures in {
        "chat": CHAT,
        "key test": KEY_TEST,
        "listing": LISTING,
        "probe": PROBE,
        "token test": TOKEN_TEST,
        "access check": ACCESS_CHECK,
    }.items()
    for failure, expected in failures.items()
}
# A key test's verdict follows the kind (core/credentials/key_test.py): saved unless rejected.
VERDICTS = {"rejected": "rejected", "not_found": "rejected", "forbidden": "no_access", "rate_limit": "no_access"}


@pytest.mark.parametrize(("path", "failure"), list(TABLE), ids=[f"{path}-{failure}" for path, failure in TABLE])
def test_each_failure_on_each_path_is_one_kind_and_one_message(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeProviders,
    hub: FakeHub,
    closed_url: str,
    path: str,
    failure: str,
) -> None:
    world = world_for(path, failure, monkeypatch, fake, hub, closed_url)
    kind, message = TABLE[path, failure]
    verdict = VERDICTS.get(failure, "unreachable") if path in ("key test", "token test") else None
    assert PATHS[path][0](world) == Outcome(kind, message, verdict)
    assert fake.unrouted == [], "a redirect is never followed"
    assert not [r.path for r in hub.requests if r.path.startswith("/elsewhere")], "a redirect is never followed"


def test_every_path_meets_every_failure_its_fakes_can_produce() -> None:
    """A Hub token test has no 404 to meet (whoami is one fixed address); only the Hub's models are gated."""
    every = {(path, failure) for path in PATHS for failure in FAILURES}
    assert set(TABLE) == every - {("token test", "not_found")} | {("access check", "gated")}


def test_every_kind_has_its_words_and_the_fakes_reach_all_but_a_plain_bad_request() -> None:
    assert set(failures.MESSAGES) == set(ProviderErrorKind)
    reached = {kind for kind, _ in TABLE.values() if kind is not None}
    assert set(ProviderErrorKind) - {ProviderErrorKind(kind) for kind in reached} == {ProviderErrorKind.BAD_REQUEST}


def test_a_bad_request_says_what_the_call_can_change() -> None:
    """No fake refuses a well-formed request with a 400 (only a bad key), so its wording is pinned here."""
    openai, azure = get_provider("openai"), get_provider("azure")
    bad = failures.Failure(ProviderErrorKind.BAD_REQUEST, 400)
    assert str(failures.explain(bad, openai, failures.CHAT, "gpt-4o")) == (
        "OpenAI refused the request for gpt-4o (HTTP 400). Check the model ID and this chat's max output tokens, "
        "or shorten the conversation."
    )
    assert str(failures.explain(bad, openai, failures.LISTING)) == (
        "OpenAI refused the request for its model list (HTTP 400)."
    )
    assert str(failures.explain(bad, azure, failures.PROBE, "my-embedder")) == (
        "Azure OpenAI refused the request for my-embedder (HTTP 400). Check the ID, and that it is a chat model."
    )


@pytest.mark.parametrize(
    ("failure", "stream_path"),
    [(failure, path) for failure in CHAT for path in STREAM_PATHS],
    indirect=["stream_path"],
)
def test_a_chats_failure_is_one_kind_and_one_message_on_both_stream_paths(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeProviders,
    hub: FakeHub,
    closed_url: str,
    failure: str,
    stream_path: str,
) -> None:
    """OpenAI's replies stream on the lean path by default: litellm's own stream must word each failure alike."""
    world = world_for("chat", failure, monkeypatch, fake, hub, closed_url)
    assert world.services.settings.lean_streams is (stream_path == "lean")
    assert chat(world) == Outcome(*CHAT[failure])
