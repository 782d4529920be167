"""What both local runtimes share, in one place for their callers: which runtime a folder needs and the memory it
takes (`folders.py`), a request and the `Generation` a reply streams through (`generation.py`), the `LoadedModel`
protocol, and `load`, which imports torch or llama_cpp only when a model of theirs is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from core.local.errors import LocalModelError
from core.local.folders import GIB, OVERHEAD, RuntimeName, gguf_file, memory_needed, runtime_of
from core.local.generation import FinishReason, Generation, GenerationRequest

__all__ = [
    "GIB",
    "OVERHEAD",
    "FinishReason",
    "Generation",
    "GenerationRequest",
    "LoadedModel",
    "RuntimeName",
    "gguf_file",
    "load",
    "memory_needed",
    "runtime_of",
]


class LoadedModel(Protocol):
    """A model in memory, ready to generate; `run` generates into a given Generation on the calling thread."""

    repo_id: str
    runtime: RuntimeName
    memory_bytes: int

    def run(self, request: GenerationRequest, generation: Generation) -> None: ...

    def generate(self, request: GenerationRequest) -> Generation: ...

    def close(self) -> None: ...


def load(repo_id: str, folder: Path, threads: int) -> LoadedModel:
    """Load the model in `folder` with the runtime its files need (`threads` 0: all cores)."""
    runtime = runtime_of(folder)
    if runtime == "llama.cpp":
        from core.local.runtime_llamacpp import LlamaCppModel

        return LlamaCppModel(repo_id, folder, threads)
    if runtime == "transformers":
        from core.local.runtime_transformers import TransformersModel

        return TransformersModel(repo_id, folder, threads)
    raise LocalModelError(
        f"{repo_id} has no files this app can run (a .gguf file, or config.json with .safetensors weights). "
        "Delete it and download it again."
    )
