"""From "no token" to chatting with a downloaded local model, in AppTest, through the fake Hub, the real
huggingface_hub client, the real runtimes (tiny models the tests build) and the real litellm custom provider."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.accounts.users import UserPublic
from core.chat.conversations import MAX_TOKENS_LIMIT, Conversation, GenerationSettings
from core.local.pool import ModelPool
from core.services import Services
from tests.fakes.hub import FakeHub
from tests.fakes.tiny_models import repo_files, tiny_model
from tests.helpers import open_page, page_text, saved, send, signed_in, wait_for
from ui.state import app_services

GATED = "meta-llama/Llama-tiny-Instruct"
GGUF = "tiny/SmolLM-tiny-Instruct-GGUF"
GATED_SENTENCE = (
    "This model is gated on Hugging Face. Please request access and accept the license terms on the model page, "
    "then try again."
)


@pytest.fixture
def repos(hub: FakeHub) -> None:
    """A gated safetensors model the `granted` account may read, and a public GGUF one."""
    hub.add_repo(GATED, repo_files(tiny_model("transformers")), gated=True, granted=frozenset({"granted"}))
    hub.add_repo(GGUF, repo_files(tiny_model("llama.cpp")))


def check_and_download(at: AppTest, repo_id: str) -> AppTest:
    """Models → Local models: type the model, Check, then Download; wait for the server's download to end."""
    box = at.selectbox(key="local_repo")
    if repo_id not in box.options:
        box.options.append(repo_id)  # a typed new option: the browser sends the text as typed
    box.set_value(repo_id)
    at.button(key="local_check_button").click().run()
    assert not at.exception, at.exception
    assert "You may download" in page_text(at), page_text(at)
    at.button(key="local_download").click().run()
    assert not at.exception, at.exception
    job = app_services().local.downloads.job(repo_id)
    assert job is not None
    wait_for(lambda: job.progress().state != "running", timeout=60)
    assert job.progress().state == "done", job.progress().message
    return open_page(at, "models")


def chat_briefly(at: AppTest, text: str) -> AppTest:
    """Open Chat, bound this chat's replies to 24 tokens (the tiny models never stop early), send `text`."""
    open_page(at, "chat")
    at.number_input(key="chat_max_tokens:new").set_value(24)
    at.button(key="chat_settings_apply:new").click().run()
    assert not at.exception, at.exception
    return send(at, text)


def test_a_gated_model_from_no_token_to_a_chat(services: Services, alice: UserPublic, repos: None) -> None:
    at = open_page(signed_in(), "models")
    box = at.selectbox(key="local_repo")
    box.options.append(GATED)
    box.set_value(GATED)
    at.button(key="local_check_button").click().run()
    no_token = page_text(at)
    assert "gated" in no_token and "Read token" in no_token and "Profile" in no_token, no_token

    services.credentials.save(alice.id, "huggingface", {"token": "hf_test_reader_token"})  # not granted
    at.button(key="local_check_button").click().run()
    assert GATED_SENTENCE in page_text(at)
    assert [b for b in at.get("link_button") if GATED in str(b.proto.url)], "a link to the model page"

    services.credentials.save(alice.id, "huggingface", {"token": "hf_test_granted_token"})
    at = check_and_download(at, GATED)
    assert GATED in page_text(at), "the model is on the user's list"
    files = sorted(path.name for path in (services.settings.models_folder / GATED).iterdir() if path.is_file())
    assert "model.safetensors" in files and "tokenizer.json" in files

    at.button(key=f"local_chat:{GATED}").click().run()
    assert at.selectbox(key="chat_model").value == f"local/{GATED}"
    chat_briefly(at, "Hello there")
    reply = saved(services, alice).messages[-1]
    assert reply.role == "assistant" and reply.model == f"local/{GATED}" and reply.error is None
    assert reply.content.strip(), "the tiny model wrote text"
    assert reply.completion_tokens == 24 and reply.prompt_tokens and reply.cost == 0.0


def test_a_gguf_model_chats_and_costs_nothing(services: Services, alice: UserPublic, repos: None) -> None:
    at = check_and_download(open_page(signed_in(), "models"), GGUF)
    folder = services.settings.models_folder / GGUF
    assert sorted(path.name for path in folder.iterdir() if path.is_file()) == ["tiny-Q4_K_M.gguf"]
    at.button(key=f"local_chat:{GGUF}").click().run()
    at = chat_briefly(at, "Hello")
    reply = saved(services, alice).messages[-1]
    assert reply.error is None and reply.content.strip() and reply.cost == 0.0
    assert "$0" in page_text(at), "the reply says it cost nothing"


def test_another_users_gated_download_is_not_theirs_to_chat_with(
    services: Services, alice: UserPublic, bob: UserPublic, repos: None
) -> None:
    services.credentials.save(alice.id, "huggingface", {"token": "hf_test_granted_token"})
    check_and_download(open_page(signed_in(), "models"), GATED)
    local = app_services().local
    assert local.usable(bob.id) == (), "bob never added it"
    services.credentials.save(bob.id, "huggingface", {"token": "hf_test_reader_token"})
    local.library.add_user(bob.id, GATED)  # on his list, but his own token has no access
    assert GATED not in local.usable(bob.id)
    turn = app_services().chat.send(bob.id, Conversation(), "Hi", f"local/{GATED}")
    list(turn.batches())
    reply = turn.finish()
    assert reply.error is not None and "Download it on Models" in str(reply.error)


def test_a_model_that_does_not_fit_in_memory_says_so_in_the_chat(
    services: Services, alice: UserPublic, repos: None
) -> None:
    """The pool's refusal reaches the reply as the app's own message, not litellm's wrapper around it."""
    local = services.local
    local.pool = ModelPool(1, 1, free_memory=lambda: 0)  # a server with no memory to spare
    job = local.download(alice.id, GGUF)
    wait_for(lambda: job.progress().state != "running", timeout=60)
    turn = services.chat.send(alice.id, Conversation(), "Hi", f"local/{GGUF}")
    list(turn.batches())
    reply = turn.finish()
    assert reply.error is not None and "of free memory" in str(reply.error), str(reply.error)
    assert "litellm" not in str(reply.error) and turn.reply.attempts == 1, "refused once, never retried"


def download(services: Services, user: UserPublic, repo_id: str) -> None:
    job = services.local.download(user.id, repo_id)
    wait_for(lambda: job.progress().state != "running", timeout=60)
    assert job.progress().state == "done", job.progress().message


def test_a_reply_queued_behind_another_says_so_and_stop_ends_either(
    services: Services, alice: UserPublic, bob: UserPublic, repos: None
) -> None:
    """Two users, one model, one generation at a time: the second reply says how many are ahead; Stop takes it out
    of the queue at once, and Stop on the first ends its generation, so the model is free for the next."""
    for user in (alice, bob):
        services.credentials.save(user.id, "huggingface", {"token": "hf_test_granted_token"})
        download(services, user, GATED)
    endless = Conversation(settings=GenerationSettings(max_tokens=MAX_TOKENS_LIMIT))  # bounded by the context only
    first = services.chat.send(alice.id, endless, "Tell me everything", f"local/{GATED}")
    try:
        wait_for(lambda: bool(first.reply.text), timeout=60)
        second = services.chat.send(bob.id, Conversation(), "Hi", f"local/{GATED}")
        wait_for(lambda: second.reply.waiting() is not None)
        assert second.reply.waiting() == "Waiting for the model (1 ahead). One reply runs at a time on this server."
        assert services.local.waiting(GATED) == 1
        stopped = second.finish()  # what the page's Stop does
        assert services.local.waiting(GATED) == 0, "it left the queue at once"
        assert stopped.interrupted and stopped.content == "" and second.reply.waiting() is None
        assert not first.reply.settled, "the first reply goes on"
    finally:
        first.finish()
    assert first.reply.stopped and first.reply.text
    third = services.chat.send(bob.id, Conversation(settings=GenerationSettings(max_tokens=6)), "Hi", f"local/{GATED}")
    wait_for(lambda: third.reply.settled, timeout=20)  # never behind the first: its generation ended with Stop
    assert third.finish().completion_tokens == 6
