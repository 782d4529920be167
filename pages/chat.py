"""Chat: saved conversations at their own address (`?chat=<id>`), streamed replies with Stop and Regenerate,
per-chat settings, usage, Compare, export.

A run that sends starts the reply before it draws anything (the provider works while the page is drawn, see
ui/chat/reply.py); a run that finds the open chat's reply still streaming (sent from another run or tab) shows it
growing; any other run draws the chat, or Compare.
"""

import streamlit as st

from core.errors import AppError
from ui.chat import actions, address, messages, reply
from ui.chat.compare import compare_view
from ui.chat.context import ChatPage
from ui.chat.header import frame
from ui.chat.menu import manage
from ui.chat.picker import Picker
from ui.chat.session import ChatSession
from ui.chat.settings import settings_form
from ui.chat.sidebar import chat_list
from ui.signin import require_user
from ui.state import get_services, user_catalog

user = require_user(sidebar=False)  # the account sidebar is drawn with the rest (see `frame`)
services = get_services()
session = ChatSession.of(user)
session.settle_in_flight()
address.follow(session, services)  # `?chat=<id>` among the user's own chats, `?model=<ref>` for a new chat
picker = Picker(session, user_catalog(services, user))
page = ChatPage(
    user=user, services=services, session=session, picker=picker, conversation=session.conversation(services)
)
address.publish(session)

edit = actions.edit_now(session)
prompt, redo = reply.sent_now(session)
history = page.conversation.messages[:-1] if redo else list(page.conversation.messages)
turn, failure = None, None
if edit is not None:
    # The chat goes on from the edited message; a refused edit (empty, too long) is explained at its box.
    turn = actions.start_edit(page, edit)
    if turn is not None:
        prompt, history = edit.text, list(page.conversation.messages)
elif prompt or redo:
    # The reply starts before anything is drawn: the provider works while the page is.
    try:
        turn = reply.start(page, prompt)
    except AppError as error:
        failure = error
if turn is not None:
    reply.stream(page, turn, prompt, history)
elif (running := reply.running(page)) is not None:
    reply.attach(page, running, failure)
elif frame(page) == "Compare":
    chat_list(page)
    compare_view(page)
else:
    # One block under the header: a reply streaming in the next run takes its place whole, so nothing of this view
    # lingers below it (Streamlit keeps a run's elements on screen until the next run has drawn past them).
    with st.container():
        settings_form(page, page.conversation)
        manage(page, page.conversation)
        messages.history(page, page.conversation, history)
        messages.closing(session, history, regenerate=failure is None, earlier=page.conversation.earlier_usage)
        if failure is not None:
            reply.failed(prompt, failure)
    chat_list(page)
