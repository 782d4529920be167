"""Model output on the page: one function draws a reply's Markdown (links checked), and one streams it, so a reply
shows the same while it streams as once it is saved. Headings at reply size: ui/chrome.py's style, once a run."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.chat.safe_markdown import safe_markdown


def reply_markdown(text: str, slot: DeltaGenerator | None = None) -> None:
    """Draw model output (in `slot`, else where the page is): links other than http(s)/mailto as plain text."""
    (slot or st).markdown(safe_markdown(text))


def stream_markdown(slot: DeltaGenerator, batches: Iterable[str]) -> str:
    """Stream text into `slot`, checked as a whole after each batch (a link can arrive split over batches); the
    text."""
    text = ""
    for batch in batches:
        text += batch
        slot.markdown(safe_markdown(text))
    return text
