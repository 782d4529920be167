"""Model output on the page: one function draws a reply's Markdown (links checked, headings at reply size), and one
streams it, so a reply shows the same while it streams as once it is saved."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.chat.safe_markdown import safe_markdown


def reply_styles() -> None:
    """The page's style for replies: a model's "# Title" is a section of its answer, not the page's title, so
    headings in chat messages and in containers keyed "reply…" (Compare's columns) are at reply size. Style-only
    HTML goes to Streamlit's event container and takes no space."""
    st.html(
        """<style>
:is([data-testid="stChatMessage"], [class*="st-key-reply"]) :is(h1, h2, h3, h4, h5, h6) {
  font-size: 1.0rem !important; line-height: 1.5 !important; padding: 0.5rem 0 0.25rem 0 !important;
}
:is([data-testid="stChatMessage"], [class*="st-key-reply"]) h1 { font-size: 1.3rem !important; }
:is([data-testid="stChatMessage"], [class*="st-key-reply"]) h2 { font-size: 1.2rem !important; }
:is([data-testid="stChatMessage"], [class*="st-key-reply"]) h3 { font-size: 1.1rem !important; }
</style>"""
    )


def reply_markdown(text: str, slot: DeltaGenerator | None = None) -> None:
    """Draw model output (in `slot`, else where the page is): links other than http(s)/mailto as plain text."""
    reply_styles()
    (slot or st).markdown(safe_markdown(text))


def stream_markdown(slot: DeltaGenerator, batches: Iterable[str]) -> str:
    """Stream text into `slot`, checked as a whole after each batch (a link can arrive split over batches); the
    text."""
    reply_styles()
    text = ""
    for batch in batches:
        text += batch
        slot.markdown(safe_markdown(text))
    return text
