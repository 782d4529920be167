"""The compare view: one prompt to 2 or 3 models side by side, streamed in columns with Stop; nothing saved, unless
"Continue with this one" saves a column's exchange as a chat and opens it. A refused prompt stays in the box."""

from __future__ import annotations

import streamlit as st

from core.chat.compare import MAX_MODELS, CompareResult, Comparison, clean_model_refs
from core.chat.conversations import MAX_PROMPT_CHARS
from core.chat.export import describe_speed
from core.errors import AppError, InvalidInput
from ui.chat.context import ChatPage
from ui.chat.markdown import reply_markdown
from ui.chat.picker import Picker
from ui.chat.reply import stop_button
from ui.chat.session import keep_responsive

KEY = "compare_models"
INPUT = "compare_input"
REFUSED = "compare_refused"  # why the last prompt was not sent (shown once, by the next run)


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


def _check_picks() -> None:
    """The prompt box's callback, before the run: a prompt that cannot be compared (too few models) goes back into
    the box, so the user picks the models and sends it again without retyping it."""
    try:
        clean_model_refs(st.session_state.get(KEY) or [])
    except InvalidInput as refused:
        st.session_state[REFUSED] = str(refused)
        st.session_state[INPUT] = st.session_state.get(INPUT)  # set: Streamlit puts it back into the box


def _continue(page: ChatPage, prompt: str, result: CompareResult) -> None:
    """ "Continue with this one": the prompt and this reply become a new chat, opened in Chat mode."""
    try:
        chat = page.services.chat.continue_with(page.user.id, prompt, result.message, page.conversation.settings)
    except AppError as error:
        page.session.notify(str(error))
        return
    page.session.open(chat.id)
    page.session.requested_model = result.model_ref  # the chat goes on with this model
    page.session.comparison = None
    st.session_state["chat_mode"] = "Chat"
    page.session.notify("Saved as a chat: continue it below.")


def _stream(page: ChatPage, comparison: Comparison) -> None:
    """The replies streaming into their columns, Stop above them; the next run shows the results."""
    with st.chat_message("user"):
        st.markdown(comparison.prompt)
    stop_slot = st.empty()
    with stop_slot:
        stop_button(page.session, "compare_stop")
    slots, shown = [], [""] * len(comparison.replies)
    for index, (column, reply) in enumerate(zip(st.columns(len(comparison.replies)), comparison.replies, strict=True)):
        column.subheader(page.picker.label(reply.model_ref))
        slots.append(column.container(key=f"reply_compare_{index}").empty())
    with page.session.streaming(comparison):
        for index, text in comparison.batches(on_idle=keep_responsive):
            shown[index] += text
            reply_markdown(shown[index], slots[index])
    stop_slot.empty()
    st.rerun()


def _result(page: ChatPage, prompt: str, index: int, result: CompareResult) -> None:
    if result.text:
        reply_markdown(result.text, st.container(key=f"reply_compared_{index}"))
    if result.error:
        st.error(result.error)
    st.caption(describe_speed(result.time_to_first_token, result.tokens_per_second, result.cost))
    if result.interrupted:
        st.caption("interrupted")
    if result.text:
        st.button(
            "Continue with this one",
            key=f"compare_continue:{index}",
            icon=":material/forum:",
            help="Save this prompt and reply as a new chat with this model, and open it.",
            on_click=_continue,
            args=(page, prompt, result),
        )


def compare_view(page: ChatPage) -> None:
    st.caption(
        f"Send one prompt to 2 or {MAX_MODELS} models side by side. They use this chat's settings; "
        "compared replies are not saved unless you continue with one."
    )
    picked = _picks(page)
    prompt = st.chat_input("Prompt to compare", key=INPUT, max_chars=MAX_PROMPT_CHARS, on_submit=_check_picks)
    if refused := st.session_state.pop(REFUSED, None):
        st.error(refused)
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
        for index, (column, result) in enumerate(zip(st.columns(len(results)), results, strict=True)):
            with column:
                st.subheader(page.picker.label(result.model_ref))
                _result(page, last.prompt, index, result)
