"""GGUF models through llama.cpp (llama-cpp-python): all layers on the GPU when the build has one, the chat template
the GGUF file carries, text streamed token by token, cancelled by closing llama.cpp's generator between tokens."""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from core.local.errors import LocalModelError, room_to_answer
from core.local.folders import RuntimeName, gguf_file, memory_needed
from core.local.generation import Generation, GenerationRequest

# The context the KV cache is sized for: models train for 8k-128k tokens, whose cache would not fit in memory here.
CONTEXT_TOKENS = 4096
# Closed at exit while llama.cpp's library is still there (a Llama collected later complains on stderr).
_open: weakref.WeakSet[LlamaCppModel] = weakref.WeakSet()


class LlamaCppModel:
    """A GGUF model in memory (llama.cpp maps the file)."""

    runtime: RuntimeName = "llama.cpp"

    def __init__(self, repo_id: str, folder: Path, threads: int) -> None:
        path = gguf_file(folder)
        if path is None:
            raise LocalModelError(f"{repo_id} has no .gguf file. Delete it and download it again.")
        self.repo_id = repo_id
        self.llama = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=CONTEXT_TOKENS,
            n_threads=threads or os.cpu_count() or 1,
            n_gpu_layers=-1 if llama_cpp.llama_supports_gpu_offload() else 0,
            verbose=False,
        )
        self.memory_bytes = memory_needed(folder)
        self._formatter = self._prompt_formatter()
        self._lock = threading.Lock()  # one generation per model at a time: a Llama holds one context
        _open.add(self)

    def _prompt_formatter(self) -> Jinja2ChatFormatter | None:
        """The GGUF's chat template as llama-cpp-python renders it, to count the prompt's tokens."""
        template = self.llama.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        vocab = self.llama._model  # the token texts llama-cpp-python itself gives the template
        bos, eos = self.llama.token_bos(), self.llama.token_eos()
        return Jinja2ChatFormatter(
            template=template,
            bos_token=vocab.token_get_text(bos) if bos != -1 else "",
            eos_token=vocab.token_get_text(eos) if eos != -1 else "",
        )

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        """How many tokens the chat's prompt takes, rendered and tokenized as create_chat_completion does."""
        if self._formatter is None:  # llama-cpp-python then falls back to its Llama-2 format: close enough
            return len(self.llama.tokenize("\n".join(m["content"] for m in messages).encode(), add_bos=True))
        prompt = self._formatter(messages=messages).prompt  # type: ignore[arg-type]
        return len(self.llama.tokenize(prompt.encode(), add_bos=False, special=True))

    def run(self, request: GenerationRequest, generation: Generation) -> None:
        """Generate into `generation` on this thread; each streamed chunk is one generated token."""
        messages = [dict(message) for message in request.messages]
        options: dict[str, Any] = {} if request.temperature is None else {"temperature": request.temperature}
        with self._lock:
            prompt_tokens = self.prompt_tokens(messages)
            max_tokens = room_to_answer(self.repo_id, prompt_tokens, self.llama.n_ctx(), request.max_tokens)
            stream = self.llama.create_chat_completion(
                messages,  # type: ignore[arg-type]
                stream=True,
                max_tokens=max_tokens,
                **options,
            )
            completion_tokens, reason = 0, "stop"
            try:
                for chunk in stream:
                    choice: Any = chunk["choices"][0]  # type: ignore[index]
                    if "content" in choice["delta"]:
                        completion_tokens += 1
                        generation.put(choice["delta"]["content"] or "")
                    reason = choice["finish_reason"] or reason
                    if generation.cancelled.is_set():
                        reason = "stop"
                        break
            finally:
                stream.close()  # type: ignore[union-attr]
        generation.finish(prompt_tokens, completion_tokens, "length" if reason == "length" else "stop")

    def generate(self, request: GenerationRequest) -> Generation:
        return Generation.start(lambda generation: self.run(request, generation))

    def close(self) -> None:
        self.llama.close()
        _open.discard(self)


@atexit.register
def _close_all() -> None:
    for model in list(_open):
        model.close()
