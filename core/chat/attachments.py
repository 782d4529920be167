"""Files attached to a message: what a prompt carries, what each file becomes, and what the provider is sent.

A text or code file becomes its text (UTF-8), a PDF the text of its pages, an image its bytes (read by
`attachment_reading.py`). Text reaches the model as a fenced block under the file's name after the message, on this
turn and every later one; an image as an OpenAI-style `image_url` part (a base64 data URL), only to a model that
takes images: a new image for any other model is refused before anything is sent, and an earlier turn's image is
left out with a note in its place. Nothing is written outside the database: files are read in memory.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from core.chat.conversations import Conversation, Message
from core.text import strip_unsafe

MAX_NAME_CHARS = 200
MIN_FENCE = 3
# What the message box offers; a file of another kind is refused by name (a browser's check is only a hint).
TEXT_NAMES = """
txt text md markdown rst adoc org log csv tsv json jsonl ndjson yaml yml toml ini cfg conf properties xml html htm css
scss sass less svg js mjs cjs jsx ts tsx vue svelte py pyi ipynb r rmd jl java kt kts scala groovy gradle go rs c h cc
cpp cxx hpp hh hxx cs fs vb swift m mm dart rb php pl pm lua sh bash zsh fish ps1 bat cmd sql graphql proto tf hcl ex
exs erl hrl hs ml mli clj cljs lisp el scm nim zig v sol tex bib diff patch cmake mk
"""
TEXT_EXTENSIONS = frozenset(TEXT_NAMES.split())
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
PDF = "pdf"
ACCEPTED_EXTENSIONS = tuple(sorted(TEXT_EXTENSIONS | set(IMAGE_TYPES) | {PDF}))


@dataclass(frozen=True)
class Upload:
    """A file as a front end received it: its name as given, its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Prompt:
    """What a user sends: their text and the files attached to it."""

    text: str
    files: tuple[Upload, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A file kept with a message: `text` for a text file or PDF (what the model reads), `data` for an image (what
    the model is sent and the page shows); `size` is the file's own, in bytes."""

    name: str
    media_type: str
    size: int
    text: str | None = None
    data: bytes | None = None
    id: int | None = None

    @property
    def is_image(self) -> bool:
        return self.data is not None


@dataclass
class AttachedMessage(Message):
    """A user's message with the files attached to it (saved with it, see `attachment_store.py`)."""

    attachments: tuple[Attachment, ...] = ()


def attached(message: Message, attachments: Sequence[Attachment]) -> Message:
    """`message` carrying `attachments` (itself when there are none)."""
    if not attachments:
        return message
    return AttachedMessage(
        **{each.name: getattr(message, each.name) for each in fields(Message)}, attachments=tuple(attachments)
    )


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    return message.attachments if isinstance(message, AttachedMessage) else ()


def clean_name(name: str) -> str:
    """A file's name as kept and shown: its last path part, one line, no invisible characters, not too long."""
    name = " ".join(strip_unsafe(re.split(r"[\\/]", name or "")[-1]).split())
    if len(name) > MAX_NAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        keep = MAX_NAME_CHARS - len(dot + extension) - 1
        name = f"{stem[:keep]}…{dot}{extension}" if dot and keep > 0 else name[: MAX_NAME_CHARS - 1] + "…"
    return name or "file"


def extension_of(name: str) -> str:
    """`notes.MD` -> `md`; "" for a name without one."""
    return name.rpartition(".")[2].lower() if "." in name else ""


def size_text(size: int) -> str:
    """`812 B`, `4.2 KB`, `3.1 MB` (powers of 1024, as the limits are set)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def fence_for(text: str) -> str:
    """A backtick fence longer than any run of backticks in `text`, so the file cannot close its block early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(MIN_FENCE, longest + 1)


def context_block(attachment: Attachment) -> str:
    """How a text file or PDF reaches the model: a fenced block headed by its name."""
    text = attachment.text or ""
    fence = fence_for(text)
    return f'Attached file "{attachment.name}" ({attachment.media_type}):\n{fence}\n{text}\n{fence}'


def image_part(attachment: Attachment) -> dict[str, Any]:
    """An image as an OpenAI-style content part, its bytes in a base64 data URL."""
    encoded = base64.b64encode(attachment.data or b"").decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{attachment.media_type};base64,{encoded}"}}


def left_out(attachment: Attachment) -> str:
    return f'[Image "{attachment.name}" not sent: this model does not accept images.]'


def content_for(message: Message, images: bool) -> str | list[dict[str, Any]]:
    """A message's content as the provider is sent it: its text, then its files' text; with `images`, content
    parts carrying its images too, else a note where each image was."""
    files = attachments_of(message)
    if not files:
        return message.content
    blocks = [context_block(f) if not f.is_image else "" if images else left_out(f) for f in files]
    text = "\n\n".join([message.content, *(block for block in blocks if block)])
    pictures = [image_part(f) for f in files if f.is_image] if images else []
    return [{"type": "text", "text": text}, *pictures] if pictures else text


def for_provider(conversation: Conversation, images: bool) -> list[dict[str, Any]]:
    """What to send: the system prompt, then every message with content, its files with it (see `content_for`)."""
    system = conversation.settings.system_prompt
    sent: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    return sent + [{"role": m.role, "content": content_for(m, images)} for m in conversation.messages if m.content]


def has_images(messages: Sequence[Message]) -> bool:
    return any(f.is_image for m in messages for f in attachments_of(m))
