"""Chat: saved conversations, streamed replies with Stop and Regenerate, per-chat settings, usage, Compare, export."""

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.chat.compare import MAX_MODELS, CompareResult, start_compare
from core.chat.conversations import (
    MAX_PROMPT_CHARS,
    MAX_TEMPERATURE,
    MAX_TOKENS_LIMIT,
    Conversation,
    ConversationNotFound,
    Message,
    clean_settings,
)
from core.chat.export import describe_reply, describe_speed, describe_usage, export_name, to_json, to_markdown
from core.chat.reply import Turn, regenerate, send_message
from core.errors import AppError
from core.models.catalog import available_models, find_model
from core.models.target import resolve_model
from core.providers.failures import PROFILE_FIXES
from ui.chat_state import (
    current_conversation,
    in_flight,
    keep_responsive,
    notify,
    open_conversation,
    request,
    settle_in_flight,
    show_notices,
    take_request,
    take_requested_model,
)
from ui.signin import account_sidebar, require_user
from ui.state import get_services, user_catalog, user_state

user = require_user(sidebar=False)  # the account sidebar is drawn with the rest (see `frame`)
services = get_services()
settle_in_flight(user)
models = available_models(user_catalog(services, user))  # by provider; those not offered to the key last
choices = {model.ref: model for model in models}
labels = {ref: model.option_label for ref, model in choices.items()}
conversation = current_conversation(services, user)


def rename(conversation_id: int) -> None:
    try:
        title = services.conversations.rename(
            user.id, conversation_id, st.session_state[f"chat_title:{conversation_id}"]
        )
    except AppError as error:
        user_state(user, "chat_rename_error", {})[conversation_id] = str(error)
    else:
        notify(user, f"Renamed to “{title}”.")


def confirm_delete(conversation_id: int) -> None:
    st.session_state[f"chat_confirm_delete:{user.id}"] = conversation_id


def delete(conversation_id: int) -> None:
    if services.conversations.delete(user.id, conversation_id):
        notify(user, "Chat deleted.")
    open_conversation(user, None)


# Widget values are dropped when the user visits another page; what they picked is remembered per user: the
# model, and the last ID they typed that is none of their models (kept in the list, after the catalog's).
remembered = user_state(user, "chat_choice", {})


def as_choice(text: str) -> str:
    """A picked, typed or requested model as the picker's value: the catalog's ref for it, else the text as typed."""
    found = find_model(models, text)
    return found.ref if found else (text or "").strip()


def remember(value: str) -> str:
    value = as_choice(value)
    remembered["model"] = value
    if value and value not in choices:
        remembered["typed"] = value
    return value


def on_pick() -> None:
    """The picker's callback: a typed ID that names one of the user's models selects that model."""
    st.session_state["chat_model"] = remember(st.session_state.get("chat_model") or "")


def on_compare_pick() -> None:
    """Compare's callback: likewise for each typed model."""
    refs = (as_choice(text) for text in st.session_state.get("compare_models") or [])
    st.session_state["compare_models"] = list(dict.fromkeys(ref for ref in refs if ref))


if requested := take_requested_model(user):
    remember(requested)
typed = remembered.get("typed")
options = [*choices, *([typed] if typed and typed not in choices else [])]
if st.session_state.get("chat_model") not in (None, *options):  # a model gone from the catalog
    del st.session_state["chat_model"]


def remembered_model() -> str | None:
    """The picker's choice when it is drawn afresh: the one remembered for the user (found again if the catalog now
    calls it by another ID), else the first."""
    model = as_choice(remembered.get("model") or "")
    if model in options:
        return model
    return options[0] if options else None


def chosen_model() -> str:
    """The model the picker shows, read before it is drawn (so that a reply can start first)."""
    return st.session_state.get("chat_model") or remembered_model() or ""


def model_picker() -> None:
    choice = st.selectbox(
        "Model",
        options,
        index=options.index(remembered_model()) if options else None,
        format_func=lambda ref: labels.get(ref, ref),
        key="chat_model",
        on_change=on_pick,
        accept_new_options=True,
        filter_mode="contains",
        placeholder="Type a model's name or ID, e.g. gpt-4o-mini or azure/<deployment-name>",
        help="Type to find a model by its name or ID. An ID that is none of these is used as typed: "
        "provider/model, e.g. openai/gpt-4o or azure/my-gpt4o-deployment.",
    )
    model = choices.get(choice or "")
    if model is not None and not model.offered:
        st.caption(f":material/warning: {model.not_offered_note()}")
    elif choice and model is None:
        try:
            target = resolve_model(choice)
        except AppError as error:
            st.error(str(error))
        else:
            st.caption(f"`{target.ref}` is not among your models: it is sent to {target.spec.label} as typed.")
    if not models:
        st.info("No models yet: add a provider key in Profile → Provider Keys, or type a model ID above.")


def frame(header: DeltaGenerator | None = None) -> str:
    """The account sidebar, notices, title, mode and (in Chat) the model picker (in `header`), the message box;
    the mode."""
    account_sidebar(user)
    show_notices(user)
    with header or st.container():
        head, new_chat = st.columns([5, 1], vertical_alignment="bottom")
        head.title("Chat")
        new_chat.button(
            "New chat", key="new_chat", icon=":material/add:", on_click=open_conversation, args=(user, None)
        )
        mode = st.segmented_control(
            "Mode", ["Chat", "Compare"], default="Chat", required=True, key="chat_mode", label_visibility="collapsed"
        )
        if mode == "Chat":
            model_picker()
    if mode == "Chat":
        st.chat_input("Message", key="chat_input", max_chars=MAX_PROMPT_CHARS)
    return mode


def render(message: Message) -> None:
    with st.chat_message(message.role):
        if message.content:
            st.markdown(message.content)
        details(message)


def details(message: Message) -> None:
    """What follows a message's text: that it was stopped, its error (and where to fix it), model and usage."""
    if message.interrupted and not message.content and not message.error:
        st.caption("Stopped before any text arrived.")
    if message.error:
        st.error(message.error)
        if message.error_kind in PROFILE_FIXES:
            st.page_link("pages/profile.py", label="Open Profile → Provider Keys", icon=":material/key:")
    if message.role == "assistant" and message.model:
        st.caption(describe_reply(message))


def chat_list(current: int | None) -> None:
    """The user's chats in the sidebar, most recently active first."""
    with st.sidebar:
        st.subheader("Chats")
        for summary in services.conversations.list(user.id):
            st.button(
                summary.title,
                key=f"chat_open:{summary.id}",
                type="primary" if summary.id == current else "tertiary",
                on_click=open_conversation,
                args=(user, summary.id),
                width="stretch",
            )


def stop_button(key: str) -> None:
    st.button(
        "Stop", key=key, icon=":material/stop_circle:", on_click=notify, args=(user, "Stopped. What arrived is kept.")
    )


def chat_settings(conversation: Conversation) -> None:
    with st.expander("Chat settings: system prompt, temperature, max output tokens"):
        cid = conversation.id if conversation.id is not None else "new"
        with st.form(f"chat_settings:{cid}", border=False):
            system = st.text_area("System prompt", value=conversation.settings.system_prompt, key=f"chat_system:{cid}")
            left, right = st.columns(2)
            temperature = left.number_input(
                "Temperature",
                min_value=0.0,
                max_value=MAX_TEMPERATURE,
                value=conversation.settings.temperature,
                step=0.1,
                placeholder="provider default",
                key=f"chat_temperature:{cid}",
            )
            max_tokens = right.number_input(
                "Max output tokens",
                min_value=1,
                max_value=MAX_TOKENS_LIMIT,
                value=conversation.settings.max_tokens,
                step=256,
                key=f"chat_max_tokens:{cid}",
            )
            saved = st.form_submit_button("Apply to this chat", key=f"chat_settings_apply:{cid}")
        if saved:
            try:
                conversation.settings = clean_settings(system, temperature, max_tokens)
                if conversation.id is not None:
                    services.conversations.update_settings(user.id, conversation.id, conversation.settings)
            except AppError as error:
                st.error(str(error))
            else:
                st.toast("Settings saved for this chat.")


def menu_label(conversation: Conversation) -> str:
    return f"“{conversation.display_title}”: rename, export, delete"


def manage(conversation: Conversation) -> None:
    """Rename, export or delete the open conversation."""
    if conversation.id is None:
        return
    with st.expander(menu_label(conversation)):
        title_key = f"chat_title:{conversation.id}"
        st.text_input("Title", value=conversation.display_title, key=title_key, max_chars=200)
        st.button("Rename", key="chat_rename", on_click=rename, args=(conversation.id,))
        if error := user_state(user, "chat_rename_error", {}).pop(conversation.id, None):
            st.error(error)
        *download_columns, remove = st.columns(3)
        exports = (("Markdown", to_markdown, "md", "text/markdown"), ("JSON", to_json, "json", "application/json"))
        for column, (label, render, extension, mime) in zip(download_columns, exports, strict=True):
            column.download_button(
                label,
                data=render(conversation),
                file_name=export_name(conversation, extension),
                mime=mime,
                key=f"chat_export_{extension}",
                icon=":material/download:",
                on_click="ignore",
            )
        confirm = f"chat_confirm_delete:{user.id}"
        if st.session_state.get(confirm) == conversation.id:
            remove.button(
                "Delete for good", key="chat_delete_confirm", type="primary", on_click=delete, args=(conversation.id,)
            )
        else:
            remove.button(
                "Delete", key="chat_delete", icon=":material/delete:", on_click=confirm_delete, args=(conversation.id,)
            )


def show_compare_result(result: CompareResult) -> None:
    if result.text:
        st.markdown(result.text)
    if result.error:
        st.error(result.error)
    st.caption(describe_speed(result.time_to_first_token, result.tokens_per_second, result.cost))
    if result.interrupted:
        st.caption("interrupted")


def compare_view(conversation: Conversation) -> None:
    st.caption(
        f"Send one prompt to 2 or {MAX_MODELS} models side by side. They use this chat's settings; "
        "compared replies are not saved."
    )
    remembered_picks = user_state(user, "compare_choice", [])
    picked = st.multiselect(
        "Models to compare",
        list(dict.fromkeys([*labels, *remembered_picks])),
        default=remembered_picks[:MAX_MODELS],
        format_func=lambda ref: labels.get(ref, ref),
        max_selections=MAX_MODELS,
        accept_new_options=True,
        filter_mode="contains",
        placeholder="Pick models by name or ID, or type provider/model",
        key="compare_models",
        on_change=on_compare_pick,
    )
    remembered_picks[:] = picked
    for ref in picked:
        if (model := choices.get(ref)) is not None and not model.offered:
            st.caption(f":material/warning: {model.not_offered_note()}")
    prompt = st.chat_input("Prompt to compare", key="compare_input", max_chars=MAX_PROMPT_CHARS)
    last = user_state(user, "compare_last", {})
    if prompt:
        try:
            comparison = start_compare(
                services.credentials, services.settings, user.id, picked, prompt, conversation.settings
            )
        except AppError as error:
            st.error(str(error))
            return
        last["comparison"] = comparison  # shown (and finished) by the next runs, however this one ends
        with st.chat_message("user"):
            st.markdown(comparison.prompt)
        stop_slot = st.empty()
        with stop_slot:
            stop_button("compare_stop")
        slots, shown = [], [""] * len(comparison.replies)
        for column, reply in zip(st.columns(len(comparison.replies)), comparison.replies, strict=True):
            column.subheader(labels.get(reply.model_ref, reply.model_ref))
            slots.append(column.empty())
        with in_flight(user, comparison):
            for index, text in comparison.batches(on_idle=keep_responsive):
                shown[index] += text
                slots[index].markdown(shown[index])
        stop_slot.empty()
        st.rerun()
    if comparison := last.get("comparison"):
        with st.chat_message("user"):
            st.markdown(comparison.prompt)
        results = comparison.finish()
        for column, result in zip(st.columns(len(results)), results, strict=True):
            with column:
                st.subheader(labels.get(result.model_ref, result.model_ref))
                show_compare_result(result)


def history_view(conversation: Conversation, history: list[Message], replying: bool) -> None:
    """The chat: settings, the chat's menu, its messages, Regenerate and the totals, the chat list."""
    chat_settings(conversation)
    manage(conversation)
    for message in history:
        render(message)
    closing(history, regenerate=not replying)
    chat_list(conversation.id)


def closing(history: list[Message], regenerate: bool = True, places: tuple[DeltaGenerator, ...] = ()) -> None:
    """Under the last message: Regenerate (after a reply) and the chat's totals (in `places`, if given)."""
    regenerate_place, totals_place = places or (st, st)
    if regenerate and history and history[-1].role == "assistant":
        regenerate_place.button(
            "Regenerate", key="chat_regenerate", icon=":material/refresh:", on_click=request, args=(user, "regenerate")
        )
    if history:
        totals_place.caption(describe_usage(Conversation(messages=history).usage()))


def start_turn(conversation: Conversation, model_ref: str, prompt: str | None) -> Turn:
    """Send the prompt (or regenerate the last reply): the provider starts answering now."""
    if prompt is None:
        return regenerate(
            services.conversations, services.credentials, services.settings, user.id, conversation, model_ref
        )
    chat = (services.conversations, services.credentials, services.settings, user.id, conversation, prompt, model_ref)
    return send_message(*chat, on_saved=lambda conversation_id: open_conversation(user, conversation_id))


def sent_now() -> tuple[str | None, bool]:
    """What this run is to send, read before anything is drawn: (the message just typed, whether to regenerate)."""
    if (st.session_state.get("chat_mode") or "Chat") != "Chat":
        return None, False
    prompt = st.session_state.get("chat_input") or None
    return prompt, take_request(user) == "regenerate" and not prompt


def reply_view(turn: Turn, prompt: str | None, history: list[Message]) -> None:
    """Stream the reply into the page: what is above it is drawn once the provider has had its head start, what
    is below once it has ended (so the run draws each element once; a click meanwhile ends it, see `in_flight`)."""
    with in_flight(user, turn):
        turn.head_start()
        above = st.container()
        assistant = st.chat_message("assistant")
        # Placeholders from the start, so that nothing the last run drew there lingers while the reply streams; Stop
        # sits under the text until the reply's details take its place.
        text_slot, details_slot = assistant.empty(), assistant.empty()
        menu: DeltaGenerator | None = None  # in `above`, for the chat's menu: drawn once its exports hold the reply
        below: tuple[DeltaGenerator, ...] = ()  # for Regenerate and the chat's totals

        def draw_the_rest() -> None:
            nonlocal menu, below
            below = (st.empty(), st.empty())
            frame(above)
            with above:
                chat_settings(conversation)
                menu = st.empty()
                if conversation.id is not None and history:  # the menu's place, kept while the reply streams
                    menu.expander(menu_label(conversation))
                for message in history:
                    render(message)
                if prompt:
                    render(Message("user", prompt))
            chat_list(conversation.id)
            with details_slot:
                stop_button("chat_stop")

        text_slot.write_stream(turn.batches(on_idle=keep_responsive, then=draw_the_rest))
        reply = turn.finish()
    with details_slot.container():
        details(reply)
    try:
        chat = services.conversations.get(user.id, turn.save_prompt())  # as saved, the reply in it
    except ConversationNotFound:  # deleted in another tab meanwhile: the next run says so
        return
    assert menu is not None and below  # drawn by `batches`, at the latest as the reply ends
    with menu.container():
        manage(chat)
    closing(chat.messages, places=below)


prompt, redo = sent_now()
history = conversation.messages[:-1] if redo else list(conversation.messages)
turn, failure = None, None
if prompt or redo:
    # The reply starts before anything is drawn: the provider works while the page is.
    try:
        turn = start_turn(conversation, chosen_model(), prompt)
    except AppError as error:
        failure = error
if turn is not None:
    reply_view(turn, prompt, history)
elif frame() == "Compare":
    chat_list(conversation.id)
    compare_view(conversation)
else:
    history_view(conversation, history, replying=failure is not None)
    if failure is not None:
        if prompt:
            render(Message("user", prompt))
        with st.chat_message("assistant"):
            st.error(str(failure))
