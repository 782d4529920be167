"""How long a reply may be: the max output tokens the user set, else the model's own limit where litellm knows it,
else `DEFAULT_MAX_TOKENS`. A value set above the model's limit is clamped to that limit (the provider would refuse
it), so one chat's setting works with every model it is sent to."""

from __future__ import annotations

from core.models.model_info import output_limit

DEFAULT_MAX_TOKENS = 4096  # for a model whose limit litellm does not know: providers need a bound (Anthropic does)


def max_output_tokens(litellm_model: str, chosen: int | None) -> int:
    """The bound to send for a reply of `litellm_model` ("provider/model-id"), `chosen` None for the model's own."""
    limit = output_limit(litellm_model)
    if chosen is None:
        return limit or DEFAULT_MAX_TOKENS
    return min(chosen, limit) if limit else chosen
