"""Chat's shape: a title, a model picker, the message box, and the sidebar's chat list."""

import streamlit as st

st.title("New chat")
st.selectbox("Model", ["GPT-4o mini", "GPT-4o"], key="model")
st.chat_input("Message", key="chat_input")
with st.sidebar:
    st.subheader("Chats")
    st.text_input("Search chats", key="chat_search", label_visibility="collapsed")
    st.caption("Today")
    for n in range(3):
        st.button(f"A chat {n}", key=f"chat_open:{n}", type="tertiary", width="stretch")
