"""Signing in and out in AppTest and in core: landing, disabled accounts, password changes, sessions, timing."""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.accounts.service import DISABLED, WRONG, SignInRefused
from core.accounts.users import MAX_PASSWORD_BYTES, UserPublic, UserStore
from core.config import DEFAULT_PASSWORD_ROUNDS, load_settings
from core.errors import StartupError
from core.services import Services, open_services
from tests.fakes.providers import DEFAULT_KEYS
from tests.helpers import PASSWORD, open_page, page_text, signed_in

ROOT = Path(__file__).resolve().parent.parent
NEW_PASSWORD = "a brand new passphrase"


def sign_in_form() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()


def password_field(at: AppTest):
    """The sign-in form's password input (its key changes each time it is emptied)."""
    return next(t for t in at.text_input if t.key.startswith("sign_in_password"))


def submit(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="sign_in_username").input(username)
    password_field(at).input(password)
    return at.button(key="sign_in").click().run()


def test_the_form_suits_password_managers_and_forgets_a_wrong_password(services: Services, alice: UserPublic):
    at = sign_in_form()
    assert [t.proto.autocomplete for t in at.text_input] == ["username", "current-password"]
    submit(at, "alice", "wrong password")
    assert [e.value for e in at.error] == [WRONG]
    assert at.text_input(key="sign_in_username").value == "alice", "the name stays to fix the password"
    assert password_field(at).value == "", "a fresh, empty password field"
    assert "wrong password" not in repr(dict(at.session_state._state._state.filtered_state)), "nor in the session"


def test_a_user_without_keys_lands_on_profile(services: Services, alice: UserPublic) -> None:
    at = submit(sign_in_form(), "alice", PASSWORD)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Profile"]


def test_a_user_with_keys_lands_on_chat(services: Services, alice: UserPublic) -> None:
    services.credentials.save(alice.id, "openai", {"api_key": DEFAULT_KEYS["openai"]})
    at = submit(sign_in_form(), "alice", PASSWORD)
    assert [t.value for t in at.title] == ["Chat"]


def test_the_signed_in_run_never_draws_the_form(services: Services, alice: UserPublic) -> None:
    at = submit(sign_in_form(), "alice", PASSWORD)
    assert not [t for t in at.text_input if t.key.startswith(("sign_in_username", "sign_in_password"))]
    assert not [b for b in at.button if b.key == "sign_in"]


def test_the_signed_in_run_hands_the_browser_its_cookie_code(services: Services, alice: UserPublic) -> None:
    at = submit(sign_in_form(), "alice", PASSWORD)
    scripts = [element.proto.body for element in at.get("html") if "fetch(" in element.proto.body]
    assert len(scripts) == 1 and '"/auth/session"' in scripts[0]  # (the other script keeps the theme choice)
    [session] = services.sessions.list(alice.id)
    assert session.id == at.session_state["signed_in"].session_id


def test_a_disabled_account_cannot_sign_in_and_a_wrong_password_does_not_tell(
    services: Services, alice: UserPublic
) -> None:
    services.accounts.set_disabled("alice", True)
    at = submit(sign_in_form(), "alice", "wrong password")
    assert [e.value for e in at.error] == [WRONG], "only the right password learns the account is disabled"
    submit(at, "alice", PASSWORD)
    assert [e.value for e in at.error] == [DISABLED]
    assert "signed_in" not in at.session_state
    services.accounts.set_disabled("alice", False)
    submit(at, "alice", PASSWORD)
    assert "signed_in" in at.session_state


def test_a_disabled_account_keeps_its_keys_and_chats(services: Services, alice: UserPublic) -> None:
    services.credentials.save(alice.id, "openai", {"api_key": DEFAULT_KEYS["openai"]})
    chat = services.conversations.create(alice.id)
    services.accounts.set_disabled("alice", True)
    services.accounts.set_disabled("alice", False)
    assert services.credentials.secrets(alice.id, "openai")["api_key"] == DEFAULT_KEYS["openai"]
    assert [c.id for c in services.conversations.list(alice.id)] == [chat.id]


def test_a_session_ended_elsewhere_signs_this_tab_out(services: Services, alice: UserPublic) -> None:
    at = signed_in()
    services.sessions.end_all(alice.id)
    open_page(at, "profile")
    assert [i.value for i in at.info] == ["Please sign in to continue."]
    assert "signed_in" not in at.session_state and not at.expander


def change_password(at: AppTest, current: str, new: str, repeat: str | None = None) -> AppTest:
    at.text_input(key="account_password:current").input(current)
    at.text_input(key="account_password:new").input(new)
    at.text_input(key="account_password:repeat").input(new if repeat is None else repeat)
    at.button(key="change_password_submit").click().run()
    assert not at.exception, at.exception
    return at


def test_change_password_on_profile(services: Services, alice: UserPublic) -> None:
    elsewhere = services.accounts.sign_in("alice", PASSWORD, "another browser")
    at = open_page(signed_in(), "profile")
    change_password(at, "not my password", NEW_PASSWORD)
    assert [e.value for e in at.error] == ["The current password is wrong."]
    change_password(at, PASSWORD, NEW_PASSWORD, "a different repeat")
    assert [e.value for e in at.error] == ["The new passwords do not match."]
    change_password(at, PASSWORD, "short")
    assert [e.value for e in at.error] == ["The password must be at least 8 characters."]
    change_password(at, PASSWORD, NEW_PASSWORD)
    assert [s.value for s in at.success] == ["Password changed and signed out of 1 other session."]
    assert services.accounts.current_user(elsewhere.session) is None, "other browsers are signed out"
    assert services.accounts.current_user(at.session_state["signed_in"]) == alice, "this one stays signed in"
    with pytest.raises(SignInRefused):
        services.accounts.sign_in("alice", PASSWORD)
    assert services.accounts.sign_in("alice", NEW_PASSWORD).user == alice


def test_profile_lists_sessions_and_signs_out_another(services: Services, alice: UserPublic, bob: UserPublic):
    elsewhere = services.accounts.sign_in("alice", PASSWORD, "Mozilla/5.0 (Windows NT 10.0) Firefox/140.0")
    services.accounts.sign_in("bob", PASSWORD, "Bob's browser")
    at = open_page(signed_in(), "profile")
    shown = page_text(at)
    assert "Firefox on Windows" in shown and "this browser" in shown and "Bob" not in shown
    at.button(key=f"end_session:{elsewhere.session.session_id}").click().run()
    assert services.accounts.current_user(elsewhere.session) is None
    assert [s.value for s in at.success] == ["That session is signed out."]
    assert len(services.sessions.list(alice.id)) == 1 and len(services.sessions.list(bob.id)) == 1


def test_sign_out_everywhere_else(services: Services, alice: UserPublic) -> None:
    others = [services.accounts.sign_in("alice", PASSWORD, f"browser {n}") for n in range(2)]
    at = open_page(signed_in(), "profile")
    at.button(key="end_other_sessions").click().run()
    assert [s.value for s in at.success] == ["Signed out of 2 other sessions."]
    assert [services.accounts.current_user(o.session) for o in others] == [None, None]
    assert services.accounts.current_user(at.session_state["signed_in"]) == alice


def test_passwords_bcrypt_cannot_hold_are_refused_plainly(services: Services) -> None:
    with pytest.raises(Exception, match=f"at most {MAX_PASSWORD_BYTES} bytes"):
        services.users.add("carol", "Carol", "carol@example.com", "é" * 40)
    with pytest.raises(SignInRefused, match="Wrong"):
        services.accounts.sign_in("carol", "x" * 500)


@pytest.mark.parametrize(("field", "value"), [("name", "n" * 201), ("email", "e" * 310 + "@example.com")])
def test_overlong_names_and_emails_are_refused(services: Services, field: str, value: str) -> None:
    values = {"name": "Carol", "email": "carol@example.com"} | {field: value}
    with pytest.raises(Exception, match=r"full name|email"):
        services.users.add("carol", values["name"], values["email"], PASSWORD)


def test_a_name_without_an_account_costs_the_same_password_check(services: Services) -> None:
    """Both answers run one bcrypt check at the cost of new hashes (the default's, not the suite's cheap one);
    measured as CPU time of this thread (bcrypt does the work on it), interleaved, so another process's load does not
    tilt one side."""
    users = UserStore(services.engine, DEFAULT_PASSWORD_ROUNDS)
    users.add("carol", "Carol Example", "carol@example.com", PASSWORD)
    known_hash = services.engine.connect().exec_driver_sql("SELECT password_hash FROM user").scalar_one()
    assert known_hash.startswith(f"$2b${DEFAULT_PASSWORD_ROUNDS}$"), "hashed at the store's cost factor"

    def cpu_seconds(username: str) -> float:
        start = time.thread_time()
        assert users.verify(username, "wrong password").user is None
        return time.thread_time() - start

    known, unknown = [], []
    for _ in range(5):
        known.append(cpu_seconds("carol"))
        unknown.append(cpu_seconds("nobody-by-this-name"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.9 < ratio < 1.1, f"unknown/known CPU time {ratio:.2f}"


def test_passwords_are_hashed_at_bcrypts_cost_12_unless_the_deployment_says_otherwise(tmp_path: Path) -> None:
    assert load_settings({"APP_DATA_DIR": str(tmp_path)}).password_rounds == DEFAULT_PASSWORD_ROUNDS == 12
    assert load_settings({"APP_DATA_DIR": str(tmp_path), "APP_PASSWORD_ROUNDS": "13"}).password_rounds == 13
    for wrong in ("3", "21", "twelve"):
        with pytest.raises(StartupError, match="APP_PASSWORD_ROUNDS"):
            load_settings({"APP_DATA_DIR": str(tmp_path), "APP_PASSWORD_ROUNDS": wrong})


def test_a_hash_keeps_its_own_cost_when_the_setting_changes(services: Services, alice: UserPublic) -> None:
    """Accounts made under one cost factor still sign in under another: bcrypt reads the cost from the hash."""
    stronger = UserStore(services.engine, 5)
    assert stronger.verify("alice", PASSWORD).user == alice
    stronger.set_password("alice", "a new password")
    hashed = services.engine.connect().exec_driver_sql("SELECT password_hash FROM user").scalar_one()
    assert hashed.startswith("$2b$05$")
    assert services.users.verify("alice", "a new password").user == alice


def test_a_cheap_cost_factor_is_warned_about_at_start(env: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        open_services(load_settings()).engine.dispose()
    assert "APP_PASSWORD_ROUNDS=4 makes password hashes cheap to guess" in caplog.text
