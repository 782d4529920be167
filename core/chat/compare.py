"""Compare: one prompt to two or three models at once, each reply streaming on its own, with speed and cost; nothing
is saved unless the user continues with one reply (`ChatService.continue_with`), which becomes a chat."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from core.chat.conversations import Message
from core.chat.pacing import ReplyPumps
from core.chat.stream import ReplyStream
from core.errors import InvalidInput
from core.models.model_info import has_price

MIN_MODELS, MAX_MODELS = 2, 3


@dataclass(frozen=True)
class CompareResult:
    """What one column shows once its reply has settled."""

    model_ref: str
    text: str
    error: str | None
    interrupted: bool
    time_to_first_token: float | None
    tokens_per_second: float | None
    cost: float | None
    message: Message  # the reply as a chat saves it (model, usage, cost), for "Continue with this one"

    @classmethod
    def of(cls, reply: ReplyStream) -> CompareResult:
        return cls(
            model_ref=reply.model_ref,
            text=reply.text,
            error=str(reply.error) if reply.error else None,
            interrupted=reply.interrupted,
            time_to_first_token=reply.time_to_first_token,
            tokens_per_second=reply.tokens_per_second,
            cost=_known_cost(reply),
            message=reply.message(),
        )


def _known_cost(reply: ReplyStream) -> float | None:
    """The reply's cost where litellm's map prices its model; litellm says $0 for a model it only half knows."""
    if reply.cost is None or reply.target is None:
        return None
    if not reply.target.spec.runs_here and not has_price(reply.target.litellm_model):
        return None
    return reply.cost


class Comparison:
    """One prompt's replies; `finish()` (any number of times) stops any still streaming and returns the results."""

    def __init__(self, prompt: str, replies: list[ReplyStream]) -> None:
        self.prompt = prompt
        self.replies = replies
        self._pumps = ReplyPumps(replies)  # the providers start answering now

    def batches(self, on_idle: Callable[[], object] | None = None) -> Iterator[tuple[int, str]]:
        """`(column, new text)` as the replies stream side by side (see `core.chat.pacing.ReplyPumps.batches`)."""
        return self._pumps.batches(on_idle=on_idle)

    def finish(self) -> list[CompareResult]:
        for reply in self.replies:
            reply.stop()
        return [CompareResult.of(reply) for reply in self.replies]


def clean_model_refs(model_refs: Sequence[str]) -> list[str]:
    """Two or three different model references, trimmed, in the order picked; InvalidInput otherwise."""
    refs = list(dict.fromkeys(ref.strip() for ref in model_refs if ref and ref.strip()))
    if not MIN_MODELS <= len(refs) <= MAX_MODELS:
        raise InvalidInput(f"Pick {MIN_MODELS} or {MAX_MODELS} different models to compare.", "compare_models")
    return refs
