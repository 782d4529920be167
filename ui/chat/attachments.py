"""Files in the message box: what it submitted as a prompt with files, and a message's attachments as chips (name and
size as plain text; images as thumbnails from their bytes)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import streamlit as st

from core.chat.attachments import Attachment, Prompt, Upload, clean_name, size_text
from core.config import MIB, AttachmentLimits
from ui.models.table import plain

THUMBNAIL_PX = 160


def upload_limit_mb(limits: AttachmentLimits) -> int:
    """The per-file bound the browser enforces, in MB (the exact limits are checked again by core)."""
    return max(1, math.ceil(max(limits.max_text_bytes, limits.max_file_bytes) / MIB))


def prompt_from(value: Any) -> Prompt | None:
    """What the message box submitted (its text, or a value with `text` and `files`) as a prompt; None for nothing."""
    if not value:
        return None
    if isinstance(value, str):
        return Prompt(value)
    files = tuple(Upload(file.name, file.getvalue()) for file in getattr(value, "files", None) or ())
    text = getattr(value, "text", None) or ""
    return Prompt(text, files) if text or files else None


def label(attachment: Attachment) -> str:
    return f"{attachment.name} · {size_text(attachment.size)}"


def show(attachments: Sequence[Attachment]) -> None:
    """A message's attachments: images as thumbnails, the others as captions; names never read as Markdown."""
    images = [a for a in attachments if a.is_image and a.data]
    if images:
        captions = [f":material/image: {plain(label(a))}" for a in images]
        st.image([a.data for a in images], caption=captions, width=THUMBNAIL_PX)
    for attachment in attachments:
        if not attachment.is_image:
            st.caption(f":material/attach_file: {plain(label(attachment))}")


def show_unsent(prompt: Prompt) -> None:
    """The files of a message that was not sent, by name (they are not kept: attach them again)."""
    if prompt.files:
        names = ", ".join(clean_name(upload.name) for upload in prompt.files)
        st.caption(f":material/attach_file: Not sent: {plain(names)}")
