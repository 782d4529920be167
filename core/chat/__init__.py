"""Chat: `service.py` is the `ChatService` front ends call (send, regenerate, compare, settings, a plain
completion); `conversations.py` saves chats and their messages; `stream.py` is one streamed reply; `retry.py` the
retry policy; `pacing.py` reads replies in batches for front ends that redraw; `turn.py` saves a reply with the
user's message as it starts (marked interrupted), writes it as it grows, and saves it for good when it settles;
`live.py` holds the process's streaming turns: it writes their growing rows every `SAVE_SECONDS` (a killed process
loses at most that much of a reply) and ends and saves them all when the process stops (`finish_all()`, called by
the front end's shutdown); `compare.py` (nothing saved until the user continues with one reply), `export.py` and
`completion.py` the rest; `safe_markdown.py` makes model output safe to render as Markdown (only http(s) and
mailto links stay links; `markdown_blocks.py` tells its code from its prose); `defaults.py` keeps each user's
settings for a new chat (a chat's own override them); `output_limit.py` says how long a reply may be (the user's
max output tokens, else the model's own limit from litellm's map, else 4,096; never above the model's limit)."""
