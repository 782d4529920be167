"""Two app processes on one PostgreSQL, as replicas behind a load balancer: what one saves, the other uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.accounts.users import UserPublic
from core.chat.completion import CompletionParams
from core.services import Services
from tests.fakes.providers import FakeProviders

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 15
# Another app process: opens the same database with the same settings (the environment) and saves keys in order.
REPLICA = """
import sys
from core.config import load_settings
from core.services import open_services
services = open_services(load_settings())
user_id, provider, *keys = sys.argv[1:]
for key in keys:
    services.credentials.save(int(user_id), provider, {"api_key": key})
"""


def replica(user: UserPublic, provider: str, keys: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", REPLICA, str(user.id), provider, *keys], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )


def finished(*processes: subprocess.Popen) -> None:
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * len(processes), "\n".join(errors)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_key_saved_by_one_replica_is_used_by_another(
    services: Services, alice: UserPublic, fake: FakeProviders
) -> None:
    key = "sk-saved-on-replica-one-4d2f"
    fake.keys["openai"] = {key}
    finished(replica(alice, "openai", [key]))
    reply = services.chat.complete(
        alice.id, "openai/gpt-4o-mini", [{"role": "user", "content": "hi"}], CompletionParams()
    )
    assert reply.text
    assert [r.headers.get("authorization") for r in fake.requests if r.path.endswith("/chat/completions")] == [
        f"Bearer {key}"
    ]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_replicas_saving_at_once_keep_the_last_write(services: Services, alice: UserPublic) -> None:
    first = [f"sk-replica-a-round-{n:02d}" for n in range(ROUNDS)]
    second = [f"sk-replica-b-round-{n:02d}" for n in range(ROUNDS)]
    finished(replica(alice, "openai", first), replica(alice, "openai", second))
    # Each replica saves its rounds in order, so what stays is one of their last writes, readable.
    assert services.credentials.secrets(alice.id, "openai")["api_key"] in {first[-1], second[-1]}
    finished(replica(alice, "openai", ["sk-replica-a-the-very-last-9e1b"]))
    assert services.credentials.secrets(alice.id, "openai") == {"api_key": "sk-replica-a-the-very-last-9e1b"}
