"""Each test gets a fresh world: a temporary data folder, its own database and master key, no server keys."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_OFFLINE"] = "0"
# A test on PostgreSQL is a team deployment, where the app refuses to start without the cookie secret replicas
# share (core/security/shared.py). Streamlit reads it once, when it first parses its config: set before any import.
os.environ["STREAMLIT_SERVER_COOKIE_SECRET"] = secrets.token_hex(32)
# bcrypt's cheapest cost for the suite's thousands of accounts and sign-ins (a hash or check at the default 12 takes
# ~0.3 s here); the servers the tests start inherit it. tests/test_signin.py checks the default and the cost.
os.environ["APP_PASSWORD_ROUNDS"] = "4"

from core.accounts.users import UserPublic
from core.config import load_settings
from core.providers.registry import base_url_variables, server_key_variables
from core.security.crypto import generate_master_key
from core.security.keys import generate_token_key
from core.services import Services, open_services
from tests.browser import ARTIFACTS, browser, server, shared_server  # noqa: F401 (the browser tests' fixtures)
from tests.fakes.hub import FakeHub
from tests.fakes.providers import FakeProviders
from tests.helpers import PASSWORD
from tests.postgres import PostgresServer, PostgresUnavailable

BACKENDS = ("sqlite", "postgresql")


def pytest_terminal_summary(terminalreporter) -> None:
    """Say where the browser tests' screenshots are, one per step of each flow."""
    shots = sorted(ARTIFACTS.glob("*.png")) if ARTIFACTS.is_dir() else []
    if shots:
        terminalreporter.write_line(f"Browser screenshots ({len(shots)}): {ARTIFACTS}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_backends` run once on SQLite and once on PostgreSQL (but for those that read the SQLite
    file itself, marked `sqlite_only`)."""
    marked = metafunc.definition.get_closest_marker
    if marked("both_backends") and not marked("sqlite_only") and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the run; the tests that need it are skipped, with the reason, when it cannot start."""
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as error:
        pytest.skip(f"PostgreSQL could not be started: {error}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database this test runs on: SQLite unless the test is marked `both_backends`."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """An empty PostgreSQL database at the newest schema for a PostgreSQL run; None: the SQLite file in the test's
    data folder. (A test that needs a database of its own asks `postgres_server.new_database()`.)"""
    if backend == "postgresql":
        return request.getfixturevalue("postgres_server").clean_database()
    return None


@pytest.fixture
def stream_path(request: pytest.FixtureRequest) -> str | None:
    """How a reply's stream is read: "litellm" (litellm's own stream) or "lean" (core/providers/sse.py, for the
    providers that stream OpenAI's SSE) when a test is parametrized over `STREAM_PATHS`; None: the app's default."""
    return getattr(request, "param", None)


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as providers:
        yield providers


@pytest.fixture(scope="session")
def hub() -> Iterator[FakeHub]:
    with FakeHub() as started:
        yield started


@pytest.fixture
def env(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeProviders,
    hub: FakeHub,
    database_url: str | None,
    stream_path: str | None,
) -> Path:
    """Settings for one test: its own data folder and master key, providers routed to the fakes."""
    fake.reset()
    hub.reset()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("APP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("APP_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))
    monkeypatch.setenv("APP_MASTER_KEY", generate_master_key())
    monkeypatch.setenv("APP_ALLOW_ENDPOINTS", fake.url)
    monkeypatch.setenv("APP_REQUEST_TIMEOUT", "5")
    monkeypatch.setenv("APP_MAX_RETRIES", "0")
    if database_url:
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("APP_TOKEN_KEY", generate_token_key())  # a database server generates no keys
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("APP_ALLOW_SIGNUP", raising=False)
    if stream_path is None:
        monkeypatch.delenv("APP_LEAN_STREAMS", raising=False)
    else:
        monkeypatch.setenv("APP_LEAN_STREAMS", "true" if stream_path == "lean" else "false")
    for provider, variable in base_url_variables().items():
        monkeypatch.setenv(variable, fake.base(provider))
    for variable in server_key_variables():
        monkeypatch.delenv(variable, raising=False)
    return data_dir


@pytest.fixture
def services(env: Path) -> Iterator[Services]:
    services = open_services(load_settings())
    yield services
    services.engine.dispose()  # PostgreSQL: give the connections back before the next test's database


@pytest.fixture
def alice(services: Services) -> UserPublic:
    return services.users.add("alice", "Alice Example", "alice@example.com", PASSWORD)


@pytest.fixture
def bob(services: Services) -> UserPublic:
    return services.users.add("bob", "Bob Example", "bob@example.com", PASSWORD)
