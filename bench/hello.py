"""The benchmark's floor for a cold start: a one-line Streamlit app (`python -m bench.browser`)."""

import streamlit as st

st.write("hi")
