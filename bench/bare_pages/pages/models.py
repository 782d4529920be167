"""Models' shape: a title with Refresh, one bordered card with a table of models."""

import streamlit as st

title, refresh = st.columns([5, 1], vertical_alignment="bottom")
title.title("Models")
refresh.button("Refresh", key="models_refresh", icon=":material/refresh:")
with st.container(border=True):
    st.subheader("OpenAI")
    st.caption("Listed just now.")
    st.dataframe({"Model": ["GPT-4o mini", "GPT-4o"], "ID": ["gpt-4o-mini", "gpt-4o"]}, hide_index=True)
