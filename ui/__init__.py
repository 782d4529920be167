"""Streamlit glue shared by the router and the pages: sign-in, cached services, per-user session state, and the
page chrome every run sets (chrome.py: Streamlit's own script Stop hidden; the app's Stop ends a reply)."""
