"""Every length a column has is checked in core first: PostgreSQL enforces column lengths SQLite ignores, so a value
one over the limit must get the same clear message on both, and change nothing."""

from __future__ import annotations

import pytest

from core.accounts.service import SignInRefused
from core.accounts.users import MAX_EMAIL_CHARS, MAX_NAME_CHARS
from core.chat.conversations import MAX_TITLE_CHARS, Message
from core.errors import InvalidInput
from core.services import Services
from tests.helpers import PASSWORD

pytestmark = pytest.mark.both_backends


def email_of(length: int) -> str:
    domain = "@example.com"
    return "a" * (length - len(domain)) + domain


@pytest.mark.parametrize(
    ("name", "email", "field"),
    [
        ("N" * (MAX_NAME_CHARS + 1), "carol@example.com", "name"),
        ("Carol", email_of(MAX_EMAIL_CHARS + 1), "email"),
    ],
)
def test_a_user_field_one_over_its_column_is_refused_by_name(
    services: Services, name: str, email: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.users.add("carol", name, email, PASSWORD)
    assert refused.value.field == field
    assert services.users.list() == []


def test_user_fields_at_their_limits_are_kept_whole(services: Services) -> None:
    name, email = "N" * MAX_NAME_CHARS, email_of(MAX_EMAIL_CHARS)
    services.users.add("c" * 64, name, email, PASSWORD)
    [user] = services.users.list()
    assert (user.username, user.name, user.email) == ("c" * 64, name, email)


def test_a_long_user_name_at_sign_in_is_a_wrong_password_not_a_database_error(services: Services) -> None:
    for _ in range(2):  # the second failure updates the throttle's row for that name
        with pytest.raises(SignInRefused):
            services.accounts.sign_in("x" * 5000, PASSWORD)


def test_a_chat_title_one_over_its_column_is_refused(services: Services) -> None:
    user = services.users.add("dora", "Dora", "dora@example.com", PASSWORD)
    chat = services.conversations.create(user.id, first=[Message(role="user", content="hello")])
    assert chat.id is not None
    with pytest.raises(InvalidInput):
        services.conversations.rename(user.id, chat.id, "T" * (MAX_TITLE_CHARS + 1))
    assert services.conversations.rename(user.id, chat.id, "T" * MAX_TITLE_CHARS) == "T" * MAX_TITLE_CHARS
