"""Many sessions saving and reading keys at once on SQLite: no error, no torn read, the last write per key stays."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from core.accounts.users import UserPublic
from core.services import Services
from tests.fakes.providers import FakeProviders

pytestmark = pytest.mark.both_backends

THREADS = 50
USERS = 10
ROUNDS = 5


@pytest.fixture
def users(services: Services) -> list[UserPublic]:
    return [services.users.add(f"user{n}", f"User {n}", f"user{n}@example.com", "password-123") for n in range(USERS)]


def key(user: UserPublic, thread: int, round_: int) -> str:
    return f"sk-user{user.id:02d}-thread{thread:02d}-round{round_}"


def provider_of(thread: int) -> str:
    """Each user's five threads split between two providers."""
    return ("openai", "xai")[(thread // USERS) % 2]


def test_fifty_threads_ten_users_saving_and_reading(services: Services, users: list[UserPublic]) -> None:
    def work(thread: int) -> None:
        user = users[thread % USERS]
        provider = provider_of(thread)
        for round_ in range(ROUNDS):
            services.credentials.save(user.id, provider, {"api_key": key(user, thread, round_)})
            read = services.credentials.secrets(user.id, provider)["api_key"]
            assert read.startswith(f"sk-user{user.id:02d}-"), "a read only ever sees this user's own writes"
            assert services.credentials.list(user.id)[provider].readable

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(work, range(THREADS)))  # re-raises any thread's error
    for number, user in enumerate(users):
        for provider in ("openai", "xai"):
            writers = [t for t in range(THREADS) if t % USERS == number and provider_of(t) == provider]
            final = services.credentials.secrets(user.id, provider)["api_key"]
            # Each thread writes its rounds in order, so whatever stays is some writer's last round.
            assert final in {key(user, t, ROUNDS - 1) for t in writers}
        assert sorted(services.credentials.list(user.id)) == ["openai", "xai"]


def test_concurrent_saves_with_key_tests(services: Services, fake: FakeProviders, users: list[UserPublic]) -> None:
    """The save path the Profile page uses, key test included, from 50 threads at once."""
    fake.keys["openai"] = {key(user, t, r) for t in range(THREADS) for user in users for r in range(2)}

    def work(thread: int) -> str:
        user = users[thread % USERS]
        for round_ in range(2):
            _, outcome = services.key_tests.save(user.id, "openai", {"api_key": key(user, thread, round_)})
            assert outcome.result == "valid", outcome.detail
        return key(user, thread, 1)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        last_writes = set(pool.map(work, range(THREADS)))
    for user in users:
        assert services.credentials.secrets(user.id, "openai")["api_key"] in last_writes
        assert services.credentials.list(user.id)["openai"].status.test_result == "valid"
    assert len([r for r in fake.requests if r.path.endswith("/models")]) == THREADS * 2


def test_status_writes_racing_key_replacements(services: Services, users: list[UserPublic]) -> None:
    """Chats recording a key's use and tests recording its result, while the same key is replaced: no error."""
    user = users[0]
    services.credentials.save(user.id, "openai", {"api_key": key(user, 0, 0)})

    def work(thread: int) -> None:
        for round_ in range(ROUNDS * 2):
            if thread % 3 == 0:
                services.credentials.save(user.id, "openai", {"api_key": key(user, thread, round_)})
            elif thread % 3 == 1:
                services.credentials.record_use(user.id, "openai", f"error {thread}-{round_}")
            else:
                services.credentials.record_test(user.id, "openai", "valid", f"test {thread}-{round_}")

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(work, range(THREADS)))
    assert services.credentials.list(user.id)["openai"].readable
