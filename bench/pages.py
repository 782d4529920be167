"""The Chat and Models pages in Streamlit's AppTest, timed from inside the script runner.

A probe timestamps each script run's start and end, and the first message that draws reply text; it also
serializes every message the page sends, as the server does before writing it to the browser's websocket, and
gives every run one script cache, as the server has (AppTest compiles each page afresh on every run). The CPU
figures are the process's minus the thread driving AppTest (it polls every millisecond for the run to end, which
is no part of the app).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
from streamlit.runtime.scriptrunner import ScriptRunnerEvent
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import AppTest, app_test
from streamlit.testing.v1 import local_script_runner as runners
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from bench.measure import Sample, cpu_seconds, cpu_since
from bench.streams import PROMPT, check_reply
from core.accounts.users import UserPublic
from core.providers.listing import DiscoveredModel
from core.services import Services

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench password 1"  # noqa: S105 (the benchmark's throwaway account)
STOPPED = {
    ScriptRunnerEvent.SCRIPT_STOPPED_WITH_SUCCESS,
    ScriptRunnerEvent.SCRIPT_STOPPED_WITH_COMPILE_ERROR,
    ScriptRunnerEvent.SCRIPT_STOPPED_FOR_RERUN,
}


@dataclass
class Probe:
    """What the script runner did during one `AppTest.run()`."""

    reply: str = ""
    started: list[float] = field(default_factory=list)
    stopped: list[float] = field(default_factory=list)
    first_text: float | None = None

    def reset(self, reply: str = "") -> None:
        self.reply, self.first_text = reply, None
        self.started.clear()
        self.stopped.clear()

    def on_message(self, message: Any) -> None:
        message.SerializeToString()
        if self.first_text is None and self.reply and message.WhichOneof("type") == "delta":
            element = message.delta.new_element
            if element.WhichOneof("type") == "markdown" and self._is_reply(element.markdown.body):
                self.first_text = time.perf_counter()

    def _is_reply(self, body: str) -> bool:
        """Markdown drops the reply's leading space; what has streamed so far is the start of the rest."""
        return bool(body.strip()) and self.reply.lstrip().startswith(body.strip())

    def on_event(self, sender: Any, event: ScriptRunnerEvent, **kwargs: Any) -> None:
        if event == ScriptRunnerEvent.SCRIPT_STARTED:
            self.started.append(time.perf_counter())
        elif event in STOPPED:
            self.stopped.append(time.perf_counter())

    @property
    def script_seconds(self) -> float:
        return self.stopped[-1] - self.started[0]


@contextmanager
def probe() -> Iterator[Probe]:
    """Watch every AppTest script runner created meanwhile."""
    found = Probe()
    enqueue, init, cache = ForwardMsgQueue.enqueue, LocalScriptRunner.__init__, ScriptCache
    shared = ScriptCache()

    def watched_enqueue(queue: ForwardMsgQueue, message: Any) -> None:
        found.on_message(message)
        enqueue(queue, message)

    def watched_init(runner: LocalScriptRunner, *args: Any, **kwargs: Any) -> None:
        init(runner, *args, **kwargs)
        runner.on_event.connect(found.on_event, weak=False)

    ForwardMsgQueue.enqueue, LocalScriptRunner.__init__ = watched_enqueue, watched_init
    runners.ScriptCache = app_test.ScriptCache = lambda: shared  # the app's script and its pages
    try:
        yield found
    finally:
        ForwardMsgQueue.enqueue, LocalScriptRunner.__init__ = enqueue, init
        runners.ScriptCache = app_test.ScriptCache = cache


def timed_run(at: AppTest, watch: Probe, reply: str = "") -> tuple[float, float]:
    """Run the script; (CPU seconds of the app's threads, wall seconds of the script runs)."""
    watch.reset(reply)
    cpu, driver = cpu_seconds(), time.thread_time()
    at.run()
    driver = time.thread_time() - driver
    app_cpu = cpu_since(cpu) - driver
    if at.exception:
        raise RuntimeError(f"the page failed: {at.exception}")
    return app_cpu, watch.script_seconds


def sign_in(username: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.text_input[0].input(username)
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    if "signed_in" not in at.session_state:
        raise RuntimeError("the benchmark user could not sign in")
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    if at.exception:
        raise RuntimeError(f"the {page} page failed: {at.exception}")
    return at


class ChatPage:
    """A signed-in Chat page; each `send` starts a new chat, then sends one message and waits for the reply."""

    def __init__(self, services: Services, user: UserPublic, watch: Probe, model_ref: str, reply: str) -> None:
        self.services, self.user, self.watch, self.reply = services, user, watch, reply
        self.at = open_page(sign_in(user.username), "chat")
        self.at.selectbox(key="chat_model").set_value(model_ref).run()

    def send(self) -> Sample:
        for summary in self.services.conversations.list(self.user.id):  # keep the sidebar short
            self.services.conversations.delete(self.user.id, summary.id)
        self.at.button(key="new_chat").click().run()
        self.at.chat_input(key="chat_input").set_value(PROMPT)
        cpu, seconds = timed_run(self.at, self.watch, self.reply)
        first = self.watch.first_text
        ttft = first - self.watch.started[0] if first is not None else None
        [summary] = self.services.conversations.list(self.user.id)
        saved = self.services.conversations.get(self.user.id, summary.id).messages[-1]
        check_reply(saved.content, saved.error, self.reply)
        return Sample(ttft, seconds, cpu)


class BarePage:
    """`bench/bare_chat.py`: the floor a Streamlit chat page starts from (see there); each `send` streams one reply."""

    def __init__(self, watch: Probe, model: str, key: str, base: str, reply: str) -> None:
        self.watch, self.reply = watch, reply
        self.at = AppTest.from_file(str(ROOT / "bench" / "bare_chat.py"), default_timeout=120)
        self.at.secrets.update({"bench_model": model, "bench_key": key, "bench_base": base})
        self.at.run()

    def send(self) -> Sample:
        self.at.chat_input(key="chat_input").set_value(PROMPT)
        cpu, seconds = timed_run(self.at, self.watch, self.reply)
        first = self.watch.first_text
        ttft = first - self.watch.started[0] if first is not None else None
        shown = self.at.chat_message[-1].markdown[0].value
        check_reply(shown.strip(), None, self.reply.strip())
        return Sample(ttft, seconds, cpu)


def seed_listings(services: Services, user: UserPublic, per_provider: int) -> int:
    """Store a listing of `per_provider` models for each of the user's chat providers, as Refresh would."""
    stored = 0
    for provider, credential in services.credentials.list(user.id).items():
        if provider == "huggingface":
            continue
        models = [
            DiscoveredModel(f"{provider}-bench-{i:03d}", f"Bench {provider} model {i}", 128_000)
            for i in range(per_provider)
        ]
        services.listings.record(user.id, provider, credential.updated_at, models=models)
        stored += len(models)
    return stored


class ModelsPage:
    """A signed-in Models page whose catalog is already in the session: a rerun reads nothing anew."""

    def __init__(self, user: UserPublic, watch: Probe, expected_models: int) -> None:
        self.watch = watch
        self.at = open_page(sign_in(user.username), "models")
        shown = sum(len(frame.value) for frame in self.at.dataframe)
        if self.at.warning or shown < expected_models:
            raise RuntimeError(f"the Models page shows {shown} models, expected at least {expected_models}")

    def rerun(self) -> Sample:
        cpu, seconds = timed_run(self.at, self.watch)
        return Sample(None, seconds, cpu)
