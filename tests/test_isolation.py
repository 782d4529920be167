"""Two users, every credential, every function that reads, uses, changes, lists or deletes one: B never reaches A's."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core.accounts.users import UserPublic
from core.chat.completion import CompletionParams
from core.chat.conversations import Conversation, ConversationNotFound, ConversationStore
from core.chat.paging import PagedConversationStore
from core.credentials.key_test import KeyRejected
from core.credentials.store import CredentialStore
from core.errors import MissingCredential
from core.local.access import check_user_access
from core.models.catalog import available_models, build_catalog
from core.models.deployments import Deployments, DeploymentStore
from core.models.listings import ListingStore
from core.providers.registry import PROVIDERS, keyed_providers
from core.services import Services
from tests.fakes.hub import FakeHub
from tests.fakes.providers import DEFAULT_KEYS, FakeProviders
from tests.helpers import PASSWORD, ROOT, open_page, page_text, signed_in
from ui.signin import VERIFIED_THIS_RUN

pytestmark = pytest.mark.both_backends

ALICE = {**DEFAULT_KEYS, "huggingface": "hf_test_granted_token"}
PROVIDER_IDS = [spec.id for spec in keyed_providers()]


def values(fake: FakeProviders, provider: str, key: str) -> dict[str, str]:
    field = "token" if provider == "huggingface" else "api_key"
    extra = {"endpoint": fake.url} if provider == "azure" else {}
    return {field: key, **extra}


@pytest.fixture
def alice_keys(services: Services, fake: FakeProviders, alice: UserPublic) -> dict[str, dict[str, str]]:
    """Alice has a credential for every provider; what each decrypts to."""
    for provider in PROVIDER_IDS:
        services.credentials.save(alice.id, provider, values(fake, provider, ALICE[provider]))
    return {provider: services.credentials.secrets(alice.id, provider) for provider in PROVIDER_IDS}


def unchanged(services: Services, alice: UserPublic, before: dict[str, dict[str, str]]) -> None:
    assert {p: services.credentials.secrets(alice.id, p) for p in PROVIDER_IDS} == before
    assert all(view.status is None for view in services.credentials.list(alice.id).values())


def chat_ref(provider: str) -> str:
    spec = next(s for s in PROVIDERS if s.id == provider)
    return f"{provider}/{spec.default_models[0].id}" if spec.default_models else f"{provider}/my-gpt4o"


OPERATIONS: dict[str, Callable[[Services, FakeProviders, UserPublic, str], object]] = {
    "read": lambda s, f, bob, p: s.credentials.secrets(bob.id, p),
    "list": lambda s, f, bob, p: s.credentials.list(bob.id),
    "catalog": lambda s, f, bob, p: available_models(build_catalog(s.credentials.list(bob.id))),
    "delete": lambda s, f, bob, p: s.credentials.delete(bob.id, p),
    "record use": lambda s, f, bob, p: s.credentials.record_use(bob.id, p, "boom"),
    "record test": lambda s, f, bob, p: s.credentials.record_test(bob.id, p, "rejected", "boom"),
    "test again": lambda s, f, bob, p: s.key_tests.retest(bob.id, p),
}


@pytest.mark.parametrize("provider", PROVIDER_IDS)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_bob_cannot_reach_alices_credential(
    services: Services,
    fake: FakeProviders,
    alice: UserPublic,
    bob: UserPublic,
    alice_keys: dict[str, dict[str, str]],
    operation: str,
    provider: str,
):
    try:
        result = OPERATIONS[operation](services, fake, bob, provider)
    except MissingCredential:
        result = None
    assert result in (None, {}, [], False), f"{operation} gave Bob something: {result!r}"
    unchanged(services, alice, alice_keys)
    assert fake.requests == [], "nothing was sent to a provider in Bob's name"


@pytest.mark.parametrize("provider", [spec.id for spec in keyed_providers() if spec.chat_capable])
def test_bob_cannot_chat_with_alices_key(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic, alice_keys, provider: str
):
    turn = services.chat.send(bob.id, Conversation(), "hi", chat_ref(provider))
    assert list(turn.batches()) == []
    assert isinstance(turn.reply.error, MissingCredential)
    with pytest.raises(MissingCredential):
        services.chat.complete(bob.id, chat_ref(provider), [{"role": "user", "content": "hi"}], CompletionParams())
    assert fake.requests == []
    unchanged(services, alice, alice_keys)


def test_bob_cannot_use_alices_hugging_face_token(
    services: Services, hub: FakeHub, alice: UserPublic, bob: UserPublic, alice_keys
):
    with pytest.raises(MissingCredential):
        check_user_access(services.credentials, services.settings, bob.id, "tiny/open-model")
    assert hub.requests == []


@pytest.mark.parametrize("provider", [spec.id for spec in keyed_providers() if spec.chat_capable])
def test_bobs_save_changes_only_bobs_row(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic, alice_keys, provider: str
):
    bob_key = f"bob-{provider}-key-0001"
    fake.keys[provider].add(bob_key)
    services.key_tests.save(bob.id, provider, values(fake, provider, bob_key))
    assert services.credentials.secrets(bob.id, provider)["api_key"] == bob_key
    assert services.credentials.secrets(alice.id, provider) == alice_keys[provider]
    assert services.credentials.list(alice.id)[provider].status is None
    with pytest.raises(KeyRejected):
        services.key_tests.save(bob.id, provider, values(fake, provider, "bob-bad-0002"))
    assert services.credentials.secrets(alice.id, provider) == alice_keys[provider]
    assert {r.key for r in fake.requests} == {bob_key, "bob-bad-0002"}


@pytest.mark.parametrize(
    "store", [CredentialStore, ConversationStore, PagedConversationStore, DeploymentStore, Deployments, ListingStore]
)
def test_every_per_user_store_function_is_scoped_by_user(store: type):
    """No public method of a per-user store takes a row id alone: the first argument is the signed-in user."""
    methods = [(n, m) for n, m in inspect.getmembers(store, inspect.isfunction) if not n.startswith("_")]
    assert methods
    for name, method in methods:
        assert list(inspect.signature(method).parameters)[1] == "user_id", f"{store.__name__}.{name}"


def test_bob_cannot_open_rename_or_delete_alices_chat(services: Services, alice: UserPublic, bob: UserPublic):
    chat = services.conversations.create(alice.id)
    with pytest.raises(ConversationNotFound):
        services.conversations.get(bob.id, chat.id)
    with pytest.raises(ConversationNotFound):
        services.conversations.rename(bob.id, chat.id, "mine now")
    assert services.conversations.delete(bob.id, chat.id) is False
    assert services.conversations.list(bob.id) == []
    assert [c.id for c in services.conversations.list(alice.id)] == [chat.id]


def test_identity_never_comes_from_a_query_parameter_or_widget(services: Services, alice: UserPublic, bob: UserPublic):
    at = signed_in("bob")
    at.query_params["username"] = "alice"
    at.query_params["user"] = "alice"
    open_page(at, "profile")
    assert "Bob Example" in page_text(at) and "Alice Example" not in page_text(at)

    anonymous = signed_in("bob")
    del anonymous.session_state["signed_in"]
    anonymous.query_params["username"] = "alice"
    open_page(anonymous, "profile")
    assert "Alice Example" not in page_text(anonymous)
    assert [info.value for info in anonymous.info] == ["Please sign in to continue."]
    assert not anonymous.expander, "no provider card is drawn"


def test_a_page_takes_only_the_account_its_router_verified_in_the_same_run(
    services: Services, alice: UserPublic, bob: UserPublic
) -> None:
    """The router hands the page the account it verified; a hand-off left over or planted is never taken."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[VERIFIED_THIS_RUN] = alice
    at.run()
    assert "Alice Example" not in page_text(at) and not at.sidebar.button, "nobody is signed in"
    assert VERIFIED_THIS_RUN not in at.session_state, "cleared by the router"
    at.session_state[VERIFIED_THIS_RUN] = alice
    at.text_input[0].input("bob")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert [c.value for c in at.sidebar.caption] == ["Signed in as **Bob Example** (bob)"]
    assert "Alice Example" not in page_text(at)
    assert VERIFIED_THIS_RUN not in at.session_state, "taken by the page it was verified for"

    at.session_state[VERIFIED_THIS_RUN] = "alice"  # not an account: a page that runs alone looks the user up itself
    open_page(at, "profile")
    assert "Bob Example" in page_text(at) and "Alice Example" not in page_text(at)
