"""The local runtimes and the model pool, on the tiny models the tests build (real files, real loading code)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.local.errors import LocalModelError
from core.local.pool import ModelPool
from core.local.runtime import (
    GIB,
    OVERHEAD,
    Generation,
    GenerationRequest,
    LoadedModel,
    load,
    memory_needed,
    runtime_of,
)
from core.local.seat import Seat
from tests.fakes.tiny_models import GGUF_NAME, tiny_model

RUNTIMES = ["transformers", "llama.cpp"]
HELLO = ({"role": "user", "content": "Hello! Who are you?"},)
ENDLESS = 100_000  # far more tokens than any test waits for: such a generation ends only when cancelled
THREADS = 1  # the test machine's cores are shared


def greedy(max_tokens: int = 12, messages: tuple[dict[str, str], ...] = HELLO) -> GenerationRequest:
    return GenerationRequest(messages, max_tokens, 0)


@pytest.fixture(scope="module")
def loaded() -> Iterator[dict[str, LoadedModel]]:
    models = {runtime: load(f"tiny/{runtime}", tiny_model(runtime), THREADS) for runtime in RUNTIMES}
    yield models
    for model in models.values():
        model.close()


@pytest.fixture
def pool() -> Iterator[ModelPool]:
    pool = ModelPool(max_loaded=2, threads=THREADS)
    yield pool
    for repo_id in pool.loaded():
        pool.unload(repo_id)


def cancel_all(*generations: Generation) -> None:
    """Tests end their endless generations, also when an assertion failed first."""
    for generation in generations:
        generation.cancel()
    for generation in generations:
        generation.ended.wait(20)


def first_piece(generation: Generation) -> Iterator[str]:
    """The generation's iterator, once it has produced its first piece (so it is running)."""
    pieces = iter(generation)
    next(pieces)
    return pieces


def test_runtime_of_picks_the_runtime_from_the_files(tmp_path: Path) -> None:
    assert runtime_of(tiny_model("transformers")) == "transformers"
    assert runtime_of(tiny_model("llama.cpp")) == "llama.cpp"
    assert runtime_of(tmp_path) is None
    (tmp_path / "config.json").write_text("{}")
    assert runtime_of(tmp_path) is None  # a config without weights runs nothing


def test_a_folder_with_nothing_to_run_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match="has no files this app can run"):
        load("tiny/empty", tmp_path, THREADS)


def test_memory_needed_counts_the_weights_as_loaded(loaded: dict[str, LoadedModel]) -> None:
    transformers_model = loaded["transformers"].model  # type: ignore[attr-defined]
    parameters = sum(p.numel() for p in transformers_model.parameters())
    assert memory_needed(tiny_model("transformers")) == 2 * parameters + OVERHEAD["transformers"]  # bfloat16
    gguf = tiny_model("llama.cpp") / GGUF_NAME
    assert memory_needed(tiny_model("llama.cpp")) == gguf.stat().st_size + OVERHEAD["llama.cpp"]


def test_transformers_generates_the_models_own_greedy_text_and_usage(loaded: dict[str, LoadedModel]) -> None:
    model = loaded["transformers"]
    generation = model.generate(greedy(12))
    text = "".join(generation)
    # The same model called by hand: its own prompt length, generated ids and decoded text.
    tokenizer, network = model.tokenizer, model.model  # type: ignore[attr-defined]
    encoded = tokenizer.apply_chat_template(
        list(HELLO), add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    output = network.generate(**encoded, max_new_tokens=12, do_sample=False)
    prompt_length = encoded["input_ids"].shape[1]
    assert text and text == tokenizer.decode(output[0][prompt_length:], skip_special_tokens=True)
    assert (generation.prompt_tokens, generation.completion_tokens) == (prompt_length, output.shape[1] - prompt_length)
    assert generation.finish_reason == "length"


def test_llama_cpp_generates_the_models_own_greedy_text_and_usage(loaded: dict[str, LoadedModel]) -> None:
    model = loaded["llama.cpp"]
    generation = model.generate(greedy(12))
    text = "".join(generation)
    own = model.llama.create_chat_completion([dict(m) for m in HELLO], max_tokens=12, temperature=0)  # type: ignore[attr-defined]
    assert text and text == own["choices"][0]["message"]["content"]
    assert generation.prompt_tokens == own["usage"]["prompt_tokens"]
    assert generation.completion_tokens == own["usage"]["completion_tokens"] == 12
    assert generation.finish_reason == "length"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_prompt_count_grows_with_the_conversation(loaded: dict[str, LoadedModel], runtime: str) -> None:
    longer = (*HELLO, {"role": "assistant", "content": "A model."}, {"role": "user", "content": "Say more."})
    short, long = loaded[runtime].generate(greedy(2)), loaded[runtime].generate(greedy(2, longer))
    list(short), list(long)
    assert 0 < short.prompt_tokens < long.prompt_tokens


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cancel_ends_a_generation_midway(loaded: dict[str, LoadedModel], runtime: str) -> None:
    generation = loaded[runtime].generate(greedy(ENDLESS))
    try:
        pieces = first_piece(generation)
        generation.cancel()
        list(pieces)  # returns once the runtime has stopped
        assert generation.ended.is_set()
        assert 0 < generation.completion_tokens < ENDLESS
        assert generation.finish_reason == "stop"
    finally:
        cancel_all(generation)
    assert "".join(loaded[runtime].generate(greedy(3)))  # the model is free for the next one


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_pool_generates_with_either_runtime(pool: ModelPool, runtime: str) -> None:
    generation = pool.generate("tiny/model", tiny_model(runtime), greedy(5))
    assert "".join(generation)
    assert generation.completion_tokens == 5
    assert pool.loaded() == ["tiny/model"]


def test_a_second_generation_waits_its_turn_and_then_runs(pool: ModelPool) -> None:
    folder = tiny_model("llama.cpp")
    first = pool.generate("tiny/model", folder, greedy(ENDLESS))
    second = pool.generate("tiny/model", folder, greedy(4))
    try:
        first_piece(first)
        assert (first.ahead(), second.ahead()) == (0, 1)
        assert pool.waiting("tiny/model") == 1
        assert not second.ended.is_set()  # it has not run: the first is still generating
        first.cancel()
        assert "".join(second)
        assert second.completion_tokens == 4 and second.ahead() == 0
        assert pool.waiting("tiny/model") == 0
    finally:
        cancel_all(first, second)


def test_one_generation_at_a_time_across_models(pool: ModelPool) -> None:
    first = pool.generate("tiny/a", tiny_model("llama.cpp"), greedy(ENDLESS))
    second = pool.generate("tiny/b", tiny_model("transformers"), greedy(3))
    try:
        first_piece(first)
        assert second.ahead() == 1
        first.cancel()
        assert "".join(second)
    finally:
        cancel_all(first, second)


def test_cancelling_a_queued_generation_takes_it_out_of_the_queue_at_once(pool: ModelPool) -> None:
    folder = tiny_model("llama.cpp")
    first = pool.generate("tiny/model", folder, greedy(ENDLESS))
    second = pool.generate("tiny/model", folder, greedy(ENDLESS))
    third = pool.generate("tiny/model", folder, greedy(3))
    try:
        first_piece(first)
        assert third.ahead() == 2
        second.cancel()
        assert third.ahead() == 1  # at once: the first is still running
        assert list(second) == [] and second.completion_tokens == 0
        first.cancel()
        assert "".join(third)
    finally:
        cancel_all(first, second, third)


def test_a_seat_says_where_its_reply_waits_and_its_cancel_takes_it_out_of_the_queue(pool: ModelPool) -> None:
    folder = tiny_model("llama.cpp")
    first = pool.generate("tiny/model", folder, greedy(ENDLESS))
    seat = Seat("tiny/model")
    try:
        first_piece(first)
        assert seat.note() is None, "nothing seated yet"
        with seat.bound():
            second = pool.generate("tiny/model", folder, greedy(ENDLESS))
        unseated = pool.generate("tiny/model", folder, greedy(2))  # made outside the binding: not this seat's
        assert seat.note() == "Waiting for the model (1 ahead). One reply runs at a time on this server."
        assert unseated.ahead() == 2
        seat.cancel()
        assert second.cancelled.is_set() and unseated.ahead() == 1 and seat.note() is None
    finally:
        cancel_all(first, second, unseated)


def test_a_seat_cancelled_before_its_generation_exists_cancels_it_at_once(pool: ModelPool) -> None:
    seat = Seat("tiny/model")
    seat.cancel()  # Stop clicked while litellm was still preparing the call
    with seat.bound():
        generation = pool.generate("tiny/model", tiny_model("llama.cpp"), greedy(ENDLESS))
    assert generation.cancelled.is_set()
    assert list(generation) == [] and pool.waiting("tiny/model") == 0


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_conversation_longer_than_the_model_holds_is_refused_clearly(
    loaded: dict[str, LoadedModel], runtime: str
) -> None:
    model = loaded[runtime]
    long = ({"role": "user", "content": "fox " * 9000},)  # over both tiny models' context (4,096 and 8,192)
    with pytest.raises(
        LocalModelError, match=r"This conversation is too long for tiny/.* \(\d+ tokens; it holds \d+\)"
    ):
        list(model.generate(greedy(4, long)))


def test_the_least_recently_used_model_is_unloaded_beyond_the_limit() -> None:
    pool = ModelPool(max_loaded=2, threads=THREADS)
    folders = {name: tiny_model("llama.cpp") for name in ("tiny/a", "tiny/b")}
    folders["tiny/c"] = tiny_model("transformers")
    try:
        for repo_id in ("tiny/a", "tiny/b", "tiny/a", "tiny/c"):
            assert "".join(pool.generate(repo_id, folders[repo_id], greedy(2)))
        assert pool.loaded() == ["tiny/a", "tiny/c"]  # b was used least recently
        pool.unload("tiny/a")
        assert pool.loaded() == ["tiny/c"]
    finally:
        for repo_id in pool.loaded():
            pool.unload(repo_id)


def test_a_model_unloaded_while_it_replies_finishes_the_reply(pool: ModelPool) -> None:
    generation = pool.generate("tiny/model", tiny_model("llama.cpp"), greedy(ENDLESS))
    try:
        pieces = first_piece(generation)
        pool.unload("tiny/model")
        assert pool.loaded() == []
        next(pieces)  # still generating: it is closed only when this reply ends
        generation.cancel()
        list(pieces)
    finally:
        cancel_all(generation)
    assert "".join(pool.generate("tiny/model", tiny_model("llama.cpp"), greedy(2)))  # loads again


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_model_that_needs_more_memory_than_is_free_is_refused(runtime: str) -> None:
    pool = ModelPool(max_loaded=1, threads=THREADS, free_memory=lambda: GIB // 10)
    needed = memory_needed(tiny_model(runtime)) / GIB
    with pytest.raises(LocalModelError) as refused:
        list(pool.generate("tiny/model", tiny_model(runtime), greedy(2)))
    assert str(refused.value) == (
        f"tiny/model needs about {needed:.1f} GiB of free memory; 0.1 GiB are free. "
        "Close another model or pick a smaller one."
    )
    assert pool.loaded() == [] and pool.waiting("tiny/model") == 0


def test_a_copied_model_folder_loads_too(tmp_path: Path) -> None:
    """What the downloader leaves behind (plain files in the models folder) is what the runtime loads."""
    folder = shutil.copytree(tiny_model("transformers"), tmp_path / "owner" / "name")
    model = load("owner/name", folder, THREADS)
    try:
        assert model.runtime == "transformers" and model.memory_bytes > 0
        assert "".join(model.generate(greedy(3)))
    finally:
        model.close()
