"""Chat's page, one module per concern; pages/chat.py dispatches over them.

- session.py: `ChatSession.of(user)`, all Chat keeps between runs for one user (the open conversation, the model
  choice, compare picks, notices, the reply in flight, pending actions); `open_chat_with` for other pages.
- context.py: `ChatPage`, what one run hands each part (user, services, session, picker, conversation).
- picker.py: the model picker, the catalog's models or an ID as typed, and its callback.
- header.py: the top of every run (account sidebar, notices, title, New chat, mode, picker) and the message box.
- messages.py: a message and its details; Regenerate and the chat's totals under the last one.
- sidebar.py: the chat list.
- menu.py: the open chat's menu (rename, export, delete) and its callbacks.
- settings.py: the chat's settings form.
- reply.py: a reply started before anything is drawn and streamed into the page, with Stop.
- compare.py: the compare view; a refused prompt stays in the box; "Continue with this one" saves a column as a chat.
- markdown.py: every reply's (and message's) Markdown is drawn by `reply_markdown`, or streamed by
  `stream_markdown`: links checked by core/chat/safe_markdown.py, headings at reply size.
"""
