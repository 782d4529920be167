"""Inputs a callback can empty for real: the key of a secret input changes, so the browser drops the old one.

In a form, setting or deleting a widget's value from its submit callback changes the value on the server only:
the browser keeps showing what was typed (and, once deleted, sends it again with every later click). A new key
makes a new, empty input instead.
"""

from __future__ import annotations

from typing import Any

import streamlit as st


def _generation_key(base: str) -> str:
    return f"{base}#generation"


def current_key(base: str) -> str:
    """The key the input named `base` is drawn with now (`base` itself until it was first renewed)."""
    generation = st.session_state.get(_generation_key(base), 0)
    return base if not generation else f"{base}#{generation}"


def value_of(base: str) -> Any:
    return st.session_state.get(current_key(base))


def renew(base: str) -> None:
    """Forget what was typed into `base` and draw it afresh, empty, from the next run on."""
    st.session_state.pop(current_key(base), None)
    st.session_state[_generation_key(base)] = st.session_state.get(_generation_key(base), 0) + 1
