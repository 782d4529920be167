"""The credential store: encrypted at rest, masked when shown, validated on save, isolated per user."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.accounts.users import UserPublic
from core.config import load_settings
from core.credentials.store import mask
from core.errors import CredentialUnreadable, InvalidInput, MissingCredential
from core.services import Services, open_services
from tests.helpers import stored_bytes

pytestmark = pytest.mark.both_backends

SENTINEL = "sk-SENTINEL-openai-0123456789abcdef-a1b2"


def test_save_shows_only_the_last_four(services: Services, alice: UserPublic) -> None:
    public = services.credentials.save(alice.id, "openai", {"api_key": f"  {SENTINEL}\t"})
    assert public.masked == "…a1b2"
    assert SENTINEL not in repr(public)
    assert services.credentials.secrets(alice.id, "openai") == {"api_key": SENTINEL}


def test_mask_never_shows_a_prefix() -> None:
    assert mask("sk-ant-api03-abcdefghijkl-WXYZ") == "…WXYZ"
    assert mask("short") == "…"


def test_no_key_in_clear_in_the_database_file(services: Services, alice: UserPublic, env) -> None:
    services.credentials.save(alice.id, "openai", {"api_key": SENTINEL})
    services.credentials.save(
        alice.id,
        "azure",
        {"endpoint": "https://my-res.openai.azure.com", "api_key": SENTINEL + "-azure", "api_version": ""},
    )
    raw = stored_bytes(services)
    assert b"azure" in raw and b"openai" in raw  # the rows were searched (provider names are stored in clear)
    assert SENTINEL.encode() not in raw
    assert b"a1b2" not in raw


def test_credentials_survive_a_restart(services: Services, alice: UserPublic) -> None:
    services.credentials.save(alice.id, "gemini", {"api_key": "AIza-sentinel-gemini-key-9876"})
    services.engine.dispose()
    reopened = open_services(load_settings())
    assert reopened.credentials.secrets(alice.id, "gemini") == {"api_key": "AIza-sentinel-gemini-key-9876"}


def test_azure_defaults_its_api_version_and_normalizes_the_endpoint(services: Services, alice: UserPublic) -> None:
    public = services.credentials.save(
        alice.id, "azure", {"endpoint": "https://My-Res.openai.azure.com/", "api_key": SENTINEL, "api_version": ""}
    )
    assert public.details == {"Endpoint URL": "https://my-res.openai.azure.com", "API version": "2024-10-21"}


@pytest.mark.parametrize(
    ("provider", "values", "field"),
    [
        ("openai", {"api_key": ""}, "api_key"),
        ("openai", {"api_key": "   \t "}, "api_key"),
        ("openai", {"api_key": None}, "api_key"),
        ("openai", {"api_key": "sk-" + "x" * 5000}, "api_key"),
        ("openai", {"api_key": "sk-abc\ndef"}, "api_key"),
        ("openai", {"api_key": "sk-abc\x00def"}, "api_key"),
        ("openai", {"api_key": "sk-abc def"}, "api_key"),
        ("openai", {"api_key": "sk-ключ"}, "api_key"),
        ("azure", {"endpoint": "http://evil.example", "api_key": SENTINEL, "api_version": ""}, "endpoint"),
        (
            "azure",
            {"endpoint": "https://x.openai.azure.com", "api_key": SENTINEL, "api_version": "yesterday"},
            "api_version",
        ),
        ("azure", {"endpoint": "", "api_key": SENTINEL, "api_version": ""}, "endpoint"),
    ],
)
def test_refused_values_change_nothing(
    services: Services, alice: UserPublic, provider: str, values: dict, field: str
) -> None:
    previous = {"endpoint": "https://old.openai.azure.com", "api_key": "sk-previous-key-1111", "api_version": ""}
    services.credentials.save(alice.id, provider, {k: previous[k] for k in values})
    before = services.credentials.secrets(alice.id, provider)
    with pytest.raises(InvalidInput) as caught:
        services.credentials.save(alice.id, provider, values)
    assert caught.value.field == field
    assert services.credentials.secrets(alice.id, provider) == before
    for value in values.values():
        if value and value.strip() and len(value) < 100:
            assert value.strip() not in str(caught.value)


def test_replace_keeps_one_row_and_delete_removes_it(services: Services, alice: UserPublic) -> None:
    services.credentials.save(alice.id, "xai", {"api_key": "xai-first-key-0001"})
    services.credentials.save(alice.id, "xai", {"api_key": "xai-second-key-0002"})
    assert services.credentials.secrets(alice.id, "xai") == {"api_key": "xai-second-key-0002"}
    assert list(services.credentials.list(alice.id)) == ["xai"]
    assert services.credentials.delete(alice.id, "xai") is True
    assert services.credentials.list(alice.id) == {}
    with pytest.raises(MissingCredential):
        services.credentials.secrets(alice.id, "xai")


def test_users_never_see_each_other(services: Services, alice: UserPublic, bob: UserPublic) -> None:
    services.credentials.save(alice.id, "openai", {"api_key": SENTINEL})
    assert services.credentials.list(bob.id) == {}
    with pytest.raises(MissingCredential):
        services.credentials.secrets(bob.id, "openai")
    assert services.credentials.delete(bob.id, "openai") is False
    services.credentials.save(bob.id, "openai", {"api_key": "sk-bob-own-key-5555"})
    assert services.credentials.secrets(alice.id, "openai") == {"api_key": SENTINEL}


def test_a_row_copied_to_another_user_is_unreadable(services: Services, alice: UserPublic, bob: UserPublic) -> None:
    services.credentials.save(alice.id, "openai", {"api_key": SENTINEL})
    services.credentials.save(bob.id, "openai", {"api_key": "sk-bob-own-key-5555"})
    with services.engine.begin() as db:
        db.execute(
            text(
                "UPDATE credential SET ciphertext = "
                "(SELECT ciphertext FROM credential WHERE user_id = :a) WHERE user_id = :b"
            ),
            {"a": alice.id, "b": bob.id},
        )
    with pytest.raises(CredentialUnreadable):
        services.credentials.secrets(bob.id, "openai")
    assert services.credentials.list(bob.id)["openai"].readable is False
    assert services.credentials.secrets(alice.id, "openai") == {"api_key": SENTINEL}


def test_a_changed_master_key_marks_rows_for_re_entry(services: Services, alice: UserPublic, monkeypatch) -> None:
    from core.security.crypto import generate_master_key

    services.credentials.save(alice.id, "openai", {"api_key": SENTINEL})
    monkeypatch.setenv("APP_MASTER_KEY", generate_master_key())
    reopened = open_services(load_settings())
    view = reopened.credentials.list(alice.id)["openai"]
    assert view.readable is False and view.masked == ""
    with pytest.raises(CredentialUnreadable):
        reopened.credentials.secrets(alice.id, "openai")


def test_deleting_a_user_deletes_their_credentials(services: Services, alice: UserPublic) -> None:
    services.credentials.save(alice.id, "openai", {"api_key": SENTINEL})
    assert services.users.delete("alice") is True
    with services.engine.connect() as db:
        assert db.execute(text("SELECT COUNT(*) FROM credential")).scalar() == 0


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(services: Services) -> None:
    with services.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "xai"])
@pytest.mark.parametrize("field", ["api_base", "base_url", "endpoint"])
def test_a_user_can_never_set_a_base_url(services: Services, alice: UserPublic, provider: str, field: str) -> None:
    with pytest.raises(InvalidInput, match="has no field named"):
        services.credentials.save(alice.id, provider, {"api_key": "sk-user-key-0001", field: "https://evil.example"})
    assert services.credentials.list(alice.id) == {}


def test_an_azure_endpoint_is_checked_again_at_call_time(
    services: Services, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved while the admin allowed the origin; once it is no longer allowed, no call goes there."""
    from core.chat.conversations import Conversation
    from core.errors import InvalidEndpoint

    monkeypatch.setenv("APP_ALLOW_ENDPOINTS", "https://gateway.example.org")
    allowing = open_services(load_settings())
    allowing.credentials.save(alice.id, "azure", {"endpoint": "https://gateway.example.org", "api_key": "k" * 32})
    monkeypatch.setenv("APP_ALLOW_ENDPOINTS", "")
    turn = open_services(load_settings()).chat.send(alice.id, Conversation(), "hi", "azure/my-gpt4o")
    assert list(turn.batches()) == []
    assert isinstance(turn.reply.error, InvalidEndpoint)
