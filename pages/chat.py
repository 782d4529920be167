"""Chat: pick one of your models (or type an ID), send a message, watch the reply stream in."""

import streamlit as st

from core.catalog import available_models
from core.chat import Conversation, start_reply
from core.errors import AppError
from ui.signin import require_user
from ui.state import get_services, user_catalog, user_state

OTHER = "__other__"

user = require_user()
services = get_services()
models = available_models(user_catalog(services, user))
labels = {model.ref: f"{model.label} · {model.provider_label}" for model in models}
conversation: Conversation = user_state(user, "conversation", Conversation())

head, new_chat = st.columns([5, 1], vertical_alignment="bottom")
head.title("Chat")
if new_chat.button("New chat", key="new_chat", icon=":material/add:"):
    conversation.messages.clear()

# Widget values are dropped when the user visits another page; what they picked is remembered per user.
remembered = user_state(user, "chat_choice", {})


def remember(name: str, key: str) -> None:
    remembered[name] = st.session_state[key]


options = [*labels, OTHER]
choice = st.selectbox(
    "Model",
    options,
    index=options.index(remembered["model"]) if remembered.get("model") in options else 0,
    format_func=lambda ref: labels.get(ref, "Other model ID…"),
    key="chat_model",
    on_change=remember,
    args=("model", "chat_model"),
)
model_ref = choice
if choice == OTHER:
    model_ref = st.text_input(
        "Model ID",
        value=remembered.get("typed", ""),
        key="chat_model_id",
        placeholder="azure/<deployment-name>",
        help="provider/model, e.g. azure/my-gpt4o-deployment or openai/gpt-4o",
        on_change=remember,
        args=("typed", "chat_model_id"),
    )
if not models:
    st.info("No models yet: add a provider key in Profile → Provider Keys, or type a model ID under Other.")

for message in conversation.messages:
    with st.chat_message(message.role):
        if message.content:
            st.markdown(message.content)
        if message.error:
            st.error(message.error)
        if message.model:
            st.caption(message.model + (" · interrupted" if message.interrupted else ""))

if prompt := st.chat_input("Message", key="chat_input"):
    conversation.add_user(prompt)
    with st.chat_message("user"):
        st.markdown(prompt)
    with st.chat_message("assistant"):
        try:
            reply = start_reply(
                services.credentials, services.settings, user.id, model_ref, conversation.for_provider()
            )
        except AppError as error:
            conversation.add_error(str(error))
            st.error(str(error))
        else:
            st.write_stream(iter(reply))
            message = conversation.add_reply(reply)
            if message.error:
                st.error(message.error)
            st.caption(message.model + (" · interrupted" if message.interrupted else ""))
