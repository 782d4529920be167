"""A chat's settings form: system prompt, temperature, max output tokens; applied to this chat only. The same
fields make Profile's defaults for new chats (`generation_fields`)."""

from __future__ import annotations

import streamlit as st

from core.chat.conversations import MAX_TEMPERATURE, MAX_TOKENS_LIMIT, Conversation, GenerationSettings
from core.errors import AppError
from ui.chat.context import ChatPage

MAX_TOKENS_HELP = (
    "Empty: the model's own limit (4,096 for a model litellm does not know). "
    "A number above a model's limit is lowered to that limit for that model."
)


def generation_fields(key: str, current: GenerationSettings) -> tuple[str, float | None, int | None]:
    """The three fields (inside the caller's form), keyed `chat_system:{key}` and so on; what they hold."""
    system = st.text_area("System prompt", value=current.system_prompt, key=f"chat_system:{key}")
    left, right = st.columns(2)
    temperature = left.number_input(
        "Temperature",
        min_value=0.0,
        max_value=MAX_TEMPERATURE,
        value=current.temperature,
        step=0.1,
        placeholder="provider default",
        key=f"chat_temperature:{key}",
    )
    max_tokens = right.number_input(
        "Max output tokens",
        min_value=1,
        max_value=MAX_TOKENS_LIMIT,
        value=current.max_tokens,
        step=256,
        placeholder="model's limit",
        help=MAX_TOKENS_HELP,
        key=f"chat_max_tokens:{key}",
    )
    return system, temperature, None if max_tokens is None else int(max_tokens)


def settings_form(page: ChatPage, conversation: Conversation) -> None:
    with st.expander("Chat settings: system prompt, temperature, max output tokens"):
        cid = conversation.id if conversation.id is not None else "new"
        with st.form(f"chat_settings:{cid}", border=False):
            system, temperature, max_tokens = generation_fields(str(cid), conversation.settings)
            saved = st.form_submit_button("Apply to this chat", key=f"chat_settings_apply:{cid}")
        if saved:
            try:
                page.services.chat.apply_settings(page.user.id, conversation, system, temperature, max_tokens)
            except AppError as error:
                st.error(str(error))
            else:
                st.toast("Settings saved for this chat.")
