"""Streamlit glue shared by the router and the pages: sign-in, cached services, per-user session state; theme.py keeps
the light/dark choice (Streamlit's own menu) for every page of the app."""
