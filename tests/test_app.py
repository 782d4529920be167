"""The user guide, end to end in Streamlit's AppTest: sign in, save a key, see its models, chat."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.accounts.users import UserPublic
from core.config import load_settings
from core.services import Services, open_services
from tests.fakes.providers import FakeProviders
from tests.helpers import (
    OPENAI_KEY,
    ROOT,
    card_input,
    model_tables,
    open_page,
    page_text,
    save_openai_key,
    signed_in,
    type_model,
)


@pytest.mark.parametrize("page", ["profile", "models", "chat"])
def test_pages_show_nothing_without_sign_in(services: Services, alice: UserPublic, page: str) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=30).run()
    assert [info.value for info in at.info] == ["Please sign in to continue."]
    assert not at.expander and not at.text_input and not at.chat_input and not model_tables(at)


def test_a_fresh_install_says_how_to_create_the_first_account(services: Services) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert any("python -m core.cli add-user" in info.value for info in at.info)


def test_sign_in_form_then_wrong_password(services: Services, alice: UserPublic) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.tabs, "sign-up is off unless APP_ALLOW_SIGNUP=1"
    assert not at.info, "the first-account hint is gone once an account exists"
    at.text_input[0].input("alice")
    at.text_input[1].input("wrong password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    assert "signed_in" not in at.session_state


def test_sign_up_when_allowed(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ALLOW_SIGNUP", "1")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert [tab.label for tab in at.tabs] == ["Sign in", "Create an account"]
    values = {
        "User name": "carol",
        "Full name": "Carol Example",
        "Email": "carol@example.com",
        "Password": "Str0ng!Passw0rd",
        "Repeat password": "Str0ng!Passw0rd",
    }
    for element in at.tabs[1].text_input:
        element.input(values[element.label])
    at.tabs[1].button[0].click().run()
    assert not at.exception, at.exception
    assert open_services(load_settings()).users.get("carol") is not None
    assert [c.value for c in at.sidebar.caption] == ["Signed in as **Carol Example** (carol)"], "signed in at once"


def test_the_whole_guide(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    at = signed_in()
    open_page(at, "models")
    assert not model_tables(at)
    assert "No provider key is saved yet" in page_text(at)

    save_openai_key(at)
    assert at.expander[0].label.startswith("OpenAI · :green[valid] …alid")
    assert [toast.value for toast in at.toast] == ["OpenAI API key saved: valid."]
    state = {key: repr(at.session_state[key]) for key in at.session_state._state._state.filtered_state}
    assert not [key for key, value in state.items() if OPENAI_KEY in value]

    open_page(at, "models")
    listed = at.dataframe(key="models_table:openai").value
    assert list(listed["Model"]) == ["GPT-4o mini — gpt-4o-mini", "GPT-4o — gpt-4o"]

    open_page(at, "chat")
    assert at.selectbox(key="chat_model").value == "openai/gpt-4o-mini"
    at.chat_input(key="chat_input").set_value("Hello there").run()
    assert not at.exception, at.exception
    shown = page_text(at)
    assert "Hello there" in shown
    assert fake.reply_text("openai", "gpt-4o-mini") in shown
    assert [(r.key, r.model) for r in fake.requests if r.method == "POST"] == [(OPENAI_KEY, "gpt-4o-mini")]
    assert OPENAI_KEY not in shown

    at.run()
    assert fake.reply_text("openai", "gpt-4o-mini") in page_text(at), "the conversation stays across reruns"


def test_refused_key_is_explained_at_the_field_and_changes_nothing(services: Services, alice: UserPublic) -> None:
    at = signed_in()
    save_openai_key(at)
    at.button(key="replace:openai").click().run()
    card_input(at, "openai", "api_key").input("sk-has spaces inside")
    at.button(key="save:openai").click().run()
    assert any("spaces" in e.value for e in at.error)
    assert services.credentials.secrets(alice.id, "openai") == {"api_key": OPENAI_KEY}
    assert card_input(at, "openai", "api_key").value in ("", None), "a typed secret is not kept"


def test_replace_then_delete(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    fake.keys["openai"].add("sk-replacement-key-9999")
    at = signed_in()
    save_openai_key(at)
    at.button(key="replace:openai").click().run()
    card_input(at, "openai", "api_key").input("sk-replacement-key-9999")
    at.button(key="save:openai").click().run()
    assert services.credentials.secrets(alice.id, "openai") == {"api_key": "sk-replacement-key-9999"}
    assert at.expander[0].label.endswith("…9999")

    at.button(key="delete:openai").click().run()
    at.button(key="confirm_delete:openai").click().run()
    assert services.credentials.list(alice.id) == {}
    assert at.expander[0].label == "OpenAI · not set"
    open_page(at, "models")
    assert not model_tables(at)


def test_azure_deployment_chat_by_typed_model_id(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    at = signed_in()
    open_page(at, "profile")
    card_input(at, "azure", "endpoint").input(fake.url)
    card_input(at, "azure", "api_key").input("azure-test-azure-valid")
    at.button(key="save:azure").click().run()
    assert [toast.value for toast in at.toast] == ["Azure OpenAI API key saved: valid."]

    open_page(at, "models")
    assert "deployment name" in page_text(at)

    open_page(at, "chat")
    type_model(at, "azure/my-gpt4o")
    at.chat_input(key="chat_input").set_value("Hi Azure").run()
    assert fake.reply_text("azure", "my-gpt4o") in page_text(at)
    assert fake.requests[-1].key == "azure-test-azure-valid"

    open_page(at, "models")
    open_page(at, "chat")
    assert at.selectbox(key="chat_model").value == "azure/my-gpt4o", "the choice survives a visit to another page"
    assert fake.reply_text("azure", "my-gpt4o") in page_text(at), "and so does the conversation"


def test_azure_endpoint_refused_at_the_field(services: Services, alice: UserPublic) -> None:
    at = signed_in()
    open_page(at, "profile")
    card_input(at, "azure", "endpoint").input("https://evil.example.com")
    card_input(at, "azure", "api_key").input("azure-test-azure-valid")
    at.button(key="save:azure").click().run()
    assert any("Only Azure OpenAI endpoints" in e.value for e in at.error)
    assert services.credentials.list(alice.id) == {}
    assert card_input(at, "azure", "endpoint").value == "https://evil.example.com", "non-secret input kept to fix"


def test_rejected_key_in_chat_says_what_to_do_and_keeps_the_message(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    fake.keys["openai"].add("sk-revoked-key-0000")
    at = signed_in()
    save_openai_key(at, "sk-revoked-key-0000")
    fake.keys["openai"].discard("sk-revoked-key-0000")  # revoked after it was saved
    open_page(at, "chat")
    at.chat_input(key="chat_input").set_value("Is my key fine?").run()
    assert any(
        e.value == "OpenAI rejected the saved key. Update it in Profile → Provider Keys → OpenAI." for e in at.error
    )
    assert "Is my key fine?" in page_text(at)
    assert "sk-revoked" not in page_text(at)

    open_page(at, "profile")
    shown = page_text(at)
    assert "Not used for a chat yet." not in shown
    assert "OpenAI rejected the saved key. Update it in Profile → Provider Keys → OpenAI." in shown


def test_chat_without_any_key_points_to_profile(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    at = signed_in()
    open_page(at, "chat")
    assert "add a provider key in Profile" in page_text(at)
    type_model(at, "openai/gpt-4o")
    at.chat_input(key="chat_input").set_value("anyone there?").run()
    assert any("No OpenAI key is saved" in e.value for e in at.error)
    assert fake.requests == []


def test_users_see_only_their_own_credentials(services: Services, alice: UserPublic, bob: UserPublic) -> None:
    save_openai_key(signed_in("alice"))
    at = open_page(signed_in("bob"), "profile")
    assert at.expander[0].label == "OpenAI · not set"
    open_page(at, "models")
    assert not model_tables(at)


def test_sign_out_returns_to_the_sign_in_form(services: Services, alice: UserPublic) -> None:
    at = signed_in()
    at.sidebar.button(key="sign_out").click().run()
    assert not at.exception, at.exception
    assert "signed_in" not in at.session_state
    assert not at.chat_input and not at.sidebar.button
    assert [i.value for i in at.info] == ["Please sign in to continue."]
    assert services.sessions.list(alice.id) == [], "the session is ended on the server, not only in this tab"


def test_a_deleted_account_is_signed_out(services: Services, alice: UserPublic) -> None:
    at = signed_in()
    services.users.delete("alice")
    at.run()
    assert "signed_in" not in at.session_state
    assert not at.chat_input


def test_models_page_checks_hugging_face_access(services: Services, alice: UserPublic) -> None:
    from tests.fakes.hub import GATED_REPO, OPEN_REPO

    at = signed_in()
    open_page(at, "models")
    assert not [t for t in at.text_input if t.key == "hub_repo_id"], "no check without a saved token"
    open_page(at, "profile")
    card_input(at, "huggingface", "token").input("hf_test_reader_token")
    at.button(key="save:huggingface").click().run()
    open_page(at, "models")
    at.text_input(key="hub_repo_id").input(GATED_REPO)
    at.button(key="hub_check").click().run()
    assert [e.value for e in at.error] == [
        "This model is gated on Hugging Face. Please request access and accept the license terms on the model page, "
        "then try again."
    ]
    at.text_input(key="hub_repo_id").input(OPEN_REPO)
    at.button(key="hub_check").click().run()
    assert any(OPEN_REPO in s.value for s in at.success)


def test_a_key_the_provider_rejects_is_not_saved(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    at = signed_in()
    save_openai_key(at, "sk-typo-in-the-key-1234")
    assert not at.exception, at.exception
    assert any("OpenAI rejected this key" in e.value and "Nothing was saved" in e.value for e in at.error)
    assert services.credentials.list(alice.id) == {}
    assert at.expander[0].label == "OpenAI · not set"
    assert card_input(at, "openai", "api_key").value in ("", None)


def test_an_unreachable_provider_saves_unverified_then_test_again(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    fake.fail("openai", "server_error")
    at = signed_in()
    save_openai_key(at)
    assert at.expander[0].label == "OpenAI · :orange[unverified (provider unreachable)] …alid"
    assert [toast.value for toast in at.toast] == ["OpenAI API key saved, marked unverified (provider unreachable)."]
    assert "Tested just now: OpenAI is having problems (HTTP 500)." in page_text(at)

    at.button(key="retest:openai").click().run()
    assert not at.exception, at.exception
    assert at.expander[0].label == "OpenAI · :green[valid] …alid"
    assert [toast.value for toast in at.toast] == ["OpenAI API key tested again: valid."]
    assert services.credentials.list(alice.id)["openai"].status.test_result == "valid"


def test_the_card_shows_the_last_test_and_that_the_key_was_never_used(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    at = signed_in()
    save_openai_key(at)
    assert "Tested just now: OpenAI lists 2 chat models for this key. Not used for a chat yet." in page_text(at)


def test_a_saved_key_is_listed_once_for_its_test_and_models(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    at = signed_in()
    save_openai_key(at)
    open_page(at, "models")
    open_page(at, "chat")
    listings = [r for r in fake.requests if r.provider == "openai" and r.method == "GET"]
    assert len(listings) == 1, "the key test's listing is the Models page's first listing"
    listing = services.listings.get(alice.id)["openai"]
    assert listing.current and [m.id for m in listing.models] == ["gpt-4o-mini", "gpt-4o"]


def test_azure_deployments_on_the_profile_card_reach_models_and_chat(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    at = signed_in()
    open_page(at, "profile")
    card_input(at, "azure", "endpoint").input(fake.url)
    card_input(at, "azure", "api_key").input("azure-test-azure-valid")
    at.button(key="save:azure").click().run()
    at.text_input(key="deployment_name:azure").input("my-gpt4o")
    at.button(key="add_deployment:azure").click().run()
    assert not at.exception, at.exception
    assert "azure/my-gpt4o" in page_text(at)

    open_page(at, "chat")
    at.selectbox(key="chat_model").set_value("azure/my-gpt4o").run()
    at.chat_input(key="chat_input").set_value("Hi deployment").run()
    assert fake.reply_text("azure", "my-gpt4o") in page_text(at)
