"""What every page run sets on the page around the app's own content: Streamlit's status-widget Stop hidden.

That Stop ("Running… Stop", top right) ends the script run that draws a page: it would leave a page half drawn
(its elements greyed out until the next click), while a chat's reply runs on regardless (core/chat/turn.py).
The app's own Stop (under a reply) is the one that ends a reply.
"""

from __future__ import annotations

import streamlit as st


def page_chrome() -> None:
    """Once per page run: a style only, which Streamlit applies without giving it a place on the page."""
    st.html('<style>[data-testid="stStatusWidget"] button { display: none; }</style>')
