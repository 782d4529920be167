"""Safetensors models through transformers: bfloat16 (twice as fast as float32 on these CPUs), on CUDA when there
is a GPU, the chat template from the tokenizer, text streamed as transformers' TextStreamer finalises it (whole
words), cancelled between two tokens by a stopping criterion. A repo's own code is never run."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList, TextStreamer
from transformers.utils import logging as transformers_logging

from core.local.errors import room_to_answer
from core.local.folders import RuntimeName
from core.local.generation import Generation, GenerationRequest

_threads_set = False
_threads_lock = threading.Lock()


def _set_threads(threads: int) -> None:
    """torch's thread pool is per process and can be sized only before its first use: once, all cores by default."""
    global _threads_set
    with _threads_lock:
        if not _threads_set:
            torch.set_num_threads(threads or os.cpu_count() or 1)
            _threads_set = True


class _Cancelled(StoppingCriteria):
    """Stops `generate` at the next token once the generation is cancelled."""

    def __init__(self, generation: Generation) -> None:
        self._cancelled = generation.cancelled

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self._cancelled.is_set(), dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]


class _Streamer(TextStreamer):
    """TextIteratorStreamer's decoding (whole words, prompt skipped) pushed straight into the Generation, so no
    thread sits between the model and the reader."""

    def __init__(self, tokenizer: Any, generation: Generation) -> None:
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self._generation = generation

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        self._generation.put(text)


def _sampling(request: GenerationRequest) -> dict[str, Any]:
    """None keeps the model's generation_config; 0 is greedy."""
    if request.temperature is None:
        return {}
    if request.temperature == 0:
        return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    return {"do_sample": True, "temperature": request.temperature}


class TransformersModel:
    """A safetensors model and its tokenizer in memory."""

    runtime: RuntimeName = "transformers"

    def __init__(self, repo_id: str, folder: Path, threads: int) -> None:
        _set_threads(threads)
        transformers_logging.disable_progress_bar()  # "Loading weights" bars would go to the server's stderr
        self.repo_id = repo_id
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        model: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16, trust_remote_code=False)
        self.model = model.to(self.device).eval()
        self.memory_bytes = int(self.model.get_memory_footprint())
        # The positions the model was trained for: beyond them its replies fall apart (and the cache keeps growing).
        self.context_tokens = int(getattr(self.model.config, "max_position_embeddings", 0) or 4096)
        self._lock = threading.Lock()  # one generation per model at a time

    def _encode(self, request: GenerationRequest) -> Any:
        encoded: Any = self.tokenizer.apply_chat_template(
            [dict(message) for message in request.messages],
            add_generation_prompt=True,
            return_dict=True,
            return_tensors="pt",
        )
        return encoded.to(self.device)

    def run(self, request: GenerationRequest, generation: Generation) -> None:
        """Generate into `generation` on this thread; usage counts the prompt's and the generated token ids."""
        with self._lock, torch.inference_mode():
            encoded = self._encode(request)
            prompt_tokens = int(encoded["input_ids"].shape[1])
            max_tokens = room_to_answer(self.repo_id, prompt_tokens, self.context_tokens, request.max_tokens)
            output = self.model.generate(
                **encoded,
                max_new_tokens=max_tokens,
                streamer=_Streamer(self.tokenizer, generation),
                stopping_criteria=StoppingCriteriaList([_Cancelled(generation)]),
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
                **_sampling(request),
            )
        completion_tokens = int(output.shape[1]) - prompt_tokens
        generation.finish(prompt_tokens, completion_tokens, "length" if completion_tokens >= max_tokens else "stop")

    def generate(self, request: GenerationRequest) -> Generation:
        return Generation.start(lambda generation: self.run(request, generation))

    def close(self) -> None:
        """Drop the weights; the memory returns once no generation holds them."""
        self.model = None
        if self.device == "cuda":
            torch.cuda.empty_cache()
