"""What a model is sent of a conversation: its active path, failed replies left out, attachments as context, and
images only to a model that takes them (litellm's model info says which)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.chat.attachments import for_provider, has_images
from core.chat.conversations import Conversation
from core.errors import InvalidInput
from core.models.model_info import accepts_images
from core.models.target import ModelTarget
from core.providers.registry import ProviderSpec


def messages_for(
    conversation: Conversation, target: ModelTarget | None, new_images: bool, providers: Sequence[ProviderSpec]
) -> list[dict[str, Any]]:
    """The provider's messages for `target` (None: a model that cannot be resolved, whose reply fails with the
    reason); earlier images left out with a note for a model that takes none, a new one refused (InvalidInput)
    before anything is sent."""
    if target is None or not has_images(conversation.messages):
        return for_provider(conversation, images=False)
    images = accepts_images(target.litellm_model)
    if new_images and not images:
        raise InvalidInput(
            f"{target.ref} does not accept images; pick a model that does, e.g. {image_models(providers)}.",
            "attachments",
        )
    return for_provider(conversation, images)


def image_models(providers: Sequence[ProviderSpec]) -> str:
    """A few of the default models that take images, to name where one that does not is picked."""
    targets = (ModelTarget(spec, m.id) for spec in providers if not spec.runs_here for m in spec.default_models)
    refs = [target.ref for target in targets if accepts_images(target.litellm_model)]
    return " or ".join(refs[:2]) or "one whose provider lists image input"
