"""What a downloaded model folder holds, as the runtimes see it: which runtime runs it, its GGUF file, and about how
much memory it takes once loaded."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

RuntimeName = Literal["transformers", "llama.cpp"]
GIB = 1024**3
# What a runtime holds beyond its weights: torch's own libraries and buffers, or llama.cpp's KV cache and scratch
# buffers for its context (measured on a SmolLM2-360M shape: transformers bf16 1.06 GiB for 0.72 GB of weights,
# llama.cpp 370-780 MiB for a 270 MB Q4_K_M file).
OVERHEAD = {"transformers": 300 * 1024**2, "llama.cpp": 400 * 1024**2}


def gguf_file(folder: Path) -> Path | None:
    """The model's GGUF file (the largest, should a repo hold more), or None."""
    files = sorted(folder.glob("*.gguf"), key=lambda path: path.stat().st_size, reverse=True)
    files = [path for path in files if not path.name.lower().startswith("mmproj")]
    return files[0] if files else None


def runtime_of(folder: Path) -> RuntimeName | None:
    """Which runtime runs the model in `folder`: a GGUF file → llama.cpp; config.json + safetensors → transformers."""
    if gguf_file(folder) is not None:
        return "llama.cpp"
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return "transformers"
    return None


def _safetensors_bytes(path: Path) -> int:
    """The bytes a safetensors file's tensors take in bfloat16, read from its header (not its size on disk)."""
    with path.open("rb") as file:
        length = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(length))
    return sum(2 * math.prod(entry["shape"]) for name, entry in header.items() if name != "__metadata__")


def memory_needed(folder: Path) -> int:
    """About how many bytes of memory the model in `folder` takes once loaded: weights as the runtime holds them
    (GGUF as on disk, safetensors in bfloat16) plus what the runtime itself needs."""
    runtime = runtime_of(folder)
    if runtime == "llama.cpp":
        path = gguf_file(folder)
        return (path.stat().st_size if path else 0) + OVERHEAD[runtime]
    if runtime == "transformers":
        return sum(_safetensors_bytes(path) for path in folder.glob("*.safetensors")) + OVERHEAD[runtime]
    return 0
