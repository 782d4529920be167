"""Streamlit glue shared by the router and the pages: sign-in, cached services, per-user session state, the page
chrome every run sets (chrome.py: Streamlit's own script Stop hidden; the app's Stop ends a reply), and theme.py,
which keeps the light/dark choice (Streamlit's own menu) for every page of the app."""
