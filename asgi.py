"""The web server `make run` starts: Streamlit's app.py plus the sign-in cookie routes and security headers.

`streamlit run asgi.py` finds `app` below and serves it with uvicorn; see ui/web.py for the routes and middleware.
"""

import streamlit as st

from ui.web import lifespan, middleware, routes

app = st.App("app.py", routes=routes(), middleware=middleware(), lifespan=lifespan)
