"""Profile → Provider Keys in AppTest: cards that stay open, one line of news, the how-to folded once a key is saved,
a key refused for a chat, help that matches the app, and times as people read them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, Expander, Node

from core.accounts.tokens import TOKEN_SHAPE
from core.accounts.users import UserPublic
from core.db.engine import session
from core.db.tables import Credential, CredentialStatus
from core.errors import InvalidToken
from core.providers.registry import PROVIDERS, get_provider
from core.services import Services
from tests.fakes.providers import FakeProviders
from tests.helpers import (
    OPENAI_KEY,
    card_input,
    open_page,
    page_text,
    save_openai_key,
    signed_in,
    state_text,
    tree_text,
)
from ui.format import exact, relative, zone_from

CARD = {spec.id: index for index, spec in enumerate(PROVIDERS)}
REFUSED = "OpenAI rejected the saved key. Update it in Profile → Provider Keys → OpenAI."


def card(at: AppTest, provider: str) -> Expander:
    return at.expander[CARD[provider]]


def is_open(at: AppTest, provider: str) -> bool:
    return card(at, provider).proto.expanded


def walk(node: Node) -> Iterator[Node]:
    """A block's elements and blocks, in the order the page draws them."""
    yield node
    if isinstance(node, Block):
        for index in sorted(node.children):
            yield from walk(node.children[index])


def popovers(node: Node) -> list[Block]:
    return [n for n in walk(node) if isinstance(n, Block) and n.type == "popover"]


def outside_popovers(node: Node) -> Iterator[Node]:
    """Like `walk`, but not into a popover's contents."""
    yield node
    if isinstance(node, Block) and node.type != "popover":
        for index in sorted(node.children):
            yield from outside_popovers(node.children[index])


def markdown_in(nodes: Iterator[Node]) -> list[str]:
    return [n.value for n in nodes if getattr(n, "type", None) in {"markdown", "caption"}]


def status_line(at: AppTest, provider: str) -> str:
    """The card's one status line: its first paragraph."""
    return card(at, provider).markdown[0].value


def save_key(at: AppTest, provider: str, **fields: str) -> AppTest:
    for name, value in fields.items():
        card_input(at, provider, name).input(value)
    at.button(key=f"save:{provider}").click().run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def chat(at: AppTest, text: str) -> None:
    open_page(at, "chat")
    at.chat_input(key="chat_input").set_value(text).run()
    assert not at.exception, at.exception


def backdate(services: Services, user: UserPublic, provider: str, **ages: timedelta) -> dict[str, datetime]:
    """Move a key's recorded times into the past (`tested_at=timedelta(days=2)`), as if that long had passed."""
    moments = {name: datetime.now(UTC) - age for name, age in ages.items()}
    with session(services.engine) as db:
        credential = db.exec(
            select(Credential).where(Credential.user_id == user.id, Credential.provider == provider)
        ).one()
        status = db.get(CredentialStatus, credential.id)
        for name, moment in moments.items():
            setattr(status, name, moment)
        db.add(status)
        db.commit()
    return moments


# --- A card never closes under the cursor ------------------------------------------------------------------------


def test_a_card_stays_open_through_save_replace_cancel_and_delete(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    fake.keys["openai"].add("sk-replacement-key-9999")
    at = open_page(signed_in(), "profile")
    assert not is_open(at, "openai"), "cards start closed"
    save_openai_key(at)
    assert is_open(at, "openai") and card(at, "openai").label.startswith("OpenAI · :green[valid]")
    for step in ("replace:openai", "cancel_replace:openai", "retest:openai", "delete:openai", "cancel:openai"):
        click(at, step)
        assert is_open(at, "openai"), f"closed after {step}"
    click(at, "replace:openai")
    save_key(at, "openai", api_key="sk-replacement-key-9999")
    assert is_open(at, "openai") and card(at, "openai").label.endswith("…9999")
    click(at, "replace:openai")
    click(at, "cancel_replace:openai")
    assert is_open(at, "openai"), "Replace then Cancel after a Save keeps the card open"
    at.run()
    assert is_open(at, "openai"), "and so does any later rerun"
    assert not any(is_open(at, provider) for provider in CARD if provider != "openai")


def test_a_card_the_user_closed_stays_closed(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    at = save_openai_key(signed_in())
    at.session_state[f"card:openai:{alice.id}"] = False  # the user folds the card, as the browser reports it
    at.run()
    assert not is_open(at, "openai")
    save_key(at, "xai", api_key="xai-test-xai-valid")
    assert is_open(at, "xai") and not is_open(at, "openai"), "a Save in another card opens only that one"
    at.session_state[f"card:openai:{alice.id}"] = True  # and opens it again
    at.run()
    assert is_open(at, "openai") and is_open(at, "xai")


def test_adding_an_azure_deployment_keeps_the_card_open(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    at = open_page(signed_in(), "profile")
    save_key(at, "azure", endpoint=fake.url, api_key="azure-test-azure-valid")
    at.session_state[f"card:azure:{alice.id}"] = False
    at.run()
    at.text_input(key="deployment_name:azure").input("my-gpt4o")
    click(at, "add_deployment:azure")
    assert is_open(at, "azure")
    assert any("`azure/my-gpt4o`" in text for text in markdown_in(walk(card(at, "azure"))))


# --- One save reports its news once ---------------------------------------------------------------------------


def test_a_save_says_its_news_once(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    at = save_openai_key(signed_in())
    openai = card(at, "openai")
    assert openai.label == "OpenAI · :green[valid] …alid"
    assert [toast.value for toast in at.toast] == ["OpenAI API key saved: valid."]
    assert not openai.success and not openai.warning and not openai.info and not openai.error
    line = status_line(at, "openai")
    assert line == "Tested just now: OpenAI lists 2 chat models for this key. Not used for a chat yet."
    assert "valid" not in line and "…alid" not in line, "the title says it already"
    [models] = openai.get("page_link")
    assert models.value == "See its models on Models" and models.proto.page.endswith("models")
    at.run()
    assert not at.toast, "told once, not on every rerun"


def test_a_save_the_provider_could_not_check_is_told_once_with_its_reason(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    fake.fail("openai", "forbidden")
    at = save_openai_key(signed_in())
    assert card(at, "openai").label == "OpenAI · :orange[no access / no credit] …alid"
    assert [toast.value for toast in at.toast] == ["OpenAI API key saved, marked no access / no credit."]
    assert status_line(at, "openai").startswith("Tested just now: OpenAI accepted the key but refused access")
    assert not card(at, "openai").warning


def test_a_rejected_key_is_explained_at_its_field_only(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    at = save_openai_key(signed_in(), "sk-typo-in-the-key-1234")
    [form] = card(at, "openai").form
    [error] = form.error
    assert "OpenAI rejected this key" in error.value and "Nothing was saved" in error.value
    assert len(card(at, "openai").error) == 1 and not at.toast
    assert is_open(at, "openai")


# --- The how-to folds away once a key is saved -------------------------------------------------------------------


def test_the_how_to_shows_until_a_key_is_saved_then_folds(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    spec = get_provider("openai")
    link = f"**{spec.create_label}**: [{spec.create_url}]({spec.create_url})"
    at = open_page(signed_in(), "profile")
    assert link in markdown_in(outside_popovers(card(at, "openai")))
    assert not popovers(card(at, "openai"))
    save_openai_key(at)
    shown = markdown_in(outside_popovers(card(at, "openai")))
    assert link not in shown and not [text for text in shown if spec.steps[0] in text]
    [how_to] = popovers(card(at, "openai"))
    assert how_to.proto.popover.label == "How to get a key"
    folded = markdown_in(walk(how_to))
    assert folded[0] == link and spec.steps[0] in folded[1]


# --- The delete question stands above its buttons ----------------------------------------------------------------


def test_the_delete_question_stands_above_its_buttons(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    at = click(save_openai_key(signed_in()), "delete:openai")
    order = list(walk(card(at, "openai")))
    [question] = [n for n in order if getattr(n, "type", None) == "warning"]
    assert question.value.startswith("Delete the saved OpenAI credential?")
    buttons = [n for n in order if getattr(n, "type", None) == "button"]
    assert [b.key for b in buttons] == ["confirm_delete:openai", "cancel:openai"]
    assert order.index(question) < order.index(buttons[0])
    click(at, "confirm_delete:openai")
    assert services.credentials.list(alice.id) == {}
    assert [toast.value for toast in at.toast] == ["OpenAI credential deleted."]


# --- A key refused for a chat -------------------------------------------------------------------------------------


def test_a_key_refused_for_a_chat_shows_rejected_at_chat_until_a_chat_works(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    fake.keys["openai"].add("sk-revoked-key-0000")
    at = save_openai_key(signed_in(), "sk-revoked-key-0000")
    assert card(at, "openai").label == "OpenAI · :green[valid] …0000"
    fake.keys["openai"].discard("sk-revoked-key-0000")  # revoked at the provider after it was saved
    chat(at, "Is my key fine?")
    assert any(e.value == REFUSED for e in at.error)

    open_page(at, "profile")
    assert card(at, "openai").label == "OpenAI · :red[rejected at chat] …0000"
    assert status_line(at, "openai") == f"Refused for a chat just now: {REFUSED}"
    status = services.credentials.list(alice.id)["openai"].status
    tooltip = card(at, "openai").markdown[0].proto.help
    assert f"Refused for a chat: {exact(status.error_at)}" in tooltip and "Last chat error" not in tooltip

    fake.keys["openai"].add("sk-revoked-key-0000")  # the provider takes it back
    chat(at, "And now?")
    assert fake.reply_text("openai", "gpt-4o-mini") in page_text(at)
    open_page(at, "profile")
    assert card(at, "openai").label == "OpenAI · :green[valid] …0000"
    assert status_line(at, "openai") == (
        "Tested just now: A chat worked with this key again. Last used for a chat just now."
    )


def test_another_chat_error_is_the_last_chat_s_not_the_key_s(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    at = save_openai_key(signed_in())
    fake.fail("openai", "server_error")
    chat(at, "Hello?")
    open_page(at, "profile")
    assert card(at, "openai").label == "OpenAI · :green[valid] …alid"
    line = status_line(at, "openai")
    assert line.startswith("Tested just now: OpenAI lists 2 chat models for this key. The last chat, just now, failed:")
    fake.reset()
    fake.keys["openai"].add(OPENAI_KEY)
    chat(at, "Hello again")
    open_page(at, "profile")
    assert status_line(at, "openai").endswith("Last used for a chat just now."), "a chat that works clears it"


# --- Help that matches the app -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "url"),
    [
        ("openai", "https://platform.openai.com/api-keys"),
        ("anthropic", "https://console.anthropic.com/settings/keys"),
        ("gemini", "https://aistudio.google.com/app/apikey"),
        ("xai", "https://console.x.ai/"),
        ("azure", "https://portal.azure.com/"),
        ("huggingface", "https://huggingface.co/settings/tokens"),
    ],
)
def test_each_card_links_where_keys_are_made_today(
    services: Services, alice: UserPublic, provider: str, url: str
) -> None:
    at = open_page(signed_in(), "profile")
    assert f"[{url}]({url})" in card(at, provider).markdown[0].value


def test_azure_says_its_deployments_reach_the_chat_picker(services: Services, fake: FakeProviders, alice) -> None:
    at = open_page(signed_in(), "profile")
    [note] = card(at, "azure").info
    assert "type `azure/" not in note.value and "Chat picker" in note.value
    save_key(at, "azure", endpoint=fake.url, api_key="azure-test-azure-valid")
    text = "\n".join(markdown_in(walk(card(at, "azure"))))
    assert "Chat picker" in text and "type `azure/" not in text


def test_hugging_face_says_what_its_token_is_for(services: Services, alice: UserPublic) -> None:
    at = open_page(signed_in(), "profile")
    save_key(at, "huggingface", token="hf_test_reader_token")
    hub = card(at, "huggingface")
    assert hub.label == "Hugging Face · :green[valid] …oken"
    assert [toast.value for toast in at.toast] == ["Hugging Face Read token saved: valid."]
    text = "\n".join(markdown_in(walk(hub)))
    assert status_line(at, "huggingface") == "Tested just now: Account reader; token can read models."
    assert "chat" not in status_line(at, "huggingface")
    assert "Its models are on the Models page" not in text and "not for chats" in text
    [link] = hub.get("page_link")
    assert link.value == "Check access to a model on Models"


# --- Times as people read them -------------------------------------------------------------------------------------


def test_times_read_relative_with_the_exact_time_in_the_browser_s_zone_on_hover(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    at = save_openai_key(signed_in())
    services.credentials.record_use(alice.id, "openai")
    moments = backdate(services, alice, "openai", tested_at=timedelta(days=3), used_at=timedelta(minutes=5))
    at.context = {"timezone": "Asia/Kolkata", "timezone_offset": -330}
    at.run()
    line = status_line(at, "openai")
    assert line == "Tested 3 days ago: OpenAI lists 2 chat models for this key. Last used for a chat 5 min ago."
    tooltip = card(at, "openai").markdown[0].proto.help
    kolkata = ZoneInfo("Asia/Kolkata")
    assert f"Tested: {exact(moments['tested_at'], kolkata)}" in tooltip
    assert f"Last used for a chat: {exact(moments['used_at'], kolkata)}" in tooltip
    assert tooltip.count("IST") == 3, "saved, tested, used: each in the browser's zone"

    at.context = {"timezone_offset": -330}  # a browser that gives only its offset
    at.run()
    assert f"Tested: {exact(moments['tested_at'], timezone(timedelta(hours=5, minutes=30)))}" in (
        card(at, "openai").markdown[0].proto.help
    )


NOW = datetime(2026, 12, 2, 14, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (NOW, "just now"),
        (NOW - timedelta(seconds=59), "just now"),
        (NOW + timedelta(seconds=30), "just now"),  # a clock a little ahead
        (NOW - timedelta(minutes=1), "1 min ago"),
        (NOW - timedelta(minutes=2, seconds=50), "2 min ago"),
        (NOW - timedelta(minutes=59), "59 min ago"),
        (NOW - timedelta(hours=1), "1 h ago"),
        (NOW - timedelta(hours=23, minutes=59), "23 h ago"),
        (NOW - timedelta(hours=24), "yesterday"),
        (NOW - timedelta(days=3), "3 days ago"),
        (NOW - timedelta(days=30), "30 days ago"),
        (NOW - timedelta(days=31), "1 Nov"),
        (datetime(2025, 11, 12, 9, 0, tzinfo=UTC), "12 Nov 2025"),
        (datetime(2026, 12, 2, 14, 1), "2 min ago"),  # naive, as the database gives it: UTC
        (NOW + timedelta(minutes=5), "in 5 min"),  # ahead: a session's expiry
        (NOW + timedelta(hours=23), "in 23 h"),
        (NOW + timedelta(hours=24), "tomorrow"),
        (NOW + timedelta(days=4), "in 4 days"),
        (NOW + timedelta(days=60), "31 Jan 2027"),
    ],
)
def test_relative_wording(moment: datetime, expected: str) -> None:
    assert relative(moment, NOW) == expected


def test_yesterday_and_days_count_calendar_days_in_the_viewer_s_zone() -> None:
    then = NOW - timedelta(hours=31)  # 07:03 UTC on 1 Dec
    assert relative(then, NOW, ZoneInfo("Asia/Tokyo")) == "yesterday"  # 16:03 on 1 Dec, now 23:03 on 2 Dec
    assert relative(then, NOW, ZoneInfo("America/Los_Angeles")) == "2 days ago"  # 23:03 on 30 Nov, now 06:03 on 2 Dec


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (UTC, "2 Dec 2026, 14:03 UTC"),
        (ZoneInfo("Europe/Berlin"), "2 Dec 2026, 15:03 CET"),
        (ZoneInfo("America/New_York"), "2 Dec 2026, 09:03 EST"),
        (timezone(timedelta(hours=5, minutes=30)), "2 Dec 2026, 19:33 UTC+05:30"),
    ],
)
def test_exact_time_names_its_zone(zone, expected: str) -> None:
    assert exact(NOW, zone) == expected


@pytest.mark.parametrize(
    ("name", "offset", "expected"),
    [
        ("Europe/Berlin", -60, ZoneInfo("Europe/Berlin")),
        ("Not/A_Zone", -60, timezone(timedelta(hours=1))),
        ("../etc/passwd", None, UTC),
        (None, 300, timezone(timedelta(hours=-5))),
        (None, None, UTC),
    ],
)
def test_the_browser_s_zone_from_its_name_else_its_offset(name, offset, expected) -> None:
    assert zone_from(name, offset) == expected


# --- API tokens ----------------------------------------------------------------------------------------------------


def create_token(at: AppTest, name: str, expiry: str = "90 days") -> AppTest:
    at.text_input(key="api_token_name").input(name)
    at.selectbox(key="api_token_expiry").set_value(expiry)
    return click(at, "create_api_token_submit")


def shown_token(at: AppTest) -> str:
    [code] = at.code
    assert re.fullmatch(TOKEN_SHAPE, code.value)
    return code.value


def test_a_new_token_is_shown_once_until_copied(services: Services, alice: UserPublic) -> None:
    at = create_token(open_page(signed_in(), "profile"), "my notebook", "30 days")
    token = shown_token(at)
    assert services.tokens.authenticate(token).user_id == alice.id
    assert "Token “my notebook” created. Copy it now: it is shown only this once." in [s.value for s in at.success]
    assert token not in state_text(at), "session state held it only for the run that shows it"
    click(at, "api_token_copied")
    assert not at.code
    assert token not in tree_text(at) and token not in state_text(at)
    assert "…" + token[-4:] in page_text(at), "listed masked"
    [listed] = services.tokens.list(alice.id)
    assert listed.expires_at is not None and (listed.expires_at - listed.created_at).days == 30


@pytest.mark.parametrize("step", ["models", "chat", "rerun"])
def test_a_new_token_is_gone_once_the_dialog_is_left(services: Services, alice: UserPublic, step: str) -> None:
    at = create_token(open_page(signed_in(), "profile"), "ci")
    token = shown_token(at)
    if step == "rerun":  # closing the dialog reruns the app (on_dismiss="rerun")
        at.run()
    else:
        open_page(at, step)
    assert token not in state_text(at) and token not in tree_text(at)
    open_page(at, "profile")
    assert not at.code and token not in state_text(at) and token not in tree_text(at)
    assert services.tokens.authenticate(token).user_id == alice.id, "gone from the page, not revoked"


def test_tokens_are_listed_masked_and_revoked(services: Services, alice: UserPublic, bob: UserPublic) -> None:
    _, kept = services.tokens.create(alice.id, "backup job", None)
    public, revoked = services.tokens.create(alice.id, "old laptop", 7)
    services.tokens.create(bob.id, "bob's script")
    at = open_page(signed_in(), "profile")
    text = page_text(at)
    assert "**old laptop** `…" + revoked[-4:] + "`" in text and "never used" in text and "never expires" in text
    assert revoked not in tree_text(at) and kept not in tree_text(at) and "bob's script" not in text
    click(at, f"revoke_token:{public.id}")
    assert "Token “old laptop” revoked: it no longer works." in [s.value for s in at.success]
    assert "old laptop" not in page_text(at).replace("Token “old laptop” revoked", "")
    with pytest.raises(InvalidToken):
        services.tokens.authenticate(revoked)
    assert services.tokens.authenticate(kept).user_id == alice.id


def test_a_token_without_a_name_is_explained_and_nothing_made(services: Services, alice: UserPublic) -> None:
    at = create_token(open_page(signed_in(), "profile"), "   ")
    assert not at.code and services.tokens.list(alice.id) == []
    assert any("Give the token a name" in e.value for e in at.error)
