"""Chat: `service.py` is the `ChatService` front ends call (send, regenerate, edit, show a version, the chat's running
reply and its Stop, compare, settings, a plain completion); `conversations.py` saves chats and their messages;
`versions.py` keeps the versions of a turn (a regenerated reply, an edited message: one shown, the others kept) and
walks a chat's active path, what it shows, sends and counts; `usage.py` the totals (a failed reply stays on the page
but is neither counted nor sent back); `stream.py` is one streamed reply (with its first-token timeout); `retry.py`
the retry policy; `waiting.py` words what a reply waits for before its first text; `pacing.py` reads replies in
batches for front ends that redraw (Compare's, which end when their reader leaves); `turn.py` is a chat's reply, read
on a thread of its own whoever watches (any number of readers come and go; only Stop ends it early), saved with the
user's message as it starts (marked interrupted), written as it grows, and saved for good when it settles; `live.py`
holds the process's streaming turns, found by user and chat (one per chat: a second message waits), writes their
growing rows every `SAVE_SECONDS` (a killed process loses at most that much of a reply) and ends and saves them all
when the process stops (`finish_all()`, called by the front end's shutdown); `listing.py` the chat list (grouped by
day, searched by title and message text in one query scoped to the user); `compare.py` (nothing saved until the user
continues with one reply), `export.py` and `completion.py` the rest; `safe_markdown.py` makes model output safe to
render as Markdown (only http(s) and mailto links stay links; `markdown_blocks.py` tells its code from its prose);
`defaults.py` keeps each user's settings for a new chat (a chat's own override them); `output_limit.py` says how long
a reply may be (the user's max output tokens, else the model's own limit from litellm's map, else 4,096; never above
the model's limit).

Attachments: `attachments.py` is what a prompt carries and what the provider is sent of each file (text fenced under
its name, images only to a model that takes them), `attachment_reading.py` reads a file within the limits (UTF-8
text, a PDF's text, an image's kind), `attachment_store.py` is the conversation store services.py builds, which
saves a message's files with it in one transaction."""
