"""Deployment set-up: settings, generated secrets, start-up refusals, the admin command, no outbound calls."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.accounts.users import UserPublic
from core.config import PROJECT_ROOT, Settings, load_settings, strip_server_keys
from core.db.engine import database_url
from core.errors import AppError, StartupError
from core.providers.registry import server_key_variables
from core.security.crypto import generate_master_key
from core.security.keys import generate_token_key, load_key_ring
from core.security.shared import SHARED_SECRETS, generate_secret, require_shared_secrets
from core.services import Services, open_services
from tests.fakes.loopback import free_port
from tests.helpers import PASSWORD, make_run

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_embedded_default_generates_private_keys_once(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_MASTER_KEY")
    services = open_services(load_settings())
    assert mode(env / "master.key") == 0o600 and mode(env / "app.db") == 0o600 and mode(env) == 0o700
    assert load_key_ring(services.settings).current_kid == services.key_ring.current_kid


def test_master_key_file_is_read(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = load_settings().master_key
    (tmp_path / "mk").write_text(key + "\n")
    monkeypatch.delenv("APP_MASTER_KEY")
    monkeypatch.setenv("APP_MASTER_KEY_FILE", str(tmp_path / "mk"))
    assert (
        load_key_ring(load_settings()).current_kid
        == load_key_ring(load_settings({**os.environ, "APP_MASTER_KEY": key})).current_kid
    )
    assert not (env / "master.key").exists()


def test_sample_master_key_refuses_to_start(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_MASTER_KEY", "q1Wc0mLbZk6bX9nQzV1R3uT8yP2aE5sH7jK4dF0gB6c=")
    with pytest.raises(StartupError, match="sample"):
        open_services(load_settings())


def test_secrets_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        'APP_ALLOW_SIGNUP = "1"\nOPENAI_API_BASE = "https://gw.example/v1/"\nAPP_DATA_DIR = "from-file"\n'
    )
    settings = load_settings({"APP_SECRETS_FILE": str(secrets), "APP_DATA_DIR": str(tmp_path / "env-data")})
    assert settings.allow_signup is True
    assert settings.provider_base("OPENAI_API_BASE") == "https://gw.example/v1"
    assert settings.data_dir == tmp_path / "env-data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'env-data' / 'app.db'}"


def test_safe_defaults(tmp_path: Path) -> None:
    settings = load_settings({"APP_SECRETS_FILE": str(tmp_path / "none.toml")})
    assert settings.allow_signup is False
    assert settings.allow_endpoints == ()
    assert settings.provider_base("OPENAI_API_BASE") is None
    assert settings.cookie_expiry_days == 1.0


def test_default_data_folder_is_the_projects_wherever_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"APP_SECRETS_FILE": str(tmp_path / "none.toml")})
    assert PROJECT_ROOT == ROOT
    assert settings.data_dir == ROOT / "data"
    assert settings.database_url == f"sqlite:///{ROOT / 'data' / 'app.db'}"
    assert settings.models_registry == ROOT / "data" / "models.toml"


def test_relative_path_settings_are_taken_from_the_project_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        {
            "APP_SECRETS_FILE": "none.toml",
            "APP_DATA_DIR": "var/app-data",
            "APP_MASTER_KEY_FILE": "keys/master.key",
            "APP_MODELS_FILE": "models.toml",
        }
    )
    assert settings.data_dir == ROOT / "var" / "app-data"
    assert settings.database_url == f"sqlite:///{ROOT / 'var' / 'app-data' / 'app.db'}"
    assert settings.master_key_file == ROOT / "keys" / "master.key"
    assert settings.models_registry == ROOT / "models.toml"


def test_secrets_file_path_is_taken_from_the_project_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secrets.toml").write_text(f'APP_DATA_DIR = "{tmp_path / "from-file"}"\n')
    monkeypatch.chdir(ROOT / "tests")
    settings = load_settings({"APP_SECRETS_FILE": os.path.relpath(tmp_path / "secrets.toml", ROOT)})
    assert settings.data_dir == tmp_path / "from-file"


def test_server_provider_keys_are_stripped() -> None:
    environ = {"OPENAI_API_KEY": "sk-server-sentinel", "HF_TOKEN": "hf_x", "PATH": "/bin"}
    assert strip_server_keys(server_key_variables(), environ) == ["OPENAI_API_KEY", "HF_TOKEN"]
    assert environ == {"PATH": "/bin"}


def run_admin(
    env: Path, *args: str, stdin: str = "", cwd: Path = ROOT, data_dir: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m core.cli ARGS` in `cwd`, on the test's data folder (or the APP_DATA_DIR given)."""
    environ = os.environ.copy() | {"PYTHONPATH": str(ROOT)}
    if data_dir is not None:
        environ["APP_DATA_DIR"] = data_dir
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=60,
        check=False,
    )


def test_admin_add_list_delete_users(env: Path) -> None:
    added = run_admin(
        env, "add-user", "Dana", "--name", "Dana Example", "--email", "dana@example.com", stdin="s3cret-pass\n"
    )
    assert added.returncode == 0, added.stderr
    assert "Created user dana" in added.stdout and str(env / "app.db") in added.stdout  # says which database
    users = open_services(load_settings()).users
    assert users.get("dana") is not None
    assert "dana\tDana Example\tdana@example.com" in run_admin(env, "list-users").stdout
    again = run_admin(env, "add-user", "dana", "--name", "D", "--email", "d@example.com", stdin="s3cret-pass\n")
    assert again.returncode == 1 and "already taken" in again.stderr
    short = run_admin(env, "add-user", "eve", "--name", "Eve", "--email", "eve@example.com", stdin="short\n")
    assert short.returncode == 1 and "at least 8" in short.stderr
    assert run_admin(env, "delete-user", "dana").returncode == 0
    assert users.get("dana") is None
    assert run_admin(env, "delete-user", "dana").returncode == 1


def test_the_commands_earlier_name_still_works(env: Path) -> None:
    """Runbooks written for `python -m core.admin` keep working."""
    environ = os.environ.copy() | {"PYTHONPATH": str(ROOT)}
    listed = subprocess.run(
        [sys.executable, "-m", "core.admin", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environ,
        check=False,
    )
    assert listed.returncode == 0 and "set-password" in listed.stdout and "rotate-keys" in listed.stdout


def test_admin_run_from_another_folder_uses_the_apps_database(env: Path, tmp_path: Path) -> None:
    """A relative APP_DATA_DIR names the same folder from anywhere: the app's, not one under the shell's folder."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    relative = os.path.relpath(env, ROOT)
    added = run_admin(
        env,
        "add-user",
        "dana",
        "--name",
        "Dana",
        "--email",
        "d@example.com",
        stdin="s3cret-pass\n",
        cwd=elsewhere,
        data_dir=relative,
    )
    assert added.returncode == 0, added.stderr
    assert str(env / "app.db") in added.stdout
    assert open_services(load_settings()).users.get("dana") is not None
    assert "dana\tDana\td@example.com" in run_admin(env, "list-users", cwd=ROOT, data_dir=relative).stdout


def test_new_master_key_is_usable() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "core.cli", "new-master-key"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.strip()
    assert load_key_ring(load_settings({"APP_MASTER_KEY": printed, "APP_SECRETS_FILE": "/nonexistent"}))


def test_importing_litellm_makes_no_outbound_call(tmp_path: Path) -> None:
    """With every non-loopback address unroutable, the import must neither stall nor warn about a download."""
    script = (
        "import socket, sys\n"
        "real = socket.create_connection\n"
        "def refuse(address, *a, **k):\n"
        "    print('OUTBOUND', address[0], file=sys.stderr); raise OSError('blocked')\n"
        "socket.create_connection = refuse\n"
        "from core.providers.client import litellm\n"
        "litellm()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "OUTBOUND" not in result.stderr
    assert "cost map" not in result.stderr


@pytest.mark.parametrize("variable", ["APP_REQUEST_TIMEOUT", "APP_MAX_RETRIES", "APP_COOKIE_EXPIRY_DAYS"])
def test_a_setting_that_is_not_a_number_stops_start_with_its_name(
    env: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "ten")
    with pytest.raises(StartupError, match=f"{variable} must be a number, not 'ten'"):
        load_settings()


def test_the_admin_resets_a_password_disables_a_user_and_ends_sessions(
    env: Path, services: Services, alice: UserPublic
) -> None:
    """Each account command, run as the admin runs it, ends the user's sessions and says so; keys and chats stay."""
    services.credentials.save(alice.id, "huggingface", {"token": "hf_test_reader_token"})

    def a_session() -> str:
        """A signed-in browser's cookie token."""
        traded = services.sessions.trade_handoff(services.sessions.start(alice.id, "test")[1])
        assert traded is not None
        assert services.sessions.resume(traded[0]) is not None
        return traded[0]

    first = a_session()
    reset = run_admin(env, "set-password", "alice", stdin="a brand new passphrase\n")
    assert reset.returncode == 0, reset.stderr
    assert services.sessions.resume(first) is None, "a password reset ends every session"
    with pytest.raises(AppError):
        services.accounts.sign_in("alice", PASSWORD)
    assert services.accounts.sign_in("alice", "a brand new passphrase") is not None

    second = a_session()
    ended = run_admin(env, "end-sessions", "alice")
    assert ended.returncode == 0 and "Ended 2 sign-in session(s)" in ended.stdout, ended.stderr  # sign_in() made one
    assert services.sessions.resume(second) is None

    third = a_session()
    disabled = run_admin(env, "disable-user", "alice")
    assert disabled.returncode == 0, disabled.stderr
    assert "ended 1 sign-in session" in disabled.stdout
    assert services.sessions.resume(third) is None
    with pytest.raises(AppError):
        services.accounts.sign_in("alice", "a brand new passphrase")
    assert "huggingface" in services.credentials.list(alice.id), "disabling keeps the user's keys"
    assert run_admin(env, "enable-user", "alice").returncode == 0
    assert services.accounts.sign_in("alice", "a brand new passphrase") is not None
    assert run_admin(env, "set-password", "nobody", stdin="whatever-long\n").returncode == 1


def bare_settings(tmp_path: Path, **environ: str) -> Settings:
    """Settings from `environ` alone, the data folder in `tmp_path`."""
    base = {"APP_SECRETS_FILE": str(tmp_path / "none.toml"), "APP_DATA_DIR": str(tmp_path / "data")}
    return load_settings(base | environ)


def server_settings(tmp_path: Path, **environ: str) -> Settings:
    """Settings for a deployment on a PostgreSQL server nobody listens for (the refusal comes before connecting)."""
    url = f"postgresql+psycopg://chat:pg-password-sentinel@127.0.0.1:{free_port()}/chat"
    return bare_settings(tmp_path, DATABASE_URL=url, **environ)


def test_a_database_server_refuses_to_start_without_the_shared_secrets(tmp_path: Path) -> None:
    with pytest.raises(StartupError) as caught:
        open_services(server_settings(tmp_path))
    message = str(caught.value)
    for secret in SHARED_SECRETS:
        assert f"{secret.variable} (make one with: {secret.how_to_make}" in message
    assert "pg-password-sentinel" not in message
    assert not (tmp_path / "data" / "master.key").exists(), "no key is generated for one process alone"
    assert not (tmp_path / "data" / "token.key").exists()


@pytest.mark.parametrize("given", ["APP_MASTER_KEY", "APP_MASTER_KEY_FILE"])
def test_a_shared_secret_set_by_variable_or_file_lets_it_start(tmp_path: Path, given: str) -> None:
    key = generate_master_key()
    (tmp_path / "master.key").write_text(key)
    value = key if given == "APP_MASTER_KEY" else str(tmp_path / "master.key")
    require_shared_secrets(server_settings(tmp_path, APP_TOKEN_KEY=generate_token_key(), **{given: value}))


def test_the_embedded_database_may_generate_its_secrets(tmp_path: Path) -> None:
    require_shared_secrets(bare_settings(tmp_path))


@pytest.mark.parametrize("given", ["postgres://u:p@db:5432/chat", "postgresql://u:p@db:5432/chat"])
def test_the_postgres_url_forms_are_postgresql_through_psycopg(tmp_path: Path, given: str) -> None:
    settings = bare_settings(tmp_path, DATABASE_URL=given)
    assert database_url(settings.database_url).render_as_string(hide_password=False) == (
        "postgresql+psycopg://u:p@db:5432/chat"
    )
    with pytest.raises(StartupError, match="APP_MASTER_KEY"):  # and it is a database server, not the embedded file
        require_shared_secrets(settings)


def test_new_secret_prints_a_fresh_256_bit_value() -> None:
    printed = [run_admin(ROOT, "new-secret").stdout.strip() for _ in range(2)]
    assert all(len(bytes.fromhex(value)) == 32 for value in printed) and printed[0] != printed[1]
    assert len(generate_secret()) == 64


@pytest.mark.parametrize(
    ("given", "named"),
    [("APP_MASTER_KEY", "STREAMLIT_SERVER_COOKIE_SECRET"), ("STREAMLIT_SERVER_COOKIE_SECRET", "APP_MASTER_KEY")],
)
def test_the_server_on_a_database_server_stops_and_names_each_missing_secret(
    tmp_path: Path, given: str, named: str
) -> None:
    """`streamlit run asgi.py` (as `make run` starts it) exits with the message, as for any StartupError; Streamlit
    takes its cookie secret from STREAMLIT_SERVER_COOKIE_SECRET, so the one given is not asked for."""
    script, _ = make_run()
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "APP_SECRETS_FILE": str(tmp_path / "none.toml"),
        "APP_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"postgresql+psycopg://chat:pg-password-sentinel@127.0.0.1:{free_port()}/chat",
        given: generate_master_key() if given == "APP_MASTER_KEY" else generate_secret(),
    }
    result = subprocess.run(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(free_port())],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environ | {"STREAMLIT_SERVER_ADDRESS": "127.0.0.1"},
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "StartupError: DATABASE_URL names a database server" in output
    assert f"{named} (make one with" in output and f"{given} (make one with" not in output
    assert "Application startup failed" in output and "pg-password-sentinel" not in output
    assert not (tmp_path / "data" / "master.key").exists()
