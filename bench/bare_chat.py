"""The benchmark's floor for a Streamlit chat page: litellm streamed straight into `st.write_stream`, token by token.

No sign-in, no conversation, nothing saved, no batching: what any Streamlit chat page costs before the app does
anything of its own. The model, key and base come from `st.secrets` (set by the benchmark through AppTest, or in a
secrets file under `streamlit run`); `?model=` in the address picks another model.
"""

import streamlit as st

from core.providers.client import litellm

prompt = st.chat_input("Message", key="chat_input")
if prompt:
    with st.chat_message("user"):
        st.markdown(prompt)
    with st.chat_message("assistant"):
        stream = litellm().completion(
            model=st.query_params.get("model") or st.secrets["bench_model"],
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            stream_options={"include_usage": True},
            max_retries=0,
            api_key=st.secrets["bench_key"],
            api_base=st.secrets["bench_base"],
        )
        st.write_stream(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
