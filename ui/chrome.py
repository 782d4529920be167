"""What every page run sets on the page around the app's own content, in one style element: Streamlit's
status-widget Stop hidden, and replies' headings at reply size.

That Stop ("Running… Stop", top right) ends the script run that draws a page: it would leave a page half drawn
(its elements greyed out until the next click), while a chat's reply runs on regardless (core/chat/turn.py).
The app's own Stop (under a reply) is the one that ends a reply.
"""

from __future__ import annotations

import streamlit as st


def page_chrome() -> None:
    """Once per page run: a style only, which Streamlit applies without giving it a place on the page."""
    # A model's "# Title" is a section of its answer, not the page's title: headings in chat messages and in
    # containers keyed "reply…" (Compare's columns) are at reply size. One element a run, not one per message.
    st.html(
        """<style>
[data-testid="stStatusWidget"] button { display: none; }
:is([data-testid="stChatMessage"], [class*="st-key-reply"]) :is(h1, h2, h3, h4, h5, h6) {
  font-size: 1.0rem !important; line-height: 1.5 !important; padding: 0.5rem 0 0.25rem 0 !important;
}
:is([data-testid="stChatMessage"], [class*="st-key-reply"]) h1 { font-size: 1.3rem !important; }
:is([data-testid="stChatMessage"], [class*="st-key-reply"]) h2 { font-size: 1.2rem !important; }
:is([data-testid="stChatMessage"], [class*="st-key-reply"]) h3 { font-size: 1.1rem !important; }
</style>"""
    )
