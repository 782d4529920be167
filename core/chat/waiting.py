"""What a reply is waiting for before its first text, in words a page shows while it waits: whom it asks, for how
long, whether it is asking again, and, when it takes long, what the user can do."""

from __future__ import annotations

import time

from core.chat.stream import ReplyStream

# After this long without text, the note suggests stopping or another model.
LONG_WAIT_SECONDS = 10.0
LONG_WAIT_HINT = "Taking long? Stop it, or pick another model."


def waiting_note(reply: ReplyStream, now: float | None = None) -> str | None:
    """E.g. "Waiting for OpenAI · 12 s"; None once text has arrived or the reply has settled.

    A model that runs here says its place in this server's queue instead, while it has one.
    """
    if reply.settled or reply.first_token_at is not None:
        return None
    if queued := reply.waiting():
        return queued
    now = time.perf_counter() if now is None else now
    waited = max(0.0, now - reply.started_at) if reply.started_at is not None else 0.0
    label = reply.target.spec.label if reply.target is not None else "the provider"
    note = f"Waiting for {label} · {waited:.0f} s"
    attempt = reply.attempts + 1 if reply.retrying else reply.attempts
    if attempt > 1:
        note = f"Retrying (attempt {attempt}) · {note}"
    if waited >= LONG_WAIT_SECONDS:
        note = f"{note} · {LONG_WAIT_HINT}"
    return note
