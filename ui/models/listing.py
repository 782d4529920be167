"""What a provider's card on Models says about its listing: when it was listed, that it failed (defaults shown
instead), what is new, what the provider did not list for the key, what it no longer lists."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from core.models.choice import ProviderSection
from ui.format import when

NAMED_NEW = 10  # new models named after a refresh; more are counted


def codes(model_ids: Iterable[str]) -> str:
    """Model IDs as inline code (a provider's IDs never hold a backtick: see core.registry.MODEL_ID)."""
    return ", ".join(f"`{model_id}`" for model_id in model_ids)


def listing_status(section: ProviderSection) -> None:
    listing, label = section.listing, section.spec.label
    if listing is None:
        return
    if section.listing_failed:
        st.warning(
            f"Could not list the models your {label} key can use ({when(listing.checked_at)}): {listing.error} "
            "Showing the default models instead; **Refresh** asks again."
        )
    elif section.listing_not_offered:
        st.caption(f"Your {label} resource does not list its deployments: the ones you added in Profile are shown.")
    elif listing.refreshed_at is not None:
        st.caption(f"Listed by {label} {when(listing.refreshed_at)}")
    if section.new_ids:
        more = len(section.new_ids) - NAMED_NEW
        st.caption(
            "New since the previous refresh: "
            + codes(section.new_ids[:NAMED_NEW])
            + (f" and {more} more (marked *new*)" if more > 0 else "")
        )
    if section.not_offered:
        st.caption(
            f"{label} did not list {codes(m.shown_id for m in section.not_offered)} for your key at the last "
            "refresh: they are kept at the end of the list, but will probably fail in Chat."
        )
    if section.dropped:
        st.caption(f"No longer listed by {label}: " + codes(section.dropped))
