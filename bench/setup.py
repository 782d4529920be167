"""What the in-process and real-server rows share: the provider fakes in a process of their own, the app's settings
pointed at them, litellm as the app configures it, and the benchmark's user with a key for every provider."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import pages
from core.accounts.users import UserPublic
from core.providers import client as llm
from core.providers.registry import base_url_variables, server_key_variables
from core.security.crypto import generate_master_key
from core.services import Services
from tests.fakes.providers import DEFAULT_KEYS

ROOT = Path(__file__).resolve().parent.parent
MODEL = "gpt-4o-mini"
PACED_MODEL = "gpt-4o"  # the fakes pace this model's replies


@contextmanager
def fake_providers(tokens: int, pace: float) -> Iterator[dict[str, Any]]:
    """Start `bench.fake_server` in a child process; its URL and each provider's api_base."""
    command = [sys.executable, "-m", "bench.fake_server", "--tokens", str(tokens)]
    command += ["--pace", str(pace), "--paced-model", PACED_MODEL]
    child = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert child.stdout is not None
        yield json.loads(child.stdout.readline())
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)


def configure(data_dir: Path, fake: Mapping[str, Any]) -> None:
    """The app's settings for this run: a fresh data folder and master key, every provider routed to the fakes."""
    os.environ.update(
        {
            "APP_DATA_DIR": str(data_dir),
            "APP_SECRETS_FILE": str(data_dir.parent / "no-secrets.toml"),
            "APP_MASTER_KEY": generate_master_key(),
            "APP_ALLOW_ENDPOINTS": fake["url"],
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
    )
    os.environ.update({variable: fake["bases"][provider] for provider, variable in base_url_variables().items()})
    for variable in (*server_key_variables(), "DATABASE_URL"):
        os.environ.pop(variable, None)


def import_litellm() -> tuple[ModuleType, dict[str, Any]]:
    """litellm as the app configures it, and the values it had before for the settings the app changes."""
    os.environ.update(llm.OFFLINE_FLAGS)
    module = importlib.import_module("litellm")
    stock = {name: getattr(module, name) for name in llm.SETTINGS if hasattr(module, name)}
    return llm.litellm(), stock


@contextmanager
def applied(module: ModuleType, settings: Mapping[str, Any]) -> Iterator[None]:
    previous = {name: getattr(module, name) for name in settings}
    for name, value in settings.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            setattr(module, name, value)


def add_user(services: Services, fake: Mapping[str, Any]) -> UserPublic:
    """The benchmark's user, with a key saved for all six providers."""
    user = services.users.add("bench", "Bench User", "bench@example.com", pages.PASSWORD)
    for provider, key in DEFAULT_KEYS.items():
        values = {"api_key": key}
        if provider == "azure":
            values |= {"endpoint": fake["url"], "api_version": "2024-10-21"}
        services.credentials.save(user.id, provider, values)
    services.credentials.save(user.id, "huggingface", {"token": "hf_benchbenchbenchbench"})
    return user
