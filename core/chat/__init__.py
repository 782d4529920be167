"""Chat: `service.py` is the `ChatService` front ends call (send, regenerate, compare, settings, a plain
completion); `conversations.py` saves chats and their messages; `stream.py` is one streamed reply; `retry.py` the
retry policy; `pacing.py` reads replies in batches for front ends that redraw; `turn.py` saves a reply with the
user's message as it starts (marked interrupted), writes it as it grows, and saves it for good when it settles;
`live.py` holds the process's streaming turns: it writes their growing rows every `SAVE_SECONDS` (a killed process
loses at most that much of a reply) and ends and saves them all when the process stops (`finish_all()`, called by
the front end's shutdown); `compare.py` (nothing saved), `export.py` and `completion.py` the rest.

Attachments: `attachments.py` is what a prompt carries and what the provider is sent of each file (text fenced under
its name, images only to a model that takes them), `attachment_reading.py` reads a file within the limits (UTF-8
text, a PDF's text, an image's kind), `attachment_store.py` is the conversation store services.py builds, which
saves a message's files with it in one transaction."""
