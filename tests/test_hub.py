"""Hugging Face access checks with the user's own token, against the loopback fake Hub."""

from __future__ import annotations

import pytest

from core.accounts.users import UserPublic
from core.errors import InvalidInput, MissingCredential, ProviderErrorKind
from core.local.access import check_user_access
from core.providers.failures import MESSAGES
from core.providers.hub import HubError, clean_repo_id
from core.services import Services
from tests.fakes.hub import GATED_REPO, OPEN_REPO, FakeHub
from tests.helpers import open_page, signed_in

GUIDE_MESSAGE = (
    "This model is gated on Hugging Face. Please request access and accept the license terms on the model page, "
    "then try again."
)


def check(services: Services, user: UserPublic, repo_id: str):
    return check_user_access(services.credentials, services.settings, user.id, repo_id)


def save_token(services: Services, user: UserPublic, token: str) -> None:
    services.credentials.save(user.id, "huggingface", {"token": token})


def test_the_gated_message_is_the_guides_word_for_word() -> None:
    assert MESSAGES[ProviderErrorKind.GATED].text == GUIDE_MESSAGE


def test_gated_model_without_access_gets_the_guides_message(
    services: Services, hub: FakeHub, alice: UserPublic
) -> None:
    save_token(services, alice, "hf_test_reader_token")
    with pytest.raises(HubError) as caught:
        check(services, alice, GATED_REPO)
    assert str(caught.value) == GUIDE_MESSAGE
    assert {r.token for r in hub.requests} == {"hf_test_reader_token"}


def test_granted_and_open_models_are_accessible(services: Services, hub: FakeHub, alice: UserPublic) -> None:
    save_token(services, alice, "hf_test_granted_token")
    gated = check(services, alice, GATED_REPO)
    assert gated.gated is True and gated.page_url == f"{hub.url}/{GATED_REPO}"
    assert check(services, alice, OPEN_REPO).gated is False


def test_rejected_token_and_unknown_model(services: Services, alice: UserPublic) -> None:
    save_token(services, alice, "hf_revoked_token_123456")
    with pytest.raises(HubError, match="rejected the saved token"):
        check(services, alice, OPEN_REPO)
    save_token(services, alice, "hf_test_reader_token")
    with pytest.raises(HubError, match="does not offer the model nobody/nothing"):
        check(services, alice, "nobody/nothing")


def test_no_token_saved_makes_no_request(services: Services, hub: FakeHub, alice: UserPublic) -> None:
    with pytest.raises(MissingCredential, match="Hugging Face"):
        check(services, alice, OPEN_REPO)
    assert hub.requests == []


@pytest.mark.parametrize(
    "text",
    ["", "   ", "llama", "https://huggingface.co/meta-llama/x", "a/../b", "../etc/passwd", "a/b/c", "a b/c", "owner/"],
)
def test_repo_ids_are_validated(text: str) -> None:
    with pytest.raises(InvalidInput):
        clean_repo_id(text)


def test_repo_id_is_trimmed() -> None:
    assert clean_repo_id("  meta-llama/Meta-Llama-3-8B  ") == "meta-llama/Meta-Llama-3-8B"


def test_the_gated_and_not_found_errors_carry_the_model_page(services: Services, hub: FakeHub, alice: UserPublic):
    save_token(services, alice, "hf_test_reader_token")
    with pytest.raises(HubError) as gated:
        check(services, alice, GATED_REPO)
    assert gated.value.page_url == f"{hub.url}/{GATED_REPO}"
    with pytest.raises(HubError) as missing:
        check(services, alice, "nobody/nothing")
    assert missing.value.page_url == f"{hub.url}/nobody/nothing"
    save_token(services, alice, "hf_revoked_token_123456")
    with pytest.raises(HubError) as rejected:
        check(services, alice, OPEN_REPO)
    assert rejected.value.page_url is None, "the fix is on Profile, not on the model page"


def test_the_models_page_follows_the_gated_message_with_a_link_to_the_model_page(
    services: Services, hub: FakeHub, alice: UserPublic
) -> None:
    save_token(services, alice, "hf_test_reader_token")
    at = open_page(signed_in(), "models")
    at.text_input(key="hub_repo_id").input(GATED_REPO)
    at.button(key="hub_check").click().run()
    assert [e.value for e in at.error] == [GUIDE_MESSAGE]
    [link] = at.link_button
    assert (link.proto.label, link.proto.url) == (f"Open {GATED_REPO} on Hugging Face", f"{hub.url}/{GATED_REPO}")
    at.text_input(key="hub_repo_id").input(OPEN_REPO)
    at.button(key="hub_check").click().run()
    assert not at.error and not at.link_button
    assert [s.value for s in at.success] == [f"Your token can download [{OPEN_REPO}]({hub.url}/{OPEN_REPO})."]
