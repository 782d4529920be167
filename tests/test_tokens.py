"""Personal access tokens: their shape and checksum, the HMAC that is all the database keeps, the token key kept
apart from it, revocation, expiry, disabled and deleted owners, last use, the rate limit under concurrency, the
CLI commands and log redaction."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from core import cli
from core.accounts.tokens import (
    ALPHABET,
    EXPIRED,
    MALFORMED,
    MISSING,
    PREFIX,
    TOKEN_SHAPE,
    UNKNOWN,
    USED_EVERY,
    ApiTokens,
    checksum,
    new_token,
    well_formed,
)
from core.accounts.users import UserPublic
from core.config import load_settings
from core.db.tables import ApiToken
from core.errors import AccountInactive, InvalidInput, InvalidToken, StartupError, TokenRateLimited
from core.security.keys import TOKEN_KEY_FILE, generate_token_key
from core.security.redaction import REDACTED, RedactingFilter
from core.services import Services, open_services
from tests.helpers import Clock, stored_bytes

pytestmark = pytest.mark.both_backends


def tokens_at(services: Services, clock: Clock, limit: int = 60) -> ApiTokens:
    """The deployment's token store with the test's own clock (and its own rate limit)."""
    return ApiTokens(services.engine, token_key(services), limit, clock)


def token_key(services: Services) -> bytes:
    from core.security.keys import load_token_key

    return load_token_key(services.settings)


@pytest.fixture
def statements(services: Services) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the test runs."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(services.engine, "before_cursor_execute", record)
    yield sent
    event.remove(services.engine, "before_cursor_execute", record)


# --- Shape and checksum --------------------------------------------------------------------------------------------


def test_a_token_has_our_prefix_random_base62_and_a_crc32_checksum() -> None:
    made = {new_token() for _ in range(200)}
    assert len(made) == 200
    for token in made:
        assert re.fullmatch(TOKEN_SHAPE, token) and token.startswith(PREFIX) and not token.startswith("sk-")
        body, check = token[len(PREFIX) : -6], token[-6:]
        assert len(body) == 30 and set(body) <= set(ALPHABET)
        assert check == checksum(body) and well_formed(token)
    first_characters = {token[len(PREFIX)] for token in made}
    assert len(first_characters) > 20, "the body is random"


def _flip(token: str, index: int) -> str:
    replacement = "0" if token[index] != "0" else "1"
    return token[:index] + replacement + token[index + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: _flip(t, 10),  # a character of the random part
        lambda t: _flip(t, len(t) - 1),  # a character of the checksum
        lambda t: "sk-" + t[len(PREFIX) :],
        lambda t: "cdx_" + t[len(PREFIX) :],
        lambda t: t + "a",
        lambda t: t[:-1],
        lambda t: t[:20] + "-" + t[21:],
        lambda t: t.upper(),
        lambda t: f" {t}",
    ],
    ids=["body", "checksum", "sk-prefix", "other-prefix", "longer", "shorter", "not-base62", "case", "space"],
)
def test_a_tampered_token_fails_its_checksum(tamper) -> None:
    token = new_token()
    assert not well_formed(tamper(token))


@pytest.mark.parametrize("value", [None, "", 42, b"cdp_", ["cdp_"]])
def test_anything_but_a_string_is_not_a_token(value: object) -> None:
    assert not well_formed(value)


def test_a_tampered_token_is_refused_without_a_database_read(
    services: Services, alice: UserPublic, statements: list[str]
) -> None:
    _, token = services.tokens.create(alice.id, "script")
    statements.clear()
    for refused, message in ((_flip(token, 12), MALFORMED), ("sk-" + token[4:], MALFORMED), ("", MISSING)):
        with pytest.raises(InvalidToken) as caught:
            services.tokens.authenticate(refused)
        assert str(caught.value) == message
    assert statements == [], "refused before any SQL"
    services.tokens.authenticate(token)
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("UPDATE"), (
        "a good token costs one statement: check, count and last use together"
    )


# --- Stored as an HMAC only ----------------------------------------------------------------------------------------


def test_the_database_holds_only_the_tokens_hmac_under_the_server_key(
    services: Services, alice: UserPublic, env: Path
) -> None:
    public, token = services.tokens.create(alice.id, "laptop script", expires_days=30)
    key = services.settings.token_key or (env / TOKEN_KEY_FILE).read_text().strip()
    with services.engine.connect() as connection:
        row = connection.execute(select(ApiToken)).mappings().one()
    expected = hmac.new(token_key(services), token.encode(), hashlib.sha256).hexdigest()
    assert row["token_hash"] == expected and row["last4"] == token[-4:] == public.last4
    values = " ".join(str(value) for value in row.values())
    assert token not in values and token[len(PREFIX) : -6] not in values and key not in values
    assert hashlib.sha256(token.encode()).hexdigest() != row["token_hash"], "keyed, not a bare hash"
    stored = stored_bytes(services)
    assert public.last4.encode() in stored  # the rows were searched
    assert token.encode() not in stored and token[len(PREFIX) : -6].encode() not in stored
    assert public.masked == f"…{token[-4:]}" and token not in repr(public)


@pytest.mark.sqlite_only  # a database server takes APP_TOKEN_KEY from every process, never a file
def test_the_token_key_file_is_private_and_kept(services: Services, alice: UserPublic, env: Path) -> None:
    path = env / TOKEN_KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    _, token = services.tokens.create(alice.id, "script")
    again = open_services(load_settings())
    try:
        assert again.tokens.authenticate(token).user_id == alice.id, "the same key on the next start"
    finally:
        again.engine.dispose()


def test_another_token_key_makes_every_token_unknown(
    services: Services, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = services.tokens.create(alice.id, "script")
    monkeypatch.setenv("APP_TOKEN_KEY", generate_token_key())
    other = open_services(load_settings())
    try:
        with pytest.raises(InvalidToken) as caught:
            other.tokens.authenticate(token)
        assert str(caught.value) == UNKNOWN
    finally:
        other.engine.dispose()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("c2hvcnQ=", "at least 32 bytes"),
        ("not base64 at all!", "not valid base64"),
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "sample value"),
        ("Zp3kQ8wLx2N7vB4mR9tY1cH6jD0sF5gA3eU8iO2nK7w=", "sample value"),
        ("YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=", "not random"),
    ],
    ids=["short", "not-base64", "zeros", "readme-example", "one-letter"],
)
def test_a_bad_token_key_refuses_to_start(env: Path, monkeypatch: pytest.MonkeyPatch, value: str, words: str) -> None:
    monkeypatch.setenv("APP_TOKEN_KEY", value)
    with pytest.raises(StartupError) as caught:
        open_services(load_settings())
    assert words in str(caught.value) and "APP_TOKEN_KEY" in str(caught.value)
    assert "new-token-key" in str(caught.value)


def test_a_token_key_from_the_environment_leaves_no_file(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_TOKEN_KEY", generate_token_key())
    opened = open_services(load_settings())
    opened.engine.dispose()
    assert not (env / TOKEN_KEY_FILE).exists()
    assert os.environ["APP_TOKEN_KEY"] not in repr(opened.settings)


# --- Lifecycle -----------------------------------------------------------------------------------------------------


def test_created_listed_and_revoked(services: Services, alice: UserPublic, bob: UserPublic) -> None:
    first, token = services.tokens.create(alice.id, "  CI   pipeline ", expires_days=7)
    second, _ = services.tokens.create(alice.id, "notebook")
    assert first.name == "CI pipeline"
    assert [t.id for t in services.tokens.list(alice.id)] == [second.id, first.id], "the newest first"
    assert services.tokens.list(bob.id) == []
    assert not services.tokens.revoke(bob.id, first.id), "Bob cannot revoke Alice's token"
    assert services.tokens.authenticate(token).user_id == alice.id
    assert services.tokens.revoke(alice.id, first.id)
    with pytest.raises(InvalidToken) as caught:
        services.tokens.authenticate(token)
    assert str(caught.value) == UNKNOWN
    assert [t.id for t in services.tokens.list(alice.id)] == [second.id]


@pytest.mark.parametrize(
    ("name", "days", "field"),
    [("", None, "name"), ("x" * 65, None, "name"), ("line\nbreak", None, "name"), ("ok", 0, "expires_days")],
)
def test_a_bad_name_or_expiry_is_refused(
    services: Services, alice: UserPublic, name: str, days: int | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.tokens.create(alice.id, name, days)
    assert caught.value.field == field
    assert services.tokens.list(alice.id) == []


def test_an_expired_token_stops(services: Services, alice: UserPublic) -> None:
    clock = Clock()
    tokens = tokens_at(services, clock)
    public, token = tokens.create(alice.id, "short-lived", expires_days=1)
    clock.advance(timedelta(days=1).total_seconds() - 1)
    assert tokens.authenticate(token).token_id == public.id
    clock.advance(1)
    with pytest.raises(InvalidToken) as caught:
        tokens.authenticate(token)
    assert str(caught.value) == EXPIRED
    assert tokens.list(alice.id)[0].expired(clock.now), "listed as expired until revoked"


def test_a_disabled_owners_tokens_stop_at_once_and_a_deleted_owners_go(
    services: Services, alice: UserPublic, bob: UserPublic
) -> None:
    _, token = services.tokens.create(alice.id, "script")
    _, bobs = services.tokens.create(bob.id, "script")
    services.users.set_disabled("alice", True)
    with pytest.raises(AccountInactive):
        services.tokens.authenticate(token)
    services.users.set_disabled("alice", False)
    assert services.tokens.authenticate(token).user_id == alice.id
    assert services.users.delete("alice")
    with services.engine.connect() as connection:
        owners = connection.execute(select(ApiToken.user_id)).scalars().all()
    assert owners == [bob.id], "deleted with their owner (ON DELETE CASCADE)"
    with pytest.raises(InvalidToken):
        services.tokens.authenticate(token)
    assert services.tokens.authenticate(bobs).user_id == bob.id


def test_last_use_is_written_at_most_once_a_minute(services: Services, alice: UserPublic) -> None:
    clock = Clock()
    tokens = tokens_at(services, clock)
    _, token = tokens.create(alice.id, "script")
    assert tokens.list(alice.id)[0].last_used_at is None
    tokens.authenticate(token)
    first = clock.now
    clock.advance(USED_EVERY.total_seconds() - 1)
    tokens.authenticate(token)
    assert tokens.list(alice.id)[0].last_used_at == first
    clock.advance(2)
    tokens.authenticate(token)
    assert tokens.list(alice.id)[0].last_used_at == clock.now


# --- Rate limit ----------------------------------------------------------------------------------------------------


def test_the_rate_limit_counts_concurrent_requests_exactly(services: Services, alice: UserPublic) -> None:
    clock = Clock()
    tokens = tokens_at(services, clock, limit=15)
    _, token = tokens.create(alice.id, "busy script")
    _, other = tokens.create(alice.id, "another script")
    outcomes: list[str] = []
    lock, start = threading.Lock(), threading.Barrier(40)

    def call() -> None:
        start.wait()
        try:
            tokens.authenticate(token)
            outcome = "ok"
        except TokenRateLimited as error:
            outcome = f"limited {error.retry_after}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=call) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("ok") == 15 and outcomes.count("limited 60") == 25
    assert tokens.authenticate(other), "each token has its own count"
    clock.advance(59)
    with pytest.raises(TokenRateLimited) as caught:
        tokens.authenticate(token)
    assert caught.value.retry_after == 1
    clock.advance(1)
    assert tokens.authenticate(token), "a new minute, a new count"


def test_the_count_is_one_atomic_update(services: Services, alice: UserPublic, statements: list[str]) -> None:
    _, token = services.tokens.create(alice.id, "script")
    statements.clear()
    services.tokens.authenticate(token)
    [update] = statements
    assert "rate_count" in update and "RETURNING" in update.upper() and "SELECT" not in update.split("WHERE")[0]


# --- CLI and logs --------------------------------------------------------------------------------------------------


def test_the_cli_creates_lists_and_revokes_tokens(
    services: Services, alice: UserPublic, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["create-token", "alice", "--name", "backup job", "--expires-days", "30"]) == 0
    created = capsys.readouterr().out
    [token] = re.findall(TOKEN_SHAPE, created)
    assert "shown only this once" in created and "backup job" in created
    assert services.tokens.authenticate(token).user_id == alice.id
    assert cli.main(["list-tokens", "alice"]) == 0
    listed = capsys.readouterr().out
    [public] = services.tokens.list(alice.id)
    assert f"{public.id}\tbackup job\t…{token[-4:]}" in listed and token not in listed
    assert "1 API token of alice" in listed
    assert cli.main(["revoke-token", "alice", str(public.id)]) == 0
    assert "stops working at once" in capsys.readouterr().out
    with pytest.raises(InvalidToken):
        services.tokens.authenticate(token)
    assert cli.main(["revoke-token", "alice", str(public.id)]) == 1
    assert "has no API token" in capsys.readouterr().err
    assert cli.main(["create-token", "nobody", "--name", "x"]) == 1
    assert "no user named 'nobody'" in capsys.readouterr().err
    assert cli.main(["create-token", "alice", "--name", ""]) == 1


def test_a_token_in_a_log_line_is_masked_by_its_shape(services: Services) -> None:
    token = new_token()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "GET /v1/models?api_key=%s", (token,), None)
    RedactingFilter().filter(record)
    assert token not in record.getMessage() and REDACTED in record.getMessage()


def test_the_schema_has_a_unique_index_on_the_hash(services: Services) -> None:
    from sqlalchemy import inspect

    indexes = inspect(services.engine).get_indexes("api_token")
    assert any(index["column_names"] == ["token_hash"] and index["unique"] for index in indexes)
