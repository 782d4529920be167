"""Profile's shape: a title, a caption, one closed card per provider and the sections below them."""

import streamlit as st

st.title("Profile")
st.caption("Alice Example · a@x.io")
st.header("Provider Keys")
st.write("Paste a provider's credentials and click **Save**.")
for provider in ("OpenAI", "Anthropic", "Google AI (Gemini)", "xAI", "Azure OpenAI", "Hugging Face"):
    with st.expander(provider):
        st.text_input("API key", key=f"key_{provider}", type="password")
        st.button("Save", key=f"save_{provider}")
for section in ("New chat defaults", "API tokens", "Account"):
    st.header(section)
    st.write("…")
