"""Chat: `service.py` is the `ChatService` front ends call (send, regenerate, edit, show a version, compare,
settings, a plain completion); `conversations.py` saves chats and their messages; `versions.py` keeps the versions
of a turn (a regenerated reply, an edited message: one shown, the others kept) and walks a chat's active path, what
it shows, sends and counts; `usage.py` the totals (a failed reply stays on the page but is neither counted nor sent
back); `stream.py` is one streamed reply; `retry.py` the retry policy; `pacing.py` reads replies in batches for
front ends that redraw; `turn.py` saves a reply with the user's message as it starts (marked interrupted), writes
it as it grows, and saves it for good when it settles; `live.py` holds the process's streaming turns: it writes
their growing rows every `SAVE_SECONDS` (a killed process loses at most that much of a reply) and ends and saves
them all when the process stops (`finish_all()`, called by the front end's shutdown); `compare.py` (nothing
saved), `export.py` and `completion.py` the rest."""
