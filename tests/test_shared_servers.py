"""The team's servers from the admin's models registry: OpenAI-compatible servers every user can chat with, no key
of their own, through the real litellm client against the loopback fake's `server` (vLLM's dialect)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from core.accounts.users import UserPublic
from core.chat.completion import CompletionParams
from core.chat.conversations import Conversation
from core.config import load_settings
from core.errors import ProviderErrorKind, UnknownModel
from core.models.choice import NOT_SERVED_TAG, ModelSource, ProviderSection
from core.models.registry_file import load_servers, parse_servers
from core.providers.failures import fixed_on_profile
from core.security import redaction
from core.services import Services, open_services
from tests.fakes.loopback import free_port
from tests.fakes.providers import SERVER_KEY, FakeProviders
from tests.helpers import SERVER_KEY_ENV, chat_posts, register, team_server

pytestmark = pytest.mark.both_backends

LLAMA, QWEN = "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct"
GPU_BOX = "server/gpu-box"
LISTED = '[servers.x]\nbase_url = "http://10.0.0.5/v1"\nmodels = "list"\n'


@pytest.fixture
def server_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The admin's key for the team server, in the variable the registry names."""
    monkeypatch.setenv(SERVER_KEY_ENV, SERVER_KEY)
    return SERVER_KEY


def section(sections: list[ProviderSection], provider: str) -> ProviderSection:
    return next(s for s in sections if s.spec.id == provider)


def listings(fake: FakeProviders) -> list:
    return [r for r in fake.requests if r.provider == "server" and r.method == "GET"]


def test_a_listed_server_shows_what_it_lists_to_a_user_with_no_keys(
    services: Services, fake: FakeProviders, alice: UserPublic, server_key: str
) -> None:
    register(services, team_server("gpu-box", fake.base("server"), label="GPU box (vLLM)"))
    gpu = section(services.catalog.load(alice.id), GPU_BOX)
    assert gpu.ready and gpu.spec.label == "GPU box (vLLM)" and gpu.listing is not None and gpu.listing.ok
    assert [(m.ref, m.source) for m in gpu.models] == [
        (f"{GPU_BOX}/{LLAMA}", ModelSource.LISTED),
        (f"{GPU_BOX}/{QWEN}", ModelSource.LISTED),
    ]
    llama = gpu.models[0]
    assert (llama.shown_id, llama.context_window, llama.input_price, llama.output_price) == (LLAMA, 8192, None, None)
    assert llama.option_label == f"{LLAMA} · GPU box (vLLM)"
    [listing] = listings(fake)
    assert listing.key == server_key and listing.path == "/server/v1/models", "the admin's key, as the bearer token"
    assert services.credentials.list(alice.id) == {}, "no credential of the user's was needed or made"


def test_a_fixed_server_shows_its_models_only_and_flags_one_it_does_not_serve(
    services: Services, fake: FakeProviders, alice: UserPublic, server_key: str
) -> None:
    register(
        services, team_server("gpu-box", fake.base("server"), f'["mistral-7b", {{ id = "{QWEN}", label = "Qwen" }}]')
    )
    gpu = section(services.catalog.load(alice.id), GPU_BOX)
    assert [(m.model_id, m.label, m.source, m.offered) for m in gpu.models] == [
        (QWEN, "Qwen", ModelSource.REGISTRY, True),
        ("mistral-7b", "mistral-7b", ModelSource.REGISTRY, False),
    ], "the listing checks the admin's list and adds nothing to it"
    assert NOT_SERVED_TAG in gpu.models[-1].option_label and "your key" not in gpu.models[-1].not_offered_note()


def test_server_listings_are_shared_by_every_user_and_refreshed_on_request(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic, server_key: str
) -> None:
    register(services, team_server("gpu-box", fake.base("server")))
    services.catalog.load(alice.id)
    fake.models["server"].append("new-model")
    assert [m.model_id for m in section(services.catalog.load(bob.id), GPU_BOX).models] == [LLAMA, QWEN]
    assert len(listings(fake)) == 1, "cached per server, not per user"
    refreshed = section(services.catalog.load(bob.id, refresh=True), GPU_BOX)
    assert len(listings(fake)) == 2 and refreshed.new_ids == ("new-model",)


def test_a_streamed_chat_with_a_server_model_is_saved(
    services: Services, fake: FakeProviders, alice: UserPublic, server_key: str
) -> None:
    register(services, team_server("gpu-box", fake.base("server")))
    turn = services.chat.send(alice.id, Conversation(), "Hello team", f"{GPU_BOX}/{LLAMA}")
    assert "".join(turn.batches()) == fake.reply_text("server", LLAMA)
    message = turn.finish()
    assert message.error is None and message.model == f"{GPU_BOX}/{LLAMA}" and message.cost is None
    stored = services.conversations.get(alice.id, services.conversations.list(alice.id)[0].id)
    assert [(m.role, m.content) for m in stored.messages] == [
        ("user", "Hello team"),
        ("assistant", fake.reply_text("server", LLAMA)),
    ]
    [post] = chat_posts(fake, "server")
    assert post.key == server_key and post.model == LLAMA and post.body["stream"] is True
    assert services.credentials.list(alice.id) == {}


def test_compare_and_a_plain_completion_work_with_server_models(
    services: Services, fake: FakeProviders, alice: UserPublic, server_key: str
) -> None:
    register(services, team_server("gpu-box", fake.base("server")))
    refs = [f"{GPU_BOX}/{LLAMA}", f"{GPU_BOX}/{QWEN}"]
    comparison = services.chat.compare(alice.id, refs, "Hi both", Conversation().settings)
    list(comparison.batches())
    assert [(r.text, r.error) for r in comparison.finish()] == [
        (fake.reply_text("server", LLAMA), None),
        (fake.reply_text("server", QWEN), None),
    ]
    completion = services.chat.complete(alice.id, refs[1], [{"role": "user", "content": "Hi"}], CompletionParams())
    assert (completion.text, completion.model, completion.cost) == (fake.reply_text("server", QWEN), refs[1], None)


def test_the_server_key_never_reaches_logs_messages_or_the_database(
    services: Services, fake: FakeProviders, alice: UserPublic, server_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("", "LiteLLM", "openai", "httpx", "httpcore", "core"):
        caplog.set_level(logging.DEBUG, logger=name)
    redaction.install()
    register(services, team_server("gpu-box", fake.base("server")))
    services.catalog.load(alice.id)
    ok = services.chat.send(alice.id, Conversation(), "Hello", f"{GPU_BOX}/{LLAMA}")
    list(ok.batches())
    ok.finish()
    fake.fail("server", "server_error")
    failed = services.chat.send(alice.id, Conversation(), "Again", f"{GPU_BOX}/{LLAMA}")
    list(failed.batches())
    assert failed.finish().error is not None
    logging.getLogger("LiteLLM").debug("headers: Authorization: Bearer %s", server_key)  # as a debug dump would
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records and server_key not in logged
    for conversation in services.conversations.list(alice.id):
        stored = services.conversations.get(alice.id, conversation.id)
        assert all(server_key not in (m.content + (m.error or "")) for m in stored.messages)
    if services.engine.url.get_backend_name() == "sqlite":
        path = Path(str(services.engine.url.database))
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert raw and server_key.encode() not in raw and SERVER_KEY_ENV.encode() not in raw


def test_a_server_that_is_down_shows_its_models_and_says_to_ask_the_admin(
    services: Services, alice: UserPublic, server_key: str
) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    register(services, team_server("gpu-box", down, f'["{LLAMA}"]'), team_server("spare", down, key_env=None))
    sections = services.catalog.load(alice.id)
    gpu, spare = section(sections, GPU_BOX), section(sections, "server/spare")
    assert [m.model_id for m in gpu.models] == [LLAMA] and gpu.models[0].offered, "the admin's list, unjudged"
    assert spare.models == () and spare.listing_failed and gpu.listing_failed
    assert gpu.listing is not None and gpu.listing.error_kind == ProviderErrorKind.UNREACHABLE.value
    assert "your team's server: it may be down. Ask your admin." in (gpu.listing.error or "")
    turn = services.chat.send(alice.id, Conversation(), "Anyone?", f"{GPU_BOX}/{LLAMA}")
    list(turn.batches())
    message = turn.finish()
    assert message.error_kind == ProviderErrorKind.UNREACHABLE.value
    assert "Ask your admin" in (message.error or "") and "key" not in (message.error or "")
    assert [m.role for m in services.conversations.get(alice.id, turn.conversation_id or 0).messages] == [
        "user",
        "assistant",
    ], "the user's message is kept"


def test_a_refused_server_key_says_to_ask_the_admin_never_to_fix_a_profile(
    services: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SERVER_KEY_ENV, "a-key-the-server-does-not-take")
    register(services, team_server("gpu-box", fake.base("server"), f'["{LLAMA}"]'))
    gpu = section(services.catalog.load(alice.id), GPU_BOX)
    assert gpu.listing is not None and gpu.listing.error_kind == ProviderErrorKind.REJECTED_KEY.value
    turn = services.chat.send(alice.id, Conversation(), "Hi", f"{GPU_BOX}/{LLAMA}")
    list(turn.batches())
    message = turn.finish()
    assert (
        message.error
        == "gpu-box, your team's server, refused this app's key for it. Ask your admin to check the server's key."
    )
    assert not fixed_on_profile(message.error_kind, message.model)
    assert fixed_on_profile(message.error_kind, "openai/gpt-4o")


@pytest.mark.parametrize(
    ("section_text", "warning"),
    [
        ('[servers.Big-Box]\nbase_url = "http://10.0.0.5/v1"\nmodels = "list"', "a server's name is"),
        ('[servers.x]\nmodels = "list"', "base_url is missing"),
        ('[servers.x]\nbase_url = "ftp://10.0.0.5/v1"\nmodels = "list"', "http:// or https://"),
        ('[servers.x]\nbase_url = "http://admin:pw@10.0.0.5/v1"\nmodels = "list"', "user name or password"),
        ('[servers.x]\nbase_url = "http://10.0.0.5/v1?key=1"\nmodels = "list"', "query"),
        ('[servers.x]\nbase_url = "http://10.0.0.5/v1#x"\nmodels = "list"', "fragment"),
        ('[servers.x]\nbase_url = "http://10.0.0.5:99999/v1"\nmodels = "list"', "malformed"),
        ('[servers.x]\nbase_url = "http://10.0.0.5/v1"\nmodels = "all"', 'or "list"'),
        ('[servers.x]\nbase_url = "http://10.0.0.5/v1"\nmodels = "list"\napi_key_env = "my key"', "api_key_env must"),
        (
            '[servers.x]\nbase_url = "http://10.0.0.5/v1"\nmodels = "list"\napi_key_env = "OPENAI_API_KEY"',
            "a provider key",
        ),
        (
            '[servers.x]\nbase_url = "http://10.0.0.5/v1"\nmodels = "list"\napi_key_env = "APP_MASTER_KEY"',
            "a provider key",
        ),
        ('[servers.x]\nbase_url = "http://10.0.0.5/v1"\nmodels = "list"\nlabel = 3', "label must be"),
    ],
)
def test_an_invalid_server_entry_is_skipped_with_a_warning_saying_what_to_fix(
    services: Services, alice: UserPublic, caplog: pytest.LogCaptureFixture, section_text: str, warning: str
) -> None:
    path = register(services, section_text, team_server("fine", "http://10.0.0.6:8000/v1", '["a-model"]', None))
    with caplog.at_level(logging.WARNING, logger="core.models.registry_file"):
        servers = load_servers(services.settings)
    assert [server.spec.id for server in servers] == ["server/fine"], "the neighbour stays"
    assert any(warning in r.getMessage() and str(path) in r.getMessage() for r in caplog.records), caplog.text


def test_an_invalid_model_id_or_unknown_key_skips_only_that_part(caplog: pytest.LogCaptureFixture) -> None:
    data = {"x": {"base_url": "http://10.0.0.5/v1", "models": [LLAMA, "../etc", "a//b", LLAMA], "port": 1}}
    with caplog.at_level(logging.WARNING, logger="core.models.registry_file"):
        [server] = parse_servers(data, "models.toml")
    assert [m.id for m in server.models] == [LLAMA]
    text = caplog.text
    assert "unknown key(s) port" in text and "'../etc' is not a valid" in text and "listed twice" in text


def test_a_named_key_variable_that_is_not_set_is_warned_about(
    services: Services, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SERVER_KEY_ENV, raising=False)
    register(services, team_server("gpu-box", "http://10.0.0.5:8000/v1"))
    with caplog.at_level(logging.WARNING, logger="core.models.registry_file"):
        assert load_servers(services.settings)
    assert f"{SERVER_KEY_ENV} is not set" in caplog.text


@pytest.mark.parametrize(
    "ref",
    [
        "server/evil-box/gpt-4o",  # no server of that name
        "server/gpu-box/../../v1/chat",  # not a model ID
        "server/gpu-box/http://169.254.169.254/latest",  # an address is never a model ID
        "server//x",
    ],
)
def test_a_user_cannot_point_a_chat_at_an_unregistered_server(
    services: Services, fake: FakeProviders, alice: UserPublic, server_key: str, ref: str
) -> None:
    register(services, team_server("gpu-box", fake.base("server")))
    turn = services.chat.send(alice.id, Conversation(), "Hi", ref)
    list(turn.batches())
    assert isinstance(turn.reply.error, UnknownModel)
    comparison = services.chat.compare(alice.id, [ref, f"{GPU_BOX}/{LLAMA}"], "Hi", Conversation().settings)
    list(comparison.batches())
    assert [r.error is None for r in comparison.finish()] == [False, True]
    assert [r.model for r in chat_posts(fake)] == [LLAMA], "only the registered server was called"


def test_a_server_taken_out_of_the_registry_can_no_longer_be_chatted_with(
    services: Services, fake: FakeProviders, alice: UserPublic, server_key: str
) -> None:
    path = register(services, team_server("gpu-box", fake.base("server")))
    assert section(services.catalog.load(alice.id), GPU_BOX).models
    path.write_text(team_server("other-box", fake.base("server"), f'["{QWEN}", "x-model-of-its-own"]'))
    turn = services.chat.send(alice.id, Conversation(), "Hi", f"{GPU_BOX}/{LLAMA}")
    list(turn.batches())
    assert isinstance(turn.reply.error, UnknownModel) and "other-box" in str(turn.reply.error)
    assert not chat_posts(fake)


def test_the_admins_key_variables_survive_start_and_provider_keys_do_not(
    env: Path, monkeypatch: pytest.MonkeyPatch, server_key: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-server-side-key-never-used")
    services = open_services(load_settings())
    try:
        assert "OPENAI_API_KEY" not in os.environ and os.environ[SERVER_KEY_ENV] == server_key
    finally:
        services.engine.dispose()
