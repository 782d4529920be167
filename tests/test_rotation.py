"""Master key rotation (resumable after a kill) and the start-up check for rows no configured key can read."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlmodel import select

from core.config import load_settings
from core.credentials.rotation import check_master_key, rotate_keys
from core.credentials.store import credential_context
from core.db.engine import session
from core.db.tables import Credential, User
from core.security.crypto import KeyRing, generate_master_key, parse_master_keys
from core.services import Services, open_services
from tests.helpers import open_page, signed_in

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = ("openai", "anthropic", "gemini", "xai", "azure", "huggingface")


def ring(*keys: str) -> KeyRing:
    return KeyRing(parse_master_keys(",".join(keys)))


def fill(services: Services, users: int) -> dict[tuple[int, str], str]:
    """`users` accounts with a credential for every provider, written fast (no password hashing, no key tests)."""
    expected = {}
    with session(services.engine) as db:
        for number in range(users):
            user = User(username=f"user{number}", name="U", email="u@example.com", password_hash="-")
            db.add(user)
            db.flush()
            for provider in PROVIDERS:
                secret = f"sentinel-{provider}-{number:05d}"
                field = "token" if provider == "huggingface" else "api_key"
                values = f'{{"{field}": "{secret}"}}'
                if provider == "azure":
                    values = f'{{"endpoint": "https://r{number}.openai.azure.com", "api_key": "{secret}"}}'
                db.add(
                    Credential(
                        user_id=user.id,
                        provider=provider,
                        ciphertext=services.key_ring.encrypt(values.encode(), credential_context(user.id, provider)),
                        key_id=services.key_ring.current_kid,
                    )
                )
                expected[(user.id, provider)] = secret
        db.commit()
    return expected


def key_ids(services: Services) -> list[str]:
    with session(services.engine) as db:
        return list(db.exec(select(Credential.key_id)).all())


def assert_all_readable(services: Services, expected: dict[tuple[int, str], str]) -> None:
    for (user_id, provider), secret in expected.items():
        assert secret in services.credentials.secrets(user_id, provider).values()


def reopen(monkeypatch: pytest.MonkeyPatch, *keys: str) -> Services:
    monkeypatch.setenv("APP_MASTER_KEY", ",".join(keys))
    return open_services(load_settings())


def test_rotation_moves_every_row_to_the_newest_key_then_the_old_key_can_go(
    services: Services, monkeypatch: pytest.MonkeyPatch
):
    old = os.environ["APP_MASTER_KEY"]
    expected = fill(services, 5)
    new = generate_master_key()
    both = reopen(monkeypatch, new, old)
    seen = []
    report = rotate_keys(both.engine, both.key_ring, lambda done, total: seen.append((done, total)))
    assert (report.rotated, report.already_current, report.unreadable) == (30, 0, 0)
    assert seen[-1] == (30, 30)
    assert set(key_ids(both)) == {both.key_ring.current_kid}
    again = rotate_keys(both.engine, both.key_ring)
    assert (again.rotated, again.already_current) == (0, 30)
    assert_all_readable(reopen(monkeypatch, new), expected)


def test_rotation_killed_half_way_resumes_without_loss(services: Services, monkeypatch: pytest.MonkeyPatch):
    old = os.environ["APP_MASTER_KEY"]
    expected = fill(services, 50)
    total = len(expected)
    new = generate_master_key()
    monkeypatch.setenv("APP_MASTER_KEY", f"{new},{old}")
    # The real rotation, in its own process, killed outright (SIGKILL) right after its 120th row.
    killer = textwrap.dedent(
        """
        import os, signal
        from core.config import load_settings
        from core.credentials.rotation import rotate_keys
        from core.services import open_services

        def progress(done, total):
            if done == 120:
                os.kill(os.getpid(), signal.SIGKILL)

        services = open_services(load_settings())
        rotate_keys(services.engine, services.key_ring, progress)
        """
    )
    killed = subprocess.run([sys.executable, "-c", killer], cwd=ROOT, env=os.environ.copy(), timeout=120, check=False)
    assert killed.returncode == -9
    both = open_services(load_settings())
    ids = key_ids(both)
    assert ids.count(both.key_ring.current_kid) == 120 and len(ids) == total
    assert_all_readable(both, expected)

    rerun = subprocess.run(
        [sys.executable, "-m", "core.cli", "rotate-keys"],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"re-encrypted {total - 120}/{total - 120}" in rerun.stdout
    assert (
        f"Re-encrypted {total - 120} credential(s) under master key {both.key_ring.current_kid}; 120 already were."
        in (rerun.stdout)
    )
    assert_all_readable(reopen(monkeypatch, new), expected)


def test_unreadable_rows_are_left_alone_and_reported(services: Services, monkeypatch: pytest.MonkeyPatch):
    fill(services, 1)
    stranger = reopen(monkeypatch, generate_master_key())
    report = rotate_keys(stranger.engine, stranger.key_ring)
    assert (report.rotated, report.unreadable) == (0, 6)
    assert "left untouched" in report.summary(stranger.key_ring.current_kid)
    assert len(key_ids(stranger)) == 6


def test_a_changed_master_key_is_reported_at_start_and_nothing_is_deleted(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    old = os.environ["APP_MASTER_KEY"]
    expected = fill(services, 2)
    assert check_master_key(services.engine, services.key_ring) == []

    with caplog.at_level(logging.WARNING, logger="core.services"):
        changed = reopen(monkeypatch, generate_master_key())
    warnings = [record.getMessage() for record in caplog.records]
    assert any(w.startswith("The master key changed") for w in warnings)
    assert any(
        w.startswith("12 saved credential(s) were encrypted with a master key that is not configured") for w in warnings
    )
    assert len(key_ids(changed)) == 12
    views = changed.credentials.list(1)
    assert views and all(view.readable is False for view in views.values())

    restored = reopen(monkeypatch, old)
    assert check_master_key(restored.engine, restored.key_ring) == []
    assert_all_readable(restored, expected)


def test_a_new_key_first_in_the_list_asks_for_rotation(services: Services, monkeypatch: pytest.MonkeyPatch):
    old = os.environ["APP_MASTER_KEY"]
    fill(services, 1)
    both = reopen(monkeypatch, generate_master_key(), old)
    warnings = check_master_key(both.engine, both.key_ring)
    assert len(warnings) == 1 and warnings[0].endswith("Run: python -m core.cli rotate-keys")
    rotate_keys(both.engine, both.key_ring)
    assert check_master_key(both.engine, both.key_ring) == []


def test_the_card_says_needs_re_entry_after_a_key_change(services: Services, monkeypatch: pytest.MonkeyPatch, alice):
    services.credentials.save(alice.id, "openai", {"api_key": "sk-test-openai-valid"})
    services.credentials.save(alice.id, "gemini", {"api_key": "AIza-test-gemini-valid"})
    monkeypatch.setenv("APP_MASTER_KEY", generate_master_key())
    at = open_page(signed_in(), "profile")
    assert not at.exception, at.exception
    labels = [expander.label for expander in at.expander]
    assert labels[0] == "OpenAI · :orange[needs re-entry]"
    assert labels[2] == "Google AI (Gemini) · :orange[needs re-entry]"
    assert labels[1] == "Anthropic · not set", "other providers keep working"
    assert any("can no longer be read" in warning.value for warning in at.warning)
