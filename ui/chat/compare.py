"""The compare view: one prompt to 2 or 3 models side by side, streamed in columns with Stop; nothing saved."""

from __future__ import annotations

import streamlit as st

from core.chat.compare import MAX_MODELS, CompareResult, Comparison
from core.chat.conversations import MAX_PROMPT_CHARS
from core.chat.export import describe_speed
from core.errors import AppError
from ui.chat.context import ChatPage
from ui.chat.picker import Picker
from ui.chat.reply import stop_button
from ui.chat.session import keep_responsive

KEY = "compare_models"


def _on_pick(picker: Picker) -> None:
    """The multiselect's callback: each typed model becomes the catalog's ref for it, as in the picker."""
    refs = (picker.as_choice(text) for text in st.session_state.get(KEY) or [])
    st.session_state[KEY] = list(dict.fromkeys(ref for ref in refs if ref))


def _picks(page: ChatPage) -> list[str]:
    picker, remembered = page.picker, page.session.compare_picks
    picked = st.multiselect(
        "Models to compare",
        list(dict.fromkeys([*picker.labels, *remembered])),
        default=remembered[:MAX_MODELS],
        format_func=picker.label,
        max_selections=MAX_MODELS,
        accept_new_options=True,
        filter_mode="contains",
        placeholder="Pick models by name or ID, or type provider/model",
        key=KEY,
        on_change=_on_pick,
        args=(picker,),
    )
    remembered[:] = picked
    for ref in picked:
        picker.warn_if_not_offered(ref)
    return picked


def _stream(page: ChatPage, comparison: Comparison) -> None:
    """The replies streaming into their columns, Stop above them; the next run shows the results."""
    with st.chat_message("user"):
        st.markdown(comparison.prompt)
    stop_slot = st.empty()
    with stop_slot:
        stop_button(page.session, "compare_stop")
    slots, shown = [], [""] * len(comparison.replies)
    for column, reply in zip(st.columns(len(comparison.replies)), comparison.replies, strict=True):
        column.subheader(page.picker.label(reply.model_ref))
        slots.append(column.empty())
    with page.session.streaming(comparison):
        for index, text in comparison.batches(on_idle=keep_responsive):
            shown[index] += text
            slots[index].markdown(shown[index])
    stop_slot.empty()
    st.rerun()


def _result(result: CompareResult) -> None:
    if result.text:
        st.markdown(result.text)
    if result.error:
        st.error(result.error)
    st.caption(describe_speed(result.time_to_first_token, result.tokens_per_second, result.cost))
    if result.interrupted:
        st.caption("interrupted")


def compare_view(page: ChatPage) -> None:
    st.caption(
        f"Send one prompt to 2 or {MAX_MODELS} models side by side. They use this chat's settings; "
        "compared replies are not saved."
    )
    picked = _picks(page)
    prompt = st.chat_input("Prompt to compare", key="compare_input", max_chars=MAX_PROMPT_CHARS)
    if prompt:
        try:
            comparison = page.services.chat.compare(page.user.id, picked, prompt, page.conversation.settings)
        except AppError as error:
            st.error(str(error))
            return
        page.session.comparison = comparison  # shown (and finished) by the next runs, however this one ends
        _stream(page, comparison)
    if last := page.session.comparison:
        with st.chat_message("user"):
            st.markdown(last.prompt)
        results = last.finish()
        for column, result in zip(st.columns(len(results)), results, strict=True):
            with column:
                st.subheader(page.picker.label(result.model_ref))
                _result(result)
