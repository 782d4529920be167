"""The short list of models the Models page suggests: small enough to run on a CPU, each with what it costs.

Sizes are what the download brings (the files this app fetches, not the whole repository) and memory what the
model takes once loaded, both rounded up; the plan shown before a download gives the exact bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class SuggestedModel:
    """A model worth trying here; `note` says plainly what to expect of it on this kind of server."""

    repo_id: str
    runtime: str  # "transformers" (safetensors) or "llama.cpp" (GGUF)
    disk_bytes: int
    memory_bytes: int
    gated: bool = False
    note: str = ""


SUGGESTED: tuple[SuggestedModel, ...] = (
    SuggestedModel(
        "HuggingFaceTB/SmolLM2-360M-Instruct-GGUF",
        "llama.cpp",
        400 * MIB,
        600 * MIB,
        note="The quickest start: small and fast on any CPU (tens of words a second on two cores).",
    ),
    SuggestedModel(
        "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        "llama.cpp",
        500 * MIB,
        800 * MIB,
        note="A little larger and better at following instructions; still fast on a CPU.",
    ),
    SuggestedModel(
        "HuggingFaceTB/SmolLM2-360M-Instruct",
        "transformers",
        730 * MIB,
        int(1.1 * GIB),
        note="The same SmolLM2 as full weights: about a third of the GGUF version's speed on a CPU.",
    ),
    SuggestedModel(
        "Qwen/Qwen2.5-0.5B-Instruct",
        "transformers",
        1000 * MIB,
        int(1.5 * GIB),
        note="Qwen 2.5 0.5B as full weights.",
    ),
    SuggestedModel(
        "meta-llama/Llama-3.2-1B-Instruct",
        "transformers",
        int(2.5 * GIB),
        3 * GIB,
        gated=True,
        note="Gated: accept Meta's license on its page first. A few words a second on a CPU.",
    ),
    SuggestedModel(
        "meta-llama/Meta-Llama-3-8B-Instruct",
        "transformers",
        15 * GIB,
        17 * GIB,
        gated=True,
        note=(
            "The guide's example. Gated. 8B parameters need about 16 GB of disk and 17 GB of free memory, and on a "
            "CPU it writes roughly one word a second or slower: use it on a server with a GPU, or pick a GGUF model."
        ),
    ),
)


def suggested(repo_id: str) -> SuggestedModel | None:
    return next((model for model in SUGGESTED if model.repo_id == repo_id), None)
