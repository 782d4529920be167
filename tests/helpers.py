"""What many test modules share: signing in and reading pages in AppTest, saving keys, waiting on other threads,
reading what a provider received, and how `make run` and the container image start the server. Test modules
import from here, never from each other."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.accounts.users import UserPublic
from core.chat.conversations import Conversation
from core.providers.registry import get_provider
from core.services import Services
from tests.fakes.providers import DEFAULT_KEYS, FakeProviders, Recorded

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parent.parent
OPENAI_KEY = "sk-test-openai-valid"


STREAM_PATHS = ("litellm", "lean")


def on_both_paths(cases: list[tuple[str, ...]]) -> list[Any]:
    """`(model_ref, provider, ...)` cases, each on litellm's stream and, for a provider that streams OpenAI's SSE,
    on the lean one too; the last value of each is the `stream_path` (parametrized `indirect=["stream_path"]`)."""
    return [
        pytest.param(*case, path, id=f"{'-'.join(case)}-{path}")
        for case in cases
        for path in STREAM_PATHS
        if path == "litellm" or get_provider(case[1]).openai_stream
    ]


def signed_in(username: str = "alice") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.text_input[0].input(username)
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert "signed_in" in at.session_state, [e.value for e in at.error]
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def card_input(at: AppTest, provider: str, field: str):
    """A provider card's input (a secret one gets a new key each time it is emptied, see ui/inputs.py)."""
    base = f"field:{provider}:{field}"
    return next(t for t in at.text_input if t.key == base or t.key.startswith(base + "#"))


def save_openai_key(at: AppTest, key: str = OPENAI_KEY) -> AppTest:
    open_page(at, "profile")
    card_input(at, "openai", "api_key").input(key)
    at.button(key="save:openai").click().run()
    assert not at.exception, at.exception
    return at


def type_model(at: AppTest, text: str) -> AppTest:
    """Type a model ID into Chat's picker and confirm it, as a new option where it is none of the listed ones."""
    picker = at.selectbox(key="chat_model")
    if picker.format_func(text) not in picker.options:
        picker.options.append(text)  # the browser sends a typed new option as the text typed
    picker.set_value(text).run()
    assert not at.exception, at.exception
    return at


def page_text(at: AppTest) -> str:
    """Everything the page shows, as text, to search for what must (not) be there."""
    parts = []
    for kind in (
        "markdown",
        "caption",
        "title",
        "header",
        "subheader",
        "info",
        "success",
        "warning",
        "error",
        "expander",
    ):
        for element in getattr(at, kind):
            parts.append(str(getattr(element, "label", "")) + " " + str(getattr(element, "value", "")))
    return "\n".join(parts)


def tree_text(at: AppTest) -> str:
    """Every element's protobuf, as text: labels, values, messages, captions, data frames."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def save_key(services: Services, fake: FakeProviders, user: UserPublic, provider: str, key: str) -> None:
    values = {"api_key": key}
    if provider == "azure":
        values |= {"endpoint": fake.url, "api_version": ""}
    services.credentials.save(user.id, provider, values)


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> None:
    """Block until `condition()` holds: a synchronisation point with another thread, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition was not reached")
        time.sleep(0.01)


def chat_posts(fake: FakeProviders, provider: str | None = None) -> list[Recorded]:
    """The chat requests the providers received (the catalog's model listings are GETs)."""
    return [r for r in fake.requests if r.method == "POST" and provider in (None, r.provider)]


def system_prompts_and_limits(request: Recorded) -> tuple[list[str], Any, Any]:
    """Where each provider's request carries the system prompt, the temperature and the output limit."""
    body = request.body
    if request.provider == "gemini":
        instruction = body.get("systemInstruction") or body.get("system_instruction") or {}
        # litellm folds the system prompt into the first turn for Gemini models it has no flag for.
        texts = [part.get("text", "") for part in instruction.get("parts", []) + body["contents"][0]["parts"]]
        config = body["generationConfig"]
        return texts, config.get("temperature"), config.get("max_output_tokens")
    if request.provider == "anthropic":
        return [block["text"] for block in body.get("system", [])], body.get("temperature"), body.get("max_tokens")
    system = [m["content"] for m in body["messages"] if m["role"] == "system"]
    return system, body.get("temperature"), body.get("max_tokens")


def reachable_strings(root: Any, limit: int = 200_000) -> Iterator[str]:
    """Every string reachable from `root` through objects and closures (not through modules or globals)."""
    import gc
    import types

    seen: set[int] = set()
    todo = [root]
    while todo and len(seen) < limit:
        item = todo.pop()
        if id(item) in seen or isinstance(item, types.ModuleType | type | types.FrameType):
            continue
        seen.add(id(item))
        if isinstance(item, str):
            yield item
        elif isinstance(item, types.FunctionType):
            todo.extend(cell.cell_contents for cell in item.__closure__ or () if cell.cell_contents is not None)
            todo.extend(item.__defaults__ or ())
        else:
            todo.extend(gc.get_referents(item))


def with_keys(services: Services, fake: FakeProviders, user: UserPublic, *providers: str) -> None:
    """Valid keys saved before signing in, so the page's first catalog already has them."""
    for provider in providers:
        save_key(services, fake, user, provider, DEFAULT_KEYS[provider])


def chat_page(user: str = "alice") -> AppTest:
    return open_page(signed_in(user), "chat")


def send(at: AppTest, text: str, key: str = "chat_input") -> AppTest:
    at.chat_input(key=key).set_value(text).run()
    assert not at.exception, at.exception
    return at


def pick(at: AppTest, model_ref: str, key: str = "chat_model") -> AppTest:
    """Select one of the user's models, or type an ID that is none of them."""
    box = at.selectbox(key=key)
    if box.format_func(model_ref) not in box.options:
        box.options.append(model_ref)  # a typed new option: the browser sends the text as typed
    box.set_value(model_ref).run()
    assert not at.exception, at.exception
    return at


def saved(services: Services, user: UserPublic) -> Conversation:
    """The user's most recent conversation, as stored."""
    return services.conversations.get(user.id, services.conversations.list(user.id)[0].id)


def chat_list(at: AppTest) -> list[str]:
    return [button.label for button in at.sidebar.button if (button.key or "").startswith("chat_open:")]


def shown_messages(at: AppTest) -> list[tuple[str, str]]:
    """(role, text) of every chat message on the page."""
    return [
        (message.name, " ".join(md.value for md in message.markdown)) for message in at.chat_message if message.markdown
    ]


def models_page(username: str = "alice") -> AppTest:
    return open_page(signed_in(username), "models")


def table(at: AppTest, provider: str) -> pd.DataFrame:
    return at.dataframe(key=f"models_table:{provider}").value


def model_ids(at: AppTest, provider: str) -> list[str]:
    """The ID in each row's Model cell (`Name — id`, or the ID alone)."""
    return [cell.rsplit(" — ", 1)[-1] for cell in table(at, provider)["Model"]]


class Clock:
    """A test's own clock for code that takes `now`: it moves only when told."""

    def __init__(self, start: datetime = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def model_tables(at: AppTest) -> list[str]:
    """The keys of the providers' model tables on the page (Local models' suggestions are not one)."""
    return [d.key for d in at.dataframe if (d.key or "").startswith("models_table:")]


def stored_bytes(services: Services) -> bytes:
    """Everything the database holds, as bytes to search for a secret: the SQLite files (WAL included) as they lie
    on disk, or on PostgreSQL every row of every table as the server's text."""
    engine = services.engine
    if engine.dialect.name == "sqlite":
        engine.dispose()
        folder = Path(str(engine.url.database)).parent
        return b"".join(path.read_bytes() for path in folder.iterdir() if path.name.startswith("app.db"))
    with engine.connect() as connection:
        tables = connection.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").scalars()
        query = 'SELECT t::text FROM "{}" t'  # table names from the server's own catalog
        rows = [connection.exec_driver_sql(query.format(name)).scalars().all() for name in tables]
    return "\n".join(row for table in rows for row in table).encode()


def make_run() -> tuple[str, str]:
    """The script `make run` serves and the address it listens on by default, read from the Makefile."""
    recipe = re.search(r"^run:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe, "the Makefile has no run target"
    script = re.search(r"streamlit run (\S+)", recipe.group(1))
    address = re.search(r"--server\.address \$\$\{HOST:-([^}]+)\}", recipe.group(1))
    assert script and address, f"unexpected run recipe: {recipe.group(1)}"
    return script.group(1), address.group(1)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def dockerfile_instructions(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each instruction of a Dockerfile, continued lines joined, comments left out."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    instructions = []
    for line in "\n".join(lines).replace("\\\n", " ").splitlines():
        if line.strip():
            name, _, arguments = line.strip().partition(" ")
            instructions.append((name.upper(), arguments.strip()))
    return instructions


def healthcheck_command() -> list[str]:
    """The Dockerfile's HEALTHCHECK command (its exec form), as the container runs it."""
    (arguments,) = [arguments for name, arguments in dockerfile_instructions() if name == "HEALTHCHECK"]
    exec_form = re.search(r"\bCMD\s+(\[.*\])\s*$", arguments)
    assert exec_form, f"HEALTHCHECK is not in exec form: {arguments}"
    return json.loads(exec_form.group(1))


def run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    """The HEALTHCHECK's command run on this machine, by this Python, for a server on `port` (the setting the
    image sets for Streamlit, STREAMLIT_SERVER_PORT, tells it where)."""
    program, *arguments = healthcheck_command()
    assert program == "python", f"the health check runs {program}, not the image's python"
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "STREAMLIT_SERVER_PORT": str(port)}
    return subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, env=environ, timeout=30, check=False
    )


SERVER_KEY_ENV = "GPU_BOX_KEY"


def team_server(
    name: str, base_url: str, models: str = '"list"', key_env: str | None = SERVER_KEY_ENV, label: str = ""
) -> str:
    """One `[servers.<name>]` section of the models registry (`models` as TOML: `"list"` or a list)."""
    lines = [f"[servers.{name}]", f'base_url = "{base_url}"', f"models = {models}"]
    lines += [f'label = "{label}"'] if label else []
    lines += [f'api_key_env = "{key_env}"'] if key_env else []
    return "\n".join(lines) + "\n"


def register(services: Services, *sections: str) -> Path:
    """Write the admin's models registry (read again on its next use, as a running app does)."""
    path = services.settings.models_registry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(sections))
    return path


def state_text(at: AppTest) -> str:
    state = at.session_state._state._state.filtered_state
    return "\n".join(f"{key}={value!r}" for key, value in state.items())
