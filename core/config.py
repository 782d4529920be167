"""Deployment settings, read in one place from the environment and `.streamlit/secrets.toml`."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import StartupError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"
# The app and `python -m core.cli` must open the same database wherever they are started from, so the data
# folder (and any relative path setting) is anchored to the project, never to the current working directory.
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


TRUE_WORDS = {"1", "true", "yes", "on"}
KIB, MIB = 1024, 1024 * 1024
DEFAULT_PASSWORD_ROUNDS = 12
MIN_PASSWORD_ROUNDS, MAX_PASSWORD_ROUNDS = 4, 20  # bcrypt's floor; 2^20 rounds take minutes a check
API_BASE = "_API_BASE"


@dataclass(frozen=True)
class AttachmentLimits:
    """How much a message may carry in attached files: files per message, bytes per text file, per PDF or image,
    for all of a message's files together, and characters of text taken from them in all."""

    max_files: int = 10
    max_text_bytes: int = 512 * KIB
    max_file_bytes: int = 10 * MIB
    max_total_bytes: int = 20 * MIB
    max_text_chars: int = 400_000


@dataclass(frozen=True)
class Settings:
    """Everything the deployment can change; safe defaults for the embedded setup."""

    data_dir: Path
    database_url: str
    # Per process, on a database server: (replicas + API workers) x (size + overflow) must fit max_connections.
    db_pool_size: int = 5
    db_max_overflow: int = 5
    master_key: str | None = field(default=None, repr=False)
    master_key_file: Path | None = None
    # The HMAC key API tokens are stored under (APP_TOKEN_KEY), else one generated into the data folder.
    token_key: str | None = field(default=None, repr=False)
    api_rate_limit: int = 60  # requests per minute per API token
    cookie_expiry_days: float = 1.0
    # bcrypt's cost factor for new password hashes (2^n rounds). 12 takes ~0.3 s per hash or check on a small
    # server; below 10 only for test suites, which sign in thousands of times (a stored hash keeps its own cost).
    password_rounds: int = DEFAULT_PASSWORD_ROUNDS
    allow_signup: bool = False
    allow_endpoints: tuple[str, ...] = ()
    # Every `<PROVIDER>_API_BASE` variable set: which provider reads which is the provider registry's business.
    api_bases: tuple[tuple[str, str], ...] = ()
    # The longest a provider may stay silent (litellm's timeout, per read); a reply's first text must come sooner.
    request_timeout: float = 60.0
    first_token_timeout: float = 30.0
    max_retries: int = 2
    retry_max_wait: float = 5.0
    # Read the replies of providers that stream OpenAI's SSE straight off the wire (core/providers/sse.py).
    lean_streams: bool = True
    hf_endpoint: str | None = None
    models_file: Path | None = None
    # Downloaded local models, one folder per repo (`<local_models_dir>/<owner>/<name>`), and how many stay loaded.
    local_models_dir: Path | None = None
    local_max_loaded: int = 1
    # Local generation threads (0: every core); on a machine this size one generation runs at a time overall.
    local_threads: int = 0
    attachments: AttachmentLimits = AttachmentLimits()

    @property
    def models_folder(self) -> Path:
        """Where local models are downloaded (`APP_MODELS_DIR`, else `models/` in the data folder)."""
        return self.local_models_dir or self.data_dir / "models"

    @property
    def models_registry(self) -> Path:
        """The admin's models registry (`APP_MODELS_FILE`, else `models.toml` in the data folder)."""
        return self.models_file or self.data_dir / "models.toml"

    def provider_base(self, variable: str | None) -> str | None:
        """The base URL the deployment set in `variable` (a provider's `base_url_variable`), or None."""
        return dict(self.api_bases).get(variable) if variable else None


def _read_secrets_file(path: Path) -> dict[str, str]:
    """Top-level string values of a secrets.toml, or nothing when it does not exist."""
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return {key: str(value) for key, value in data.items() if not isinstance(value, dict)}


def _project_path(value: str) -> Path:
    """An absolute path for a path setting: `~` expanded, a relative one taken from the project folder."""
    return (PROJECT_ROOT / Path(value).expanduser()).resolve()


def _split_list(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip().rstrip("/") for item in (value or "").split(",") if item.strip())


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from `.streamlit/secrets.toml`, overridden by environment variables."""
    environ = os.environ if environ is None else environ
    secrets_path = _project_path(environ.get("APP_SECRETS_FILE", str(DEFAULT_SECRETS_FILE)))
    values: dict[str, str] = {**_read_secrets_file(secrets_path), **environ}

    def get(name: str) -> str | None:
        value = values.get(name)
        return value.strip() if value and value.strip() else None

    def text(name: str, default: str) -> str:
        return get(name) or default

    def number(name: str, default: str, kind: type[float] | type[int] = float) -> Any:
        try:
            return kind(text(name, default))
        except ValueError:
            raise StartupError(f"{name} must be a number, not {get(name)!r}.") from None

    data_dir = _project_path(text("APP_DATA_DIR", str(DEFAULT_DATA_DIR)))
    master_key_file = get("APP_MASTER_KEY_FILE")
    models_file = get("APP_MODELS_FILE")
    local_models_dir = get("APP_MODELS_DIR")
    return Settings(
        data_dir=data_dir,
        database_url=text("DATABASE_URL", f"sqlite:///{data_dir / 'app.db'}"),
        db_pool_size=max(1, number("APP_DB_POOL_SIZE", "5", int)),
        db_max_overflow=max(0, number("APP_DB_MAX_OVERFLOW", "5", int)),
        master_key=get("APP_MASTER_KEY"),
        master_key_file=_project_path(master_key_file) if master_key_file else None,
        token_key=get("APP_TOKEN_KEY"),
        api_rate_limit=max(1, number("APP_API_RATE_LIMIT", "60", int)),
        cookie_expiry_days=number("APP_COOKIE_EXPIRY_DAYS", "1"),
        password_rounds=_password_rounds(number("APP_PASSWORD_ROUNDS", str(DEFAULT_PASSWORD_ROUNDS), int)),
        allow_signup=text("APP_ALLOW_SIGNUP", "").lower() in TRUE_WORDS,
        allow_endpoints=_split_list(get("APP_ALLOW_ENDPOINTS")),
        api_bases=tuple(
            (name, value.rstrip("/")) for name in sorted(values) if name.endswith(API_BASE) and (value := get(name))
        ),
        request_timeout=number("APP_REQUEST_TIMEOUT", "60"),
        first_token_timeout=number("APP_FIRST_TOKEN_TIMEOUT", "30"),
        max_retries=number("APP_MAX_RETRIES", "2", int),
        retry_max_wait=number("APP_RETRY_MAX_WAIT", "5"),
        lean_streams=text("APP_LEAN_STREAMS", "true").lower() in TRUE_WORDS,
        hf_endpoint=get("HF_ENDPOINT"),
        models_file=_project_path(models_file) if models_file else None,
        local_models_dir=_project_path(local_models_dir) if local_models_dir else None,
        local_max_loaded=max(1, number("APP_LOCAL_MAX_LOADED", "1", int)),
        local_threads=max(0, number("APP_LOCAL_THREADS", "0", int)),
        attachments=AttachmentLimits(
            max_files=max(1, number("APP_ATTACH_MAX_FILES", "10", int)),
            max_text_bytes=max(1, number("APP_ATTACH_MAX_TEXT_BYTES", str(512 * KIB), int)),
            max_file_bytes=max(1, number("APP_ATTACH_MAX_FILE_BYTES", str(10 * MIB), int)),
            max_total_bytes=max(1, number("APP_ATTACH_MAX_TOTAL_BYTES", str(20 * MIB), int)),
            max_text_chars=max(1, number("APP_ATTACH_MAX_TEXT_CHARS", "400000", int)),
        ),
    )


def _password_rounds(rounds: int) -> int:
    if not MIN_PASSWORD_ROUNDS <= rounds <= MAX_PASSWORD_ROUNDS:
        raise StartupError(
            f"APP_PASSWORD_ROUNDS must be between {MIN_PASSWORD_ROUNDS} and {MAX_PASSWORD_ROUNDS} (bcrypt's cost "
            f"factor; 12 unless you know better), not {rounds}."
        )
    return rounds


def strip_server_keys(names: Iterable[str], environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Remove provider keys (`names`, from the provider registry) from the server's environment, so no call can
    fall back to them."""
    environ = os.environ if environ is None else environ
    found = [name for name in names if name in environ]
    for name in found:
        del environ[name]
    return found


def server_key(variable: str) -> str | None:
    """The key the admin gave one of the team's servers, in the environment variable they named for it; read at each
    call (never kept in settings), None when the variable is not set."""
    value = os.environ.get(variable, "").strip()
    return value or None
