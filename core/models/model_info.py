"""What litellm's bundled model map knows about a model: context window, prices per 1M tokens, kind.

The map is public, shared data (no user secret), so it is indexed once per process. `get_model_info` is not
used per model: it costs tens of milliseconds a call, and a catalog can hold hundreds of models. Nor is it a
source of prices: for a model missing from the map that it can still place (a dated Claude, say) it makes up an
entry priced at 0, so litellm's cost of a reply is only believed for a model the map itself prices.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from core.providers.client import litellm

PER_MILLION = 1_000_000
# litellm's `mode` for models that cannot hold a chat.
NOT_CHAT_MODES = frozenset(
    {
        "embedding",
        "image_generation",
        "image_edit",
        "video_generation",
        "audio_transcription",
        "audio_speech",
        "moderation",
        "rerank",
        "completion",
        "ocr",
        "search",
        "vector_store",
    }
)


@dataclass(frozen=True)
class ModelInfo:
    """Input context window and output limit in tokens, USD per 1M input/output tokens, litellm's kind; None where
    unknown."""

    context_window: int | None = None
    max_output_tokens: int | None = None
    input_price: float | None = None
    output_price: float | None = None
    mode: str | None = None

    @property
    def chat_capable(self) -> bool:
        return self.mode not in NOT_CHAT_MODES


UNKNOWN = ModelInfo()


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _price(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return round(value * PER_MILLION, 4)


def _info(entry: dict[str, Any]) -> ModelInfo:
    mode = entry.get("mode")
    return ModelInfo(
        context_window=_count(entry.get("max_input_tokens")) or _count(entry.get("max_tokens")),
        # Not the legacy `max_tokens`: litellm sets it to the input limit where a provider states no output limit.
        max_output_tokens=_count(entry.get("max_output_tokens")),
        input_price=_price(entry.get("input_cost_per_token")),
        output_price=_price(entry.get("output_cost_per_token")),
        mode=mode if isinstance(mode, str) else None,
    )


@functools.cache
def _index() -> dict[tuple[str, str], ModelInfo]:
    """(litellm provider, model id without the provider prefix) -> info, built once from litellm.model_cost."""
    index: dict[tuple[str, str], ModelInfo] = {}
    for name, entry in litellm().model_cost.items():
        provider = entry.get("litellm_provider") if isinstance(entry, dict) else None
        if not isinstance(provider, str):
            continue
        model_id = name.removeprefix(provider + "/")
        index.setdefault((provider, model_id), _info(entry))
    return index


def model_info(provider: str, model_id: str) -> ModelInfo:
    """What litellm knows about `model_id` at the litellm provider `provider` (e.g. "openai", "gemini")."""
    index = _index()
    found = index.get((provider, model_id))
    if found is None and provider == "azure":  # deployments are often named after the model they serve
        found = index.get(("openai", model_id))
    return found or UNKNOWN


def output_limit(litellm_model: str) -> int | None:
    """The most tokens `litellm_model` ("provider/model-id") writes in one reply, where litellm's map says."""
    provider, _, model_id = litellm_model.partition("/")
    return model_info(provider, model_id).max_output_tokens


def has_price(litellm_model: str) -> bool:
    """Whether litellm's map itself prices `litellm_model` ("provider/model-id"); a cost litellm works out for any
    other model is a guess of $0, not a price."""
    provider, _, model_id = litellm_model.partition("/")
    found = _index().get((provider, model_id))
    return found is not None and found.input_price is not None and found.output_price is not None


@functools.cache
def accepts_images(litellm_model: str) -> bool:
    """Whether litellm's model map says `litellm_model` ("provider/model-id") takes images in a chat; an Azure
    deployment named after its model is looked up as that OpenAI model."""
    provider, _, model_id = litellm_model.partition("/")
    names = [litellm_model, f"openai/{model_id}"] if provider == "azure" else [litellm_model]
    return any(_supports_vision(name) for name in names)


def _supports_vision(litellm_model: str) -> bool:
    try:
        return bool(litellm().supports_vision(model=litellm_model))
    except Exception:  # a model litellm cannot place: its map says nothing about images
        return False
