"""The models the local benchmark runs: the tests' tiny ones, or random-weight models of a real model's size, built
once and kept in `bench/.models/` (about 1 GB for SmolLM2-360M's size: bf16 safetensors and a Q4_K_M GGUF).

A token of the tiny model (64 wide, 2 layers) costs well under a millisecond, so any per-token overhead of the app's
path shows at its largest; one of SmolLM2-360M's size costs what a user of that model waits for.
"""

from __future__ import annotations

import ctypes
import os
import shutil
from pathlib import Path

from tests.fakes.tiny_models import SMOLLM2_360M, Shape, tiny_model, write_gguf_llama, write_safetensors_llama

SHAPES: dict[str, Shape] = {"smollm2-360m": SMOLLM2_360M}
RUNTIMES = ("transformers", "llama.cpp")
FOLDER = Path(__file__).resolve().parent / ".models"
GGUF_NAME = "model-Q4_K_M.gguf"


def quantize(source: Path, target: Path) -> None:
    """llama.cpp's own quantizer (what `llama-quantize` runs), F16 to Q4_K_M, as the official GGUF repos ship."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    params.nthread = os.cpu_count() or 1
    if llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params)) != 0:
        raise RuntimeError(f"llama.cpp could not quantize {source}")


def _build(shape: Shape, runtime: str, folder: Path) -> None:
    if runtime == "transformers":
        write_safetensors_llama(folder, shape, dtype="bfloat16")  # as SmolLM2's repo ships it
        return
    half = write_gguf_llama(folder.parent / f"{folder.name}-F16.gguf", shape, half=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        quantize(half, folder / GGUF_NAME)
    finally:
        half.unlink(missing_ok=True)


def model_folder(shape_name: str, runtime: str) -> Path:
    """The folder of a model of that shape ("tiny", or a name of SHAPES) for that runtime, built when missing."""
    if shape_name == "tiny":
        return tiny_model(runtime)
    folder = FOLDER / shape_name / runtime
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        _build(SHAPES[shape_name], runtime, folder)
        (folder / ".complete").touch()
    return folder
