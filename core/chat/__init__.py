"""Chat: `service.py` is the `ChatService` front ends call (send, regenerate, compare, settings, a plain
completion); `conversations.py` saves chats and their messages; `stream.py` is one streamed reply; `retry.py` the
retry policy; `pacing.py` reads replies in batches for front ends that redraw; `turn.py` saves a reply — once,
when it settles — with the user's message; `compare.py`, `export.py` and `completion.py` the rest."""
