"""Sign-in rate limiting per user name, in core (with a controlled clock) and on the sign-in page."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.accounts.throttle import FREE_FAILURES, SignInThrottle
from core.accounts.users import UserPublic
from core.services import Services
from tests.helpers import PASSWORD, Clock

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(services: Services, clock: Clock) -> SignInThrottle:
    return SignInThrottle(services.engine, free_failures=3, first_lock_seconds=30, clock=clock)


def test_free_attempts_then_a_lock_that_doubles(throttle: SignInThrottle, clock: Clock):
    locks = [throttle.record_failure("alice") for _ in range(6)]
    assert locks == [0, 0, 30, 60, 120, 240]
    assert throttle.wait_seconds("alice") == 240
    clock.advance(220)
    assert throttle.wait_seconds("alice") == 20
    clock.advance(20)
    assert throttle.wait_seconds("alice") == 0


def test_the_lock_is_capped(throttle: SignInThrottle):
    locks = [throttle.record_failure("alice") for _ in range(20)]
    assert max(locks) == 15 * 60


def test_names_are_counted_apart_and_case_blind(throttle: SignInThrottle):
    for _ in range(3):
        throttle.record_failure("Alice ")
    assert throttle.wait_seconds("alice") == 30
    assert throttle.wait_seconds("bob") == 0


def test_success_clears_and_an_old_failure_is_forgotten(throttle: SignInThrottle, clock: Clock):
    for _ in range(3):
        throttle.record_failure("alice")
    throttle.clear("alice")
    assert throttle.wait_seconds("alice") == 0
    assert throttle.record_failure("alice") == 0
    for _ in range(2):
        throttle.record_failure("alice")
    clock.advance(2 * 3600)
    assert throttle.record_failure("alice") == 0, "a failure after a long quiet time starts afresh"


def test_the_lock_holds_across_processes_sharing_the_database(services: Services, clock: Clock):
    first = SignInThrottle(services.engine, free_failures=2, clock=clock)
    second = SignInThrottle(services.engine, free_failures=2, clock=clock)
    first.record_failure("alice")
    assert second.wait_seconds("alice") == 0
    first.record_failure("alice")
    assert second.wait_seconds("alice") == 30


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def test_the_sign_in_page_says_when_to_try_again(services: Services, alice: UserPublic):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    for _ in range(FREE_FAILURES - 1):
        sign_in(at, "alice", "wrong password")
        assert [e.value for e in at.error] == ["Wrong user name or password."]
    sign_in(at, "alice", "wrong password")
    assert [e.value for e in at.error] == ["Wrong user name or password. Too many failed sign-ins: try again in 30 s."]

    sign_in(at, "alice", PASSWORD)
    assert len(at.error) == 1 and at.error[0].value.startswith("Too many failed sign-ins for this user name.")
    assert at.error[0].value.endswith(" s.")
    assert "signed_in" not in at.session_state, "the right password does not get in while locked"


def test_unknown_names_are_throttled_the_same_way(services: Services, alice: UserPublic):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    for _ in range(FREE_FAILURES):
        sign_in(at, "nobody", "guess")
    assert "try again in 30 s" in at.error[0].value
    assert services.throttle.wait_seconds("alice") == 0


def test_concurrent_failures_are_all_counted(services: Services, clock: Clock):
    """8 threads x 25 failures: every one counted (a read-then-write counter lost two thirds here)."""
    throttle = SignInThrottle(services.engine, free_failures=1000, clock=clock)
    start = threading.Barrier(8)

    def fail_25_times() -> None:
        start.wait()
        for _ in range(25):
            throttle.record_failure("alice")

    threads = [threading.Thread(target=fail_25_times) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with services.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT failures FROM sign_in_failure").scalar_one() == 200


def test_concurrent_failures_start_the_lock_they_earn(services: Services, clock: Clock):
    throttle = SignInThrottle(services.engine, free_failures=3, first_lock_seconds=30, clock=clock)
    with ThreadPoolExecutor(max_workers=6) as pool:
        locks = sorted(pool.map(lambda _: throttle.record_failure("alice"), range(6)))
    assert locks == [0, 0, 30, 60, 120, 240], "each failure got its own count"
    assert throttle.wait_seconds("alice") == 240, "the longest lock wins, whichever write landed last"


def test_old_rows_are_forgotten(services: Services, clock: Clock):
    throttle = SignInThrottle(services.engine, free_failures=3, clock=clock)
    for name in ("alice", "bob", "carol"):
        throttle.record_failure(name)
    clock.advance(2 * 3600)
    throttle.record_failure("dave")  # any failure now and then sweeps out names quiet for over an hour
    with services.engine.connect() as connection:
        names = connection.exec_driver_sql("SELECT username FROM sign_in_failure").scalars().all()
    assert names == ["dave"]
