"""Chat's page, one module per concern; pages/chat.py dispatches over them.

- session.py: `ChatSession.of(user)`, all Chat keeps between runs for one user (the open conversation, the model
  choice, compare picks, notices, the comparison in flight, pending actions).
- address.py: the address (`?chat=<id>`, `?model=<ref>`), read and written each run; `open_chat_with` for other pages.
- context.py: `ChatPage`, what one run hands each part (user, services, session, picker, conversation).
- picker.py: the model picker, the catalog's models or an ID as typed, and its callback.
- header.py: the top of every run (account sidebar, notices, title, New chat, mode, picker) and the message box.
- messages.py: a message and its details; Regenerate and the chat's totals under the last one.
- actions.py: what can be done with a saved message: Copy (a reply), Edit (the user's own, inline), ‹ n / m ›
  to flip between a turn's versions.
- attachments.py: the message box's files as a prompt; a message's attachments as chips and thumbnails.
- sidebar.py: the chat list, grouped by day, with its search box.
- menu.py: the open chat's title with its menu (a popover: rename, export, delete with Cancel) and its callbacks.
- settings.py: the chat's settings form.
- reply.py: a reply started before anything is drawn, or found streaming in the open chat, watched in the page
  with Stop (leaving only detaches; the next run attaches again) and the waiting note before its first text.
- compare.py: the compare view; a refused prompt stays in the box; "Continue with this one" saves a column as a chat.
- markdown.py: every reply's (and message's) Markdown is drawn by `reply_markdown`, or streamed by
  `stream_markdown`: links checked by core/chat/safe_markdown.py, headings at reply size.
"""
