"""Which of a repo's files this app downloads, and which runtime runs them.

A repo with GGUF files runs with llama.cpp and needs ONE quantization (Q4_K_M unless the user picks another of
the repo's); a repo with safetensors weights and a config.json runs with transformers and needs its top-level
`*.safetensors`, `*.json`, `*.jinja` (chat template) and `tokenizer*` files, never `original/*` (Llama ships
16 GB of .pth duplicates there).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from core.local.errors import LocalModelError

LLAMA_CPP = "llama.cpp"
TRANSFORMERS = "transformers"
DEFAULT_QUANTIZATION = "Q4_K_M"
# When Q4_K_M is missing: the usual balance of size and quality first, then larger, then smaller.
FALLBACK_QUANTIZATIONS = ("Q4_K_S", "Q4_0", "Q5_K_M", "Q5_K_S", "Q5_0", "Q6_K", "Q8_0", "Q3_K_M", "BF16", "F16")
_QUANTIZATION = re.compile(r"(?<![A-Z0-9])(I?Q\d(?:_[A-Z0-9]+)*|BF16|FP16|F16|FP32|F32)(?![A-Z0-9])")

RepoFile = tuple[str, int]  # (path in the repo, size in bytes)


@dataclass(frozen=True)
class Selection:
    """What to download: the runtime, the exact files, and for GGUF repos the quantizations on offer."""

    runtime: str
    files: tuple[RepoFile, ...]
    quantizations: tuple[str, ...] = ()
    quantization: str | None = None
    note: str = ""


def quantization_of(path: str) -> str | None:
    """The quantization tag in a GGUF file's name (`…-q4_k_m.gguf` → Q4_K_M), or None."""
    stem = path.rsplit("/", 1)[-1].upper().removesuffix(".GGUF")
    found = _QUANTIZATION.findall(stem)
    return found[-1].replace("FP", "F") if found else None


def _is_gguf(path: str) -> bool:
    # Vision projectors ship beside the model and are no chat model of their own.
    return path.lower().endswith(".gguf") and not path.rsplit("/", 1)[-1].lower().startswith("mmproj")


def _pick_gguf(files: Sequence[RepoFile], wanted: str | None) -> Selection:
    gguf = [item for item in files if _is_gguf(item[0])]
    by_tag: dict[str, list[RepoFile]] = {}
    for item in gguf:
        by_tag.setdefault(quantization_of(item[0]) or "", []).append(item)
    tags = tuple(sorted(tag for tag in by_tag if tag))
    if wanted is not None:
        wanted = quantization_of(f"-{wanted.strip()}.gguf") or wanted.strip().upper()
        if not wanted or wanted not in by_tag:
            raise LocalModelError(f"{wanted} is not one of this repo's quantizations: {', '.join(tags) or 'none'}.")
        return Selection(LLAMA_CPP, tuple(by_tag[wanted]), tags, wanted)
    if not tags:  # GGUF files without a tag in their names: the smallest is the lightest to run
        return Selection(LLAMA_CPP, (min(gguf, key=lambda item: item[1]),), (), None)
    if DEFAULT_QUANTIZATION in by_tag:
        return Selection(LLAMA_CPP, tuple(by_tag[DEFAULT_QUANTIZATION]), tags, DEFAULT_QUANTIZATION)
    chosen = next((tag for tag in FALLBACK_QUANTIZATIONS if tag in by_tag), None)
    chosen = chosen or min(tags, key=lambda tag: sum(size for _, size in by_tag[tag]))
    note = f"This repo has no {DEFAULT_QUANTIZATION} file, so {chosen} is chosen; pick another below if you like."
    return Selection(LLAMA_CPP, tuple(by_tag[chosen]), tags, chosen, note)


def _wanted_for_transformers(path: str) -> bool:
    """Top-level weights, configs and tokenizer files: transformers loads from the folder's root only."""
    if "/" in path:
        return False
    # chat_template.jinja: where transformers 5 keeps the chat template (older repos have it in tokenizer_config.json).
    return path.endswith((".safetensors", ".json", ".jinja")) or path.startswith("tokenizer")


def _describe(files: Sequence[RepoFile]) -> str:
    kinds = Counter(path.rsplit(".", 1)[-1].lower() if "." in path else "other" for path, _ in files)
    return ", ".join(f"{count} .{kind}" for kind, count in kinds.most_common(6)) or "no files"


def choose_files(repo_id: str, files: Sequence[RepoFile], quantization: str | None = None) -> Selection:
    """What to download from `files` (the repo's listing); LocalModelError when nothing here can run it."""
    # A name that could land outside the model's folder (`../x`, `/etc/x`) is never fetched.
    files = [item for item in files if not item[0].startswith("/") and ".." not in item[0].split("/")]
    if any(_is_gguf(path) for path, _ in files):
        return _pick_gguf(files, quantization)
    names = {path for path, _ in files}
    if quantization is None and "config.json" in names and any(p.endswith(".safetensors") for p in names):
        chosen = tuple(item for item in files if _wanted_for_transformers(item[0]))
        if any(path.endswith(".safetensors") for path, _ in chosen):
            return Selection(TRANSFORMERS, chosen)
    if quantization is not None:
        raise LocalModelError(f"{repo_id} has no GGUF files, so there is no quantization to choose.")
    raise LocalModelError(
        f"{repo_id} has no files this app can run: it needs GGUF files (run with llama.cpp) or safetensors "
        f"weights with a config.json (run with transformers), and this repo has {_describe(files)}. "
        "Pick another model, for example its GGUF version."
    )
