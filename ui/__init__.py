"""Streamlit glue shared by the router and the pages: sign-in, cached services, per-user session state."""
