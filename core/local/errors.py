"""The local-model errors a user can meet; each says what happened and what to do."""

from __future__ import annotations

from core.errors import AppError


class LocalModelError(AppError):
    """A local model cannot be planned, downloaded, loaded or used; `page_url` is its Hugging Face page, if known."""

    def __init__(self, message: str, page_url: str | None = None) -> None:
        super().__init__(message)
        self.page_url = page_url


# Not a Hub failure but a missing precondition, like core.errors.MissingCredential: the user saved no token.
GATED_ANONYMOUS = (
    "This model is gated on Hugging Face, and downloading it needs your own Read token: create one in your Hugging "
    "Face settings (Access Tokens), save it in Profile → Provider Keys → Hugging Face, and accept the license terms "
    "on the model page."
)


def room_to_answer(repo_id: str, prompt_tokens: int, holds: int, wanted: int) -> int:
    """The most tokens the model can add after the prompt within its context (`holds` tokens); LocalModelError
    when the conversation leaves it no room to answer."""
    if holds - prompt_tokens < 1:
        raise LocalModelError(
            f"This conversation is too long for {repo_id} ({prompt_tokens} tokens; it holds {holds}). "
            "Start a new chat or shorten the message."
        )
    return min(wanted, holds - prompt_tokens)
